"""db sync, db version and db version_control: the plain Python API.

Built on oslo.db's sqlalchemy-migrate helpers (``oslo_db.sqlalchemy.
migration``), with what they lack around them: a refusal to touch a database
that is not this repository's, a lock so one migrator runs at a time, and a
transaction per run where the backend's DDL is transactional.
"""
import collections
import contextlib
import time
import warnings

from oslo_db.sqlalchemy import migration as oslo_migration
import sqlalchemy

from nova_schema import database
from nova_schema import exception
from nova_schema import masking
from nova_schema import repository
from nova_schema import session as session_mod

INIT_VERSION = repository.INIT_VERSION
REPOSITORY_PATH = repository.REPOSITORY_PATH
DEFAULT_LOCK_TIMEOUT = 60.0

Step = collections.namedtuple('Step', 'start end name seconds')
Step.__doc__ = 'One migration applied: ``start -> end`` took ``seconds``.'


@contextlib.contextmanager
def _quiet_deprecations():
    """oslo.db marks its sqlalchemy-migrate helpers deprecated; we know."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore',
                                category=sqlalchemy.exc.SADeprecationWarning)
        yield


def parse_version(version):
    """``version`` as an int this repository can migrate to, or an error."""
    if version is None:
        return None
    try:
        number = int(str(version).strip())
    except ValueError:
        raise exception.InvalidVersion(
            'version must be a whole number, not %r' % masking.mask(version))
    lowest, head = repository.baseline_version(), repository.head_version()
    if not lowest <= number <= head:
        raise exception.InvalidVersion(
            'version %d is outside this repository: it goes from %d (the '
            'baseline) to %d' % (number, lowest, head))
    return number


def _check_ownership(engine, state, stamping_allowed):
    """Refuse a database this repository must not touch.

    oslo.db would stamp any database without a row of ours that has a
    migrate_version or alembic_version table, and then build the baseline
    inside it; everything it must not do is refused here first.
    """
    target = database.describe(engine)
    if state.version is not None:
        head = repository.head_version()
        if not INIT_VERSION <= state.version <= head:
            raise exception.UnknownDatabaseVersion(
                'database %s is at version %s, which this repository (%d to '
                '%d) does not have; use the Nova release that put it there'
                % (target, state.version, INIT_VERSION, head))
        return
    if state.other_repositories:
        raise exception.ForeignDatabase(
            'database %s is under version control of repository %s, not %r; '
            'refusing to touch it' % (
                target, ', '.join(map(repr, state.other_repositories)),
                repository.REPOSITORY_ID))
    if state.tables - {repository.VERSION_TABLE}:
        raise exception.NotControlled(
            'database %s has tables (%s) but is not under version control of '
            'repository %r; if it is a Nova database, stamp its version with '
            '"db version_control VERSION"' % (
                target, ', '.join(sorted(state.tables)[:5]),
                repository.REPOSITORY_ID))
    if not stamping_allowed:
        raise exception.NotControlled(
            'database %s is empty and not under version control; "db sync" '
            'creates the schema' % target)


def _read_state(engine):
    connection = database.connect(engine)
    try:
        return database.read_version_state(connection)
    except database.CONNECTION_ERRORS as error:
        raise database.unreachable(engine, error)
    finally:
        connection.close()


def db_version(engine_or_url):
    """The version the database is at. Reads only; never stamps."""
    engine = database.get_engine(engine_or_url, must_exist=True)
    state = _read_state(engine)
    _check_ownership(engine, state, stamping_allowed=False)
    with _quiet_deprecations():
        return int(oslo_migration.db_version(
            engine, REPOSITORY_PATH, INIT_VERSION))


def db_version_control(engine_or_url, version=None):
    """Record that the database is at ``version`` (default INIT_VERSION).

    An empty database can only be stamped at INIT_VERSION (db sync then
    builds it); one that already has tables only at a version whose schema
    it can have, from the baseline up.
    """
    engine = database.get_engine(engine_or_url)
    number = INIT_VERSION if version is None else _parse_stamp(version)
    with session_mod.Session(engine, DEFAULT_LOCK_TIMEOUT) as session:
        state = _read_state_in(session)
        if state.version is not None:
            raise exception.InvalidVersion(
                'database %s is already under version control at %d'
                % (database.describe(engine), state.version))
        _check_stampable(engine, state, number)
        with _quiet_deprecations():
            oslo_migration.db_version_control(
                session.engine, REPOSITORY_PATH, number)
        session.commit()
    return number


def _parse_stamp(version):
    if str(version).strip() == str(INIT_VERSION):
        return INIT_VERSION
    return parse_version(version)


def _check_stampable(engine, state, number):
    if state.other_repositories:
        _check_ownership(engine, state, stamping_allowed=True)
    has_tables = bool(state.tables - {repository.VERSION_TABLE})
    if not has_tables and number != INIT_VERSION:
        raise exception.InvalidVersion(
            'database %s is empty: it can only be stamped at %d, and db sync '
            'then creates the schema' % (database.describe(engine),
                                         INIT_VERSION))
    if has_tables and number == INIT_VERSION:
        raise exception.InvalidVersion(
            'database %s already has tables: stamp the version its schema is '
            'at (%d or later), not %d' % (database.describe(engine),
                                          INIT_VERSION + 1, INIT_VERSION))


def _read_state_in(session):
    with session.connect() as connection:
        return database.read_version_state(connection)


def db_sync(engine_or_url, version=None, lock_timeout=DEFAULT_LOCK_TIMEOUT,
            on_step=None):
    """Upgrade or downgrade the database to ``version`` (default: head).

    Returns the list of Steps applied. ``on_step(start, end, name)`` is
    called before each step and ``on_step(Step)`` after it, for progress.
    On PostgreSQL and SQLite the whole run is one transaction: it lands
    entirely or not at all. On MySQL each step is idempotent, so running
    db_sync again after an interruption finishes the job.
    """
    target = parse_version(version)
    engine = database.get_engine(engine_or_url)
    _check_ownership(engine, _read_state(engine), stamping_allowed=True)
    with session_mod.Session(engine, lock_timeout) as session:
        steps = _sync_locked(session, target, on_step)
        session.commit()
    return steps


def _sync_locked(session, target, on_step):
    engine = session.engine
    # NOTE: read again under the lock: another db sync may have run while
    # this one waited for it.
    state = _read_state_in(session)
    _check_ownership(session.base_engine, state, stamping_allowed=True)
    current = state.version
    with _quiet_deprecations():
        if current is None:
            oslo_migration.db_version_control(
                engine, REPOSITORY_PATH, INIT_VERSION)
            current = INIT_VERSION
        target = repository.head_version() if target is None else target
        steps = []
        while current != target:
            following = current + (1 if target > current else -1)
            steps.append(_run_step(session, current, following, on_step))
            current = following
    return steps


def _run_step(session, start, end, on_step):
    name = repository.step_name(max(start, end))
    if on_step:
        on_step(start, end, name)
    began = time.monotonic()
    try:
        oslo_migration.db_sync(session.engine, REPOSITORY_PATH, version=end,
                               init_version=INIT_VERSION,
                               sanity_check=session.engine.name == 'mysql')
    except NotImplementedError as error:
        raise exception.InvalidVersion(
            'cannot go from %d to %d: %s' % (start, end, error))
    except Exception as error:  # noqa: any failure inside a script is one
        raise _step_failed(session, start, end, name, error)
    _verify_version(session, end)
    step = Step(start, end, name, time.monotonic() - began)
    if on_step:
        on_step(step)
    return step


def _verify_version(session, expected):
    """The version row must say ``expected`` now, or the step did not land."""
    state = _read_state_in(session)
    if state.version != expected:
        raise exception.MigrationFailed(
            'version table of %s says %s after migrating to %d; another '
            'process changed it' % (database.describe(session.base_engine),
                                    state.version, expected))


def _step_failed(session, start, end, name, error):
    detail = database.first_line(database.root_cause(error))
    if session.transactional:
        outcome = 'nothing was changed (the whole run was rolled back)'
    else:
        outcome = ('the database is still at %d; run db sync again to finish '
                   'the step' % start)
    return exception.MigrationFailed(
        '%d -> %d %s failed: %s; %s' % (start, end, name, detail, outcome))
