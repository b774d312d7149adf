"""Several ``nova-schema-manage db sync`` at once on one database.

Every process must end well (exit 0, or exit 2 with the lock message when
its --lock-timeout is short), each step must be applied by exactly one
process, the version table must hold one 'nova' row at 233, and the schema
and rows must be exactly those of a clean run. A held lock must make db sync
wait at most --lock-timeout, and the version must be read again once the
lock is obtained.
"""
import collections
import contextlib
import re
import sqlite3
import threading
import time

import fixtures
import sqlalchemy

from nova_schema import api
from nova_schema.backends import mysql as mysql_backend
from nova_schema.backends import postgresql as pg_backend
from tests import base
from tests.functional import sync_support as support

PROCESSES = 5
STEP_LINE = re.compile(r'^(\d+ -> \d+ \w+) \.\.\. done in \d+\.\d\d s'
                       r'( \((instant|classic)\))?$')
ALREADY = 'already at version %d\n' % support.HEAD


class ConcurrencyChecks(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(240, gentle=True))

    def _race(self, url, *options):
        processes = [support.Process(self, url, 'sync', *options)
                     for _ in range(PROCESSES)]
        for process in processes:
            process.wait()
        return processes

    def _check_outcome(self, processes, database, expected, steps):
        report = '\n'.join(process.describe() for process in processes)
        applied = collections.Counter()
        for process in processes:
            code = process.popen.returncode
            if code == 2:
                self.assertEqual('', process.stdout, report)
                self.assertLockMessage(process.stderr, report)
                continue
            self.assertEqual(0, code, report)
            self.assertEqual('', base.without_notes(process.stderr), report)
            if process.stdout == ALREADY:
                continue
            lines = process.stdout.splitlines()
            matches = [STEP_LINE.match(line) for line in lines]
            self.assertTrue(all(matches), report)
            applied.update(match.group(1) for match in matches)
        self.assertEqual({step: 1 for step in steps}, dict(applied), report)
        self.assertEqual([('nova', support.HEAD)],
                         support.versions(database.engine))
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def assertLockMessage(self, stderr, report=''):
        lines = base.without_notes(stderr).splitlines()
        self.assertEqual(1, len(lines), report or stderr)
        self.assertIn(self.LOCK_NAME, lines[0], report or stderr)
        self.assertIn('--lock-timeout', lines[0], report or stderr)

    def test_started_together_on_an_empty_database(self):
        expected = self.clean_run(None)
        database = self.fresh_database()
        processes = self._race(database.url)
        self.assertEqual([0] * PROCESSES,
                         [process.popen.returncode for process in processes],
                         '\n'.join(p.describe() for p in processes))
        self._check_outcome(processes, database, expected,
                            [support.STEP_232, support.STEP_233])

    def test_released_together_on_a_seeded_database(self):
        """All processes wait for a lock the test holds, then race for it."""
        expected = self.clean_run(support.prepare_232)
        database = self.fresh_database()
        support.prepare_232(database.engine)
        with self.hold_lock(database) as wait_for_waiters:
            processes = [support.Process(self, database.url, 'sync')
                         for _ in range(PROCESSES)]
            wait_for_waiters(database, PROCESSES)
        for process in processes:
            process.wait()
        self.assertEqual([0] * PROCESSES,
                         [process.popen.returncode for process in processes],
                         '\n'.join(p.describe() for p in processes))
        self._check_outcome(processes, database, expected, [support.STEP_233])

    def test_manage_py_and_db_sync_started_together(self):
        """manage.py upgrade takes db sync's lock: one of them applies 233,
        the other finds it done."""
        expected = self.clean_run(support.prepare_232)
        for _ in range(2):
            database = self.fresh_database()
            support.prepare_232(database.engine)
            processes = [
                support.Process(self, database.url, 'manage.py upgrade',
                                command=support.manage_command(
                                    database.url, 'upgrade'))
                for _ in range(2)]
            processes += [support.Process(self, database.url, 'sync')
                          for _ in range(2)]
            for process in processes:
                process.wait()
            report = '\n'.join(process.describe() for process in processes)
            self.assertEqual([0] * 4, [process.popen.returncode
                                       for process in processes], report)
            applied = [process for process in processes
                       if '232 -> 233' in process.stdout]
            self.assertEqual(1, len(applied), report)
            self.assertEqual([('nova', support.HEAD)],
                             support.versions(database.engine))
            self.assertEqual([], support.differences(
                expected, support.snapshot(database.engine)))

    def test_started_together_with_a_short_lock_timeout(self):
        expected = self.clean_run(support.prepare_232)
        database = self.fresh_database()
        support.prepare_232(database.engine)
        processes = self._race(database.url, '--lock-timeout', '0.2')
        self._check_outcome(processes, database, expected, [support.STEP_233])

    def test_lock_timeout(self):
        """A held lock: db sync gives up after --lock-timeout, one line."""
        database = self.fresh_database()
        support.prepare_232(database.engine)
        before = support.snapshot(database.engine)

        # NOTE: what starting the command and connecting costs here, so
        # that the bound below does not depend on the machine's load.
        def db_version_seconds():
            began = time.monotonic()
            support.run_cli(self, database.url, 'version')
            return time.monotonic() - began

        overhead = db_version_seconds()
        with self.hold_lock(database):
            began = time.monotonic()
            process = support.run_cli(self, database.url, 'sync',
                                      '--lock-timeout', '1')
            elapsed = time.monotonic() - began
        overhead = max(overhead, db_version_seconds())
        self.assertEqual(2, process.popen.returncode, process.describe())
        self.assertEqual('', process.stdout, process.describe())
        self.assertLockMessage(process.stderr, process.describe())
        # NOTE: 1 s of waiting, and room for a loaded machine: starting the
        # command costs about what a db version costs.
        self.assertLess(elapsed, 1 + 2 + 3 * overhead,
                        'took %.2f s (a db version took %.2f s): %s'
                        % (elapsed, overhead, process.describe()))
        self.assertEqual([], support.differences(
            before, support.snapshot(database.engine)))

    def test_waits_longer_than_five_seconds(self):
        """--lock-timeout 30 waits out a lock held 5.5 s.

        5 s is the busy timeout sqlite3 gives a connection by default.
        """
        expected = self.clean_run(support.prepare_232)
        database = self.fresh_database()
        support.prepare_232(database.engine)
        with self.hold_lock(database) as wait_for_waiters:
            process = support.Process(self, database.url, 'sync',
                                      '--lock-timeout', '30')
            wait_for_waiters(database, 1)
            time.sleep(5.5)
            self.assertIsNone(process.popen.poll(), process.describe())
        self.assertEqual(0, process.wait(), process.describe())
        self.assertEqual(support.STEP_233,
                         process.stdout.split(' ... ')[0],
                         process.describe())
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def test_version_read_again_under_the_lock(self):
        """Another db sync migrates while this one waits: nothing to do."""
        expected = self.clean_run(support.prepare_232)
        database = self.fresh_database()
        support.prepare_232(database.engine)
        inside, release = threading.Event(), threading.Event()
        outcome = {}

        def pause(*args):
            if len(args) == 3:
                inside.set()
                release.wait(60)

        def other_db_sync():
            try:
                outcome['steps'] = api.db_sync(database.url, on_step=pause)
            except Exception as error:  # noqa: checked below
                outcome['error'] = error

        thread = threading.Thread(target=other_db_sync, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 60)
        self.addCleanup(release.set)
        self.assertTrue(inside.wait(60))
        process = support.Process(self, database.url, 'sync',
                                  '--lock-timeout', '30')
        self.wait_for_waiters(database, 1, process)
        release.set()
        thread.join(60)
        self.assertNotIn('error', outcome)
        self.assertEqual([(support.BASELINE, support.HEAD)],
                         [(step.start, step.end)
                          for step in outcome['steps']])
        self.assertEqual(0, process.wait(), process.describe())
        self.assertEqual(ALREADY, process.stdout, process.describe())
        self.assertEqual('', base.without_notes(process.stderr),
                         process.describe())
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def test_started_while_another_builds_the_baseline(self):
        """db sync waits for one that is half way through the baseline.

        The version row says 231 from the start of the run; on MySQL, whose
        DDL commits itself, the tables the baseline has created so far are
        visible too. The newcomer must wait for the lock and then find
        nothing to do, not take the half-built database for a foreign one.
        """
        expected = self.clean_run(None)
        database = self.fresh_database()
        paused, release = threading.Event(), threading.Event()
        outcome = {}

        def pause_after_services(conn, cursor, statement, *args):
            if (threading.current_thread() is builder_thread and
                    'CREATE TABLE services' in statement):
                paused.set()
                release.wait(60)

        def build():
            try:
                outcome['steps'] = api.db_sync(database.url)
            except Exception as error:  # noqa: checked below
                outcome['error'] = error

        builder_thread = threading.Thread(target=build, daemon=True)
        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'after_cursor_execute', pause_after_services)
        self.addCleanup(sqlalchemy.event.remove, sqlalchemy.engine.Engine,
                        'after_cursor_execute', pause_after_services)
        builder_thread.start()
        self.addCleanup(builder_thread.join, 60)
        self.addCleanup(release.set)
        self.assertTrue(paused.wait(60))
        process = support.Process(self, database.url, 'sync',
                                  '--lock-timeout', '30')
        self.wait_for_waiters(database, 1, process)
        release.set()
        builder_thread.join(60)
        self.assertNotIn('error', outcome)
        self.assertEqual(0, process.wait(), process.describe())
        self.assertEqual(ALREADY, process.stdout, process.describe())
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))


class _ServerLock(object):

    @contextlib.contextmanager
    def hold_lock(self, database):
        engine = sqlalchemy.create_engine(database.url)
        self.addCleanup(engine.dispose)
        with engine.connect() as holder:
            transaction = holder.begin()
            self.take_lock(holder, database)
            try:
                yield self.wait_for_waiters
            finally:
                transaction.rollback()
                self.release_lock(holder, database)

    def release_lock(self, connection, database):
        pass

    def wait_for_waiters(self, database, count, process=None):
        """Until ``count`` db sync wait for the lock (or ``process`` ended)."""
        def waiting():
            if process is not None and process.popen.poll() is not None:
                return True
            return self.waiters(database) >= count
        support.wait_until(waiting, 60,
                           '%d db sync to wait for the lock' % count)


class TestConcurrencyMySQL(_ServerLock, ConcurrencyChecks,
                           support.MySQLTestCase):

    LOCK_NAME = 'waiting for the migration lock'

    def take_lock(self, connection, database):
        name = mysql_backend.lock_name(database.engine.url.database)
        self.assertEqual(1, connection.execute(sqlalchemy.text(
            'SELECT GET_LOCK(:name, 10)'), {'name': name}).scalar())

    def release_lock(self, connection, database):
        # NOTE: GET_LOCK outlives transactions; the pooled connection would
        # otherwise keep it.
        connection.execute(sqlalchemy.text('SELECT RELEASE_LOCK(:name)'), {
            'name': mysql_backend.lock_name(database.engine.url.database)})

    def waiters(self, database):
        with database.engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM information_schema.PROCESSLIST "
                "WHERE INFO LIKE 'SELECT GET_LOCK(%' "
                "AND ID <> CONNECTION_ID() AND DB = DATABASE()")).scalar()


class TestConcurrencyPostgreSQL(_ServerLock, ConcurrencyChecks,
                                support.PostgreSQLTestCase):

    LOCK_NAME = 'waiting for the migration lock'

    def take_lock(self, connection, database):
        connection.execute(
            sqlalchemy.text('SELECT pg_advisory_xact_lock(:key)'),
            {'key': pg_backend.advisory_key()})

    def waiters(self, database):
        # NOTE: db sync polls pg_try_advisory_xact_lock; a waiter is a
        # session whose last statement was that poll and that holds no
        # advisory lock (the holder's last statement may be the poll too).
        with database.engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM pg_stat_activity a "
                "WHERE a.datname = current_database() "
                "AND a.pid <> pg_backend_pid() "
                "AND a.query LIKE 'SELECT pg_try_advisory_xact_lock%' "
                "AND NOT EXISTS (SELECT 1 FROM pg_locks l "
                "WHERE l.pid = a.pid AND l.locktype = 'advisory' "
                "AND l.granted)")).scalar()


class TestConcurrencySQLite(ConcurrencyChecks, support.SQLiteTestCase):

    # NOTE: a SQLite file's lock is held by anyone with a transaction on
    # it, not only another db sync; the message says so.
    LOCK_NAME = 'waiting for the database file'

    @contextlib.contextmanager
    def hold_lock(self, database):
        holder = sqlite3.connect(database.engine.url.database,
                                 isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute('BEGIN EXCLUSIVE')
        try:
            yield self.wait_for_waiters
        finally:
            holder.execute('ROLLBACK')

    def wait_for_waiters(self, database, count, process=None):
        # NOTE: a process waiting for SQLite's lock cannot be seen from
        # outside; give the processes time to start and reach it.
        time.sleep(2)
