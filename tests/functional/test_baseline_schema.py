"""The 232 baseline gives, per backend, the schema Nova had at version 232.

Every expectation is written out from docs/schema-facts.md; none is derived
from the code under test. What the facts leave to the backend (how a type is
rendered, MySQL's INTEGER(11), PostgreSQL's serial defaults) was measured on
MariaDB 10.11 and PostgreSQL 15 with the pinned stack.
"""
from migrate.versioning import api as migration_api
from migrate.versioning import repository
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
from sqlalchemy import text
import testtools

from tests import base

BASELINE = 232
HEAD = 233
SHADOW_TABLES = ('shadow_services', 'shadow_compute_nodes',
                 'shadow_compute_node_stats')
ALL_TABLES = ('compute_node_stats', 'compute_nodes', 'services') + (
    SHADOW_TABLES)
# The tables 233 leaves in place; its downgrade must give them back as-is.
KEPT_BY_233 = ('compute_nodes', 'shadow_compute_nodes', 'services',
               'shadow_services')


class BaselineSchemaChecks(object):
    """The checks; each backend's class spells its types and names."""

    REPOSITORY = repository.Repository(base.MIGRATE_REPO_PATH)

    def setUp(self):
        super().setUp()
        self.engine = enginefacade.writer.get_engine()
        migration_api.version_control(self.engine, self.REPOSITORY,
                                      base.INIT_VERSION)
        migration_api.upgrade(self.engine, self.REPOSITORY, BASELINE)

    # Expectations, from the per-backend vocabulary of each subclass.

    def _table(self, name, columns, foreign_keys=(), indexes=(),
               unique_constraints=()):
        description = {
            'columns': columns,
            'autoincrement': self.AUTOINCREMENT,
            'primary_key': (self.pk_name(name), ('id',)),
            'foreign_keys': sorted(foreign_keys),
            'indexes': sorted(indexes),
            'unique_constraints': sorted(unique_constraints),
        }
        description.update(self.TABLE_OPTIONS)
        return description

    def _timestamps(self):
        return [('created_at', self.DATETIME, True, None),
                ('updated_at', self.DATETIME, True, None),
                ('deleted_at', self.DATETIME, True, None)]

    def _id(self, table):
        return ('id', self.INTEGER, False, self.id_default(table))

    def services_columns(self, table):
        return self._timestamps() + [
            self._id(table),
            ('host', 'VARCHAR(255)', True, None),
            ('binary', 'VARCHAR(255)', True, None),
            ('topic', 'VARCHAR(255)', True, None),
            ('report_count', self.INTEGER, False, None),
            ('disabled', self.BOOLEAN, True, None),
            ('deleted', self.INTEGER, True, None),
            ('disabled_reason', 'VARCHAR(255)', True, None),
        ]

    def compute_nodes_columns(self, table):
        return self._timestamps() + [
            self._id(table),
            ('service_id', self.INTEGER, False, None),
            ('vcpus', self.INTEGER, False, None),
            ('memory_mb', self.INTEGER, False, None),
            ('local_gb', self.INTEGER, False, None),
            ('vcpus_used', self.INTEGER, False, None),
            ('memory_mb_used', self.INTEGER, False, None),
            ('local_gb_used', self.INTEGER, False, None),
            ('hypervisor_type', self.MEDIUMTEXT, False, None),
            ('hypervisor_version', self.INTEGER, False, None),
            ('cpu_info', self.MEDIUMTEXT, False, None),
            ('disk_available_least', self.INTEGER, True, None),
            ('free_ram_mb', self.INTEGER, True, None),
            ('free_disk_gb', self.INTEGER, True, None),
            ('current_workload', self.INTEGER, True, None),
            ('running_vms', self.INTEGER, True, None),
            ('hypervisor_hostname', 'VARCHAR(255)', True, None),
            ('deleted', self.INTEGER, True, None),
            ('host_ip', self.INET, True, None),
            ('supported_instances', 'TEXT', True, None),
            ('pci_stats', 'TEXT', True, None),
            ('metrics', 'TEXT', True, None),
            ('extra_resources', 'TEXT', True, None),
        ]

    def compute_node_stats_columns(self, table):
        return self._timestamps() + [
            self._id(table),
            ('compute_node_id', self.INTEGER, False, None),
            ('key', 'VARCHAR(255)', False, None),
            ('value', 'VARCHAR(255)', True, None),
            ('deleted', self.INTEGER, True, None),
        ]

    def expected_services(self):
        return self._table(
            'services', self.services_columns('services'),
            unique_constraints=[
                ('uniq_services0host0binary0deleted',
                 ('host', 'binary', 'deleted')),
                ('uniq_services0host0topic0deleted',
                 ('host', 'topic', 'deleted'))])

    def expected_compute_nodes(self):
        return self._table(
            'compute_nodes', self.compute_nodes_columns('compute_nodes'),
            foreign_keys=self.COMPUTE_NODES_FKS,
            indexes=self.COMPUTE_NODES_INDEXES)

    def expected_compute_node_stats(self):
        return self._table(
            'compute_node_stats',
            self.compute_node_stats_columns('compute_node_stats'),
            foreign_keys=self.COMPUTE_NODE_STATS_FKS,
            indexes=[('compute_node_stats_node_id_and_deleted_idx',
                      ('compute_node_id', 'deleted'), False),
                     ('ix_compute_node_stats_compute_node_id',
                      ('compute_node_id',), False)])

    def expected_shadow(self, base_name):
        name = 'shadow_' + base_name
        columns = getattr(self, base_name + '_columns')(name)
        return self._table(name, columns)

    def expected_schema(self):
        schema = {'services': self.expected_services(),
                  'compute_nodes': self.expected_compute_nodes(),
                  'compute_node_stats': self.expected_compute_node_stats()}
        for base_name in ('services', 'compute_nodes', 'compute_node_stats'):
            schema['shadow_' + base_name] = self.expected_shadow(base_name)
        return schema

    # The checks.

    def test_version(self):
        self.assertEqual(BASELINE, migration_api.db_version(
            self.engine, self.REPOSITORY))

    def test_tables(self):
        self.assertEqual(sorted(ALL_TABLES), base.table_names(self.engine))

    def test_services(self):
        self.assertEqual(self.expected_services(),
                         base.describe_table(self.engine, 'services'))

    def test_compute_nodes(self):
        self.assertEqual(self.expected_compute_nodes(),
                         base.describe_table(self.engine, 'compute_nodes'))

    def test_compute_node_stats(self):
        self.assertEqual(
            self.expected_compute_node_stats(),
            base.describe_table(self.engine, 'compute_node_stats'))

    def test_shadow_tables(self):
        for base_name in ('services', 'compute_nodes', 'compute_node_stats'):
            name = 'shadow_' + base_name
            self.assertEqual(self.expected_shadow(base_name),
                             base.describe_table(self.engine, name))

    def test_shadow_tables_copy_base_columns(self):
        # NOTE: relative to the reflected base table, so that this holds
        # whatever the literal expectations above say.
        for name in SHADOW_TABLES:
            shadow = base.describe_table(self.engine, name)
            original = base.describe_table(self.engine, name[len('shadow_'):])
            self.assertEqual([column[:3] for column in original['columns']],
                             [column[:3] for column in shadow['columns']])
            self.assertEqual(('id',), shadow['primary_key'][1])
            self.assertEqual(([], [], []), (shadow['indexes'],
                                            shadow['foreign_keys'],
                                            shadow['unique_constraints']))

    def test_233_downgrade_gives_back_the_baseline(self):
        before = {name: base.describe_table(self.engine, name)
                  for name in KEPT_BY_233}
        migration_api.upgrade(self.engine, self.REPOSITORY, HEAD)
        migration_api.downgrade(self.engine, self.REPOSITORY, BASELINE)
        after = {name: base.describe_table(self.engine, name)
                 for name in KEPT_BY_233}
        self.assertEqual(before, after)
        expected = self.expected_schema()
        self.assertEqual({name: expected[name] for name in KEPT_BY_233},
                         after)


class TestBaselineSchemaSQLite(BaselineSchemaChecks,
                               base.DatabaseTestMixin,
                               test_fixtures.OpportunisticDBTestMixin,
                               testtools.TestCase):
    DATETIME = 'DATETIME'
    INTEGER = 'INTEGER'
    BOOLEAN = 'BOOLEAN'
    MEDIUMTEXT = 'TEXT'
    INET = 'VARCHAR(39)'
    # NOTE: SQLite's rowid alias is not reported as autoincrement.
    AUTOINCREMENT = []
    TABLE_OPTIONS = {}
    # Nova's schema has no foreign keys on SQLite.
    COMPUTE_NODES_FKS = []
    COMPUTE_NODE_STATS_FKS = []
    COMPUTE_NODES_INDEXES = []

    def pk_name(self, table):
        return None

    def id_default(self, table):
        return None

    def test_unique_constraints_inline(self):
        with self.engine.connect() as conn:
            sql = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'services'"
            )).scalar()
        self.assertIn('CONSTRAINT uniq_services0host0topic0deleted '
                      'UNIQUE (host, topic, deleted)', sql)
        self.assertIn('CONSTRAINT uniq_services0host0binary0deleted '
                      'UNIQUE (host, binary, deleted)', sql)
        self.assertNotIn('CHECK', sql)


class TestBaselineSchemaMySQL(BaselineSchemaChecks,
                              base.DatabaseTestMixin,
                              test_fixtures.OpportunisticDBTestMixin,
                              testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    DATETIME = 'DATETIME'
    INTEGER = 'INTEGER(11)'
    BOOLEAN = 'TINYINT(1)'
    MEDIUMTEXT = 'MEDIUMTEXT'
    INET = 'VARCHAR(39)'
    AUTOINCREMENT = ['id']
    TABLE_OPTIONS = {'engine': 'InnoDB', 'collation': 'utf8mb3_general_ci',
                     'charset': 'utf8mb3'}
    COMPUTE_NODES_FKS = [('fk_compute_nodes_service_id', ('service_id',),
                          'services', ('id',))]
    COMPUTE_NODE_STATS_FKS = [('fk_compute_node_stats_compute_node_id',
                               ('compute_node_id',), 'compute_nodes',
                               ('id',))]
    # NOTE: InnoDB's own index for the FK column. compute_node_stats gets
    # none: its indexes on compute_node_id exist before its FK is added.
    COMPUTE_NODES_INDEXES = [('fk_compute_nodes_service_id',
                              ('service_id',), False)]

    def pk_name(self, table):
        # NOTE: MySQL's primary key is always PRIMARY; reflected as None.
        return None

    def id_default(self, table):
        return None

    def _scalar(self, sql):
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).one()

    def test_database_default_charset(self):
        self.assertEqual(
            ('utf8mb3', 'utf8mb3_general_ci'),
            tuple(self._scalar(
                'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME '
                'FROM information_schema.SCHEMATA '
                'WHERE SCHEMA_NAME = DATABASE()')))

    def test_version_table_converted_to_utf8(self):
        self.assertEqual(
            {'engine': 'InnoDB', 'collation': 'utf8mb3_general_ci',
             'charset': 'utf8mb3'},
            base.mysql_table_options(self.engine, base.VERSION_TABLE))

    def test_no_column_has_its_own_charset(self):
        # NOTE: shadow tables take the database default; every text column
        # must still be utf8mb3_general_ci, like its table.
        with self.engine.connect() as conn:
            collations = conn.execute(text(
                'SELECT DISTINCT COLLATION_NAME'
                ' FROM information_schema.COLUMNS'
                ' WHERE TABLE_SCHEMA = DATABASE()'
                ' AND COLLATION_NAME IS NOT NULL')).scalars().all()
        self.assertEqual(['utf8mb3_general_ci'], collations)


class TestBaselineSchemaPostgreSQL(BaselineSchemaChecks,
                                   base.DatabaseTestMixin,
                                   test_fixtures.OpportunisticDBTestMixin,
                                   testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    DATETIME = 'TIMESTAMP WITHOUT TIME ZONE'
    INTEGER = 'INTEGER'
    BOOLEAN = 'BOOLEAN'
    MEDIUMTEXT = 'TEXT'
    INET = 'INET'
    AUTOINCREMENT = ['id']
    TABLE_OPTIONS = {}
    COMPUTE_NODES_FKS = [('compute_nodes_service_id_fkey', ('service_id',),
                          'services', ('id',))]
    COMPUTE_NODE_STATS_FKS = [('compute_node_stats_compute_node_id_fkey',
                               ('compute_node_id',), 'compute_nodes',
                               ('id',))]
    COMPUTE_NODES_INDEXES = []

    def pk_name(self, table):
        return table + '_pkey'

    def id_default(self, table):
        return "nextval('%s_id_seq'::regclass)" % table

    def test_sequences(self):
        self.assertEqual(
            ['compute_node_stats_id_seq', 'compute_nodes_id_seq',
             'services_id_seq', 'shadow_compute_node_stats_id_seq',
             'shadow_compute_nodes_id_seq', 'shadow_services_id_seq'],
            sorted(sqlalchemy.inspect(self.engine).get_sequence_names()))
