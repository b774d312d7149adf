"""The pre-flight check: a step refuses a schema it cannot start from.

Each case changes a Nova-made database by hand, as operators do, and
expects db sync to refuse before any change: one line naming the first
difference (or the view or foreign key in the way), exit 2, every table
and row as they were. On MySQL, whose DDL commits itself, the states a cut
step leaves behind are accepted instead, and finished.
"""
import sqlalchemy

from nova_schema import api
from nova_schema import backends
from nova_schema import exception
from tests.functional import sync_support as support
from tests import rows


def _prepare_233(engine):
    support.prepare_232(engine)
    api.db_sync(engine, support.HEAD)
    support.change_data_233(engine)


class PreflightChecks(object):

    def at(self, prepare, *statements):
        database = self.fresh_database()
        prepare(database.engine)
        # NOTE: what the test adds goes before the database is emptied.
        self.addCleanup(self.execute, database,
                        'DROP VIEW IF EXISTS node_stats',
                        'DROP TABLE IF EXISTS stat_notes')
        self.execute(database, *statements)
        return database

    def execute(self, database, *statements):
        with database.engine.begin() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))

    def assertRefused(self, database, fragment, version=None):
        before = support.snapshot(database.engine)
        error = self.assertRaises(exception.PreflightRefused, api.db_sync,
                                  database.engine, version)
        self.assertIn('refused before any change', str(error))
        self.assertIn(fragment, str(error))
        self.assertEqual(1, len(str(error).splitlines()))
        self.assertEqual([], support.differences(
            before, support.snapshot(database.engine)))
        return error

    def test_compute_nodes_dropped_by_hand(self):
        database = self.at(support.prepare_232, *self.DROP_COMPUTE_NODES)
        self.assertRefused(database, 'table compute_nodes is missing')

    def test_stats_integer_already_there(self):
        database = self.at(support.prepare_232,
                           'ALTER TABLE compute_nodes ADD '
                           'COLUMN stats INTEGER')
        self.assertRefused(database,
                           'compute_nodes: column stats is not expected')

    def test_stats_text_already_there(self):
        database = self.at(support.prepare_232,
                           'ALTER TABLE compute_nodes ADD '
                           'COLUMN stats TEXT')
        self.assertRefused(database,
                           'compute_nodes: column stats is not expected')

    def test_shadow_stats_table_missing(self):
        database = self.at(support.prepare_232,
                           'DROP TABLE shadow_compute_node_stats')
        self.assertRefused(database,
                           'table shadow_compute_node_stats is missing')

    def test_view_on_a_table_the_upgrade_drops(self):
        database = self.at(support.prepare_232,
                           'CREATE VIEW node_stats AS SELECT id, value '
                           'FROM compute_node_stats')
        self.assertRefused(database, 'view node_stats depends on table '
                           'compute_node_stats')

    def test_foreign_key_to_a_table_the_upgrade_drops(self):
        database = self.at(
            support.prepare_232,
            'CREATE TABLE stat_notes (id INTEGER PRIMARY KEY, stat_id '
            'INTEGER, CONSTRAINT fk_stat_notes FOREIGN KEY (stat_id) '
            'REFERENCES compute_node_stats (id))')
        error = self.assertRefused(database, 'depends on table '
                                   'compute_node_stats')
        self.assertIn('table stat_notes', str(error))

    def test_view_on_the_column_the_downgrade_drops(self):
        database = self.at(_prepare_233,
                           'CREATE VIEW node_stats AS SELECT id, stats '
                           'FROM compute_nodes')
        self.assertRefused(database, 'view node_stats depends on column '
                           'compute_nodes.stats', support.BASELINE)

    def test_refusal_through_the_command_line(self):
        database = self.at(support.prepare_232,
                           'ALTER TABLE compute_nodes ADD '
                           'COLUMN stats INTEGER')
        process = support.run_cli(self, database.url, 'sync')
        self.assertEqual(2, process.popen.returncode, process.describe())
        self.assertEqual('', process.stdout, process.describe())
        lines = process.stderr.splitlines()
        self.assertEqual(1, len(lines), process.describe())
        self.assertIn('refused before any change: compute_nodes: column '
                      'stats is not expected', lines[0])

    def test_stats_table_dropped_by_hand(self):
        """What a cut MySQL step leaves; elsewhere a hand-made change."""
        expected = self.clean_run(support.prepare_232)
        database = self.at(support.prepare_232, *self.DROP_COMPUTE_NODE_STATS)
        if self.TRANSACTIONAL:
            self.assertRefused(database, 'table compute_node_stats is missing')
            return
        self.assertEqual('232 -> 233 half-applied (1 of 4 operations done): '
                         'run db sync to finish',
                         api.db_half_applied(database.engine))
        report = api.db_check(database.engine)
        self.assertFalse(report.ok)
        self.assertEqual(api.db_half_applied(database.engine),
                         report.half_applied)
        process = support.run_cli(self, database.url, 'check')
        self.assertEqual(1, process.popen.returncode)
        self.assertIn('is at version 232 with 232 -> 233 half-applied',
                      process.stdout)
        [step] = api.db_sync(database.engine)
        self.assertEqual(1, step.resumed_after)
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def test_table_estimates_of_the_server(self):
        """One query for the statistics of every table a step discards;
        past 1,000 rows the discard is the estimate, said to be one."""
        database = self.fresh_database()
        support.prepare_232(database.engine)
        support.insert(database.engine, {'compute_node_stats': [
            rows.stat_row(number, 1, 'num_proj_%d' % number, '1')
            for number in range(100, 3100)]})
        self.execute(database, *self.ANALYZE)
        backend = backends.get(database.engine)
        with database.engine.connect() as connection:
            estimates = backend.table_estimates(
                connection, ['compute_node_stats', 'no_such_table'])
        self.assertEqual((None, None), estimates['no_such_table'])
        estimated_rows, size = estimates['compute_node_stats']
        # NOTE: 3,004 rows; InnoDB samples pages, SQLite spans rowids.
        self.assertTrue(1500 < estimated_rows < 6000, estimated_rows)
        self.assertTrue(size is None if self.ANALYZE == () else
                        size > 65536, size)
        [step] = api.db_sync(database.engine, dry_run=True)
        self.assertEqual(
            [('compute_node_stats', estimated_rows, True),
             ('shadow_compute_node_stats', 1, False)],
            [(item.table, item.rows, item.approximate)
             for item in step.discards])


class TestPreflightMySQL(PreflightChecks, support.MySQLTestCase):
    ANALYZE = ('ANALYZE TABLE compute_node_stats',)
    DROP_COMPUTE_NODES = ('SET FOREIGN_KEY_CHECKS = 0',
                          'DROP TABLE compute_nodes',
                          'SET FOREIGN_KEY_CHECKS = 1')
    DROP_COMPUTE_NODE_STATS = ('DROP TABLE compute_node_stats',)


class TestPreflightPostgreSQL(PreflightChecks, support.PostgreSQLTestCase):
    ANALYZE = ('ANALYZE compute_node_stats',)
    DROP_COMPUTE_NODES = ('DROP TABLE compute_nodes CASCADE',)
    DROP_COMPUTE_NODE_STATS = ('DROP TABLE compute_node_stats',)


class TestPreflightSQLite(PreflightChecks, support.SQLiteTestCase):
    ANALYZE = ()
    DROP_COMPUTE_NODES = ('DROP TABLE compute_nodes',)
    DROP_COMPUTE_NODE_STATS = ('DROP TABLE compute_node_stats',)
