"""nova-schema-manage db sync / version on SQLite, MySQL and PostgreSQL."""
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from tests import base
from tests import cli_helpers as helpers
from tests.cli_helpers import CLI_PROG

HEAD_TABLES = ['compute_nodes', 'services', 'shadow_compute_nodes',
               'shadow_services']
TABLES_232 = sorted(HEAD_TABLES + ['compute_node_stats',
                                   'shadow_compute_node_stats'])
STEP_231_232 = helpers.step_line_pattern(231, 232, helpers.STEP_232)
STEP_233_232 = helpers.step_line_pattern(233, 232, helpers.STEP_233)


def rows(engine, name):
    table = sqlalchemy.Table(name, sqlalchemy.MetaData(),
                             autoload_with=engine)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(
            table.select().order_by(table.c.id)).mappings()]


def version_rows(engine):
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sqlalchemy.text(
            'SELECT repository_id, version FROM migrate_version'))]


class CliBackendChecks(helpers.CommandAssertions):

    def cli(self, *argv):
        result = helpers.run_cli(['--database-connection', self.url]
                                 + list(argv))
        self.addDetail('db ' + ' '.join(argv[1:]),
                       testtools.content.text_content(repr(result)))
        return result

    def assertSteps(self, result, *patterns):
        self.assertNothingLeaked(result)
        self.assertEqual(
            (0, ''), (result.status, base.without_notes(result.err)), result)
        lines = result.out.splitlines()
        self.assertEqual(len(patterns), len(lines), result.out)
        for pattern, line in zip(patterns, lines):
            self.assertThat(line, testtools.matchers.MatchesRegex(pattern))

    def assertVersion(self, version):
        self.assertEqual((0, '%d\n' % version, ''), self.cli('db', 'version'))
        self.assertEqual([('nova', version)], version_rows(self.engine))

    def test_sync_down_and_up_again(self):
        self.assertSteps(self.cli('db', 'sync'), STEP_231_232,
                         self.STEP_232_233)
        self.assertVersion(233)
        self.assertEqual(HEAD_TABLES, base.table_names(self.engine))

        self.assertSteps(self.cli('db', 'sync', '232'), STEP_233_232)
        self.assertVersion(232)
        self.assertEqual(TABLES_232, base.table_names(self.engine))

        self.assertSteps(self.cli('db', 'sync'), self.STEP_232_233)
        self.assertVersion(233)
        self.assertEqual(HEAD_TABLES, base.table_names(self.engine))

        self.assertSteps(self.cli('db', 'sync'), r'^already at version 233$')
        self.assertVersion(233)

    def test_sync_231_is_refused(self):
        self.assertSteps(self.cli('db', 'sync'), STEP_231_232,
                         self.STEP_232_233)
        before = helpers.snapshot(self.engine)
        result = self.cli('db', 'sync', '231')
        self.assertNothingLeaked(result)
        self.assertOneErrorLine(result, CLI_PROG,
                                'version 231 is outside this repository')
        self.assertEqual(before, helpers.snapshot(self.engine))
        self.assertVersion(233)

    def test_nova_database_at_232_is_upgraded_by_233_alone(self):
        # As Nova left it: repository 'nova' at 232, its own path recorded.
        helpers.build_nova_database(self.engine, 232,
                                    helpers.NOVA_REPOSITORY_PATH)
        helpers.add_nova_rows(self.engine, with_stats=True)
        services = rows(self.engine, 'services')
        nodes = rows(self.engine, 'compute_nodes')

        self.assertSteps(self.cli('db', 'sync'), self.STEP_232_233)
        self.assertVersion(233)
        self.assertEqual(HEAD_TABLES, base.table_names(self.engine))
        self.assertEqual([dict(node, stats='{}') for node in nodes],
                         rows(self.engine, 'compute_nodes'))
        self.assertEqual(services, rows(self.engine, 'services'))

        self.assertSteps(self.cli('db', 'sync', '232'), STEP_233_232)
        self.assertVersion(232)
        self.assertEqual(TABLES_232, base.table_names(self.engine))
        self.assertEqual(nodes, rows(self.engine, 'compute_nodes'))
        self.assertEqual([], rows(self.engine, 'compute_node_stats'))


class TestCliSQLite(CliBackendChecks, helpers.SQLiteFileBackend,
                    testtools.TestCase):
    # NOTE: SQLite has no instant path: auto is classic there.
    STEP_232_233 = helpers.step_line_pattern(232, 233, helpers.STEP_233,
                                             'classic')


class TestCliMySQL(CliBackendChecks, helpers.ProvisionedBackend,
                   testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    STEP_232_233 = helpers.step_line_pattern(232, 233, helpers.STEP_233,
                                             'instant')


class TestCliPostgreSQL(CliBackendChecks, helpers.ProvisionedBackend,
                        testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    STEP_232_233 = helpers.step_line_pattern(232, 233, helpers.STEP_233,
                                             'instant')
