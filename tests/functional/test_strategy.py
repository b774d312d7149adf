"""233's upgrade, instant or classic: the very same end state.

For a Nova-made database at 232 with rows (soft-deleted ones included),
every mix of strategies over 232 -> 233 -> 232 -> 233 must end in the
reflected schema and every row that Nova's own statements (the classic
strategy) give, with a row Nova inserts after the upgrade (stats NULL) in
between. The references are made with the classic strategy on a separate
database; the comparison is the tests' own full reflection and row dump.
"""
import itertools

import fixtures
import sqlalchemy

from nova_schema import api
from nova_schema import exception
from tests.functional import sync_support as support

STRATEGIES = ('classic', 'instant')


def _new_node(engine, id_):
    """What Nova writes after the upgrade: a node without stats."""
    support.insert(engine, {'compute_nodes': [support.node_row(id_, 1)]})


def _walk(engine, strategies):
    """232 -> 233 (first strategy) -> 232 -> 233 (second): snapshots."""
    snapshots = []
    api.db_sync(engine, support.HEAD, strategy=strategies[0])
    _new_node(engine, 50)
    snapshots.append(support.snapshot(engine))
    api.db_sync(engine, support.BASELINE)
    snapshots.append(support.snapshot(engine))
    api.db_sync(engine, support.HEAD, strategy=strategies[1])
    _new_node(engine, 51)
    snapshots.append(support.snapshot(engine))
    return snapshots


class StrategyChecks(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(240, gentle=True))

    def reference(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        return _walk(database.engine, ('classic', 'classic'))

    def test_every_mix_of_strategies_ends_where_classic_ends(self):
        reference = self.reference()
        for strategies in itertools.product(STRATEGIES, repeat=2):
            database = self.fresh_database()
            support.prepare_232(database.engine)
            for where, want, got in zip(('233', '232', '233 again'),
                                        reference,
                                        _walk(database.engine, strategies)):
                self.assertEqual([], support.differences(want, got),
                                 '%s after %s' % (where, strategies))

    def test_instant_sends_no_fill(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        [step] = api.db_sync(database.engine, strategy='instant')
        self.assertEqual('instant', step.strategy)
        self.assertEqual(
            [], [s for s in step.statements if s.startswith('UPDATE compute')
                 or s.startswith('UPDATE shadow')])
        self.assertEqual(4, len([s for s in step.statements
                                 if s.startswith('ALTER TABLE')]))

    def test_auto_is_instant_here(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        [step] = api.db_sync(database.engine)
        self.assertEqual(('instant', None),
                         (step.strategy, step.strategy_reason))

    def test_cut_between_the_two_alters(self):
        """A row inserted between ADD ... DEFAULT and DROP DEFAULT holds
        '{}', as the classic fill would have given it; a re-run finishes."""
        expected_database = self.fresh_database()
        support.prepare_232(expected_database.engine)
        _new_node(expected_database.engine, 60)
        api.db_sync(expected_database.engine, strategy='classic')
        expected = support.snapshot(expected_database.engine)

        database = self.fresh_database()
        support.prepare_232(database.engine)
        with support.fault_after(3) as seen:
            self.assertRaises(exception.MigrationFailed, api.db_sync,
                              database.engine, strategy='instant')
        self.assertIn("ADD COLUMN stats TEXT DEFAULT '{}'", seen[-1])
        _new_node(database.engine, 60)
        if self.TRANSACTIONAL:
            self.assertEqual(232, api.db_version(database.engine))
        else:
            self.assertIn('half-applied',
                          api.db_half_applied(database.engine))
        api.db_sync(database.engine, strategy='instant')
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def test_command_line_says_which_strategy(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        shown = support.run_cli(self, database.url, 'sync', '--dry-run')
        self.assertEqual(0, shown.popen.returncode, shown.describe())
        lines = shown.stdout.splitlines()
        self.assertEqual(['-- 232 -> 233 add_stats_in_compute_nodes',
                          '-- strategy: instant'], lines[:2])
        self.assertIn("ALTER TABLE compute_nodes ADD COLUMN stats TEXT "
                      "DEFAULT '{}'%s;" % self.INSTANT_CLAUSE, lines)
        self.assertIn('ALTER TABLE compute_nodes ALTER COLUMN stats DROP '
                      'DEFAULT%s;' % self.INSTANT_CLAUSE, lines)
        done = support.run_cli(self, database.url, 'sync', '--strategy',
                               'classic')
        self.assertRegex(done.stdout, r'^232 -> 233 add_stats_in_compute_'
                         r'nodes \.\.\. done in \d+\.\d\d s \(classic\)\n$')


class TestStrategyMySQL(StrategyChecks, support.MySQLTestCase):
    INSTANT_CLAUSE = ', ALGORITHM=INSTANT'

    def test_fulltext_index_refuses_instant(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        with database.engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                'ALTER TABLE shadow_compute_nodes ADD FULLTEXT INDEX '
                'shadow_host (hypervisor_hostname)'))
        before = support.snapshot(database.engine)
        error = self.assertRaises(exception.StrategyUnavailable,
                                  api.db_sync, database.engine,
                                  strategy='instant')
        self.assertIn('refused before any change: the instant strategy '
                      'cannot be used: table shadow_compute_nodes has the '
                      'FULLTEXT index shadow_host', str(error))
        self.assertEqual([], support.differences(
            before, support.snapshot(database.engine)))

    def test_resume_leaves_rows_added_since_a_finished_table_alone(self):
        """Cut after compute_nodes was added and filled and
        shadow_compute_nodes added: a node Nova inserts before the re-run
        keeps its NULL (as after a clean run); the shadow rows get '{}'."""
        expected_database = self.fresh_database()
        support.prepare_232(expected_database.engine)
        api.db_sync(expected_database.engine, strategy='classic')
        _new_node(expected_database.engine, 60)
        expected = support.snapshot(expected_database.engine)

        database = self.fresh_database()
        support.prepare_232(database.engine)
        with support.fault_after(5) as seen:
            self.assertRaises(exception.MigrationFailed, api.db_sync,
                              database.engine, strategy='classic')
        self.assertEqual('ALTER TABLE shadow_compute_nodes ADD stats TEXT',
                         seen[-1])
        _new_node(database.engine, 60)
        [step] = api.db_sync(database.engine, strategy='classic')
        self.assertEqual(4, step.resumed_after)
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def test_compressed_table_refuses_instant_and_auto_falls_back(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        with database.engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                'ALTER TABLE shadow_compute_nodes ROW_FORMAT=COMPRESSED'))
        before = support.snapshot(database.engine)
        error = self.assertRaises(exception.StrategyUnavailable,
                                  api.db_sync, database.engine,
                                  strategy='instant')
        self.assertIn('table shadow_compute_nodes has ROW_FORMAT=COMPRESSED',
                      str(error))
        self.assertEqual([], support.differences(
            before, support.snapshot(database.engine)))
        [step] = api.db_sync(database.engine)
        self.assertEqual(('classic', 'table shadow_compute_nodes has '
                          'ROW_FORMAT=COMPRESSED'),
                         (step.strategy, step.strategy_reason))
        self.assertEqual(233, api.db_version(database.engine))
        with database.engine.connect() as connection:
            self.assertEqual({'{}'}, set(connection.execute(sqlalchemy.text(
                'SELECT stats FROM shadow_compute_nodes')).scalars()))


class TestStrategyPostgreSQL(StrategyChecks, support.PostgreSQLTestCase):
    INSTANT_CLAUSE = ''


class TestStrategySQLite(support.SQLiteTestCase):

    def test_instant_is_refused_and_auto_is_classic(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        before = support.snapshot(database.engine)
        error = self.assertRaises(exception.StrategyUnavailable,
                                  api.db_sync, database.engine,
                                  strategy='instant')
        self.assertIn('SQLite has no instant path', str(error))
        self.assertEqual([], support.differences(
            before, support.snapshot(database.engine)))
        [step] = api.db_sync(database.engine)
        self.assertEqual('classic', step.strategy)
        self.assertIn('SQLite has no instant path', step.strategy_reason)

    def test_manage_py_takes_the_strategy_from_the_environment(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        before = support.snapshot(database.engine)
        for value, fragment in (('instant', 'SQLite has no instant path'),
                                ('sometimes', "not 'sometimes'")):
            self.useFixture(fixtures.EnvironmentVariable(
                'NOVA_SCHEMA_STRATEGY', value))
            process = support.Process(
                self, database.url, 'manage.py upgrade',
                command=support.manage_command(database.url, 'upgrade'))
            self.assertEqual(2, process.wait(), process.describe())
            [line] = process.stderr.splitlines()
            self.assertTrue(line.startswith('manage.py: error: '), line)
            self.assertIn(fragment, line)
            self.assertEqual([], support.differences(
                before, support.snapshot(database.engine)))
