"""SIGKILL a real ``nova-schema-manage db sync`` in the middle of 233.

On PostgreSQL and MySQL the test holds a lock on shadow_compute_nodes, so
the command blocks inside the step once it has dropped the stats tables and
changed compute_nodes (upgrade) or dropped compute_nodes.stats (downgrade);
it is killed there. On SQLite, where the command holds the whole file from
its first statement, the tables are made big enough for the step to take a
noticeable time, and the command is killed while its rollback journal
grows. Then db sync runs again and the result must be exactly that of an
uninterrupted run on a separate database with the same data. On PostgreSQL
and SQLite the killed run must have left no trace at all.
"""
import contextlib
import os
import signal

import fixtures
import sqlalchemy
from testtools import content

from nova_schema import api
from nova_schema.backends import mysql as mysql_backend
from tests.functional import sync_support as support

# SQLite: 2 x 4000 rows of about 10 kB, so that rewriting them takes a while.
BIG_ROWS = 4000
BIG_TEXT = 10000
# Killed once the rollback journal holds this much: the step has changed
# the database (SQLite writes the journal as it goes), and the rewriting of
# the big rows, most of the step, is still ahead.
JOURNAL_BYTES = 1


def _big_rows(first_id, service_id):
    return [support.node_row(
        id_, service_id, deleted=id_ % 3 and id_,
        cpu_info='{"id": %d, "flags": "%s"}' % (id_, 'x' * BIG_TEXT))
        for id_ in range(first_id, first_id + BIG_ROWS)]


class InterruptChecks(object):

    BIG_DATA = False

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(240, gentle=True))

    def _prepare(self, database, end):
        api.db_sync(database.engine, support.BASELINE)
        data = support.seed_data_232()
        if self.BIG_DATA:
            data['compute_nodes'] += _big_rows(1000, 1)
            data['shadow_compute_nodes'] += _big_rows(100000, 77)
        support.insert(database.engine, data)
        if end == support.BASELINE:
            api.db_sync(database.engine, support.HEAD)
            support.change_data_233(database.engine)

    def _check_kill(self, end):
        step = support.STEP_233 if end == support.HEAD else (
            support.STEP_233_DOWN)
        start = support.BASELINE + support.HEAD - end
        with self.database() as reference:
            self._prepare(reference, end)
            api.db_sync(reference.engine, end)
            expected = support.snapshot(reference.engine, digest=True)

        database = self.fresh_database()
        self._prepare(database, end)
        before = support.snapshot(database.engine, digest=True)
        with self.blocked_inside_step(database) as wait_inside_step:
            process = support.Process(self, database.url, 'sync', str(end))
            support.wait_until(lambda: step in process.stdout, 60,
                               'the step to start: ' + process.describe())
            wait_inside_step(process)
            self.assertEqual(-signal.SIGKILL, process.kill(),
                             process.describe())
        self.assertNotIn('done', process.stdout, process.describe())
        self.wait_for_killed_sessions(database)

        interrupted = support.snapshot(database.engine, digest=True)
        self.addDetail('interrupted-state', content.text_content('\n'.join(
            support.differences(before, interrupted)) or 'no change'))
        self.assertEqual(before['versions'], interrupted['versions'])
        if self.TRANSACTIONAL:
            self.assertEqual([], support.differences(before, interrupted))
        else:
            self.check_partial(database, interrupted, end)

        again = support.run_cli(self, database.url, 'sync', str(end))
        self.assertEqual(0, again.wait(), again.describe())
        self.assertEqual('%d -> %d' % (start, end),
                         again.stdout.split(' add_stats')[0],
                         again.describe())
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine, digest=True)))

    def test_kill_during_upgrade(self):
        self._check_kill(support.HEAD)

    def test_kill_during_downgrade(self):
        self._check_kill(support.BASELINE)


class _LockedTableChecks(InterruptChecks):
    """The test holds a lock the step waits for on shadow_compute_nodes."""

    BLOCKED_QUERY = '%ALTER TABLE shadow_compute_nodes %'

    @contextlib.contextmanager
    def blocked_inside_step(self, database):
        engine = sqlalchemy.create_engine(database.url)
        self.addCleanup(engine.dispose)
        with engine.connect() as holder:
            transaction = holder.begin()
            self.hold_lock(holder)

            def wait_inside_step(process):
                support.wait_until(
                    lambda: self.waiting_statements(database.engine), 60,
                    'db sync to wait for the lock on shadow_compute_nodes: '
                    + process.describe())
            try:
                yield wait_inside_step
            finally:
                transaction.rollback()


class TestInterruptPostgreSQL(_LockedTableChecks, support.PostgreSQLTestCase):

    def hold_lock(self, connection):
        connection.execute(sqlalchemy.text(
            'LOCK TABLE shadow_compute_nodes IN ACCESS SHARE MODE'))

    def waiting_statements(self, engine):
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE :query"),
                {'query': self.BLOCKED_QUERY}).scalar()

    def wait_for_killed_sessions(self, database):
        # NOTE: the killed client's server process runs the statement it
        # waited for, finds its client gone and rolls back, which ends the
        # transaction that holds the advisory lock.
        def lock_released():
            with database.engine.connect() as conn:
                return not conn.execute(sqlalchemy.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d "
                    "ON d.oid = l.database WHERE l.locktype = 'advisory' "
                    "AND d.datname = current_database()")).scalar()
        support.wait_until(lock_released, 60,
                           'the killed db sync to lose its advisory lock')


class TestInterruptMySQL(_LockedTableChecks, support.MySQLTestCase):

    def hold_lock(self, connection):
        # NOTE: an open transaction that read the table holds a metadata
        # lock on it until it ends; ALTER TABLE waits for it.
        connection.execute(sqlalchemy.text(
            'SELECT count(*) FROM shadow_compute_nodes'))

    def waiting_statements(self, engine):
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM information_schema.PROCESSLIST "
                "WHERE DB = DATABASE() AND STATE LIKE "
                "'Waiting for table metadata lock%' AND INFO LIKE :query"),
                {'query': self.BLOCKED_QUERY}).scalar()

    def wait_for_killed_sessions(self, database):
        name = mysql_backend.lock_name(database.engine.url.database)

        def gone():
            with database.engine.connect() as conn:
                lock = conn.execute(sqlalchemy.text('SELECT IS_USED_LOCK(:n)'),
                                    {'n': name}).scalar()
                busy = conn.execute(sqlalchemy.text(
                    "SELECT count(*) FROM information_schema.PROCESSLIST "
                    "WHERE DB = DATABASE() AND INFO LIKE 'ALTER TABLE %'"
                )).scalar()
            return lock is None and not busy
        support.wait_until(gone, 60, 'the killed db sync to disconnect')

    def check_partial(self, database, interrupted, end):
        """MySQL committed the statements run before the kill."""
        nodes = interrupted['schema']['compute_nodes']['columns']
        has_stats = 'stats' in [column[0] for column in nodes]
        if end == support.HEAD:
            self.assertNotIn('compute_node_stats', interrupted['schema'])
            self.assertTrue(has_stats)
        else:
            self.assertFalse(has_stats)
            self.assertNotIn('compute_node_stats', interrupted['schema'])


class TestInterruptSQLite(InterruptChecks, support.SQLiteTestCase):

    BIG_DATA = True

    @contextlib.contextmanager
    def blocked_inside_step(self, database):
        journal = database.engine.url.database + '-journal'

        def journal_size():
            try:
                return os.path.getsize(journal)
            except OSError:
                return 0

        def wait_inside_step(process):
            support.wait_until(
                lambda: journal_size() >= JOURNAL_BYTES, 60,
                'the rollback journal to grow: ' + process.describe(),
                interval=0.001)
        yield wait_inside_step
        # NOTE: a hot journal left behind proves the kill hit the open
        # transaction; the next connection rolls it back.
        self.assertGreater(journal_size(), 0)

    def wait_for_killed_sessions(self, database):
        pass
