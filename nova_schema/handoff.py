"""db handoff: a database leaves sqlalchemy-migrate for alembic at 233.

Run under the migration lock (``api.db_handoff``), so that of several
handoffs started together one does the work and the others find it done.
The database is brought to 233 if it is behind (sqlalchemy-migrate's own
steps, as db sync runs them), its schema must then match 233 exactly (as
``db check`` compares it), and alembic's initial revision, which builds
that same schema, is recorded in ``alembic_version``. ``migrate_version``
is left as it is: it says where sqlalchemy-migrate stopped, and ``undo``
only has to drop ``alembic_version`` to give the database back (while it
is still at the initial revision). From then on the presence of our
revision in ``alembic_version`` is what makes every command treat the
database as alembic's.
"""
import collections

import sqlalchemy

from nova_schema import check
from nova_schema import database
from nova_schema import exception
from nova_schema import repository
from nova_schema import revisions

Outcome = collections.namedtuple('Outcome', 'changed message steps')
Outcome.__doc__ = """What a handoff (or its undo) did: ``changed`` False
when it found the work done; ``message`` the line to print; ``steps``
the sqlalchemy-migrate steps run first."""


def read_state(session):
    with session.connect() as connection:
        return database.read_version_state(connection)


def is_alembic_managed(state):
    """True when alembic manages the database with our revisions."""
    return revisions.are_ours(state.alembic_revisions)


def refuse_if_managed(engine, state):
    """AlembicManaged when alembic manages the database ``state`` was read
    from: sqlalchemy-migrate must no longer read or change it."""
    if is_alembic_managed(state):
        raise exception.AlembicManaged(managed_message(engine, state))


def managed_message(engine, state):
    """Why a sqlalchemy-migrate command refuses an alembic database."""
    return ('database %s is managed by alembic (revision %s, %s): '
            'sqlalchemy-migrate versions no longer apply to it; "db sync" '
            'upgrades it with alembic%s' % (
                database.describe(engine), ', '.join(state.alembic_revisions),
                'handed off from sqlalchemy-migrate at %s' % state.version
                if state.version is not None else 'started on alembic',
                '' if state.version is None else
                ' ("db handoff --undo" gives it back while it is at %s)'
                % revisions.INITIAL_REVISION))


def hand_off(session, check_ownership, run_steps):
    """Hand the database of ``session`` off to alembic, once.

    ``check_ownership(engine, state)`` refuses a database that is not this
    repository's; ``run_steps(session, start, end)`` runs the
    sqlalchemy-migrate steps from ``start`` to ``end`` in the session.
    """
    engine = session.base_engine
    target = database.describe(engine)
    state = read_state(session)
    if is_alembic_managed(state):
        return Outcome(False, 'database %s is already at revision %s (%s); '
                       'nothing to do' % (
                           target, ', '.join(state.alembic_revisions),
                           revisions.origin(state.version)), [])
    if state.alembic_revisions:
        raise exception.ForeignDatabase(
            'database %s is at alembic revision %s, which is not one of '
            'nova_schema\'s; refusing to hand it off'
            % (target, ', '.join(state.alembic_revisions)))
    if (state.version is None and not state.empty_row and
            not state.other_repositories and
            not state.tables - {repository.VERSION_TABLE,
                                revisions.VERSION_TABLE}):
        raise exception.HandoffRefused(
            'database %s is empty: there is nothing to hand off; "db sync '
            '--alembic" creates the schema under alembic' % target)
    check_ownership(engine, state)
    steps = []
    if state.version < revisions.HANDOFF_VERSION:
        steps = run_steps(session, state.version, revisions.HANDOFF_VERSION)
    report = check.check(session.engine, revisions.HANDOFF_VERSION)
    if not report.ok:
        raise exception.HandoffRefused(
            'database %s does not have the schema of version %d (%d '
            'difference%s, first: %s; db check lists them); refusing to hand '
            'it off; %s' % (
                target, revisions.HANDOFF_VERSION, len(report.differences),
                '' if len(report.differences) == 1 else 's',
                report.differences[0], _left(session, state, steps)))
    with session.connect() as connection, connection.begin():
        revisions.stamp_initial(connection)
    # NOTE: committed before the lock is released (on MySQL the session's
    # commit is a no-op and the stamp above committed already): a handoff
    # waiting for the lock reads the stamp and does nothing.
    session.commit()
    return Outcome(True, 'database %s handed off to alembic at %d: revision '
                   '%s' % (target, revisions.HANDOFF_VERSION,
                           revisions.INITIAL_REVISION), steps)


def _left(session, state, steps):
    if not steps or session.transactional:
        return 'nothing was changed'
    return ('the database was upgraded to %d first and stays there, under '
            'sqlalchemy-migrate' % revisions.HANDOFF_VERSION)


def undo(session):
    """Give a handed-off database back to sqlalchemy-migrate: drop
    ``alembic_version`` while it still records only the initial revision."""
    engine = session.base_engine
    target = database.describe(engine)
    state = read_state(session)
    if not state.alembic_revisions:
        if revisions.VERSION_TABLE in state.tables and \
                state.version is not None:
            # NOTE: an empty table, as a plain "alembic upgrade" left it
            # before env.py refused one: nothing records a handoff.
            raise exception.HandoffRefused(
                'database %s has an empty alembic_version table but was not '
                'handed off; drop that table by hand' % target)
        raise exception.HandoffRefused(
            'database %s was not handed off to alembic; nothing to undo'
            % target)
    if not is_alembic_managed(state):
        raise exception.ForeignDatabase(
            'database %s is at alembic revision %s, which is not one of '
            'nova_schema\'s; refusing to touch it'
            % (target, ', '.join(state.alembic_revisions)))
    if state.version is None:
        raise exception.HandoffRefused(
            'database %s was started on alembic, never under '
            'sqlalchemy-migrate: there is nothing to give back' % target)
    if state.alembic_revisions != (revisions.INITIAL_REVISION,):
        raise exception.HandoffRefused(
            'database %s is at alembic revision %s, past %s: it can no '
            'longer go back to sqlalchemy-migrate'
            % (target, ', '.join(state.alembic_revisions),
               revisions.INITIAL_REVISION))
    with session.connect() as connection, connection.begin():
        connection.execute(sqlalchemy.text(
            'DROP TABLE %s' % revisions.VERSION_TABLE))
    session.commit()
    return Outcome(True, 'database %s given back to sqlalchemy-migrate at '
                   '%s (alembic_version dropped)' % (target, state.version),
                   [])
