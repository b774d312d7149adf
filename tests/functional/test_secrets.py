"""No password is ever printed, whatever characters it holds.

Each password of ``NASTY_PASSWORDS`` goes into a database URL, percent-encoded
and as typed, and through the real command line (in this process): on
MySQL and PostgreSQL against the test's own database (a user with that very
password on MySQL; PostgreSQL trusts 127.0.0.1, so any password connects),
with a wrong password and with an unreachable port; on SQLite, which refuses
a URL with a password and quotes the URL back. Neither the password nor any
of its encodings may appear on stdout or stderr, in text or JSON output, in
``--debug`` output, in library log lines or in tracebacks.
"""
import json
import logging
import os
import random
import string
import sys
from urllib import parse

import fixtures
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from nova_schema import masking
from tests import base
from tests import cli_helpers
from tests.functional import command_base
from tests.unit.test_masking import NASTY_PASSWORDS
from tests.unit.test_masking import password_forms

# A raw '@' in the password makes the URL ambiguous; it is refused.
AMBIGUOUS = {password for password in NASTY_PASSWORDS if '@' in password}
MALFORMED = 'malformed database URL'

# Plain alembic (the shipped environment), once per URL in one child
# process, as its command line runs it (CommandLine.main, but with the
# Config's stdout, which defaults to the stdout alembic was imported with,
# captured too): ``alembic -c <ini> -x url=URL current``.
ALEMBIC_RUNS = '''
import contextlib, io, json, os, sys
from alembic.config import CommandLine, Config
results = []
for url in json.loads(os.environ['ALEMBIC_URLS']):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        command_line = CommandLine(prog='alembic')
        options = command_line.parser.parse_args(
            ['-c', sys.argv[1], '-x', 'url=' + url, 'current'])
        try:
            command_line.run_cmd(Config(
                file_=options.config, ini_section=options.name,
                cmd_opts=options, stdout=out), options)
            status = 0
        except SystemExit as exit:
            status = exit.code
    results.append([status, out.getvalue(), err.getvalue()])
print(json.dumps(results))
'''
ALEMBIC_INI = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'nova_schema',
    'migrations', 'alembic.ini')

COMMANDS = (['db', 'sync'], ['db', 'version', '--verbose'],
            ['db', 'version', '--format', 'json'], ['db', 'check'],
            ['db', 'check', '--format', 'json'],
            ['db', 'sync', '--dry-run', '--format', 'json'],
            ['--debug', 'db', 'version', '--verbose'],
            ['--debug', 'db', 'check'])


class SecretChecks(object):

    def setUp(self):
        super().setUp()
        self.addCleanup(masking.forget_passwords)
        self.build(233)
        self.parts = sqlalchemy.engine.make_url(self.url)

    def url_for(self, password, encoded=True, **parts):
        """This database's URL with ``password``, as typed or encoded."""
        parts = dict({'user': self.user(), 'host': self.parts.host,
                      'port': self.parts.port,
                      'database': self.parts.database}, **parts)
        text = parse.quote(password, safe='') if encoded else password
        return '%s://%s:%s@%s%s/%s' % (
            self.parts.drivername, parts['user'], text, parts['host'],
            ':%d' % parts['port'] if parts['port'] else '',
            parts['database'])

    def cli(self, url, *argv):
        result = cli_helpers.run_cli(['--database-connection', url]
                                     + list(argv))
        self.addDetail('%s (%d)' % (' '.join(argv), len(self.getDetails())),
                       testtools.content.text_content(repr(result)))
        return result

    def assertHidden(self, password, result):
        output = result.out + result.err
        for form in password_forms(password):
            self.assertNotIn(form, output, 'password %r' % password)

    def assertRefusedAsMalformed(self, result):
        self.assertEqual(2, result.status, result)
        self.assertIn(MALFORMED, result.err)

    def run_with_every_password(self, commands, assertWorked, after=None):
        """Each of ``commands`` with each password, as typed and encoded:
        never shown; refused where the URL is ambiguous, else
        ``assertWorked(result, argv)`` where the password connects;
        ``after(password, result)`` once the commands ran with a URL."""
        for password in NASTY_PASSWORDS:
            self.use_password(password)
            for encoded in (True, False):
                url = self.url_for(password, encoded)
                for argv in commands:
                    result = self.cli(url, *argv)
                    self.assertHidden(password, result)
                    if not encoded and password in AMBIGUOUS:
                        self.assertRefusedAsMalformed(result)
                    elif self.connects(password):
                        assertWorked(result, argv)
                if after is not None:
                    after(password, result)

    def test_password_as_typed_and_encoded(self):
        self.run_with_every_password(COMMANDS, self.assertConnected)

    def test_handoff_and_undo(self):
        def give_back(password, last):
            if last.status == 0 and self.hands_off(password):
                # NOTE: given back, for the next handoff.
                self.assertEqual(0, self.cli(self.url, 'db', 'handoff',
                                             '--undo').status)

        self.run_with_every_password(
            (['db', 'handoff'], ['db', 'handoff', '--undo'],
             ['--debug', 'db', 'handoff']), self.assertHandedOff, give_back)

    def run_plain_alembic(self, urls):
        """``alembic -c <shipped ini> -x url=URL current`` per URL."""
        result = cli_helpers.run_process(
            [sys.executable, '-c', ALEMBIC_RUNS, ALEMBIC_INI],
            env=dict(cli_helpers.child_environment(),
                     ALEMBIC_URLS=json.dumps(urls)))
        self.assertEqual(0, result.status, result)
        return [cli_helpers.Result(*run) for run in json.loads(result.out)]

    def test_plain_alembic(self):
        self.assertEqual(0, self.cli(self.url, 'db', 'handoff').status)
        for password in NASTY_PASSWORDS:
            self.use_password(password)
            urls = [self.url_for(password, encoded)
                    for encoded in (True, False)] + [
                self.url_for(password, port=1),
                self.url_for(password, user='openstack_citest')]
            results = self.run_plain_alembic(urls)
            for url, result in zip(urls, results):
                self.addDetail('alembic current (%d)' % len(
                    self.getDetails()), testtools.content.text_content(
                    repr(result)))
                self.assertHidden(password, result)
                self.assertNotIn('Traceback', result.out + result.err)
            if self.hands_off(password):
                self.assertAlembicCurrent(results[0])
            for result in results[2:3]:
                self.assertNotEqual(0, result.status, result)
                self.assertIn('FAILED: ', result.out + result.err)

    def test_unreachable_and_wrong_password(self):
        for password in NASTY_PASSWORDS:
            for url in (self.url_for(password, port=1),
                        self.url_for(password, user='openstack_citest')):
                for argv in (['db', 'version'], ['--debug', 'db', 'check'],
                             ['db', 'handoff']):
                    result = self.cli(url, *argv)
                    self.assertHidden(password, result)

    def test_config_file_and_environment(self):
        directory = self.useFixture(fixtures.TempDir()).path
        for password in NASTY_PASSWORDS:
            self.use_password(password)
            for encoded in (True, False):
                url = self.url_for(password, encoded)
                config = os.path.join(directory, 'nova.conf')
                with open(config, 'w') as conf:
                    conf.write('[database]\nconnection = %s\n' % url)
                for argv, env in ((['--config-file', config], None),
                                  (['--debug'], url)):
                    result = cli_helpers.run_cli(
                        argv + ['db', 'version', '--verbose'],
                        connection_env=env)
                    self.assertHidden(password, result)


class ServerSecretChecks(SecretChecks):

    def connects(self, password):
        return True

    def assertConnected(self, result, argv):
        self.assertEqual(0, result.status, result)

    def hands_off(self, password):
        return self.connects(password)

    def assertHandedOff(self, result, argv):
        self.assertEqual(0, result.status, result)
        self.assertIn('given back to sqlalchemy-migrate' if '--undo' in argv
                      else 'handed off to alembic', result.out)

    def assertAlembicCurrent(self, result):
        self.assertEqual((0, '233_initial (head)\n'),
                         (result.status, result.out), result)

    def test_library_log_lines_and_tracebacks(self):
        # A library that logs the URL it was given and fails with it in its
        # message, as drivers do: what --debug shows stays masked.
        password = 'p@ss:w/rd%40 x'
        self.use_password(password)
        url = self.url_for(password)
        raw = self.url_for(password, encoded=False)
        logger = logging.getLogger('some.driver')

        def fail(*args, **kwargs):
            logger.warning('connecting to %s', url)
            try:
                raise ValueError('bad URL %s' % raw)
            except ValueError:
                logger.exception('driver failed on %s', password)
            raise RuntimeError('cannot use %s (password %s)'
                               % (url, password))

        self.useFixture(fixtures.MonkeyPatch('nova_schema.check.check',
                                             fail))
        for argv in (['db', 'check'], ['--debug', 'db', 'check']):
            result = self.cli(url, *argv)
            self.assertEqual(2, result.status)
            self.assertHidden(password, result)
        self.assertIn('Traceback', result.err)
        self.assertIn('connecting to ', result.err)


class TestSecretsSQLite(SecretChecks, command_base.CommandChecks,
                        base.DatabaseTestMixin,
                        test_fixtures.OpportunisticDBTestMixin,
                        testtools.TestCase):
    """SQLite refuses a URL with a password, and quotes the URL back."""

    def user(self):
        return 'nova'

    def connects(self, password):
        return True

    def use_password(self, password):
        pass

    def url_for(self, password, encoded=True, port=None, user='nova'):
        text = parse.quote(password, safe='') if encoded else password
        path = self.parts.database
        if port:
            path = '/nonexistent-%d/nova.sqlite' % os.getpid()
        return 'sqlite://%s:%s@/%s' % (user, text, path)

    def assertConnected(self, result, argv):
        self.assertEqual(2, result.status, result)
        self.assertIn('Invalid SQLite URL: sqlite://nova:***@//', result.err)

    assertHandedOff = assertConnected

    def hands_off(self, password):
        return False

    def assertAlembicCurrent(self, result):
        self.assertNotEqual(0, result.status, result)
        self.assertIn('FAILED: ', result.out + result.err)


class TestSecretsMySQL(ServerSecretChecks, command_base.CommandChecks,
                       base.DatabaseTestMixin,
                       test_fixtures.OpportunisticDBTestMixin,
                       testtools.TestCase):
    """A user of its own whose password is each of the nasty ones."""

    FIXTURE = test_fixtures.MySQLOpportunisticFixture

    def setUp(self):
        super().setUp()
        self.name = 'nsx_' + ''.join(random.choice(string.ascii_lowercase)
                                     for _ in range(8))
        for host in ('%', 'localhost'):
            self.execute("CREATE USER '%s'@'%s'" % (self.name, host),
                         "GRANT ALL ON `%s`.* TO '%s'@'%s'"
                         % (self.parts.database, self.name, host))
            self.addCleanup(self.execute,
                            "DROP USER '%s'@'%s'" % (self.name, host))

    def user(self):
        return self.name

    def connects(self, password):
        # NOTE: PyMySQL sends a password encoded in latin-1, which never
        # matches what the server hashed for a non-ASCII one.
        return password.isascii()

    def test_a_password_the_driver_cannot_send(self):
        """PyMySQL sends the password as latin-1: one line, which names
        neither the character it cannot send nor its position."""
        password = 'pässwörd€'
        url = self.url_for(password)
        result = self.cli(url, 'db', 'version')
        self.assertEqual(2, result.status, result)
        self.assertEqual(
            'nova-schema-manage: error: the database driver cannot send the '
            'password: it encodes it as latin-1, which lacks some of its '
            'characters\n', base.without_notes(result.err))
        debug = self.cli(url, '--debug', 'db', 'version')
        self.assertEqual(2, debug.status, debug)
        self.assertIn('Traceback', debug.err)
        self.assertIn('UnicodeEncodeError: the latin-1 codec cannot encode '
                      'the password (details hidden)', debug.err)
        [alembic] = self.run_plain_alembic([url])
        self.assertEqual(
            'FAILED: the database driver cannot send the password: it '
            'encodes it as latin-1, which lacks some of its characters\n',
            alembic.out)
        for output in (result.err, debug.err, alembic.out + alembic.err):
            self.assertNotIn('20ac', output)
            self.assertNotIn('position', output)

    def use_password(self, password):
        with self.engine.begin() as conn:
            for host in ('%', 'localhost'):
                conn.execute(sqlalchemy.text(
                    "ALTER USER '%s'@'%s' IDENTIFIED BY :password"
                    % (self.name, host)), {'password': password})


class TestSecretsPostgreSQL(ServerSecretChecks, command_base.CommandChecks,
                            base.DatabaseTestMixin,
                            test_fixtures.OpportunisticDBTestMixin,
                            testtools.TestCase):
    # NOTE: the local server trusts 127.0.0.1: any password connects.
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def user(self):
        return self.parts.username

    def use_password(self, password):
        pass
