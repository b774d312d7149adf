"""The whole schema of a database as each backend keeps it, for comparing
two databases that must be identical (an alembic-built one, a
migrate_repo-built one, a handed-off one).

Beyond ``tests.base.describe_schema`` (reflection: columns, keys, indexes,
constraints, MySQL engine and charset), what the server itself stores:
SQLite's DDL text (``sqlite_master``), MySQL's ``SHOW CREATE TABLE`` and the
database's default character set, PostgreSQL's constraint and index
definitions and its sequences. Plain SQLAlchemy (1.4 and 2.0).
"""
import re

import sqlalchemy

from tests import base

VERSION_TABLES = ('migrate_version', 'alembic_version')


def _tables(engine, skip):
    return [name for name in sqlalchemy.inspect(engine).get_table_names()
            if name not in skip]


def server_ddl(engine, skip=VERSION_TABLES):
    """What the server stores about every table not in ``skip``."""
    tables = _tables(engine, skip)
    with engine.connect() as conn:
        if engine.dialect.name == 'sqlite':
            return {'sqlite_master': sorted(
                tuple(row) for row in conn.execute(sqlalchemy.text(
                    'SELECT type, name, tbl_name, sql FROM sqlite_master'))
                if row[2] in tables)}
        if engine.dialect.name == 'mysql':
            ddl = {name: re.sub(r' AUTO_INCREMENT=\d+', '', conn.execute(
                sqlalchemy.text('SHOW CREATE TABLE `%s`' % name)).one()[1])
                for name in tables}
            ddl['database default'] = tuple(conn.execute(sqlalchemy.text(
                'SELECT @@character_set_database, @@collation_database'
            )).one())
            return ddl
        return {
            'constraints': sorted(tuple(row) for row in conn.execute(
                sqlalchemy.text(
                    "SELECT CAST(conrelid AS regclass)::text, conname, "
                    "pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                    "connamespace = 'public'::regnamespace"))
                if row[0] in tables),
            'indexes': sorted(tuple(row) for row in conn.execute(
                sqlalchemy.text(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public'")) if row[0] in tables),
            'sequences': sorted(tuple(row) for row in conn.execute(
                sqlalchemy.text(
                    "SELECT s.sequencename, s.data_type::text, d.refobjid::"
                    "regclass::text FROM pg_sequences s JOIN pg_class c ON "
                    "c.relname = s.sequencename JOIN pg_depend d ON d.objid "
                    "= c.oid AND d.deptype = 'a' WHERE s.schemaname = "
                    "'public'")) if row[2] in tables),
        }


def full_schema(engine, skip=VERSION_TABLES):
    """Reflection and server DDL of every table not in ``skip``."""
    reflected = {name: description for name, description
                 in base.describe_schema(engine).items() if name not in skip}
    return {'reflected': reflected, 'server': server_ddl(engine, skip)}


def version_table_options(engine):
    """alembic_version's SHOW CREATE TABLE on MySQL (its charset), else
    its reflection."""
    if engine.dialect.name == 'mysql':
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                'SHOW CREATE TABLE alembic_version')).one()[1]
    return base.describe_table(engine, 'alembic_version')


def alembic_revisions(engine):
    """alembic_version's rows, or None without the table."""
    if not sqlalchemy.inspect(engine).has_table('alembic_version'):
        return None
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sqlalchemy.text(
            'SELECT version_num FROM alembic_version'))]
