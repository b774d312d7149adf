"""The interface every backend module implements, and what they share."""
import copy
import re
import threading

import sqlalchemy
from sqlalchemy import pool

from nova_schema import database
from nova_schema import exception
from nova_schema import introspect

LOCK_POLL_SECONDS = 0.05

# A DDL or DML statement's table: what a statement that waited, waited for.
_STATEMENT_TABLE = re.compile(
    r'^\s*(?:DROP\s+TABLE|ALTER\s+TABLE|CREATE\s+TABLE|UPDATE|INSERT\s+INTO|'
    r'DELETE\s+FROM|CREATE\s+(?:UNIQUE\s+)?INDEX\s+\S+\s+ON)\s+[`"]?(\w+)',
    re.IGNORECASE)


def statement_table(statement):
    match = _STATEMENT_TABLE.match(statement or '')
    return match.group(1) if match else None


class Backend(object):
    """What one backend does its own way; one instance per engine."""

    name = None
    # DDL can be rolled back: a whole run is one transaction.
    transactional_ddl = False
    # oslo.db's db_sync may check table collations (MySQL only).
    oslo_sanity_check = False
    # sqlalchemy-migrate alters a column by rebuilding the whole table from
    # its reflection (SQLite), not with an ALTER in place.
    alter_rebuilds_table = False
    server_version_sql = None

    def __init__(self, engine):
        self.engine = engine

    # What driver errors mean (see database.explain): error number, SQLSTATE
    # or message fragment -> database.PERMISSION, NO_TABLE or
    # LOST_CONNECTION.
    error_numbers = {}
    sqlstates = {}
    error_messages = ()

    def prepare_engine(self):
        """Set up the connections ``self.engine`` will make (once)."""

    @staticmethod
    def in_memory(url):
        """``url`` names a database that is gone once disconnected."""
        return False

    @staticmethod
    def local_file(url):
        """The file ``url``'s database lives in, if it is a file."""
        return None

    def session(self, lock_wait, waiter=None):
        """A migration session (see ``Session``); not yet open."""
        return self.Session(self, lock_wait, waiter)

    # -- errors ---------------------------------------------------------------

    def is_lock_wait_timeout(self, error):
        """``error`` (a DBAPI error) ended a bounded wait for a lock."""
        return False

    def transient(self, error):
        """What a cluster error that a repeat may pass is (a phrase), for
        ``error`` (a DBAPI error), or None."""
        return None

    def retry_reads(self, read):
        """``read()``, repeated after a ``transient`` error (reads only)."""
        return read()

    def is_cancelled(self, error):
        """``error`` is what a statement cancelled by ``Session.cancel``
        raises."""
        return False

    # -- who holds a lock -----------------------------------------------------

    def table_lock_holders(self, connection, tables):
        """Descriptions of the sessions that may hold ``tables`` locked."""
        return []

    def migration_lock_holders(self, connection):
        """Descriptions of the sessions holding the migration lock."""
        return []

    # -- schema ---------------------------------------------------------------

    def normalize_schema(self, schema):
        """Even out what differs between server versions, not schemas."""
        return schema

    def table_options(self, connection, table):
        """Table options db check compares (None: the backend has none)."""
        return None

    def reflected_columns(self, connection, table):
        """``table``'s columns as SQLAlchemy's ``Inspector.get_columns``
        gives them (``NoSuchTableError`` if there is no such table)."""
        columns = sqlalchemy.inspect(connection).get_columns(table)
        if not columns:
            # NOTE: SQLite's Inspector returns no columns for no table.
            raise sqlalchemy.exc.NoSuchTableError(table)
        return columns

    def describe_tables(self, connection, tables):
        """``introspect.describe_schema`` of those of ``tables`` that
        exist (the pre-flight check's view of them)."""
        return introspect.describe_schema(connection, self, only=set(tables))

    # -- the baseline as alembic's initial revision rebuilds it ---------------

    # The baseline made foreign keys here.
    legacy_foreign_keys = True

    def legacy_foreign_key_name(self, havana_name):
        """The name the baseline gave a foreign key: Havana's, or None
        where it let the server name it."""
        return havana_name

    def legacy_charset_statements(self, version_table):
        """What the baseline ran once its base tables were made, before the
        shadow tables (which take the database's default character set)."""
        return []

    # -- instant ADD COLUMN (nova_schema.strategy) ----------------------------

    # What makes an ALTER instant or fail, appended to each instant ALTER.
    instant_clause = ''

    def instant_unavailable(self, connection, tables):
        """Why ``tables`` cannot take an instant ADD COLUMN here (a phrase),
        or None when they can."""
        return 'the %s backend has no instant ADD COLUMN' % self.name

    def instant_add_column(self, dialect, table, column, default):
        """The statements adding ``column`` instantly, every existing row
        holding ``default`` and no server default left behind."""
        quote = dialect.identifier_preparer.quote
        literal = "'%s'" % str(default).replace("'", "''")
        return ['ALTER TABLE %s ADD COLUMN %s %s DEFAULT %s%s' % (
            quote(table), quote(column.name),
            column.type.compile(dialect=dialect), literal,
            self.instant_clause)] + self.drop_server_default(
                dialect, table, column.name)

    def drop_server_default(self, dialect, table, column):
        quote = dialect.identifier_preparer.quote
        return ['ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT%s' % (
            quote(table), quote(column), self.instant_clause)]

    def dependents(self, connection, table, column, managed):
        """Views and other tables' foreign keys that depend on ``table``
        (or its ``column``), as phrases; tables in ``managed`` are not
        counted: their foreign keys are part of the schema."""
        return []

    def dependents_of(self, connection, targets, managed):
        """``dependents`` of each ``(table, column)`` of ``targets``, as a
        dict by target."""
        return {(table, column): self.dependents(connection, table, column,
                                                 managed)
                for table, column in targets}

    def step_refusal(self, connection, step_plan, keyless_tables):
        """Why this server must not run ``step_plan`` at all, or None
        (``keyless_tables``: the tables it creates without a primary
        key)."""
        return None

    # -- filling a new column (the classic strategy) ------------------------

    def fills_in_batches(self, bind):
        """Whether a new column's default is written in batches here (see
        ``fill``) rather than by the one UPDATE of Nova's."""
        return False

    def fill_refusal(self, connection, tables):
        """Why the classic strategy's fill of ``tables`` cannot finish
        here (a phrase), or None."""
        return None

    def fill(self, bind, table, column, value):
        """Write ``value`` into ``table.column`` wherever it is NULL, in
        committed batches (only where ``fills_in_batches``)."""
        raise NotImplementedError

    def peer_urls(self):
        """Other servers holding the same database (a cluster's members),
        to read its state back from when this one is lost."""
        return []

    def table_estimates(self, connection, tables):
        """The server's own estimates of each of ``tables``' rows and bytes
        of data, without a scan: ``{table: (rows, bytes)}``, either None
        where it has none."""
        return {table: (None, None) for table in tables}

    def count_rows(self, connection, table, column=None):
        """Rows of ``table``; with ``column``, rows where it has a value."""
        quote = connection.dialect.identifier_preparer.quote
        what = 'COUNT(%s)' % quote(column) if column else 'COUNT(*)'
        return connection.execute(sqlalchemy.text(
            'SELECT %s FROM %s' % (what, quote(table)))).scalar()


class Session(object):
    """One migration run's hold on the database.

    Use as ``with backend.session(lock_wait, waiter) as session:``.
    Entering takes the migration lock, waiting for another db sync as long
    as ``waiter`` (a ``waiting.Waiter``) allows, and bounds every later
    wait for a table lock by ``lock_wait``: a statement that waits longer
    fails, and the caller abandons the try and makes another.
    ``session.engine`` is what migration scripts are given; ``commit``
    makes their work permanent; leaving the block without committing rolls
    back. ``cancel`` may be
    called from any thread, at any time: it stops the statement in flight.
    """

    def __init__(self, backend, lock_wait, waiter=None):
        self.backend = backend
        self.base_engine = backend.engine
        self.lock_wait = lock_wait
        self.waiter = waiter
        self.transactional = backend.transactional_ddl
        self.engine = None
        self._done = False
        self._open_now = False
        self._guard = threading.Lock()

    def __enter__(self):
        try:
            self._open()
        except BaseException as error:
            self._close_quietly()
            if isinstance(error, database.CONNECTION_ERRORS +
                          database.DBAPI_ERRORS):
                raise database.unreachable(self.base_engine, error)
            raise
        with self._guard:
            self._open_now = True
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._done:
            self.rollback()
        self._close_quietly()
        return False

    def connect(self):
        """A connection inside the session (its transaction, if any)."""
        return self.engine.connect()

    def commit(self):
        self._commit()
        self._done = True

    def rollback(self):
        # NOTE: after a lost connection or a cancelled statement the
        # rollback itself may fail; the error that ended the run is the one
        # to report, never this one.
        try:
            self._rollback()
        except Exception:  # noqa: see above
            pass
        self._done = True

    def cancel(self):
        """Stop the statement in flight, from any thread; never raises."""
        with self._guard:
            if not self._open_now:
                return
            try:
                self._cancel()
            except Exception:  # noqa: the connection may be gone already
                pass

    def _close_quietly(self):
        with self._guard:
            self._open_now = False
        try:
            self._close()
        except Exception:  # noqa: never mask the error that ended the run
            pass
        if self.engine is not None:
            self.engine.dispose(close=False)
            self.engine = None

    def lock_busy(self):
        """The ``LockBusy`` of the migration lock, naming its holders."""
        try:
            with self.base_engine.connect() as connection:
                holders = self.backend.migration_lock_holders(connection)
        except Exception:  # noqa: naming the holder is a courtesy
            holders = []
        return exception.LockBusy('the migration lock', holders,
                                  'another db sync')

    def wait_for_migration_lock(self, take, poll=LOCK_POLL_SECONDS):
        """Call ``take()`` until it returns true, as long as the waiter
        allows. Waiting for another db sync holds nobody up."""
        while not take():
            if self.waiter is None:
                raise self.lock_busy()
            self.waiter.still_waiting(self.lock_busy)
            if poll:
                self.waiter.pause(poll)

    # -- for each backend -----------------------------------------------------

    def _open(self):
        raise NotImplementedError

    def _commit(self):
        raise NotImplementedError

    def _rollback(self):
        raise NotImplementedError

    def _cancel(self):
        raise NotImplementedError

    def _close(self):
        raise NotImplementedError


def engine_on(base_engine, dbapi_connection, transactional=False):
    """An Engine whose one connection is ``dbapi_connection``.

    The connection came from ``base_engine``, whose dialect is initialized
    and whose connect handlers have set the connection up; the Engine
    shares that dialect. ``create_engine`` would initialize a dialect of
    its own over the connection on every run (SET NAMES, the version,
    database, isolation level, sql_mode and case rules on MySQL; the
    version, schema, isolation level and string quoting on PostgreSQL).

    Giving the connection back to this Engine's pool does nothing: the
    pool's usual rollback would end nothing of the scripts' (SQLAlchemy
    commits each of their DML and DDL statements, and the session ends
    the connection's transaction when it closes), and on MySQL it was 21
    of the 78 round trips of an instant 233 upgrade.

    With ``transactional``, every commit and rollback SQLAlchemy issues on
    it is a no-op too, so everything the scripts do lands in the session's
    one transaction; the dialect is then a copy, so that ``base_engine``'s
    own commits stay real.

    NOTE: on MySQL every commit is sent, even after a DDL statement (which
    has committed itself): skipping it when the server's last reply said no
    transaction was open lost alembic's version row on MariaDB, which
    reported none open right after that INSERT.
    """
    dialect = base_engine.dialect
    if transactional:
        dialect = copy.copy(dialect)

        def no_op(dbapi_connection):
            pass

        dialect.do_commit = no_op
        dialect.do_rollback = no_op
    return sqlalchemy.engine.Engine(
        pool.StaticPool(lambda: dbapi_connection, dialect=dialect,
                        reset_on_return=None),
        dialect, base_engine.url)


def raw_execute(dbapi_connection, sql, parameters=None):
    """Run ``sql`` on a DBAPI connection, bypassing SQLAlchemy's events.

    For the session's own statements (locks, timeouts), which are not part
    of any migration and must not appear in what a step is said to send.
    """
    cursor = dbapi_connection.cursor()
    try:
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description else None
    finally:
        cursor.close()
