"""MariaDB Galera: a migration lock that holds across the cluster.

``GET_LOCK`` is node-local under wsrep: held on node 1, it is granted on
nodes 2 and 3 too, so two db syncs started on two nodes would both migrate.
``SELECT ... FOR UPDATE`` does not help either: Galera certifies at commit.
What Galera does replicate is a committed row. So the lock is a lease row
in ``nova_schema_lock``: taken by one autocommit UPDATE that only matches
a free or expired lease, read causally (``wsrep_sync_wait``), so that of
several runs racing on several nodes exactly one changes the row (the
others match nothing, or lose certification: error 1213); renewed by a
heartbeat thread while the run lasts; released at the end. A run killed
without releasing it leaves a lease that expires after ``LEASE_SECONDS``:
the next run takes it over without an operator.

The table is this tool's own bookkeeping, like ``migrate_version``: it is
created on first use, is not one of the tables ``db check`` compares, and
is not counted as a table of the database when deciding whether it is
empty.

Two more things differ on a cluster. The classic strategy's fill (Nova's
one ``UPDATE ... SET stats = '{}'``) would be one write set of every row,
before and after (236 MB for 200,000 shadow rows): over
``wsrep_max_ws_rows`` / ``wsrep_max_ws_size`` it fails outright, and a
member lost during its commit stalls the cluster. Here it is done by
``BatchedFill``: committed batches that stay within those limits. And the
errors a cluster throws at a statement (certification failures, a lost
node) are retried where the statement is safe to repeat (``TRANSIENT``).
"""
import collections
import os
import socket
import threading
import time
import uuid
import weakref

import sqlalchemy

from nova_schema.backends import base
from nova_schema import progress
from nova_schema import repository

LOCK_TABLE = repository.LOCK_TABLE
LOCK_NAME = 'migrate'
# A lease not renewed for this long is free: the run holding it is gone.
LEASE_SECONDS = 30
RENEW_EVERY = LEASE_SECONDS / 6.0
# What a cluster throws at a statement that may well pass when repeated:
# a certification failure or a transaction aborted by a replicated one
# (1213), an error during commit (1180), a lock wait or a causal read that
# timed out (1205), a node not ready for queries during a view change
# (1047). Only statements that can be repeated safely are retried.
TRANSIENT = {1213: 'certification failure', 1180: 'error during commit',
             1205: 'lock wait timeout', 1047: 'node not ready'}
# A lost connection (CR_SERVER_GONE_ERROR, CR_SERVER_LOST): the node may
# be gone; a pooled connection may also just be stale.
LOST_CONNECTION = (2006, 2013)
# How a write set over the cluster's limits fails: wsrep_max_ws_rows
# (1180) or wsrep_max_ws_size (1105, "Maximum writeset size exceeded").
_TOO_BIG = (('wsrep_max_ws_rows', 1180), ('writeset size', 1105))


# NOTE: asked once per DBAPI connection (a connection stays on its node),
# not on every look: it was three SHOW VARIABLES per step.
_NODE_CONNECTIONS = weakref.WeakKeyDictionary()


def is_node(dbapi_connection):
    try:
        return _NODE_CONNECTIONS[dbapi_connection]
    except (KeyError, TypeError):
        pass
    rows = base.raw_execute(dbapi_connection,
                            "SHOW VARIABLES LIKE 'wsrep_on'")
    found = bool(rows) and str(rows[0][1]).upper() == 'ON'
    try:
        _NODE_CONNECTIONS[dbapi_connection] = found
    except TypeError:  # noqa: a connection that cannot be weakly referred
        pass
    return found


def _error_number(error):
    error = getattr(error, 'orig', error)
    args = getattr(error, 'args', ())
    return args[0] if args and isinstance(args[0], int) else None


def _too_big(error):
    number = _error_number(error)
    text = str(getattr(error, 'orig', error))
    return any(number == code and fragment in text
               for fragment, code in _TOO_BIG)


def transient(error):
    """The ``TRANSIENT`` phrase for ``error``, or None."""
    if _too_big(error):
        return None
    return TRANSIENT.get(_error_number(error))


def cluster_addresses(dbapi_connection):
    """The client addresses (host, port) of the cluster's members, as the
    nodes announce them (``wsrep_node_incoming_address``); members that
    announce none (AUTO) are left out."""
    rows = base.raw_execute(dbapi_connection,
                            "SHOW STATUS LIKE 'wsrep_incoming_addresses'")
    found = []
    for address in (str(rows[0][1]).split(',') if rows else ()):
        host, _, port = address.strip().rpartition(':')
        if host and port.isdigit():
            found.append((host.strip('[]'), int(port)))
    return found


def peer_urls(url, addresses):
    """``url`` pointed at every other member of ``addresses``."""
    here = (url.host, url.port or 3306)
    return [url.set(host=host, port=port) for host, port in addresses
            if (host, port) != here]


def retried(work, tries=5, first_pause=0.05, on_retry=None,
            transient=TRANSIENT):
    """``work()``, repeated while it fails with a ``transient`` error (for
    statements that may safely run again), at most ``tries`` times."""
    pause = first_pause
    for attempt in range(tries):
        try:
            return work()
        except Exception as error:  # noqa: only transient errors retried
            if (_error_number(error) not in transient or _too_big(error) or
                    attempt == tries - 1):
                raise
            if on_retry is not None:
                on_retry(error)
        time.sleep(pause)
        pause *= 2


class Lease(object):
    """The cluster-wide migration lock of one run, on ``engine``'s DB."""

    def __init__(self, engine):
        self.engine = engine
        self.holder = '%s pid %d %s' % (socket.gethostname(), os.getpid(),
                                        uuid.uuid4().hex[:12])
        self._stop = threading.Event()
        self._heartbeat = None
        self.lost = False
        # Other members' URLs, for a release when this node is gone.
        self.peers = []

    def _execute(self, sql, parameters=None, engine=None):
        raw = (engine or self.engine).raw_connection()
        try:
            dbapi = raw.dbapi_connection
            dbapi.autocommit(True)
            base.raw_execute(dbapi, 'SET SESSION wsrep_sync_wait = 15')
            cursor = dbapi.cursor()
            try:
                cursor.execute(sql, parameters)
                return cursor.rowcount
            finally:
                cursor.close()
        finally:
            raw.close()

    def ensure_table(self):
        self._execute(
            'CREATE TABLE IF NOT EXISTS %s (name VARCHAR(64) NOT NULL '
            'PRIMARY KEY, holder VARCHAR(255), expires DATETIME(6)) '
            # NOTE: utf8, or oslo.db's sanity check in db_sync refuses it.
            'ENGINE=InnoDB DEFAULT CHARSET=utf8' % LOCK_TABLE)
        self._retry_certification(
            'INSERT IGNORE INTO %s (name) VALUES (%%s)' % LOCK_TABLE,
            (LOCK_NAME,))

    def _retry_certification(self, sql, parameters):
        return retried(lambda: self._execute(sql, parameters))

    def try_take(self):
        """True if this run now holds the lease.

        NOTE: the UPDATE also matches a lease this run holds already, so
        that one repeated after a lost connection (which may have committed
        it) takes the lease, rather than wait for it to expire.
        """
        take = lambda: self._execute(  # noqa: E731
            'UPDATE %s SET holder = %%s, expires = NOW(6) + INTERVAL '
            '%d SECOND WHERE name = %%s AND (holder IS NULL OR holder = %%s '
            'OR expires < NOW(6))' % (LOCK_TABLE, LEASE_SECONDS),
            (self.holder, LOCK_NAME, self.holder))
        try:
            try:
                taken = take()
            except Exception as error:  # noqa: a stale pooled connection
                if _error_number(error) not in LOST_CONNECTION:
                    raise
                taken = take()
        except Exception as error:  # noqa: a lost race, a busy node
            if _error_number(error) in TRANSIENT:
                return False
            raise
        if taken != 1:
            return False
        self._heartbeat = threading.Thread(
            target=self._renew, name='nova_schema-lease', daemon=True)
        self._heartbeat.start()
        return True

    def _renew(self):
        while not self._stop.wait(RENEW_EVERY):
            try:
                renewed = self._execute(
                    'UPDATE %s SET expires = NOW(6) + INTERVAL %d SECOND '
                    'WHERE name = %%s AND holder = %%s'
                    % (LOCK_TABLE, LEASE_SECONDS), (LOCK_NAME, self.holder))
            except Exception:  # noqa: tried again at the next beat
                continue
            if renewed != 1:
                self.lost = True
                return

    def holders(self):
        raw = self.engine.raw_connection()
        try:
            rows = base.raw_execute(
                raw.dbapi_connection,
                'SELECT holder, TIMESTAMPDIFF(SECOND, NOW(6), expires) '
                'FROM %s WHERE name = %%s AND holder IS NOT NULL AND '
                'expires >= NOW(6)' % LOCK_TABLE, (LOCK_NAME,))
        finally:
            raw.close()
        return ['another db sync on the cluster (%s; its lease ends in %d '
                's unless renewed)' % (holder, left) for holder, left in rows]

    def release(self):
        """Give the lease back; through another member when this one is
        gone, so that a re-run on a surviving node need not wait for it to
        expire."""
        self._stop.set()
        if self._heartbeat is None:
            return
        self._heartbeat.join(5)
        self._heartbeat = None
        release = ('UPDATE %s SET holder = NULL, expires = NULL WHERE name '
                   '= %%s AND holder = %%s' % LOCK_TABLE)
        try:
            retried(lambda: self._execute(release, (LOCK_NAME, self.holder)))
            return
        except Exception as error:  # noqa: tried on the other members
            failure = error
        for url in self.peers:
            engine = sqlalchemy.create_engine(
                url, connect_args={'connect_timeout': 5})
            try:
                self._execute(release, (LOCK_NAME, self.holder), engine)
                return
            except Exception:  # noqa: the next member, then the expiry
                pass
            finally:
                engine.dispose()
        raise failure


def refusal(connection, step_plan, keyless_tables):
    """Why a Galera node must not run ``step_plan``, or None.

    ``keyless_tables`` are the tables the step creates without a primary
    key (Nova's downgraded compute_node_stats).
    """
    method = connection.execute(
        sqlalchemy.text('SELECT @@wsrep_OSU_method')).scalar()
    if str(method).upper() != 'TOI':
        return ('the node runs DDL with wsrep_OSU_method=%s, which changes '
                'this node only; set it to TOI for the migration' % method)
    try:
        mode = connection.execute(
            sqlalchemy.text('SELECT @@wsrep_mode')).scalar() or ''
    except Exception:  # noqa: servers before 10.6 have no wsrep_mode
        mode = ''
    created = sorted(operation.table for operation in step_plan.operations
                     if operation.kind == 'create_table' and
                     operation.table in keyless_tables)
    if 'REQUIRED_PRIMARY_KEY' in str(mode).upper() and created:
        return ('the cluster has wsrep_mode=REQUIRED_PRIMARY_KEY and the '
                'step creates %s without a primary key, as Nova did; '
                'remove REQUIRED_PRIMARY_KEY from wsrep_mode for the '
                'migration' % ' and '.join(created))
    return None


# -- the classic strategy's fill, in committed batches --------------------

# A batch updates at most this many rows and, by estimate, this many bytes
# of write set; fewer where the cluster's limits are lower.
FILL_BATCH_ROWS = 2000
FILL_BATCH_BYTES = 8 * 1024 * 1024
# NOTE: an UPDATE's write set carries each row's image before and after
# (binlog_row_image=FULL) and its key; this much per row and per column
# covers their headers.
ROW_OVERHEAD_BYTES = 64
COLUMN_OVERHEAD_BYTES = 8
# What a batch is repeated after (see TRANSIENT).
FILL_RETRIED = {1213: TRANSIENT[1213], 1180: TRANSIENT[1180],
                1047: TRANSIENT[1047]}
# A fill reports how far it has got this often.
REPORT_EVERY = 5.0

WriteSetLimits = collections.namedtuple('WriteSetLimits', 'rows bytes')
WriteSetLimits.__doc__ = """The cluster's ``wsrep_max_ws_rows`` and
``wsrep_max_ws_size`` (0 rows: no limit)."""


def write_set_limits(connection):
    rows, size = connection.execute(sqlalchemy.text(
        'SELECT @@wsrep_max_ws_rows, @@wsrep_max_ws_size')).one()
    return WriteSetLimits(int(rows or 0), int(size or 0))


# Below this wsrep_max_ws_size, the pre-flight check makes sure the
# largest row fits in a batch (a scan); above it no row of Nova's can fail.
SCAN_BELOW_BYTES = 512 * 1024 * 1024


def fill_refusal(connection, tables):
    """Why the classic fill of ``tables`` cannot finish within the
    cluster's write-set limits (a phrase), or None: a batch holds one row
    at least, so the largest row's estimated write set must fit."""
    limits = write_set_limits(connection)
    if not limits.bytes or limits.bytes >= SCAN_BELOW_BYTES:
        return None
    quote = connection.dialect.identifier_preparer.quote
    inspector = sqlalchemy.inspect(connection)
    for table in tables:
        names = [column['name'] for column in inspector.get_columns(table)]
        largest = connection.execute(sqlalchemy.text(
            'SELECT MAX(%s) FROM %s' % (' + '.join(
                'COALESCE(LENGTH(%s), 0)' % quote(name) for name in names),
                quote(table)))).scalar() or 0
        needed = 2 * (largest + ROW_OVERHEAD_BYTES +
                      COLUMN_OVERHEAD_BYTES * len(names))
        if needed > limits.bytes // 2:
            return ('the cluster has wsrep_max_ws_size=%d and a row of %s '
                    'needs a write set of about %d bytes, twice that with '
                    'the margin the fill keeps; raise wsrep_max_ws_size for '
                    'the migration, or use the instant strategy'
                    % (limits.bytes, table, needed))
    return None


def batch_bounds(limits):
    """(rows, bytes) one batch may hold within ``limits``: the rows limit
    itself, and half the size limit (the estimate is an estimate)."""
    rows = FILL_BATCH_ROWS
    if limits.rows:
        rows = min(rows, limits.rows)
    size = FILL_BATCH_BYTES
    if limits.bytes:
        size = min(size, limits.bytes // 2)
    return max(rows, 1), max(size, 1)


class BatchedFill(object):
    """Write ``value`` into ``table.column`` wherever it is NULL, in
    committed batches along the primary key.

    The rows filled are those with a key up to the highest one when the
    fill begins (rows inserted during the fill keep NULL, as they would
    inserted after Nova's one UPDATE); a batch updates only the NULLs in
    its key range, so a fill cut short (killed, node lost) is finished by
    running it again, and a batch that failed can be repeated: one that
    lost a certification race is retried, one the cluster found too big
    is halved. ``bind`` is the migration session's engine: the batches
    are part of the step's statements.
    """

    def __init__(self, bind, table, column, value):
        self.bind = bind
        self.table, self.column, self.value = table, column, value
        self.filled = 0
        self.batches = 0
        self.retries = 0

    def _sql(self, connection):
        quote = self.bind.dialect.identifier_preparer.quote
        inspector = sqlalchemy.inspect(connection)
        [key] = inspector.get_pk_constraint(self.table)[
            'constrained_columns']
        names = [column['name']
                 for column in inspector.get_columns(self.table)]
        columns = [quote(name) for name in names]
        row_bytes = ' + '.join('COALESCE(LENGTH(%s), 0)' % name
                               for name in columns)
        self.per_row = (ROW_OVERHEAD_BYTES +
                        COLUMN_OVERHEAD_BYTES * len(columns))
        table, key, column = (quote(self.table), quote(key),
                              quote(self.column))
        # NOTE: in a dry run the column was never added (its ALTER was
        # held back): every row is one the fill would reach.
        unfilled = ('WHERE %s IS NULL' % column
                    if self.column in names else '')
        self.bounds_sql = ('SELECT MIN(%(key)s), MAX(%(key)s) FROM '
                           '%(table)s %(unfilled)s' % locals())
        self.top_sql = 'SELECT MAX(%(key)s) FROM %(table)s' % locals()
        self.sizes_sql = (
            'SELECT %(key)s, %(row_bytes)s FROM %(table)s WHERE %(key)s > '
            ':low AND %(key)s <= :top ORDER BY %(key)s LIMIT :rows'
            % locals())
        self.update_sql = (
            'UPDATE %(table)s SET %(column)s = :value WHERE %(key)s > :low '
            'AND %(key)s <= :high AND %(column)s IS NULL' % locals())

    def run(self):
        # NOTE: one connection, held from the first batch to the last: a
        # connection given back between batches is reset (rolled back) by
        # the pool, and a server lost just then would show up only as the
        # next batch's "(0, '')", never as the lost connection it is.
        connection = self.bind.connect()
        try:
            self._run(connection)
        finally:
            try:
                connection.close()
            except Exception:  # noqa: never mask the error that ended it
                pass

    def _run(self, connection):
        self._sql(connection)
        limits = write_set_limits(connection)
        top = connection.execute(sqlalchemy.text(self.top_sql)).scalar()
        first, _ = connection.execute(sqlalchemy.text(self.bounds_sql)).one()
        if first is None or first > top:
            return
        # NOTE: the bounds were read causally; the batches need not be (a
        # row another member commits meanwhile is one written during the
        # fill, and a conflicting write fails certification and is
        # retried). Without it each batch would wait twice for the
        # cluster: its read and its UPDATE.
        dbapi = connection.connection.dbapi_connection
        causal = base.raw_execute(dbapi, 'SELECT @@SESSION.wsrep_sync_wait')
        base.raw_execute(dbapi, 'SET SESSION wsrep_sync_wait = 0')
        try:
            self._batches(connection, limits, first, top)
        finally:
            try:
                base.raw_execute(dbapi, 'SET SESSION wsrep_sync_wait = %d'
                                 % int(causal[0][0]))
            except Exception:  # noqa: a lost connection is the error
                pass

    def _batches(self, connection, limits, first, top):
        rows, size = batch_bounds(limits)
        began = reported = time.monotonic()
        low = first - 1
        while low < top:
            if self.batches == 1:
                # NOTE: said once a fill takes more than one batch.
                progress.report(
                    "filling %s.%s with '%s' in batches of at most %d rows "
                    "and about %d bytes (wsrep_max_ws_rows=%d, "
                    "wsrep_max_ws_size=%d)" % (
                        self.table, self.column, self.value, rows, size,
                        limits.rows, limits.bytes))
            high, count = self._batch_end(connection, low, top, rows, size)
            if high is None:
                break
            try:
                self._update(connection, low, high)
            except Exception as error:  # noqa: only a batch too big
                if not _too_big(error) or count == 1:
                    raise
                # NOTE: the estimate fell short: half as many rows.
                rows, size = max(count // 2, 1), max(size // 2, 1)
                continue
            low = high
            now = time.monotonic()
            if now - reported >= REPORT_EVERY:
                reported = now
                progress.report(
                    'filling %s.%s: %d rows in %d batches so far (up to key '
                    '%s of %s, %d s)' % (self.table, self.column,
                                         self.filled, self.batches, high,
                                         top, now - began))

    def _batch_end(self, connection, low, top, rows, size):
        """(highest key, rows) of the next batch: at most ``rows`` rows
        after ``low`` whose estimated write set stays under ``size`` bytes
        (one row at least); (None, 0) when none is left."""
        found = connection.execute(sqlalchemy.text(self.sizes_sql), {
            'low': low, 'top': top, 'rows': rows}).fetchall()
        if not found:
            return None, 0
        high, total, count = found[0][0], 0, 0
        for key, row_bytes in found:
            total += 2 * (int(row_bytes or 0) + self.per_row) + len(
                self.value)
            if total > size and count:
                break
            high, count = key, count + 1
        return high, count

    def _update(self, connection, low, high):
        def batch():
            # NOTE: not ``connection.begin()`` as a context: a rollback
            # failing on a lost connection would replace the error that
            # lost it.
            transaction = connection.begin()
            try:
                count = connection.execute(
                    sqlalchemy.text(self.update_sql),
                    {'value': self.value, 'low': low, 'high': high}).rowcount
            except Exception:  # noqa: the error to report is this one
                try:
                    transaction.rollback()
                except Exception:  # noqa: see above
                    pass
                raise
            transaction.commit()
            return count

        def count_retry(error):
            self.retries += 1

        # NOTE: a row lock wait (1205) is not retried here: the step is
        # abandoned and tried again later, as any lock wait of db sync.
        self.filled += retried(batch, on_retry=count_retry,
                               transient=FILL_RETRIED)
        self.batches += 1
