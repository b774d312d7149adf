"""A migration session: the database lock, and a transaction where DDL has one.

sqlalchemy-migrate hands each script an Engine, and the script (through
sqlalchemy-migrate and SQLAlchemy) opens and commits its own transactions on
it. On PostgreSQL and SQLite, whose DDL is transactional, the session gives
the scripts an Engine bound to one connection whose commits and rollbacks are
no-ops, so everything they do lands in the session's single transaction,
which is committed or rolled back here, once. MySQL commits every DDL
statement on its own; there the scripts get the ordinary Engine and are made
resumable instead (see nova_schema.resumable).

The lock: PostgreSQL ``pg_try_advisory_xact_lock`` inside the transaction,
MySQL ``GET_LOCK`` on a connection held for the session, SQLite ``BEGIN
EXCLUSIVE``. Each waits at most ``lock_timeout`` seconds.
"""
import hashlib
import math
import time

import sqlalchemy
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool

from nova_schema import database
from nova_schema import exception

TRANSACTIONAL_DDL = ('postgresql', 'sqlite')
LOCK_NAME = 'nova_schema.migrate'
_POLL_SECONDS = 0.05


def _advisory_key(name):
    """A signed 64-bit key for PostgreSQL's advisory lock, stable per name."""
    digest = hashlib.sha256(name.encode()).digest()[:8]
    return int.from_bytes(digest, 'big', signed=True)


def _mysql_lock_name(engine):
    """GET_LOCK is server-wide: name it per database, within 64 characters."""
    name = '%s.%s' % (LOCK_NAME, engine.url.database)
    if len(name) > 64:
        name = LOCK_NAME + '.' + hashlib.sha1(name.encode()).hexdigest()[:32]
    return name


def _lock_timeout_error(engine, timeout):
    return exception.LockTimeout(
        'another db sync has held the migration lock on %s for more than '
        '%g s; try again later or raise --lock-timeout'
        % (database.describe(engine), timeout))


class Session(object):
    """Use as ``with Session(engine, timeout) as session:``.

    ``session.engine`` is what migration scripts are given; ``session.commit``
    makes their work permanent (a no-op on MySQL, where it already is).
    Leaving the block without committing rolls back.
    """

    def __init__(self, engine, lock_timeout):
        self.base_engine = engine
        self.lock_timeout = lock_timeout
        self.transactional = engine.name in TRANSACTIONAL_DDL
        self.engine = None
        self._raw = None
        self._lock_connection = None
        self._done = False

    def __enter__(self):
        try:
            if self.transactional:
                self._begin_held_transaction()
            else:
                self._take_mysql_lock()
                # NOTE: the scripts run on the connection that holds the
                # lock: one connection per run, not two.
                self.engine = self._engine_on(
                    self._lock_connection.connection.dbapi_connection)
        except exception.NovaSchemaError:
            self._close()
            raise
        except database.CONNECTION_ERRORS + (sqlalchemy.exc.DBAPIError,) as e:
            self._close()
            raise database.unreachable(self.base_engine, e)
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._done:
            self.rollback()
        self._close()
        return False

    def connect(self):
        """A connection inside the session (its transaction, if it has one)."""
        return self.engine.connect()

    def commit(self):
        if self.transactional:
            if self._is_sqlite:
                self._raw_execute('COMMIT')
            else:
                self._dbapi.commit()
        self._done = True

    def rollback(self):
        if self.transactional and self._raw is not None:
            try:
                if self._is_sqlite:
                    self._raw_execute('ROLLBACK')
                else:
                    self._dbapi.rollback()
            except Exception:  # noqa: the connection may be gone already
                pass
        self._done = True

    # -- transactional backends ---------------------------------------------

    @property
    def _is_sqlite(self):
        return self.base_engine.name == 'sqlite'

    def _raw_execute(self, sql):
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _begin_held_transaction(self):
        self._raw = self.base_engine.raw_connection()
        self._dbapi = self._raw.dbapi_connection
        if self._is_sqlite:
            self._saved_isolation = self._dbapi.isolation_level
            # NOTE: pysqlite would otherwise commit before DDL on its own;
            # with isolation_level None it leaves BEGIN/COMMIT to us.
            self._dbapi.isolation_level = None
            self._raw_execute('PRAGMA busy_timeout = %d'
                              % int(self.lock_timeout * 1000))
            try:
                self._raw_execute('BEGIN EXCLUSIVE')
            except self._dbapi_module().OperationalError as error:
                if 'locked' in str(error) or 'busy' in str(error):
                    raise _lock_timeout_error(self.base_engine,
                                              self.lock_timeout)
                raise
        else:
            self._take_postgresql_lock()
        self.engine = self._held_engine()

    def _dbapi_module(self):
        return self.base_engine.dialect.dbapi

    def _take_postgresql_lock(self):
        key = _advisory_key(LOCK_NAME)
        deadline = time.monotonic() + self.lock_timeout
        cursor = self._dbapi.cursor()
        try:
            while True:
                cursor.execute('SELECT pg_try_advisory_xact_lock(%s)', (key,))
                if cursor.fetchone()[0]:
                    return
                if time.monotonic() >= deadline:
                    raise _lock_timeout_error(self.base_engine,
                                              self.lock_timeout)
                time.sleep(_POLL_SECONDS)
        finally:
            cursor.close()

    def _engine_on(self, dbapi_connection):
        """An Engine whose one connection is ``dbapi_connection``."""
        options = {}
        if self.base_engine.name == 'postgresql':
            options = {'use_native_hstore': False}
        return sqlalchemy.create_engine(
            self.base_engine.url, creator=lambda: dbapi_connection,
            poolclass=pool.StaticPool, **options)

    def _held_engine(self):
        engine = self._engine_on(self._dbapi)

        def no_op(dbapi_connection):
            pass

        # NOTE: every commit and rollback SQLAlchemy issues on this engine,
        # including the pool's reset on return, goes through these two.
        engine.dialect.do_commit = no_op
        engine.dialect.do_rollback = no_op
        return engine

    # -- MySQL ----------------------------------------------------------------

    def _take_mysql_lock(self):
        self._lock_connection = database.connect(self.base_engine)
        name = _mysql_lock_name(self.base_engine)
        got = self._lock_connection.execute(
            sqlalchemy.text('SELECT GET_LOCK(:name, :timeout)'),
            {'name': name, 'timeout': math.ceil(self.lock_timeout)}).scalar()
        if got != 1:
            raise _lock_timeout_error(self.base_engine, self.lock_timeout)
        self._lock_name = name

    def _close(self):
        if self._lock_connection is not None:
            try:
                self._lock_connection.execute(
                    sqlalchemy.text('SELECT RELEASE_LOCK(:name)'),
                    {'name': getattr(self, '_lock_name', '')})
            except sa_exc.SQLAlchemyError:
                pass
            self._lock_connection.close()
            self._lock_connection = None
        if self.engine is not None:
            self.engine.dispose(close=False)
            self.engine = None
        if self._raw is not None:
            if self._is_sqlite:
                self._dbapi.isolation_level = self._saved_isolation
            self._raw.close()
            self._raw = None
