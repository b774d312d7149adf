"""A read-only command imports only what it needs.

``db version`` costs about 1.3x ``python -c "import sqlalchemy"`` in CPU
(tools/bench_migration.py measures it) because it does not import the
migration stack: sqlalchemy-migrate with pkg_resources, oslo.db's engines
(and through them alembic and the ORM), oslo.utils' strutils. This test
runs it in a fresh interpreter and names any of those that came back.
"""
import json
import os
import sqlite3
import subprocess
import sys

import fixtures
import testtools

HEAVY = ('migrate', 'pkg_resources', 'oslo_db.sqlalchemy.engines',
         'oslo_db.sqlalchemy.migration', 'alembic', 'sqlalchemy.orm',
         'oslo_utils.strutils', 'oslo_db.exception')
PROBE = '''
import json, sys
from nova_schema import cli
status = cli.main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
'''


def _database_at_233(path):
    connection = sqlite3.connect(path)
    with connection:
        connection.execute('CREATE TABLE migrate_version (repository_id '
                           'VARCHAR(250) PRIMARY KEY, repository_path TEXT, '
                           'version INTEGER)')
        connection.execute("INSERT INTO migrate_version VALUES "
                           "('nova', 'x', 233)")
    connection.close()


class TestColdStart(testtools.TestCase):

    def _modules_of(self, *argv):
        result = subprocess.run(
            [sys.executable, '-c', PROBE] + list(argv),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
            universal_newlines=True)
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual('233', lines[0], result.stdout)
        data = json.loads(lines[-1])
        self.assertEqual(0, data['status'])
        return set(data['modules'])

    def test_db_version_leaves_the_migration_stack_alone(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.sqlite')
        _database_at_233(path)
        modules = self._modules_of('--database-connection',
                                   'sqlite:///' + path, 'db', 'version')
        self.assertEqual([], sorted(name for name in HEAVY
                                    if name in modules))
        # NOTE: and it did read the database: sqlalchemy was used.
        self.assertIn('sqlalchemy.dialects.sqlite', modules)
