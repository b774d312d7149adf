"""Shared by the tests that interrupt, race and round-trip ``db sync``.

Fresh databases per backend (oslo.db's provisioning for MySQL and
PostgreSQL, files in a temporary directory for SQLite, so that several
processes can share one), snapshots of a whole database, seed data, the
statement listeners used for fault injection, and the command line runner.
"""
import contextlib
import hashlib
import os
import random
import re
import signal
import string
import subprocess
import sys
import threading
import time

import fixtures
from oslo_db.sqlalchemy import provision
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
from sqlalchemy import event
import testtools

from nova_schema import api
from nova_schema import database as nova_database
from tests import base
from tests.rows import LONG_CPU_INFO
from tests.rows import node_row
from tests.rows import service_row
from tests.rows import stat_row
from tests.rows import T2

CI = base.ci_enabled()

INT_MAX = 2 ** 31 - 1
INT_MIN = -2 ** 31

BASELINE = 232
HEAD = 233
STEP_233 = '232 -> 233 add_stats_in_compute_nodes'
STEP_233_DOWN = '233 -> 232 add_stats_in_compute_nodes'
STEP_232 = '231 -> 232 havana_icehouse_baseline'

NODE_TABLES = ('compute_nodes', 'shadow_compute_nodes')


# -- statements ---------------------------------------------------------------

# NOTE: reflection and other reads. PRAGMAs that read (table_info(...),
# index_list(...)) carry parentheses; a PRAGMA that sets something
# ("PRAGMA legacy_alter_table = ON", issued by sqlalchemy-migrate's SQLite
# table rebuild) is counted as a statement of the step.
_READ = re.compile(
    r'\s*(select|show|describe|desc|explain|pragma\s+[\w.]+\s*(\(|$))',
    re.IGNORECASE)


def is_write(statement):
    """True for a statement a migration step executes (not a read)."""
    return not _READ.match(statement)


def first_line(statement, width=90):
    line = ' '.join(statement.split())
    return line if len(line) <= width else line[:width - 3] + '...'


class InjectedFault(Exception):
    """Raised by ``fault_after`` right after the chosen statement ran."""


@contextlib.contextmanager
def recorded_writes():
    """Yield the list of every write statement any Engine executes."""
    writes = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if is_write(statement):
            writes.append(first_line(statement))

    event.listen(sqlalchemy.engine.Engine, 'after_cursor_execute', after)
    try:
        yield writes
    finally:
        event.remove(sqlalchemy.engine.Engine, 'after_cursor_execute', after)


@contextlib.contextmanager
def fault_after(number):
    """Raise InjectedFault right after the ``number``-th write statement.

    Yields the list of write statements seen, so a test can check that the
    fault fired where it was meant to.
    """
    seen = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if is_write(statement):
            seen.append(first_line(statement))
            if len(seen) == number:
                raise InjectedFault('injected fault after statement %d (%s)'
                                    % (number, seen[-1]))

    event.listen(sqlalchemy.engine.Engine, 'after_cursor_execute', after)
    try:
        yield seen
    finally:
        event.remove(sqlalchemy.engine.Engine, 'after_cursor_execute', after)


# -- reading a database -------------------------------------------------------

def reflect(bind, name):
    return sqlalchemy.Table(name, sqlalchemy.MetaData(), autoload_with=bind,
                            resolve_fks=False)


def _digest(value):
    """A long text as its length and SHA-256, to keep comparisons cheap."""
    if isinstance(value, str) and len(value) > 4096:
        return 'text of %d chars, sha256 %s' % (
            len(value), hashlib.sha256(value.encode('utf-8')).hexdigest())
    return value


def rows(engine, name, digest=False):
    table = reflect(engine, name)
    order = [table.c.id] if 'id' in table.c else list(table.c)
    with engine.connect() as conn:
        result = conn.execute(table.select().order_by(*order)).mappings()
        if digest:
            return [{key: _digest(value) for key, value in row.items()}
                    for row in result]
        return [dict(row) for row in result]


def versions(engine):
    """Every row of the version table, or None without one."""
    if not sqlalchemy.inspect(engine).has_table(base.VERSION_TABLE):
        return None
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(sqlalchemy.text(
            'SELECT repository_id, version FROM %s' % base.VERSION_TABLE)))


def snapshot(engine, digest=False):
    """Versions, full schema and every row of every table.

    With ``digest`` texts over 4096 characters are kept as their length and
    SHA-256 only.
    """
    return {
        'versions': versions(engine),
        'schema': base.describe_schema(engine),
        'rows': {name: rows(engine, name, digest)
                 for name in base.table_names(engine)},
    }


def _short(value, width=120):
    text = repr(value)
    return text if len(text) <= width else '%s... (%d chars)' % (
        text[:width], len(text))


def differences(expected, actual):
    """Readable differences between two snapshots (values cut short)."""
    found = []
    if expected['versions'] != actual['versions']:
        found.append('versions: expected %s, got %s'
                     % (expected['versions'], actual['versions']))
    want, got = expected['schema'], actual['schema']
    if sorted(want) != sorted(got):
        found.append('tables: expected %s, got %s'
                     % (sorted(want), sorted(got)))
    for name in sorted(set(want) & set(got)):
        for key in sorted(set(want[name]) | set(got[name])):
            if want[name].get(key) != got[name].get(key):
                found.append('%s %s: expected %s, got %s' % (
                    name, key, want[name].get(key), got[name].get(key)))
    want, got = expected['rows'], actual['rows']
    for name in sorted(set(want) & set(got)):
        if len(want[name]) != len(got[name]):
            found.append('%s: expected %d rows, got %d'
                         % (name, len(want[name]), len(got[name])))
            continue
        for old, new in zip(want[name], got[name]):
            for column in sorted(set(old) | set(new)):
                if old.get(column, KeyError) != new.get(column, KeyError):
                    found.append('%s id=%s %s: expected %s, got %s' % (
                        name, old.get('id'), column,
                        _short(old.get(column, '<missing>')),
                        _short(new.get(column, '<missing>'))))
    return found


# -- seed data ----------------------------------------------------------------

def seed_data_232():
    """Rows a Nova database at 232 holds: live, disabled, soft-deleted."""
    return {
        'services': [
            service_row(1, 'compute1', 'compute'),
            service_row(2, 'compute2', 'compute', disabled=True,
                        disabled_reason='maintenance \u00e9t\u00e9'),
            service_row(3, 'compute1', 'compute', deleted=3, deleted_at=T2),
            service_row(4, 'conductor1', 'conductor', report_count=0),
        ],
        'shadow_services': [
            service_row(90, 'old-compute', 'compute', deleted=90,
                        deleted_at=T2),
        ],
        'compute_nodes': [
            node_row(1, 1),
            node_row(2, 2, cpu_info=LONG_CPU_INFO, host_ip='2001:db8::2',
                     vcpus=INT_MAX, free_disk_gb=INT_MIN),
            node_row(3, 3, deleted=3, deleted_at=T2, metrics=None,
                     extra_resources=None, pci_stats=None,
                     supported_instances=None, host_ip=None),
            node_row(4, 1, hypervisor_hostname='n\u00f6de-4 \u4e2d',
                     disk_available_least=None, running_vms=None),
        ],
        'shadow_compute_nodes': [
            node_row(7, 5, deleted=7, deleted_at=T2,
                     hypervisor_hostname='archived.example.org'),
            node_row(8, 90, deleted=8, deleted_at=T2, cpu_info=LONG_CPU_INFO),
        ],
        'compute_node_stats': [
            stat_row(1, 1, 'num_instances', '3'),
            stat_row(2, 1, 'num_vm_active', '2'),
            stat_row(3, 2, 'num_task_None', '1'),
            stat_row(4, 3, 'io_workload', '0', deleted=4),
        ],
        'shadow_compute_node_stats': [
            stat_row(9, 7, 'num_instances', '0', deleted=9),
        ],
    }


def insert(engine, data):
    with engine.begin() as conn:
        for name, table_rows in data.items():
            if table_rows:
                conn.execute(reflect(conn, name).insert(), table_rows)


def prepare_232(engine):
    """A Nova database at 232 with seed_data_232's rows."""
    api.db_sync(engine, BASELINE)
    insert(engine, seed_data_232())


def change_data_233(engine):
    """What Nova writes at 233: JSON stats, a new node, a NULL stats row."""
    nodes = reflect(engine, 'compute_nodes')
    shadow = reflect(engine, 'shadow_compute_nodes')
    with engine.begin() as conn:
        conn.execute(nodes.update().where(nodes.c.id == 1).values(
            stats='{"num_instances": "3", "num_vm_active": "2"}'))
        conn.execute(nodes.insert(), [node_row(
            5, 4, stats='{"num_task_None": "1", "\u00e9": "\u4e2d"}')])
        conn.execute(shadow.insert(), [node_row(
            9, 2, deleted=9, deleted_at=T2, stats=None)])


# -- the command line ---------------------------------------------------------

def cli_command(url, *args):
    script = os.path.join(os.path.dirname(sys.executable),
                          'nova-schema-manage')
    if os.path.exists(script):
        command = [script]
    else:
        command = [sys.executable, '-c',
                   'import sys; from nova_schema.cli import main; '
                   'sys.exit(main())']
    return command + ['--database-connection', url, 'db'] + list(args)


def manage_command(url, command, *args):
    """``python migrate_repo/manage.py COMMAND URL ARGS``."""
    script = os.path.join(base.MIGRATE_REPO_PATH, 'manage.py')
    return [sys.executable, script, command, url] + list(args)


def cli_env():
    """The environment of a user's shell: no test-only warning filters."""
    env = dict(os.environ)
    env.pop('PYTHONWARNINGS', None)
    return env


class Process(object):
    """A running ``nova-schema-manage``; its output is read as it comes."""

    def __init__(self, test, url, *args, command=None):
        self.args = args
        self.popen = subprocess.Popen(
            command or cli_command(url, *args), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=cli_env())
        self._out = []
        self._err = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, chunks),
                             daemon=True)
            for stream, chunks in ((self.popen.stdout, self._out),
                                   (self.popen.stderr, self._err))]
        for reader in self._readers:
            reader.start()
        test.addCleanup(self._reap)

    @staticmethod
    def _read(stream, chunks):
        while True:
            data = os.read(stream.fileno(), 4096)
            if not data:
                return
            chunks.append(data)

    @property
    def stdout(self):
        return b''.join(self._out).decode('utf-8', 'replace')

    @property
    def stderr(self):
        return b''.join(self._err).decode('utf-8', 'replace')

    def kill(self):
        self.popen.send_signal(signal.SIGKILL)
        return self.wait()

    def wait(self, timeout=120):
        code = self.popen.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return code

    def _reap(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        for reader in self._readers:
            reader.join(10)
        self.popen.stdout.close()
        self.popen.stderr.close()

    def describe(self):
        return 'nova-schema-manage %s exited %s\nstdout: %r\nstderr: %r' % (
            ' '.join(self.args), self.popen.poll(), self.stdout, self.stderr)


def run_cli(test, url, *args, **kwargs):
    process = Process(test, url, *args)
    process.wait(kwargs.get('timeout', 120))
    return process


def hold_open(test, engine, statement):
    """A transaction that has run ``statement``, open until released
    (at the latest when ``test`` ends); returns the function releasing it.
    """
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(sqlalchemy.text(statement))

    def release():
        if transaction.is_active:
            transaction.rollback()
        connection.close()
    test.addCleanup(release)
    return release


def wait_until(predicate, timeout, message, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %g s: %s'
                                 % (timeout, message))
        time.sleep(interval)


# -- databases ----------------------------------------------------------------

class Database(object):
    """A fresh database: its URL (with password) and an engine on it.

    The engine is made by nova_schema itself (oslo.db, TRADITIONAL sql_mode
    on MySQL), as db sync makes it from a URL.
    """

    def __init__(self, url):
        self.url = url
        self.engine = nova_database.get_engine(url)

    def dispose(self):
        self.engine.dispose()


_CLEAN_RUNS = {}


class SyncTestCase(testtools.TestCase):
    """Base of the classes of each backend below."""

    BACKEND = None
    TRANSACTIONAL = True

    def fresh_database(self):
        """A new empty database, dropped when the test ends."""
        return self.enter(self.database())

    def enter(self, context_manager):
        result = context_manager.__enter__()
        self.addCleanup(context_manager.__exit__, None, None, None)
        return result

    def clean_run(self, prepare, version=None):
        """Snapshot of a clean run: ``prepare`` then db sync to ``version``
        with Nova's own statements (the classic strategy).

        Made on a separate database of this backend, once per process for
        each ``(prepare, version)``: the result does not depend on the test.
        """
        key = (self.BACKEND, prepare, version)
        if key not in _CLEAN_RUNS:
            with self.database() as reference:
                if prepare is not None:
                    prepare(reference.engine)
                api.db_sync(reference.engine, version, strategy='classic')
                _CLEAN_RUNS[key] = snapshot(reference.engine)
        return _CLEAN_RUNS[key]

    def reset(self, database):
        """Empty ``database`` again, as a new one would be."""
        self._empty(database)
        self.assertEqual([], sqlalchemy.inspect(
            database.engine).get_table_names())


class SQLiteTestCase(SyncTestCase):
    """SQLite files, so that several processes can use one database."""

    BACKEND = 'sqlite'

    def setUp(self):
        super().setUp()
        self.useFixture(base.DeprecationWarningsFilter())
        self._directory = self.useFixture(fixtures.TempDir()).path
        self._count = 0

    @contextlib.contextmanager
    def database(self):
        self._count += 1
        path = os.path.join(self._directory, 'nova-%d.sqlite' % self._count)
        database = Database('sqlite:///' + path)
        try:
            yield database
        finally:
            self._empty(database)

    def _empty(self, database):
        database.dispose()
        path = database.engine.url.database
        for name in (path, path + '-journal', path + '-wal'):
            if os.path.exists(name):
                os.remove(name)


def _random_name():
    return 'nsync' + ''.join(random.choice(string.ascii_lowercase)
                             for _ in range(10))


class _ServerTestCase(base.DatabaseTestMixin,
                      test_fixtures.OpportunisticDBTestMixin,
                      SyncTestCase):
    """MySQL or PostgreSQL through oslo.db's provisioning.

    The opportunistic fixture decides whether the backend is there (skip
    locally, fail in CI) and provides the test's first database; any other
    database a test needs is created next to it by the same provisioning
    backend.
    """

    @property
    def _backend(self):
        return provision.Backend.backend_for_database_type(
            self.FIXTURE.DRIVER)

    def fresh_database(self):
        if getattr(self, '_fixture_database_used', True):
            return super().fresh_database()
        # NOTE: the fixture's own database, dropped by the fixture.
        self._fixture_database_used = True
        provisioned = self._db_default
        database = Database(provisioned.backend.provisioned_database_url(
            provisioned.db_token).render_as_string(hide_password=False))
        self.addCleanup(database.dispose)
        return database

    def setUp(self):
        super().setUp()
        self._fixture_database_used = False

    @contextlib.contextmanager
    def database(self):
        backend = self._backend
        name = _random_name()
        backend.create_named_database(name)
        database = Database(backend.provisioned_database_url(name)
                            .render_as_string(hide_password=False))
        try:
            yield database
        finally:
            database.dispose()
            backend.drop_named_database(name, conditional=True)

    def _empty(self, database):
        self._backend.drop_all_objects(database.engine)
        database.dispose()


class MySQLTestCase(_ServerTestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    BACKEND = 'mysql'
    TRANSACTIONAL = False

    def _empty(self, database):
        super()._empty(database)
        # NOTE: the baseline sets the database's default character set;
        # a new database has the server's.
        with database.engine.connect() as conn:
            charset, collation = conn.execute(sqlalchemy.text(
                'SELECT @@character_set_server, @@collation_server')).one()
            conn.execute(sqlalchemy.text(
                'ALTER DATABASE `%s` DEFAULT CHARACTER SET %s COLLATE %s'
                % (database.engine.url.database, charset, collation)))


class PostgreSQLTestCase(_ServerTestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    BACKEND = 'postgresql'

    def reset(self, database):
        super().reset(database)
        with database.engine.connect() as conn:
            self.assertEqual(0, conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND "
                "relnamespace = 'public'::regnamespace")).scalar())
