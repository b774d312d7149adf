"""Plumbing for the functional tests of nova-schema-manage's commands.

``CommandChecks`` gives each test a database URL the command line can open
(a SQLite file, or the test's own MySQL/PostgreSQL database), runs
``nova_schema.cli.main`` in this process with its output captured, builds
databases at a version with sqlalchemy-migrate alone (not with the code under
test), and snapshots a whole database. ``WriteLog`` records, independently
of ``nova_schema.capture``, every statement that changes a database.
"""
import collections
import io
import logging
import os
import re

import fixtures
from migrate.versioning import api as migration_api
from oslo_db.sqlalchemy import enginefacade
import sqlalchemy
from sqlalchemy import event

from nova_schema import cli
from tests import base

HEAD = 233
STEP_232 = 'havana_icehouse_baseline'
STEP_233 = 'add_stats_in_compute_nodes'

# Migration 233's upgrade, in the order docs/schema-facts.md gives; the same
# text on every backend.
UP_233 = [
    'DROP TABLE compute_node_stats;',
    'DROP TABLE shadow_compute_node_stats;',
    'ALTER TABLE compute_nodes ADD stats TEXT;',
    "UPDATE compute_nodes SET stats='{}';",
    'ALTER TABLE shadow_compute_nodes ADD stats TEXT;',
    "UPDATE shadow_compute_nodes SET stats='{}';",
    "UPDATE migrate_version SET version=233 WHERE migrate_version.version = "
    "232 AND migrate_version.repository_id = 'nova';",
]

Result = collections.namedtuple('Result', 'status out err')


def _service(id_, host, deleted=0):
    return {'id': id_, 'host': host, 'binary': 'nova-compute',
            'topic': 'compute', 'report_count': id_ * 7, 'disabled': False,
            'deleted': deleted, 'disabled_reason': "it's \"quoted\""}


def _node(id_, service_id, deleted=0):
    return {'id': id_, 'service_id': service_id, 'vcpus': 8,
            'memory_mb': 4096, 'local_gb': 100, 'vcpus_used': 1,
            'memory_mb_used': 512, 'local_gb_used': 10,
            'hypervisor_type': 'QEMU', 'hypervisor_version': 1005003,
            'cpu_info': '{"arch": "x86_64", "path": "C:\\\\x"}',
            'hypervisor_hostname': 'node%d' % id_,
            'host_ip': '192.0.2.%d' % id_, 'deleted': deleted,
            'metrics': '[]', 'extra_resources': None}


def _stat(id_, node_id, key, deleted=0):
    return {'id': id_, 'compute_node_id': node_id, 'key': key,
            'value': str(id_), 'deleted': deleted}


def rows_232():
    """Realistic rows for a database at 232, soft-deleted ones included."""
    return {
        'services': [_service(1, 'compute1'), _service(2, 'compute2', 2)],
        'compute_nodes': [_node(1, 1), _node(2, 2, deleted=2)],
        'compute_node_stats': [_stat(1, 1, 'num_instances'),
                               _stat(2, 2, 'io_workload', deleted=2)],
        'shadow_services': [_service(5, 'old')],
        'shadow_compute_nodes': [_node(5, 5, deleted=5)],
        'shadow_compute_node_stats': [_stat(9, 5, 'num_instances', 9)],
    }


def rows_233():
    rows = rows_232()
    del rows['compute_node_stats'], rows['shadow_compute_node_stats']
    for name in ('compute_nodes', 'shadow_compute_nodes'):
        rows[name] = [dict(row, stats='{"n": 1}') for row in rows[name]]
    return rows


# -- statements ---------------------------------------------------------------

_READ = re.compile(r'^\s*(SELECT|SHOW)\b', re.I)
_PLACEHOLDER = re.compile(r'%\((\w+)\)s|%s|\?')


def is_read(statement):
    text = statement.strip()
    if _READ.match(text):
        return True
    return text.upper().startswith('PRAGMA') and '=' not in text


def _literal(value):
    if value is None:
        return 'NULL'
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and '\\' not in value:
        return "'%s'" % value.replace("'", "''")
    raise AssertionError('no literal form for %r in these tests' % (value,))


def one_line(statement, parameters=None):
    """``statement`` with ``parameters`` inlined, on one line, with ``;``."""
    if parameters:
        positional = iter(parameters if isinstance(parameters, (list, tuple))
                          else ())

        def substitute(match):
            if match.group(1):
                return _literal(parameters[match.group(1)])
            return _literal(next(positional))

        statement = _PLACEHOLDER.sub(substitute, statement)
        statement = statement.replace('%%', '%')
    return ' '.join(statement.split()).rstrip(';') + ';'


class WriteLog(fixtures.Fixture):
    """Every statement sent to any database that is not a read.

    A class-level ``before_cursor_execute`` listener on ``Engine``, so it
    also sees the engines the command line creates for itself.
    """

    def _setUp(self):
        self.statements = []
        target = sqlalchemy.engine.Engine
        event.listen(target, 'before_cursor_execute', self._record)
        self.addCleanup(event.remove, target, 'before_cursor_execute',
                        self._record)

    def _record(self, conn, cursor, statement, parameters, context,
                executemany):
        if is_read(statement):
            return
        for row in (parameters if executemany else [parameters]):
            self.statements.append(one_line(statement, row))


DISCARDS = '-- discards: '
STRATEGY = '-- strategy: '


def dry_run_discards(out):
    """The ``-- discards: ...`` lines of a text dry run."""
    return [line for line in out.splitlines() if line.startswith(DISCARDS)]


def parse_dry_run(out):
    """[(comment line, [statement, ...]), ...] of a text dry run, less its
    ``-- discards:`` lines (see ``dry_run_discards``)."""
    steps = []
    for line in out.splitlines():
        if line.startswith(DISCARDS) or line.startswith(STRATEGY):
            continue
        if line.startswith('-- '):
            steps.append((line, []))
        else:
            if not steps:
                raise AssertionError('statement before any step: %r' % line)
            steps[-1][1].append(line)
    return steps


# -- the test mixin -----------------------------------------------------------

class CommandChecks(object):
    """Mix in first, before ``base.DatabaseTestMixin``."""

    def setUp(self):
        super().setUp()
        engine = enginefacade.writer.get_engine()
        if engine.name == 'sqlite':
            # NOTE: the opportunistic SQLite database is in memory, where
            # the command line would open a different, empty one.
            directory = self.useFixture(fixtures.TempDir()).path
            self.url = 'sqlite:///' + os.path.join(directory, 'nova.sqlite')
            self.engine = sqlalchemy.create_engine(self.url)
            self.addCleanup(self.engine.dispose)
        else:
            self.engine = engine
            self.url = engine.url.render_as_string(hide_password=False)
        self.backend = self.engine.name
        self.masked_url = self.engine.url.render_as_string(hide_password=True)
        password = self.engine.url.password
        self.secret = ':%s@' % password if password else None

    def auto_strategy(self):
        """What ``--strategy auto`` gives 233's upgrade on this backend."""
        return 'classic' if self.backend == 'sqlite' else 'instant'

    # The command line.

    def run_cli(self, *argv):
        """``nova-schema-manage --database-connection URL ARGV``, here."""
        out, err = io.StringIO(), io.StringIO()
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            with fixtures.MonkeyPatch('sys.stdout', out), \
                    fixtures.MonkeyPatch('sys.stderr', err):
                try:
                    status = cli.main(['--database-connection', self.url]
                                      + list(argv))
                except SystemExit as exit_:
                    status = exit_.code
        finally:
            # NOTE: main() points the root logger at the captured stderr.
            root.handlers[:] = handlers
            root.setLevel(level)
        result = Result(status, out.getvalue(), err.getvalue())
        if self.secret:
            self.assertNotIn(self.secret, result.out + result.err)
        return result

    def assertSucceeded(self, result):
        self.assertEqual(
            (0, ''), (result.status, base.without_notes(result.err)), result)

    # Databases, built with sqlalchemy-migrate alone.

    def build(self, version, downgraded=False):
        migration_api.version_control(self.engine, base.MIGRATE_REPO_PATH,
                                      base.INIT_VERSION)
        migration_api.upgrade(self.engine, base.MIGRATE_REPO_PATH,
                              HEAD if downgraded else version)
        if downgraded:
            migration_api.downgrade(self.engine, base.MIGRATE_REPO_PATH,
                                    version)

    def insert(self, rows_by_table):
        meta = sqlalchemy.MetaData()
        with self.engine.begin() as conn:
            for name, rows in rows_by_table.items():
                table = sqlalchemy.Table(name, meta, autoload_with=conn)
                conn.execute(table.insert(), rows)

    def execute(self, *statements):
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(sqlalchemy.text(statement))

    def create_empty_database(self):
        """The SQLite file, empty; other backends' databases exist already."""
        with self.engine.connect():
            pass
        self.assertEqual([], self.table_names())

    def version(self):
        with self.engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT version FROM migrate_version "
                "WHERE repository_id = 'nova'")).scalar()

    def table_names(self):
        return sorted(sqlalchemy.inspect(self.engine).get_table_names())

    def snapshot(self):
        """Every table's shape and rows (the version table's too)."""
        tables = {}
        for name in self.table_names():
            table = sqlalchemy.Table(name, sqlalchemy.MetaData(),
                                     autoload_with=self.engine)
            with self.engine.connect() as conn:
                rows = sorted((tuple(row) for row in
                               conn.execute(table.select())), key=repr)
            tables[name] = (base.describe_table(self.engine, name), rows)
        return {'tables': tables, 'database': self._database_options()}

    def _database_options(self):
        if self.backend == 'mysql':
            with self.engine.connect() as conn:
                return tuple(conn.execute(sqlalchemy.text(
                    'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME'
                    ' FROM information_schema.SCHEMATA'
                    ' WHERE SCHEMA_NAME = DATABASE()')).one())
        if self.backend == 'postgresql':
            return sorted(
                sqlalchemy.inspect(self.engine).get_sequence_names())
        return None
