"""Benchmark migration 233: the project's db_sync against the floor.

Usage::

    python tools/bench_migration.py [--scale F] [--runs N] [--json PATH]
        [--heavy-runs N] [--backends sqlite,mysql,postgresql] [--suite]
        [--cold-runs N]
        [--mysql-url ADMIN_URL] [--postgresql-url ADMIN_URL]
    tox -e bench -- --scale 0.1 --backends sqlite

For each reachable backend (SQLite: a temporary file, in $TMPDIR; MySQL and
PostgreSQL: scratch databases ``nova_schema_bench_<random>`` created and
dropped through the admin URLs) a template database is built at version 232
with the project's own ``db_sync`` and filled: at scale 1.0 10,000
compute_nodes (one service each), 200,000 shadow_compute_nodes and 1,000,000
compute_node_stats, with a libvirt-like cpu_info of about 2 KB; ``--scale``
multiplies the counts. A backend that cannot be reached is reported as
skipped.

Each of ``--runs`` rounds times the project on a fresh copy of the
template, upgrade then downgrade, and the floor the same way on a fresh
copy of its own (the other's copy dropped first, so that both start as
warm in the server's cache); the project goes first in the first round and
every other one after, the floor in the rest, so that neither side always
follows the same work; every downgrade starts from an upgraded copy of the
filled database. A strategy with a heavy step (below) then goes on alone
to ``--heavy-runs`` rounds (default 12): a heavy step's rounds vary by
tens of percent on a busy machine, a light one's by milliseconds. Fills, copies
and the flush of dirty data before each timed run (``settle``) are not
timed.

project
    ``nova_schema.api.db_sync(url, 233)`` (then 232), timed from call to
    return: engine creation, ownership checks, lock, transaction, repository
    loading, reflection, the statements, the version bookkeeping.
floor
    the very statements that project run sent (its ``Step.statements``,
    version update included), replayed on the other copy over one plain
    DBAPI connection, timed from connect to close: one transaction on
    PostgreSQL and SQLite, autocommit per statement on MySQL. It is the
    least any migrator has to do for the same change, so ``project - floor``
    is the project's overhead: ``ratio`` = project / floor and ``fixed_ms`` =
    (project - floor) in milliseconds, each the median over the rounds of
    that round's project and floor (run back to back), with the lowest
    and highest round's ratio beside (``ratio_low``, ``ratio_high``). The
    floor's connect is reported apart (``floor_connect_ms``), and the CPU
    time of this process (``*_cpu_s``) beside the wall time: on a busy
    machine it is the steadier figure.

Targets: a heavy step (floor >= 0.3 s) must have ratio <= 1.1, a light one
fixed_ms <= 60. Also measured: the cold start of ``nova-schema-manage db
version`` against ``python -c "import sqlalchemy"`` (target: at most 1.3x
in CPU; the two run in turns, wall time reported too), and with ``--suite``
the test suite per backend. Results are printed as a table (progress goes to
stderr) and, with ``--json``, written as a list of records.
"""
import argparse
import contextlib
import gc
import io
import json
import os
import platform
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from oslo_db.sqlalchemy import migration as oslo_migration
import sqlalchemy
from sqlalchemy.engine import url as sa_url
from sqlalchemy import pool

from nova_schema import api
from nova_schema import masking

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ('sqlite', 'mysql', 'postgresql')
DEFAULT_ADMIN_URLS = {
    'mysql': 'mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1/',
    'postgresql': 'postgresql+psycopg2://openstack_citest:openstack_citest'
                  '@127.0.0.1/postgres',
}
DB_PREFIX = 'nova_schema_bench_'
DEFAULT_SEED = os.path.join(os.path.dirname(ROOT), 'shared', 'seed')
CLASSIC, INSTANT, PEER = 'classic', 'instant', 'peer'
# The tables whose lock hold is measured, and what a DROP TABLE also locks
# (a foreign key locks the table it references).
HOLD_TABLES = ('compute_nodes', 'shadow_compute_nodes')
REFERENCED = {'compute_node_stats': ('compute_nodes',)}
BASE_VERSION, HEAD_VERSION = 232, 233
INSUFFICIENT_PRIVILEGE = '42501'
HEAVY_FLOOR_S = 0.3
MAX_HEAVY_RATIO = 1.1
MAX_LIGHT_FIXED_MS = 60.0
SUITE_FILTERS = {
    'mysql': ['(?i)mysql'],
    'postgresql': ['(?i)postgresql'],
    'sqlite': ['--exclude-regex', '(?i)mysql|postgresql'],
}


def log(message):
    """Progress goes to stderr; stdout keeps the table."""
    print(message, file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else None


# -- data ------------------------------------------------------------------

BASE_COUNTS = {'compute_nodes': 10000, 'shadow_compute_nodes': 200000,
               'compute_node_stats': 1000000}
CONTROL_SERVICES = (('controller', 'nova-scheduler', 'scheduler'),
                    ('controller', 'nova-conductor', 'conductor'),
                    ('controller', 'nova-cert', 'cert'))
SERVICE_COLUMNS = ('created_at', 'updated_at', 'deleted_at', 'id', 'host',
                   'binary', 'topic', 'report_count', 'disabled', 'deleted',
                   'disabled_reason')
NODE_COLUMNS = ('created_at', 'updated_at', 'deleted_at', 'id', 'service_id',
                'vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
                'memory_mb_used', 'local_gb_used', 'hypervisor_type',
                'hypervisor_version', 'cpu_info', 'disk_available_least',
                'free_ram_mb', 'free_disk_gb', 'current_workload',
                'running_vms', 'hypervisor_hostname', 'deleted', 'host_ip',
                'supported_instances', 'pci_stats', 'metrics',
                'extra_resources')
STAT_COLUMNS = ('created_at', 'updated_at', 'deleted_at', 'id',
                'compute_node_id', 'key', 'value', 'deleted')
CPU_FLAGS = (
    'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 '
    'clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp '
    'lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf '
    'pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe '
    'popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm cmp_legacy '
    'svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs '
    'skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx '
    'cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase '
    'bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a rdseed adx smap clflushopt '
    'clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc '
    'cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd '
    'arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid '
    'decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif umip '
    'pku ospke vaes vpclmulqdq rdpid overflow_recov succor smca fsrm').split()
STAT_KEYS = (['num_instances', 'num_vm_active', 'num_vm_stopped',
              'num_vm_building', 'num_task_None', 'num_task_spawning',
              'num_os_type_linux', 'num_os_type_windows', 'io_workload'] +
             ['num_proj_%032x' % (0x5eed * n) for n in range(91)])


def row_counts(scale):
    counts = {name: max(1, int(round(count * scale)))
              for name, count in BASE_COUNTS.items()}
    counts['services'] = counts['compute_nodes'] + len(CONTROL_SERVICES)
    return counts


def _timestamps(count=997):
    """Distinct timestamps in SQLAlchemy's SQLite format (fine everywhere)."""
    return ['2014-%02d-%02d %02d:%02d:%02d.000000'
            % (1 + n % 12, 1 + n % 28, n % 24, n % 60, (7 * n) % 60)
            for n in range(count)]


def cpu_info(variant):
    """A libvirt-style cpu_info JSON string of about 2 KB."""
    flags = CPU_FLAGS[variant % 7:] + CPU_FLAGS[:variant % 7]
    cells = [{'id': cell, 'cpus': list(range(16 * cell, 16 * cell + 16)),
              'memory': 67108864 + variant, 'siblings': [
                  [cpu, cpu + 32] for cpu in range(16 * cell, 16 * cell + 8)]}
             for cell in range(2)]
    return json.dumps({'vendor': 'AMD', 'model': 'EPYC-Rome-v%d' % variant,
                       'arch': 'x86_64', 'features': flags, 'cells': cells,
                       'topology': {'cores': 16, 'threads': 2, 'sockets': 2,
                                    'cells': 2}})


def service_rows(counts):
    stamps = _timestamps()
    computes = counts['compute_nodes']
    for n in range(1, computes + 1):
        disabled = int(n % 50 == 0)
        yield (stamps[n % 997], stamps[(n + 1) % 997], None, n,
               'compute-%05d' % n, 'nova-compute', 'compute', 17 * n,
               disabled, 0, 'maintenance' if disabled else None)
    for offset, (host, binary, topic) in enumerate(CONTROL_SERVICES, 1):
        yield (stamps[0], stamps[1], None, computes + offset, host, binary,
               topic, 1000 + offset, 0, 0, None)


def _node_row(id_, service_id, deleted_at, cpu, stamps):
    return (stamps[id_ % 997], stamps[(id_ + 3) % 997], deleted_at, id_,
            service_id, 32, 262144, 4000, id_ % 32, 16384 + id_ % 65536,
            id_ % 4000, 'QEMU', 2012000, cpu, 3500, 245760, 3600, id_ % 5,
            id_ % 40, 'node-%07d.example.org' % id_,
            id_ if deleted_at else 0,
            '10.%d.%d.%d' % (id_ >> 16 & 255, id_ >> 8 & 255, id_ & 255),
            '[["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]]', '[]',
            '[{"name": "cpu.frequency", "value": 2600, "source": "libvirt"}]',
            '{"gpus": 0}')


def node_rows(counts, shadow):
    """Live nodes take ids after the archived (shadow) ones; 1% are deleted."""
    stamps = _timestamps()
    cpus = [cpu_info(variant) for variant in range(16)]
    archived = counts['shadow_compute_nodes']
    if shadow:
        ids, service_of = range(1, archived + 1), (lambda n: 1 + n % 1000)
    else:
        ids = range(archived + 1, archived + counts['compute_nodes'] + 1)
        service_of = (lambda n: n - archived)
    for id_ in ids:
        deleted = shadow or id_ % 100 == 0
        yield _node_row(id_, service_of(id_), stamps[-1] if deleted else None,
                        cpus[id_ % 16], stamps)


def stat_rows(counts):
    """Stats spread evenly over the live compute nodes; 5% soft-deleted."""
    stamps = _timestamps()
    first_node = counts['shadow_compute_nodes'] + 1
    nodes, total = counts['compute_nodes'], counts['compute_node_stats']
    keys = len(STAT_KEYS)
    for n in range(total):
        deleted = n % 20 == 0
        yield (stamps[n % 997], None if n % 3 else stamps[(n + 5) % 997],
               stamps[-1] if deleted else None, n + 1,
               first_node + n * nodes // total, STAT_KEYS[n % keys],
               str(n % 97), n + 1 if deleted else 0)


def table_data(counts):
    """(table, columns, rows) in fill order; rows are generated lazily."""
    return [('services', SERVICE_COLUMNS, service_rows(counts)),
            ('compute_nodes', NODE_COLUMNS, node_rows(counts, False)),
            ('shadow_compute_nodes', NODE_COLUMNS, node_rows(counts, True)),
            ('compute_node_stats', STAT_COLUMNS, stat_rows(counts))]


def batches(rows, size):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- memory ------------------------------------------------------------------


def ru_maxrss_mb():
    """The process's RSS high-water mark so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class PeakRSS(object):
    """Peak RSS of this process while the block runs, sampled every 10 ms.

    Falls back to ru_maxrss (the whole process's high-water mark) without
    psutil.
    """

    def __init__(self, interval=0.01):
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        try:
            import psutil
        except ImportError:
            return self
        self._process = psutil.Process()
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        if self._thread is None:
            self.peak_mb = ru_maxrss_mb()
            return False
        self._stop.set()
        self._thread.join()
        self._sample()
        return False

    def _sample(self):
        rss = self._process.memory_info().rss / 1048576.0
        self.peak_mb = max(self.peak_mb, rss)

    def _loop(self):
        while not self._stop.wait(self.interval):
            self._sample()


# -- backends ----------------------------------------------------------------


class Database(object):
    """A scratch database: its name (a file path on SQLite) and URL."""

    def __init__(self, name, url):
        self.name, self.url = name, url


class Backend(object):
    """What differs per backend: scratch databases, fill, copy, floor."""

    name = None
    connect_options = {}
    # NOTE: SQLite has no instant path (db_sync refuses it there).
    strategies = (CLASSIC,)
    # How a table is held during a run: 'transaction' (until commit),
    # 'statement' (per statement) or None (not measured).
    hold = None

    def __init__(self, admin_url=None):
        self.admin_url = admin_url
        self.scratch = []

    def open(self):
        """Check the backend is usable; return a description of it."""
        raise NotImplementedError

    def close(self):
        for database in list(self.scratch):
            self.drop(database)

    def new_database(self):
        raise NotImplementedError

    def drop(self, database):
        raise NotImplementedError

    def copy(self, source):
        raise NotImplementedError

    def fill(self, database, counts):
        raise NotImplementedError

    def settle(self, databases):
        """Write out what ``databases`` have dirty: timed runs start clean.

        Otherwise a timed fsync or checkpoint would also pay for the copy
        just made or for the run before.
        """
        os.sync()

    def notes(self):
        """Lines for the report about how this backend was measured."""
        return []

    def table_sizes(self, database):
        """{table: bytes} of HOLD_TABLES, where the backend tells."""
        return None

    def dbapi_connector(self, database):
        """A function that opens a plain DBAPI connection to ``database``.

        No pool, no dialect initialization: only the driver's connect.
        """
        dialect = sqlalchemy.create_engine(database.url).dialect
        cargs, cparams = dialect.create_connect_args(
            sa_url.make_url(database.url))
        cparams.update(self.connect_options)
        return lambda: dialect.connect(*cargs, **cparams)

    def replay(self, connection, statements):
        """The floor: ``statements`` in one transaction (default)."""
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        connection.commit()

    def _scratch_name(self):
        return DB_PREFIX + secrets.token_hex(4)


class SQLiteBackend(Backend):

    name = 'sqlite'

    def open(self):
        self.directory = tempfile.mkdtemp(prefix=DB_PREFIX)
        return '%s in %s' % (sqlite3.sqlite_version, self.directory)

    def close(self):
        super().close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def new_database(self):
        path = os.path.join(self.directory, self._scratch_name() + '.sqlite')
        database = Database(path, 'sqlite:///' + path)
        self.scratch.append(database)
        return database

    def drop(self, database):
        if os.path.exists(database.name):
            os.remove(database.name)
        self.scratch.remove(database)

    def copy(self, source):
        target = self.new_database()
        shutil.copyfile(source.name, target.name)
        return target

    def fill(self, database, counts):
        connection = sqlite3.connect(database.name)
        try:
            connection.execute('PRAGMA synchronous = OFF')
            with connection:
                for table, columns, rows in table_data(counts):
                    connection.executemany(
                        _insert_sql(table, columns), rows)
        finally:
            connection.close()

    def dbapi_connector(self, database):
        # NOTE: isolation_level None: BEGIN and COMMIT are ours, as in the
        # project's session, and pysqlite commits nothing behind our back.
        return lambda: sqlite3.connect(database.name, isolation_level=None)

    def replay(self, connection, statements):
        connection.execute('BEGIN')
        for statement in statements:
            connection.execute(statement)
        connection.execute('COMMIT')


def _insert_sql(table, columns):
    names = ', '.join('"%s"' % column for column in columns)
    marks = ', '.join(['?'] * len(columns))
    return 'INSERT INTO %s (%s) VALUES (%s)' % (table, names, marks)


class ServerBackend(Backend):
    """MySQL and PostgreSQL: scratch databases made through an admin URL."""

    def __init__(self, admin_url):
        super().__init__(admin_url)
        self.admin = None

    def open(self):
        """Connect, and create and drop a database: both must work."""
        self.admin = sqlalchemy.create_engine(
            self.admin_url, isolation_level='AUTOCOMMIT',
            connect_args={'connect_timeout': 5})
        version = self.admin_scalar(self.version_sql)
        self.drop(self.new_database())
        return '%s at %s' % (version, masking.mask_url(self.admin_url))

    def close(self):
        try:
            super().close()
        finally:
            if self.admin is not None:
                self.admin.dispose()

    def admin_execute(self, sql):
        with self.admin.connect() as connection:
            connection.exec_driver_sql(sql)

    def admin_scalar(self, sql):
        with self.admin.connect() as connection:
            return connection.exec_driver_sql(sql).scalar()

    def url_of(self, name):
        return sa_url.make_url(self.admin_url).set(database=name)

    def new_database(self, create_sql='CREATE DATABASE %s'):
        name = self._scratch_name()
        self.admin_execute(create_sql % name)
        database = Database(name, self.url_of(name).render_as_string(
            hide_password=False))
        self.scratch.append(database)
        return database

    def fill_engine(self, database):
        return sqlalchemy.create_engine(database.url)


class PostgreSQLBackend(ServerBackend):

    name = 'postgresql'
    version_sql = 'SHOW server_version'
    strategies = (CLASSIC, INSTANT)
    hold = 'transaction'
    COPY_BATCH = 5000

    def drop(self, database):
        # NOTE: FORCE ends whatever still holds a connection (autovacuum).
        self.admin_execute('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                           % database.name)
        self.scratch.remove(database)

    def copy(self, source):
        # NOTE: a template must have no other connections; every engine on
        # it is gone by now (db_sync's is collected: see time_project).
        # FILE_COPY copies the files after a checkpoint instead of sending
        # every block through the WAL, which is faster for big databases.
        return self.new_database(
            'CREATE DATABASE %%s TEMPLATE %s STRATEGY FILE_COPY'
            % source.name)

    def fill(self, database, counts):
        engine = self.fill_engine(database)
        try:
            connection = engine.raw_connection()
            try:
                self._copy_tables(connection, counts)
                connection.commit()
            finally:
                connection.close()
            self._vacuum(engine)
        finally:
            engine.dispose()

    def _copy_tables(self, connection, counts):
        cursor = connection.cursor()
        for table, columns, rows in table_data(counts):
            sql = 'COPY %s (%s) FROM STDIN' % (
                table, ', '.join('"%s"' % column for column in columns))
            for batch in batches(rows, self.COPY_BATCH):
                cursor.copy_expert(sql, io.StringIO(''.join(
                    map(_copy_line, batch))))
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
                "(SELECT max(id) FROM %s))" % (table, table))

    # NOTE: CHECKPOINT needs superuser or pg_checkpoint (PostgreSQL 15),
    # which a README-made openstack_citest does not have; without it dirty
    # buffers are left to the server's own checkpoints, and the report says
    # so.
    checkpoint = None

    def settle(self, databases):
        if self.checkpoint is not False:
            self.checkpoint = self._try_checkpoint()
        super().settle(databases)

    def _try_checkpoint(self):
        try:
            self.admin_execute('CHECKPOINT')
        except sqlalchemy.exc.DBAPIError as error:
            if getattr(error.orig, 'pgcode', None) != INSUFFICIENT_PRIVILEGE:
                raise
            log('postgresql: CHECKPOINT not permitted (%s); timed runs start '
                'without one' % _first_line(error))
            return False
        return True

    def notes(self):
        if self.checkpoint is False:
            return ['postgresql: no CHECKPOINT before timed runs (the user '
                    'lacks superuser/pg_checkpoint): dirty buffers of the '
                    'copies may be written during a timed run']
        return []

    def table_sizes(self, database):
        engine = sqlalchemy.create_engine(database.url,
                                          poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                return {table: connection.exec_driver_sql(
                    'SELECT pg_total_relation_size(%(t)s)',
                    {'t': table}).scalar() for table in HOLD_TABLES}
        finally:
            engine.dispose()

    def _vacuum(self, engine):
        # NOTE: a long-lived database has its hint bits set and statistics
        # gathered; without this the first timed UPDATE would pay for both.
        with engine.connect().execution_options(
                isolation_level='AUTOCOMMIT') as connection:
            connection.exec_driver_sql('VACUUM ANALYZE')


def _copy_value(value):
    if value is None:
        return '\\N'
    if isinstance(value, str):
        return (value.replace('\\', '\\\\').replace('\t', '\\t')
                .replace('\n', '\\n'))
    return str(value)


def _copy_line(row):
    return '\t'.join(map(_copy_value, row)) + '\n'


class MySQLBackend(ServerBackend):

    name = 'mysql'
    version_sql = 'SELECT VERSION()'
    strategies = (CLASSIC, INSTANT)
    hold = 'statement'
    connect_options = {'autocommit': True}
    INSERT_ROWS = 5000
    INSERT_BYTES = 4 * 1024 * 1024

    def drop(self, database):
        self.admin_execute('DROP DATABASE IF EXISTS `%s`' % database.name)
        self.scratch.remove(database)

    def fill(self, database, counts):
        engine = self.fill_engine(database)
        try:
            connection = engine.raw_connection()
            try:
                cursor = connection.cursor()
                _relax_checks(cursor)
                for table, columns, rows in table_data(counts):
                    self._insert_all(cursor, table, columns, rows)
                    connection.commit()
            finally:
                connection.close()
        finally:
            engine.dispose()

    def _insert_all(self, cursor, table, columns, rows):
        head = 'INSERT INTO %s (%s) VALUES ' % (
            table, ', '.join('`%s`' % column for column in columns))
        chunk, size = [], 0
        for row in rows:
            values = '(%s)' % ','.join(map(_mysql_literal, row))
            chunk.append(values)
            size += len(values)
            if len(chunk) >= self.INSERT_ROWS or size >= self.INSERT_BYTES:
                cursor.execute(head + ','.join(chunk))
                chunk, size = [], 0
        if chunk:
            cursor.execute(head + ','.join(chunk))

    def copy(self, source):
        """CREATE TABLE as SHOW CREATE TABLE has it, then INSERT ... SELECT.

        CREATE TABLE ... LIKE would lose the foreign keys.
        """
        charset, collation = self._charset_of(source)
        target = self.new_database(
            'CREATE DATABASE `%%s` CHARACTER SET %s COLLATE %s'
            % (charset, collation))
        connection = self.dbapi_connector(target)()
        try:
            cursor = connection.cursor()
            _relax_checks(cursor)
            for table in self._tables(cursor, source):
                cursor.execute('SHOW CREATE TABLE `%s`.`%s`'
                               % (source.name, table))
                cursor.execute(cursor.fetchone()[1])
                cursor.execute('INSERT INTO `%s` SELECT * FROM `%s`.`%s`'
                               % (table, source.name, table))
        finally:
            connection.close()
        return target

    # NOTE: InnoDB purges the undo log of a big UPDATE (the classic fill)
    # in the background after its commit; a run timed meanwhile shares the
    # server with that purge. It ends within seconds at these scales.
    PURGE_WAIT_SECONDS = 60
    purge_unfinished = False

    def settle(self, databases):
        """Flush the copies' tables and let InnoDB's purge of the last run's
        undo log finish: the server's own catching up is not the next
        run's cost."""
        for database in databases:
            connection = self.dbapi_connector(database)()
            try:
                cursor = connection.cursor()
                tables = self._tables(cursor, database)
                cursor.execute('FLUSH TABLES %s FOR EXPORT' % ', '.join(
                    '`%s`' % table for table in tables))
                cursor.execute('UNLOCK TABLES')
                self._wait_for_purge(cursor)
            finally:
                connection.close()
        super().settle(databases)

    def _wait_for_purge(self, cursor):
        deadline = time.monotonic() + self.PURGE_WAIT_SECONDS
        while True:
            cursor.execute("SHOW GLOBAL STATUS LIKE "
                           "'Innodb_history_list_length'")
            row = cursor.fetchone()
            if row is None or int(row[1]) == 0:
                return
            if time.monotonic() > deadline:
                self.purge_unfinished = True
                return
            time.sleep(0.05)

    def notes(self):
        if self.purge_unfinished:
            return ['mysql: InnoDB purge had not finished within %d s before '
                    'some timed runs (other work on the server?)'
                    % self.PURGE_WAIT_SECONDS]
        return []

    def _charset_of(self, database):
        with self.admin.connect() as connection:
            return connection.exec_driver_sql(
                'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME '
                'FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s',
                (database.name,)).one()

    def _tables(self, cursor, database):
        cursor.execute("SHOW FULL TABLES FROM `%s` WHERE Table_type = "
                       "'BASE TABLE'" % database.name)
        return [row[0] for row in cursor.fetchall()]

    def replay(self, connection, statements):
        """The floor on MySQL: each statement commits on its own."""
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)


def _relax_checks(cursor):
    """Fill and copy only: the rows are known to be consistent."""
    cursor.execute('SET unique_checks = 0')
    cursor.execute('SET foreign_key_checks = 0')


def _mysql_literal(value):
    if value is None:
        return 'NULL'
    if isinstance(value, str):
        return "'%s'" % value.replace('\\', '\\\\').replace("'", "\\'")
    return str(value)


def make_backend(name, args):
    if name == 'sqlite':
        return SQLiteBackend()
    if name == 'mysql':
        return MySQLBackend(args.mysql_url)
    return PostgreSQLBackend(args.postgresql_url)


# -- timing ------------------------------------------------------------------


@contextlib.contextmanager
def stopwatch():
    """Wall and CPU (this process) seconds of the block, into the dict."""
    gc.collect()
    times = {}
    wall, cpu = time.perf_counter(), time.process_time()
    times['start'] = wall
    try:
        yield times
    finally:
        times['wall'] = time.perf_counter() - wall
        times['cpu'] = time.process_time() - cpu


class StatementClock(object):
    """Start and end of every statement any Engine sends in the block.

    A listener on the Engine class, so it sees the project's own engines
    too; ``end`` is when the block (the db_sync call) returned.
    """

    def __enter__(self):
        self.statements, self._open, self.end = [], {}, None
        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'before_cursor_execute', self._before)
        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'after_cursor_execute', self._after)
        return self

    def __exit__(self, *exc_info):
        self.end = time.perf_counter()
        sqlalchemy.event.remove(sqlalchemy.engine.Engine,
                                'before_cursor_execute', self._before)
        sqlalchemy.event.remove(sqlalchemy.engine.Engine,
                                'after_cursor_execute', self._after)
        return False

    def _before(self, conn, cursor, statement, *args):
        entry = [time.perf_counter(), None, statement]
        self.statements.append(entry)
        self._open[id(cursor)] = entry

    def _after(self, conn, cursor, statement, *args):
        entry = self._open.pop(id(cursor), None)
        if entry is not None:
            entry[1] = time.perf_counter()


_EXCLUSIVE_DDL = re.compile(
    r'\s*(ALTER|DROP)\s+TABLE\s+(?:IF\s+EXISTS\s+)?[`"]?(\w+)', re.I)
_WRITE = re.compile(r'\s*(ALTER|DROP|CREATE|UPDATE|INSERT|DELETE|RENAME)\b',
                    re.I)


def exclusive_tables(statement):
    """Tables a PostgreSQL statement takes ACCESS EXCLUSIVE on."""
    match = _EXCLUSIVE_DDL.match(statement)
    if match is None:
        return ()
    table = match.group(2)
    if match.group(1).upper() == 'DROP':
        return (table,) + REFERENCED.get(table, ())
    return (table,)


def transaction_holds(clock):
    """PostgreSQL: from the first ACCESS EXCLUSIVE statement to the end."""
    first = {}
    for start, _, statement in clock.statements:
        for table in exclusive_tables(statement):
            first.setdefault(table, start)
    return {table: clock.end - first[table]
            for table in HOLD_TABLES if table in first}


def statement_holds(clock):
    """MySQL: the longest single write or DDL statement naming the table."""
    longest = {}
    for start, end, statement in clock.statements:
        if end is None or not _WRITE.match(statement):
            continue
        for table in HOLD_TABLES:
            if re.search(r'\b%s\b' % table, statement):
                longest[table] = max(longest.get(table, 0.0), end - start)
    return longest


HOLDS = {'transaction': transaction_holds, 'statement': statement_holds}


def time_project(database, target, strategy, hold):
    """db_sync through the project's API; (times, statements, holds)."""
    with stopwatch() as times, StatementClock() as clock:
        steps = api.db_sync(database.url, target, strategy=strategy)
    # NOTE: db_sync leaves its engine's pool to the garbage collector;
    # collect it so no connection outlives the database.
    gc.collect()
    holds = HOLDS[hold](clock) if hold else {}
    used = {step.strategy for step in steps if step.strategy}
    if target == HEAD_VERSION and used != {strategy}:
        raise RuntimeError('asked for strategy %s, db_sync used %s'
                           % (strategy, ', '.join(sorted(used)) or 'none'))
    return times, [line for step in steps for line in step.statements], holds


def time_floor(backend, database, statements):
    """Connect, replay, close; the connect's share is kept apart too."""
    connect = backend.dbapi_connector(database)
    with stopwatch() as times:
        connection = connect()
        times['connect'] = time.perf_counter() - times['start']
        try:
            backend.replay(connection, statements)
        finally:
            connection.close()
    return times


def time_peer(database, repository_path, target):
    """Nova's own 233 through oslo.db's db_sync, engine creation included."""
    with stopwatch() as times:
        engine = sqlalchemy.create_engine(database.url)
        try:
            oslo_migration.db_sync(engine, repository_path, target)
        finally:
            engine.dispose()
    gc.collect()
    return times


def read_version(database):
    engine = sqlalchemy.create_engine(database.url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT version FROM migrate_version WHERE repository_id = "
                "'nova'").scalar()
    finally:
        engine.dispose()


def _check_version(database, target, who):
    found = read_version(database)
    if found != target:
        raise RuntimeError('the %s left version %s, not %s'
                           % (who, found, target))


class Series(object):
    """The interleaved project and floor runs of one operation."""

    def __init__(self, operation, target, strategy):
        self.operation, self.target = operation, target
        self.strategy = strategy
        self.runs = []
        self.statements = None
        self.statements_stable = True
        self.project_rss = self.floor_rss = 0.0

    def begin_round(self, floor_first):
        """A new round: the project's and the floor's runs go into it."""
        self.runs.append({'floor_first': floor_first})

    def run_project(self, backend, database):
        sizes = backend.table_sizes(database)
        with PeakRSS() as memory:
            times, statements, holds = time_project(
                database, self.target, self.strategy, backend.hold)
        self.project_rss = max(self.project_rss, memory.peak_mb)
        if self.statements not in (None, statements):
            self.statements_stable = False
        self.statements = statements
        self.runs[-1].update(project_s=times['wall'],
                             project_cpu_s=times['cpu'], held_s=holds)
        self._sizes(backend, database, sizes)

    def _sizes(self, backend, database, before):
        if before is not None and self.operation == 'upgrade':
            self.runs[-1].update(size_before=before,
                                 size_after=backend.table_sizes(database))

    def run_floor(self, backend, database):
        """Replay the last project run's statements on ``database``.

        In a round where the floor goes first, those are the round
        before's: the project sends the same statements every round
        (``statements_stable`` says whether it did).
        """
        with PeakRSS() as memory:
            times = time_floor(backend, database, self.statements)
        self.floor_rss = max(self.floor_rss, memory.peak_mb)
        _check_version(database, self.target, 'floor replay')
        self.runs[-1].update(floor_s=times['wall'], floor_cpu_s=times['cpu'],
                             floor_connect_s=times['connect'])


class PeerSeries(Series):
    """Nova's 233 (the seed) through oslo.db: no floor of its own."""

    def __init__(self, operation, target, repository_path):
        super().__init__(operation, target, PEER)
        self.repository_path = repository_path

    def run_peer(self, backend, database):
        sizes = backend.table_sizes(database)
        with PeakRSS() as memory:
            times = time_peer(database, self.repository_path, self.target)
        self.project_rss = max(self.project_rss, memory.peak_mb)
        _check_version(database, self.target, 'peer')
        self.runs.append({'peer_s': times['wall'], 'peer_cpu_s': times['cpu']})
        self._sizes(backend, database, sizes)


def strategy_round(backend, template, upgrade, downgrade, floor_first):
    """The project and the floor, each on a fresh copy of its own: up,
    then down; the floor first if ``floor_first``.

    NOTE: the two take turns at going first: whichever goes first follows
    the round before's other work (the peer's dropped copy, say), and the
    other the first one's.

    NOTE: each side's copy is made right before its own runs, the other's
    dropped: a copy made after it would push its pages out of the server's
    cache (MariaDB's buffer pool is 128 MB here, less than one copy at
    scale 1) and the side timed on the colder copy would pay for reading
    them back (the classic fill of 20,000 shadow rows: 410 ms against
    315 ms on the warm copy).
    """
    sides = [(upgrade.run_project, downgrade.run_project),
             (upgrade.run_floor, downgrade.run_floor)]
    upgrade.begin_round(floor_first)
    downgrade.begin_round(floor_first)
    for run_up, run_down in reversed(sides) if floor_first else sides:
        with fresh_copy(backend, template) as copy:
            run_up(backend, copy)
            backend.settle([copy])
            run_down(backend, copy)


def peer_round(backend, template, upgrade, downgrade):
    with fresh_copy(backend, template) as copy:
        upgrade.run_peer(backend, copy)
        backend.settle([copy])
        downgrade.run_peer(backend, copy)


@contextlib.contextmanager
def fresh_copy(backend, template):
    """A settled copy of ``template``, dropped when the block ends."""
    copy = backend.copy(template)
    try:
        backend.settle([copy])
        yield copy
    finally:
        backend.drop(copy)


def warm_up(backend, template, peer_path):
    """One untimed upgrade and downgrade per strategy, and the peer's.

    NOTE: the first timed round paid for being first: for the code its
    first call in this process loads (0.2 s more CPU than the project's
    later runs at scale 3) and for the server's work left from the fill.
    PostgreSQL's classic upgrade at scale 3 came out at ratios 1.19, 1.05,
    1.02 and 0.98 in four rounds, the first the highest.
    """
    began = time.perf_counter()
    with fresh_copy(backend, template) as copy:
        for strategy in backend.strategies:
            api.db_sync(copy.url, HEAD_VERSION, strategy=strategy)
            api.db_sync(copy.url, BASE_VERSION, strategy=strategy)
            gc.collect()
        if peer_path:
            time_peer(copy, peer_path, HEAD_VERSION)
            time_peer(copy, peer_path, BASE_VERSION)
    log('%s: warm-up round (untimed) in %.1f s'
        % (backend.name, time.perf_counter() - began))


def measure(backend, template, runs, peer_path, heavy_runs=0):
    """``runs`` rounds of every strategy (and the peer), on fresh copies.

    Per strategy, one copy is the project's, one the floor's; each is
    upgraded (timed) and then downgraded (timed), so every downgrade starts
    from an upgraded copy of the filled 232 database. Dirty data is written
    out before every timed run. A strategy with a heavy step in those
    rounds then goes on alone to ``heavy_runs`` rounds.

    NOTE: a heavy step's rounds vary far more than a light one's: the same
    statements, in turns, took 0.76 to 1.19 times the floor's time from
    round to round (SQLite at scale 1, whose work is mostly this process's
    system time; MariaDB's classic upgrade at scale 1, 1.05 to 1.24), so
    that the median of four could not tell a step 2% above its floor from
    one 10% above. A light step's fixed cost varies by a few milliseconds.
    """
    pairs = [(Series('upgrade', HEAD_VERSION, strategy),
              Series('downgrade', BASE_VERSION, strategy))
             for strategy in backend.strategies]
    peers = None
    if peer_path:
        peers = (PeerSeries('upgrade', HEAD_VERSION, peer_path),
                 PeerSeries('downgrade', BASE_VERSION, peer_path))
    warm_up(backend, template, peer_path)
    for index in range(runs):
        for upgrade, downgrade in pairs:
            # NOTE: the first round must run the project first: the floor
            # replays the statements of the project's last run.
            strategy_round(backend, template, upgrade, downgrade,
                           floor_first=index % 2 == 1)
        if peers:
            peer_round(backend, template, *peers)
    heavy_pairs = [pair for pair in pairs
                   if any(has_heavy_floor(series) for series in pair)]
    for index in range(runs, heavy_runs):
        for upgrade, downgrade in heavy_pairs:
            strategy_round(backend, template, upgrade, downgrade,
                           floor_first=index % 2 == 1)
    return [series for pair in pairs for series in pair], peers or ()


def has_heavy_floor(series):
    return is_heavy(_medians(series.runs, 'floor_s'))


def _medians(runs, key):
    return median([run[key] for run in runs])


def _median_per_table(runs, key):
    tables = sorted({table for run in runs for table in run.get(key, {})})
    return {table: median([run[key][table] for run in runs
                           if table in run.get(key, {})])
            for table in tables}


def _common(backend, series, counts):
    record = {
        'backend': backend, 'operation': series.operation,
        'strategy': series.strategy, 'scale': counts['scale'],
        'rows': counts['rows'],
        'shadow_rows': counts['rows']['shadow_compute_nodes'],
        'runs': series.runs, 'load_avg': os.getloadavg(),
        'ru_maxrss_mb': round(ru_maxrss_mb(), 1),
    }
    if any('size_before' in run for run in series.runs):
        record['size_before'] = _median_per_table(series.runs, 'size_before')
        record['size_after'] = _median_per_table(series.runs, 'size_after')
    return record


def summarize(backend, series, counts):
    project_s = _medians(series.runs, 'project_s')
    floor_s = _medians(series.runs, 'floor_s')
    ratios = [run['project_s'] / run['floor_s'] for run in series.runs]
    record = _common(backend, series, counts)
    record.update({
        'project_s': project_s, 'floor_s': floor_s, 'rounds': len(ratios),
        # NOTE: per round, not of the medians: a round's project and floor
        # run back to back on twin copies, so the machine's changing pace
        # (here a 20k-row UPDATE took 0.75 to 1.15 s from round to round)
        # touches both alike and cancels out of the round's figures.
        'ratio': median(ratios),
        'ratio_low': min(ratios), 'ratio_high': max(ratios),
        'fixed_ms': median([run['project_s'] - run['floor_s']
                            for run in series.runs]) * 1e3,
        'project_cpu_s': _medians(series.runs, 'project_cpu_s'),
        'floor_cpu_s': _medians(series.runs, 'floor_cpu_s'),
        'floor_connect_ms': _medians(series.runs, 'floor_connect_s') * 1e3,
        'project_peak_rss_mb': round(series.project_rss, 1),
        'floor_peak_rss_mb': round(series.floor_rss, 1),
        'statements': len(series.statements),
        'statements_stable': series.statements_stable,
        'held_s': _median_per_table(series.runs, 'held_s'),
    })
    record.update(judge(floor_s, record['ratio'], record['fixed_ms']))
    return record


def summarize_peer(backend, series, counts):
    record = _common(backend, series, counts)
    record.update({'peer_s': _medians(series.runs, 'peer_s'),
                   'peer_cpu_s': _medians(series.runs, 'peer_cpu_s'),
                   'peer_peak_rss_mb': round(series.project_rss, 1),
                   'repository': 'migrate_repo with 233 from the seed'})
    return record


def is_heavy(floor_s):
    return floor_s >= HEAVY_FLOOR_S


def judge(floor_s, ratio, fixed_ms):
    if is_heavy(floor_s):
        return {'kind': 'heavy', 'target': 'ratio <= %g' % MAX_HEAVY_RATIO,
                'target_met': ratio <= MAX_HEAVY_RATIO}
    return {'kind': 'light', 'target': 'fixed <= %g ms' % MAX_LIGHT_FIXED_MS,
            'target_met': fixed_ms <= MAX_LIGHT_FIXED_MS}


# -- the peer ----------------------------------------------------------------

# NOTE: the seed is a scraped copy of Nova's 233: its functions only, with a
# banner line before each and U+00A0 in the indentation. Nova's file began
# with these imports (timeutils then came from nova.openstack.common).
PEER_IMPORTS = '''from oslo_utils import timeutils
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer
from sqlalchemy import MetaData, String, Table, Text


'''
MIGRATION_233 = '233_add_stats_in_compute_nodes.py'


def seed_file(path):
    """The seed text file at ``path`` (a file, or a folder holding one)."""
    if os.path.isdir(path):
        names = sorted(name for name in os.listdir(path)
                       if name.endswith('.txt'))
        if not names:
            return None
        path = os.path.join(path, names[0])
    return path if os.path.isfile(path) else None


def seed_script(text):
    """The seed made runnable: spaces for U+00A0, banners out, imports in."""
    lines = [line for line in text.replace('\u00a0', ' ').splitlines()
             if not line.startswith('****')]
    return PEER_IMPORTS + '\n'.join(lines) + '\n'


def peer_repository(seed_path, directory):
    """A copy of migrate_repo whose 233 is the seed's; None without one."""
    path = seed_file(seed_path) if seed_path else None
    if path is None:
        return None
    with open(path, encoding='utf-8') as seed:
        script = seed_script(seed.read())
    target = os.path.join(directory, 'peer_repo')
    shutil.copytree(api.REPOSITORY_PATH, target,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    versions = os.path.join(target, 'versions')
    os.remove(os.path.join(versions, MIGRATION_233))
    # NOTE: sqlalchemy-migrate loads a script as a module named after its
    # file, re-executing it into the module of that name if there is one:
    # under the project's names the peer's 233 would replace the
    # project's (and back) in this process.
    for name in os.listdir(versions):
        if name[:3].isdigit():
            os.rename(os.path.join(versions, name), os.path.join(
                versions, name.replace('_', '_peer_', 1)))
    with open(os.path.join(versions, MIGRATION_233.replace(
            '_', '_peer_', 1)), 'w') as out:
        out.write(script)
    return target


# -- one backend -------------------------------------------------------------


def build_template(backend, counts):
    """The database at 232 made by the project's db_sync, then filled."""
    template = backend.new_database()
    began = time.perf_counter()
    api.db_sync(template.url, BASE_VERSION)
    gc.collect()
    backend.fill(template, counts)
    log('%s: filled %s in %.1f s' % (
        backend.name, _describe_counts(counts), time.perf_counter() - began))
    return template


def _describe_counts(counts):
    return ', '.join('%d %s' % (count, table)
                     for table, count in sorted(counts.items()))


def bench_scale(backend, scale, args, peer_path):
    rows = row_counts(scale)
    counts = {'scale': scale, 'rows': rows}
    began = time.perf_counter()
    template = build_template(backend, rows)
    try:
        all_series, peers = measure(backend, template, args.runs, peer_path,
                                    args.heavy_runs)
    finally:
        backend.drop(template)
    records = [summarize(backend.name, series, counts)
               for series in all_series]
    records += [summarize_peer(backend.name, series, counts)
                for series in peers]
    for record in records:
        log('%s %s %s at scale %g: %.3f s' % (
            backend.name, record['strategy'], record['operation'], scale,
            record.get('project_s', record.get('peer_s'))))
    log('%s scale %g: done in %.1f s' % (backend.name, scale,
                                         time.perf_counter() - began))
    return records


def bench_backends(args, servers, notes, peer_path):
    records = []
    for name in args.backends:
        backend = make_backend(name, args)
        try:
            servers[name] = backend.open()
        except Exception as error:  # noqa: any failure means unreachable
            print('%s skipped: %s' % (name, _first_line(error)), flush=True)
            backend.close()
            continue
        try:
            for scale in args.scales:
                records += bench_scale(backend, scale, args, peer_path)
        finally:
            notes += backend.notes()
            backend.close()
    return records


def _first_line(error):
    error = getattr(error, 'orig', None) or error
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return masking.mask(lines[0])


# -- cold start and suite ----------------------------------------------------


def timed_command(command, cwd=None):
    """(wall seconds, CPU seconds) of ``command``: the CPU (user + system)
    is the child's own, from the kernel's accounting of waited-for
    children, so other work on the machine does not count in it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError('%s failed: %s' % (
            ' '.join(command), masking.mask(completed.stderr.decode()[-300:])))
    return seconds, (after.ru_utime - before.ru_utime
                     + after.ru_stime - before.ru_stime)


def manage_command():
    """nova-schema-manage next to this Python, else its module."""
    script = os.path.join(os.path.dirname(sys.executable),
                          'nova-schema-manage')
    if os.path.exists(script):
        return [script]
    return [sys.executable, '-m', 'nova_schema.cli']


def cold_start_record(runs):
    """``db version`` against ``import sqlalchemy``, run in turns (so that
    a change in the machine's pace touches both alike); the ratio is of
    the medians of CPU time, as the target is stated, wall time beside."""
    directory = tempfile.mkdtemp(prefix=DB_PREFIX)
    url = 'sqlite:///' + os.path.join(directory, 'cold.sqlite')
    commands = {
        'cli': manage_command() + ['--database-connection', url, 'db',
                                   'version'],
        'import_sqlalchemy': [sys.executable, '-c', 'import sqlalchemy']}
    times = {name: {'wall': [], 'cpu': []} for name in commands}
    try:
        api.db_sync(url, HEAD_VERSION)
        gc.collect()
        for _ in range(runs):
            for name, command in commands.items():
                wall, cpu = timed_command(command)
                times[name]['wall'].append(wall)
                times[name]['cpu'].append(cpu)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    record = {'backend': 'sqlite', 'operation': 'cold_start',
              'command': 'nova-schema-manage db version',
              'ratio': (median(times['cli']['cpu'])
                        / median(times['import_sqlalchemy']['cpu'])),
              'wall_ratio': (median(times['cli']['wall'])
                             / median(times['import_sqlalchemy']['wall'])),
              'runs': {}}
    for name in commands:
        record['%s_s' % name] = median(times[name]['wall'])
        record['%s_cpu_s' % name] = median(times[name]['cpu'])
        record['runs']['%s_s' % name] = times[name]['wall']
        record['runs']['%s_cpu_s' % name] = times[name]['cpu']
    return record


def suite_record(backend):
    command = [sys.executable, '-m', 'stestr', 'run'] + SUITE_FILTERS[backend]
    began = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - began
    tail = completed.stdout.decode(errors='replace').strip().splitlines()
    log('suite %s: %s' % (backend, masking.mask(tail[-1] if tail else '')))
    return {'backend': backend, 'operation': 'suite', 'seconds': seconds,
            'command': ' '.join(['python'] + command[1:]),
            'returncode': completed.returncode}


# -- machine and report ------------------------------------------------------


def cpu_model():
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def ram_gb():
    try:
        with open('/proc/meminfo') as meminfo:
            for line in meminfo:
                if line.startswith('MemTotal:'):
                    return round(int(line.split()[1]) / 1048576.0, 1)
    except OSError:
        return None


def machine_info(servers, load_at_start):
    return {'platform': platform.platform(), 'cpu': cpu_model(),
            'cores': os.cpu_count(), 'ram_gb': ram_gb(),
            'python': platform.python_version(),
            'sqlalchemy': sqlalchemy.__version__, 'servers': servers,
            'load_avg_start': load_at_start, 'load_avg_end': os.getloadavg()}


def _load(triple):
    return '/'.join('%.1f' % value for value in triple)


def header_lines(machine):
    servers = '; '.join('%s %s' % item
                        for item in sorted(machine['servers'].items()))
    return ['machine: %s; %s, %s cores, %s GB RAM; load average %s at start, '
            '%s at end' % (machine['platform'], machine['cpu'],
                           machine['cores'], machine['ram_gb'],
                           _load(machine['load_avg_start']),
                           _load(machine['load_avg_end'])),
            'python %s, SQLAlchemy %s' % (machine['python'],
                                          machine['sqlalchemy']),
            'servers: %s' % (servers or 'none reachable')]


def _fmt(key, fmt):
    def cell(record):
        value = record.get(key)
        if value is None:
            return '-'
        if isinstance(value, bool):
            return 'yes' if value else 'NO'
        return fmt % value
    return cell


def _range(low, high):
    def cell(record):
        if record.get(low) is None:
            return '-'
        return '%.2f-%.2f' % (record[low], record[high])
    return cell


def _held(table):
    def cell(record):
        value = record.get('held_s', {}).get(table)
        return '-' if value is None else '%.3f' % value
    return cell


def _size(table):
    def cell(record):
        if 'size_before' not in record:
            return '-'
        return '%.1f->%.1f' % (record['size_before'][table] / 1048576.0,
                               record['size_after'][table] / 1048576.0)
    return cell


# (title, cell of a record, numeric); numbers are right-aligned.
MIGRATION_COLUMNS = (
    ('backend', _fmt('backend', '%s'), False),
    ('strategy', _fmt('strategy', '%s'), False),
    ('operation', _fmt('operation', '%s'), False),
    ('shadow rows', _fmt('shadow_rows', '%d'), True),
    ('project s', _fmt('project_s', '%.3f'), True),
    ('floor s', _fmt('floor_s', '%.3f'), True),
    ('rounds', _fmt('rounds', '%d'), True),
    ('ratio', _fmt('ratio', '%.2f'), True),
    ('ratio range', _range('ratio_low', 'ratio_high'), True),
    ('fixed ms', _fmt('fixed_ms', '%.1f'), True),
    ('step', _fmt('kind', '%s'), False),
    ('target', _fmt('target', '%s'), False),
    ('met', _fmt('target_met', '%s'), False),
    ('cpu proj s', _fmt('project_cpu_s', '%.3f'), True),
    ('cpu floor s', _fmt('floor_cpu_s', '%.3f'), True),
    ('floor conn ms', _fmt('floor_connect_ms', '%.1f'), True),
    ('RSS proj MB', _fmt('project_peak_rss_mb', '%.1f'), True),
    ('RSS floor MB', _fmt('floor_peak_rss_mb', '%.1f'), True),
    ('held cn s', _held('compute_nodes'), True),
    ('held shadow s', _held('shadow_compute_nodes'), True),
    ('cn MB', _size('compute_nodes'), True),
    ('shadow MB', _size('shadow_compute_nodes'), True),
)


def aligned(rows, numeric):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ['  '.join(cell.rjust(width) if number else cell.ljust(width)
                      for cell, width, number in zip(row, widths, numeric))
            .rstrip() for row in rows]


def migration_records(records, peer=False):
    return [record for record in records
            if record['operation'] in ('upgrade', 'downgrade') and
            (record['strategy'] == PEER) == peer]


def table_lines(records):
    rows = [[title for title, _, _ in MIGRATION_COLUMNS]]
    rows += [[cell(record) for _, cell, _ in MIGRATION_COLUMNS]
             for record in migration_records(records)]
    return aligned(rows, [number for _, _, number in MIGRATION_COLUMNS])


def peer_lines(records):
    """Nova's 233 through oslo.db, beside the project's classic run."""
    classic = {(r['backend'], r['operation'], r['shadow_rows']): r
               for r in migration_records(records)
               if r['strategy'] == CLASSIC}
    lines = []
    for record in migration_records(records, peer=True):
        ours = classic.get((record['backend'], record['operation'],
                            record['shadow_rows']))
        beside = ('' if ours is None else '; project classic %.3f s, floor '
                  '%.3f s' % (ours['project_s'], ours['floor_s']))
        lines.append('peer (Nova 233 via oslo_db db_sync) %s %s, %d shadow '
                     'rows: %.3f s%s%s' % (
                         record['backend'], record['operation'],
                         record['shadow_rows'], record['peer_s'], beside,
                         _size_text(record)))
    return lines


def _size_text(record):
    if 'size_before' not in record:
        return ''
    return '; sizes MB ' + ', '.join(
        '%s %s' % (table, _size(table)(record)) for table in HOLD_TABLES)


def growth_series(records):
    """{(backend, label): {shadow rows: upgrade seconds}}, labels: each
    strategy, its floor, and the peer."""
    series = {}
    for record in records:
        if record.get('operation') != 'upgrade' or 'strategy' not in record:
            continue
        key = (record['backend'], record['strategy'])
        if record['strategy'] == PEER:
            series.setdefault(key, {})[record['shadow_rows']] = \
                record['peer_s']
            continue
        series.setdefault(key, {})[record['shadow_rows']] = \
            record['project_s']
        floor = (record['backend'], record['strategy'] + ' floor')
        series.setdefault(floor, {})[record['shadow_rows']] = \
            record['floor_s']
    return series


def growth_lines(records):
    series = growth_series(records)
    if not series:
        return []
    sizes = sorted({rows for points in series.values() for rows in points})
    head = ['backend', 'upgrade'] + ['%d rows s' % rows for rows in sizes]
    rows = [head] + [[backend, label] + [
        '-' if points.get(rows) is None else '%.3f' % points[rows]
        for rows in sizes] for (backend, label), points in series.items()]
    return (['upgrade seconds against shadow_compute_nodes rows:'] +
            aligned(rows, [False, False] + [True] * len(sizes)))


def plot(records, path):
    """Seconds against rows, log-log, one line per backend and strategy."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit('bench_migration: --plot needs matplotlib '
                         '(pip install matplotlib, or the bench extra)')
    matplotlib.use('Agg')
    from matplotlib import pyplot
    figure, axes = pyplot.subplots(figsize=(8, 5.5))
    for (backend, label), points in sorted(growth_series(records).items()):
        if label.endswith('floor'):
            continue
        rows = sorted(points)
        axes.plot(rows, [points[n] for n in rows], marker='o',
                  linestyle='--' if label == PEER else '-',
                  label='%s %s' % (backend, label))
    axes.set_xscale('log')
    axes.set_yscale('log')
    axes.set_xlabel('shadow_compute_nodes rows')
    axes.set_ylabel('233 upgrade, seconds (median)')
    axes.set_title('Migration 233 upgrade: project strategies and Nova 233')
    axes.grid(True, which='both', alpha=0.3)
    axes.legend(fontsize='small')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    log('plot written to %s' % path)


def extra_lines(records):
    lines = []
    for record in records:
        if record['operation'] == 'cold_start':
            lines.append(
                'cold start (CPU, target <= 1.3x): %s %.3f s, python -c '
                '"import sqlalchemy" %.3f s, ratio %.2f; wall %.3f s / '
                '%.3f s, ratio %.2f (medians of %d, in turns)' % (
                    record['command'], record['cli_cpu_s'],
                    record['import_sqlalchemy_cpu_s'], record['ratio'],
                    record['cli_s'], record['import_sqlalchemy_s'],
                    record['wall_ratio'], len(record['runs']['cli_s'])))
        elif record['operation'] == 'suite':
            lines.append('suite %s: %.1f s (%s, exit %d)' % (
                record['backend'], record['seconds'], record['command'],
                record['returncode']))
    return lines


def report(records, machine, summary):
    lines = header_lines(machine)
    scales = summary['scales']
    lines.append('scale %s (at 1: %s), median of %d rounds (%d for a '
                 'strategy with a heavy step); total wall time %.1f s; peak '
                 'RSS (ru_maxrss) %.1f MB' % (
                     ', '.join('%g' % scale for scale in scales),
                     _describe_counts(row_counts(1)), summary['runs'],
                     max(summary['runs'], summary['heavy_runs']),
                     summary['wall_s'], ru_maxrss_mb()))
    lines += ['peer: %s' % summary['peer']] + summary['notes']
    lines.append('held: PostgreSQL, first ACCESS EXCLUSIVE statement to '
                 'commit; MySQL, longest statement on the table. MB: '
                 'pg_total_relation_size before->after')
    for block in (table_lines(records), peer_lines(records),
                  growth_lines(records), extra_lines(records)):
        if block:
            lines += [''] + block
    print('\n'.join(lines), flush=True)


# -- command line ------------------------------------------------------------


def parse_backends(text):
    names = [name.strip() for name in text.split(',') if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            'unknown backend(s) %s; choose from %s'
            % (', '.join(unknown) or '(none)', ','.join(BACKENDS)))
    return names


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError('must be more than 0')
        return value
    return parse


def parse_scales(text):
    scales = [positive(float)(part) for part in text.split(',')
              if part.strip()]
    if not scales:
        raise argparse.ArgumentTypeError('give at least one scale')
    return sorted(set(scales))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Time migration 233 through db_sync against the floor '
        '(its own statements replayed on a plain connection) and against '
        'Nova\'s own 233 through oslo.db (the peer).')
    parser.add_argument('--scale', type=positive(float), default=1.0,
                        help='multiplies the row counts (default 1.0)')
    parser.add_argument('--scales', type=parse_scales,
                        help='comma-separated scales, e.g. 0.1,1,3 '
                        '(default: --scale alone)')
    parser.add_argument('--backends', type=parse_backends,
                        default=list(BACKENDS),
                        help='comma-separated (default: all three)')
    parser.add_argument('--runs', type=positive(int), default=4,
                        help='timed rounds of each (default 4, so that the '
                        'project and the floor go first alike; median)')
    parser.add_argument('--heavy-runs', type=positive(int), default=12,
                        help='rounds of a strategy with a heavy step '
                        '(default 12: their rounds vary far more)')
    parser.add_argument('--cold-runs', type=positive(int), default=15,
                        help='cold start runs (default 15; median)')
    parser.add_argument('--json', metavar='PATH',
                        help='write the records to PATH as JSON')
    parser.add_argument('--plot', metavar='FILE.png',
                        help='draw seconds against rows (needs matplotlib)')
    parser.add_argument('--seed', metavar='PATH', default=DEFAULT_SEED,
                        help='Nova\'s 233 as text, or a folder holding it '
                        '(default ../shared/seed from the repository root)')
    parser.add_argument('--suite', action='store_true',
                        help='also time the test suite per backend (slow)')
    parser.add_argument('--mysql-url', default=DEFAULT_ADMIN_URLS['mysql'],
                        help='admin URL of the MySQL server')
    parser.add_argument('--postgresql-url',
                        default=DEFAULT_ADMIN_URLS['postgresql'],
                        help='admin URL of the PostgreSQL server')
    args = parser.parse_args(argv)
    args.scales = args.scales or [args.scale]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.plot:
        # NOTE: fail before the long part, not after it.
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print('bench_migration: --plot needs matplotlib (pip install '
                  'matplotlib)', file=sys.stderr)
            return 2
    # NOTE: as the CLI does; the pinned stack's deprecation noise would
    # otherwise bury the table.
    warnings.simplefilter('ignore')
    began, load_at_start = time.perf_counter(), os.getloadavg()
    servers, notes = {}, []
    directory = tempfile.mkdtemp(prefix=DB_PREFIX)
    try:
        peer_path = peer_repository(args.seed, directory)
        peer = ('Nova 233 from %s' % seed_file(args.seed) if peer_path else
                'skipped: no seed text at %s' % args.seed)
        log('peer: %s' % peer)
        records = bench_backends(args, servers, notes, peer_path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    records.append(cold_start_record(args.cold_runs))
    if args.suite:
        records += [suite_record(name) for name in args.backends]
    machine = machine_info(servers, load_at_start)
    summary = {'backend': None, 'operation': 'summary',
               'wall_s': time.perf_counter() - began, 'scale': args.scale,
               'scales': args.scales, 'runs': args.runs,
               'heavy_runs': args.heavy_runs, 'peer': peer,
               'notes': notes, 'ru_maxrss_mb': ru_maxrss_mb(),
               'machine': machine}
    records.append(summary)
    report(records, machine, summary)
    if args.json:
        with open(args.json, 'w') as output:
            json.dump(records, output, indent=2, sort_keys=True)
    if args.plot:
        plot(records, args.plot)
    return 0


if __name__ == '__main__':
    sys.exit(main())
