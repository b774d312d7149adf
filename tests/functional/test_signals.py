"""SIGINT and SIGTERM in the middle of 233: one line, nothing left running.

The test waits until the real ``nova-schema-manage db sync`` is inside the
step (on MySQL and PostgreSQL: the server shows its ALTER TABLE of
shadow_compute_nodes executing, waiting for the lock of a transaction the
test holds open on that table,
with --lock-wait long enough that only a cancel on the server ends it in
time; on SQLite: the rollback journal of a long step exists),
sends the signal, and expects: exit status 128 + the signal within a few
seconds, exactly one line on stderr saying what was interrupted and what
state it left, no traceback, no statement of the run still executing on
the server, and a re-run that ends exactly where an uninterrupted run
ends.
"""
import os
import signal
import time

import fixtures
import sqlalchemy

from nova_schema import api
from tests.functional import sync_support as support

# Shadow rows, so that filling stats takes a noticeable time.
SHADOW_ROWS = 1000
DOUBLINGS = 6
ENDS_WITHIN = 10.0


def _prepare_big_232(engine):
    api.db_sync(engine, support.BASELINE)
    data = support.seed_data_232()
    data['shadow_compute_nodes'] += [
        support.node_row(id_, 5, deleted=id_, cpu_info='x' * 200,
                         host_ip='192.0.2.7')
        for id_ in range(1000, 1000 + SHADOW_ROWS)]
    support.insert(engine, data)
    table = support.reflect(engine, 'shadow_compute_nodes')
    others = [column for column in table.c if column.name != 'id']
    with engine.begin() as connection:
        for _ in range(DOUBLINGS):
            offset = connection.execute(
                sqlalchemy.select(sqlalchemy.func.max(table.c.id))).scalar()
            connection.execute(table.insert().from_select(
                ['id'] + [column.name for column in others],
                sqlalchemy.select(table.c.id + offset, *others)))


class SignalChecks(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(300, gentle=True))

    def _interrupt(self, signal_number):
        expected = self.clean_run(self.PREPARE)
        database = self.fresh_database()
        self.PREPARE(database.engine)
        release = self.block_step(database)
        process = support.Process(self, database.url, 'sync',
                                  '--lock-wait', '60')
        support.wait_until(
            lambda: self.in_step(database) or
            process.popen.poll() is not None, 120,
            'db sync to be inside the step')
        self.assertIsNone(process.popen.poll(), process.describe())
        sent = time.monotonic()
        process.popen.send_signal(signal_number)
        status = process.wait(60)
        took = time.monotonic() - sent
        report = process.describe()
        self.assertEqual(128 + signal_number, status, report)
        self.assertLess(took, ENDS_WITHIN, report)
        self.assertEqual([], self.running_statements(database), report)
        lines = process.stderr.splitlines()
        errors = [line for line in lines if ': error: ' in line]
        self.assertEqual(lines[-1:], errors, report)
        self.assertEqual(1, len(errors), report)
        self.assertNotIn('Traceback', process.stderr + process.stdout)
        self.assertIn('interrupted by %s during 232 -> 233 '
                      'add_stats_in_compute_nodes; '
                      % signal.Signals(signal_number).name, errors[0])
        self.assertIn(self.STATE_LEFT, errors[0], report)
        release()
        again = support.run_cli(self, database.url, 'sync')
        self.assertEqual(0, again.popen.returncode, again.describe())
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))

    def test_sigint(self):
        self._interrupt(signal.SIGINT)

    def test_sigterm(self):
        self._interrupt(signal.SIGTERM)


class _RowLocked(object):
    """The step's ALTER TABLE shadow_compute_nodes waits for a lock."""

    PREPARE = staticmethod(support.prepare_232)

    def block_step(self, database):
        return support.hold_open(
            self, database.engine,
            'SELECT id FROM shadow_compute_nodes WHERE id = 7 FOR UPDATE')


class TestSignalsMySQL(_RowLocked, SignalChecks, support.MySQLTestCase):
    STATE_LEFT = 'the database is at 232 with 232 -> 233 half-applied'

    def _processes(self, database, pattern):
        with database.engine.connect() as connection:
            return [row[0] for row in connection.execute(sqlalchemy.text(
                'SELECT INFO FROM information_schema.PROCESSLIST '
                'WHERE DB = DATABASE() AND ID <> CONNECTION_ID() '
                "AND COMMAND = 'Query' AND INFO LIKE :pattern"),
                {'pattern': pattern})]

    def in_step(self, database):
        return self._processes(database, '%ALTER TABLE shadow_compute_nodes%')

    def running_statements(self, database):
        return self._processes(database, '%')


class TestSignalsPostgreSQL(_RowLocked, SignalChecks,
                            support.PostgreSQLTestCase):
    STATE_LEFT = 'nothing was changed (the run was rolled back)'

    def _active(self, database, pattern):
        with database.engine.connect() as connection:
            return [row[0] for row in connection.execute(sqlalchemy.text(
                "SELECT query FROM pg_stat_activity WHERE state = 'active' "
                'AND datname = current_database() '
                'AND pid <> pg_backend_pid() AND query LIKE :pattern'),
                {'pattern': pattern})]

    def in_step(self, database):
        return self._active(database, '%ALTER TABLE shadow_compute_nodes%')

    def running_statements(self, database):
        return self._active(database, '%')


class TestSignalsSQLite(SignalChecks, support.SQLiteTestCase):
    STATE_LEFT = 'nothing was changed (the run was rolled back)'
    PREPARE = staticmethod(_prepare_big_232)

    def block_step(self, database):
        return lambda: None

    def in_step(self, database):
        return os.path.exists(database.engine.url.database + '-journal')

    def running_statements(self, database):
        # NOTE: no server; the process is gone, and its lock with it.
        return []
