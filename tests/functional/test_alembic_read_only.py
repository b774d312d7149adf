"""The read-only commands on a database at 233, without the legacy stack.

Runs on both stacks; on the modern one (SQLAlchemy 2) it is what shows that
``db version``, ``db check`` and ``db history`` read a Nova database at 233
there. The database is built from a dump of the schema migrate_repo leaves
at 233 (``schema_233/<backend>.sql``, made by the servers' own dump tools;
``test_schema_233_dump`` holds it to migrate_repo), and every command runs
in a new Python that cannot import sqlalchemy-migrate, oslo.db or
pkg_resources.
"""
import json
import os
import re

import fixtures
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
import testtools

from tests import base

DUMP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'schema_233')


def dump_statements(backend):
    """The statements of ``schema_233/<backend>.sql``, comments left out."""
    with open(os.path.join(DUMP_DIR, backend + '.sql')) as dump:
        lines = [line for line in dump if not line.startswith('--')]
    return [statement.strip() for statement in
            re.split(r';[ \t]*\n', ''.join(lines)) if statement.strip()]


def load_dump(engine, backend, version=233):
    """Build the schema from the dump and record ``version`` as
    sqlalchemy-migrate would (repository ``nova``)."""
    with engine.begin() as connection:
        for statement in dump_statements(backend):
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql(
            "INSERT INTO migrate_version (repository_id, repository_path, "
            "version) VALUES ('nova', '%s', %d)"
            % (base.MIGRATE_REPO_PATH, version))


class ReadOnlyChecks(object):

    BACKEND = None
    # A change only this backend's reflection can see, and what db check
    # must then say about it.
    DRIFT = None
    DRIFT_FOUND = None

    def setUp(self):
        super().setUp()
        self.engine = self.make_engine()
        self.addCleanup(self.engine.dispose)
        load_dump(self.engine, self.BACKEND)
        self.url = self.engine.url.render_as_string(hide_password=False)
        self.masked_url = self.engine.url.render_as_string(
            hide_password=True)

    def manage(self, *argv):
        return base.manage_without_legacy(
            '--database-connection', self.url, *argv)

    def assertSucceeds(self, result):
        self.assertEqual((0, ''), (result.returncode, result.stderr),
                         result.stdout)

    def test_version(self):
        result = self.manage('db', 'version')
        self.assertSucceeds(result)
        self.assertEqual('233\n', result.stdout)

    def test_version_verbose_json(self):
        result = self.manage('db', 'version', '--verbose', '--format',
                             'json')
        self.assertSucceeds(result)
        info = json.loads(result.stdout)
        self.assertEqual(
            {'version': 233, 'repository_id': 'nova',
             'backend': self.BACKEND, 'database': self.masked_url,
             'half_applied': None},
            {key: info[key] for key in ('version', 'repository_id',
                                        'backend', 'database',
                                        'half_applied')})

    def test_history(self):
        result = self.manage('db', 'history')
        self.assertSucceeds(result)
        self.assertEqual(
            '  232  havana_icehouse_baseline    Baseline: services, '
            'compute_nodes, compute_node_stats as at Nova 232.\n'
            '* 233  add_stats_in_compute_nodes  Replace compute_node_stats '
            'with a JSON-as-Text stats column.\n', result.stdout)

    def test_check_matches(self):
        result = self.manage('db', 'check')
        self.assertSucceeds(result)
        self.assertEqual('database %s matches version 233 (as 233 leaves '
                         'it)\n' % self.masked_url, result.stdout)

    def test_check_finds_a_missing_column(self):
        with self.engine.begin() as connection:
            connection.exec_driver_sql(
                'ALTER TABLE shadow_compute_nodes DROP COLUMN stats')
        result = self.manage('db', 'check')
        self.assertEqual((1, ''), (result.returncode, result.stderr))
        self.assertEqual(
            'database %s differs from version 233 in 2 places:\n'
            '  - shadow_compute_nodes: column stats is missing\n'
            '  - shadow_compute_nodes is out of step with compute_nodes: '
            'column stats is missing\n' % self.masked_url, result.stdout)

    def test_check_finds_what_only_this_backend_has(self):
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self.DRIFT)
        result = self.manage('db', 'check')
        self.assertEqual((1, ''), (result.returncode, result.stderr))
        self.assertEqual(
            'database %s differs from version 233 in %d place%s:\n%s'
            % (self.masked_url, len(self.DRIFT_FOUND),
               '' if len(self.DRIFT_FOUND) == 1 else 's',
               ''.join('  - %s\n' % line for line in self.DRIFT_FOUND)),
            result.stdout)


class TestReadOnlySQLite(ReadOnlyChecks, testtools.TestCase):

    BACKEND = 'sqlite'
    # NOTE: Nova's SQLite schema has no foreign keys; an index that is not
    # Nova's is the drift here.
    DRIFT = 'CREATE INDEX extra_host ON services (host)'
    DRIFT_FOUND = ['services: index extra_host is not expected']

    def make_engine(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        return sqlalchemy.create_engine(
            'sqlite:///' + os.path.join(tmp, 'nova.sqlite'))


class OpportunisticReadOnlyChecks(ReadOnlyChecks, base.DatabaseTestMixin,
                                  test_fixtures.OpportunisticDBTestMixin):

    def make_engine(self):
        return enginefacade.writer.get_engine()


class TestReadOnlyMySQL(OpportunisticReadOnlyChecks, testtools.TestCase):

    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    BACKEND = 'mysql'
    # NOTE: what MySQL does to a table created with the server's default
    # charset, which alembic check does not see.
    DRIFT = 'ALTER TABLE shadow_services CONVERT TO CHARACTER SET utf8mb4'
    DRIFT_FOUND = [
        'shadow_services: table options is {"collation": '
        '"utf8mb4_general_ci", "engine": "InnoDB"}, expected {"collation": '
        '"utf8mb3_general_ci", "engine": "InnoDB"}']


class TestReadOnlyPostgreSQL(OpportunisticReadOnlyChecks,
                             testtools.TestCase):

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    BACKEND = 'postgresql'
    # NOTE: the name alembic gives the foreign key unless told otherwise.
    DRIFT = ('ALTER TABLE compute_nodes RENAME CONSTRAINT '
             'compute_nodes_service_id_fkey TO fk_compute_nodes_service_id')
    DRIFT_FOUND = ['compute_nodes: foreign key compute_nodes_service_id_fkey '
                   'is named fk_compute_nodes_service_id']
