"""nova_schema.backends.base.engine_on: the Engine the scripts run on, over
the connection a session holds (its lock, its transaction)."""
import sqlalchemy
import testtools

from nova_schema.backends import base


class TestEngineOn(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.base_engine = sqlalchemy.create_engine('sqlite://')
        self.addCleanup(self.base_engine.dispose)
        self.held = self.base_engine.connect()
        self.addCleanup(self.held.close)
        self.dbapi = self.held.connection.dbapi_connection
        self.initialized = []
        dialect_class = type(self.base_engine.dialect)
        original = dialect_class.initialize

        def counting(dialect, connection):
            self.initialized.append(dialect)
            return original(dialect, connection)

        self.patch(dialect_class, 'initialize', counting)

    def _run_on(self, engine, *statements):
        with engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)

    def test_the_dialect_is_not_initialized_again(self):
        """A new create_engine would ask the server its version, isolation
        level and so on again, over a connection the base engine set up
        (seven queries on MySQL, four on PostgreSQL, per run)."""
        engine = base.engine_on(self.base_engine, self.dbapi)
        self._run_on(engine, 'CREATE TABLE t (x INTEGER)')
        self.assertEqual([], self.initialized)
        self.assertIs(self.base_engine.dialect, engine.dialect)
        self.assertEqual(
            [('t',)], self.held.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'").all())

    def test_giving_the_connection_back_rolls_nothing_back(self):
        """The session ends the connection's transaction; the pool's
        rollback on each return was a round trip per use on MySQL."""
        engine = base.engine_on(self.base_engine, self.dbapi)
        self.dbapi.execute('BEGIN')
        self._run_on(engine, 'SELECT 1')
        self.assertTrue(self.dbapi.in_transaction)
        self.dbapi.rollback()

    def test_transactional_commits_nothing_and_leaves_the_base_alone(self):
        self.dbapi.execute('BEGIN')
        engine = base.engine_on(self.base_engine, self.dbapi,
                                transactional=True)
        with engine.begin() as connection:
            connection.exec_driver_sql('CREATE TABLE t (x INTEGER)')
        self.assertEqual([], self.initialized)
        self.assertTrue(self.dbapi.in_transaction)
        self.dbapi.rollback()
        self.assertEqual([], self.held.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'").all())
        # NOTE: the base engine's own commits are still real.
        self.dbapi.execute('BEGIN')
        with self.base_engine.begin() as connection:
            connection.exec_driver_sql('CREATE TABLE kept (x INTEGER)')
        self.dbapi.rollback()
        self.assertEqual([('kept',)], self.held.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'").all())
