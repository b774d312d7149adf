"""The alembic side on its own: ``db sync --alembic`` and the plain
``alembic`` command with the shipped alembic.ini, on SQLite, MySQL and
PostgreSQL.

Runs on the legacy and the modern stack (SQLAlchemy 2, current alembic):
nothing here needs sqlalchemy-migrate. A database built by alembic's
initial revision must reflect exactly as ``nova_schema/expected`` records
version 233 (what migrate_repo leaves, recorded from real runs), with no
``migrate_version``; a database under sqlalchemy-migrate control that was
not handed off must be refused before alembic creates anything.
Fixtures: tests.functional.sync_support's SQLiteTestCase (files in a
temporary directory), MySQLTestCase and PostgreSQLTestCase (oslo.db's
opportunistic provisioning, through tests.base.DatabaseTestMixin).
"""
import json
import os
import re
import subprocess
import sys

import sqlalchemy

from nova_schema import backends
from nova_schema import introspect
import nova_schema
from tests.functional import schema_dump
from tests.functional import sync_support as support

INITIAL = '233_initial'
ALEMBIC_INI = os.path.join(os.path.dirname(nova_schema.__file__),
                           'migrations', 'alembic.ini')
EXPECTED_DIR = os.path.join(os.path.dirname(nova_schema.__file__),
                            'expected')
MANAGED = ('compute_nodes', 'services', 'shadow_compute_nodes',
           'shadow_services', 'compute_node_stats',
           'shadow_compute_node_stats')
# What the alembic side must never import: the legacy stack.
LEGACY_MODULES = ('migrate', 'pkg_resources', 'oslo_db')
PROBE = '''
import json, sys
from nova_schema import cli
status = cli.main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
'''


def expected_233(backend_name):
    with open(os.path.join(EXPECTED_DIR, '%s.json' % backend_name)) as spec:
        return json.load(spec)['233']


def reflected(engine):
    backend = backends.get(engine)
    with engine.connect() as conn:
        return backend.normalize_schema(introspect.describe_schema(
            conn, backend, only=MANAGED))


def alembic_command(url, *args):
    script = os.path.join(os.path.dirname(sys.executable), 'alembic')
    command = [script] if os.path.exists(script) else [
        sys.executable, '-m', 'alembic']
    extra = ['-x', 'url=' + url] if url else []
    return command + ['-c', ALEMBIC_INI] + extra + list(args)


def run(command, env=None):
    return subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120, env=env or support.cli_env())


def make_legacy(engine, version=233):
    """What sqlalchemy-migrate leaves, as far as env.py can tell: its
    version table with our row, and a table."""
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            'CREATE TABLE migrate_version (repository_id VARCHAR(250) NOT '
            'NULL PRIMARY KEY, repository_path TEXT, version INTEGER)'))
        conn.execute(sqlalchemy.text(
            "INSERT INTO migrate_version VALUES ('nova', '/x', :version)"),
            {'version': version})
        conn.execute(sqlalchemy.text(
            'CREATE TABLE services (id INTEGER NOT NULL PRIMARY KEY)'))


class AlembicEnvironmentChecks(object):

    def cli(self, url, *args):
        process = support.run_cli(self, url, *args)
        return process.popen.returncode, process.stdout, process.stderr

    def assertBuiltAt233(self, engine):
        self.assertEqual(expected_233(self.BACKEND), reflected(engine))
        tables = sqlalchemy.inspect(engine).get_table_names()
        self.assertNotIn('migrate_version', tables)
        self.assertEqual([INITIAL], schema_dump.alembic_revisions(engine))

    def test_sync_alembic_starts_a_fresh_database_on_alembic(self):
        database = self.fresh_database()
        status, out, err = self.cli(database.url, 'sync', '--alembic')
        self.assertEqual(0, status, err)
        self.assertRegex(out, r'^base -> 233_initial initial \.\.\. done in '
                         r'\d+\.\d\d s \(alembic\)\n$')
        self.assertBuiltAt233(database.engine)
        if self.BACKEND == 'mysql':
            # NOTE: alembic creates its table before the revision runs,
            # with the server's default charset; the revision makes it
            # utf8 as the baseline made migrate_version.
            self.assertIn('CHARSET=utf8mb3', schema_dump.version_table_options(
                database.engine))

        self.assertEqual((0, 'already at revision 233_initial\n', ''),
                         self.cli(database.url, 'sync'))
        self.assertEqual(
            (0, '233_initial (alembic, started on alembic)\n', ''),
            self.cli(database.url, 'version'))
        status, out, err = self.cli(database.url, 'check')
        self.assertEqual((0, ''), (status, err))
        self.assertIn('matches alembic revision 233_initial', out)
        status, out, err = self.cli(database.url, 'history')
        self.assertEqual((0, ''), (status, err))
        self.assertEqual([INITIAL], [line.split()[1] for line in
                                     out.splitlines()])
        self.assertTrue(out.startswith('* 233_initial'), out)

    def test_sync_alembic_refuses_a_database_under_sqlalchemy_migrate(self):
        database = self.fresh_database()
        make_legacy(database.engine)
        before = support.snapshot(database.engine)
        status, out, err = self.cli(database.url, 'sync', '--alembic')
        self.assertEqual((2, ''), (status, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('not handed off to alembic', err)
        self.assertEqual(before, support.snapshot(database.engine))

    def test_db_check_finds_drift_on_an_alembic_database(self):
        database = self.fresh_database()
        self.assertEqual(0, self.cli(database.url, 'sync', '--alembic')[0])
        with database.engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                'ALTER TABLE compute_nodes ADD COLUMN flavor INTEGER'))
        status, out, err = self.cli(database.url, 'check')
        self.assertEqual((1, ''), (status, err))
        self.assertIn('compute_nodes: column flavor is not expected', out)

    def test_plain_alembic_builds_checks_and_reports(self):
        database = self.fresh_database()
        result = run(alembic_command(database.url, 'upgrade', 'head'))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertBuiltAt233(database.engine)
        result = run(alembic_command(database.url, 'current'))
        self.assertEqual((0, '233_initial (head)\n'),
                         (result.returncode, result.stdout), result.stderr)
        # NOTE: the URL from the environment instead of -x url=.
        env = dict(support.cli_env(), OS_DATABASE__CONNECTION=database.url)
        result = run(alembic_command(None, 'check'), env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('No new upgrade operations detected', result.stdout)
        with database.engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                'ALTER TABLE compute_nodes ADD COLUMN flavor INTEGER'))
        result = run(alembic_command(database.url, 'check'))
        self.assertNotEqual(0, result.returncode, result.stdout)

    def test_plain_alembic_refuses_a_legacy_database_leaving_nothing(self):
        database = self.fresh_database()
        make_legacy(database.engine)
        before = support.snapshot(database.engine)
        for args in (('upgrade', 'head'), ('stamp', 'head'), ('current',)):
            result = run(alembic_command(database.url, *args))
            self.assertNotEqual(0, result.returncode, args)
            self.assertIn('FAILED: database ', result.stdout)
            self.assertIn('was not handed off to alembic', result.stdout)
            self.assertNotIn('Traceback', result.stderr)
            self.assertEqual(before, support.snapshot(database.engine), args)
            self.assertNotIn('alembic_version', sqlalchemy.inspect(
                database.engine).get_table_names())

    def test_plain_alembic_without_a_url_says_how_to_give_one(self):
        env = support.cli_env()
        env.pop('OS_DATABASE__CONNECTION', None)
        result = run(alembic_command(None, 'current'), env=env)
        self.assertNotEqual(0, result.returncode)
        self.assertIn('FAILED: no database URL: give -x url=URL or set '
                      'OS_DATABASE__CONNECTION', result.stdout)

    def test_alembic_side_leaves_the_legacy_stack_alone(self):
        database = self.fresh_database()
        for args in (('sync', '--alembic'), ('check',), ('history',)):
            result = run([sys.executable, '-c', PROBE,
                          '--database-connection', database.url, 'db'] +
                         list(args))
            self.assertEqual(0, result.returncode, result.stderr)
            modules = json.loads(result.stdout.splitlines()[-1])['modules']
            self.assertEqual([], [name for name in modules if re.match(
                r'(%s)(\.|$)' % '|'.join(LEGACY_MODULES), name)], args)


class TestAlembicEnvironmentSQLite(AlembicEnvironmentChecks,
                                   support.SQLiteTestCase):
    pass


class TestAlembicEnvironmentMySQL(AlembicEnvironmentChecks,
                                  support.MySQLTestCase):
    pass


class TestAlembicEnvironmentPostgreSQL(AlembicEnvironmentChecks,
                                       support.PostgreSQLTestCase):
    pass
