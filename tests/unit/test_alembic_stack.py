"""The modern stack: what the package does without sqlalchemy-migrate,
oslo.db and pkg_resources (SQLAlchemy 2, alembic).

Runs on both stacks. Each test starts a new Python in which those modules
cannot be imported (``base.run_without_legacy``), so that on the legacy
stack too it shows the package does not lean on them where it must not.
"""
import importlib.util
import os
import tempfile

import sqlalchemy
import testtools

from tests import base

# NOTE: the modules that may need the legacy stack at import time, stated
# here: db sync's runner (oslo.db's migration helpers). The alembic
# environment is loaded by alembic, not imported.
LEGACY_ONLY = ('nova_schema.sync',)
NOT_IMPORTED = ('nova_schema.migrations',)

IMPORT_ALL = '''
import pkgutil
import sys

import nova_schema

legacy_only, not_imported = sys.argv[1].split(','), sys.argv[2].split(',')
names = [module.name for module in pkgutil.walk_packages(
    nova_schema.__path__, 'nova_schema.')]
for name in sorted(names):
    if name in legacy_only or name.startswith(tuple(not_imported)):
        continue
    __import__(name)
    print(name)
import migrate_repo
print('migrate_repo')
'''


class TestStackUnderTest(testtools.TestCase):
    """The run tests the stack NOVA_SCHEMA_TEST_STACK names, not another:
    a modern run that had SQLAlchemy 1.4 would prove nothing."""

    def test_installed_stack_is_the_one_named(self):
        major = int(sqlalchemy.__version__.split('.')[0])
        migrate_installed = importlib.util.find_spec('migrate') is not None
        if base.test_stack() == base.MODERN:
            self.assertEqual(2, major, sqlalchemy.__version__)
            self.assertFalse(migrate_installed,
                             'sqlalchemy-migrate is installed')
        else:
            self.assertEqual(1, major, sqlalchemy.__version__)
            self.assertTrue(migrate_installed,
                            'sqlalchemy-migrate is not installed')

    def test_unknown_stack_name_is_refused(self):
        self.assertRaises(ValueError, base.test_stack,
                          {base.TEST_STACK_VARIABLE: 'sqlalchemy2'})
        self.assertEqual(base.LEGACY, base.test_stack({}))
        self.assertEqual(base.MODERN, base.test_stack(
            {base.TEST_STACK_VARIABLE: 'Modern'}))


class TestWithoutLegacyStack(testtools.TestCase):

    def test_the_blocker_blocks(self):
        # NOTE: so that a passing test below means something.
        result = base.run_without_legacy(
            'import sys\n'
            'for name in sys.argv[1:]:\n'
            '    try:\n'
            '        __import__(name)\n'
            '    except ImportError:\n'
            '        print(name, "blocked")\n', *base.LEGACY_ONLY_MODULES)
        self.assertEqual(
            ''.join('%s blocked\n' % name
                    for name in base.LEGACY_ONLY_MODULES),
            result.stdout, result.stderr)

    def test_every_module_but_the_legacy_runner_imports(self):
        result = base.run_without_legacy(
            IMPORT_ALL, ','.join(LEGACY_ONLY), ','.join(NOT_IMPORTED))
        self.assertEqual(0, result.returncode, result.stderr)
        imported = result.stdout.split()
        # NOTE: a few it must have reached, named here, so that an empty
        # walk cannot pass.
        for name in ('nova_schema.api', 'nova_schema.check',
                     'nova_schema.cli', 'nova_schema.config',
                     'nova_schema.database', 'nova_schema.models',
                     'nova_schema.repository', 'nova_schema.shell',
                     'nova_schema.backends.mysql',
                     'nova_schema.backends.postgresql',
                     'nova_schema.backends.sqlite', 'migrate_repo'):
            self.assertIn(name, imported)

    def test_history_reads_the_scripts_without_loading_them(self):
        result = base.run_without_legacy(
            'from nova_schema import repository\n'
            'for entry in repository.describe_versions():\n'
            '    print(entry["version"], entry["name"])\n'
            '    print(entry["description"])\n')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(
            '232 havana_icehouse_baseline\n'
            'Baseline: services, compute_nodes, compute_node_stats as at '
            'Nova 232.\n'
            '233 add_stats_in_compute_nodes\n'
            'Replace compute_node_stats with a JSON-as-Text stats column.\n',
            result.stdout)

    def test_config_file_connection_without_oslo_db(self):
        # NOTE: the old name Nova's configs had, [DEFAULT] sql_connection,
        # still counts; and the file's other [database] options are
        # ignored, as they were.
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, 'nova.conf')
            with open(conf, 'w') as handle:
                handle.write('[DEFAULT]\nsql_connection = sqlite:///%s\n'
                             '[database]\nmax_pool_size = 5\n'
                             % os.path.join(tmp, 'absent.sqlite'))
            result = base.manage_without_legacy('--config-file', conf,
                                                'db', 'version')
        self.assertEqual((2, ''), (result.returncode, result.stdout))
        self.assertEqual(
            'nova-schema-manage: error: no SQLite database at %s; db sync '
            'creates one\n' % os.path.join(tmp, 'absent.sqlite'),
            result.stderr)

    def test_migrating_command_says_the_legacy_stack_is_missing(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'new.sqlite')
            for argv in (['db', 'sync'], ['db', 'version_control']):
                result = base.manage_without_legacy(
                    '--database-connection', 'sqlite:///' + path, *argv)
                self.assertEqual((2, ''), (result.returncode,
                                           result.stdout))
                lines = result.stderr.splitlines()
                self.assertEqual(1, len(lines), result.stderr)
                self.assertTrue(lines[0].startswith(
                    'nova-schema-manage: error: this needs the '
                    'sqlalchemy-migrate stack, which this Python lacks ('),
                    lines[0])
                self.assertIn('install the extra nova_schema[legacy]',
                              lines[0])
                # NOTE: refused before anything was made.
                self.assertFalse(os.path.exists(path))
