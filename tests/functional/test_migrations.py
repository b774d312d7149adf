"""Walk the repository up and down, with data, on every backend.

The checks of migration 233 go beyond Nova's own: every pre-existing value
survives, ``stats`` holds '{}' in old rows, and the downgrade recreates the
exact per-backend shape Nova's downgrade gave the stats tables.
"""
from migrate.versioning import api as migration_api
from migrate.versioning import repository
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_db.sqlalchemy import test_migrations
import sqlalchemy
import testtools

from tests import base
from tests.rows import LONG_CPU_INFO
from tests.rows import node_row
from tests.rows import service_row
from tests.rows import stat_row
from tests.rows import T2

BASE_TABLES = ('services', 'compute_nodes', 'compute_node_stats')
NODE_TABLES = ('compute_nodes', 'shadow_compute_nodes')
STATS_TABLES = ('compute_node_stats', 'shadow_compute_node_stats')


def _data_233():
    return {
        'services': [
            service_row(1, 'compute1', 'compute'),
            service_row(2, 'compute2', 'compute', disabled=True,
                        disabled_reason='maintenance'),
            service_row(3, 'compute3', 'compute', deleted=3, deleted_at=T2),
        ],
        'compute_nodes': [
            node_row(1, 1),
            node_row(2, 2, cpu_info=LONG_CPU_INFO, host_ip='2001:db8::2'),
            node_row(3, 3, deleted=3, deleted_at=T2, metrics=None,
                     extra_resources=None, pci_stats=None),
        ],
        'compute_node_stats': [
            stat_row(1, 1, 'num_instances', '3'),
            stat_row(2, 1, 'num_vm_active', '2'),
            stat_row(3, 2, 'num_task_None', '1'),
            stat_row(4, 3, 'io_workload', '0', deleted=4),
        ],
        'shadow_compute_nodes': [
            node_row(7, 5, deleted=7, deleted_at=T2,
                     hypervisor_hostname='archived.example.org'),
        ],
        'shadow_compute_node_stats': [
            stat_row(9, 7, 'num_instances', '0', deleted=9),
        ],
    }


def _table(engine, name):
    return sqlalchemy.Table(name, sqlalchemy.MetaData(), autoload_with=engine)


def _insert(engine, data):
    with engine.begin() as conn:
        for name, rows in data.items():
            conn.execute(_table(engine, name).insert(), rows)


def _rows(engine, name):
    table = _table(engine, name)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(
            table.select().order_by(table.c.id)).mappings()]


def _with_stats(rows, stats):
    return [dict(row, stats=stats) for row in rows]


class MigrationsWalkChecks(test_migrations.WalkVersionsMixin):
    """The checks; each backend's class says how its types are spelt."""

    INIT_VERSION = base.INIT_VERSION
    REPOSITORY = repository.Repository(base.MIGRATE_REPO_PATH)
    migration_api = migration_api

    # Per backend: rendered types, and details of the recreated stats tables.
    DATETIME = 'DATETIME'
    INTEGER = 'INTEGER'
    STATS_FK_NAME = 'compute_node_stats_compute_node_id_fkey'

    def setUp(self):
        super().setUp()
        self.engine = enginefacade.writer.get_engine()

    @property
    def migrate_engine(self):
        return self.engine

    def test_walk_versions(self):
        self.walk_versions(snake_walk=True, downgrade=True)

    def _has_table(self, name):
        return sqlalchemy.inspect(self.engine).has_table(name)

    def _check_232(self, engine, data):
        self.assertEqual(
            sorted(BASE_TABLES + tuple('shadow_' + t for t in BASE_TABLES)),
            base.table_names(engine))
        self.assertNotIn('stats', _table(engine, 'compute_nodes').c)

    def _pre_upgrade_233(self, engine):
        self.assertGreater(len(LONG_CPU_INFO.encode()), 100 * 1024)
        data = _data_233()
        _insert(engine, data)
        # NOTE: _post_downgrade_233 is not handed the data; keep it here.
        self._data_233 = data
        return data

    def _check_233(self, engine, data):
        for name in NODE_TABLES:
            stats = _table(engine, name).c.stats
            self.assertIsInstance(stats.type, sqlalchemy.Text)
            self.assertEqual('TEXT', str(stats.type.compile(engine.dialect)))
            self.assertTrue(stats.nullable)
            self.assertEqual(_with_stats(data[name], '{}'),
                             _rows(engine, name))
        self.assertEqual(data['services'], _rows(engine, 'services'))
        for name in STATS_TABLES:
            self.assertFalse(self._has_table(name), name)

    def _post_downgrade_233(self, engine):
        data = self._data_233
        for name in NODE_TABLES:
            self.assertNotIn('stats', _table(engine, name).c)
        for name in NODE_TABLES + ('services',):
            self.assertEqual(data[name], _rows(engine, name))
        self.assertEqual(self.expected_compute_node_stats(),
                         base.describe_table(engine, 'compute_node_stats'))
        self.assertEqual(
            self.expected_shadow_compute_node_stats(),
            base.describe_table(engine, 'shadow_compute_node_stats'))
        for name in STATS_TABLES:
            self.assertEqual([], _rows(engine, name))

    def _stats_columns(self, id_default=None):
        return [('created_at', self.DATETIME, True, None),
                ('updated_at', self.DATETIME, True, None),
                ('deleted_at', self.DATETIME, True, None),
                ('deleted', self.INTEGER, True, None),
                ('id', self.INTEGER, False, id_default),
                ('key', 'VARCHAR(255)', False, None),
                ('value', 'VARCHAR(255)', True, None),
                ('compute_node_id', self.INTEGER, True, None)]

    def expected_compute_node_stats(self):
        return dict(self.TABLE_OPTIONS, **{
            'columns': self._stats_columns(),
            'autoincrement': [],
            'primary_key': (None, ()),
            'foreign_keys': [(self.STATS_FK_NAME, ('compute_node_id',),
                              'compute_nodes', ('id',))],
            'indexes': [('compute_node_stats_node_id_and_deleted_idx',
                         ('compute_node_id', 'deleted'), False),
                        ('ix_compute_node_stats_compute_node_id',
                         ('compute_node_id',), False)],
            'unique_constraints': [],
        })

    def expected_shadow_compute_node_stats(self):
        return dict(self.TABLE_OPTIONS, **{
            'columns': self._stats_columns(self.SHADOW_STATS_ID_DEFAULT),
            'autoincrement': self.SHADOW_STATS_AUTOINCREMENT,
            'primary_key': (self.SHADOW_STATS_PK_NAME, ('id',)),
            'foreign_keys': [],
            'indexes': [],
            'unique_constraints': [],
        })


class TestMigrationsWalkSQLite(MigrationsWalkChecks,
                               base.DatabaseTestMixin,
                               test_fixtures.OpportunisticDBTestMixin,
                               testtools.TestCase):
    TABLE_OPTIONS = {}
    SHADOW_STATS_ID_DEFAULT = None
    # NOTE: SQLite's rowid alias is not reported as autoincrement.
    SHADOW_STATS_AUTOINCREMENT = []
    SHADOW_STATS_PK_NAME = None


class TestMigrationsWalkMySQL(MigrationsWalkChecks,
                              base.DatabaseTestMixin,
                              test_fixtures.OpportunisticDBTestMixin,
                              testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    INTEGER = 'INTEGER(11)'
    STATS_FK_NAME = 'fk_compute_node_stats_compute_node_id'
    TABLE_OPTIONS = {'engine': 'InnoDB', 'collation': 'utf8mb3_general_ci',
                     'charset': 'utf8mb3'}
    SHADOW_STATS_ID_DEFAULT = None
    SHADOW_STATS_AUTOINCREMENT = ['id']
    SHADOW_STATS_PK_NAME = None


class TestMigrationsWalkPostgreSQL(MigrationsWalkChecks,
                                   base.DatabaseTestMixin,
                                   test_fixtures.OpportunisticDBTestMixin,
                                   testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    DATETIME = 'TIMESTAMP WITHOUT TIME ZONE'
    TABLE_OPTIONS = {}
    SHADOW_STATS_ID_DEFAULT = (
        "nextval('shadow_compute_node_stats_id_seq'::regclass)")
    SHADOW_STATS_AUTOINCREMENT = ['id']
    SHADOW_STATS_PK_NAME = 'shadow_compute_node_stats_pkey'
