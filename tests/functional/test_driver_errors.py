"""Errors that are not bugs get their own line, with no "unexpected" prefix.

A missing table (on every backend), a permission denied to the database user
(a MySQL user without ALTER or DROP, a PostgreSQL role that does not own the
tables), and a connection lost in the middle of a step (the server kills the
command's own connection after its first statement).
"""
import random
import string

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
from sqlalchemy import event
import testtools

from nova_schema import database
from tests import base
from tests import cli_helpers
from tests.functional import command_base

PROG = 'nova-schema-manage: error: '
UP = '232 -> 233 %s' % command_base.STEP_233
DOWN = '233 -> 232 %s' % command_base.STEP_233


def _random(prefix):
    return prefix + ''.join(random.choice(string.ascii_lowercase)
                            for _ in range(8))


class DriverErrorChecks(command_base.CommandChecks):

    def cli_as(self, url, *argv):
        """The command line on ``url``, its engines disposed afterwards."""
        return cli_helpers.run_cli(['--database-connection', url]
                                   + list(argv))

    def assertOneLine(self, result, line, out=''):
        self.assertEqual((2, out, PROG + line + '\n'), result, result)

    def assertFailedStep(self, result, title, detail, outcome):
        """Exit 2; the step announced on stdout; one line on stderr."""
        self.assertEqual(2, result.status, result)
        self.assertEqual('%s ... failed\n' % title, result.out)
        lines = result.err.splitlines()
        self.assertEqual(1, len(lines), result.err)
        self.assertTrue(lines[0].startswith(
            '%s%s failed: %s' % (PROG, title, detail)), lines[0])
        self.assertTrue(lines[0].endswith('; ' + outcome), lines[0])

    def outcome(self, version):
        if self.backend == 'mysql':
            # NOTE: a cut downgrade is finished by db sync to its target.
            again = 'db sync again' if version == 232 else 'db sync 232 again'
            return ('the database is still at %d; once the cause is fixed, '
                    '%s finishes the step' % (version, again))
        return 'nothing was changed (the whole run was rolled back)'

    # -- a missing table -------------------------------------------------

    def test_missing_table(self):
        self.build(233)
        self.execute('DROP TABLE compute_nodes')
        before = self.snapshot()
        result = self.run_cli('db', 'sync', '232')
        # NOTE: the pre-flight check finds it before the step starts.
        self.assertEqual(
            (2, '', '%s233 -> 232 refused before any change: table '
             'compute_nodes is missing (the tables it changes are not as '
             'version 233 has them; 1 difference, db check lists them)\n'
             % PROG),
            result)
        self.assertEqual(before, self.snapshot())


class ServerChecks(object):
    """What only a database server does: lose a connection, deny a user."""

    def test_connection_lost_in_a_step(self):
        self.build(232)
        killed = []

        def kill_after_first_write(conn, cursor, statement, *args):
            if not killed and statement.lstrip().startswith('DROP'):
                killed.append(' '.join(statement.split()))
                self.kill(conn.connection.dbapi_connection)

        event.listen(sqlalchemy.engine.Engine, 'after_cursor_execute',
                     kill_after_first_write)
        self.addCleanup(event.remove, sqlalchemy.engine.Engine,
                        'after_cursor_execute', kill_after_first_write)
        result = self.run_cli('db', 'sync')
        self.assertEqual(['DROP TABLE compute_node_stats'], killed)
        self.assertFailedStep(result, UP, 'lost connection to the database '
                              'server (', self.outcome(232))

    def restricted_url(self, grants):
        """The database's URL for a new user that has only ``grants``."""
        user, password = _random('nsro_'), _random('pw_')
        self.secrets = (password,)
        self.create_user(user, password, grants)
        return self.engine.url.set(username=user, password=password) \
            .render_as_string(hide_password=False), user

    def assertNoLeak(self, result):
        for secret in self.secrets:
            self.assertNotIn(secret, result.out + result.err)
        self.assertNotIn('unexpected', result.err)
        self.assertNotIn('Traceback', result.err)


class TestDriverErrorsSQLite(DriverErrorChecks, base.DatabaseTestMixin,
                             test_fixtures.OpportunisticDBTestMixin,
                             testtools.TestCase):
    pass


class TestDriverErrorsMySQL(DriverErrorChecks, ServerChecks,
                            base.DatabaseTestMixin,
                            test_fixtures.OpportunisticDBTestMixin,
                            testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture

    def kill(self, dbapi_connection):
        with self.engine.connect() as admin:
            admin.execute(sqlalchemy.text(
                'KILL %d' % dbapi_connection.thread_id()))

    def create_user(self, user, password, grants):
        name = self.engine.url.database
        for host in ('%', 'localhost'):
            self.execute("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'"
                         % (user, host, password),
                         "GRANT %s ON `%s`.* TO '%s'@'%s'"
                         % (grants, name, user, host))
            self.addCleanup(self.execute,
                            "DROP USER '%s'@'%s'" % (user, host))

    def test_user_without_alter_and_drop(self):
        self.build(233)
        url, user = self.restricted_url(
            'SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX, REFERENCES')
        before = self.snapshot()
        result = self.cli_as(url, 'db', 'sync', '232')
        self.assertNoLeak(result)
        self.assertFailedStep(
            result, DOWN, "permission denied: ALTER command denied to user "
            "'%s'@" % user, self.outcome(233))
        self.assertIn('compute_nodes', result.err)
        self.assertEqual(before, self.snapshot())


class TestDriverErrorsPostgreSQL(DriverErrorChecks, ServerChecks,
                                 base.DatabaseTestMixin,
                                 test_fixtures.OpportunisticDBTestMixin,
                                 testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def kill(self, dbapi_connection):
        with self.engine.connect() as admin:
            admin.execute(sqlalchemy.text('SELECT pg_terminate_backend(:pid)'),
                          {'pid': dbapi_connection.get_backend_pid()})

    def create_user(self, user, password, grants):
        # NOTE: needs CREATEROLE (tools/test-setup.sh grants it).
        name = self.engine.url.database
        self.execute("CREATE ROLE %s LOGIN PASSWORD '%s'" % (user, password),
                     'GRANT CONNECT ON DATABASE %s TO %s' % (name, user),
                     'GRANT USAGE ON SCHEMA public TO %s' % user)
        if grants:
            self.execute('GRANT %s ON ALL TABLES IN SCHEMA public TO %s'
                         % (grants, user))
        self.addCleanup(
            self.execute,
            'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %s' % user,
            'REVOKE ALL ON SCHEMA public FROM %s' % user,
            'REVOKE ALL ON DATABASE %s FROM %s' % (name, user),
            'DROP ROLE %s' % user)

    def test_role_that_does_not_own_the_tables(self):
        self.build(233)
        url, _ = self.restricted_url('SELECT, INSERT, UPDATE, DELETE')
        before = self.snapshot()
        result = self.cli_as(url, 'db', 'sync', '232')
        self.assertNoLeak(result)
        self.assertOneLine(
            result, '%s failed: permission denied: must be owner of table '
            'compute_nodes; %s' % (DOWN, self.outcome(233)),
            out=DOWN + ' ... failed\n')
        self.assertEqual(before, self.snapshot())

    def test_role_that_cannot_read_the_version(self):
        self.build(233)
        url, _ = self.restricted_url(None)
        masked = sqlalchemy.engine.make_url(url).render_as_string(
            hide_password=True)
        result = self.cli_as(url, 'db', 'sync')
        self.assertNoLeak(result)
        self.assertOneLine(result,
                           'permission denied for table migrate_version')
        result = self.cli_as(url, 'db', 'version')
        self.assertNoLeak(result)
        self.assertOneLine(result, 'cannot use database %s: permission '
                           'denied for table migrate_version' % masked)

    def test_missing_table_in_a_statement(self):
        # psycopg2's SQLSTATE, from a real server, under oslo.db's wrapper.
        with self.engine.connect() as conn:
            error = self.assertRaises(
                db_exc.DBError, conn.execute,
                sqlalchemy.text('SELECT * FROM no_such_table'))
        self.assertEqual('table no_such_table does not exist',
                         database.explain(error))
