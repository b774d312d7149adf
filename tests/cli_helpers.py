"""Run nova-schema-manage and manage.py the way a user does, and compare.

``run_cli`` calls ``nova_schema.cli.main`` in this process; ``run_script``
and ``run_manage`` start the installed console script or
``migrate_repo/manage.py`` in a subprocess. ``snapshot`` captures a whole
database (every table's reflected shape and all its rows), so a test can
assert that a refused command changed nothing.
"""
import collections
import contextlib
import io
import logging
import os
import sqlite3
import subprocess
import sys
import warnings

import fixtures
from migrate.versioning import api as migration_api
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
from sqlalchemy import event

from nova_schema import cli
from tests import base

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANAGE_PY = os.path.join(REPO_ROOT, 'migrate_repo', 'manage.py')
CONSOLE_SCRIPT = os.path.join(os.path.dirname(sys.executable),
                              'nova-schema-manage')
NOVA_REPOSITORY_PATH = '/usr/lib/python2.7/dist-packages/nova/db/sqlalchemy/' \
    'migrate_repo'
SUBPROCESS_TIMEOUT = 120

Result = collections.namedtuple('Result', 'status out err')


# oslo.config's environment variable for [database] connection: unset for
# every command a test runs, unless the test sets it.
ENV_CONNECTION = 'OS_DATABASE__CONNECTION'


def run_cli(argv, connection_env=None):
    """``nova_schema.cli.main(argv)`` here, with its output captured.

    ``connection_env`` is the value of OS_DATABASE__CONNECTION for the run
    (unset by default, whatever this process's environment holds).

    main() reconfigures the root logger and the warning filters for the
    process; both are put back afterwards so one test cannot leak into the
    next. The engines it made are disposed of: a process that runs main()
    once exits and closes them, tests that run it hundreds of times would
    otherwise hold MySQL and PostgreSQL connections until the next garbage
    collection.
    """
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    engines = set()

    def connected(connection, *args):
        engines.add(connection.engine)

    event.listen(sqlalchemy.engine.Engine, 'engine_connect', connected)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err), \
                fixtures.EnvironmentVariable(ENV_CONNECTION, connection_env):
            try:
                status = cli.main(list(argv))
            except SystemExit as exit:
                status = exit.code
    finally:
        event.remove(sqlalchemy.engine.Engine, 'engine_connect', connected)
        root.handlers[:] = handlers
        root.setLevel(level)
        for engine in engines:
            engine.dispose()
    return Result(status, out.getvalue(), err.getvalue())


def child_environment(**overrides):
    """The environment for a subprocess: ours, without PYTHONWARNINGS.

    NOTE: tox sets PYTHONWARNINGS=default::DeprecationWarning for the test
    run; a user's shell does not. Tests that want it pass it explicitly.
    """
    env = dict(os.environ)
    env.pop('PYTHONWARNINGS', None)
    env.pop(ENV_CONNECTION, None)
    env.update(overrides)
    return env


def run_process(args, cwd=None, env=None):
    process = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True,
        env=child_environment() if env is None else env,
        timeout=SUBPROCESS_TIMEOUT)
    return Result(process.returncode, process.stdout, process.stderr)


def run_script(argv, cwd=None, env=None):
    """The installed ``nova-schema-manage`` console script."""
    return run_process([CONSOLE_SCRIPT] + list(argv), cwd=cwd, env=env)


def run_manage(argv, cwd=None, env=None):
    """``python migrate_repo/manage.py ARGV``."""
    return run_process([sys.executable, MANAGE_PY] + list(argv), cwd=cwd,
                       env=env)


def step_line_pattern(start, end, name, strategy=None):
    """A db sync progress line; a step that adds columns names the
    strategy it used."""
    how = r' \(%s\)' % strategy if strategy else ''
    return r'^%d -> %d %s \.\.\. done in \d+\.\d\d s%s$' % (start, end, name,
                                                            how)


STEP_232 = 'havana_icehouse_baseline'
STEP_233 = 'add_stats_in_compute_nodes'


# -- databases ----------------------------------------------------------------


class SQLiteFile(fixtures.Fixture):
    """A SQLite file in a temporary directory (not created until used)."""

    def __init__(self, name='nova.sqlite'):
        super().__init__()
        self.name = name

    def _setUp(self):
        self.directory = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.directory, self.name)
        self.url = 'sqlite:///' + self.path
        self.engine = sqlalchemy.create_engine(self.url)
        self.addCleanup(self.engine.dispose)


def build_nova_database(engine, version, repository_path=None):
    """A database at ``version`` as sqlalchemy-migrate alone makes it.

    ``repository_path`` replaces the path recorded in migrate_version, as a
    database Nova itself migrated would have its own there.
    """
    migration_api.version_control(engine, base.MIGRATE_REPO_PATH,
                                  base.INIT_VERSION)
    if version > base.INIT_VERSION:
        migration_api.upgrade(engine, base.MIGRATE_REPO_PATH, version)
    if repository_path is not None:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                'UPDATE migrate_version SET repository_path = :path'),
                {'path': repository_path})


SERVICE = {'id': 1, 'host': 'compute1', 'binary': 'nova-compute',
           'topic': 'compute', 'report_count': 5, 'disabled': False,
           'deleted': 0}
COMPUTE_NODE = {'id': 1, 'service_id': 1, 'vcpus': 8, 'memory_mb': 4096,
                'local_gb': 100, 'vcpus_used': 1, 'memory_mb_used': 512,
                'local_gb_used': 10, 'hypervisor_type': 'QEMU',
                'hypervisor_version': 1005003, 'cpu_info': '{}',
                'hypervisor_hostname': 'node1', 'host_ip': '192.0.2.1',
                'deleted': 0}
STAT = {'id': 1, 'compute_node_id': 1, 'key': 'num_instances', 'value': '2',
        'deleted': 0}


def insert_rows(engine, rows_by_table):
    meta = sqlalchemy.MetaData()
    with engine.begin() as conn:
        for name, rows in rows_by_table.items():
            table = sqlalchemy.Table(name, meta, autoload_with=conn)
            conn.execute(table.insert(), rows)


def add_nova_rows(engine, with_stats=False):
    """A service and its compute node (and a stat, for version 232)."""
    rows = {'services': [SERVICE], 'compute_nodes': [COMPUTE_NODE]}
    if with_stats:
        rows['compute_node_stats'] = [STAT]
    insert_rows(engine, rows)


def create_table(engine, name, *columns, rows=()):
    meta = sqlalchemy.MetaData()
    table = sqlalchemy.Table(name, meta, *columns, mysql_engine='InnoDB')
    with engine.begin() as conn:
        table.create(conn)
        if rows:
            conn.execute(table.insert(), list(rows))


def add_foreign_table(engine):
    """Another application's table, with a row."""
    create_table(
        engine, 'images',
        sqlalchemy.Column('id', sqlalchemy.Integer, primary_key=True),
        sqlalchemy.Column('name', sqlalchemy.String(255)),
        rows=[{'id': 1, 'name': 'cirros-0.6.2'}])


def add_migrate_version(engine, repository_id, version):
    """sqlalchemy-migrate's version table with one repository's row."""
    create_table(
        engine, 'migrate_version',
        sqlalchemy.Column('repository_id', sqlalchemy.String(250),
                          primary_key=True),
        sqlalchemy.Column('repository_path', sqlalchemy.Text),
        sqlalchemy.Column('version', sqlalchemy.Integer),
        rows=[{'repository_id': repository_id,
               'repository_path': '/opt/%s/migrate_repo' % repository_id,
               'version': version}])


def add_alembic_version(engine, revision='4a6ba1ab5f3e'):
    create_table(
        engine, 'alembic_version',
        sqlalchemy.Column('version_num', sqlalchemy.String(32),
                          primary_key=True),
        rows=[{'version_num': revision}])


# -- snapshots ----------------------------------------------------------------


def _sorted_rows(conn, table):
    return sorted((tuple(row) for row in conn.execute(table.select())),
                  key=repr)


def _database_options(engine):
    """What a database holds besides its tables and may be changed too."""
    if engine.dialect.name == 'mysql':
        with engine.connect() as conn:
            return {'charset': conn.execute(sqlalchemy.text(
                'SELECT DEFAULT_CHARACTER_SET_NAME FROM '
                'information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()'
            )).scalar()}
    if engine.dialect.name == 'postgresql':
        return {'sequences': sorted(
            sqlalchemy.inspect(engine).get_sequence_names())}
    return {}


def snapshot(engine):
    """Every table (the version table too): its shape and all its rows."""
    tables = {}
    meta = sqlalchemy.MetaData()
    for name in sorted(sqlalchemy.inspect(engine).get_table_names()):
        with engine.connect() as conn:
            table = sqlalchemy.Table(name, meta, autoload_with=conn)
            rows = _sorted_rows(conn, table)
        tables[name] = {'shape': base.describe_table(engine, name),
                        'rows': rows}
    return {'tables': tables, 'database': _database_options(engine)}


def sqlite_snapshot(path):
    """``sqlite_master`` and every table's rows of a SQLite file, or None.

    Read with the sqlite3 module alone, opened read-only, so that taking a
    snapshot can neither create nor change the file.
    """
    if not os.path.exists(path):
        return None
    conn = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        master = sorted(conn.execute(
            'SELECT type, name, tbl_name, sql FROM sqlite_master'), key=repr)
        rows = {name: sorted(conn.execute('SELECT * FROM "%s"' % name),
                             key=repr)
                for kind, name, _, _ in master if kind == 'table'}
    finally:
        conn.close()
    return {'sqlite_master': master, 'rows': rows}


def sqlite_tables(path):
    snap = sqlite_snapshot(path)
    return sorted(snap['rows']) if snap else []


# -- assertions ---------------------------------------------------------------

CLI_PROG = 'nova-schema-manage'
MANAGE_PROG = 'manage.py'
EXIT_ERROR = 2


class CommandAssertions(object):
    """Checks of what a refused command printed. Mix into a TestCase.

    ``secrets`` are strings that must never be printed: passwords, or the
    ``:password@`` part of a URL whose user name equals its password.
    """

    secrets = ()

    def assertNothingLeaked(self, result):
        output = result.out + result.err
        self.assertNotIn('Traceback', output)
        for secret in self.secrets:
            self.assertNotIn(secret, output)

    def assertOneErrorLine(self, result, prog, fragment, out=''):
        """Exit 2, ``out`` on stdout, one line ``prog: error: ...fragment``.

        A command refused before it did anything prints nothing on stdout.
        """
        self.assertEqual(EXIT_ERROR, result.status, result)
        self.assertEqual(out, result.out, result)
        lines = base.without_notes(result.err).splitlines()
        self.assertEqual(1, len(lines), 'not one line on stderr: %r'
                         % result.err)
        self.assertTrue(lines[0].startswith(prog + ': error: '), lines[0])
        self.assertIn(fragment, lines[0])


# -- backends -----------------------------------------------------------------


def url_secrets(url):
    """What must never be printed of ``url``: its password.

    The ``:password@`` form always; the bare password too unless it equals
    the user name (openstack_citest:openstack_citest), which may be shown.
    """
    if not url.password:
        return ()
    secrets = (':%s@' % url.password,)
    if url.password != url.username:
        secrets += (url.password,)
    return secrets


class SQLiteFileBackend(object):
    """Mix in before a TestCase: a SQLite file of its own for each test.

    oslo.db's SQLite provisioning gives an in-memory database, which a
    command line in another engine (or process) cannot see; a file can.
    Sets ``engine``, ``url`` (str) and ``sqlite_path``.
    """

    BACKEND = 'sqlite'

    def setUp(self):
        super().setUp()
        self.useFixture(base.DeprecationWarningsFilter())
        database = self.useFixture(SQLiteFile())
        self.engine, self.url = database.engine, database.url
        self.sqlite_path = database.path
        self.secrets = ()


class ProvisionedBackend(base.DatabaseTestMixin,
                         test_fixtures.OpportunisticDBTestMixin):
    """Mix in before a TestCase, with FIXTURE set: oslo.db's test database.

    Sets ``engine``, ``url`` (str, password included) and ``secrets``.
    """

    def setUp(self):
        super().setUp()
        self.engine = enginefacade.writer.get_engine()
        self.url = self.engine.url.render_as_string(hide_password=False)
        self.secrets = url_secrets(self.engine.url)
