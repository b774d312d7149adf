"""nova_schema/expected/<backend>.json is what the migrations build, exactly.

The file is regenerated from a fresh database with the tool that wrote it
(``tools/expected_schema.py``'s ``record``) and compared with the shipped
one, so that it cannot drift from the migrations.
"""
import importlib.util
import json
import os

from oslo_db.sqlalchemy import test_fixtures
import testtools

from tests import base
from tests.functional import command_base

ROOT = os.path.dirname(base.MIGRATE_REPO_PATH)
TOOL_PATH = os.path.join(ROOT, 'tools', 'expected_schema.py')
EXPECTED_DIR = os.path.join(ROOT, 'nova_schema', 'expected')


def load_tool():
    spec = importlib.util.spec_from_file_location('expected_schema_tool',
                                                  TOOL_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ExpectedSchemaChecks(command_base.CommandChecks):

    def test_shipped_file_is_what_the_migrations_build(self):
        backend, spec = load_tool().record(self.url)
        self.assertEqual(self.backend, backend)
        self.assertEqual(232, self.version())
        with open(os.path.join(EXPECTED_DIR, backend + '.json')) as shipped:
            shipped_text = shipped.read()
        self.assertEqual(json.loads(shipped_text), spec)
        # NOTE: and byte for byte as the tool writes it.
        self.assertEqual(json.dumps(spec, indent=1, sort_keys=True) + '\n',
                         shipped_text)


class TestExpectedSchemaSQLite(ExpectedSchemaChecks,
                               base.DatabaseTestMixin,
                               test_fixtures.OpportunisticDBTestMixin,
                               testtools.TestCase):
    pass


class TestExpectedSchemaMySQL(ExpectedSchemaChecks,
                              base.DatabaseTestMixin,
                              test_fixtures.OpportunisticDBTestMixin,
                              testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class TestExpectedSchemaPostgreSQL(ExpectedSchemaChecks,
                                   base.DatabaseTestMixin,
                                   test_fixtures.OpportunisticDBTestMixin,
                                   testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
