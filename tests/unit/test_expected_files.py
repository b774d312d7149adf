"""nova_schema/expected/<backend>.json against the facts, stated literally.

db check compares a live database with these files, and the functional test
that keeps them honest regenerates them with the code that wrote them. Here
each file is read as data and held to docs/schema-facts.md, per backend and
variant (232 as the baseline creates it, 232 as 233's downgrade leaves it,
233), with every expected value written out below: column order, types,
nullability, defaults, keys and their names, indexes, unique constraints,
and on MySQL the engine and collation. No database server is needed.
"""
import json
import os

import testtools

from tests import base

EXPECTED_DIR = os.path.join(os.path.dirname(base.MIGRATE_REPO_PATH),
                            'nova_schema', 'expected')

VARIANTS = ('232', '232-downgraded', '233')
BASE_TABLES = {'232': ('compute_node_stats', 'compute_nodes', 'services'),
               '232-downgraded': ('compute_node_stats', 'compute_nodes',
                                  'services'),
               '233': ('compute_nodes', 'services')}
TABLE_FIELDS = {'columns', 'primary_key', 'foreign_keys', 'indexes',
                'unique_constraints'}
COLUMN_FIELDS = {'name', 'type', 'nullable', 'default', 'autoincrement'}

# Columns as (name, kind, nullable); each backend names the kinds below.
DATETIMES = [('created_at', 'datetime', True),
             ('updated_at', 'datetime', True),
             ('deleted_at', 'datetime', True)]

SERVICES = DATETIMES + [
    ('id', 'integer', False),
    ('host', 'string', True),
    ('binary', 'string', True),
    ('topic', 'string', True),
    ('report_count', 'integer', False),
    ('disabled', 'boolean', True),
    ('deleted', 'integer', True),
    ('disabled_reason', 'string', True),
]

COMPUTE_NODES_232 = DATETIMES + [
    ('id', 'integer', False),
    ('service_id', 'integer', False),
    ('vcpus', 'integer', False),
    ('memory_mb', 'integer', False),
    ('local_gb', 'integer', False),
    ('vcpus_used', 'integer', False),
    ('memory_mb_used', 'integer', False),
    ('local_gb_used', 'integer', False),
    ('hypervisor_type', 'mediumtext', False),
    ('hypervisor_version', 'integer', False),
    ('cpu_info', 'mediumtext', False),
    ('disk_available_least', 'integer', True),
    ('free_ram_mb', 'integer', True),
    ('free_disk_gb', 'integer', True),
    ('current_workload', 'integer', True),
    ('running_vms', 'integer', True),
    ('hypervisor_hostname', 'string', True),
    ('deleted', 'integer', True),
    ('host_ip', 'ip', True),
    ('supported_instances', 'text', True),
    ('pci_stats', 'text', True),
    ('metrics', 'text', True),
    ('extra_resources', 'text', True),
]
COMPUTE_NODES_233 = COMPUTE_NODES_232 + [('stats', 'text', True)]

# The baseline's compute_node_stats, and the one 233's downgrade creates:
# another column order, and compute_node_id nullable.
STATS_232 = DATETIMES + [
    ('id', 'integer', False),
    ('compute_node_id', 'integer', False),
    ('key', 'string', False),
    ('value', 'string', True),
    ('deleted', 'integer', True),
]
STATS_DOWNGRADED = DATETIMES + [
    ('deleted', 'integer', True),
    ('id', 'integer', False),
    ('key', 'string', False),
    ('value', 'string', True),
    ('compute_node_id', 'integer', True),
]

COLUMNS = {
    '232': {'services': SERVICES, 'compute_nodes': COMPUTE_NODES_232,
            'compute_node_stats': STATS_232},
    '232-downgraded': {'services': SERVICES,
                       'compute_nodes': COMPUTE_NODES_232,
                       'compute_node_stats': STATS_DOWNGRADED},
    '233': {'services': SERVICES, 'compute_nodes': COMPUTE_NODES_233},
}

STATS_INDEXES = [
    ('compute_node_stats_node_id_and_deleted_idx',
     ('compute_node_id', 'deleted'), False),
    ('ix_compute_node_stats_compute_node_id', ('compute_node_id',), False),
]
SERVICES_UNIQUES = [
    ('uniq_services0host0binary0deleted', ('host', 'binary', 'deleted')),
    ('uniq_services0host0topic0deleted', ('host', 'topic', 'deleted')),
]


def _load(backend):
    with open(os.path.join(EXPECTED_DIR, backend + '.json')) as spec:
        return json.load(spec)


def _all_tables(variant):
    names = BASE_TABLES[variant]
    return sorted(names + tuple('shadow_' + name for name in names))


def _columns(table):
    return [(c['name'], c['type'], c['nullable']) for c in table['columns']]


def _foreign_keys(table):
    return sorted((fk['name'], tuple(fk['columns']), fk['referred_table'],
                   tuple(fk['referred_columns']))
                  for fk in table['foreign_keys'])


def _indexes(table):
    return sorted((index['name'], tuple(index['columns']), index['unique'])
                  for index in table['indexes'])


def _uniques(table):
    return sorted((unique['name'], tuple(unique['columns']))
                  for unique in table['unique_constraints'])


class ExpectedFileChecks(object):
    """One backend's file; each backend's class gives its literal names."""

    BACKEND = None
    TYPES = None
    AUTOINCREMENT = False
    # Foreign keys, by table and variant: None where there is none.
    NODES_SERVICE_FK = None
    STATS_FK_232 = None
    STATS_FK_DOWNGRADED = None
    COMPUTE_NODES_INDEXES = []
    SERVICES_INDEXES = []
    SERIAL = False

    def setUp(self):
        super().setUp()
        self.spec = _load(self.BACKEND)

    def each_table(self, variant=None):
        for name in VARIANTS if variant is None else (variant,):
            for table in _all_tables(name):
                yield name, table, self.spec[name][table]

    def typed(self, columns):
        return [(name, self.TYPES[kind], nullable)
                for name, kind, nullable in columns]

    def assertColumns(self, variant, table, expected):
        self.assertEqual(self.typed(expected),
                         _columns(self.spec[variant][table]),
                         '%s %s' % (variant, table))

    def has_id_key(self, variant, table):
        """Every table's primary key is id, but downgraded stats' none."""
        return not (variant == '232-downgraded' and
                    table == 'compute_node_stats')

    def test_variants_and_tables(self):
        self.assertEqual(set(VARIANTS), set(self.spec))
        self.assertEqual(
            {'232': ['compute_node_stats', 'compute_nodes', 'services',
                     'shadow_compute_node_stats', 'shadow_compute_nodes',
                     'shadow_services'],
             '232-downgraded': [
                 'compute_node_stats', 'compute_nodes', 'services',
                 'shadow_compute_node_stats', 'shadow_compute_nodes',
                 'shadow_services'],
             '233': ['compute_nodes', 'services', 'shadow_compute_nodes',
                     'shadow_services']},
            {variant: sorted(tables) for variant, tables in
             self.spec.items()})

    def test_fields(self):
        fields = TABLE_FIELDS | ({'options'} if self.BACKEND == 'mysql'
                                 else set())
        for variant, name, table in self.each_table():
            self.assertEqual(fields, set(table), (variant, name))
            for column in table['columns']:
                self.assertEqual(COLUMN_FIELDS, set(column),
                                 (variant, name, column))

    def test_columns_of_every_table_and_its_shadow(self):
        for variant, tables in COLUMNS.items():
            for name, columns in tables.items():
                self.assertColumns(variant, name, columns)
                self.assertColumns(variant, 'shadow_' + name, columns)

    def test_compute_nodes_column_order(self):
        order_232 = [
            'created_at', 'updated_at', 'deleted_at', 'id', 'service_id',
            'vcpus', 'memory_mb', 'local_gb', 'vcpus_used', 'memory_mb_used',
            'local_gb_used', 'hypervisor_type', 'hypervisor_version',
            'cpu_info', 'disk_available_least', 'free_ram_mb',
            'free_disk_gb', 'current_workload', 'running_vms',
            'hypervisor_hostname', 'deleted', 'host_ip',
            'supported_instances', 'pci_stats', 'metrics', 'extra_resources']
        for variant in VARIANTS:
            expected = order_232 + (['stats'] if variant == '233' else [])
            for table in ('compute_nodes', 'shadow_compute_nodes'):
                self.assertEqual(
                    expected, [column['name'] for column in
                               self.spec[variant][table]['columns']],
                    (variant, table))

    def test_compute_nodes_text_and_ip_types(self):
        for variant in VARIANTS:
            for table in ('compute_nodes', 'shadow_compute_nodes'):
                types = {column['name']: column['type'] for column in
                         self.spec[variant][table]['columns']}
                self.assertEqual(
                    {'hypervisor_type': self.TYPES['mediumtext'],
                     'cpu_info': self.TYPES['mediumtext'],
                     'host_ip': self.TYPES['ip']},
                    {name: types[name] for name in
                     ('hypervisor_type', 'cpu_info', 'host_ip')},
                    (variant, table))

    def test_stats_column(self):
        stats = {'name': 'stats', 'type': 'TEXT', 'nullable': True,
                 'default': None, 'autoincrement': False}
        for table in ('compute_nodes', 'shadow_compute_nodes'):
            self.assertEqual(stats,
                             self.spec['233'][table]['columns'][-1], table)
            for variant in ('232', '232-downgraded'):
                self.assertNotIn('stats', [
                    column['name'] for column in
                    self.spec[variant][table]['columns']], (variant, table))

    def test_compute_node_stats_baseline_and_downgraded(self):
        for table in ('compute_node_stats', 'shadow_compute_node_stats'):
            self.assertColumns('232', table, STATS_232)
            self.assertColumns('232-downgraded', table, STATS_DOWNGRADED)
        self.assertEqual({'columns': ['id'], 'name': self.pk_name(
            'compute_node_stats')},
            self.spec['232']['compute_node_stats']['primary_key'])
        self.assertEqual(
            {'columns': [], 'name': None},
            self.spec['232-downgraded']['compute_node_stats']['primary_key'])
        self.assertEqual(
            {'columns': ['id'], 'name': self.pk_name(
                'shadow_compute_node_stats')},
            self.spec['232-downgraded']['shadow_compute_node_stats'][
                'primary_key'])

    def pk_name(self, table):
        return None

    def test_primary_keys(self):
        for variant, name, table in self.each_table():
            if self.has_id_key(variant, name):
                expected = {'columns': ['id'], 'name': self.pk_name(name)}
            else:
                expected = {'columns': [], 'name': None}
            self.assertEqual(expected, table['primary_key'], (variant, name))

    def serial_default(self, variant, table, column):
        if (self.SERIAL and column == 'id' and
                self.has_id_key(variant, table)):
            return "nextval('%s_id_seq'::regclass)" % table
        return None

    def test_defaults(self):
        # NOTE: no column of the migrations has a server default; on
        # PostgreSQL each id primary key is a serial, with its own sequence
        # (shadow tables too).
        for variant, name, table in self.each_table():
            self.assertEqual(
                [(column['name'], self.serial_default(variant, name,
                                                      column['name']))
                 for column in table['columns']],
                [(column['name'], column['default'])
                 for column in table['columns']], (variant, name))

    def test_autoincrement(self):
        for variant, name, table in self.each_table():
            expected = (['id'] if self.AUTOINCREMENT and
                        self.has_id_key(variant, name) else [])
            self.assertEqual(expected, [column['name'] for column in
                                        table['columns']
                                        if column['autoincrement']],
                             (variant, name))

    def test_foreign_keys(self):
        def fk(name, column, referred):
            return [(name, (column,), referred, ('id',))] if name else []

        expected = {
            'compute_nodes': fk(self.NODES_SERVICE_FK, 'service_id',
                                'services'),
            'compute_node_stats': {
                '232': fk(self.STATS_FK_232, 'compute_node_id',
                          'compute_nodes'),
                '232-downgraded': fk(self.STATS_FK_DOWNGRADED,
                                     'compute_node_id', 'compute_nodes')},
        }
        for variant, name, table in self.each_table():
            wanted = expected.get(name, [])
            if isinstance(wanted, dict):
                wanted = wanted[variant]
            self.assertEqual(wanted, _foreign_keys(table), (variant, name))

    def test_indexes(self):
        expected = {'compute_node_stats': STATS_INDEXES,
                    'compute_nodes': self.COMPUTE_NODES_INDEXES,
                    'services': self.SERVICES_INDEXES}
        for variant, name, table in self.each_table():
            self.assertEqual(expected.get(name, []), _indexes(table),
                             (variant, name))

    def test_unique_constraints(self):
        for variant, name, table in self.each_table():
            self.assertEqual(
                SERVICES_UNIQUES if name == 'services' else [],
                _uniques(table), (variant, name))

    def test_shadow_tables_have_no_index_foreign_key_or_unique(self):
        for variant, name, table in self.each_table():
            if name.startswith('shadow_'):
                self.assertEqual(([], [], []),
                                 (table['indexes'], table['foreign_keys'],
                                  table['unique_constraints']),
                                 (variant, name))


class TestExpectedMySQL(ExpectedFileChecks, testtools.TestCase):
    BACKEND = 'mysql'
    TYPES = {'datetime': 'DATETIME', 'integer': 'INTEGER',
             'string': 'VARCHAR(255)', 'text': 'TEXT',
             'mediumtext': 'MEDIUMTEXT', 'ip': 'VARCHAR(39)',
             'boolean': 'TINYINT(1)'}
    AUTOINCREMENT = True
    NODES_SERVICE_FK = 'fk_compute_nodes_service_id'
    STATS_FK_232 = 'fk_compute_node_stats_compute_node_id'
    STATS_FK_DOWNGRADED = 'fk_compute_node_stats_compute_node_id'
    # NOTE: InnoDB's own index for the foreign key on service_id; for
    # compute_node_id, ix_compute_node_stats_compute_node_id serves.
    COMPUTE_NODES_INDEXES = [('fk_compute_nodes_service_id', ('service_id',),
                              False)]
    # NOTE: MySQL also reports each unique constraint as a unique index.
    SERVICES_INDEXES = [(name, columns, True)
                        for name, columns in SERVICES_UNIQUES]

    def test_table_options(self):
        for variant, name, table in self.each_table():
            self.assertEqual({'engine': 'InnoDB',
                              'collation': 'utf8mb3_general_ci'},
                             table['options'], (variant, name))


class TestExpectedPostgreSQL(ExpectedFileChecks, testtools.TestCase):
    BACKEND = 'postgresql'
    TYPES = {'datetime': 'TIMESTAMP WITHOUT TIME ZONE', 'integer': 'INTEGER',
             'string': 'VARCHAR(255)', 'text': 'TEXT', 'mediumtext': 'TEXT',
             'ip': 'INET', 'boolean': 'BOOLEAN'}
    AUTOINCREMENT = True
    SERIAL = True
    NODES_SERVICE_FK = 'compute_nodes_service_id_fkey'
    STATS_FK_232 = 'compute_node_stats_compute_node_id_fkey'
    STATS_FK_DOWNGRADED = 'compute_node_stats_compute_node_id_fkey'
    # NOTE: PostgreSQL also reports each unique constraint as a unique index.
    SERVICES_INDEXES = [(name, columns, True)
                        for name, columns in SERVICES_UNIQUES]

    def pk_name(self, table):
        return table + '_pkey'


class TestExpectedSQLite(ExpectedFileChecks, testtools.TestCase):
    BACKEND = 'sqlite'
    TYPES = {'datetime': 'DATETIME', 'integer': 'INTEGER',
             'string': 'VARCHAR(255)', 'text': 'TEXT', 'mediumtext': 'TEXT',
             'ip': 'VARCHAR(39)', 'boolean': 'BOOLEAN'}
    # NOTE: SQLite's rowid alias reflects as 'auto', recorded as false.
    AUTOINCREMENT = False
    # NOTE: the baseline has no foreign keys on SQLite; 233's downgrade
    # writes one into compute_node_stats's CREATE TABLE.
    STATS_FK_DOWNGRADED = 'compute_node_stats_compute_node_id_fkey'
