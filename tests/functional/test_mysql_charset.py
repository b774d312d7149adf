"""MySQL: 233's downgrade recreates its tables InnoDB and utf8, whatever
the database's default character set.

Real Nova databases may have been converted to utf8mb4 by hand or created
on a server whose default is utf8mb4. Nova's downgrade names the engine and
the character set of both tables it recreates, so they come back as the
baseline made them (docs/schema-facts.md): InnoDB, utf8, which MariaDB 10.11
reports as utf8mb3 with collation utf8mb3_general_ci. Read from
information_schema directly, not through nova_schema's own introspection.
"""
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from tests import base
from tests.functional import command_base

UTF8 = {'engine': 'InnoDB', 'collation': 'utf8mb3_general_ci',
        'charset': 'utf8mb3'}
TABLES_232 = ('compute_node_stats', 'compute_nodes', 'services',
              'shadow_compute_node_stats', 'shadow_compute_nodes',
              'shadow_services')


class TestDowngradeOnUtf8mb4DatabaseMySQL(
        command_base.CommandChecks, base.DatabaseTestMixin,
        test_fixtures.OpportunisticDBTestMixin, testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture

    def database_default(self):
        with self.engine.connect() as conn:
            return tuple(conn.execute(sqlalchemy.text(
                'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME '
                'FROM information_schema.SCHEMATA '
                'WHERE SCHEMA_NAME = DATABASE()')).one())

    def text_columns(self, table):
        """{column: (charset, collation)} of ``table``'s string columns."""
        with self.engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                'SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME '
                'FROM information_schema.COLUMNS '
                'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name '
                'AND CHARACTER_SET_NAME IS NOT NULL'), {'name': table})
            return {row[0]: (row[1], row[2]) for row in rows}

    def test_stats_tables_come_back_innodb_utf8(self):
        self.build(233)
        self.execute('ALTER DATABASE `%s` CHARACTER SET utf8mb4 '
                     'COLLATE utf8mb4_general_ci' % self.engine.url.database)
        # NOTE: the precondition: a new table would now be utf8mb4.
        self.assertEqual(('utf8mb4', 'utf8mb4_general_ci'),
                         self.database_default())

        self.assertSucceeded(self.run_cli('db', 'sync', '232'))

        self.assertEqual(232, self.version())
        for table in ('compute_node_stats', 'shadow_compute_node_stats'):
            self.assertEqual(UTF8, base.mysql_table_options(self.engine,
                                                            table), table)
            self.assertEqual(
                {'key': ('utf8mb3', 'utf8mb3_general_ci'),
                 'value': ('utf8mb3', 'utf8mb3_general_ci')},
                self.text_columns(table), table)
        # NOTE: dropping stats leaves the node tables as they were, and the
        # downgrade, like Nova's, leaves the database default alone.
        self.assertEqual(
            {table: UTF8 for table in TABLES_232},
            {table: base.mysql_table_options(self.engine, table)
             for table in TABLES_232})
        self.assertEqual(('utf8mb4', 'utf8mb4_general_ci'),
                         self.database_default())
