"""A Galera member killed (SIGKILL) in the middle of db sync.

In the middle of the upgrade's fill (classic, in batches: the rows are
many and wsrep_max_ws_rows small, so that the fill lasts seconds; the kill
comes once the tool says it is filling) and of the downgrade (DROP COLUMN
made a table rebuild with innodb_instant_alter_column_allowed=add_last;
the kill comes once the rebuild is seen running): killed, the member the
tool does not use, and separately the one it uses. The tool then ends
with one line saying what happened and where the database stands; db sync
run again against a surviving member finishes; the killed member rejoins
(``tools/galera.sh start``) and db check passes against every member.
Serialized with test_galera (``group_regex`` in ``.stestr.conf``).
"""
import os
import signal
import subprocess
import time

import sqlalchemy

from nova_schema import api
from tests.functional import sync_support as support
from tests.functional import test_galera

SHADOW_ROWS = 3000
BATCH_ROWS = 20
DOWNGRADE_TRIES = 3
DATADIRS = os.environ.get('GALERA_DIR', '/var/tmp/nova_schema_galera')


def kill_node(number):
    """SIGKILL the mariadbd of member ``number`` (1-3)."""
    with open(os.path.join(DATADIRS, 'node%d' % number,
                           'mysqld.pid')) as pid_file:
        pid = int(pid_file.read().strip())
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def restart_cluster():
    """tools/galera.sh start: restarts what is down, waits for Synced."""
    result = subprocess.run([test_galera.GALERA, 'start'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=180)
    assert result.returncode == 0, result.stdout


def wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(0.01)


class NodeFailureTestCase(test_galera.ClusterTestCase):

    def setUp(self):
        super().setUp()
        # NOTE: whatever happens, the cluster is whole again at the end.
        self.addCleanup(restart_cluster)

    def _prepare(self):
        support.prepare_232(self.engines[0])
        self.add_shadow_rows(self.engines[0], SHADOW_ROWS)

    def _rejoined_and_checked(self, killed):
        restart_cluster()
        self.dispose_all()
        for number, url in enumerate(self.urls, 1):
            report = api.db_check(url)
            self.assertTrue(report.ok, 'node %d: %s' % (
                number, report.differences))
        with self.engines[killed - 1].connect() as connection:
            self.assertEqual('Synced', connection.execute(sqlalchemy.text(
                "SHOW STATUS LIKE 'wsrep_local_state_comment'")).one()[1])

    def _assertOneLine(self, process):
        """Exit 2, one error line on stderr (besides warnings and the
        fill's progress); no traceback, no password."""
        self.assertEqual(2, process.popen.returncode, process.describe())
        errors = [line for line in process.stderr.splitlines()
                  if not line.startswith(('nova-schema-manage: warning: ',
                                          'nova-schema-manage: filling '))]
        self.assertEqual(1, len(errors), process.describe())
        self.assertIn(': error: ', errors[0])
        self.assertNotIn('Traceback', process.stderr)
        self.assertNotIn(':openstack_citest@', process.stderr)
        return errors[0]

    def _all_filled(self):
        for number, engine in enumerate(self.readers, 1):
            with engine.connect() as connection:
                self.assertEqual([('{}', SHADOW_ROWS + 2)], [
                    tuple(row) for row in connection.execute(sqlalchemy.text(
                        'SELECT stats, COUNT(*) FROM shadow_compute_nodes '
                        'GROUP BY stats'))], 'node %d' % number)

    # -- the upgrade's fill ---------------------------------------------------

    def _kill_mid_fill(self, used, killed):
        """db sync --strategy classic on member ``used``; member
        ``killed`` SIGKILLed once the shadow fill is under way."""
        self._prepare()
        for node in range(3):
            self._set_global(node, 'wsrep_max_ws_rows', BATCH_ROWS)
        process = support.Process(self, self.urls[used - 1], 'sync',
                                  '--strategy', 'classic')
        wait_for(lambda: 'filling shadow_compute_nodes' in process.stderr
                 or process.popen.poll() is not None, 'the fill')
        self.assertIsNone(process.popen.poll(), process.describe())
        kill_node(killed)
        process.wait(120)
        return process

    def test_member_not_used_killed_mid_fill(self):
        process = self._kill_mid_fill(used=2, killed=3)
        # NOTE: the two others carry on once they have agreed that the
        # third is gone.
        self.assertEqual(0, process.popen.returncode, process.describe())
        self.assertEqual(233, api.db_version(self.urls[0]))
        self._rejoined_and_checked(killed=3)
        self._all_filled()

    def test_member_used_killed_mid_fill(self):
        process = self._kill_mid_fill(used=2, killed=2)
        line = self._assertOneLine(process)
        self.assertIn('232 -> 233 add_stats_in_compute_nodes failed: lost '
                      'connection to the database server (', line)
        self.assertRegex(line, r'; read back from 127\.0\.0\.1:430[13]: '
                         r'the database is at 232 with 232 -> 233 '
                         r'half-applied \(4 of 4 operations done\): run db '
                         r'sync to finish$')
        # NOTE: the lease was given back through another member: the
        # re-run does not wait for it to expire.
        began = time.monotonic()
        rerun = support.run_cli(self, self.urls[0], 'sync', '--strategy',
                                'classic')
        self.assertEqual(0, rerun.popen.returncode, rerun.describe())
        self.assertLess(time.monotonic() - began, 25)
        self._rejoined_and_checked(killed=2)
        self._all_filled()

    # -- the downgrade --------------------------------------------------------

    def _kill_mid_downgrade(self, used, killed):
        """db sync 232 on member ``used`` with DROP COLUMN rebuilding the
        table; member ``killed`` SIGKILLed once the shadow table's rebuild
        runs."""
        self._prepare()
        # NOTE: rows of 8 KB, so that the rebuild lasts long enough to be
        # seen (a fraction of a second).
        with self.engines[0].begin() as connection:
            connection.execute(sqlalchemy.text(
                "UPDATE shadow_compute_nodes SET cpu_info = REPEAT('x', "
                '8000) WHERE id > 100'))
        api.db_sync(self.urls[0], 233)
        for node in range(3):
            self._set_global(node, 'innodb_instant_alter_column_allowed',
                             'add_last')
        watcher = self.engines[used - 1].connect()
        self.addCleanup(watcher.close)

        def rebuilding():
            return watcher.execute(sqlalchemy.text(
                'SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE '
                "INFO LIKE 'ALTER TABLE shadow_compute_nodes DROP%'")
            ).scalar() > 0

        # NOTE: on a busy machine the rebuild may end between two looks;
        # the downgrade is then undone and tried again.
        for attempt in range(DOWNGRADE_TRIES):
            process = support.Process(self, self.urls[used - 1], 'sync',
                                      '232')
            wait_for(lambda: rebuilding() or process.popen.poll() is not None,
                     'the rebuild')
            if process.popen.poll() is None:
                break
            self.assertEqual(0, process.popen.returncode, process.describe())
            api.db_sync(self.urls[0], 233, strategy='instant')
        self.assertIsNone(process.popen.poll(), 'the rebuild was never seen')
        watcher.close()
        kill_node(killed)
        process.wait(120)
        return process

    def test_member_not_used_killed_mid_downgrade(self):
        process = self._kill_mid_downgrade(used=1, killed=3)
        self.assertEqual(0, process.popen.returncode, process.describe())
        self.assertEqual(232, api.db_version(self.urls[1]))
        self._rejoined_and_checked(killed=3)

    def test_member_used_killed_mid_downgrade(self):
        process = self._kill_mid_downgrade(used=3, killed=3)
        line = self._assertOneLine(process)
        self.assertIn('233 -> 232 add_stats_in_compute_nodes failed: lost '
                      'connection to the database server (', line)
        self.assertRegex(line, r'; read back from 127\.0\.0\.1:430[12]: '
                         r'the database is at 233 with 233 -> 232 '
                         r'half-applied \([12] of 4 operations done\): run '
                         r'db sync 232 to finish$')
        rerun = support.run_cli(self, self.urls[1], 'sync', '232')
        self.assertEqual(0, rerun.popen.returncode, rerun.describe())
        self._rejoined_and_checked(killed=3)
