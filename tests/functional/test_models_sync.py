"""nova_schema.models matches the schema the migrations give at head."""
from migrate.versioning import api as migration_api
from migrate.versioning import repository
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_db.sqlalchemy import test_migrations
import testtools

from nova_schema import models
from tests import base


class ModelsMigrationsSyncChecks(test_migrations.ModelsMigrationsSync):

    REPOSITORY = repository.Repository(base.MIGRATE_REPO_PATH)

    def setUp(self):
        super().setUp()
        self.engine = enginefacade.writer.get_engine()

    def get_engine(self):
        return self.engine

    def get_metadata(self):
        return models.BASE.metadata

    def db_sync(self, engine):
        migration_api.version_control(engine, self.REPOSITORY,
                                      base.INIT_VERSION)
        migration_api.upgrade(engine, self.REPOSITORY)

    def include_object(self, object_, name, type_, reflected, compare_to):
        # NOTE: the shadow tables have no models, in Nova either.
        if type_ == 'table':
            return (name != base.VERSION_TABLE
                    and not name.startswith('shadow_'))
        return True

    def filter_metadata_diff(self, diff):
        return [entry for entry in diff if not self.expected_difference(entry)]

    def expected_difference(self, entry):
        """True for a difference the backend's schema has on purpose.

        MySQL needs none: alembic itself ignores InnoDB's automatic index
        on compute_nodes.service_id (fk_compute_nodes_service_id).
        """
        return False


class TestModelsSyncSQLite(ModelsMigrationsSyncChecks,
                           base.DatabaseTestMixin,
                           test_fixtures.OpportunisticDBTestMixin,
                           testtools.TestCase):

    def expected_difference(self, entry):
        # NOTE: Nova's schema has no foreign keys on SQLite (its migrations
        # only added them on MySQL and PostgreSQL), while the model declares
        # compute_nodes.service_id -> services.id. Only that FK is excused.
        if entry[0] != 'add_fk':
            return False
        fk = entry[1]
        return (fk.parent.name == 'compute_nodes'
                and [c.name for c in fk.columns] == ['service_id']
                and [e.target_fullname for e in fk.elements]
                == ['services.id'])


class TestModelsSyncMySQL(ModelsMigrationsSyncChecks,
                          base.DatabaseTestMixin,
                          test_fixtures.OpportunisticDBTestMixin,
                          testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class TestModelsSyncPostgreSQL(ModelsMigrationsSyncChecks,
                               base.DatabaseTestMixin,
                               test_fixtures.OpportunisticDBTestMixin,
                               testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
