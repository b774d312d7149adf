"""Benchmark migration 233: the project's db_sync against the floor.

Usage::

    python tools/bench_migration.py [--scale F] [--runs N] [--json PATH]
        [--backends sqlite,mysql,postgresql] [--suite] [--cold-runs N]
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

Each of ``--runs`` rounds takes two fresh copies of the template, one for
the project and one for the floor, and times on them, in this order: project
upgrade, floor upgrade, project downgrade, floor downgrade. So project and
floor alternate, and every downgrade starts from an upgraded copy of the
filled database. Fills, copies and the flush of dirty data before each timed
run (``settle``) are not timed.

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
    (project - floor) in milliseconds, both from the medians. The floor's
    connect is reported apart (``floor_connect_ms``), and the CPU time of
    this process (``*_cpu_s``) beside the wall time: on a busy machine it is
    the steadier figure.

Targets: a heavy step (floor >= 0.3 s) must have ratio <= 1.1, a light one
fixed_ms <= 60. Also measured: the cold start of ``nova-schema-manage db
version`` against ``python -c "import sqlalchemy"``, and with ``--suite``
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

import sqlalchemy
from sqlalchemy.engine import url as sa_url

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
BASE_VERSION, HEAD_VERSION = 232, 233
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

    def settle(self, databases):
        self.admin_execute('CHECKPOINT')
        super().settle(databases)

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

    def settle(self, databases):
        """Flush the copies' tables; the server's other work is not ours."""
        for database in databases:
            connection = self.dbapi_connector(database)()
            try:
                cursor = connection.cursor()
                tables = self._tables(cursor, database)
                cursor.execute('FLUSH TABLES %s FOR EXPORT' % ', '.join(
                    '`%s`' % table for table in tables))
                cursor.execute('UNLOCK TABLES')
            finally:
                connection.close()
        super().settle(databases)

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


def time_project(database, target):
    """db_sync through the project's API; (times, statements sent)."""
    with stopwatch() as times:
        steps = api.db_sync(database.url, target)
    # NOTE: db_sync leaves its engine's pool to the garbage collector;
    # collect it so no connection outlives the database.
    gc.collect()
    return times, [line for step in steps for line in step.statements]


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


def read_version(database):
    engine = sqlalchemy.create_engine(database.url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT version FROM migrate_version WHERE repository_id = "
                "'nova'").scalar()
    finally:
        engine.dispose()


class Series(object):
    """The interleaved project and floor runs of one operation."""

    def __init__(self, operation, target):
        self.operation, self.target = operation, target
        self.runs = []
        self.statements = None
        self.statements_stable = True
        self.project_rss = self.floor_rss = 0.0

    def run_project(self, database):
        with PeakRSS() as memory:
            times, statements = time_project(database, self.target)
        self.project_rss = max(self.project_rss, memory.peak_mb)
        if self.statements not in (None, statements):
            self.statements_stable = False
        self.statements = statements
        self.runs.append({'project_s': times['wall'],
                          'project_cpu_s': times['cpu']})

    def run_floor(self, backend, database):
        """Replay the last project run's statements on ``database``."""
        with PeakRSS() as memory:
            times = time_floor(backend, database, self.statements)
        self.floor_rss = max(self.floor_rss, memory.peak_mb)
        found = read_version(database)
        if found != self.target:
            raise RuntimeError('the floor replay left version %s, not %s'
                               % (found, self.target))
        self.runs[-1].update(floor_s=times['wall'], floor_cpu_s=times['cpu'],
                             floor_connect_s=times['connect'])


def measure(backend, template, runs):
    """``runs`` rounds, each on two fresh copies of the filled template.

    One copy is the project's, one the floor's; each is upgraded (timed)
    and then downgraded (timed), so every downgrade starts from an upgraded
    copy of the filled 232 database. Dirty data is written out before every
    timed run.
    """
    upgrade = Series('upgrade', HEAD_VERSION)
    downgrade = Series('downgrade', BASE_VERSION)
    for _ in range(runs):
        copies = []
        try:
            copies.append(backend.copy(template))
            backend.settle(copies)
            upgrade.run_project(copies[0])
            copies.append(backend.copy(template))
            backend.settle(copies)
            upgrade.run_floor(backend, copies[1])
            backend.settle(copies)
            downgrade.run_project(copies[0])
            backend.settle(copies)
            downgrade.run_floor(backend, copies[1])
        finally:
            for database in copies:
                backend.drop(database)
    return upgrade, downgrade


def _medians(runs, key):
    return median([run[key] for run in runs])


def summarize(backend, series, scale):
    project_s = _medians(series.runs, 'project_s')
    floor_s = _medians(series.runs, 'floor_s')
    record = {
        'backend': backend, 'operation': series.operation, 'scale': scale,
        'project_s': project_s, 'floor_s': floor_s,
        'ratio': project_s / floor_s, 'fixed_ms': (project_s - floor_s) * 1e3,
        'project_cpu_s': _medians(series.runs, 'project_cpu_s'),
        'floor_cpu_s': _medians(series.runs, 'floor_cpu_s'),
        'floor_connect_ms': _medians(series.runs, 'floor_connect_s') * 1e3,
        'runs': series.runs,
        'project_peak_rss_mb': round(series.project_rss, 1),
        'floor_peak_rss_mb': round(series.floor_rss, 1),
        'statements': len(series.statements),
        'statements_stable': series.statements_stable,
        'load_avg': os.getloadavg(),
        'ru_maxrss_mb': round(ru_maxrss_mb(), 1),
    }
    record.update(judge(floor_s, record['ratio'], record['fixed_ms']))
    return record


def judge(floor_s, ratio, fixed_ms):
    if floor_s >= HEAVY_FLOOR_S:
        return {'kind': 'heavy', 'target': 'ratio <= %g' % MAX_HEAVY_RATIO,
                'target_met': ratio <= MAX_HEAVY_RATIO}
    return {'kind': 'light', 'target': 'fixed <= %g ms' % MAX_LIGHT_FIXED_MS,
            'target_met': fixed_ms <= MAX_LIGHT_FIXED_MS}


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


def bench_backend(backend, scale, runs):
    counts = row_counts(scale)
    began = time.perf_counter()
    template = build_template(backend, counts)
    records = []
    for series in measure(backend, template, runs):
        record = summarize(backend.name, series, scale)
        record['rows'] = counts
        records.append(record)
        log('%s %s: project %.3f s, floor %.3f s' % (
            backend.name, series.operation, record['project_s'],
            record['floor_s']))
    log('%s: done in %.1f s' % (backend.name, time.perf_counter() - began))
    return records


def bench_backends(args, servers):
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
            records += bench_backend(backend, args.scale, args.runs)
        finally:
            backend.close()
    return records


def _first_line(error):
    error = getattr(error, 'orig', None) or error
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return masking.mask(lines[0])


# -- cold start and suite ----------------------------------------------------


def timed_command(command, cwd=None):
    began = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seconds = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError('%s failed: %s' % (
            ' '.join(command), masking.mask(completed.stderr.decode()[-300:])))
    return seconds


def manage_command():
    """nova-schema-manage next to this Python, else its module."""
    script = os.path.join(os.path.dirname(sys.executable),
                          'nova-schema-manage')
    if os.path.exists(script):
        return [script]
    return [sys.executable, '-m', 'nova_schema.cli']


def cold_start_record(runs):
    directory = tempfile.mkdtemp(prefix=DB_PREFIX)
    try:
        url = 'sqlite:///' + os.path.join(directory, 'cold.sqlite')
        api.db_sync(url, HEAD_VERSION)
        gc.collect()
        cli = [timed_command(manage_command() + [
            '--database-connection', url, 'db', 'version'])
            for _ in range(runs)]
        imports = [timed_command([sys.executable, '-c', 'import sqlalchemy'])
                   for _ in range(runs)]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {'backend': 'sqlite', 'operation': 'cold_start',
            'command': 'nova-schema-manage db version',
            'cli_s': median(cli), 'import_sqlalchemy_s': median(imports),
            'ratio': median(cli) / median(imports),
            'runs': {'cli_s': cli, 'import_sqlalchemy_s': imports}}


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


# (record key, title, format); numbers are right-aligned.
MIGRATION_COLUMNS = (
    ('backend', 'backend', '%s'), ('operation', 'operation', '%s'),
    ('project_s', 'project s', '%.3f'), ('floor_s', 'floor s', '%.3f'),
    ('ratio', 'ratio', '%.2f'), ('fixed_ms', 'fixed ms', '%.1f'),
    ('kind', 'step', '%s'), ('target', 'target', '%s'),
    ('target_met', 'met', '%s'),
    ('project_cpu_s', 'cpu proj s', '%.3f'),
    ('floor_cpu_s', 'cpu floor s', '%.3f'),
    ('floor_connect_ms', 'floor conn ms', '%.1f'),
    ('project_peak_rss_mb', 'RSS proj MB', '%.1f'),
    ('floor_peak_rss_mb', 'RSS floor MB', '%.1f'),
)


def _cell(value, fmt):
    if isinstance(value, bool):
        return 'yes' if value else 'NO'
    return fmt % value


def aligned(rows, numeric):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ['  '.join(cell.rjust(width) if number else cell.ljust(width)
                      for cell, width, number in zip(row, widths, numeric))
            .rstrip() for row in rows]


def table_lines(records):
    rows = [[title for _, title, _ in MIGRATION_COLUMNS]]
    rows += [[_cell(record[key], fmt) for key, _, fmt in MIGRATION_COLUMNS]
             for record in records
             if record['operation'] in ('upgrade', 'downgrade')]
    numeric = ['f' in fmt for _, _, fmt in MIGRATION_COLUMNS]
    return aligned(rows, numeric)


def extra_lines(records):
    lines = []
    for record in records:
        if record['operation'] == 'cold_start':
            lines.append(
                'cold start: %s %.3f s, python -c "import sqlalchemy" %.3f s,'
                ' ratio %.2f (medians of %d)' % (
                    record['command'], record['cli_s'],
                    record['import_sqlalchemy_s'], record['ratio'],
                    len(record['runs']['cli_s'])))
        elif record['operation'] == 'suite':
            lines.append('suite %s: %.1f s (%s, exit %d)' % (
                record['backend'], record['seconds'], record['command'],
                record['returncode']))
    return lines


def report(records, machine, wall_s, scale, runs):
    lines = header_lines(machine)
    lines.append('scale %g (%s), median of %d runs; total wall time %.1f s; '
                 'peak RSS (ru_maxrss) %.1f MB' % (
                     scale, _describe_counts(row_counts(scale)), runs,
                     wall_s, ru_maxrss_mb()))
    lines.append('')
    lines += table_lines(records)
    lines.append('')
    lines += extra_lines(records)
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


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Time migration 233 through db_sync against the floor '
        '(its own statements replayed on a plain connection).')
    parser.add_argument('--scale', type=positive(float), default=1.0,
                        help='multiplies the row counts (default 1.0)')
    parser.add_argument('--backends', type=parse_backends,
                        default=list(BACKENDS),
                        help='comma-separated (default: all three)')
    parser.add_argument('--runs', type=positive(int), default=3,
                        help='timed runs of each (default 3; median)')
    parser.add_argument('--cold-runs', type=positive(int), default=5,
                        help='cold start runs (default 5; median)')
    parser.add_argument('--json', metavar='PATH',
                        help='write the records to PATH as JSON')
    parser.add_argument('--suite', action='store_true',
                        help='also time the test suite per backend (slow)')
    parser.add_argument('--mysql-url', default=DEFAULT_ADMIN_URLS['mysql'],
                        help='admin URL of the MySQL server')
    parser.add_argument('--postgresql-url',
                        default=DEFAULT_ADMIN_URLS['postgresql'],
                        help='admin URL of the PostgreSQL server')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # NOTE: as the CLI does; the pinned stack's deprecation noise would
    # otherwise bury the table.
    warnings.simplefilter('ignore')
    began, load_at_start = time.perf_counter(), os.getloadavg()
    servers = {}
    records = bench_backends(args, servers)
    records.append(cold_start_record(args.cold_runs))
    if args.suite:
        records += [suite_record(name) for name in args.backends]
    wall_s = time.perf_counter() - began
    machine = machine_info(servers, load_at_start)
    records.append({'backend': None, 'operation': 'summary',
                    'wall_s': wall_s, 'scale': args.scale, 'runs': args.runs,
                    'ru_maxrss_mb': ru_maxrss_mb(), 'machine': machine})
    report(records, machine, wall_s, args.scale, args.runs)
    if args.json:
        with open(args.json, 'w') as output:
            json.dump(records, output, indent=2, sort_keys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
