"""db sync, db version and db version_control: the plain Python API.

Built on oslo.db's sqlalchemy-migrate helpers (``oslo_db.sqlalchemy.
migration``), with what they lack around them: a refusal to touch a database
that is not this repository's, a lock so one migrator runs at a time, and a
transaction per run where the backend's DDL is transactional.

A database alembic manages (handed off by ``db_handoff``, or started by
``db_sync(..., alembic=True)``) is upgraded, read and checked through
``nova_schema.revisions`` instead, without sqlalchemy-migrate or oslo.db;
every sqlalchemy-migrate path refuses it.
"""
import contextlib
import os
import warnings

import sqlalchemy

from nova_schema import backends
from nova_schema import check
from nova_schema import database
from nova_schema import exception
from nova_schema import handoff as handoff_mod
from nova_schema import masking
from nova_schema import preflight
from nova_schema import readback
from nova_schema import repository
from nova_schema import revisions
from nova_schema import stack
from nova_schema import strategy as strategy_mod
from nova_schema import waiting

INIT_VERSION = repository.INIT_VERSION
REPOSITORY_PATH = repository.REPOSITORY_PATH
# How long a run may wait, in all, for the migration lock and table locks.
DEFAULT_LOCK_TIMEOUT = 60.0
# How long one statement may wait for a lock before the try is abandoned,
# so that the application's queries queued behind it go through.
DEFAULT_LOCK_WAIT = 2.0


@contextlib.contextmanager
def _quiet_deprecations():
    """oslo.db marks its sqlalchemy-migrate helpers deprecated; we know."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore',
                                category=sqlalchemy.exc.SADeprecationWarning)
        yield


@contextlib.contextmanager
def _engine_for(engine_or_url, must_exist=False, migrating=False):
    """The Engine for one API call. One made here from a URL is disposed of
    when the call ends, failed or not: no connection outlives the call. An
    Engine the caller passed in is the caller's to dispose of."""
    if not isinstance(engine_or_url, sqlalchemy.engine.Engine):
        masking.register_url(engine_or_url)
    engine = database.get_engine(engine_or_url, must_exist=must_exist,
                                 migrating=migrating)
    if engine is engine_or_url:
        # NOTE: a caller's engine gets the backend's connection set-up
        # (Galera's causal reads) for the connections it makes from now.
        backends.get(engine).prepare_engine()
    try:
        yield engine
    finally:
        if engine is not engine_or_url:
            engine.dispose()


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
    if state.alembic_revisions:
        handoff_mod.refuse_if_managed(engine, state)
        if state.version is not None:
            raise exception.ForeignDatabase(
                'database %s is at alembic revision %s, which is not one of '
                'nova_schema\'s; refusing to touch it'
                % (target, ', '.join(state.alembic_revisions)))
    if state.empty_row:
        raise exception.NotControlled(_empty_row_message(target, state))
    if state.version is not None:
        head = repository.head_version()
        if not INIT_VERSION <= state.version <= head:
            raise exception.UnknownDatabaseVersion(
                'database %s is at version %s, which this repository (%d to '
                '%d) does not have; use the Nova release that put it there'
                % (target, state.version, INIT_VERSION, head))
        if (state.version == INIT_VERSION and
                state.tables - {repository.VERSION_TABLE}):
            raise exception.UnknownDatabaseVersion(
                'database %s is at version %d but already has tables: a Nova '
                'database at %d needs Nova\'s own migration %d; this '
                'repository only builds %d from an empty database'
                % (target, INIT_VERSION, INIT_VERSION, INIT_VERSION + 1,
                   INIT_VERSION + 1))
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


def _empty_row_message(target, state):
    if state.tables - {repository.VERSION_TABLE}:
        remedy = ('"db version_control VERSION" fills it in, VERSION being '
                  'the version its schema is at (%d to %d; the schema is '
                  'checked first)' % (INIT_VERSION + 1,
                                      repository.head_version()))
    else:
        remedy = ('"db version_control" fills it in at %d, then "db sync" '
                  'builds the schema' % INIT_VERSION)
    return ('database %s has a version row for repository %r whose version '
            'is empty (NULL); %s; or delete that row'
            % (target, repository.REPOSITORY_ID, remedy))


def _read_state(engine):
    def read():
        connection = database.connect(engine)
        try:
            return database.read_version_state(connection)
        finally:
            connection.close()

    try:
        return backends.get(engine).retry_reads(read)
    except database.CONNECTION_ERRORS as error:
        raise database.unreachable(engine, error)


def db_version(engine_or_url):
    """The version the database is at. Reads only; never stamps.

    An int while sqlalchemy-migrate manages the database; alembic's
    revision (a str) once alembic does (``db_status`` says more).
    """
    with _engine_for(engine_or_url, must_exist=True) as engine:
        state = _read_state(engine)
        if handoff_mod.is_alembic_managed(state):
            return ', '.join(state.alembic_revisions)
        _check_ownership(engine, state, stamping_allowed=False)
        # NOTE: the row _check_ownership has just accepted; reading it
        # again through sqlalchemy-migrate would only cost its import.
        return int(state.version)


def db_version_control(engine_or_url, version=None,
                       lock_timeout=DEFAULT_LOCK_TIMEOUT,
                       lock_wait=DEFAULT_LOCK_WAIT, on_wait=None,
                       interrupt=None):
    """Record that the database is at ``version`` (default INIT_VERSION).

    An empty database can only be stamped at INIT_VERSION (db sync then
    builds it); one that already has tables only at a version whose schema
    it can have, from the baseline up.
    """
    number = INIT_VERSION if version is None else _parse_stamp(version)
    # NOTE: only an empty database can be stamped at INIT_VERSION; for any
    # other version a SQLite file that is not there yet is an error, not a
    # new empty file.
    with _engine_for(engine_or_url, number != INIT_VERSION,
                     migrating=True) as engine:
        _version_control(engine, number, lock_timeout, lock_wait, on_wait,
                         interrupt)
    return number


def _version_control(engine, number, lock_timeout, lock_wait, on_wait,
                     interrupt):
    def stamp(session):
        state = handoff_mod.read_state(session)
        handoff_mod.refuse_if_managed(engine, state)
        if state.version is not None:
            raise exception.InvalidVersion(
                'database %s is already under version control at %d'
                % (database.describe(engine), state.version))
        _check_stampable(session, state, number)
        if state.empty_row:
            # NOTE: the row is there, its version NULL: fill it in rather
            # than insert a second row, which sqlalchemy-migrate refuses.
            with session.connect() as connection, connection.begin():
                database.fill_empty_version(connection, number)
        else:
            from oslo_db.sqlalchemy import migration as oslo_migration
            with _quiet_deprecations():
                oslo_migration.db_version_control(
                    session.engine, REPOSITORY_PATH, number)
        session.commit()

    _locked(engine, stamp, lock_timeout, lock_wait, on_wait, interrupt,
            'during version control')


def _parse_stamp(version):
    if str(version).strip() == str(INIT_VERSION):
        return INIT_VERSION
    return parse_version(version)


def _check_stampable(session, state, number):
    engine = session.base_engine
    if state.other_repositories and not state.empty_row:
        _check_ownership(engine, state, stamping_allowed=True)
    if 'alembic_version' in state.tables:
        raise exception.ForeignDatabase(
            'database %s is managed by alembic (it has an alembic_version '
            'table); refusing to put it under version control of %r'
            % (database.describe(engine), repository.REPOSITORY_ID))
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
    if has_tables:
        report = check.check(session.engine, number)
        if not report.ok:
            raise exception.InvalidVersion(
                'database %s does not have the schema of version %d (%d '
                'differences, first: %s); refusing to stamp it'
                % (database.describe(engine), number,
                   len(report.differences), report.differences[0]))


def db_sync(engine_or_url, version=None, lock_timeout=DEFAULT_LOCK_TIMEOUT,
            on_step=None, dry_run=False, lock_wait=DEFAULT_LOCK_WAIT,
            on_wait=None, on_discard=None, interrupt=None,
            strategy=strategy_mod.AUTO, alembic=False, on_progress=None):
    """Upgrade or downgrade the database to ``version`` (default: head).

    A database alembic manages (handed off, or started on alembic) is
    upgraded to alembic's head instead, and the list holds
    ``revisions.Applied``; so is an empty one with ``alembic``, which
    then never gets a ``migrate_version`` table.

    Returns the list of ``sync.Step`` applied, each with the SQL it sent
    and what it discarded. ``on_step(start, end, name)`` is called before
    each step and ``on_step(step)`` after it, for progress;
    ``on_discard(step)`` before a step that discards data changes
    anything; ``on_wait(message)`` while the run waits for a lock;
    ``on_progress(message)`` how far long work inside a step has got (the
    classic fill in batches on a Galera cluster).

    No statement waits for a lock longer than ``lock_wait`` seconds: the
    run is then abandoned and tried again after a pause, until
    ``lock_timeout`` runs out (``LockTimeout``). On PostgreSQL and SQLite
    the whole run is one transaction: it lands entirely or not at all. On
    MySQL each step is idempotent, so running db_sync again after an
    interruption finishes the job. Before each step changes anything, the
    tables it touches must be in a state it can start from
    (``PreflightRefused``). With ``dry_run`` nothing is changed:
    PostgreSQL and SQLite run everything and roll back; MySQL, whose DDL
    cannot be rolled back, holds back every statement that would change
    the database. ``interrupt`` (an ``interrupt.Guard``) lets SIGINT and
    SIGTERM cancel the statement in flight. ``strategy`` is how 233 adds
    its column (``nova_schema.strategy``: auto, instant or classic).
    """
    target = parse_version(version)
    strategy_mod.validate(strategy)
    # NOTE: with the legacy stack, whether alembic manages the database is
    # decided under the lock (a handoff may finish while this one waits),
    # and costs no read before it.
    if alembic or (stack.legacy_missing() and
                   _managed_by_alembic(engine_or_url)):
        return _alembic_sync(engine_or_url, version, dry_run, lock_timeout,
                             lock_wait, on_wait, interrupt)
    with _engine_for(engine_or_url, must_exist=dry_run,
                     migrating=True) as engine:
        return _sync(engine, target, lock_timeout, on_step, dry_run,
                     lock_wait, on_wait, on_discard, interrupt, strategy,
                     on_progress)


def _sync(engine, target, lock_timeout, on_step, dry_run, lock_wait,
          on_wait, on_discard, interrupt, strategy, on_progress=None):
    runs = []
    warned = set()

    def warn_once(step):
        # NOTE: a try abandoned for a lock is made again; say it once.
        if on_discard is not None and step.title not in warned:
            warned.add(step.title)
            on_discard(step)

    def migrate(session):
        # NOTE: the state is read only under the lock: before it, another
        # db sync may be half-way through a step (MySQL commits each DDL
        # statement), which is no reason to refuse the database.
        state = handoff_mod.read_state(session)
        if handoff_mod.is_alembic_managed(state):
            _refuse_on_alembic(engine, state, target, dry_run)
            return _alembic_upgrade(session, engine, state, interrupt)
        _check_ownership(engine, state, stamping_allowed=True)
        from nova_schema import sync
        with _quiet_deprecations():
            run = sync.SyncRun(session, on_step, dry_run, warn_once,
                               interrupt, strategy, on_progress)
            runs.append(run)
            steps = run.migrate(state.version, target)
        if dry_run:
            session.rollback()
        else:
            session.commit()
        if interrupt is not None:
            reached = steps[-1].end if steps else state.version
            interrupt.completed(
                'db sync had %s; the database is at %s'
                % ('shown its steps' if dry_run else 'finished', reached))
        return steps

    def doing():
        step = runs[-1].current if runs else None
        return 'during %s' % step.title if step else 'before any step'

    return _locked(engine, migrate, lock_timeout, lock_wait, on_wait,
                   interrupt, doing, dry_run, retry_transient=True)


def _managed_by_alembic(engine_or_url):
    """Whether the database is alembic's; a SQLite file that is not there
    yet is not (and is not created by asking)."""
    if not isinstance(engine_or_url, sqlalchemy.engine.Engine):
        path = backends.local_file(database.parse_url(engine_or_url))
        if path and not os.path.exists(path):
            return False
    return db_status(engine_or_url)['managed_by'] == revisions.MANAGER


def _refuse_on_alembic(engine, state, version, dry_run):
    """What db sync cannot do on alembic's side: go to a sqlalchemy-migrate
    version, or show its steps without running them."""
    if version is not None:
        raise exception.InvalidVersion(
            '%s; db sync takes no sqlalchemy-migrate version (%s) there'
            % (handoff_mod.managed_message(engine, state), version)
            if handoff_mod.is_alembic_managed(state) else
            'db sync --alembic takes no version: it '
            "upgrades to alembic's head (%s)" % revisions.head())
    if dry_run:
        raise exception.InvalidVersion(
            '--dry-run shows sqlalchemy-migrate steps; alembic '
            'revisions have no dry run here')


def _alembic_upgrade(session, engine, state, interrupt):
    """``alembic upgrade head`` in the locked ``session``, whose version
    state (read under the lock) is ``state``."""
    if not handoff_mod.is_alembic_managed(state):
        revisions.refuse_unless_alembic_may_run(engine, state)
    with session.engine.connect() as connection:
        applied = revisions.upgrade(connection)
    session.commit()
    if interrupt is not None:
        interrupt.completed('db sync had finished; the database is '
                            'at %s' % revisions.head())
    return applied


def _alembic_sync(engine_or_url, version, dry_run, lock_timeout, lock_wait,
                  on_wait, interrupt):
    """db sync on alembic's side, without sqlalchemy-migrate or oslo.db:
    ``db sync --alembic``, or any db sync of an alembic database where the
    legacy stack is not installed."""
    with _engine_for(engine_or_url, must_exist=dry_run) as engine:
        _refuse_on_alembic(engine, _read_state(engine), version, dry_run)
        return _locked(
            engine, lambda session: _alembic_upgrade(
                session, engine, handoff_mod.read_state(session), interrupt),
            lock_timeout, lock_wait, on_wait, interrupt,
            'during alembic upgrade')


def db_handoff(engine_or_url, undo=False, lock_timeout=DEFAULT_LOCK_TIMEOUT,
               lock_wait=DEFAULT_LOCK_WAIT, on_step=None, on_wait=None,
               on_discard=None, interrupt=None, strategy=strategy_mod.AUTO):
    """Hand a database under sqlalchemy-migrate control off to alembic at
    233 (brought there first if it is behind; its schema checked), or with
    ``undo`` give it back while it is at alembic's initial revision.

    Returns a ``handoff.Outcome``; one already handed off is left alone
    (``changed`` False). See nova_schema.handoff.
    """
    strategy_mod.validate(strategy)

    def run_steps(session, start, end):
        from nova_schema import sync
        with _quiet_deprecations():
            return sync.SyncRun(session, on_step, False, on_discard,
                                interrupt, strategy).migrate(start, end)

    def work(session):
        if undo:
            outcome = handoff_mod.undo(session)
        else:
            outcome = handoff_mod.hand_off(
                session, lambda engine, state: _check_ownership(
                    engine, state, stamping_allowed=False), run_steps)
        if interrupt is not None:
            interrupt.completed('db handoff had finished')
        return outcome

    with _engine_for(engine_or_url, must_exist=True,
                     migrating=not undo) as engine:
        return _locked(engine, work, lock_timeout, lock_wait, on_wait,
                       interrupt, 'during db handoff')


def db_status(engine_or_url, must_exist=True):
    """Who manages the database and where it is: ``managed_by``
    ('alembic', 'sqlalchemy-migrate' or None), ``version`` (the
    sqlalchemy-migrate one), ``revisions`` (alembic's), ``handed_off_at``.
    Reads only, without sqlalchemy-migrate or oslo.db."""
    with _engine_for(engine_or_url, must_exist=must_exist) as engine:
        state = _read_state(engine)
    if handoff_mod.is_alembic_managed(state):
        managed_by = revisions.MANAGER
    elif state.version is not None:
        managed_by = 'sqlalchemy-migrate'
    else:
        managed_by = None
    return {'managed_by': managed_by, 'version': state.version,
            'revisions': list(state.alembic_revisions),
            'handed_off_at': state.version
            if managed_by == revisions.MANAGER else None}


def with_migration_lock(engine_or_url, work, lock_timeout=DEFAULT_LOCK_TIMEOUT,
                        lock_wait=DEFAULT_LOCK_WAIT, on_wait=None,
                        doing='during the locked work'):
    """``work(session)`` under db sync's migration lock, with its bounded
    lock waits; for tools that migrate by other means (manage.py).

    ``session.engine`` is what the work must use; on PostgreSQL and SQLite
    it defers every commit to ``session.commit()``.
    """
    with _engine_for(engine_or_url, migrating=True) as engine:
        return _locked(engine, work, lock_timeout, lock_wait, on_wait, None,
                       doing)


def _locked(engine, work, lock_timeout, lock_wait, on_wait, interrupt,
            doing, dry_run=False, retry_transient=False):
    """``work(session)`` under the migration lock, retried while a lock is
    busy (and, with ``retry_transient``, after a cluster error a repeat
    may pass, for work whose failing steps report their own errors);
    ``doing`` (text, or a callable giving it) says what was under way for
    an interruption's message."""
    backend = backends.get(engine)

    def attempt(waiter):
        # NOTE: no try waits past the deadline.
        wait = min(lock_wait, max(waiter.remaining(), 0.1))
        with backend.session(wait, waiter) as session:
            try:
                if interrupt is None:
                    return work(session)
                with interrupt.attached(session):
                    return work(session)
            except database.CONNECTION_ERRORS + database.DBAPI_ERRORS as error:
                # NOTE: a read before the first change (the state, the
                # pre-flight check) may meet a busy lock too.
                cause = database.root_cause(error)
                if backend.is_lock_wait_timeout(cause):
                    raise exception.LockBusy(
                        'a table lock', usual_holder='an open transaction',
                        tables=sorted(check.managed_table_names(
                            backend.name)))
                # NOTE: outside a step (a step's errors are MigrationFailed
                # by now) every statement is a read, or the version
                # bookkeeping a re-run redoes: the try is made again.
                transient = retry_transient and backend.transient(cause)
                if transient:
                    raise exception.LockBusy(
                        'the cluster to settle (%s: %s)' % (
                            transient, database.first_line(cause)),
                        usual_holder='a replicated transaction or a '
                        'change of members')
                raise

    waiter = waiting.Waiter(lock_timeout, on_wait,
                            lambda busy: _lock_holders(backend, busy),
                            interrupt)
    try:
        return waiter.run(attempt)
    except waiting.GaveUp as gave_up:
        raise exception.LockTimeout(
            'gave up after %.0f s (--lock-timeout %g) waiting for %s, held by '
            '%s; %s' % (gave_up.waited, lock_timeout, gave_up.busy.what,
                        gave_up.busy.held_by,
                        _state_left(engine, backend, dry_run)))
    except exception.Interrupted as interrupted:
        if interrupt.is_completed:
            raise
        what = doing() if callable(doing) else doing
        raise interrupt.error(' %s; %s' % (
            what, _state_left(engine, backend, dry_run))) from interrupted


def _lock_holders(backend, busy):
    """Who holds what ``busy`` waited for, asked on a fresh connection."""
    try:
        with backend.engine.connect() as connection:
            if busy.tables:
                return backend.table_lock_holders(connection, busy.tables)
            return backend.migration_lock_holders(connection)
    except Exception:  # noqa: naming the holder is a courtesy
        return []


def _state_left(engine, backend, dry_run):
    """The database's state after a run that did not finish, read back."""
    if dry_run:
        return 'nothing was changed (dry run)'
    if backend.transactional_ddl:
        return 'nothing was changed (the run was rolled back)'
    return readback.state_left(engine, backend)


def db_history(engine_or_url):
    """Every version of the repository, and which one the database is at.

    A list of dicts: version, name, description, current.
    """
    with _engine_for(engine_or_url, must_exist=True) as engine:
        state = _read_state(engine)
        alembic = handoff_mod.is_alembic_managed(state)
        if not alembic:
            _check_ownership(engine, state, stamping_allowed=True)
    if not alembic:
        return [dict(entry, current=entry['version'] == state.version)
                for entry in repository.describe_versions()]
    legacy = [] if state.version is None else [
        dict(entry, current=False, handed_off=entry['version'] ==
             state.version) for entry in repository.describe_versions()]
    return legacy + revisions.history(state.alembic_revisions)


def db_info(engine_or_url):
    """The database's version with where it lives and what serves it."""
    with _engine_for(engine_or_url, must_exist=True) as engine:
        version = db_version(engine)
        info = database.server_info(engine,
                                    backends.get(engine).server_version_sql)
        if isinstance(version, str):
            status = db_status(engine)
            return dict(info, version=version, managed_by=revisions.MANAGER,
                        handed_off_at=status['handed_off_at'],
                        origin=revisions.origin(status['handed_off_at']),
                        half_applied=None,
                        repository_id=None,
                        repository_path=revisions.MIGRATIONS_PATH)
        return dict(info, version=version,
                    half_applied=db_half_applied(engine, version),
                    repository_id=repository.REPOSITORY_ID,
                    repository_path=REPOSITORY_PATH)


def db_check(engine_or_url):
    """Compare the live schema with this repository's at its version."""
    with _engine_for(engine_or_url, must_exist=True) as engine:
        state = _read_state(engine)
        retry_reads = backends.get(engine).retry_reads
        if handoff_mod.is_alembic_managed(state):
            # NOTE: the initial revision's schema is 233's.
            report = retry_reads(
                lambda: check.check(engine, revisions.HANDOFF_VERSION))
            report.revision = ', '.join(state.alembic_revisions)
            return report
        _check_ownership(engine, state, stamping_allowed=False)
        report = retry_reads(lambda: check.check(engine))
        if not report.ok:
            report.half_applied = db_half_applied(engine, report.version)
        return report


def db_half_applied(engine_or_url, version=None):
    """'233 -> 232 half-applied ...: run db sync 232 to finish' when a step
    was cut short at ``version`` (default: the recorded one), else None.

    Only where DDL commits itself can a step be left part-way.
    """
    with _engine_for(engine_or_url, must_exist=True) as engine:
        backend = backends.get(engine)
        if backend.transactional_ddl:
            return None
        connection = database.connect(engine)
        try:
            if version is None:
                version = database.read_version_state(connection).version
            found = preflight.half_applied(connection, backend, version)
        except database.CONNECTION_ERRORS as error:
            raise database.unreachable(engine, error)
        finally:
            connection.close()
    return preflight.half_applied_text(found) if found else None
