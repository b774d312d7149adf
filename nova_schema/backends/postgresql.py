"""PostgreSQL: transactional DDL, advisory locks, cancellable statements.

A run is one transaction. The migration lock is a transaction-level
advisory lock, so it ends with the transaction whatever happens to the
process. ``SET LOCAL lock_timeout`` bounds every wait for a table lock:
PostgreSQL queues lock requests, so a DROP or ALTER waiting behind one open
Nova transaction would otherwise hold every later query on that table
behind it. A timeout aborts the whole transaction; the caller retries it.
"""
import hashlib

import sqlalchemy

from nova_schema.backends import base
from nova_schema import database
from nova_schema import introspect

LOCK_NAME = 'nova_schema.migrate'


def advisory_key(name=LOCK_NAME):
    """A signed 64-bit key for the advisory lock, stable per name."""
    digest = hashlib.sha256(name.encode()).digest()[:8]
    return int.from_bytes(digest, 'big', signed=True)


def _advisory_ids(key):
    """(classid, objid) under which pg_locks shows a 64-bit advisory key."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


# SQLSTATE: 55P03 lock_not_available, 57014 query_canceled.
_LOCK_NOT_AVAILABLE = '55P03'
_QUERY_CANCELED = '57014'

_HOLDERS = '''
SELECT DISTINCT a.pid, a.state, a.application_name,
       EXTRACT(EPOCH FROM now() - COALESCE(a.xact_start, a.query_start))
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND a.pid <> pg_backend_pid() AND %s
ORDER BY a.pid'''


# The views on each (table, column) target (column NULL: on the table).
_DEPENDENT_VIEWS = '''
SELECT DISTINCT t.tbl, t.col, v.relname
FROM unnest(CAST(:tables AS text[]), CAST(:columns AS text[])) AS t(tbl, col)
JOIN pg_depend d ON d.refobjid = to_regclass(t.tbl)
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class v ON v.oid = r.ev_class
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refclassid = 'pg_class'::regclass AND v.oid <> d.refobjid
  AND (t.col IS NULL OR d.refobjsubid = (
       SELECT attnum FROM pg_attribute
       WHERE attrelid = to_regclass(t.tbl) AND attname = t.col))
ORDER BY v.relname'''

# The foreign keys referring to each of the tables.
_REFERRING_KEYS = '''
SELECT t.name, c.conname, CAST(CAST(c.conrelid AS regclass) AS text)
FROM unnest(CAST(:tables AS text[])) AS t(name)
JOIN pg_constraint c ON c.confrelid = to_regclass(t.name)
WHERE c.contype = 'f'
ORDER BY c.conname'''


# Attribute names of a key, in the key's order: of the int2[] of attribute
# numbers (first %s) of the relation (second %s).
_KEY_NAMES = (
    '(SELECT json_agg(a.attname ORDER BY k.n) FROM unnest(%s) '
    'WITH ORDINALITY AS k(attnum, n) JOIN pg_catalog.pg_attribute a '
    'ON a.attrelid = %s AND a.attnum = k.attnum)')

# What describe_tables needs of the tables, in one query (SQLAlchemy's
# Inspector sends nine per table). Columns as its get_columns reads them;
# key columns in key order; no expression index (it skips those too).
# A column as SQLAlchemy's get_columns reads it, and whether its type is a
# domain or an enum (d, e), of the table whose oid is %s.
_COLUMN_FIELDS = '''a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnotnull,
       CAST(a.attgenerated AS text), CAST(a.attidentity AS text),
       CAST(t.typtype AS text)'''
_COLUMN_SOURCE = '''FROM pg_catalog.pg_attribute a
   JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
   LEFT JOIN pg_catalog.pg_attrdef d
     ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef
   WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped'''
# The tables of the current schema (what the Inspector lists).
_TABLES = '''FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')'''

_COLUMNS = '''SELECT %s %s ORDER BY a.attnum''' % (
    _COLUMN_FIELDS, _COLUMN_SOURCE % (
        '(SELECT c.oid %s AND c.relname = :table)' % _TABLES))

_DESCRIBE = '''
SELECT c.relname,
  (SELECT json_agg(json_build_array(%(column_fields)s) ORDER BY a.attnum)
   %(column_source)s),
  (SELECT json_build_array(p.conname, %(pk)s)
   FROM pg_catalog.pg_constraint p
   WHERE p.conrelid = c.oid AND p.contype = 'p'),
  (SELECT json_agg(json_build_array(f.conname, %(fk)s, r.relname, %(ref)s))
   FROM pg_catalog.pg_constraint f
   JOIN pg_catalog.pg_class r ON r.oid = f.confrelid
   WHERE f.conrelid = c.oid AND f.contype = 'f'),
  (SELECT json_agg(json_build_array(i.relname, x.indisunique, (
       SELECT json_agg(a.attname ORDER BY k.n)
       FROM unnest(CAST(x.indkey AS int2[])) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_catalog.pg_attribute a
         ON a.attrelid = c.oid AND a.attnum = k.attnum
       WHERE k.n <= x.indnkeyatts)))
   FROM pg_catalog.pg_index x
   JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
   WHERE x.indrelid = c.oid AND NOT x.indisprimary AND x.indexprs IS NULL),
  (SELECT json_agg(json_build_array(u.conname, %(unique)s))
   FROM pg_catalog.pg_constraint u
   WHERE u.conrelid = c.oid AND u.contype = 'u')
%(tables)s AND c.relname = ANY(CAST(:tables AS text[]))''' % {
    'column_fields': _COLUMN_FIELDS,
    'column_source': _COLUMN_SOURCE % 'c.oid',
    'tables': _TABLES,
    'pk': _KEY_NAMES % ('p.conkey', 'c.oid'),
    'fk': _KEY_NAMES % ('f.conkey', 'c.oid'),
    'ref': _KEY_NAMES % ('f.confkey', 'f.confrelid'),
    'unique': _KEY_NAMES % ('u.conkey', 'c.oid')}


def _column_info(dialect, name, type_, default, not_null, generated, identity,
                 kind):
    """A column as SQLAlchemy's get_columns gives it, parsed by the dialect's
    own (private) parser, which SQLAlchemy 1.4 has no public form of."""
    return dialect._get_column_info(
        name, type_, default, not_null, {}, {}, None, None, generated,
        {'always': identity == 'a'} if identity else None)


def server_version_num(version_info):
    """``server_version_num`` from the version the dialect read on
    connecting ((15, 19) -> 150019, (9, 6, 24) -> 90624): no query."""
    major = version_info[0]
    if major >= 10:
        return major * 10000 + (version_info[1] if len(version_info) > 1
                                else 0)
    return major * 10000 + version_info[1] * 100 + version_info[2]


def instant_unavailable_before(server_version_num):
    """PostgreSQL 11 stores a new column's default for the existing rows
    (``attmissingval``) instead of rewriting them."""
    if server_version_num < 110000:
        return ('PostgreSQL %d.%d rewrites the table for ADD COLUMN with a '
                'default (11 or later does not)'
                % (server_version_num // 10000, server_version_num % 10000))
    return None


class Session(base.Session):

    def _open(self):
        self._raw = self.base_engine.raw_connection()
        self._dbapi = self._raw.dbapi_connection
        # NOTE: an Engine made with isolation_level AUTOCOMMIT would make
        # every statement its own transaction: no lock, no bound, no
        # all-or-nothing. psycopg2 opens the transaction with the first
        # statement once autocommit is off.
        self._saved_autocommit = self._dbapi.autocommit
        self._dbapi.autocommit = False
        base.raw_execute(self._dbapi, "SET LOCAL lock_timeout = '%dms'"
                         % max(1, int(self.lock_wait * 1000)))
        self.wait_for_migration_lock(lambda: base.raw_execute(
            self._dbapi, 'SELECT pg_try_advisory_xact_lock(%s)',
            (advisory_key(),))[0][0])
        self.engine = base.engine_on(self.base_engine, self._dbapi,
                                     transactional=True)

    def _commit(self):
        self._dbapi.commit()

    def _rollback(self):
        if getattr(self, '_dbapi', None) is not None:
            self._dbapi.rollback()

    def _cancel(self):
        self._dbapi.cancel()

    def _close(self):
        raw = getattr(self, '_raw', None)
        if raw is not None:
            self._raw = None
            try:
                self._dbapi.autocommit = self._saved_autocommit
            finally:
                raw.close()


class Backend(base.Backend):
    name = 'postgresql'
    transactional_ddl = True
    sqlstates = {
        '42501': database.PERMISSION,       # insufficient_privilege
        '42P01': database.NO_TABLE,         # undefined_table
        '08003': database.LOST_CONNECTION,  # connection_does_not_exist
        '08006': database.LOST_CONNECTION,  # connection_failure
        '57P01': database.LOST_CONNECTION,  # admin_shutdown
        '57P02': database.LOST_CONNECTION,  # crash_shutdown
    }
    # libpq's and psycopg2's own messages: no SQLSTATE.
    error_messages = (
        ('server closed the connection unexpectedly',
         database.LOST_CONNECTION),
        ('terminating connection', database.LOST_CONNECTION),
        ('connection already closed', database.LOST_CONNECTION),
        ('could not receive data from server', database.LOST_CONNECTION),
        ('could not send data to server', database.LOST_CONNECTION),
    )
    server_version_sql = 'SHOW server_version'
    Session = Session

    def reflected_columns(self, connection, table):
        dialect = connection.dialect
        columns = connection.execute(sqlalchemy.text(_COLUMNS),
                                     {'table': table}).fetchall()
        if not columns or any(column[6] in ('d', 'e') for column in columns):
            return super(Backend, self).reflected_columns(connection, table)
        return [_column_info(dialect, *column) for column in columns]

    def describe_tables(self, connection, tables):
        """One catalog query for all ``tables``, read into the shapes of
        SQLAlchemy's Inspector with its own column parsing; a table with a
        domain or enum column is left to the Inspector, which knows them."""
        dialect = connection.dialect
        found, unusual = {}, []
        for name, columns, primary_key, foreign_keys, indexes, uniques in \
                connection.execute(sqlalchemy.text(_DESCRIBE),
                                   {'tables': list(tables)}):
            if any(column[6] in ('d', 'e') for column in columns):
                unusual.append(name)
                continue
            primary_key = primary_key or (None, [])
            found[name] = introspect.table_description(
                dialect,
                [_column_info(dialect, *column) for column in columns],
                {'name': primary_key[0],
                 'constrained_columns': primary_key[1] or []},
                [{'name': key, 'constrained_columns': key_columns,
                  'referred_table': referred,
                  'referred_columns': referred_columns}
                 for key, key_columns, referred, referred_columns
                 in foreign_keys or ()],
                [{'name': index, 'column_names': index_columns or [],
                  'unique': unique}
                 for index, unique, index_columns in indexes or ()],
                [{'name': unique, 'column_names': unique_columns}
                 for unique, unique_columns in uniques or ()])
        if unusual:
            found.update(super(Backend, self).describe_tables(
                connection, unusual))
        return found

    def legacy_foreign_key_name(self, havana_name):
        # NOTE: unnamed, so that PostgreSQL names it <table>_<column>_fkey.
        return None

    def table_estimates(self, connection, tables):
        """The planner's row estimate and the heap's size (what a count
        scans), in one query."""
        found = dict.fromkeys(tables, (None, None))
        for table, rows, size in connection.execute(sqlalchemy.text(
                'SELECT t.name, CAST(c.reltuples AS bigint), '
                'pg_relation_size(c.oid) FROM unnest(CAST(:tables AS '
                'text[])) AS t(name) JOIN pg_class c ON c.oid = '
                'to_regclass(t.name)'), {'tables': list(tables)}):
            # NOTE: reltuples -1 (PostgreSQL 14+) or 0: never analysed;
            # counted instead.
            found[table] = (rows if rows and rows > 0 else None, size)
        return found

    def instant_unavailable(self, connection, tables):
        return instant_unavailable_before(server_version_num(
            connection.dialect.server_version_info))

    def is_lock_wait_timeout(self, error):
        return getattr(error, 'pgcode', None) == _LOCK_NOT_AVAILABLE

    def is_cancelled(self, error):
        return getattr(error, 'pgcode', None) == _QUERY_CANCELED

    def _holders(self, connection, condition, parameters):
        rows = connection.execute(sqlalchemy.text(_HOLDERS % condition),
                                  parameters)
        return ['pid %d (%s, %s, for %d s)' % (
            pid, state or 'no state', application or 'no application name',
            int(age or 0)) for pid, state, application, age in rows]

    def dependents_of(self, connection, targets, managed):
        """Two catalog queries for all ``targets`` (two per target
        before)."""
        found = {target: [] for target in targets}
        for table, column, view in connection.execute(
                sqlalchemy.text(_DEPENDENT_VIEWS),
                {'tables': [table for table, _ in targets],
                 'columns': [column for _, column in targets]}):
            found[table, column].append('view %s' % view)
        dropped = [table for table, column in targets if column is None]
        if dropped:
            for table, name, source in connection.execute(
                    sqlalchemy.text(_REFERRING_KEYS), {'tables': dropped}):
                if source not in managed:
                    found[table, None].append(
                        'foreign key %s of table %s' % (name, source))
        return found

    def table_lock_holders(self, connection, tables):
        return self._holders(
            connection,
            "l.locktype = 'relation' AND l.relation IN "
            "(SELECT to_regclass(name) FROM unnest(CAST(:tables AS text[])) "
            "AS name)", {'tables': list(tables)})

    def migration_lock_holders(self, connection):
        classid, objid = _advisory_ids(advisory_key())
        return self._holders(
            connection,
            "l.locktype = 'advisory' AND l.classid = CAST(:classid AS oid) "
            "AND l.objid = CAST(:objid AS oid) AND l.objsubid = 1",
            {'classid': classid, 'objid': objid})
