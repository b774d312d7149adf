"""migrate_repo/manage.py, sqlalchemy-migrate's own shell, on SQLite files.

Every command runs in a subprocess, as ``python migrate_repo/manage.py``.
"""
import testtools

from tests import base
from tests import cli_helpers as helpers
from tests.cli_helpers import MANAGE_PROG

HEAD_TABLES = ['compute_nodes', 'migrate_version', 'services',
               'shadow_compute_nodes', 'shadow_services']
TABLES_232 = sorted(HEAD_TABLES + ['compute_node_stats',
                                   'shadow_compute_node_stats'])
PASSWORD = 's3cretpw'
UNREACHABLE_MYSQL = 'mysql+pymysql://nova:%s@127.0.0.1:1/nova' % PASSWORD
MALFORMED_URL = 'mysql+pymysql://nova:%s@127.0.0.1:notaport/nova' % PASSWORD


class ManageTestCase(helpers.CommandAssertions, testtools.TestCase):

    secrets = (PASSWORD,)

    def setUp(self):
        super().setUp()
        self.useFixture(base.DeprecationWarningsFilter())
        self.db = self.useFixture(helpers.SQLiteFile())
        self.path, self.url = self.db.path, self.db.url

    def manage(self, *argv, **kwargs):
        result = helpers.run_manage(argv, **kwargs)
        self.addDetail('manage.py ' + ' '.join(argv),
                       testtools.content.text_content(repr(result)))
        return result

    def assertSucceeds(self, result, out):
        self.assertEqual((0, out, ''), result)

    def assertVersion(self, version):
        self.assertSucceeds(self.manage('db_version', self.url),
                            '%d\n' % version)


class TestManageWalk(ManageTestCase):

    def test_version_control_upgrade_downgrade_test_upgrade(self):
        self.assertSucceeds(self.manage('version_control', self.url, '231'),
                            '')
        self.assertEqual(['migrate_version'],
                         helpers.sqlite_tables(self.path))
        self.assertVersion(231)

        self.assertSucceeds(self.manage('upgrade', self.url),
                            '231 -> 232... \ndone\n232 -> 233... \ndone\n')
        self.assertVersion(233)
        self.assertEqual(HEAD_TABLES, helpers.sqlite_tables(self.path))

        self.assertSucceeds(self.manage('downgrade', self.url, '232'),
                            '233 -> 232... \ndone\n')
        self.assertVersion(232)
        self.assertEqual(TABLES_232, helpers.sqlite_tables(self.path))

        at_232 = helpers.sqlite_snapshot(self.path)
        self.assertSucceeds(
            self.manage('test', self.url),
            'Upgrading...\ndone\nDowngrading...\ndone\nSuccess\n')
        self.assertEqual(at_232, helpers.sqlite_snapshot(self.path))

        self.assertSucceeds(self.manage('upgrade', self.url),
                            '232 -> 233... \ndone\n')
        self.assertVersion(233)
        self.assertEqual(HEAD_TABLES, helpers.sqlite_tables(self.path))

    def test_same_schema_as_nova_schema_manage(self):
        self.assertSucceeds(self.manage('version_control', self.url, '231'),
                            '')
        self.assertSucceeds(self.manage('upgrade', self.url),
                            '231 -> 232... \ndone\n232 -> 233... \ndone\n')
        other = self.useFixture(helpers.SQLiteFile())
        result = helpers.run_cli(['--database-connection', other.url,
                                  'db', 'sync'])
        self.assertEqual(0, result.status, result)
        by_manage = helpers.sqlite_snapshot(self.path)
        by_cli = helpers.sqlite_snapshot(other.path)
        self.assertEqual(by_manage['sqlite_master'], by_cli['sqlite_master'])
        self.assertEqual(by_manage['rows'], by_cli['rows'])

    def test_version_control_without_version_starts_at_231(self):
        # migrate_repo/README: "manage.py version_control URL", then
        # "manage.py upgrade URL".
        self.assertSucceeds(self.manage('version_control', self.url), '')
        self.assertVersion(231)
        self.assertSucceeds(self.manage('upgrade', self.url),
                            '231 -> 232... \ndone\n232 -> 233... \ndone\n')

    def test_test_command_at_head_leaves_version_and_schema_agreeing(self):
        # "test" runs the newest script's upgrade and downgrade whatever the
        # database's version; at 233 it must not leave a database that says
        # 233 but has the schema of 232.
        helpers.build_nova_database(self.db.engine, 233)
        self.manage('test', self.url)
        self.assertVersion(233)
        self.assertEqual(HEAD_TABLES, helpers.sqlite_tables(self.path))


class TestManageBadInput(ManageTestCase):

    def setUp(self):
        super().setUp()
        helpers.build_nova_database(self.db.engine, 233)
        helpers.add_nova_rows(self.db.engine)

    def assertRefused(self, argv, fragment, out='', **kwargs):
        before = helpers.sqlite_snapshot(self.path)
        result = self.manage(*argv, **kwargs)
        self.assertNothingLeaked(result)
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))
        self.assertOneErrorLine(result, MANAGE_PROG, fragment, out=out)
        return result

    def test_unknown_command(self):
        self.assertRefused(['frobnicate', self.url],
                           'Invalid command frobnicate')

    def test_malformed_url(self):
        self.assertRefused(['db_version', MALFORMED_URL],
                           "invalid literal for int() with base 10: "
                           "'notaport'")

    def test_unparsable_url_with_password(self):
        # "//" where "://" belongs: SQLAlchemy cannot parse it, and quotes it.
        self.assertRefused(['db_version', UNREACHABLE_MYSQL.replace(
            '://', '//')], 'Could not parse SQLAlchemy URL')

    def test_unparsable_url(self):
        self.assertRefused(['upgrade', 'not-a-url'],
                           "Could not parse SQLAlchemy URL")

    def test_unreachable_mysql_with_password(self):
        self.assertRefused(['db_version', UNREACHABLE_MYSQL],
                           "Can't connect to MySQL server")

    def test_upgrade_unreachable_mysql_with_password(self):
        self.assertRefused(['upgrade', UNREACHABLE_MYSQL],
                           "Can't connect to MySQL server")

    def test_unknown_version(self):
        self.assertRefused(['upgrade', self.url, '999'], "doesn't exist")

    def test_non_numeric_version(self):
        self.assertRefused(['upgrade', self.url, 'abc'],
                           'version must be a whole number')

    def test_downgrade_below_the_baseline_from_233(self):
        # Refused before anything is done, as "db sync 231" is: not after
        # downgrading to 232 first.
        self.assertRefused(['downgrade', self.url, '231'],
                           'cannot be downgraded')

    def test_downgrade_below_the_baseline_from_232(self):
        helpers.run_cli(['--database-connection', self.url, 'db', 'sync',
                         '232'])
        self.assertVersion(232)
        self.assertRefused(['downgrade', self.url, '231'],
                           'cannot be downgraded')

    def test_downgrade_to_version_0(self):
        self.assertRefused(['downgrade', self.url, '0'], 'below the baseline')

    def test_missing_url(self):
        self.assertRefused(['upgrade'], 'url not specified')

    def test_error_is_one_line_with_deprecation_warnings_enabled(self):
        env = helpers.child_environment(
            PYTHONWARNINGS='default::DeprecationWarning')
        self.assertRefused(['upgrade', self.url, '999'], "doesn't exist",
                           env=env)
