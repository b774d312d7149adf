"""Baseline: services, compute_nodes, compute_node_stats as at Nova 232.

A compacted baseline in the manner of Nova's 216_havana: it creates, per
backend, exactly the part of Nova's schema at version 232 that migration 233
needs, in the order Nova's scripts did it (tables, unique constraints,
indexes, foreign keys, MySQL character sets, then shadow tables reflected
from the base tables). It cannot be downgraded.
"""
from migrate import ForeignKeyConstraint
from migrate import UniqueConstraint
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text

from nova_schema import shadow
from nova_schema.types import InetSmall
from nova_schema.types import MediumText

BASE_TABLES = ('services', 'compute_nodes', 'compute_node_stats')


def _timestamps():
    return [Column('created_at', DateTime),
            Column('updated_at', DateTime),
            Column('deleted_at', DateTime)]


def _define_tables(meta):
    services = Table(
        'services', meta,
        *_timestamps(),
        Column('id', Integer, primary_key=True, nullable=False),
        Column('host', String(length=255)),
        Column('binary', String(length=255)),
        Column('topic', String(length=255)),
        Column('report_count', Integer, nullable=False),
        Column('disabled', Boolean),
        Column('deleted', Integer),
        Column('disabled_reason', String(length=255)),
        mysql_engine='InnoDB', mysql_charset='utf8')

    compute_nodes = Table(
        'compute_nodes', meta,
        *_timestamps(),
        Column('id', Integer, primary_key=True, nullable=False),
        Column('service_id', Integer, nullable=False),
        Column('vcpus', Integer, nullable=False),
        Column('memory_mb', Integer, nullable=False),
        Column('local_gb', Integer, nullable=False),
        Column('vcpus_used', Integer, nullable=False),
        Column('memory_mb_used', Integer, nullable=False),
        Column('local_gb_used', Integer, nullable=False),
        Column('hypervisor_type', MediumText(), nullable=False),
        Column('hypervisor_version', Integer, nullable=False),
        Column('cpu_info', MediumText(), nullable=False),
        Column('disk_available_least', Integer),
        Column('free_ram_mb', Integer),
        Column('free_disk_gb', Integer),
        Column('current_workload', Integer),
        Column('running_vms', Integer),
        Column('hypervisor_hostname', String(length=255)),
        Column('deleted', Integer),
        Column('host_ip', InetSmall()),
        Column('supported_instances', Text),
        Column('pci_stats', Text),
        Column('metrics', Text),
        Column('extra_resources', Text),
        mysql_engine='InnoDB', mysql_charset='utf8')

    compute_node_stats = Table(
        'compute_node_stats', meta,
        *_timestamps(),
        Column('id', Integer, primary_key=True, nullable=False),
        Column('compute_node_id', Integer, nullable=False),
        Column('key', String(length=255), nullable=False),
        Column('value', String(length=255)),
        Column('deleted', Integer),
        mysql_engine='InnoDB', mysql_charset='utf8')
    return services, compute_nodes, compute_node_stats


def upgrade(migrate_engine):
    meta = MetaData(bind=migrate_engine)
    services, compute_nodes, compute_node_stats = _define_tables(meta)
    for table in (services, compute_nodes, compute_node_stats):
        table.create()

    UniqueConstraint('host', 'topic', 'deleted', table=services,
                     name='uniq_services0host0topic0deleted').create()
    UniqueConstraint('host', 'binary', 'deleted', table=services,
                     name='uniq_services0host0binary0deleted').create()

    Index('ix_compute_node_stats_compute_node_id',
          compute_node_stats.c.compute_node_id).create(migrate_engine)
    Index('compute_node_stats_node_id_and_deleted_idx',
          compute_node_stats.c.compute_node_id,
          compute_node_stats.c.deleted).create(migrate_engine)

    # NOTE: MySQL's foreign keys carry Havana's names; PostgreSQL's are left
    # unnamed so that it names them <table>_<column>_fkey; SQLite gets none.
    foreign_keys = [
        (compute_node_stats.c.compute_node_id, compute_nodes.c.id,
         'fk_compute_node_stats_compute_node_id'),
        (compute_nodes.c.service_id, services.c.id,
         'fk_compute_nodes_service_id'),
    ]
    if migrate_engine.name in ('mysql', 'postgresql'):
        for column, referred, mysql_name in foreign_keys:
            name = mysql_name if migrate_engine.name == 'mysql' else None
            ForeignKeyConstraint(columns=[column], refcolumns=[referred],
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
