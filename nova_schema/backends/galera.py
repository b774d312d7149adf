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
"""
import os
import socket
import threading
import uuid
import weakref

import sqlalchemy

from nova_schema.backends import base
from nova_schema import repository

LOCK_TABLE = repository.LOCK_TABLE
LOCK_NAME = 'migrate'
# A lease not renewed for this long is free: the run holding it is gone.
LEASE_SECONDS = 30
RENEW_EVERY = LEASE_SECONDS / 6.0
# ER_LOCK_DEADLOCK: what losing a certification race looks like.
_CERTIFICATION_FAILURE = 1213


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
    args = getattr(error, 'args', ())
    return args[0] if args and isinstance(args[0], int) else None


class Lease(object):
    """The cluster-wide migration lock of one run, on ``engine``'s DB."""

    def __init__(self, engine):
        self.engine = engine
        self.holder = '%s pid %d %s' % (socket.gethostname(), os.getpid(),
                                        uuid.uuid4().hex[:12])
        self._stop = threading.Event()
        self._heartbeat = None
        self.lost = False

    def _execute(self, sql, parameters=None):
        raw = self.engine.raw_connection()
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

    def _retry_certification(self, sql, parameters, tries=5):
        for attempt in range(tries):
            try:
                return self._execute(sql, parameters)
            except Exception as error:  # noqa: only a lost race is retried
                if (_error_number(getattr(error, 'orig', error)) !=
                        _CERTIFICATION_FAILURE or attempt == tries - 1):
                    raise
        return 0

    def try_take(self):
        """True if this run now holds the lease."""
        try:
            taken = self._execute(
                'UPDATE %s SET holder = %%s, expires = NOW(6) + INTERVAL '
                '%d SECOND WHERE name = %%s AND (holder IS NULL OR expires '
                '< NOW(6))' % (LOCK_TABLE, LEASE_SECONDS),
                (self.holder, LOCK_NAME))
        except Exception as error:  # noqa: a lost certification race
            if _error_number(getattr(error, 'orig', error)) == \
                    _CERTIFICATION_FAILURE:
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
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(5)
            self._execute('UPDATE %s SET holder = NULL, expires = NULL '
                          'WHERE name = %%s AND holder = %%s' % LOCK_TABLE,
                          (LOCK_NAME, self.holder))
            self._heartbeat = None


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
