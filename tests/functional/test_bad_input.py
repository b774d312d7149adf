"""Bad input to nova-schema-manage and manage.py changes nothing.

Each refusal: exit status 2, exactly one line on stderr (``PROG: error:
...``), nothing on stdout, no traceback, no password in the output, and the
database (every table's shape and all its rows) as it was before.
"""
import os
import sqlite3
import subprocess

import fixtures
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from tests import cli_helpers as helpers
from tests.cli_helpers import CLI_PROG
from tests.cli_helpers import MANAGE_PROG

OTHER_PASSWORD = 'wr0ng-s3cret'
STARTED_233 = '232 -> 233 %s ... failed\n' % helpers.STEP_233


class BadInputChecks(helpers.CommandAssertions):
    """The checks every backend runs. ``self.url`` holds the password."""

    def setUp(self):
        super().setUp()
        self.url_object = sqlalchemy.engine.make_url(self.url)

    # -- running and checking ------------------------------------------------

    def cli(self, *argv, url=None):
        return helpers.run_cli(['--database-connection', url or self.url]
                               + list(argv))

    def manage(self, *argv):
        return helpers.run_manage(argv)

    def assertRefused(self, run, fragment, prog=CLI_PROG, out='',
                      label=''):
        """``run()`` is refused with ``fragment`` and changes nothing."""
        before = helpers.snapshot(self.engine)
        result = run()
        self.addDetail('%s (%d)' % (label or prog, len(self.getDetails())),
                       testtools.content.text_content(repr(result)))
        self.assertNothingLeaked(result)
        self.assertEqual(before, helpers.snapshot(self.engine))
        self.assertOneErrorLine(result, prog, fragment, out=out)
        return result

    def assertCliRefused(self, argv, fragment, url=None, out=''):
        return self.assertRefused(lambda: self.cli(*argv, url=url), fragment,
                                  out=out, label=' '.join(argv))

    def assertManageRefused(self, argv, fragment, out=''):
        return self.assertRefused(lambda: self.manage(*argv), fragment,
                                  prog=MANAGE_PROG, out=out,
                                  label='manage.py ' + argv[0])

    # -- databases ---------------------------------------------------------

    def nova_at(self, version):
        helpers.build_nova_database(self.engine, version)
        helpers.add_nova_rows(self.engine, with_stats=version == 232)

    def url_with(self, **parts):
        return self.url_object.set(**parts).render_as_string(
            hide_password=False)

    def unknown_driver_url(self):
        return self.url_with(
            drivername=self.url_object.get_backend_name() + '+nosuchdriver')

    # -- the URL -------------------------------------------------------------

    def test_malformed_url(self):
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync'], 'malformed database URL',
                              url=self.malformed_url())

    def test_unknown_driver(self):
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync'], 'unknown database driver',
                              url=self.unknown_driver_url())

    def test_unreachable_database(self):
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync'], 'cannot use database',
                              url=self.unreachable_url())

    # -- the version ---------------------------------------------------------

    def test_non_numeric_version(self):
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync', 'head'],
                              "version must be a whole number, not 'head'")

    def test_negative_version(self):
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync', '-1'],
                              'version -1 is outside this repository')

    def test_unknown_version(self):
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync', '999'],
                              'version 999 is outside this repository')

    def test_version_below_the_baseline(self):
        self.nova_at(232)
        for version in ('231', '0'):
            self.assertCliRefused(['db', 'sync', version],
                                  'version %s is outside this repository'
                                  % version)

    def test_version_control_at_non_numeric_version(self):
        self.assertCliRefused(['db', 'version_control', '2e2'],
                              'version must be a whole number')

    def test_version_control_of_controlled_database(self):
        self.nova_at(233)
        for argv in (['db', 'version_control'],
                     ['db', 'version_control', '233']):
            self.assertCliRefused(argv, 'already under version control')

    def test_version_control_of_empty_database_at_233(self):
        self.assertCliRefused(['db', 'version_control', '233'],
                              'can only be stamped at 231')

    # -- databases that are not this repository's -----------------------------

    def test_foreign_tables_without_version_table(self):
        helpers.add_foreign_table(self.engine)
        for argv in (['db', 'sync'], ['db', 'version'],
                     ['db', 'sync', '233'], ['db', 'sync', '--dry-run'],
                     ['db', 'check'], ['db', 'history']):
            self.assertCliRefused(argv, 'not under version control of '
                                  "repository 'nova'")
        self.assertCliRefused(['db', 'version_control'],
                              'already has tables')

    def test_other_repository_in_migrate_version(self):
        helpers.add_foreign_table(self.engine)
        helpers.add_migrate_version(self.engine, 'glance', 40)
        for argv in (['db', 'sync'], ['db', 'version'],
                     ['db', 'version_control'],
                     ['db', 'version_control', '233'], ['db', 'check'],
                     ['db', 'history']):
            self.assertCliRefused(argv, "repository 'glance', not 'nova'")

    def test_nova_at_a_version_this_repository_lacks(self):
        helpers.add_migrate_version(self.engine, 'nova', 500)
        for argv in (['db', 'sync'], ['db', 'version'],
                     ['db', 'sync', '232'], ['db', 'check']):
            self.assertCliRefused(argv, 'is at version 500')

    def test_nova_at_231_with_tables(self):
        # Stamped at 231 over an existing schema: 232 would be built on top.
        helpers.create_table(
            self.engine, 'services',
            sqlalchemy.Column('id', sqlalchemy.Integer, primary_key=True),
            rows=[{'id': 1}])
        helpers.add_migrate_version(self.engine, 'nova', 231)
        for argv in (['db', 'sync'], ['db', 'sync', '--dry-run'],
                     ['db', 'version']):
            self.assertCliRefused(argv, 'at version 231 but already has '
                                  'tables')

    def test_alembic_database(self):
        helpers.add_foreign_table(self.engine)
        helpers.add_alembic_version(self.engine)
        for argv in (['db', 'sync'], ['db', 'version']):
            self.assertCliRefused(argv, 'not under version control of '
                                  "repository 'nova'")
        self.assertCliRefused(['db', 'version_control'], 'alembic')

    def test_alembic_database_is_not_stamped(self):
        # A database alembic manages is another project's, like one with a
        # migrate_version row of another repository: not to be stamped.
        helpers.add_foreign_table(self.engine)
        helpers.add_alembic_version(self.engine)
        self.assertCliRefused(['db', 'version_control', '233'],
                              'alembic')

    # -- configuration -------------------------------------------------------

    def write_config(self, text):
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'nova.conf')
        with open(path, 'w') as config:
            config.write(text)
        return path

    def test_malformed_config_file_holding_the_url(self):
        # oslo.config quotes the offending line: here, one with the URL.
        self.nova_at(233)
        config = self.write_config(
            '[database]\n  connection = %s\n' % self.url)
        self.assertRefused(
            lambda: helpers.run_cli(['--config-file', config, 'db', 'sync']),
            'cannot read config file')

    # -- manage.py -----------------------------------------------------------

    def test_manage_unknown_version(self):
        self.nova_at(233)
        self.assertManageRefused(['upgrade', self.url, '999'],
                                 "doesn't exist")

    def test_manage_downgrade_below_the_baseline(self):
        self.nova_at(233)
        self.assertManageRefused(['downgrade', self.url, '231'],
                                 'cannot be downgraded')

    def test_manage_malformed_url(self):
        self.nova_at(233)
        self.assertManageRefused(['db_version', self.malformed_url()],
                                 self.MALFORMED_URL_ERROR)

    def test_manage_unknown_driver(self):
        self.nova_at(233)
        self.assertManageRefused(['upgrade', self.unknown_driver_url()],
                                 'unknown database driver')

    def test_manage_unreachable_database(self):
        self.nova_at(233)
        self.assertManageRefused(['upgrade', self.unreachable_url()],
                                 'cannot use database')

    def test_manage_foreign_database(self):
        helpers.add_foreign_table(self.engine)
        self.assertManageRefused(['upgrade', self.url],
                                 'DatabaseNotControlledError')

    def test_manage_other_repository(self):
        helpers.add_foreign_table(self.engine)
        helpers.add_migrate_version(self.engine, 'glance', 40)
        self.assertManageRefused(['upgrade', self.url],
                                 'DatabaseNotControlledError')

    def test_manage_nova_at_500(self):
        helpers.add_migrate_version(self.engine, 'nova', 500)
        self.assertManageRefused(['upgrade', self.url],
                                 'version 500 doesn\'t exist')


class ServerBadInputChecks(BadInputChecks):
    """What only a database server can get wrong."""

    MALFORMED_URL_ERROR = ("ValueError: invalid literal for int() with base "
                           "10: 'notaport'")

    def malformed_url(self):
        url = self.url_object
        return '%s://%s:%s@%s:notaport/%s' % (
            url.drivername, url.username, url.password, url.host,
            url.database)

    def unreachable_url(self):
        return self.url_with(host='127.0.0.1', port=1)

    def test_malformed_url_missing_colon(self):
        # A typo that SQLAlchemy cannot parse; the password is still in it.
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync'], 'malformed database URL',
                              url=self.url.replace('://', '//', 1))

    def test_manage_malformed_url_missing_colon(self):
        self.nova_at(233)
        self.assertManageRefused(['upgrade', self.url.replace('://', '//', 1)],
                                 'malformed database URL')

    def test_missing_database(self):
        self.nova_at(233)
        self.assertCliRefused(
            ['db', 'sync'], 'cannot use database',
            url=self.url_with(database=self.url_object.database + '_nx'))


class TestBadInputSQLite(BadInputChecks, helpers.SQLiteFileBackend,
                         testtools.TestCase):
    """Also what only needs one backend: options, config files, files."""

    MALFORMED_URL_ERROR = 'ArgumentError: Could not parse SQLAlchemy URL'

    def malformed_url(self):
        return 'sqlite//' + self.sqlite_path

    def unreachable_url(self):
        return 'sqlite:////nonexistent-directory-%d/nova.sqlite' % os.getpid()

    # -- read-only files -----------------------------------------------------

    def read_only_url(self):
        """The database's URL, with the file really read-only, even for root.

        NOTE: file permissions do not stop root; the immutable attribute
        does. Where chattr is missing or not allowed, SQLite's own read-only
        mode is used instead.
        """
        try:
            subprocess.run(['chattr', '+i', self.sqlite_path], check=True,
                           capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return 'sqlite:///file:%s?mode=ro&uri=true' % self.sqlite_path
        self.addCleanup(subprocess.run, ['chattr', '-i', self.sqlite_path],
                        check=True)
        return self.url

    def test_read_only_file(self):
        # NOTE: the step is announced on stdout before its first write fails.
        self.nova_at(232)
        self.assertCliRefused(['db', 'sync'],
                              'attempt to write a readonly database; '
                              'nothing was changed',
                              url=self.read_only_url(), out=STARTED_233)

    def test_read_only_uri(self):
        self.nova_at(232)
        uri = 'sqlite:///file:%s?mode=ro&uri=true' % self.sqlite_path
        self.assertCliRefused(['db', 'sync'],
                              'attempt to write a readonly database; '
                              'nothing was changed',
                              url=uri, out=STARTED_233)

    def test_read_only_empty_file(self):
        # Not reported as an "unexpected" error, the wording of a bug.
        sqlite3.connect(self.sqlite_path).close()
        result = self.assertCliRefused(['db', 'sync'],
                                       'readonly database',
                                       url=self.read_only_url())
        self.assertNotIn('unexpected', result.err)

    # -- options and configuration -------------------------------------------

    def test_malformed_url_with_password(self):
        self.secrets = (OTHER_PASSWORD,)
        self.assertCliRefused(['db', 'sync'], 'malformed database URL',
                              url='mysql+pymysql//nova:%s@127.0.0.1/nova'
                              % OTHER_PASSWORD)

    def test_empty_database_connection(self):
        self.assertCliRefused(['db', 'sync'], '--database-connection is '
                              'empty', url=' ')

    def test_missing_config_file(self):
        missing = os.path.join(os.path.dirname(self.sqlite_path), 'nx.conf')
        self.assertRefused(
            lambda: helpers.run_cli(['--config-file', missing, 'db', 'sync']),
            'does not exist')

    def test_config_file_with_empty_connection(self):
        config = self.write_config('[database]\nconnection =\n')
        self.assertRefused(
            lambda: helpers.run_cli(['--config-file', config, 'db', 'sync']),
            'has no [database] connection')

    def test_config_file_not_ini(self):
        config = self.write_config('{"database": {"connection": "%s"}}\n'
                                   % self.url)
        self.assertRefused(
            lambda: helpers.run_cli(['--config-file', config, 'db', 'sync']),
            'cannot read config file')

    def test_malformed_config_line_holding_a_password(self):
        # A line that lacks its '=' is quoted back by oslo.config.
        self.secrets = (OTHER_PASSWORD,)
        config = self.write_config(
            '[database]\nconnection = %s\n[keystone_authtoken]\n'
            'password %s\n' % (self.url, OTHER_PASSWORD))
        self.assertRefused(
            lambda: helpers.run_cli(['--config-file', config, 'db', 'sync']),
            'cannot read config file')

    def test_negative_lock_timeout(self):
        self.assertCliRefused(['db', 'sync', '--lock-timeout', '-1'],
                              'must be a number of seconds')

    def test_non_numeric_lock_timeout(self):
        self.assertCliRefused(['db', 'sync', '--lock-timeout', 'soon'],
                              'must be a number of seconds')

    def test_unknown_output_format(self):
        self.assertCliRefused(['db', 'version', '--format', 'xml'],
                              "invalid choice: 'xml'")

    def test_unknown_subcommand(self):
        self.assertCliRefused(['db', 'upgrade'], "invalid choice: 'upgrade'")

    def test_manage_unknown_command(self):
        self.nova_at(233)
        self.assertManageRefused(['frobnicate', self.url],
                                 'Invalid command frobnicate')


class TestBadInputMySQL(ServerBadInputChecks, helpers.ProvisionedBackend,
                        testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture

    def test_wrong_password(self):
        self.secrets += (OTHER_PASSWORD,)
        self.nova_at(233)
        self.assertCliRefused(['db', 'sync'], 'Access denied',
                              url=self.url_with(password=OTHER_PASSWORD))

    def test_manage_wrong_password(self):
        self.secrets += (OTHER_PASSWORD,)
        self.nova_at(233)
        self.assertManageRefused(
            ['upgrade', self.url_with(password=OTHER_PASSWORD)],
            'Access denied')


class TestBadInputPostgreSQL(ServerBadInputChecks,
                             helpers.ProvisionedBackend, testtools.TestCase):
    # NOTE: no wrong-password test: the local server trusts 127.0.0.1.
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
