"""Idempotent forms of the schema operations migration 233 performs.

On a clean run each helper issues exactly the statements of the plain
sqlalchemy-migrate operation it wraps. When a step is run again after an
interruption that committed part of it (MySQL commits every DDL statement on
its own), a helper only does what is still missing, so the end schema is the
one a clean run gives.
"""
import contextlib
import contextvars

import sqlalchemy
from sqlalchemy import inspect
from sqlalchemy import Table

from nova_schema import backends
from nova_schema import exception
from nova_schema import strategy


_finished = contextvars.ContextVar('nova_schema_finished',
                                   default=frozenset())


@contextlib.contextmanager
def _holding(variable, value):
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)


def finished_tables(names):
    """While inside, ``add_column`` leaves these tables' rows alone: the
    pre-flight check found a later operation of the step done, so their
    column was added and filled before the cut, and a NULL in them now is
    a row inserted since, which a clean run leaves NULL too."""
    return _holding(_finished, frozenset(names))


_known = contextvars.ContextVar('nova_schema_known', default=None)


def known_tables(present):
    """While inside, whether a table in ``present`` ({name: exists})
    exists is taken from it, once, instead of being asked of the server:
    db sync's pre-flight check has just read the step's tables (and holds
    the lock), which saves a catalog query per table the step drops or
    creates."""
    return _holding(_known, dict(present))


def has_table(migrate_engine, name):
    known = _known.get()
    if known is not None and name in known:
        # NOTE: once: the step is about to change it.
        return known.pop(name)
    return inspect(migrate_engine).has_table(name)


def reflect(meta, name, only=None):
    """``name`` reflected into ``meta`` for an ALTER of one of its columns.

    Where the backend alters a table in place, its columns (reflected by
    SQLAlchemy's own code) are all the statements need, and of those only
    the ones in ``only`` when given: ADD COLUMN, DROP COLUMN and the
    fill's UPDATE name no other (a reflected column has no Python-side
    default or onupdate that could add itself to the UPDATE). Where the
    ALTER rebuilds the table (sqlalchemy-migrate's DROP COLUMN on SQLite),
    the whole table is reflected. The statements are the same either way.

    NOTE: a full reflection was 12 catalog queries per table on
    PostgreSQL (one here), and most of a light step's own cost; making a
    Column of each of compute_nodes' 26 columns was 7 ms of the CPU of a
    MySQL run.
    """
    bind = meta.bind
    backend = backends.get(bind)
    if backend.alter_rebuilds_table:
        return Table(name, meta, autoload=True, resolve_fks=False)
    table = Table(name, meta)
    with bind.connect() as connection:
        inspector = inspect(connection)
        for column in backend.reflected_columns(connection, name):
            if only is not None and column['name'] not in only:
                continue
            # NOTE: private, but exactly what Table(autoload=True) does
            # with each column (types, server defaults, identity...).
            inspector._reflect_column(table, column, None, (), {})
    return table


def drop_table(meta, name):
    """Drop ``name`` unless an earlier run dropped it already.

    Nova's script reflected the table first; DROP TABLE needs only its name,
    and reflecting compute_node_stats (and, through its foreign key,
    compute_nodes and services) was most of the step's own cost.
    """
    if has_table(meta.bind, name):
        Table(name, meta).drop()


def add_column(table, column):
    """``table.create_column(column)``, or finish what a cut run began.

    sqlalchemy-migrate adds the column and then writes its Python default
    into every row; a run cut between the two leaves NULLs, filled here.
    Where the backend fills in batches (a Galera node: one UPDATE of every
    row would be one huge write set) the column is added without the
    fill, and the backend's ``fill`` writes the default in committed
    batches; a cut fill leaves NULLs in the rows it had not reached,
    filled the same way here.
    With the instant strategy (``nova_schema.strategy``) the column is
    added with that default as a server default, which the existing rows
    take without being rewritten, and the server default is then dropped;
    a run cut between those two leaves the server default, dropped here.
    """
    default = column.default.arg if column.default is not None else None
    bind = table.bind
    backend = backends.get(bind)
    if column.name not in table.c:
        if default is not None and _instant(bind, table.name):
            for statement in backend.instant_add_column(
                    bind.dialect, table.name, column, default):
                bind.execute(sqlalchemy.text(statement))
        elif default is not None and backend.fills_in_batches(bind):
            column.create(table, populate_default=False)
            backend.fill(bind, table.name, column.name, default)
        else:
            table.create_column(column)
        return
    if table.name in _finished.get():
        return
    existing = table.c[column.name]
    if default is not None and backend.fills_in_batches(bind):
        backend.fill(bind, table.name, column.name, default)
    elif default is not None:
        table.update().where(existing.is_(None)).values(
            {existing: default}).execute()
    if existing.server_default is not None:
        for statement in backends.get(bind).drop_server_default(
                bind.dialect, table.name, column.name):
            bind.execute(sqlalchemy.text(statement))


def _instant(bind, table_name):
    """Whether the strategy in force adds ``table_name``'s column instantly.

    ``auto`` falls back to classic where the server or table cannot;
    ``instant`` refuses there (db sync has refused before the step began;
    this is for sqlalchemy-migrate's own shell and API).
    """
    name = strategy.in_force()
    if name == strategy.CLASSIC:
        return False
    if strategy.checked():
        # NOTE: db sync chose instant for this step having asked the
        # server about every table it adds a column to.
        return name == strategy.INSTANT
    with bind.connect() as connection:
        reason = backends.get(bind).instant_unavailable(connection,
                                                        [table_name])
    if reason and name == strategy.INSTANT:
        raise exception.StrategyUnavailable(
            'the instant strategy cannot be used: %s' % reason)
    return reason is None


def drop_column(table, name):
    if name in table.c:
        table.drop_column(name)


def create_table(table):
    """Create ``table`` and its indexes, or the indexes a cut run missed.

    ``Table.create()`` would emit the CREATE INDEX statements in the order of
    a set; they are created here by name, so that the same database always
    gets the same statements (and a dry run can predict them).
    """
    bind = table.bind
    indexes = sorted(table.indexes, key=lambda index: index.name)
    if not has_table(bind, table.name):
        table.indexes = set()
        try:
            table.create()
        finally:
            table.indexes = set(indexes)
        present = set()
    else:
        present = {index['name']
                   for index in inspect(bind).get_indexes(table.name)}
    for index in indexes:
        if index.name not in present:
            index.create(bind)
