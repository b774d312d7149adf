"""An API call given a URL closes every connection it opened before it returns.

Seen from the server: after each call, no session of this database is left
(PostgreSQL's pg_stat_activity, MySQL's PROCESSLIST), and on PostgreSQL,
which refuses to drop a database someone is connected to, DROP DATABASE
succeeds at once. An Engine the caller passes in stays the caller's.
"""
import gc

import sqlalchemy
from sqlalchemy import pool

from nova_schema import api
from nova_schema import exception
from tests.functional import sync_support


class EngineChecks(object):

    def setUp(self):
        super().setUp()
        # NOTE: only an explicit dispose may close the connections: with the
        # cyclic garbage collector running, an engine left behind could be
        # collected (and its connections closed) at any moment.
        gc.disable()
        self.addCleanup(gc.enable)
        # NOTE: a database of its own, not the fixture's, to which oslo.db's
        # engine of the test may hold a connection.
        database = self.enter(self.database())
        database.dispose()
        self.url = database.url
        self.name = database.engine.url.database

    def admin(self):
        """A connection to the provisioning database, never to the test's."""
        return self._backend.engine.connect().execution_options(
            isolation_level='AUTOCOMMIT')

    def sessions(self):
        with self.admin() as conn:
            return conn.execute(sqlalchemy.text(self.SESSIONS),
                                {'name': self.name}).scalar()

    def assertSessions(self, count, label):
        # NOTE: a server process leaves the list a moment after its client
        # closed the connection; a connection left open never does.
        sync_support.wait_until(lambda: self.sessions() == count, 5,
                                'not %d sessions %s' % (count, label))

    def assertNoSession(self, label):
        self.assertSessions(0, 'after ' + label)

    def test_sessions_are_seen(self):
        # The check itself: a connection that is open is counted.
        engine = sqlalchemy.create_engine(self.url, poolclass=pool.NullPool)
        with engine.connect():
            self.assertSessions(1, 'while connected')
        self.assertNoSession('after close')

    def test_no_connection_outlives_a_call(self):
        url = self.url
        calls = [
            ('db_sync', lambda: api.db_sync(url)),
            ('db_version', lambda: api.db_version(url)),
            ('db_check', lambda: api.db_check(url)),
            ('db_history', lambda: api.db_history(url)),
            ('db_info', lambda: api.db_info(url)),
            ('db_sync --dry-run', lambda: api.db_sync(url, 232,
                                                      dry_run=True)),
            ('db_sync 232', lambda: api.db_sync(url, 232)),
            ('refused db_version_control', lambda: self.assertRaises(
                exception.InvalidVersion, api.db_version_control, url, 233)),
            ('failed step', self.failed_step),
        ]
        for label, call in calls:
            call()
            self.assertNoSession(label)
        self.drop_database()

    def failed_step(self):
        with sync_support.fault_after(1):
            self.assertRaises(exception.MigrationFailed, api.db_sync,
                              self.url)

    def test_engine_of_the_caller_is_not_disposed(self):
        engine = sqlalchemy.create_engine(self.url)
        self.addCleanup(engine.dispose)
        api.db_sync(engine)
        self.assertEqual(233, api.db_version(engine))
        # Its pool still holds its connection, open.
        self.assertEqual(1, engine.pool.checkedin())
        self.assertSessions(1, 'after the calls')
        engine.dispose()
        self.assertNoSession('after the caller disposed of it')


class TestApiEnginesPostgreSQL(EngineChecks,
                               sync_support.PostgreSQLTestCase):

    SESSIONS = 'SELECT count(*) FROM pg_stat_activity WHERE datname = :name'

    def drop_database(self):
        # NOTE: refused ("is being accessed by other users") while any
        # session is connected to it.
        with self.admin() as conn:
            conn.execute(sqlalchemy.text('DROP DATABASE %s' % self.name))


class TestApiEnginesMySQL(EngineChecks, sync_support.MySQLTestCase):

    SESSIONS = ('SELECT COUNT(*) FROM information_schema.PROCESSLIST '
                'WHERE DB = :name')

    def drop_database(self):
        with self.admin() as conn:
            conn.execute(sqlalchemy.text('SET SESSION lock_wait_timeout = 5'))
            conn.execute(sqlalchemy.text('DROP DATABASE `%s`' % self.name))

    def test_the_run_sends_no_rollback_of_its_own(self):
        """The scripts' Engine gives its connection back without the pool's
        rollback (21 of them per 233 upgrade before), and still commits
        after every statement SQLAlchemy would (7: the DDL statements and
        the version row's UPDATE); the run's connection goes back to the
        caller's pool with autocommit off and its lock timeouts at the
        server's defaults."""
        api.db_sync(self.url, 232)
        engine = sqlalchemy.create_engine(self.url)
        self.addCleanup(engine.dispose)

        def session_state():
            with engine.connect() as conn:
                counts = dict(conn.exec_driver_sql(
                    "SHOW SESSION STATUS WHERE Variable_name IN "
                    "('Com_commit', 'Com_rollback')").all())
                timeouts = conn.exec_driver_sql(
                    'SELECT @@SESSION.lock_wait_timeout = '
                    '@@GLOBAL.lock_wait_timeout, '
                    '@@SESSION.innodb_lock_wait_timeout = '
                    '@@GLOBAL.innodb_lock_wait_timeout').one()
                return (conn.exec_driver_sql(
                    'SELECT CONNECTION_ID()').scalar(),
                    conn.connection.dbapi_connection.get_autocommit(),
                    tuple(timeouts)), {name: int(value)
                                       for name, value in counts.items()}

        before, counts = session_state()
        self.assertEqual((False, (1, 1)), before[1:])
        api.db_sync(engine, strategy='instant')
        self.assertEqual(233, api.db_version(self.url))
        after, counts_after = session_state()
        self.assertEqual(before, after)
        # NOTE: rollbacks: the pool's, as each connection went back to the
        # caller's pool (the one that read the counts, and the run's).
        self.assertEqual({'Com_commit': 7, 'Com_rollback': 2},
                         {name: counts_after[name] - counts[name]
                          for name in counts})
