"""db sync on a 3-node MariaDB Galera cluster (tools/galera.sh).

The cluster is started by tools/test-setup.sh on 127.0.0.1:4301-4303.
Without it these tests skip locally and fail in CI, as the other backends'
do. Each test works in a database of its own, created on node 1 and
dropped at the end (DDL replicates to every node).
"""
import os
import secrets
import subprocess
import threading
import time

import fixtures
import sqlalchemy
import testtools

from nova_schema import api
from nova_schema import exception
from tests import base
from tests.functional import sync_support as support

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GALERA = os.path.join(ROOT, 'tools', 'galera.sh')
STANDALONE = 'mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/'


def node_urls():
    result = subprocess.run([GALERA, 'urls'], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            timeout=30)
    return result.stdout.split()


def _without_lease(snapshot):
    """A node's snapshot less db sync's lease table, which only a cluster
    has (nova_schema.backends.galera); it must be there, free."""
    assert snapshot['rows'].pop('nova_schema_lock') == [
        {'name': 'migrate', 'holder': None, 'expires': None}], snapshot
    del snapshot['schema']['nova_schema_lock']
    return snapshot


def _read_causally(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute('SET SESSION wsrep_sync_wait = 1')
    finally:
        cursor.close()


class ClusterTestCase(testtools.TestCase):
    """A database of its own on the cluster; no tests of its own."""

    def setUp(self):
        super().setUp()
        self.useFixture(base.DeprecationWarningsFilter())
        self.useFixture(fixtures.Timeout(240, gentle=True))
        servers = node_urls()
        try:
            for server in servers:
                engine = sqlalchemy.create_engine(server)
                with engine.connect() as connection:
                    state = connection.execute(sqlalchemy.text(
                        "SHOW STATUS LIKE 'wsrep_local_state_comment'")
                    ).fetchone()
                engine.dispose()
                if state is None or state[1] != 'Synced':
                    raise RuntimeError('%s is not a synced Galera node'
                                       % server.split('@')[-1])
            if len(servers) != 3:
                raise RuntimeError('tools/galera.sh names %d nodes'
                                   % len(servers))
        except Exception as error:  # noqa: any reason the cluster is absent
            message = 'no Galera cluster (tools/galera.sh start): %s' % error
            if base.ci_enabled():
                self.fail(message)
            self.skipTest(message)
        self.name = 'nsg_' + secrets.token_hex(5)
        self.urls = [server + self.name for server in servers]
        self._admin(servers[0], 'CREATE DATABASE %s' % self.name)
        self.addCleanup(self._admin, servers[0],
                        'DROP DATABASE IF EXISTS %s' % self.name)
        self.engines = [self._engine(url) for url in self.urls]
        self.readers = [self._engine(url, causal=True) for url in self.urls]

    def _admin(self, server, statement):
        engine = sqlalchemy.create_engine(server)
        try:
            with engine.begin() as connection:
                connection.execute(sqlalchemy.text(statement))
        finally:
            engine.dispose()

    def _engine(self, url, causal=False):
        """An engine disposed of at the end; with ``causal``, each of its
        sessions reads only once its node has applied what the cluster
        committed (wsrep_sync_wait = 1): a node returns from a commit or
        from DDL before the others have applied it, so a check read on
        another node meanwhile would see the state before it."""
        engine = sqlalchemy.create_engine(url)
        if causal:
            sqlalchemy.event.listen(engine, 'connect', _read_causally)
        self.addCleanup(engine.dispose)
        return engine

    def dispose_all(self):
        """Drop every pooled connection (after a node was restarted)."""
        for engine in self.engines + self.readers:
            engine.dispose()

    def standalone(self):
        """A database on the standalone server, dropped at the end."""
        name = 'nsr_' + secrets.token_hex(5)
        self._admin(STANDALONE, 'CREATE DATABASE %s' % name)
        self.addCleanup(self._admin, STANDALONE,
                        'DROP DATABASE IF EXISTS %s' % name)
        return self._engine(STANDALONE + name)

    def _set_global(self, node, name, value):
        """SET GLOBAL on one node, restored when the test ends."""
        engine = self.engines[node]
        with engine.connect() as connection:
            old = connection.execute(sqlalchemy.text(
                'SELECT @@GLOBAL.%s' % name)).scalar()
            connection.execute(sqlalchemy.text(
                'SET GLOBAL %s = :value' % name), {'value': value})
        self.addCleanup(self._restore_global, engine, name, old)

    def _restore_global(self, engine, name, value):
        # NOTE: the node may have been restarted since (its pooled
        # connection is dead; its globals are its configuration's again).
        engine.dispose()
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(
                'SET GLOBAL %s = :value' % name), {'value': value})

    def add_shadow_rows(self, engine, count):
        """``count`` more soft-deleted shadow_compute_nodes, copies of the
        seed's row 7 with ids from 101 (one INSERT ... SELECT)."""
        with engine.begin() as connection:
            names = [name for name, in connection.execute(sqlalchemy.text(
                'SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE '
                "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
                "'shadow_compute_nodes' AND COLUMN_NAME NOT IN ('id', "
                "'deleted') ORDER BY ORDINAL_POSITION"))]
            columns = ', '.join('`%s`' % name for name in names)
            copied = ', '.join('s.`%s`' % name for name in names)
            connection.execute(sqlalchemy.text(
                'INSERT INTO shadow_compute_nodes (id, deleted, %s) SELECT '
                '100 + seq, 100 + seq, %s FROM shadow_compute_nodes s JOIN '
                'seq_1_to_%d WHERE s.id = 7' % (columns, copied, count)))

    def reference_233(self, shadow_rows=0):
        """The snapshot a standalone server ends with after 232 -> 233
        (classic) from the same rows."""
        reference = self.standalone()
        support.prepare_232(reference)
        if shadow_rows:
            self.add_shadow_rows(reference, shadow_rows)
        api.db_sync(reference, 233, strategy='classic')
        return support.snapshot(reference)

    def snapshot(self, node):
        """``support.snapshot`` of node ``node`` (0-2), read causally."""
        return support.snapshot(self.readers[node])

    def versions(self, node):
        """``support.versions`` of node ``node`` (0-2), read causally."""
        return support.versions(self.readers[node])

    def assertFaithfulEverywhere(self, expected):
        for node in range(3):
            self.assertEqual([], support.differences(
                expected, _without_lease(self.snapshot(node))),
                'node %d' % (node + 1))


class GaleraTestCase(ClusterTestCase):

    def test_faithful_on_every_node(self):
        """232 -> 233 -> 232 -> 233, each step run on another node: every
        node ends with the schema and rows a standalone server gets."""
        reference = self.standalone()
        support.prepare_232(reference)
        for version in (233, 232, 233):
            api.db_sync(reference, version, strategy='classic')
        expected = support.snapshot(reference)

        support.prepare_232(self.engines[0])
        api.db_sync(self.urls[1], 233)
        api.db_sync(self.urls[2], 232)
        api.db_sync(self.urls[0], 233, strategy='classic')
        self.assertFaithfulEverywhere(expected)

    def test_reads_on_another_node_are_causal(self):
        """Right after a sync on one node, another reports its result."""
        support.prepare_232(self.engines[0])
        for version in (233, 232, 233):
            api.db_sync(self.urls[0], version)
            self.assertEqual(version, api.db_version(self.urls[2]))
            report = api.db_check(self.urls[1])
            self.assertEqual((version, []),
                             (report.version, report.differences))

    def test_reads_wait_for_a_node_that_lags(self):
        """Node 3's applier is paused (FLUSH TABLES WITH READ LOCK) while
        node 1 migrates: db version and db check on node 3 wait until it
        has applied the step, instead of reporting the state it left."""
        support.prepare_232(self.engines[0])
        resume = self._pause_applier(2)
        api.db_sync(self.urls[0], 233)
        resume.start()
        began = time.monotonic()
        version = api.db_version(self.urls[2])
        waited = time.monotonic() - began
        resume.join()
        self.assertEqual(233, version)
        self.assertGreater(waited, 0.5)
        self.assertTrue(api.db_check(self.urls[2]).ok)

    def test_the_tests_own_reads_wait_for_a_node_that_lags(self):
        """The checks of these tests read through ``readers``: a row
        committed on node 1 is seen on node 3 even while node 3's applier
        is paused, once it has caught up (a plain read would not see it)."""
        support.prepare_232(self.engines[0])
        resume = self._pause_applier(2)
        with self.engines[0].begin() as connection:
            connection.execute(sqlalchemy.text(
                'UPDATE services SET disabled_reason = :reason WHERE id = '
                '1'), {'reason': 'seen causally'})
        resume.start()
        began = time.monotonic()
        with self.readers[2].connect() as connection:
            reason = connection.execute(sqlalchemy.text(
                'SELECT disabled_reason FROM services WHERE id = 1')).scalar()
        waited = time.monotonic() - began
        resume.join()
        self.assertEqual('seen causally', reason)
        self.assertGreater(waited, 0.5)

    def _pause_applier(self, node):
        """Pause node ``node``'s applier (FLUSH TABLES WITH READ LOCK);
        the timer returned, once started, resumes it a second later."""
        pause = self.engines[node].connect()
        self.addCleanup(pause.close)
        pause.execute(sqlalchemy.text('FLUSH TABLES WITH READ LOCK'))
        resume = threading.Timer(
            1.0, lambda: pause.execute(sqlalchemy.text('UNLOCK TABLES')))
        self.addCleanup(resume.cancel)
        return resume

    def _race(self, *argv):
        """4 db sync processes over the 3 nodes at once; their outputs."""
        processes = [support.Process(self, self.urls[index % 3], 'sync',
                                     *argv)
                     for index in range(4)]
        for process in processes:
            process.wait()
        report = '\n'.join(process.describe() for process in processes)
        self.assertEqual([0] * 4, [process.popen.returncode
                                   for process in processes], report)
        return processes, report

    def test_one_migrator_across_the_cluster(self):
        """Runs started together on different nodes: each step is applied
        by exactly one of them; the others wait, then find it done."""
        support.prepare_232(self.engines[0])
        for _ in range(2):
            for target, title in ((233, '232 -> 233'), (232, '233 -> 232')):
                processes, report = self._race(str(target))
                self.assertEqual(1, sum(title in process.stdout
                                        for process in processes), report)
                for node in range(3):
                    self.assertEqual([('nova', target)],
                                     self.versions(node), report)
        for number, url in enumerate(self.urls, 1):
            self.assertTrue(api.db_check(url).ok, 'node %d' % number)

    def _set_lease(self, holder, seconds_left):
        with self.engines[0].begin() as connection:
            connection.execute(sqlalchemy.text(
                'CREATE TABLE IF NOT EXISTS nova_schema_lock (name '
                'VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(255), '
                'expires DATETIME(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8'))
            connection.execute(sqlalchemy.text(
                "REPLACE INTO nova_schema_lock VALUES ('migrate', :holder, "
                'NOW(6) + INTERVAL :seconds SECOND)'),
                {'holder': holder, 'seconds': seconds_left})

    def test_a_live_lease_is_waited_for_and_named(self):
        support.prepare_232(self.engines[0])
        self._set_lease('otherhost pid 42 abc', 60)
        process = support.run_cli(self, self.urls[2], 'sync',
                                  '--lock-timeout', '2')
        self.assertEqual(2, process.popen.returncode, process.describe())
        [error] = [line for line in process.stderr.splitlines()
                   if ': error: ' in line]
        self.assertIn('waiting for the migration lock, held by another db '
                      'sync on the cluster (otherhost pid 42 abc', error)
        self.assertEqual([('nova', 232)], self.versions(2))

    def test_a_lease_left_by_a_killed_run_expires(self):
        support.prepare_232(self.engines[0])
        self._set_lease('killedhost pid 7 def', -1)
        process = support.run_cli(self, self.urls[1], 'sync')
        self.assertEqual(0, process.popen.returncode, process.describe())
        self.assertEqual([('nova', 233)], self.versions(1))
        with self.readers[2].connect() as connection:
            self.assertEqual((None, None), tuple(connection.execute(
                sqlalchemy.text('SELECT holder, expires FROM '
                                'nova_schema_lock')).one()))

    def test_rsu_is_refused_before_any_change(self):
        support.prepare_232(self.engines[0])
        before = self.snapshot(2)
        self._set_global(2, 'wsrep_OSU_method', 'RSU')
        process = support.run_cli(self, self.urls[2], 'sync')
        self.assertEqual(2, process.popen.returncode, process.describe())
        self.assertIn('232 -> 233 refused before any change: the node runs '
                      'DDL with wsrep_OSU_method=RSU', process.stderr)
        self.assertEqual([], support.differences(
            before, self.snapshot(2)))

    def test_required_primary_key_refuses_the_downgrade_up_front(self):
        support.prepare_232(self.engines[0])
        api.db_sync(self.urls[0], 233)
        before = self.snapshot(1)
        self._set_global(1, 'wsrep_mode', 'REQUIRED_PRIMARY_KEY')
        process = support.run_cli(self, self.urls[1], 'sync', '232')
        self.assertEqual(2, process.popen.returncode, process.describe())
        [line] = process.stderr.splitlines()
        self.assertIn('233 -> 232 refused before any change: the cluster has '
                      'wsrep_mode=REQUIRED_PRIMARY_KEY and the step creates '
                      'compute_node_stats without a primary key', line)
        self.assertEqual([], support.differences(
            before, self.snapshot(1)))

    def test_instant_alter_never_refuses_instant_and_auto_falls_back(self):
        """innodb_instant_alter_column_allowed=never (a global setting,
        tried on a node of the cluster, where the tests run one at a time)."""
        support.prepare_232(self.engines[0])
        self._set_global(2, 'innodb_instant_alter_column_allowed', 'never')
        process = support.run_cli(self, self.urls[2], 'sync', '--strategy',
                                  'instant')
        self.assertEqual(2, process.popen.returncode, process.describe())
        self.assertIn('the instant strategy cannot be used: the server has '
                      'innodb_instant_alter_column_allowed=never',
                      process.stderr)
        self.assertEqual([('nova', 232)], self.versions(2))
        [step] = api.db_sync(self.urls[2])
        self.assertEqual('classic', step.strategy)
        self.assertTrue(api.db_check(self.urls[0]).ok)

    # -- the classic fill in batches ------------------------------------------

    def _limit_rows(self, rows):
        for node in range(3):
            self._set_global(node, 'wsrep_max_ws_rows', rows)

    def _fill_in_batches_of_ten(self):
        """The cluster at 232 with 62 shadow rows and
        wsrep_max_ws_rows=10; returns what a standalone server ends with
        after 232 -> 233 from the same rows."""
        expected = self.reference_233(shadow_rows=60)
        support.prepare_232(self.engines[0])
        self.add_shadow_rows(self.engines[0], 60)
        self._limit_rows(10)
        return expected

    def test_classic_fill_stays_within_wsrep_max_ws_rows(self):
        """With wsrep_max_ws_rows=10 Nova's one UPDATE of 62 shadow rows
        fails; db sync --strategy classic fills them in batches of 10 and
        ends, on every node, as a standalone server does."""
        expected = self.reference_233(shadow_rows=60)
        support.prepare_232(self.engines[0])
        self.add_shadow_rows(self.engines[0], 60)
        with self.engines[0].begin() as connection:
            connection.execute(sqlalchemy.text(
                'CREATE TABLE fill_probe SELECT * FROM shadow_compute_nodes'))
            connection.execute(sqlalchemy.text(
                'ALTER TABLE fill_probe ADD stats TEXT'))
        self.addCleanup(self._admin, node_urls()[0],
                        'DROP TABLE IF EXISTS %s.fill_probe' % self.name)
        self._limit_rows(10)
        with testtools.ExpectedException(sqlalchemy.exc.OperationalError,
                                         '.*wsrep_max_ws_rows exceeded'):
            with self.engines[0].begin() as connection:
                connection.execute(sqlalchemy.text(
                    "UPDATE fill_probe SET stats = '{}'"))
        self._admin(node_urls()[0], 'DROP TABLE %s.fill_probe' % self.name)

        process = support.run_cli(self, self.urls[1], 'sync', '--strategy',
                                  'classic')
        self.assertEqual(0, process.popen.returncode, process.describe())
        self.assertIn("filling shadow_compute_nodes.stats with '{}' in "
                      'batches of at most 10 rows', process.stderr)
        self.assertFaithfulEverywhere(expected)

    def test_a_cut_fill_is_finished_by_a_rerun(self):
        """The fill cut after two committed batches of shadow rows: the
        database is reported half-applied, and db sync on another node
        finishes it as a standalone server ends."""
        expected = self._fill_in_batches_of_ten()
        batches = []

        def cut_at_the_third_batch(conn, cursor, statement, parameters,
                                   *args):
            # NOTE: by key range: a batch repeated after a certification
            # failure (at its commit, under load) is the same batch.
            if (statement.startswith('UPDATE shadow_compute_nodes SET stats')
                    and repr(parameters) not in batches):
                batches.append(repr(parameters))
                if len(batches) == 3:
                    raise support.InjectedFault('cut')

        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'after_cursor_execute',
                                cut_at_the_third_batch)
        try:
            error = self.assertRaises(exception.MigrationFailed,
                                      api.db_sync, self.urls[1], 233,
                                      strategy='classic')
        finally:
            sqlalchemy.event.remove(sqlalchemy.engine.Engine,
                                    'after_cursor_execute',
                                    cut_at_the_third_batch)
        # NOTE: on a cluster the state is read back, not inferred.
        self.assertEqual('232 -> 233 add_stats_in_compute_nodes failed: '
                         'cut; the database is at 232 with 232 -> 233 '
                         'half-applied (4 of 4 operations done): run db '
                         'sync to finish', str(error))
        with self.readers[2].connect() as connection:
            self.assertEqual([(None, 42), ('{}', 20)], [
                tuple(row) for row in connection.execute(sqlalchemy.text(
                    'SELECT stats, COUNT(*) FROM shadow_compute_nodes '
                    'GROUP BY stats ORDER BY stats'))])
        self.assertEqual('232 -> 233 half-applied (4 of 4 operations done): '
                         'run db sync to finish',
                         api.db_half_applied(self.urls[2]))
        process = support.run_cli(self, self.urls[2], 'sync', '--strategy',
                                  'classic')
        self.assertEqual(0, process.popen.returncode, process.describe())
        self.assertFaithfulEverywhere(expected)

    def test_rows_inserted_during_the_fill_keep_null(self):
        """A row Nova inserts (without stats) while the fill is under way
        keeps NULL, as it would inserted after Nova's one UPDATE; every row
        there before the fill began holds '{}'."""
        support.prepare_232(self.engines[0])
        self.add_shadow_rows(self.engines[0], 60)
        self._limit_rows(10)
        shadow = support.reflect(self.engines[0], 'shadow_compute_nodes')
        inserted = []

        def insert_after_the_first_batch(conn, cursor, statement, *args):
            if (statement.startswith('UPDATE shadow_compute_nodes SET stats')
                    and not inserted):
                inserted.append(statement)
                with self.engines[2].begin() as other:
                    other.execute(shadow.insert(), [support.node_row(
                        100000, 5, deleted=100000, deleted_at=support.T2)])

        sqlalchemy.event.listen(self.engines[1].__class__,
                                'after_cursor_execute',
                                insert_after_the_first_batch)
        try:
            api.db_sync(self.urls[1], 233, strategy='classic')
        finally:
            sqlalchemy.event.remove(self.engines[1].__class__,
                                    'after_cursor_execute',
                                    insert_after_the_first_batch)
        self.assertEqual(1, len(inserted))
        for number, engine in enumerate(self.readers, 1):
            with engine.connect() as connection:
                self.assertEqual(
                    [(None, 1, 100000), ('{}', 62, 160)],
                    [tuple(row) for row in connection.execute(
                        sqlalchemy.text(
                            'SELECT stats, COUNT(*), MAX(id) FROM '
                            'shadow_compute_nodes GROUP BY stats ORDER BY '
                            'stats'))], 'node %d' % number)

    def _hold_a_row_during_the_fill(self, row_id, seconds):
        """Once the fill has committed its first batch, Nova (a transaction
        on the node db sync uses) locks shadow row ``row_id``, which a
        later batch must update, for ``seconds`` (None: until the test
        commits it). Returns that transaction's connection and a list that
        records the first batch."""
        nova = self.engines[1].connect()
        self.addCleanup(nova.close)
        began = []

        def lock_after_the_first_batch(conn, cursor, statement, *args):
            if (statement.startswith('UPDATE shadow_compute_nodes SET stats')
                    and not began and conn.engine is not self.engines[1]):
                began.append(nova.begin())
                nova.execute(sqlalchemy.text(
                    'SELECT id FROM shadow_compute_nodes WHERE id = :id FOR '
                    'UPDATE'), {'id': row_id})
                if seconds is not None:
                    timer = threading.Timer(seconds, began[0].commit)
                    timer.start()
                    self.addCleanup(timer.join)

        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'after_cursor_execute',
                                lock_after_the_first_batch)
        self.addCleanup(sqlalchemy.event.remove, sqlalchemy.engine.Engine,
                        'after_cursor_execute', lock_after_the_first_batch)
        return began

    def test_the_fill_waits_out_a_nova_row_lock_in_bounded_tries(self):
        """A Nova transaction holds a row the fill has yet to reach for
        2.5 s: no batch waits longer than --lock-wait (1 s) for it, db
        sync says what it waits for, tries again until the row is free,
        and ends as a standalone server does."""
        expected = self._fill_in_batches_of_ten()
        began = self._hold_a_row_during_the_fill(150, 2.5)
        waits = []
        started = time.monotonic()
        api.db_sync(self.urls[1], 233, strategy='classic', lock_wait=1,
                    lock_timeout=30, on_wait=waits.append)
        self.assertEqual(1, len(began))
        self.assertGreater(time.monotonic() - started, 2.5)
        self.assertNotEqual([], waits)
        self.assertIn('waiting for a lock on table shadow_compute_nodes, '
                      'held by thread ', waits[0])
        self.assertFaithfulEverywhere(expected)

    def test_a_nova_row_lock_past_lock_timeout_leaves_a_finishable_fill(self):
        """The row stays locked past --lock-timeout: db sync gives up in
        one error that says the fill is half-done; the batches before the
        row stay committed, and once Nova commits a re-run finishes."""
        expected = self._fill_in_batches_of_ten()
        began = self._hold_a_row_during_the_fill(150, None)
        started = time.monotonic()
        error = self.assertRaises(exception.LockTimeout, api.db_sync,
                                  self.urls[1], 233, strategy='classic',
                                  lock_wait=1, lock_timeout=3)
        # NOTE: --lock-timeout, plus one --lock-wait the last try may take,
        # plus the state read back: never the server's 50 s row lock wait.
        self.assertLess(time.monotonic() - started, 8)
        self.assertIn('waiting for a lock on table shadow_compute_nodes, '
                      'held by thread ', str(error))
        self.assertIn('232 -> 233 half-applied (4 of 4 operations done): '
                      'run db sync to finish', str(error))
        with self.readers[2].connect() as connection:
            filled = connection.execute(sqlalchemy.text(
                "SELECT COUNT(*) FROM shadow_compute_nodes WHERE stats = "
                "'{}'")).scalar()
        self.assertGreaterEqual(filled, 10)
        began[0].commit()
        api.db_sync(self.urls[2], 233, strategy='classic')
        self.assertFaithfulEverywhere(expected)

    def test_a_row_over_wsrep_max_ws_size_refuses_classic_up_front(self):
        """The seed's 100 KB cpu_info row cannot be filled within
        wsrep_max_ws_size=100000 (its write set carries it twice): classic
        is refused before any change; instant, which writes no row, runs."""
        support.prepare_232(self.engines[0])
        before = self.snapshot(1)
        for node in range(3):
            self._set_global(node, 'wsrep_max_ws_size', 100000)
        process = support.run_cli(self, self.urls[1], 'sync', '--strategy',
                                  'classic')
        self.assertEqual(2, process.popen.returncode, process.describe())
        [line] = process.stderr.splitlines()
        self.assertIn('232 -> 233 add_stats_in_compute_nodes refused before '
                      'any change: the cluster has wsrep_max_ws_size=100000 '
                      'and a row of compute_nodes needs a write set of '
                      'about ', line)
        self.assertEqual([], support.differences(
            before, self.snapshot(1)))
        [step] = api.db_sync(self.urls[1], strategy='instant')
        self.assertEqual('instant', step.strategy)
        self.assertTrue(api.db_check(self.urls[2]).ok)
