"""The pre-flight check's fast view of the tables says what db check says.

``Backend.describe_tables`` (one catalog query on PostgreSQL) must give,
table for table, exactly what ``introspect.describe_schema`` (SQLAlchemy's
Inspector, which ``db check`` and the expected schema files use) gives, and
``Backend.reflected_columns`` (what the migration script reflects) the
Inspector's columns: at
every version and variant of this repository, and on a schema changed by
hand in the ways the pre-flight check must see (keys, indexes and unique
constraints of several columns in a chosen order, a partial index, an
expression index, defaults, identity and generated columns, a domain).
"""
import warnings

import sqlalchemy

from nova_schema import api
from nova_schema import backends
from nova_schema import introspect
from tests.functional import sync_support as support

TABLES_233 = ['services', 'shadow_services', 'compute_nodes',
              'shadow_compute_nodes']
TABLES_232 = TABLES_233 + ['compute_node_stats', 'shadow_compute_node_stats']


class DescribeTablesChecks(object):

    def assertSameView(self, engine, expected_tables):
        backend = backends.get(engine)
        with engine.connect() as connection, warnings.catch_warnings():
            # NOTE: the Inspector warns that it skips an expression index.
            warnings.simplefilter('ignore', sqlalchemy.exc.SAWarning)
            reference = introspect.describe_schema(connection, backend)
            fast = backend.describe_tables(
                connection, list(reference) + ['no_such_table'])
            columns = {name: introspect.describe_columns(
                backend.reflected_columns(connection, name),
                connection.dialect) for name in reference}
            self.assertRaises(sqlalchemy.exc.NoSuchTableError,
                              backend.reflected_columns, connection,
                              'no_such_table')
        self.assertEqual(sorted(expected_tables), sorted(reference))
        for name in reference:
            self.assertEqual(reference[name], fast.get(name), name)
            self.assertEqual(reference[name]['columns'], columns[name], name)
        self.assertEqual(sorted(reference), sorted(fast))

    def test_every_version(self):
        engine = self.fresh_database().engine
        support.prepare_232(engine)
        self.assertSameView(engine, TABLES_232)
        api.db_sync(engine, support.HEAD)
        self.assertSameView(engine, TABLES_233)
        api.db_sync(engine, support.BASELINE)
        self.assertSameView(engine, TABLES_232)

    def test_changed_by_hand(self):
        engine = self.fresh_database().engine
        support.prepare_232(engine)
        with engine.begin() as connection:
            for statement in self.CHANGES:
                connection.execute(sqlalchemy.text(statement))
        self.addCleanup(self.drop_extra, engine)
        self.assertSameView(engine, TABLES_232 + self.EXTRA_TABLES)

    def drop_extra(self, engine):
        with engine.begin() as connection:
            for name in ('refs', 'two_key', 'dom'):
                connection.execute(sqlalchemy.text(
                    'DROP TABLE IF EXISTS %s' % name))


COMMON_CHANGES = (
    'CREATE INDEX ix_part ON services (deleted) WHERE deleted = 0',
    'CREATE TABLE two_key (a INTEGER NOT NULL, b INTEGER NOT NULL, '
    'c INTEGER, PRIMARY KEY (b, a), CONSTRAINT uq_c_a UNIQUE (c, a))',
    'CREATE TABLE refs (x INTEGER, y INTEGER, CONSTRAINT fk_refs '
    'FOREIGN KEY (y, x) REFERENCES two_key (b, a))',
    'CREATE INDEX ix_two ON two_key (c, b)',
)


class TestDescribeTablesPostgreSQL(DescribeTablesChecks,
                                   support.PostgreSQLTestCase):
    EXTRA_TABLES = ['two_key', 'refs', 'dom']
    CHANGES = COMMON_CHANGES + (
        'CREATE INDEX ix_expr ON services (lower(host))',
        'CREATE UNIQUE INDEX ix_inc ON services (topic, id) '
        'INCLUDE ("binary")',
        "ALTER TABLE services ADD COLUMN extra VARCHAR(12) DEFAULT 'x' "
        'NOT NULL',
        'ALTER TABLE services ADD COLUMN ident INTEGER GENERATED ALWAYS '
        'AS IDENTITY',
        'ALTER TABLE services ADD COLUMN num NUMERIC(10, 2), ADD COLUMN f '
        'FLOAT, ADD COLUMN b BOOLEAN DEFAULT false, ADD COLUMN ts '
        'TIMESTAMPTZ DEFAULT now(), ADD COLUMN j JSONB, ADD COLUMN arr '
        'INTEGER[]',
        'ALTER TABLE services ADD COLUMN doubled INTEGER GENERATED ALWAYS '
        'AS (report_count * 2) STORED',
        'ALTER TABLE compute_node_stats DROP CONSTRAINT '
        'compute_node_stats_compute_node_id_fkey',
        'ALTER TABLE compute_nodes ALTER COLUMN hypervisor_type TYPE '
        'VARCHAR(10)',
        'CREATE DOMAIN positive_number AS INTEGER CHECK (VALUE > 0)',
        'CREATE TABLE dom (id positive_number)',
    )

    def drop_extra(self, engine):
        super().drop_extra(engine)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                'DROP DOMAIN IF EXISTS positive_number'))


class TestDescribeTablesMySQL(DescribeTablesChecks, support.MySQLTestCase):
    EXTRA_TABLES = ['two_key', 'refs']
    CHANGES = tuple(statement.replace(' WHERE deleted = 0', '')
                    for statement in COMMON_CHANGES)


class TestDescribeTablesSQLite(DescribeTablesChecks, support.SQLiteTestCase):
    EXTRA_TABLES = ['two_key', 'refs']
    CHANGES = COMMON_CHANGES
