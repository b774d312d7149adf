"""The step runner behind db_sync: one migration at a time, checked.

Each step runs through oslo.db's ``db_sync`` on the session's engine, and
then the runner reads the version row back: a step whose version update did
not land is an error, not a silent success.
"""
import contextlib
import time

from oslo_db.sqlalchemy import migration as oslo_migration
import sqlalchemy

from nova_schema import capture
from nova_schema import database
from nova_schema import exception
from nova_schema import repository


class Step(object):
    """One migration: ``start -> end`` (start None: version control)."""

    def __init__(self, start, end, name):
        self.start, self.end, self.name = start, end, name
        self.seconds = None
        self.statements = []

    def as_dict(self):
        return {'from': self.start, 'to': self.end, 'name': self.name,
                'seconds': self.seconds, 'statements': self.statements}


class SyncRun(object):

    def __init__(self, session, on_step=None, dry_run=False):
        self.session = session
        self.on_step = on_step
        self.dry_run = dry_run
        # NOTE: MySQL's DDL commits itself, so its dry run cannot roll back;
        # it holds back every change instead, and can then only show one
        # step: the next would reflect a schema that was never changed.
        self.hold_back = dry_run and not session.transactional
        self.log = capture.StatementLog(session.engine, self.hold_back)

    def migrate(self, current, target):
        steps = []
        if current is None:
            steps.append(self._version_control())
            current = repository.INIT_VERSION
            if self.hold_back:
                return steps
        target = repository.head_version() if target is None else target
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
        return steps

    def _version_control(self):
        step = Step(None, repository.INIT_VERSION, 'version_control')
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

    def _run(self, start, end):
        step = Step(start, end, repository.step_name(max(start, end)))
        if self.on_step:
            self.on_step(start, end, step.name)
        try:
            with self._timed(step):
                oslo_migration.db_sync(
                    self.session.engine, repository.REPOSITORY_PATH,
                    version=end, init_version=repository.INIT_VERSION,
                    sanity_check=self.session.engine.name == 'mysql')
        except NotImplementedError as error:
            raise exception.InvalidVersion(
                'cannot go from %d to %d: %s' % (start, end, error))
        except exception.NovaSchemaError:
            raise
        except Exception as error:  # noqa: any failure inside a script
            raise self._failed(step, error)
        if not self.hold_back:
            self._verify_version(end)
        if self.on_step:
            self.on_step(step)
        return step

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

    def _verify_version(self, expected):
        """The version row must say ``expected`` now, or the step failed."""
        with self.session.connect() as connection:
            found = database.read_version_state(connection).version
        if found != expected:
            raise exception.MigrationFailed(
                'version table of %s says %s after migrating to %d; another '
                'process changed it'
                % (database.describe(self.session.base_engine), found,
                   expected))

    def _failed(self, step, error):
        detail = database.first_line(database.root_cause(error))
        if self.dry_run:
            outcome = 'nothing was changed (dry run)'
        elif self.session.transactional:
            outcome = 'nothing was changed (the whole run was rolled back)'
        elif step.start is None:
            outcome = ('the database is not under version control; run db '
                       'sync again once the cause is fixed')
        else:
            outcome = ('the database is still at %d; run db sync again to '
                       'finish the step' % step.start)
        title = ('version control at %d' % step.end if step.start is None
                 else '%d -> %d %s' % (step.start, step.end, step.name))
        return exception.MigrationFailed('%s failed: %s; %s' % (
            title, detail, outcome))
