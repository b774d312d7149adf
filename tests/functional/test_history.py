"""db history, db version [--verbose], and the JSON of db version/history/sync.

What the repository holds (numbers, names, descriptions) is read here from
the version scripts' files, not from nova_schema.repository.
"""
import ast
import json
import os
import re

from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from tests import base
from tests.functional import command_base

VERSIONS_DIR = os.path.join(base.MIGRATE_REPO_PATH, 'versions')
SERVER_VERSION_SQL = {'mysql': 'SELECT VERSION()',
                      'postgresql': 'SHOW server_version',
                      'sqlite': 'SELECT sqlite_version()'}
HISTORY_LINE = re.compile(r'^([* ]) (\d+) +(\S+) +(\S.*)$')


def scripts():
    """[(version, name, first docstring line)] of the version scripts."""
    entries = []
    for filename in sorted(os.listdir(VERSIONS_DIR)):
        match = re.match(r'^(\d{3,})_(\w+)\.py$', filename)
        if not match:
            continue
        with open(os.path.join(VERSIONS_DIR, filename)) as script:
            docstring = ast.get_docstring(ast.parse(script.read()))
        entries.append((int(match.group(1)), match.group(2),
                        docstring.strip().splitlines()[0]))
    return entries


class HistoryChecks(command_base.CommandChecks):

    def history(self):
        result = self.run_cli('db', 'history')
        self.assertSucceeded(result)
        lines = result.out.splitlines()
        parsed = [HISTORY_LINE.match(line) for line in lines]
        self.assertNotIn(None, parsed, result.out)
        return [(m.group(1), int(m.group(2)), m.group(3), m.group(4))
                for m in parsed]

    def expected_history(self, current):
        return [('*' if version == current else ' ', version, name,
                 description)
                for version, name, description in scripts()]

    def test_history_at_232(self):
        self.build(232)
        self.assertEqual(self.expected_history(232), self.history())

    def test_history_at_233(self):
        self.build(233)
        self.assertEqual(self.expected_history(233), self.history())

    def test_history_json(self):
        self.build(233)
        result = self.run_cli('db', 'history', '--format', 'json')
        self.assertSucceeded(result)
        self.assertEqual(
            [{'version': version, 'name': name, 'description': description,
              'current': version == 233}
             for version, name, description in scripts()],
            json.loads(result.out))

    # db version.

    def server_version(self):
        with self.engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                SERVER_VERSION_SQL[self.backend])).scalar()

    def expected_info(self, version):
        return {'version': version, 'repository_id': 'nova',
                'repository_path': base.MIGRATE_REPO_PATH,
                'database': self.masked_url, 'backend': self.backend,
                'driver': self.engine.driver,
                'server_version': self.server_version(),
                'half_applied': None}

    def test_version(self):
        self.build(233)
        result = self.run_cli('db', 'version')
        self.assertSucceeded(result)
        self.assertEqual('233\n', result.out)

    def test_version_verbose(self):
        self.build(232)
        result = self.run_cli('db', 'version', '--verbose')
        self.assertSucceeded(result)
        info = self.expected_info(232)
        self.assertEqual(
            ['version: 232',
             'repository: nova (%s)' % base.MIGRATE_REPO_PATH,
             'database: %s' % self.masked_url,
             'backend: %(backend)s (driver %(driver)s), server '
             '%(server_version)s' % info],
            result.out.splitlines())
        if self.secret:
            self.assertIn(':***@', result.out)

    def test_version_json(self):
        self.build(233)
        for argv in (['--format', 'json'], ['--verbose', '--format', 'json']):
            result = self.run_cli('db', 'version', *argv)
            self.assertSucceeded(result)
            self.assertEqual(self.expected_info(233), json.loads(result.out))

    # db sync's own output.

    def test_sync_text(self):
        self.build(232)
        result = self.run_cli('db', 'sync')
        self.assertSucceeded(result)
        self.assertRegex(result.out, r'^232 -> 233 add_stats_in_compute_nodes'
                         r' \.\.\. done in \d+\.\d\d s \(%s\)\n$'
                         % self.auto_strategy())
        self.assertEqual(233, self.version())

    def assertSteps(self, expected, steps):
        self.assertEqual(expected, [(step['from'], step['to'], step['name'])
                                    for step in steps])
        for step in steps:
            self.assertEqual({'from', 'to', 'name', 'seconds', 'statements',
                              'discards', 'resumed_after', 'strategy',
                              'strategy_reason'}, set(step))
            self.assertIsInstance(step['seconds'], float)
            self.assertGreaterEqual(step['seconds'], 0)
            self.assertNotEqual([], step['statements'])
            for statement in step['statements']:
                self.assertTrue(statement.endswith(';'), statement)

    def test_sync_json_from_empty_database(self):
        self.create_empty_database()
        result = self.run_cli('db', 'sync', '--format', 'json',
                              '--strategy', 'classic')
        self.assertSucceeded(result)
        data = json.loads(result.out)
        self.assertEqual(233, self.version())
        self.assertEqual(
            {'database': self.masked_url, 'dry_run': False, 'target': 233,
             'complete': True},
            {key: value for key, value in data.items() if key != 'steps'})
        self.assertSteps([(None, 231, 'version_control'),
                          (231, 232, command_base.STEP_232),
                          (232, 233, command_base.STEP_233)], data['steps'])
        self.assertEqual(command_base.UP_233, data['steps'][2]['statements'])

    def test_sync_json_downgrade(self):
        self.build(233)
        result = self.run_cli('db', 'sync', '232', '--format', 'json')
        self.assertSucceeded(result)
        data = json.loads(result.out)
        self.assertEqual(232, self.version())
        self.assertEqual((False, 232, True), (data['dry_run'], data['target'],
                                              data['complete']))
        self.assertSteps([(233, 232, command_base.STEP_233)], data['steps'])


class TestHistorySQLite(HistoryChecks,
                        base.DatabaseTestMixin,
                        test_fixtures.OpportunisticDBTestMixin,
                        testtools.TestCase):
    pass


class TestHistoryMySQL(HistoryChecks,
                       base.DatabaseTestMixin,
                       test_fixtures.OpportunisticDBTestMixin,
                       testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class TestHistoryPostgreSQL(HistoryChecks,
                            base.DatabaseTestMixin,
                            test_fixtures.OpportunisticDBTestMixin,
                            testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
