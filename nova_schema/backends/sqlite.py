"""SQLite: transactional DDL, one writer per file, no server to ask.

The migration lock is the file's own: ``BEGIN EXCLUSIVE``, which waits up
to the busy timeout. While it waits, SQLite also holds new readers back
(its PENDING lock), so the wait is bounded by ``lock_wait`` like a table
lock on the other backends, and retried by the caller.
"""
import fcntl
import os
import re
import struct

import sqlalchemy

from nova_schema.backends import base
from nova_schema import database
from nova_schema import exception

# SQLite's lock bytes in the database file (os_unix.c): PENDING, RESERVED,
# then the SHARED range.
_LOCK_START = 0x40000000
_LOCK_LENGTH = 2 + 510
# struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid (padded).
_FLOCK = 'hhqqi4x'


def _lock_holder(path):
    """The pid of a process holding a SQLite lock on ``path``, or None.

    POSIX record locks are per process: a lock this process holds is never
    reported, only other programs' ones.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, _LOCK_START,
                            _LOCK_LENGTH, 0)
        answer = fcntl.fcntl(descriptor, fcntl.F_GETLK, query)
        kind, _, _, _, pid = struct.unpack(_FLOCK, answer)
    except (OSError, struct.error):
        return None
    finally:
        os.close(descriptor)
    return None if kind == fcntl.F_UNLCK else pid


def _command_line(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as cmdline:
            words = cmdline.read().split(b'\0')
    except OSError:
        return 'unknown program'
    text = ' '.join(word.decode('utf-8', 'replace') for word in words if word)
    return text[:80] or 'unknown program'


class Session(base.Session):

    def _open(self):
        self._raw = self.base_engine.raw_connection()
        self._dbapi = self._raw.dbapi_connection
        self._saved_isolation = self._dbapi.isolation_level
        # NOTE: pysqlite would otherwise commit before DDL on its own; with
        # isolation_level None it leaves BEGIN/COMMIT to us.
        self._dbapi.isolation_level = None
        # NOTE: while BEGIN EXCLUSIVE waits, SQLite keeps new readers out
        # too: this wait is bounded like a table lock's, and retried.
        wait = self.lock_wait
        if self.waiter is not None:
            wait = min(wait, max(self.waiter.remaining(), 0.05))
        base.raw_execute(self._dbapi, 'PRAGMA busy_timeout = %d'
                         % int(wait * 1000))
        try:
            base.raw_execute(self._dbapi, 'BEGIN EXCLUSIVE')
        except self.base_engine.dialect.dbapi.OperationalError as error:
            if not self.backend.is_lock_wait_timeout(error):
                raise
            raise exception.LockBusy(
                'the database file', self.backend.file_lock_holders(),
                'another program or db sync holding a transaction on it')
        self.engine = base.engine_on(self.base_engine, self._dbapi,
                                     transactional=True)

    def _commit(self):
        base.raw_execute(self._dbapi, 'COMMIT')

    def _rollback(self):
        if getattr(self, '_dbapi', None) is not None:
            base.raw_execute(self._dbapi, 'ROLLBACK')

    def _cancel(self):
        self._dbapi.interrupt()

    def _close(self):
        raw = getattr(self, '_raw', None)
        if raw is not None:
            self._raw = None
            self._dbapi.isolation_level = self._saved_isolation
            raw.close()


class Backend(base.Backend):
    name = 'sqlite'
    transactional_ddl = True
    alter_rebuilds_table = True
    error_messages = (
        ('attempt to write a readonly database', database.PERMISSION),
        ('no such table', database.NO_TABLE),
    )
    server_version_sql = 'SELECT sqlite_version()'
    Session = Session
    # NOTE: Nova only added foreign keys on MySQL and PostgreSQL.
    legacy_foreign_keys = False

    @staticmethod
    def local_file(url):
        return database.sqlite_path(url)

    @staticmethod
    def in_memory(url):
        return database.sqlite_path(url) is None

    def instant_unavailable(self, connection, tables):
        return ('SQLite has no instant path: its ADD COLUMN keeps the '
                'default in the schema, and removing it would turn every old '
                "row's value into NULL")

    def table_estimates(self, connection, tables):
        return {table: (self._rowid_span(connection, table), None)
                for table in tables}

    def _rowid_span(self, connection, table):
        """The span of the table's rowids (two index lookups), an upper
        bound of its rows: SQLite keeps no row statistics unless ANALYZE
        ran, and counting is a scan of the whole file's table (1.8 s of a
        600,000-row shadow_compute_nodes downgrade).

        NOTE: MIN and MAX each in a subquery of its own: SQLite looks up a
        lone MIN() or MAX() in the rowid's b-tree, but scans the whole
        table for an expression holding both (0.16 s at 200,000 rows).
        """
        quote = connection.dialect.identifier_preparer.quote
        try:
            span = connection.execute(sqlalchemy.text(
                'SELECT (SELECT MAX(rowid) FROM {0}) - '
                '(SELECT MIN(rowid) FROM {0}) + 1'.format(
                    quote(table)))).scalar()
        except sqlalchemy.exc.DBAPIError:
            # NOTE: a WITHOUT ROWID table, or a column named rowid.
            return None
        return span or None

    def is_lock_wait_timeout(self, error):
        text = str(error)
        return 'database is locked' in text or 'database is busy' in text

    def is_cancelled(self, error):
        return 'interrupted' in str(error)

    def dependents(self, connection, table, column, managed):
        words = [re.compile(r'\b%s\b' % re.escape(word), re.IGNORECASE)
                 for word in (table, column) if word]
        found = ['view %s' % name for name, sql in connection.execute(
            sqlalchemy.text("SELECT name, sql FROM sqlite_master "
                            "WHERE type = 'view' ORDER BY name"))
                 if all(word.search(sql or '') for word in words)]
        if column is None:
            found += ['foreign key of table %s' % source
                      for source, target in connection.execute(
                          sqlalchemy.text(
                              'SELECT DISTINCT m.name, f."table" '
                              'FROM sqlite_master m '
                              'JOIN pragma_foreign_key_list(m.name) f '
                              "WHERE m.type = 'table' ORDER BY m.name"))
                      if target.lower() == table.lower() and
                      source not in managed]
        return found

    def file_lock_holders(self):
        path = self.engine.url.database
        if not path or path == ':memory:' or not os.path.exists(path):
            return []
        pid = _lock_holder(path)
        if pid is None:
            return []
        return ['process %d (%s)' % (pid, _command_line(pid))]
