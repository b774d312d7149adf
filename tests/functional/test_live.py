"""db sync on a live database: bounded lock waits, interrupts, warnings.

A Nova transaction held open on compute_nodes must not make db sync hang,
nor make Nova's own queries queue behind db sync for longer than one
``--lock-wait``; SIGINT and SIGTERM must stop the statement in flight on
the server and end with one line; a step that discards data says so before
it starts.
"""
import sqlite3
import threading
import time

import fixtures
import sqlalchemy
from testtools import content

from tests.functional import sync_support as support

# With the defaults (--lock-wait 2), what another session's query may wait.
LATENCY_BOUND = 3.0


class ApplicationLoop(object):
    """Nova's queries on compute_nodes, timed, in a thread, until stopped."""

    def __init__(self, connect, writes=True):
        self.connect = connect
        self.writes = writes
        self.latencies = []
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(30)

    def _run(self):
        connection = self.connect()
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    self.query(connection)
                except Exception as error:  # noqa: reported by the test
                    self.errors.append(repr(error))
                self.latencies.append(time.monotonic() - began)
                time.sleep(0.05)
        finally:
            connection.close()

    def query(self, connection):
        execute = (connection.execute
                   if isinstance(connection, sqlite3.Connection)
                   else lambda sql: connection.execute(sqlalchemy.text(sql)))
        execute('SELECT hypervisor_hostname FROM compute_nodes '
                'WHERE id = 1').fetchall()
        if self.writes:
            execute('UPDATE compute_nodes SET running_vms = running_vms '
                    'WHERE id = 1')

    @property
    def worst(self):
        return max(self.latencies)


class LiveChecks(object):
    """Mixed into one test class per backend (see the bottom)."""

    # Queries of Nova's that can run while the test holds a transaction.
    APP_WRITES = True

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(240, gentle=True))

    # -- a Nova transaction held open -----------------------------------------

    def hold_transaction(self, database):
        """A transaction that has read compute_nodes, open until released.

        Returns the function that releases it.
        """
        return support.hold_open(self, database.engine,
                                 'SELECT count(*) FROM compute_nodes')

    def app_connect(self, database):
        connection = database.engine.connect()
        return connection.execution_options(isolation_level='AUTOCOMMIT')

    def test_gives_up_without_stalling_the_application(self):
        database = self.fresh_database()
        support.prepare_232(database.engine)
        before = support.snapshot(database.engine)
        self.hold_transaction(database)
        with ApplicationLoop(lambda: self.app_connect(database),
                             self.APP_WRITES) as app:
            time.sleep(0.3)
            began = time.monotonic()
            process = support.run_cli(self, database.url, 'sync',
                                      '--lock-timeout', '6')
            elapsed = time.monotonic() - began
            time.sleep(0.3)
        report = process.describe()
        self.assertEqual(2, process.popen.returncode, report)
        errors = [line for line in process.stderr.splitlines()
                  if ': error: ' in line]
        self.assertEqual(1, len(errors), report)
        self.assertIn('gave up after', errors[0])
        self.assertIn('--lock-timeout 6', errors[0])
        self.assertRegex(errors[0], self.HOLDER, report)
        self.assertIn(self.STATE_LEFT, errors[0], report)
        self.assertNotIn('Traceback', process.stderr)
        # It said what it was waiting for while it waited.
        self.assertIn('nova-schema-manage: waiting for ', process.stderr)
        self.assertLess(elapsed, 6 + 2 + 6, report)
        self.assertEqual([], app.errors)
        self.assertGreater(len(app.latencies), 10)
        self.assertLess(app.worst, LATENCY_BOUND,
                        'worst application query took %.2f s' % app.worst)
        self.addDetail('worst-latency',
                       content.text_content('%.3f s' % app.worst))
        if self.TRANSACTIONAL:
            self.assertEqual([], support.differences(
                before, support.snapshot(database.engine)))

    def test_waits_then_finishes_when_the_transaction_ends(self):
        expected = self.clean_run(support.prepare_232)
        database = self.fresh_database()
        support.prepare_232(database.engine)
        release = self.hold_transaction(database)
        process = support.Process(self, database.url, 'sync',
                                  '--lock-timeout', '60')
        support.wait_until(
            lambda: 'waiting for' in process.stderr or
            process.popen.poll() is not None, 30, 'db sync to report a wait')
        release()
        self.assertEqual(0, process.wait(), process.describe())
        self.assertIn('233', process.stdout)
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))


class TestLiveMySQL(LiveChecks, support.MySQLTestCase):
    HOLDER = r'held by thread \d+ \(Sleep, for \d+ s, transaction open ' \
             r'for \d+ s\)'
    STATE_LEFT = 'the database is at 232'


class TestLivePostgreSQL(LiveChecks, support.PostgreSQLTestCase):
    HOLDER = r'held by pid \d+ \(idle in transaction, [^,]*, for \d+ s\)'
    STATE_LEFT = 'nothing was changed (the run was rolled back)'


class TestLiveSQLite(LiveChecks, support.SQLiteTestCase):
    # NOTE: on SQLite a reader's open transaction keeps every writer out,
    # db sync or not; only reads can go on beside it.
    APP_WRITES = False
    HOLDER = r'waiting for the database file, held by process \d+ \(.*python'
    STATE_LEFT = 'nothing was changed (the run was rolled back)'

    def hold_transaction(self, database):
        holder = sqlite3.connect(database.engine.url.database,
                                 isolation_level=None)
        holder.execute('BEGIN')
        holder.execute('SELECT count(*) FROM compute_nodes').fetchall()

        def release():
            if released:
                return
            released.append(True)
            holder.execute('ROLLBACK')
            holder.close()
        released = []
        self.addCleanup(release)
        return release

    def app_connect(self, database):
        return sqlite3.connect(database.engine.url.database, timeout=10,
                               isolation_level=None,
                               check_same_thread=False)
