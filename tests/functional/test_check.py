"""db check: exit 0 and one line when the schema is right, else each diff.

Databases are built with sqlalchemy-migrate alone, then changed on purpose
with plain SQL; the expected difference lines are written out here, since
they are part of the command's interface.
"""
import json
import re

from migrate.versioning import api as migration_api
from oslo_db.sqlalchemy import test_fixtures
from sqlalchemy import text
import testtools

from tests import base
from tests.functional import command_base

EXIT_DRIFT = 1
MATCHES = {'232': 'as the baseline creates it',
           '232-downgraded': "as 233's downgrade leaves it",
           '233': 'as 233 leaves it'}
OLD_INDEX = 'ix_compute_node_stats_compute_node_id'
NEW_INDEX = 'ix_compute_node_stats_renamed'


def shape(columns):
    """How db check spells a table's columns: ``name TYPE[ NOT NULL]``."""
    return ', '.join('%s %s%s' % (name, type_, '' if nullable else ' NOT NULL')
                     for name, type_, nullable in columns)


class CheckChecks(command_base.CommandChecks):
    """The checks; each backend's class says how to change its schema."""

    DATETIME = 'DATETIME'
    MEDIUMTEXT = 'TEXT'
    INET = 'VARCHAR(39)'
    STATS_FK = 'compute_node_stats_compute_node_id_fkey'

    def compute_nodes_233(self):
        """(name, type, nullable) of compute_nodes at 233, as db check says.

        MySQL's INTEGER(11) is INTEGER to db check (MySQL 8 drops widths).
        """
        integer = [(name, 'INTEGER', False) for name in (
            'id', 'service_id', 'vcpus', 'memory_mb', 'local_gb',
            'vcpus_used', 'memory_mb_used', 'local_gb_used')]
        return ([(name, self.DATETIME, True)
                 for name in ('created_at', 'updated_at', 'deleted_at')] +
                integer +
                [('hypervisor_type', self.MEDIUMTEXT, False),
                 ('hypervisor_version', 'INTEGER', False),
                 ('cpu_info', self.MEDIUMTEXT, False)] +
                [(name, 'INTEGER', True) for name in (
                    'disk_available_least', 'free_ram_mb', 'free_disk_gb',
                    'current_workload', 'running_vms')] +
                [('hypervisor_hostname', 'VARCHAR(255)', True),
                 ('deleted', 'INTEGER', True),
                 ('host_ip', self.INET, True)] +
                [(name, 'TEXT', True) for name in (
                    'supported_instances', 'pci_stats', 'metrics',
                    'extra_resources', 'stats')])

    # Running db check.

    def assertMatches(self, version, variant):
        result = self.run_cli('db', 'check')
        self.assertSucceeded(result)
        self.assertEqual('database %s matches version %d (%s)\n'
                         % (self.masked_url, version, MATCHES[variant]),
                         result.out)
        result = self.run_cli('db', 'check', '--format', 'json')
        self.assertSucceeded(result)
        self.assertEqual({'database': self.masked_url, 'version': version,
                          'variant': variant, 'matches': MATCHES[variant],
                          'ok': True, 'differences': [],
                          'half_applied': None},
                         json.loads(result.out))

    def assertDifferences(self, version, variant, differences):
        result = self.run_cli('db', 'check')
        self.assertEqual((EXIT_DRIFT, ''), (result.status, result.err),
                         result)
        lines = result.out.splitlines()
        # NOTE: 'in 1 place:' and 'in 1 places:' are both accepted.
        self.assertRegex(lines[0], r'^database %s differs from version %d in '
                         r'%d places?:$' % (re.escape(self.masked_url),
                                            version, len(differences)))
        self.assertEqual(['  - ' + line for line in differences], lines[1:])
        result = self.run_cli('db', 'check', '--format', 'json')
        self.assertEqual((EXIT_DRIFT, ''), (result.status, result.err),
                         result)
        self.assertEqual({'database': self.masked_url, 'version': version,
                          'variant': variant, 'matches': MATCHES[variant],
                          'ok': False, 'differences': differences,
                          'half_applied': None},
                         json.loads(result.out))

    # Changing the schema on purpose.

    def sqlite_rebuild(self, table, pattern, replacement):
        """Rebuild a SQLite table with its CREATE TABLE text edited."""
        with self.engine.begin() as conn:
            sql = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'table' "
                "AND name = :name"), {'name': table}).scalar()
            new_sql, count = re.subn(pattern, replacement, sql)
            self.assertEqual(1, count, sql)
            indexes = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = :name AND sql IS NOT NULL"),
                {'name': table}).scalars().all()
            conn.execute(text('ALTER TABLE %s RENAME TO rebuild_old' % table))
            conn.execute(text(new_sql))
            conn.execute(text('INSERT INTO %s SELECT * FROM rebuild_old'
                              % table))
            conn.execute(text('DROP TABLE rebuild_old'))
            for index in indexes:
                conn.execute(text(index))

    def add_column(self, table):
        self.execute('ALTER TABLE %s ADD COLUMN extra INTEGER' % table)

    # The right schemas pass.

    def test_baseline_232_matches(self):
        self.build(232)
        self.assertMatches(232, '232')

    def test_downgraded_232_matches(self):
        self.build(232)
        baseline = base.describe_schema(self.engine)
        migration_api.upgrade(self.engine, base.MIGRATE_REPO_PATH, 233)
        migration_api.downgrade(self.engine, base.MIGRATE_REPO_PATH, 232)
        downgraded = base.describe_schema(self.engine)
        # NOTE: the two forms of 232 really differ.
        self.assertEqual(('id',), baseline['compute_node_stats'][
            'primary_key'][1])
        self.assertEqual((), downgraded['compute_node_stats'][
            'primary_key'][1])
        self.assertMatches(232, '232-downgraded')

    def test_233_matches(self):
        self.build(233)
        self.insert(command_base.rows_233())
        self.assertMatches(233, '233')

    # Each difference is found and named.

    def test_extra_column(self):
        self.build(233)
        for table in ('services', 'shadow_services'):
            self.add_column(table)
        self.assertDifferences(233, '233', [
            'services: column extra is not expected',
            'shadow_services: column extra is not expected'])

    def test_missing_column(self):
        self.build(233)
        for table in ('compute_nodes', 'shadow_compute_nodes'):
            self.execute('ALTER TABLE %s DROP COLUMN pci_stats' % table)
        self.assertDifferences(233, '233', [
            'compute_nodes: column pci_stats is missing',
            'shadow_compute_nodes: column pci_stats is missing'])

    def test_changed_type(self):
        self.build(233)
        for table in ('services', 'shadow_services'):
            self.shorten_disabled_reason(table)
        self.assertDifferences(233, '233', [
            "services: column disabled_reason: type is 'VARCHAR(64)', "
            "expected 'VARCHAR(255)'",
            "shadow_services: column disabled_reason: type is 'VARCHAR(64)', "
            "expected 'VARCHAR(255)'"])

    def assertColumnOrder(self, table):
        """``table`` (compute_nodes or its shadow) has memory_mb first."""
        expected = [name for name, _, _ in self.compute_nodes_233()]
        found = list(expected)
        at = found.index('vcpus')
        found[at:at + 2] = ['memory_mb', 'vcpus']
        self.assertEqual(['vcpus', 'memory_mb'], expected[at:at + 2])
        self.assertDifferences(233, '233', [
            '%s: column order is %s, expected %s'
            % (table, ', '.join(found), ', '.join(expected)),
            'shadow_compute_nodes is out of step with compute_nodes: its '
            'columns are in another order'])

    def test_column_order(self):
        self.build(233)
        self.swap_vcpus_and_memory_mb('compute_nodes')
        self.assertColumnOrder('compute_nodes')

    def test_column_order_of_shadow_table(self):
        self.build(233)
        self.swap_vcpus_and_memory_mb('shadow_compute_nodes')
        self.assertColumnOrder('shadow_compute_nodes')

    def test_renamed_index(self):
        self.build(232)
        self.rename_stats_index()
        self.assertDifferences(232, '232', [
            'compute_node_stats: index %s is named %s'
            % (OLD_INDEX, NEW_INDEX)])

    def test_missing_foreign_key_after_downgrade(self):
        # NOTE: on every backend, SQLite included, 233's downgrade gives
        # compute_node_stats a foreign key.
        self.build(232, downgraded=True)
        self.drop_stats_foreign_key()
        self.assertDifferences(232, '232-downgraded', [
            'compute_node_stats: foreign key %s is missing' % self.STATS_FK])

    def test_extra_managed_table(self):
        # NOTE: at 233 compute_node_stats must be gone.
        self.build(233)
        self.execute(
            'CREATE TABLE compute_node_stats (id INTEGER PRIMARY KEY)')
        self.assertDifferences(233, '233',
                               ['table compute_node_stats is not expected'])

    def test_other_nova_tables_are_not_compared(self):
        # NOTE: a real Nova database has a hundred tables this repository
        # does not manage; db check compares only its own.
        self.build(233)
        self.execute('CREATE TABLE instances (id INTEGER PRIMARY KEY)')
        result = self.run_cli('db', 'check')
        self.assertEqual((0, ''), (result.status, result.err), result)
        self.assertIn('matches version 233', result.out)

    def test_column_added_to_shadow_table_only(self):
        self.build(233)
        self.add_column('shadow_compute_nodes')
        self.assertDifferences(233, '233', [
            'shadow_compute_nodes: column extra is not expected',
            'shadow_compute_nodes is out of step with compute_nodes: '
            'column extra is not in the base table'])

    def test_column_added_to_base_table_only(self):
        self.build(233)
        self.add_column('compute_nodes')
        self.assertDifferences(233, '233', [
            'compute_nodes: column extra is not expected',
            'shadow_compute_nodes is out of step with compute_nodes: '
            'column extra is missing'])

    def test_not_under_version_control(self):
        self.create_empty_database()
        result = self.run_cli('db', 'check')
        self.assertEqual((2, ''), (result.status, result.out), result)
        self.assertEqual(1, len(result.err.splitlines()), result.err)


class ForeignKeyChecks(object):
    """MySQL and PostgreSQL: compute_nodes.service_id has a foreign key."""

    def test_missing_foreign_key(self):
        self.build(233)
        self.execute(self.DROP_SERVICE_FK)
        self.assertDifferences(233, '233', [
            'compute_nodes: foreign key %s is missing' % self.SERVICE_FK])


class TestCheckSQLite(CheckChecks,
                      base.DatabaseTestMixin,
                      test_fixtures.OpportunisticDBTestMixin,
                      testtools.TestCase):

    def shorten_disabled_reason(self, table):
        self.sqlite_rebuild(table, r'disabled_reason VARCHAR\(255\)',
                            'disabled_reason VARCHAR(64)')

    def swap_vcpus_and_memory_mb(self, table):
        self.sqlite_rebuild(
            table, r'vcpus INTEGER NOT NULL,(\s*)memory_mb INTEGER NOT NULL',
            r'memory_mb INTEGER NOT NULL,\1vcpus INTEGER NOT NULL')

    def rename_stats_index(self):
        self.execute('DROP INDEX %s' % OLD_INDEX,
                     'CREATE INDEX %s ON compute_node_stats (compute_node_id)'
                     % NEW_INDEX)

    def drop_stats_foreign_key(self):
        self.sqlite_rebuild(
            'compute_node_stats',
            r',\s*CONSTRAINT %s FOREIGN KEY\s*\(compute_node_id\) '
            r'REFERENCES compute_nodes \(id\)' % self.STATS_FK, '')


class TestCheckMySQL(CheckChecks, ForeignKeyChecks,
                     base.DatabaseTestMixin,
                     test_fixtures.OpportunisticDBTestMixin,
                     testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    MEDIUMTEXT = 'MEDIUMTEXT'
    STATS_FK = 'fk_compute_node_stats_compute_node_id'
    SERVICE_FK = 'fk_compute_nodes_service_id'
    DROP_SERVICE_FK = ('ALTER TABLE compute_nodes DROP FOREIGN KEY '
                       'fk_compute_nodes_service_id')

    def shorten_disabled_reason(self, table):
        self.execute('ALTER TABLE %s MODIFY disabled_reason VARCHAR(64)'
                     % table)

    def swap_vcpus_and_memory_mb(self, table):
        self.execute('ALTER TABLE %s MODIFY memory_mb INT(11) NOT NULL '
                     'AFTER service_id' % table)

    def rename_stats_index(self):
        self.execute('ALTER TABLE compute_node_stats RENAME INDEX %s TO %s'
                     % (OLD_INDEX, NEW_INDEX))

    def drop_stats_foreign_key(self):
        self.execute('ALTER TABLE compute_node_stats DROP FOREIGN KEY %s'
                     % self.STATS_FK)


class TestCheckPostgreSQL(CheckChecks, ForeignKeyChecks,
                          base.DatabaseTestMixin,
                          test_fixtures.OpportunisticDBTestMixin,
                          testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    DATETIME = 'TIMESTAMP WITHOUT TIME ZONE'
    INET = 'INET'
    SERVICE_FK = 'compute_nodes_service_id_fkey'
    DROP_SERVICE_FK = ('ALTER TABLE compute_nodes DROP CONSTRAINT '
                       'compute_nodes_service_id_fkey')

    def shorten_disabled_reason(self, table):
        self.execute('ALTER TABLE %s ALTER COLUMN disabled_reason TYPE '
                     'VARCHAR(64)' % table)

    def swap_vcpus_and_memory_mb(self, table):
        # NOTE: PostgreSQL cannot move a column; swapping the names of two
        # columns of one type (INTEGER NOT NULL, no default) gives the same
        # table with those two in the other order, keeping its primary key,
        # foreign key and sequence as they are.
        self.execute(*('ALTER TABLE %s RENAME COLUMN %s TO %s'
                       % (table, old, new) for old, new in (
                           ('vcpus', 'swapped'), ('memory_mb', 'vcpus'),
                           ('swapped', 'memory_mb'))))

    def rename_stats_index(self):
        self.execute('ALTER INDEX %s RENAME TO %s' % (OLD_INDEX, NEW_INDEX))

    def drop_stats_foreign_key(self):
        self.execute('ALTER TABLE compute_node_stats DROP CONSTRAINT %s'
                     % self.STATS_FK)
