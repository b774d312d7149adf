"""MySQL: strict and ANSI sql_modes, and InnoDB/utf8 after every step.

nova_schema's own engines use sql_mode TRADITIONAL; an engine handed to
db_sync keeps whatever sql_mode its creator chose. The walk 231 -> 232 ->
233 -> 232 -> 233 with data must work under strict modes too, leave every
table InnoDB and utf8 after each step (oslo.db's schema sanity check
passes), and end with exactly the schema and rows of a default run.
"""
from oslo_db.sqlalchemy import engines
from oslo_db.sqlalchemy import migration as oslo_migration
import sqlalchemy
import testscenarios

from nova_schema import api
from tests.functional import sync_support as support

STRICT = ('STRICT_ALL_TABLES,STRICT_TRANS_TABLES,NO_ZERO_DATE,'
          'NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,ONLY_FULL_GROUP_BY,'
          'NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,'
          'PAD_CHAR_TO_FULL_LENGTH')
# ANSI brings ANSI_QUOTES: "x" is an identifier, no longer a string.
ANSI = 'ANSI,STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE'


def _seed_232(engine):
    data = support.seed_data_232()
    # NOTE: quotes and backslashes, which NO_BACKSLASH_ESCAPES and
    # ANSI_QUOTES read differently in a literal.
    data['compute_nodes'][0]['cpu_info'] = '{"path": "C:\\\\x", "q": "\'"}'
    support.insert(engine, data)


def _walk(test, engine, check):
    """231 -> 232, seed, -> 233, -> 232, -> 233, ``check`` after each."""
    api.db_sync(engine, support.BASELINE)
    check(support.BASELINE)
    _seed_232(engine)
    for version in (support.HEAD, support.BASELINE, support.HEAD):
        api.db_sync(engine, version)
        check(version)


class _InnoDBUtf8Checks(object):

    def _tables(self, engine):
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                'SELECT TABLE_NAME, ENGINE, TABLE_COLLATION '
                'FROM information_schema.TABLES '
                'WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME')).all()

    def _text_columns(self, engine):
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                'SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME, '
                'COLLATION_NAME FROM information_schema.COLUMNS '
                'WHERE TABLE_SCHEMA = DATABASE() '
                'AND CHARACTER_SET_NAME IS NOT NULL')).all()

    def assertInnoDBUtf8(self, engine, version):
        tables = self._tables(engine)
        self.assertIn('migrate_version', [row[0] for row in tables])
        for name, table_engine, collation in tables:
            self.assertEqual(('InnoDB', 'utf8mb3_general_ci'),
                             (table_engine, collation),
                             'table %s at %d' % (name, version))
        for table, column, charset, collation in self._text_columns(engine):
            self.assertEqual(('utf8mb3', 'utf8mb3_general_ci'),
                             (charset, collation),
                             '%s.%s at %d' % (table, column, version))
        # oslo.db's own check (db sync runs it before each MySQL step).
        oslo_migration._db_schema_sanity_check(engine)


class TestMySQLInnoDBUtf8(_InnoDBUtf8Checks, support.MySQLTestCase):

    def test_innodb_utf8_after_each_step(self):
        database = self.fresh_database()
        _walk(self, database.engine, lambda version: self.assertInnoDBUtf8(
            database.engine, version))


class TestMySQLModes(testscenarios.WithScenarios, _InnoDBUtf8Checks,
                     support.MySQLTestCase):

    scenarios = [('strict', {'sql_mode': STRICT}),
                 ('ansi', {'sql_mode': ANSI})]

    def test_walk_under_sql_mode(self):
        reference = self.fresh_database()
        _walk(self, reference.engine, lambda version: None)
        expected = support.snapshot(reference.engine)

        database = self.fresh_database()
        engine = engines.create_engine(database.url,
                                       mysql_sql_mode=self.sql_mode,
                                       max_retries=0)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            mode = set(conn.execute(sqlalchemy.text(
                'SELECT @@SESSION.sql_mode')).scalar().split(','))
        self.assertLessEqual(set(self.sql_mode.split(',')) - {'ANSI'}, mode)

        checked = []

        def check(version):
            self.assertInnoDBUtf8(engine, version)
            checked.append(version)

        _walk(self, engine, check)
        self.assertEqual([232, 233, 232, 233], checked)
        self.assertEqual([], support.differences(
            expected, support.snapshot(engine)))
