"""Alembic's side: the environment in ``nova_schema/migrations``, read and
run on one connection.

Plain SQLAlchemy (1.4 and 2.0) and alembic: nothing here imports
sqlalchemy-migrate or oslo.db, so a handed-off or alembic-born database is
managed without them. ``run_environment`` is what ``env.py`` runs, for
nova_schema's API (which hands it a connection under the migration lock)
and for the plain ``alembic`` command (which gets the lock and the checks
here).
"""
import collections
import functools
import os
import sys
import time

from nova_schema import database
from nova_schema import exception
from nova_schema.migrations import ALEMBIC_INI
from nova_schema.migrations import MIGRATIONS_PATH
from nova_schema import repository

VERSION_TABLE = database.ALEMBIC_VERSION_TABLE
INITIAL_REVISION = '233_initial'
# The sqlalchemy-migrate version whose schema the initial revision builds:
# the only one a database can be handed off at.
HANDOFF_VERSION = 233
URL_ARGUMENT = 'url'
ENV_CONNECTION = 'OS_DATABASE__CONNECTION'
MANAGER = 'alembic'

Applied = collections.namedtuple('Applied', 'start end name seconds')
Applied.__doc__ = 'A revision an upgrade applied (``start`` None: base).'


def config(connection=None, on_version_apply=None):
    from alembic.config import Config
    alembic_config = Config(ALEMBIC_INI)
    alembic_config.set_main_option('script_location', MIGRATIONS_PATH)
    alembic_config.attributes['connection'] = connection
    alembic_config.attributes['on_version_apply'] = on_version_apply
    return alembic_config


@functools.lru_cache(maxsize=None)
def script_directory():
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(config())


def revision_ids():
    return {script.revision
            for script in script_directory().walk_revisions()}


def are_ours(revisions):
    """True when every revision recorded is one of this environment's."""
    return bool(revisions) and set(revisions) <= revision_ids()


def head():
    return script_directory().get_current_head()


def describe(revisions, version):
    """'233_initial (alembic, handed off from sqlalchemy-migrate at 233)'."""
    return '%s (%s)' % (', '.join(revisions), origin(version))


def origin(version):
    """How alembic came to manage a database: 'alembic, started on
    alembic' or 'alembic, handed off from sqlalchemy-migrate at 233'."""
    if version is None:
        return 'alembic, started on alembic'
    return 'alembic, handed off from sqlalchemy-migrate at %s' % version


def history(current):
    """[{version, name, description, current}], oldest first."""
    entries = []
    for script in reversed(list(script_directory().walk_revisions())):
        lines = (script.doc or '').strip().splitlines()
        entries.append({'version': script.revision,
                        'name': _name(script),
                        'description': lines[0] if lines else '',
                        'current': script.revision in current,
                        'managed_by': MANAGER})
    return entries


def _name(script):
    """'initial' for versions/233_initial.py, as migrate_repo's names."""
    name = os.path.splitext(os.path.basename(script.path))[0]
    return name.split('_', 1)[-1]


def upgrade(connection, target='head'):
    """Upgrade the database ``connection`` is on; [Applied], in order."""
    from alembic import command
    applied = []
    started = [time.monotonic()]

    def on_version_apply(ctx, step, heads, run_args):
        now = time.monotonic()
        script = script_directory().get_revision(step.up_revision_id)
        applied.append(Applied(
            step.down_revision_ids[0] if step.down_revision_ids else None,
            step.up_revision_id, _name(script), now - started[0]))
        started[0] = now

    command.upgrade(config(connection, on_version_apply), target)
    return applied


def stamp_initial(connection):
    """Record the initial revision; creates ``alembic_version``."""
    from alembic.runtime.migration import MigrationContext
    context = MigrationContext.configure(connection)
    context.stamp(script_directory(), INITIAL_REVISION)


# -- env.py -------------------------------------------------------------------

def run_environment(context):
    """What env.py does.

    Given a connection by nova_schema's API, which holds the migration
    lock and has checked the database, it runs the migrations on it. Run
    by the ``alembic`` command, it takes the URL from ``-x url=`` or
    ``OS_DATABASE__CONNECTION``, the migration lock, and refuses a
    database this environment must not touch (one under sqlalchemy-migrate
    control that was not handed off, above all) before alembic creates
    anything; every refusal and failure is one ``FAILED:`` line.
    """
    from alembic.util import CommandError
    given = context.config.attributes.get('connection')
    if given is not None:
        _run_on(context, given)
        return
    if context.is_offline_mode():
        raise CommandError(
            'offline (--sql) mode is not supported: the initial revision '
            'reflects the base tables to make their shadow tables')
    if context.config.config_file_name:
        import logging.config
        logging.config.fileConfig(context.config.config_file_name,
                                  disable_existing_loggers=False)
    url = (context.get_x_argument(as_dictionary=True).get(URL_ARGUMENT) or
           os.environ.get(ENV_CONNECTION))
    if not url:
        raise CommandError(
            'no database URL: give -x %s=URL or set %s'
            % (URL_ARGUMENT, ENV_CONNECTION))
    try:
        _run_locked(context, url)
    except exception.NovaSchemaError as error:
        raise CommandError(str(error))
    except (database.CONNECTION_ERRORS + database.DBAPI_ERRORS) as error:
        raise CommandError(database.first_line(database.root_cause(error)))
    except Exception as error:  # noqa: one line where a user can act on it
        explained = database.explain(error)
        if explained is None:
            raise
        raise CommandError(explained)


def _run_locked(context, url):
    # NOTE: imported here: api needs this module.
    from nova_schema import api
    from nova_schema import masking
    masking.register_url(url)
    engine = database.get_engine(url, must_exist=_reads_only(context))

    def work(session):
        with session.connect() as connection:
            state = database.read_version_state(connection)
        refuse_unless_alembic_may_run(session.base_engine, state)
        with session.engine.connect() as connection:
            _run_on(context, connection)
        session.commit()

    def say(message):
        print('alembic: %s' % masking.mask(message), file=sys.stderr,
              flush=True)

    try:
        api.with_migration_lock(engine, work, on_wait=say,
                                doing='during alembic %s' % _command(context))
    finally:
        engine.dispose()


def _command(context):
    """The alembic command being run: 'upgrade', 'current'..."""
    options = getattr(context.config, 'cmd_opts', None)
    command = getattr(options, 'cmd', None)
    return command[0].__name__ if command else 'command'


def _reads_only(context):
    return _command(context) in ('current', 'check', 'heads', 'history')


def refuse_unless_alembic_may_run(engine, state):
    """Raise unless this environment may run on a database in ``state``:
    one it manages, or an empty one (which it may build)."""
    target = database.describe(engine)
    if state.alembic_revisions:
        if are_ours(state.alembic_revisions):
            return
        raise exception.ForeignDatabase(
            'database %s is at alembic revision %s, which is not one of '
            'nova_schema\'s; refusing to touch it'
            % (target, ', '.join(state.alembic_revisions)))
    if (state.version is not None or state.empty_row or
            state.other_repositories or
            repository.VERSION_TABLE in state.tables):
        raise exception.NotHandedOff(
            'database %s is under sqlalchemy-migrate control%s and was not '
            'handed off to alembic; run "nova-schema-manage db handoff" '
            'first; alembic changed nothing'
            % (target, '' if state.version is None else
               " (repository %r at %s)" % (repository.REPOSITORY_ID,
                                           state.version)))
    others = state.tables - {VERSION_TABLE}
    if others:
        raise exception.NotControlled(
            'database %s has tables (%s) but no alembic revision; refusing '
            'to build the schema inside it'
            % (target, ', '.join(sorted(others)[:5])))


def _include_object(backend):
    """What ``alembic check`` compares: the base tables, as Nova's schema
    has them on this backend (shadow tables have no models, in Nova
    either; SQLite has no foreign keys)."""
    skipped = {repository.VERSION_TABLE, repository.LOCK_TABLE,
               VERSION_TABLE}

    def include(object_, name, type_, reflected, compare_to):
        if type_ == 'table':
            return name not in skipped and not name.startswith('shadow_')
        if type_ == 'foreign_key_constraint':
            return backend.legacy_foreign_keys
        return True
    return include


def _run_on(context, connection):
    from nova_schema import backends
    from nova_schema import models
    backend = backends.backend_class(connection.dialect.name)(
        connection.engine)
    callback = context.config.attributes.get('on_version_apply')
    context.configure(
        connection=connection, target_metadata=models.BASE.metadata,
        include_object=_include_object(backend),
        on_version_apply=[callback] if callback else [])
    with context.begin_transaction():
        context.run_migrations()
