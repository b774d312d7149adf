"""The step runner behind db_sync: one migration at a time, checked.

Before a step changes anything its pre-flight check reads the tables it
touches (``nova_schema.preflight``) and what it will discard is reported;
the step then runs as oslo.db's ``db_sync`` runs it (sqlalchemy-migrate's
changeset on the session's engine), and the version row is read back: a
step whose version update did not land is an error, not a silent success.
"""
import contextlib
import time

from oslo_db.sqlalchemy import migration as oslo_migration
import sqlalchemy
from sqlalchemy import event

from nova_schema.backends import base as backend_base
from nova_schema import capture
from nova_schema import check
from nova_schema import database
from nova_schema import exception
from nova_schema import plan as plan_mod
from nova_schema import preflight
from nova_schema import progress
from nova_schema import readback
from nova_schema import repository
from nova_schema import resumable
from nova_schema import strategy as strategy_mod


class Step(object):
    """One migration: ``start -> end`` (start None: version control)."""

    def __init__(self, start, end, name):
        self.start, self.end, self.name = start, end, name
        self.seconds = None
        self.statements = []
        self.discards = []
        self.resumed_after = 0
        # For a step that adds columns: the strategy it used, and why not
        # the instant one when it was not.
        self.strategy = None
        self.strategy_reason = None

    @property
    def title(self):
        if self.start is None:
            return 'version control at %d' % self.end
        return '%d -> %d %s' % (self.start, self.end, self.name)

    def as_dict(self):
        return {'from': self.start, 'to': self.end, 'name': self.name,
                'seconds': self.seconds, 'statements': self.statements,
                'resumed_after': self.resumed_after,
                'strategy': self.strategy,
                'strategy_reason': self.strategy_reason,
                'discards': [{'table': item.table, 'column': item.column,
                              'rows': item.rows,
                              'approximate': item.approximate}
                             for item in self.discards]}


class SyncRun(object):
    """Runs steps in ``session``; ``current`` is the step under way.

    ``on_step(start, end, name)`` before a step and ``on_step(step)`` after
    it; ``on_discard(step)`` once a step's pre-flight check has passed and
    before its first change, when it will discard data; ``on_progress(
    message)`` from long work inside a step (a fill in batches).
    """

    def __init__(self, session, on_step=None, dry_run=False,
                 on_discard=None, interrupt=None,
                 requested_strategy=strategy_mod.AUTO, on_progress=None):
        self.session = session
        self.on_progress = on_progress
        self.requested_strategy = strategy_mod.validate(requested_strategy)
        # NOTE: the session's own: what it learnt opening (a cluster's
        # members) is needed to report a failure.
        self.backend = session.backend
        self.on_step = on_step
        self.on_discard = on_discard
        self.interrupt = interrupt
        self.dry_run = dry_run
        self.current = None
        # NOTE: where DDL commits itself a dry run cannot roll back; it
        # holds back every change instead, and can then only show one
        # step: the next would reflect a schema that was never changed.
        self.hold_back = dry_run and not session.transactional
        self.log = capture.StatementLog(session.engine, self.hold_back)
        if interrupt is not None:
            event.listen(session.engine, 'before_cursor_execute',
                         self._check_interrupt)

    def _check_interrupt(self, *args):
        self.interrupt.check()

    def migrate(self, current, target):
        steps = []
        if current is None:
            steps.append(self._version_control())
            current = repository.INIT_VERSION
            if self.hold_back:
                return steps
        target = repository.head_version() if target is None else target
        if current == target:
            self._check_not_half_applied(current)
        while current != target:
            following = current + (1 if target > current else -1)
            try:
                steps.append(self._run(current, following))
            except exception.MigrationFailed:
                # NOTE: the baseline reflects the tables it has just
                # created, which a held-back dry run never creates.
                if self.hold_back and current == repository.INIT_VERSION:
                    break
                raise
            current = following
            if self.hold_back:
                break
        self.current = None
        return steps

    def _check_not_half_applied(self, version):
        with self.session.connect() as connection:
            found = preflight.half_applied(connection, self.backend, version)
        if found and found[1] < found[0]:
            raise exception.PreflightRefused(
                'the database is at %d but %s' % (
                    version, preflight.half_applied_text(found)))

    def _version_control(self):
        step = Step(None, repository.INIT_VERSION, 'version_control')
        self.current = step
        if self.hold_back:
            step.statements = self._version_control_statements()
            return step
        try:
            with self._timed(step):
                oslo_migration.db_version_control(
                    self.session.engine, repository.REPOSITORY_PATH,
                    repository.INIT_VERSION)
        except Exception as error:  # noqa: any failure to create the table
            raise self._failed(step, error)
        return step

    def _version_control_statements(self):
        """What version control would send, compiled rather than run.

        sqlalchemy-migrate reads the version table back between creating it
        and filling it, which a held-back run cannot do.
        """
        dialect = self.session.engine.dialect
        table = repository.version_table_definition(sqlalchemy.MetaData())
        create = sqlalchemy.schema.CreateTable(table).compile(dialect=dialect)
        insert = table.insert().values(
            repository_id=repository.REPOSITORY_ID,
            repository_path=repository.get_repository().path,
            version=repository.INIT_VERSION).compile(dialect=dialect)
        params = insert.construct_params()
        if insert.positional:
            params = [params[name] for name in insert.positiontup]
        return [capture.render(str(create), None, dialect),
                capture.render(str(insert), params, dialect)]

    def _preflight(self, step):
        """Refuse a step that cannot start here, before it changes
        anything; note what it will discard. The ``preflight.Position``
        found, or None for a step without a plan."""
        with self.session.connect() as connection:
            if step.start == repository.INIT_VERSION:
                preflight.check_baseline(
                    sqlalchemy.inspect(connection).get_table_names(),
                    check.managed_table_names(self.backend.name))
                return None
            position = preflight.locate(connection, self.backend,
                                        step.start, step.end)
            if position is None:
                return None
            step.resumed_after = position.done
            step.discards = preflight.discards(connection, self.backend,
                                               position)
        if self.on_discard and any(item.rows for item in step.discards):
            self.on_discard(step)
        return position

    def _choose_strategy(self, step):
        """Instant where asked for (or ``auto``) and possible; refused up
        front where asked for and impossible. Classic refused up front
        where the backend says its fill could not finish (a cluster's
        write-set limits)."""
        step_plan = plan_mod.plan(step.start, step.end)
        tables = sorted({operation.table for operation in (
            step_plan.operations if step_plan else ())
            if operation.kind == 'add_column'})
        if not tables:
            return
        step.strategy = strategy_mod.CLASSIC
        with self.session.connect() as connection:
            if self.requested_strategy != strategy_mod.CLASSIC:
                reason = self.backend.instant_unavailable(connection, tables)
                if reason is None:
                    step.strategy = strategy_mod.INSTANT
                    return
                if self.requested_strategy == strategy_mod.INSTANT:
                    raise exception.StrategyUnavailable(
                        '%s refused before any change: the instant strategy '
                        'cannot be used: %s; use --strategy classic or auto'
                        % (step.title, reason))
                step.strategy_reason = reason
            # NOTE: a cluster's write-set limits may leave the fill unable
            # to finish (wsrep_max_ws_size below one row's write set).
            refusal = self.backend.fill_refusal(connection, tables)
        if refusal:
            raise exception.PreflightRefused(
                '%s refused before any change: %s' % (step.title, refusal))

    def _run(self, start, end):
        step = Step(start, end, repository.step_name(max(start, end)))
        self.current = step
        self._choose_strategy(step)
        position = self._preflight(step)
        if self.on_step:
            self.on_step(start, end, step.name)
        step_plan = plan_mod.plan(start, end)
        # NOTE: every operation before the last one done is complete.
        finished = [operation.table for operation in (
            step_plan.operations[:max(step.resumed_after - 1, 0)]
            if step_plan else ()) if operation.kind == 'add_column']
        try:
            with self._timed(step), strategy_mod.using(
                    step.strategy or strategy_mod.CLASSIC, checked=True), \
                    resumable.finished_tables(finished), \
                    resumable.known_tables(preflight.tables_present(
                        position) if position else {}), \
                    progress.reporting(self.on_progress):
                reached = self._apply(end)
        except NotImplementedError as error:
            raise exception.InvalidVersion(
                'cannot go from %d to %d: %s' % (start, end, error))
        except exception.NovaSchemaError:
            raise
        except Exception as error:  # noqa: any failure inside a script
            raise self._failed(step, error)
        if not self.hold_back:
            self._verify_version(reached, end)
        if self.on_step:
            self.on_step(step)
        return step

    def _apply(self, end):
        """Run the script of the step to ``end`` the way oslo.db's
        ``db_sync`` does (sqlalchemy-migrate's changeset and version
        update, oslo.db's sanity check where the backend has one), and
        return the version the row holds afterwards, read back."""
        engine = self.session.engine
        if self.backend.oslo_sanity_check:
            oslo_migration._db_schema_sanity_check(engine)
        schema = repository.controlled_schema(engine)
        changeset = schema.changeset(end)
        for version, change in changeset:
            schema.runchange(version, change, changeset.step)
        if self.backend.oslo_sanity_check:
            oslo_migration._db_schema_sanity_check(engine)
        return schema.version

    @contextlib.contextmanager
    def _timed(self, step):
        began = time.monotonic()
        with self.log.recording() as statements:
            try:
                yield
            finally:
                step.statements = list(statements)
                del statements[:]
                step.seconds = time.monotonic() - began

    def _verify_version(self, found, expected):
        """The version row, read back after the update, must say
        ``expected``, or the step failed."""
        if found != expected:
            raise exception.MigrationFailed(
                'version table of %s says %s after migrating to %d; another '
                'process changed it'
                % (database.describe(self.session.base_engine), found,
                   expected))

    def _failed(self, step, error):
        cause = database.root_cause(error)
        if isinstance(cause, exception.Interrupted) or (
                self.interrupt is not None and self.interrupt.interrupted):
            raise self.interrupt.error()
        if self.backend.is_lock_wait_timeout(cause):
            table = backend_base.statement_table(
                database.failed_statement(error))
            step_plan = plan_mod.plan(step.start, step.end)
            tables = set(plan_mod.touched_tables(step_plan)
                         if step_plan else [])
            raise exception.LockBusy(
                'a lock on table %s' % table if table else 'a table lock',
                usual_holder='an open transaction',
                tables=sorted(tables | ({table} if table else set())))
        detail = database.first_line(cause)
        if self.dry_run:
            outcome = 'nothing was changed (dry run)'
        elif self.session.transactional:
            outcome = 'nothing was changed (the whole run was rolled back)'
        elif step.start is None:
            outcome = ('the database is not under version control; run db '
                       'sync again once the cause is fixed')
        elif self.backend.peer_urls():
            # NOTE: on a cluster the state is read back (from another
            # member when this one is gone), not inferred.
            outcome = readback.state_left(self.session.base_engine,
                                          self.backend)
        else:
            outcome = ('the database is still at %d; once the cause is '
                       'fixed, db sync%s again finishes the step'
                       % (step.start,
                          '' if step.end > step.start else ' %d' % step.end))
        return exception.MigrationFailed('%s failed: %s; %s' % (
            step.title, detail, outcome))
