"""A complete, comparable description of a live schema, as plain data.

Everything ``db check`` compares and the tests assert on: per table, its
columns in order (type as the backend renders it, nullability, server
default, autoincrement), primary key, foreign keys, indexes and unique
constraints with their names, and on MySQL the engine and collation.
JSON-serialisable, with lists sorted wherever the order carries no meaning.
"""
import sqlalchemy

from nova_schema import repository


def _type(column_type, dialect):
    try:
        return str(column_type.compile(dialect=dialect))
    except Exception:  # noqa: NullType and friends have no DDL form
        return repr(column_type)


def describe_columns(reflected, dialect):
    return [{'name': column['name'],
             'type': _type(column['type'], dialect),
             'nullable': bool(column['nullable']),
             # NOTE: AUTO_INCREMENT and serial reflect as True; SQLite's
             # rowid alias cannot be told apart and reflects as 'auto'.
             'autoincrement': column.get('autoincrement') is True,
             'default': (str(column['default'])
                         if column.get('default') is not None else None)}
            for column in reflected]


def _foreign_keys(reflected):
    return sorted(
        ({'name': fk.get('name'),
          'columns': fk['constrained_columns'],
          'referred_table': fk['referred_table'],
          'referred_columns': fk['referred_columns']}
         for fk in reflected),
        key=lambda fk: (fk['name'] or '', fk['columns']))


def _indexes(reflected):
    return sorted(
        ({'name': index['name'], 'columns': index['column_names'],
          'unique': bool(index['unique'])}
         for index in reflected),
        key=lambda index: index['name'] or '')


def _unique_constraints(reflected):
    return sorted(
        ({'name': unique['name'], 'columns': unique['column_names']}
         for unique in reflected),
        key=lambda unique: unique['name'] or '')


def table_description(dialect, columns, primary_key, foreign_keys, indexes,
                      unique_constraints, options=None):
    """A table's description from what SQLAlchemy's Inspector returns for
    it (``get_columns``, ``get_pk_constraint``, ...: the same shapes), and
    its backend's table options."""
    description = {
        'columns': describe_columns(columns, dialect),
        'primary_key': {'name': primary_key.get('name'),
                        'columns': primary_key['constrained_columns']},
        'foreign_keys': _foreign_keys(foreign_keys),
        'indexes': _indexes(indexes),
        'unique_constraints': _unique_constraints(unique_constraints),
    }
    if options is not None:
        description['options'] = options
    return description


def describe_table(connection, backend, table, inspector=None,
                   options=None):
    """``table`` described through SQLAlchemy's Inspector, with its
    backend's table options (read unless given as ``options``)."""
    inspector = inspector or sqlalchemy.inspect(connection)
    # NOTE: read columns first: SQLAlchemy 1.4's SQLite get_pk_constraint
    # sorts the inspector's cached column list in place.
    columns = describe_columns(inspector.get_columns(table),
                               connection.dialect)
    description = table_description(
        connection.dialect, [], inspector.get_pk_constraint(table),
        inspector.get_foreign_keys(table), inspector.get_indexes(table),
        inspector.get_unique_constraints(table),
        options if options is not None
        else backend.table_options(connection, table))
    description['columns'] = columns
    return description


def describe_schema(connection, backend, only=None):
    """Every table but the version table (or those in ``only``), by name."""
    inspector = sqlalchemy.inspect(connection)
    return {name: describe_table(connection, backend, name, inspector)
            for name in sorted(inspector.get_table_names())
            if name != repository.VERSION_TABLE and
            (only is None or name in only)}
