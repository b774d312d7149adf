"""The migration repository is well formed. No database needed.

Read from the files themselves: the version scripts, as sqlalchemy-migrate
finds them (``^(\\d{3,}).*`` in versions/), and migrate.cfg.
"""
import ast
import collections
import configparser
import importlib.util
import inspect
import os
import re

import testtools

from nova_schema import repository
from tests import base
from tests.functional import test_migrations

BASELINE = 232
INIT_VERSION = 231
# sqlalchemy-migrate's own pattern for a version file.
VERSION_FILE = re.compile(r'^(\d{3,}).*')


def _is_placeholder(function_node):
    """A function whose body is only a docstring and/or ``pass``."""
    body = [node for node in function_node.body
            if not (isinstance(node, ast.Expr)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str))]
    return all(isinstance(node, ast.Pass) for node in body)


class TestRepository(testtools.TestCase):

    REPOSITORY_PATH = base.MIGRATE_REPO_PATH
    CHECKS = test_migrations.MigrationsWalkChecks

    @property
    def versions_dir(self):
        return os.path.join(self.REPOSITORY_PATH, 'versions')

    def version_files(self):
        """{number: [file names]} of every file sqlalchemy-migrate counts."""
        files = collections.defaultdict(list)
        for filename in os.listdir(self.versions_dir):
            match = VERSION_FILE.match(filename)
            if match:
                files[int(match.group(1))].append(filename)
        return dict(files)

    def scripts(self):
        """{number: path} of the Python version scripts."""
        return {number: os.path.join(self.versions_dir, name)
                for number, names in self.version_files().items()
                for name in names if name.endswith('.py')}

    def load(self, path):
        name = 'version_script_' + os.path.basename(path)[:-3]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def test_one_python_script_per_number(self):
        for number, names in sorted(self.version_files().items()):
            self.assertEqual(1, len(names), '%d: %s' % (number, names))
            self.assertTrue(re.match(r'^\d{3}_[a-z0-9_]+\.py$', names[0]),
                            names[0])

    def test_numbers_contiguous_from_the_baseline(self):
        numbers = sorted(self.version_files())
        self.assertEqual(BASELINE, numbers[0])
        self.assertEqual(list(range(BASELINE, numbers[-1] + 1)), numbers)
        self.assertEqual(numbers[-1], repository.head_version())
        self.assertEqual(BASELINE, repository.baseline_version())

    def test_upgrade_and_downgrade_take_one_argument(self):
        for number, path in sorted(self.scripts().items()):
            module = self.load(path)
            for name in ('upgrade', 'downgrade'):
                function = getattr(module, name, None)
                self.assertTrue(callable(function), '%d has no %s'
                                % (number, name))
                parameters = list(
                    inspect.signature(function).parameters.values())
                self.assertEqual(1, len(parameters),
                                 '%d %s%s' % (number, name,
                                              inspect.signature(function)))
                self.assertIn(parameters[0].kind,
                              (parameters[0].POSITIONAL_ONLY,
                               parameters[0].POSITIONAL_OR_KEYWORD))
                self.assertIs(parameters[0].empty, parameters[0].default)

    def test_every_script_has_a_docstring(self):
        for number, path in sorted(self.scripts().items()):
            with open(path) as script:
                docstring = ast.get_docstring(ast.parse(script.read()))
            self.assertTrue(docstring and docstring.strip(),
                            '%d has no module docstring' % number)
            self.assertTrue(docstring.strip().splitlines()[0].strip())

    def test_every_real_migration_has_checks(self):
        for number, path in sorted(self.scripts().items()):
            if number == BASELINE:
                continue
            with open(path) as script:
                tree = ast.parse(script.read())
            upgrade = next(node for node in tree.body
                           if isinstance(node, ast.FunctionDef)
                           and node.name == 'upgrade')
            if _is_placeholder(upgrade):
                continue
            for prefix in ('_pre_upgrade_', '_check_'):
                self.assertTrue(
                    hasattr(self.CHECKS, '%s%03d' % (prefix, number)),
                    '%s has no %s%03d' % (self.CHECKS.__name__, prefix,
                                          number))

    def test_migrate_cfg(self):
        config = configparser.ConfigParser()
        self.assertEqual(
            [os.path.join(self.REPOSITORY_PATH, 'migrate.cfg')],
            config.read(os.path.join(self.REPOSITORY_PATH, 'migrate.cfg')))
        settings = dict(config['db_settings'])
        self.assertEqual(
            {'repository_id': 'nova', 'version_table': 'migrate_version',
             'required_dbs': '[]'},
            {key: settings.get(key) for key in
             ('repository_id', 'version_table', 'required_dbs')})

    def test_init_version(self):
        self.assertEqual(INIT_VERSION, repository.INIT_VERSION)
        self.assertEqual(INIT_VERSION, base.INIT_VERSION)
        self.assertEqual(min(self.version_files()) - 1,
                         repository.INIT_VERSION)
