"""MySQL and MariaDB: DDL commits itself; named locks; KILL QUERY.

Each DDL statement commits on its own, so a run cannot be rolled back: the
scripts get an Engine on the connection that holds the migration lock and
every step is made resumable instead (``nova_schema.resumable``). The
migration lock is ``GET_LOCK``, named per database. ``lock_wait_timeout``
bounds a DDL statement's wait for the table's metadata lock, and
``innodb_lock_wait_timeout`` an UPDATE's wait for row locks (both error
1205); the caller retries the step, which then does only what is missing.
"""
import collections
import hashlib
import math
import re

import sqlalchemy

from nova_schema.backends import base
from nova_schema.backends import galera
from nova_schema import database
from nova_schema import introspect

LOCK_NAME = 'nova_schema.migrate'
LEASE_POLL_SECONDS = 0.2

# ER_LOCK_WAIT_TIMEOUT, ER_QUERY_INTERRUPTED.
_LOCK_WAIT_TIMEOUT = 1205
_QUERY_INTERRUPTED = 1317

_SESSION_HOLDERS = '''
SELECT p.ID, p.COMMAND, p.STATE, p.TIME,
       TIMESTAMPDIFF(SECOND, t.trx_started, NOW())
FROM information_schema.PROCESSLIST p
LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
WHERE p.ID <> CONNECTION_ID() AND %s
ORDER BY p.ID'''


def lock_name(database_name):
    """GET_LOCK is server-wide: named per database, in 64 characters."""
    name = '%s.%s' % (LOCK_NAME, database_name)
    if len(name) > 64:
        name = LOCK_NAME + '.' + hashlib.sha1(name.encode()).hexdigest()[:32]
    return name


def _wait_seconds(lock_wait):
    # NOTE: both timeouts are whole seconds, 1 at least.
    return max(1, int(math.ceil(lock_wait)))


def _error_number(error):
    args = getattr(error, 'args', ())
    return args[0] if args and isinstance(args[0], int) else None


def instant_unavailable_in(server_version):
    """Instant ADD COLUMN with a TEXT default: MariaDB 10.3.2 and later.

    MySQL has instant ADD COLUMN from 8.0.12 but refuses a literal DEFAULT
    on a TEXT column (error 1101; without strict mode it drops it with a
    warning, which would leave every old row NULL): not the same end state.
    """
    match = re.match(r'(\d+)\.(\d+)\.(\d+)', server_version or '')
    if not match:
        return 'server version %r is not one this tool knows' % (
            server_version,)
    number = tuple(int(part) for part in match.groups())
    version = '.'.join(map(str, number))
    if 'mariadb' not in server_version.lower():
        return ('MySQL %s takes no literal DEFAULT on a TEXT column, which '
                'the instant path needs (MariaDB 10.3.2 or later has it)'
                % version)
    if number < (10, 3, 2):
        return ('MariaDB %s has no instant ADD COLUMN (10.3.2 or later has)'
                % version)
    return None


def server_version_text(dialect):
    """The server's version as ``SELECT VERSION()`` starts it ('10.11.19'
    with '-MariaDB' on MariaDB), from what the dialect read on connecting:
    no query.

    NOTE: SQLAlchemy's MariaDB version without the '5.5.5-' that older
    MariaDB servers put in front is a private attribute (pinned by
    tests/unit/test_instant_versions.py).
    """
    if dialect.is_mariadb:
        return '%d.%d.%d-MariaDB' % dialect._mariadb_normalized_version_info
    return '%d.%d.%d' % dialect.server_version_info[:3]


def _causal_reads(dbapi_connection, connection_record):
    if galera.is_node(dbapi_connection):
        base.raw_execute(dbapi_connection,
                         'SET SESSION wsrep_sync_wait = 15')


class Session(base.Session):

    def _open(self):
        self._connection = self.base_engine.connect()
        self._dbapi = self._connection.connection.dbapi_connection
        self._lock_name = None
        self._thread_id = base.raw_execute(
            self._dbapi, 'SELECT CONNECTION_ID()')[0][0]
        self._lease = None
        if galera.is_node(self._dbapi):
            # NOTE: the members are noted while this node answers: if it
            # is lost, the lease is released and the state read back
            # through another.
            self.backend.cluster_addresses = galera.cluster_addresses(
                self._dbapi)
            # NOTE: GET_LOCK is node-local on a Galera cluster.
            self._lease = galera.Lease(self.base_engine)
            self._lease.peers = self.backend.peer_urls()
            self._lease.ensure_table()
            self.wait_for_migration_lock(self._lease.try_take,
                                         poll=LEASE_POLL_SECONDS)
        else:
            name = lock_name(self.base_engine.url.database)
            # NOTE: a second at a time, so that the wait can be reported
            # and interrupted.
            self.wait_for_migration_lock(lambda: base.raw_execute(
                self._dbapi, 'SELECT GET_LOCK(%s, 1)', (name,))[0][0] == 1,
                poll=0)
            self._lock_name = name
        seconds = _wait_seconds(self.lock_wait)
        base.raw_execute(
            self._dbapi, 'SET SESSION lock_wait_timeout = %d, '
            'innodb_lock_wait_timeout = %d' % (seconds, seconds))
        # NOTE: the scripts run on the connection that holds the lock: one
        # connection per run, not two.
        self.engine = base.engine_on(self.base_engine, self._dbapi)

    def _commit(self):
        pass

    def _rollback(self):
        pass

    def _cancel(self):
        # NOTE: from a second connection: the session's own is busy with
        # the statement to stop (closing a socket would not stop it). Made
        # apart from the Engine's pool, which may have no connection to
        # spare, with a short connect timeout.
        dialect = self.base_engine.dialect
        cargs, cparams = dialect.create_connect_args(self.base_engine.url)
        cparams['connect_timeout'] = 5
        killer = dialect.connect(*cargs, **cparams)
        try:
            base.raw_execute(killer, 'KILL QUERY %d' % self._thread_id)
        finally:
            killer.close()

    def _close(self):
        connection = getattr(self, '_connection', None)
        if connection is None:
            return
        self._connection = None
        if getattr(self, '_lease', None) is not None:
            try:
                self._lease.release()
            except Exception:  # noqa: an unreleased lease expires
                pass
        try:
            if self._lock_name is not None:
                base.raw_execute(self._dbapi, 'SELECT RELEASE_LOCK(%s)',
                                 (self._lock_name,))
            base.raw_execute(self._dbapi, 'SET SESSION lock_wait_timeout = '
                             'DEFAULT, innodb_lock_wait_timeout = DEFAULT')
        except Exception:  # noqa: a dead connection cannot be given back
            connection.invalidate()
        finally:
            connection.close()


class Backend(base.Backend):
    name = 'mysql'
    oslo_sanity_check = True
    error_numbers = {
        1044: database.PERMISSION,       # ER_DBACCESS_DENIED_ERROR
        1142: database.PERMISSION,       # ER_TABLEACCESS_DENIED_ERROR
        1143: database.PERMISSION,       # ER_COLUMNACCESS_DENIED_ERROR
        1227: database.PERMISSION,       # ER_SPECIFIC_ACCESS_DENIED_ERROR
        1051: database.NO_TABLE,         # ER_BAD_TABLE_ERROR (DROP TABLE)
        1146: database.NO_TABLE,         # ER_NO_SUCH_TABLE
        # NOTE: PyMySQL's InterfaceError (0, ''): a statement on a
        # connection it had already closed, the server having gone.
        0: database.LOST_CONNECTION,
        1927: database.LOST_CONNECTION,  # ER_CONNECTION_KILLED
        2006: database.LOST_CONNECTION,  # CR_SERVER_GONE_ERROR
        2013: database.LOST_CONNECTION,  # CR_SERVER_LOST
        2055: database.LOST_CONNECTION,  # CR_SERVER_LOST_EXTENDED
        4031: database.LOST_CONNECTION,  # ER_CLIENT_INTERACTION_TIMEOUT
    }
    server_version_sql = 'SELECT VERSION()'
    Session = Session

    def legacy_charset_statements(self, version_table):
        """Nova's tables are utf8 (utf8mb3), whatever the server's default:
        the version table, then the database's default, which the shadow
        tables (made without a charset) take."""
        return ['ALTER TABLE %s CONVERT TO CHARACTER SET utf8' % version_table,
                'ALTER DATABASE DEFAULT CHARACTER SET utf8']

    def prepare_engine(self):
        """Causal reads on a Galera node.

        NOTE: Galera applies other nodes' writes asynchronously: right after
        a db sync on node 1 printed "done", node 2 may still show the old
        version. ``wsrep_sync_wait = 15`` makes every read, write and DDL of
        the session wait until this node has applied what the cluster
        committed before it. Set per connection; a server without wsrep
        is left alone.
        """
        if getattr(self.engine, '_nova_schema_causal', False):
            return
        self.engine._nova_schema_causal = True
        sqlalchemy.event.listen(self.engine, 'connect', _causal_reads)

    instant_clause = ', ALGORITHM=INSTANT'

    def instant_unavailable(self, connection, tables):
        """The server's version as the dialect read it on connecting, then
        one query for the server's setting and the tables' row formats and
        FULLTEXT indexes (four queries before).

        NOTE: a UNION of three plain lookups; a subquery per table of
        information_schema.STATISTICS took 11 ms instead of under one.
        """
        reason = instant_unavailable_in(server_version_text(
            connection.dialect))
        if reason:
            return reason
        found = collections.defaultdict(list)
        for kind, name, value in connection.execute(sqlalchemy.text(
                "SELECT 'setting', VARIABLE_NAME, VARIABLE_VALUE FROM "
                'information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = '
                "'INNODB_INSTANT_ALTER_COLUMN_ALLOWED' "
                "UNION ALL SELECT 'row_format', TABLE_NAME, "
                'UPPER(ROW_FORMAT) FROM information_schema.TABLES WHERE '
                'TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN :tables '
                "UNION ALL SELECT DISTINCT 'fulltext', TABLE_NAME, "
                'INDEX_NAME FROM information_schema.STATISTICS WHERE '
                'TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN :tables AND '
                "INDEX_TYPE = 'FULLTEXT'"
        ).bindparams(sqlalchemy.bindparam('tables', expanding=True)),
                {'tables': list(tables)}):
            found[kind].append((name, value))
        if any(value.lower() == 'never' for _, value in found['setting']):
            return 'the server has innodb_instant_alter_column_allowed=never'
        for table, row_format in sorted(found['row_format']):
            if row_format == 'COMPRESSED':
                return 'table %s has ROW_FORMAT=COMPRESSED' % table
        for table, index in sorted(found['fulltext']):
            return 'table %s has the FULLTEXT index %s' % (table, index)
        return None

    def is_lock_wait_timeout(self, error):
        return _error_number(error) == _LOCK_WAIT_TIMEOUT

    def transient(self, error):
        return galera.transient(error)

    def retry_reads(self, read):
        return galera.retried(read)

    def is_cancelled(self, error):
        return _error_number(error) == _QUERY_INTERRUPTED

    def _holders(self, connection, condition, parameters):
        rows = connection.execute(
            sqlalchemy.text(_SESSION_HOLDERS % condition), parameters)
        holders = []
        for thread, command, state, seconds, open_for in rows:
            text = 'thread %d (%s%s, for %d s' % (
                thread, command, ', ' + state if state else '', seconds or 0)
            if open_for is not None:
                text += ', transaction open for %d s' % open_for
            holders.append(text + ')')
        return holders

    def table_lock_holders(self, connection, tables):
        # NOTE: MariaDB names metadata lock holders only with the
        # METADATA_LOCK_INFO plugin; without it, the sessions of this
        # database with an open transaction are the candidates.
        return self._holders(
            connection, 'p.DB = DATABASE() AND t.trx_id IS NOT NULL', {})

    # Members of the cluster, noted by a session opened on a Galera node.
    cluster_addresses = ()

    def peer_urls(self):
        return galera.peer_urls(self.engine.url, self.cluster_addresses)

    def fills_in_batches(self, bind):
        with bind.connect() as connection:
            return galera.is_node(connection.connection.dbapi_connection)

    def fill_refusal(self, connection, tables):
        if galera.is_node(connection.connection.dbapi_connection):
            return galera.fill_refusal(connection, tables)
        return None

    def fill(self, bind, table, column, value):
        galera.BatchedFill(bind, table, column, value).run()

    def migration_lock_holders(self, connection):
        if galera.is_node(connection.connection.dbapi_connection):
            return galera.Lease(self.engine).holders()
        return self._holders(connection, 'p.ID = IS_USED_LOCK(:name)',
                             {'name': lock_name(self.engine.url.database)})

    def dependents_of(self, connection, targets, managed):
        """Two queries for all ``targets``: each of these information_schema
        tables opens every table or view of the database (tens of ms)."""
        # NOTE: MariaDB has no VIEW_TABLE_USAGE; a view's stored definition
        # names every table and column as `table`.`column` (LOCATE's match,
        # case-insensitive, is made here).
        views = connection.execute(sqlalchemy.text(
            'SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS '
            'WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME')).fetchall()
        dropped_tables = sorted({table for table, column in targets
                                 if column is None})
        keys = connection.execute(sqlalchemy.text(
            'SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME FROM '
            'information_schema.REFERENTIAL_CONSTRAINTS WHERE '
            'CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IN '
            ':tables ORDER BY CONSTRAINT_NAME').bindparams(
                sqlalchemy.bindparam('tables', expanding=True)),
            {'tables': dropped_tables}).fetchall() if dropped_tables else []
        found = {}
        for table, column in targets:
            needle = ('`%s`' % table + ('.`%s`' % column if column else '')
                      ).lower()
            found[table, column] = [
                'view %s' % name for name, definition in views
                if needle in (definition or '').lower()]
            if column is None:
                found[table, column] += [
                    'foreign key %s of table %s' % (name, source)
                    for name, source, referred in keys
                    if referred.lower() == table.lower() and
                    source not in managed]
        return found

    def step_refusal(self, connection, step_plan, keyless_tables):
        if galera.is_node(connection.connection.dbapi_connection):
            return galera.refusal(connection, step_plan, keyless_tables)
        return None

    def table_estimates(self, connection, tables):
        """InnoDB's statistics of all ``tables`` in one query."""
        found = dict.fromkeys(tables, (None, None))
        for table, rows, size in connection.execute(sqlalchemy.text(
                'SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH FROM '
                'information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() '
                'AND TABLE_NAME IN :tables').bindparams(
                    sqlalchemy.bindparam('tables', expanding=True)),
                {'tables': list(tables)}):
            found[table] = (rows, size)
        return found

    def normalize_schema(self, schema):
        """MySQL 8 drops integer display widths (INT(11) -> INT) and older
        servers call utf8mb3 utf8; neither is a difference in the schema."""
        for table in schema.values():
            for column in table['columns']:
                column['type'] = re.sub(r'^INTEGER\(\d+\)$', 'INTEGER',
                                        column['type'])
            options = table.get('options')
            if options and options.get('collation'):
                options['collation'] = re.sub(r'^utf8_', 'utf8mb3_',
                                              options['collation'])
        return schema

    def describe_tables(self, connection, tables):
        """The tables and their options in one query, then SQLAlchemy's
        Inspector (one SHOW CREATE TABLE each): five queries for four
        tables instead of nine."""
        options = {name: {'engine': engine, 'collation': collation}
                   for name, engine, collation in connection.execute(
                       sqlalchemy.text(
                           'SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM '
                           'information_schema.TABLES WHERE TABLE_SCHEMA = '
                           "DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND "
                           'TABLE_NAME IN :tables').bindparams(
                               sqlalchemy.bindparam('tables', expanding=True)),
                       {'tables': list(tables)})}
        inspector = sqlalchemy.inspect(connection)
        return {name: introspect.describe_table(connection, self, name,
                                                inspector, options[name])
                for name in sorted(options)}

    def table_options(self, connection, table):
        row = connection.execute(sqlalchemy.text(
            'SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES '
            'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name'),
            {'name': table}).one()
        return {'engine': row[0], 'collation': row[1]}
