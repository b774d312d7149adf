"""nova-schema-manage on SQLite files: sync, version, version_control, config.

Most tests call ``nova_schema.cli.main`` in this process; a few start the
installed console script to prove the entry point works.
"""
import os
import re
import sqlite3

import fixtures
import testtools

from tests import base
from tests import cli_helpers as helpers
from tests.cli_helpers import CLI_PROG
from tests.cli_helpers import EXIT_ERROR

HEAD_TABLES = ['compute_nodes', 'migrate_version', 'services',
               'shadow_compute_nodes', 'shadow_services']
TABLES_232 = sorted(HEAD_TABLES + ['compute_node_stats',
                                   'shadow_compute_node_stats'])
STEP_231_232 = helpers.step_line_pattern(231, 232, helpers.STEP_232)
STEP_232_233 = helpers.step_line_pattern(232, 233, helpers.STEP_233,
                                         'classic')
STEP_233_232 = helpers.step_line_pattern(233, 232, helpers.STEP_233)


def recorded_version(path):
    conn = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        rows = conn.execute('SELECT version FROM migrate_version WHERE '
                            "repository_id = 'nova'").fetchall()
    finally:
        conn.close()
    return rows[0][0] if rows else None


def drop_version_table(path):
    conn = sqlite3.connect(path)
    try:
        conn.execute('DROP TABLE migrate_version')
        conn.commit()
    finally:
        conn.close()


class CliTestCase(helpers.CommandAssertions, testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.DeprecationWarningsFilter())
        self.db = self.useFixture(helpers.SQLiteFile())
        self.path, self.url = self.db.path, self.db.url

    def cli(self, *argv, url=None):
        """``nova-schema-manage --database-connection URL ARGV`` in-process."""
        result = helpers.run_cli(
            ['--database-connection', url or self.url] + list(argv))
        self.addDetail('command', testtools.content.text_content(
            ' '.join(argv)))
        return result

    def assertSucceeds(self, result, *patterns):
        """Exit 0, nothing on stderr, stdout lines matching ``patterns``."""
        self.assertEqual((0, ''), (result.status, result.err), result)
        lines = result.out.splitlines()
        self.assertEqual(len(patterns), len(lines), result.out)
        for pattern, line in zip(patterns, lines):
            self.assertThat(line, testtools.matchers.MatchesRegex(pattern))

    def assertRefused(self, result, fragment):
        self.assertNothingLeaked(result)
        self.assertOneErrorLine(result, CLI_PROG, fragment)

    def at_version(self, version):
        self.assertSucceeds(self.cli('db', 'sync'), STEP_231_232, STEP_232_233)
        if version == 232:
            self.assertSucceeds(self.cli('db', 'sync', '232'), STEP_233_232)
        self.assertEqual(version, recorded_version(self.path))


class TestSync(CliTestCase):

    def test_sync_creates_new_file_at_head(self):
        self.assertFalse(os.path.exists(self.path))
        self.assertSucceeds(self.cli('db', 'sync'), STEP_231_232,
                            STEP_232_233)
        self.assertEqual(HEAD_TABLES, helpers.sqlite_tables(self.path))
        self.assertEqual(233, recorded_version(self.path))

    def test_version_after_sync(self):
        self.at_version(233)
        self.assertSucceeds(self.cli('db', 'version'), r'^233$')

    def test_sync_down_to_232_and_up_again(self):
        self.at_version(233)
        self.assertSucceeds(self.cli('db', 'sync', '232'), STEP_233_232)
        self.assertSucceeds(self.cli('db', 'version'), r'^232$')
        self.assertEqual(TABLES_232, helpers.sqlite_tables(self.path))
        self.assertSucceeds(self.cli('db', 'sync'), STEP_232_233)
        self.assertSucceeds(self.cli('db', 'version'), r'^233$')
        self.assertEqual(HEAD_TABLES, helpers.sqlite_tables(self.path))

    def test_sync_at_head_changes_nothing(self):
        self.at_version(233)
        before = helpers.sqlite_snapshot(self.path)
        self.assertSucceeds(self.cli('db', 'sync'),
                            r'^already at version 233$')
        self.assertSucceeds(self.cli('db', 'sync', '233'),
                            r'^already at version 233$')
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))

    def test_sync_to_the_version_it_is_at(self):
        self.at_version(232)
        self.assertSucceeds(self.cli('db', 'sync', '232'),
                            r'^already at version 232$')
        self.assertEqual(232, recorded_version(self.path))

    def test_sync_from_232_made_by_sqlalchemy_migrate(self):
        helpers.build_nova_database(self.db.engine, 232,
                                    helpers.NOVA_REPOSITORY_PATH)
        self.assertSucceeds(self.cli('db', 'sync'), STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))

    def test_version_of_missing_file_is_refused_and_creates_nothing(self):
        self.assertRefused(self.cli('db', 'version'), 'no SQLite database')
        self.assertFalse(os.path.exists(self.path))

    def test_version_through_a_sqlite_uri_filename(self):
        # A read-only URI filename (sqlite:///file:PATH?mode=ro&uri=true)
        # names an existing database as well as a plain path does.
        self.at_version(233)
        uri = 'sqlite:///file:%s?mode=ro&uri=true' % self.path
        self.assertSucceeds(self.cli('db', 'version', url=uri), r'^233$')


class TestVersionControl(CliTestCase):

    def test_empty_database_is_stamped_at_231(self):
        self.assertSucceeds(self.cli('db', 'version_control'),
                            r'^under version control at 231$')
        self.assertEqual(['migrate_version'],
                         helpers.sqlite_tables(self.path))
        self.assertSucceeds(self.cli('db', 'version'), r'^231$')
        self.assertSucceeds(self.cli('db', 'sync'), STEP_231_232,
                            STEP_232_233)

    def test_empty_database_explicitly_at_231(self):
        self.assertSucceeds(self.cli('db', 'version_control', '231'),
                            r'^under version control at 231$')
        self.assertEqual(231, recorded_version(self.path))

    def test_empty_database_is_not_stamped_at_232_or_233(self):
        sqlite3.connect(self.path).close()
        before = helpers.sqlite_snapshot(self.path)
        for version in ('232', '233'):
            self.assertRefused(self.cli('db', 'version_control', version),
                               'can only be stamped at 231')
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))

    def test_refused_stamp_creates_no_file(self):
        self.assertRefused(self.cli('db', 'version_control', '232'),
                           'no SQLite database at')
        self.assertFalse(os.path.exists(self.path))

    def test_database_with_tables_is_not_stamped_at_231(self):
        helpers.build_nova_database(self.db.engine, 233)
        drop_version_table(self.path)
        before = helpers.sqlite_snapshot(self.path)
        for argv in (['version_control'], ['version_control', '231']):
            self.assertRefused(self.cli('db', *argv), 'already has tables')
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))

    def test_database_with_tables_is_stamped_at_233(self):
        helpers.build_nova_database(self.db.engine, 233)
        drop_version_table(self.path)
        self.assertSucceeds(self.cli('db', 'version_control', '233'),
                            r'^under version control at 233$')
        self.assertSucceeds(self.cli('db', 'version'), r'^233$')
        self.assertSucceeds(self.cli('db', 'sync'),
                            r'^already at version 233$')

    def test_database_with_tables_is_stamped_at_232_then_synced(self):
        helpers.build_nova_database(self.db.engine, 232)
        drop_version_table(self.path)
        self.assertSucceeds(self.cli('db', 'version_control', '232'),
                            r'^under version control at 232$')
        self.assertSucceeds(self.cli('db', 'sync'), STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))

    def test_database_under_version_control_is_refused(self):
        self.at_version(233)
        before = helpers.sqlite_snapshot(self.path)
        for argv in (['version_control'], ['version_control', '232'],
                     ['version_control', '233']):
            self.assertRefused(self.cli('db', *argv),
                               'already under version control at 233')
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))

    def test_stamped_empty_database_is_refused(self):
        self.assertSucceeds(self.cli('db', 'version_control'),
                            r'^under version control at 231$')
        self.assertRefused(self.cli('db', 'version_control'),
                           'already under version control at 231')
        self.assertEqual(231, recorded_version(self.path))


class TestConnection(CliTestCase):

    def write_config(self, text, name='nova.conf'):
        path = os.path.join(self.db.directory, name)
        with open(path, 'w') as config:
            config.write(text)
        return path

    def test_config_file_connection(self):
        config = self.write_config('[database]\nconnection = %s\n' % self.url)
        result = helpers.run_cli(['--config-file', config, 'db', 'sync'])
        self.assertSucceeds(result, STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))
        self.assertSucceeds(
            helpers.run_cli(['--config-file', config, 'db', 'version']),
            r'^233$')

    def test_option_overrides_config_file(self):
        from_file = os.path.join(self.db.directory, 'from_file.sqlite')
        config = self.write_config(
            '[database]\nconnection = sqlite:///%s\n' % from_file)
        result = helpers.run_cli(['--config-file', config,
                                  '--database-connection', self.url,
                                  'db', 'sync'])
        self.assertSucceeds(result, STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))
        self.assertFalse(os.path.exists(from_file))

    def assertSucceedsOnDefault(self, result, path, *patterns):
        """``assertSucceeds``, with the one notice naming the default file."""
        self.assertEqual(
            '%s: using the default SQLite database %s\n' % (CLI_PROG, path),
            result.err)
        self.assertSucceeds(result._replace(err=''), *patterns)

    def test_default_is_nova_schema_sqlite_in_cwd(self):
        cwd = self.useFixture(fixtures.TempDir()).path
        default = os.path.join(cwd, 'nova_schema.sqlite')
        self.assertSucceedsOnDefault(
            helpers.run_script(['db', 'sync'], cwd=cwd), default,
            STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(default))
        self.assertSucceedsOnDefault(
            helpers.run_script(['db', 'version'], cwd=cwd), default,
            r'^233$')
        self.assertEqual(['nova_schema.sqlite'], os.listdir(cwd))

    def test_default_is_in_cwd_in_process_too(self):
        cwd = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(cwd)
        default = os.path.join(cwd, 'nova_schema.sqlite')
        self.assertSucceedsOnDefault(helpers.run_cli(['db', 'sync']),
                                     default, STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(default))


class TestConnectionSources(CliTestCase):
    """oslo.config's precedence: option, environment, config file, default.
    """

    def other_file_url(self, name):
        path = os.path.join(self.db.directory, name)
        return path, 'sqlite:///' + path

    def write_config(self, url):
        path = os.path.join(self.db.directory, 'nova.conf')
        with open(path, 'w') as config:
            config.write('[database]\nconnection = %s\n' % url)
        return path

    def test_environment_variable(self):
        result = helpers.run_cli(['db', 'sync'], connection_env=self.url)
        self.assertSucceeds(result, STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))

    def test_environment_overrides_config_file(self):
        from_file, file_url = self.other_file_url('from_file.sqlite')
        config = self.write_config(file_url)
        result = helpers.run_cli(['--config-file', config, 'db', 'sync'],
                                 connection_env=self.url)
        self.assertSucceeds(result, STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))
        self.assertFalse(os.path.exists(from_file))

    def test_option_overrides_environment(self):
        from_env, env_url = self.other_file_url('from_env.sqlite')
        result = helpers.run_cli(
            ['--database-connection', self.url, 'db', 'sync'],
            connection_env=env_url)
        self.assertSucceeds(result, STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))
        self.assertFalse(os.path.exists(from_env))

    def test_empty_environment_variable(self):
        for value in ('', '  '):
            self.assertRefused(
                helpers.run_cli(['db', 'sync'], connection_env=value),
                'OS_DATABASE__CONNECTION is empty')

    def test_environment_variable_in_the_console_script(self):
        cwd = self.useFixture(fixtures.TempDir()).path
        env = helpers.child_environment(OS_DATABASE__CONNECTION=self.url)
        self.assertSucceeds(helpers.run_script(['db', 'sync'], cwd=cwd,
                                               env=env),
                            STEP_231_232, STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))
        self.assertEqual([], os.listdir(cwd))


class TestDefaultDatabaseNotice(CliTestCase):
    """Without a connection, every command names the file it uses."""

    COMMANDS = (['db', 'sync'], ['db', 'version'],
                ['db', 'version', '--verbose'],
                ['db', 'version', '--format', 'json'], ['db', 'history'],
                ['db', 'check'], ['db', 'check', '--format', 'json'],
                ['db', 'sync', '--dry-run'], ['db', 'sync', '233'],
                ['db', 'sync', '999'], ['db', 'version_control'])

    def setUp(self):
        super().setUp()
        cwd = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(cwd)
        self.default = os.path.join(cwd, 'nova_schema.sqlite')
        self.notice = ('%s: using the default SQLite database %s\n'
                       % (CLI_PROG, self.default))

    def test_every_command_names_the_file(self):
        # The same commands on a twin file given explicitly: the notice must
        # be the only difference, exit status included.
        twin_dir = self.useFixture(fixtures.TempDir()).path
        twin = 'sqlite:///' + os.path.join(twin_dir, 'nova_schema.sqlite')

        def normal(text):
            text = text.replace(twin_dir, os.path.dirname(self.default))
            return re.sub(r'\d+\.\d\d s', 'N s', text)

        for argv in self.COMMANDS:
            given = helpers.run_cli(['--database-connection', twin] + argv)
            default = helpers.run_cli(argv)
            self.assertEqual(
                (given.status, normal(given.out),
                 self.notice + normal(given.err)),
                (default.status, normal(default.out), default.err), argv)
        self.assertEqual(233, recorded_version(self.default))

    def test_refusals_still_one_error_line_after_the_notice(self):
        result = helpers.run_cli(['db', 'version'])
        self.assertEqual(EXIT_ERROR, result.status)
        self.assertEqual(
            [self.notice.rstrip('\n'),
             '%s: error: no SQLite database at %s; db sync creates one'
             % (CLI_PROG, self.default)], result.err.splitlines())

    def test_no_notice_when_a_connection_is_given(self):
        config = os.path.join(self.db.directory, 'nova.conf')
        with open(config, 'w') as conf:
            conf.write('[database]\nconnection = %s\n' % self.url)
        for argv, env in ((['--database-connection', self.url], None),
                          (['--config-file', config], None),
                          ([], self.url)):
            result = helpers.run_cli(argv + ['db', 'sync'],
                                     connection_env=env)
            self.assertEqual(0, result.status, result)
            self.assertEqual('', result.err)
        self.assertFalse(os.path.exists(self.default))


class TestInMemoryDatabase(CliTestCase):

    IN_MEMORY = ('sqlite://', 'sqlite:///:memory:',
                 'sqlite:///file::memory:?uri=true',
                 'sqlite:///file:nova?mode=memory&uri=true')

    def test_sync_and_version_control_are_refused(self):
        for url in self.IN_MEMORY:
            for argv in (['db', 'sync'], ['db', 'sync', '232'],
                         ['db', 'version_control'],
                         ['db', 'version_control', '231']):
                self.assertRefused(self.cli(*argv, url=url),
                                   'is in memory: db %s would keep nothing'
                                   % argv[1])

    def test_also_from_environment_and_config_file(self):
        config = os.path.join(self.db.directory, 'nova.conf')
        with open(config, 'w') as conf:
            conf.write('[database]\nconnection = sqlite://\n')
        self.assertRefused(helpers.run_cli(['--config-file', config, 'db',
                                            'sync']), 'is in memory')
        self.assertRefused(helpers.run_cli(['db', 'sync'],
                                           connection_env='sqlite://'),
                           'is in memory')

    def test_dry_run_is_not_refused(self):
        # A dry run keeps nothing anyway: on an empty database in memory it
        # shows every statement of a first sync.
        result = self.cli('db', 'sync', '--dry-run', url='sqlite://')
        self.assertEqual((0, ''), (result.status, result.err), result)
        self.assertEqual(
            ['-- version control at 231',
             '-- 231 -> 232 %s' % helpers.STEP_232,
             '-- 232 -> 233 %s' % helpers.STEP_233,
             '-- strategy: classic (SQLite has no instant path: its ADD '
             'COLUMN keeps the default in the schema, and removing it would '
             "turn every old row's value into NULL)",
             '-- discards: compute_node_stats (0 rows), '
             'shadow_compute_node_stats (0 rows)'],
            [line for line in result.out.splitlines()
             if line.startswith('--')])

    def test_file_uri_is_not_in_memory(self):
        uri = 'sqlite:///file:%s?mode=rwc&uri=true' % self.path
        self.assertSucceeds(self.cli('db', 'sync', url=uri), STEP_231_232,
                            STEP_232_233)
        self.assertEqual(233, recorded_version(self.path))


class TestConsoleScript(CliTestCase):

    def script(self, *argv):
        return helpers.run_script(['--database-connection', self.url]
                                  + list(argv))

    def test_sync_version_and_back(self):
        self.assertSucceeds(self.script('db', 'sync'), STEP_231_232,
                            STEP_232_233)
        self.assertSucceeds(self.script('db', 'version'), r'^233$')
        self.assertSucceeds(self.script('db', 'sync', '232'), STEP_233_232)
        self.assertSucceeds(self.script('db', 'version'), r'^232$')

    def test_error_exit_status(self):
        self.assertRefused(self.script('db', 'sync', '999'),
                           'version 999 is outside this repository')
        self.assertFalse(os.path.exists(self.path))

    def test_error_is_one_line_with_deprecation_warnings_enabled(self):
        # The CLI shows warnings only with --debug, even in a Python run
        # with warnings enabled (tox sets this very PYTHONWARNINGS).
        env = helpers.child_environment(
            PYTHONWARNINGS='default::DeprecationWarning')
        result = helpers.run_script(
            ['--database-connection', self.url, 'db', 'sync', '999'],
            env=env)
        self.assertRefused(result, 'version 999 is outside this repository')
