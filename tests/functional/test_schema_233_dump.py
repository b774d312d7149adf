"""schema_233/<backend>.sql, the test_alembic_read_only fixture, is still
the schema migrate_repo builds at 233 (legacy stack: sqlalchemy-migrate
builds the reference)."""
import os

import fixtures
from migrate.versioning import api as migration_api
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from tests import base
from tests.functional import test_alembic_read_only as read_only


class DumpChecks(object):

    BACKEND = None

    def setUp(self):
        super().setUp()
        self.engine = self.make_engine()
        self.addCleanup(self.engine.dispose)

    def describe(self):
        schema = base.describe_schema(self.engine)
        schema[base.VERSION_TABLE] = base.describe_table(self.engine,
                                                         base.VERSION_TABLE)
        return schema

    def test_dump_is_what_migrate_repo_builds(self):
        migration_api.version_control(self.engine, base.MIGRATE_REPO_PATH,
                                      base.INIT_VERSION)
        migration_api.upgrade(self.engine, base.MIGRATE_REPO_PATH, 233)
        built = self.describe()
        built_ddl = self.ddl_text()
        meta = sqlalchemy.MetaData()
        meta.reflect(self.engine)
        meta.drop_all(self.engine)
        self.assertEqual([], sqlalchemy.inspect(
            self.engine).get_table_names())
        read_only.load_dump(self.engine, self.BACKEND)
        self.assertEqual(built, self.describe())
        self.assertEqual(built_ddl, self.ddl_text())
        self.assertEqual(['compute_nodes', 'migrate_version', 'services',
                          'shadow_compute_nodes', 'shadow_services'],
                         sorted(built))

    def ddl_text(self):
        return None


class TestDumpSQLite(DumpChecks, testtools.TestCase):

    BACKEND = 'sqlite'

    def make_engine(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        return sqlalchemy.create_engine(
            'sqlite:///' + os.path.join(tmp, 'nova.sqlite'))

    def ddl_text(self):
        # NOTE: SQLite keeps the CREATE statements' text: it must be the
        # same, character for character.
        with self.engine.connect() as connection:
            return sorted(connection.exec_driver_sql(
                'SELECT type, name, sql FROM sqlite_master').fetchall())


class OpportunisticDumpChecks(DumpChecks, base.DatabaseTestMixin,
                              test_fixtures.OpportunisticDBTestMixin):

    def make_engine(self):
        return enginefacade.writer.get_engine()


class TestDumpMySQL(OpportunisticDumpChecks, testtools.TestCase):

    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    BACKEND = 'mysql'


class TestDumpPostgreSQL(OpportunisticDumpChecks, testtools.TestCase):

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    BACKEND = 'postgresql'
