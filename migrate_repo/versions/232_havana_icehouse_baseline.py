"""Baseline: services, compute_nodes, compute_node_stats as at Nova 232.

A compacted baseline in the manner of Nova's 216_havana: it creates, per
backend, exactly the part of Nova's schema at version 232 that migration 233
needs, in the order Nova's scripts did it (tables, unique constraints,
indexes, foreign keys, MySQL character sets, then shadow tables reflected
from the base tables). It cannot be downgraded.
"""
from migrate import ForeignKeyConstraint
from migrate import UniqueConstraint
from sqlalchemy import Index
from sqlalchemy import MetaData

from nova_schema import baseline
from nova_schema import shadow

BASE_TABLES = baseline.BASE_TABLES


def _define_tables(meta):
    return (baseline.define_services(meta),
            baseline.define_compute_nodes(meta),
            baseline.define_compute_node_stats(meta))


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    services, compute_nodes, compute_node_stats = _define_tables(meta)
    for table in (services, compute_nodes, compute_node_stats):
        table.create()

    tables = {table.name: table
              for table in (services, compute_nodes, compute_node_stats)}
    for name, table, columns in baseline.UNIQUE_CONSTRAINTS:
        UniqueConstraint(*columns, table=tables[table], name=name).create()

    Index('ix_compute_node_stats_compute_node_id',
          compute_node_stats.c.compute_node_id).create(migrate_engine)
    Index('compute_node_stats_node_id_and_deleted_idx',
          compute_node_stats.c.compute_node_id,
          compute_node_stats.c.deleted).create(migrate_engine)

    # NOTE: MySQL's foreign keys carry Havana's names; PostgreSQL's are left
    # unnamed so that it names them <table>_<column>_fkey; SQLite gets none.
    if migrate_engine.name in ('mysql', 'postgresql'):
        for mysql_name, table, column, referred, referred_column in (
                baseline.FOREIGN_KEYS):
            name = mysql_name if migrate_engine.name == 'mysql' else None
            ForeignKeyConstraint(
                columns=[tables[table].c[column]],
                refcolumns=[tables[referred].c[referred_column]],
                name=name).create()

    if migrate_engine.name == 'mysql':
        migrate_engine.execute(
            'ALTER TABLE migrate_version CONVERT TO CHARACTER SET utf8')
        migrate_engine.execute(
            'ALTER DATABASE `%s` DEFAULT CHARACTER SET utf8'
            % migrate_engine.url.database)

    for name in BASE_TABLES:
        shadow.create_shadow_table(migrate_engine, name)


def downgrade(migrate_engine):
    raise NotImplementedError(
        'Version 232 is the baseline of this repository; it cannot be '
        'downgraded (Nova never supported going below it either).')
