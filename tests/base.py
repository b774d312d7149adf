"""Plumbing shared by the functional tests.

``describe_table`` / ``describe_schema`` turn a database's schema into plain,
comparable data, so that a test can state the expected schema literally and
compare it with one ``assertEqual``.
"""
import os
import re
import subprocess
import sys
import tempfile
import warnings

import fixtures
import sqlalchemy
from sqlalchemy import text

import migrate_repo

MIGRATE_REPO_PATH = os.path.dirname(os.path.abspath(migrate_repo.__file__))
VERSION_TABLE = 'migrate_version'
# NOTE: stated here on its own, not imported from nova_schema.repository
# (written alongside these tests, with the same value), so that the tests do
# not take the version numbers from the code they check.
INIT_VERSION = 231

# NOTE: the same table as tools/run-tests.sh's ci_enabled; every other value
# of CI, whatever CI system set it (true, 1, yes, on...), means CI.
CI_FALSE_VALUES = ('', '0', 'false', 'no', 'off')


def ci_enabled(environ=None):
    """True when the CI environment variable says this run is CI.

    Anything but unset, empty, ``0``, ``false``, ``no`` or ``off`` (in any
    case) counts: an unexpected value errs on the side of the strict gate.
    """
    environ = os.environ if environ is None else environ
    return environ.get('CI', '').lower() not in CI_FALSE_VALUES


# Which stack a run tests (NOVA_SCHEMA_TEST_STACK): "legacy" (the default)
# loads every test module; "modern" (SQLAlchemy 2, alembic, no
# sqlalchemy-migrate) only the test_alembic_*.py ones (tests/__init__.py).
TEST_STACK_VARIABLE = 'NOVA_SCHEMA_TEST_STACK'
LEGACY, MODERN = 'legacy', 'modern'


def test_stack(environ=None):
    """The stack this run tests, as NOVA_SCHEMA_TEST_STACK names it.

    Chosen by the caller (tools/run-tests.sh, tox), never guessed from what
    is installed: a wrong guess would drop tests silently.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(TEST_STACK_VARIABLE, '').strip().lower() or LEGACY
    if value not in (LEGACY, MODERN):
        raise ValueError('%s=%r: expected %s or %s' % (
            TEST_STACK_VARIABLE, value, LEGACY, MODERN))
    return value


# NOTE: stated here, not taken from nova_schema.stack: what the package must
# do without on the modern stack.
LEGACY_ONLY_MODULES = ('migrate', 'oslo_db', 'pkg_resources')

_BLOCK_LEGACY = """
import sys


class _BlockLegacy(object):
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in %r:
            raise ModuleNotFoundError(
                'No module named %%r (blocked by the test)' %% name,
                name=name)
        return None


sys.meta_path.insert(0, _BlockLegacy())
""" % (LEGACY_ONLY_MODULES,)


def run_without_legacy(code, *args, timeout=60):
    """Run ``code`` in a new Python (this one's) that cannot import
    sqlalchemy-migrate, oslo.db or pkg_resources, from an empty directory
    (so the installed package is the one imported); ``args`` are its
    sys.argv[1:]. Returns the CompletedProcess, output as text."""
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(
            [sys.executable, '-c', _BLOCK_LEGACY + code] + list(args),
            cwd=cwd, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL)


def manage_without_legacy(*argv):
    """``nova-schema-manage ARGV`` in a Python without the legacy stack."""
    return run_without_legacy(
        'import sys\nfrom nova_schema import cli\n'
        'sys.exit(cli.main(sys.argv[1:]))', *argv)


class DatabaseTestMixin(object):
    """Mix in before oslo.db's ``OpportunisticDBTestMixin``.

    Locally a backend that is not running skips its tests; in CI
    (``ci_enabled()``: ``CI=true``, ``CI=1``...) it fails them, so a broken
    database service cannot pass silently.
    """

    @property
    def SKIP_ON_UNAVAILABLE_DB(self):
        # NOTE: read when oslo.db's setUp asks, not when this is imported.
        return not ci_enabled()

    def setUp(self):
        # NOTE: before oslo.db's setUp, which creates the engines.
        self.useFixture(DeprecationWarningsFilter())
        super().setUp()


# (category, module, message) of the pinned stack's deprecation noise.
NOISY_WARNINGS = (
    # SQLAlchemy 2.0 deprecations (SADeprecationWarning, RemovedIn20Warning)
    # are attributed to their caller: sqlalchemy-migrate or oslo.db.
    (DeprecationWarning, r'migrate(\.|$)', ''),
    # debtcollector attributes oslo.db's own deprecations (ndb_status...) to
    # their caller, oslo.db itself.
    (DeprecationWarning, r'oslo_db(\.|$)', ''),
    # sqlalchemy-migrate loads version scripts with load_module().
    (DeprecationWarning, r'importlib\._bootstrap',
     r'the load_module\(\) method is deprecated'),
    # sqlalchemy-migrate imports pkg_resources (setuptools is capped for it).
    (UserWarning, r'migrate$', r'pkg_resources is deprecated'),
)


def filter_noisy_warnings():
    """Ignore ``NOISY_WARNINGS``; anything from this project stays visible.

    Warnings raised while ``migrate`` is first imported are only caught if
    this runs before that import.
    """
    for category, module, message in NOISY_WARNINGS:
        warnings.filterwarnings('ignore', message=message,
                                category=category, module=module)


class DeprecationWarningsFilter(fixtures.Fixture):
    """``filter_noisy_warnings()`` for the duration of one test."""

    def _setUp(self):
        catcher = warnings.catch_warnings()
        catcher.__enter__()
        self.addCleanup(catcher.__exit__, None, None, None)
        filter_noisy_warnings()


def _render_type(type_, dialect):
    return str(type_.compile(dialect=dialect))


def _columns(reflected, dialect):
    return [(column['name'], _render_type(column['type'], dialect),
             column['nullable'], column.get('default'))
            for column in reflected]


def _autoincrement(reflected):
    # NOTE: MySQL's AUTO_INCREMENT and PostgreSQL's serial reflect as True;
    # SQLite's rowid alias cannot be told apart and reflects as 'auto'.
    return [column['name'] for column in reflected
            if column.get('autoincrement') is True]


def _foreign_keys(inspector, name):
    return sorted((fk['name'], tuple(fk['constrained_columns']),
                   fk['referred_table'], tuple(fk['referred_columns']))
                  for fk in inspector.get_foreign_keys(name))


def _unique_constraints(inspector, name):
    return sorted((uc['name'], tuple(uc['column_names']))
                  for uc in inspector.get_unique_constraints(name))


def _indexes(inspector, name, unique_names):
    # NOTE: MySQL and PostgreSQL also report the index behind each unique
    # constraint; it is described once, as a unique constraint.
    return sorted((index['name'], tuple(index['column_names']),
                   bool(index['unique']))
                  for index in inspector.get_indexes(name)
                  if index['name'] not in unique_names)


def mysql_table_options(engine, name):
    """Engine, collation and character set as information_schema has them."""
    query = text(
        'SELECT t.ENGINE, t.TABLE_COLLATION, c.CHARACTER_SET_NAME '
        'FROM information_schema.TABLES t '
        'JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY c '
        'ON c.COLLATION_NAME = t.TABLE_COLLATION '
        'WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = :name')
    with engine.connect() as conn:
        row = conn.execute(query, {'name': name}).one()
    return {'engine': row[0], 'collation': row[1], 'charset': row[2]}


def describe_table(engine, name):
    """A complete, comparable description of one table as reflected.

    Columns are ``(name, type, nullable, server default)`` in table order,
    the type compiled for the engine's dialect (``MEDIUMTEXT``, ``INET``...).
    Constraints and indexes are sorted lists of tuples; on MySQL the table's
    engine, collation and character set are added.
    """
    inspector = sqlalchemy.inspect(engine)
    # NOTE: a copy, taken first: SQLAlchemy 1.4's SQLite get_pk_constraint()
    # sorts the inspector's cached column list in place, primary key last.
    reflected = list(inspector.get_columns(name))
    pk = inspector.get_pk_constraint(name)
    uniques = _unique_constraints(inspector, name)
    description = {
        'columns': _columns(reflected, engine.dialect),
        'autoincrement': _autoincrement(reflected),
        'primary_key': (pk.get('name'), tuple(pk['constrained_columns'])),
        'foreign_keys': _foreign_keys(inspector, name),
        'indexes': _indexes(inspector, name, {uc[0] for uc in uniques}),
        'unique_constraints': uniques,
    }
    if engine.dialect.name == 'mysql':
        description.update(mysql_table_options(engine, name))
    return description


def table_names(engine):
    """Every table but sqlalchemy-migrate's version table."""
    return sorted(name for name in sqlalchemy.inspect(engine).get_table_names()
                  if name != VERSION_TABLE)


def describe_schema(engine):
    """``describe_table`` for every table but ``migrate_version``."""
    return {name: describe_table(engine, name) for name in table_names(engine)}


# What db sync says on stderr without failing: a wait for a lock, and the
# warning before a step that discards data.
_NOTE = re.compile(r'^nova-schema-manage: (waiting for .*|warning: \d+ -> \d+ '
                   r'\w+ discards .*)$')


def without_notes(stderr):
    """``stderr`` less db sync's wait and discard notes."""
    return ''.join(line for line in stderr.splitlines(True)
                   if not _NOTE.match(line.rstrip('\n')))
