"""nova_schema.database.explain: driver errors a user can act on, without a
server (the same errors from real servers: tests/functional/
test_driver_errors.py)."""
import socket
import sqlite3
import threading

import fixtures
from oslo_db import exception as db_exc
import pymysql
from sqlalchemy import exc as sa_exc
import testtools

from nova_schema import database
from tests import cli_helpers


class TestExplain(testtools.TestCase):
    """Driver errors a user can act on get their own short phrase.

    The PostgreSQL cases need a server (psycopg2 sets pgcode itself); they
    are in tests/functional/test_driver_errors.py.
    """

    def test_mysql_permission_denied(self):
        error = pymysql.err.OperationalError(
            1142, "ALTER command denied to user 'ro'@'localhost' for table "
            "'compute_nodes'")
        self.assertEqual(
            "permission denied: ALTER command denied to user 'ro'@'localhost'"
            " for table 'compute_nodes'", database.explain(error))

    def test_mysql_missing_table(self):
        for number, message in (
                (1146, "Table 'nova.compute_node_stats' doesn't exist"),
                (1051, "Unknown table 'nova.compute_node_stats'")):
            error = pymysql.err.ProgrammingError(number, message)
            self.assertEqual('table compute_node_stats does not exist',
                             database.explain(error))

    def test_mysql_lost_connection(self):
        for number, message in (
                (2013, 'Lost connection to MySQL server during query'),
                (2006, 'MySQL server has gone away')):
            error = pymysql.err.OperationalError(number, message)
            self.assertEqual(
                'lost connection to the database server (%s)' % message,
                database.explain(error))

    def test_sqlite(self):
        self.assertEqual(
            'table compute_node_stats does not exist',
            database.explain(sqlite3.OperationalError(
                'no such table: main.compute_node_stats')))
        self.assertEqual(
            'permission denied: attempt to write a readonly database',
            database.explain(sqlite3.OperationalError(
                'attempt to write a readonly database')))

    def test_wrapped_errors_are_explained(self):
        orig = pymysql.err.OperationalError(2013, 'Lost connection')
        wrapped = sa_exc.OperationalError('SELECT 1', {}, orig)
        for error in (wrapped, db_exc.DBConnectionError(wrapped)):
            self.assertEqual(
                'lost connection to the database server (Lost connection)',
                database.explain(error))

    def test_anything_else_is_not_explained(self):
        for error in (pymysql.err.OperationalError(1205, 'Lock wait timeout'),
                      sqlite3.OperationalError('database is locked'),
                      ValueError('no')):
            self.assertIsNone(database.explain(error))

    def test_first_line_uses_the_explanation(self):
        error = pymysql.err.OperationalError(2006, 'MySQL server has gone '
                                             'away')
        self.assertEqual('lost connection to the database server (MySQL '
                         'server has gone away)', database.first_line(error))


class HangUpServer(fixtures.Fixture):
    """A TCP port on 127.0.0.1 that accepts every connection and closes it."""

    def _setUp(self):
        self.socket = socket.socket()
        self.socket.bind(('127.0.0.1', 0))
        self.socket.listen(8)
        self.port = self.socket.getsockname()[1]
        self.addCleanup(self.socket.close)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            connection.close()


class TestServerThatHangsUp(testtools.TestCase):
    """A connection the server drops at once, through the command line."""

    def setUp(self):
        super().setUp()
        self.port = self.useFixture(HangUpServer()).port

    def assertLost(self, driver, detail):
        url = '%s://nova:s3cret-pw@127.0.0.1:%d/nova' % (driver, self.port)
        result = cli_helpers.run_cli(['--database-connection', url, 'db',
                                      'version'])
        self.assertEqual(
            (2, '', 'nova-schema-manage: error: cannot use database '
             '%s://nova:***@127.0.0.1:%d/nova: lost connection to the '
             'database server (%s)\n' % (driver, self.port, detail)),
            result)

    def test_mysql(self):
        self.assertLost('mysql+pymysql',
                        'Lost connection to MySQL server during query')

    def test_postgresql(self):
        self.assertLost('postgresql+psycopg2',
                        'connection to server at "127.0.0.1", port %d '
                        'failed: server closed the connection unexpectedly'
                        % self.port)
