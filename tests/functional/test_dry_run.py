"""db sync --dry-run: the SQL a real run would send, and no change at all.

What a dry run prints is compared with what a real run then sends, recorded
by this test's own listener (``command_base.WriteLog``), not by the capture
code the dry run itself uses.
"""
import json
import os
import subprocess
import sys

from migrate.versioning import api as migration_api
from oslo_db.sqlalchemy import test_fixtures
import testtools

from tests import base
from tests.functional import command_base
from tests.functional.command_base import parse_dry_run

UP_233_TITLE = '-- 232 -> 233 add_stats_in_compute_nodes'
DOWN_233_TITLE = '-- 233 -> 232 add_stats_in_compute_nodes'
VERSION_CONTROL_TITLE = '-- version control at 231'
BASELINE_TITLE = '-- 231 -> 232 havana_icehouse_baseline'
UP_233 = command_base.UP_233
DOWN_233_VERSION_UPDATE = (
    "UPDATE migrate_version SET version=232 WHERE migrate_version.version = "
    "233 AND migrate_version.repository_id = 'nova';")
VERSION_CONTROL_INSERT = (
    "INSERT INTO migrate_version (repository_id, repository_path, version) "
    "VALUES ('nova', '%s', 231);" % base.MIGRATE_REPO_PATH)
REPEATS = 10
CONSOLE_SCRIPT = os.path.join(os.path.dirname(sys.executable),
                              'nova-schema-manage')


class DryRunChecks(command_base.CommandChecks):

    # MySQL cannot roll DDL back: its dry run holds statements back and can
    # only show the first step from an empty database.
    HOLDS_BACK = False

    def at_232_with_rows(self):
        self.build(232)
        self.insert(command_base.rows_232())

    def at_233_with_rows(self):
        self.build(233)
        self.insert(command_base.rows_233())

    def dry_run(self, *argv):
        # NOTE: Nova's own statements; the instant strategy's dry run has
        # tests of its own (test_strategy).
        result = self.run_cli('db', 'sync', '--dry-run', '--strategy',
                              'classic', *argv)
        self.assertSucceeded(result)
        return result

    def real_run(self, *argv):
        with command_base.WriteLog() as log:
            result = self.run_cli('db', 'sync', '--strategy', 'classic',
                                  *argv)
        self.assertSucceeded(result)
        return log.statements

    def assertStatementLines(self, steps):
        for title, statements in steps:
            self.assertNotEqual([], statements, title)
            for statement in statements:
                self.assertTrue(statement.endswith(';'), statement)
                self.assertNotIn('\n', statement)
                self.assertEqual(statement, statement.strip())

    # Upgrade.

    def test_upgrade_prints_the_statements(self):
        self.at_232_with_rows()
        result = self.dry_run()
        self.assertEqual([(UP_233_TITLE, UP_233)], parse_dry_run(result.out))
        # NOTE: rows_232 gives compute_node_stats 2 rows, its shadow 1.
        self.assertEqual(
            ['-- discards: compute_node_stats (2 rows), '
             'shadow_compute_node_stats (1 row)'],
            command_base.dry_run_discards(result.out))
        self.assertTrue(result.out.startswith(
            UP_233_TITLE + '\n-- strategy: classic\n-- discards: '),
            result.out)

    def test_real_run_warns_before_it_discards(self):
        # NOTE: rows_232 gives compute_node_stats 2 rows, its shadow 1;
        # rows_233 compute_nodes 2 rows with stats, its shadow 1.
        self.at_232_with_rows()
        result = self.run_cli('db', 'sync')
        self.assertEqual(
            (0, 'nova-schema-manage: warning: 232 -> 233 %s discards '
             'compute_node_stats (2 rows), shadow_compute_node_stats (1 row)'
             '\n' % command_base.STEP_233), (result.status, result.err))
        self.execute("UPDATE compute_nodes SET stats = '{\"a\": 1}'")
        result = self.run_cli('db', 'sync', '232')
        self.assertEqual(
            (0, 'nova-schema-manage: warning: 233 -> 232 %s discards '
             'compute_nodes.stats (2 rows), shadow_compute_nodes.stats '
             '(1 row)\n' % command_base.STEP_233),
            (result.status, result.err))

    def test_upgrade_changes_nothing(self):
        self.at_232_with_rows()
        before = self.snapshot()
        self.dry_run()
        self.assertEqual(before, self.snapshot())
        self.assertEqual(232, self.version())

    def test_upgrade_matches_real_run(self):
        self.at_232_with_rows()
        [(title, shown)] = parse_dry_run(self.dry_run().out)
        sent = self.real_run()
        self.assertEqual(shown, sent)
        self.assertEqual(233, self.version())

    # Downgrade.

    def test_downgrade_prints_the_statements(self):
        self.at_233_with_rows()
        out = self.dry_run('232').out
        steps = parse_dry_run(out)
        self.assertEqual([DOWN_233_TITLE], [title for title, _ in steps])
        # NOTE: rows_233 gives compute_nodes 2 rows with stats, its shadow 1.
        self.assertEqual(
            ['-- discards: compute_nodes.stats (2 rows), '
             'shadow_compute_nodes.stats (1 row)'],
            command_base.dry_run_discards(out))
        self.assertStatementLines(steps)
        statements = steps[0][1]
        self.assertEqual(DOWN_233_VERSION_UPDATE, statements[-1])
        self.assertEqual(
            1, len([s for s in statements
                    if s.startswith('CREATE TABLE compute_node_stats ')]))
        self.assertEqual(
            1, len([s for s in statements
                    if s.startswith('CREATE TABLE shadow_compute_node_stats ')
                    ]))

    def test_downgrade_changes_nothing(self):
        self.at_233_with_rows()
        before = self.snapshot()
        self.dry_run('232')
        self.assertEqual(before, self.snapshot())
        self.assertEqual(233, self.version())

    def test_downgrade_matches_real_run(self):
        self.at_233_with_rows()
        [(title, shown)] = parse_dry_run(self.dry_run('232').out)
        sent = self.real_run('232')
        self.assertEqual(shown, sent)
        self.assertEqual(232, self.version())

    def test_downgrade_output_is_repeatable(self):
        # NOTE: a dry run can only predict a real run if the same database
        # always gives the same statements, in the same order.
        self.at_233_with_rows()
        outputs = {self.dry_run('232').out for _ in range(REPEATS)}
        self.assertEqual(1, len(outputs),
                         'dry runs of one database differ:\n%s'
                         % '\n=====\n'.join(sorted(outputs)))

    # From an empty database.

    def test_from_empty_database(self):
        self.create_empty_database()
        before = self.snapshot()
        result = self.dry_run()
        self.assertEqual(before, self.snapshot())
        steps = parse_dry_run(result.out)
        titles = [title for title, _ in steps]
        if self.HOLDS_BACK:
            self.assertEqual(VERSION_CONTROL_TITLE, titles[0])
            self.assertEqual(2, len(titles), result.out)
            self.assertTrue(titles[1].startswith('-- 231 -> 233: not shown'),
                            titles[1])
            self.assertEqual([], steps[1][1])
            steps = steps[:1]
        else:
            self.assertEqual(
                [VERSION_CONTROL_TITLE, BASELINE_TITLE, UP_233_TITLE], titles)
            self.assertEqual(UP_233, steps[2][1])
        self.assertStatementLines(steps)
        create, insert = steps[0][1]
        self.assertTrue(create.startswith('CREATE TABLE migrate_version ('),
                        create)
        self.assertEqual(VERSION_CONTROL_INSERT, insert)

    def test_from_stamped_empty_database(self):
        # NOTE: under version control at 231 (db version_control), no tables.
        migration_api.version_control(self.engine, base.MIGRATE_REPO_PATH,
                                      base.INIT_VERSION)
        before = self.snapshot()
        result = self.dry_run()
        self.assertEqual(before, self.snapshot())
        steps = parse_dry_run(result.out)
        if self.HOLDS_BACK:
            # NOTE: the baseline reflects the tables it has just created,
            # which a MySQL dry run never creates: at most a note.
            self.assertTrue(steps[-1][0].startswith('-- 231 -> '),
                            result.out)
            self.assertIn('not shown', steps[-1][0])
        else:
            self.assertEqual([BASELINE_TITLE, UP_233_TITLE],
                             [title for title, _ in steps])
            self.assertStatementLines(steps)

    def test_from_empty_database_matches_real_run(self):
        self.create_empty_database()
        shown = [statement for _, statements
                 in parse_dry_run(self.dry_run().out)
                 for statement in statements]
        sent = self.real_run()
        self.assertEqual(233, self.version())
        if self.HOLDS_BACK:
            # NOTE: only the version control step is shown.
            self.assertEqual(2, len(shown))
            sent = sent[:len(shown)]
        self.assertEqual(shown, sent)

    # Nothing to do; JSON.

    def test_at_target_nothing_to_do(self):
        self.at_233_with_rows()
        before = self.snapshot()
        result = self.dry_run()
        self.assertEqual('-- already at version 233: nothing to do\n',
                         result.out)
        self.assertEqual(before, self.snapshot())

    def test_json(self):
        self.at_232_with_rows()
        text = parse_dry_run(self.dry_run().out)
        before = self.snapshot()
        data = json.loads(self.dry_run('--format', 'json').out)
        self.assertEqual(before, self.snapshot())
        self.assertEqual(
            {'database': self.masked_url, 'dry_run': True, 'target': 233,
             'complete': True},
            {key: value for key, value in data.items() if key != 'steps'})
        [step] = data['steps']
        seconds = step.pop('seconds')
        self.assertIsInstance(seconds, float)
        self.assertGreaterEqual(seconds, 0)
        # NOTE: at_232_with_rows gives compute_node_stats two rows and its
        # shadow table one.
        self.assertEqual({'from': 232, 'to': 233,
                          'name': command_base.STEP_233,
                          'statements': text[0][1], 'resumed_after': 0,
                          'strategy': 'classic', 'strategy_reason': None,
                          'discards': [
                              {'table': 'compute_node_stats',
                               'column': None, 'rows': 2,
                               'approximate': False},
                              {'table': 'shadow_compute_node_stats',
                               'column': None, 'rows': 1,
                               'approximate': False}]}, step)

    def test_json_from_empty_database(self):
        self.create_empty_database()
        data = json.loads(self.dry_run('--format', 'json').out)
        self.assertEqual([], self.table_names())
        self.assertEqual((True, 233), (data['dry_run'], data['target']))
        steps = [(step['from'], step['to'], step['name'])
                 for step in data['steps']]
        if self.HOLDS_BACK:
            self.assertFalse(data['complete'])
            self.assertEqual([(None, 231, 'version_control')], steps)
        else:
            self.assertTrue(data['complete'])
            self.assertEqual(
                [(None, 231, 'version_control'),
                 (231, 232, command_base.STEP_232),
                 (232, 233, command_base.STEP_233)], steps)
            self.assertEqual(UP_233, data['steps'][2]['statements'])
        self.assertEqual(VERSION_CONTROL_INSERT,
                         data['steps'][0]['statements'][-1])


class TestDryRunSQLite(DryRunChecks,
                       base.DatabaseTestMixin,
                       test_fixtures.OpportunisticDBTestMixin,
                       testtools.TestCase):

    def test_missing_file_is_not_created(self):
        path = self.engine.url.database
        result = self.run_cli('db', 'sync', '--dry-run')
        self.assertEqual(2, result.status, result)
        self.assertFalse(os.path.exists(path))


def _sorted_table_options(create_table):
    """``...)ENGINE=InnoDB CHARSET=utf8;`` with its options in sorted order."""
    body, _, options = create_table.rstrip(';').rpartition(')')
    return '%s)%s;' % (body, ' '.join(sorted(options.split())))


class TestDryRunMySQL(DryRunChecks,
                      base.DatabaseTestMixin,
                      test_fixtures.OpportunisticDBTestMixin,
                      testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    HOLDS_BACK = True

    def _create_tables_in_process(self, hash_seed):
        env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
        env.pop('PYTHONWARNINGS', None)
        process = subprocess.run(
            [CONSOLE_SCRIPT, '--database-connection', self.url, 'db', 'sync',
             '232', '--dry-run'], env=env, capture_output=True, text=True,
            timeout=120)
        self.assertEqual((0, ''), (process.returncode, process.stderr))
        return sorted(line for line in process.stdout.splitlines()
                      if line.startswith('CREATE TABLE '))

    def test_create_table_differs_between_processes_in_option_order_only(
            self):
        # NOTE: the dry run and the real run are two processes, each with
        # its own string hash seed. With 0 and 2 SQLAlchemy 1.4 orders the
        # MySQL table options (ENGINE, CHARSET) of one table differently
        # (it iterates a set of option names); the README says so. Nothing
        # else may differ.
        self.build(233)
        first = self._create_tables_in_process(0)
        second = self._create_tables_in_process(2)
        self.assertNotEqual(first, second,
                            'the hash seeds no longer reorder the options: '
                            'update the README and this test')
        self.assertEqual(list(map(_sorted_table_options, first)),
                         list(map(_sorted_table_options, second)))


class TestDryRunPostgreSQL(DryRunChecks,
                           base.DatabaseTestMixin,
                           test_fixtures.OpportunisticDBTestMixin,
                           testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
