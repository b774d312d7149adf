"""The tables of Nova's schema at version 232 that this project manages.

Shared by the sqlalchemy-migrate baseline (``232_havana_icehouse_baseline``)
and alembic's initial revision, which must build the same tables; plain
SQLAlchemy, valid on 1.4 and 2.0, without sqlalchemy-migrate.
"""
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text

from nova_schema.types import InetSmall
from nova_schema.types import MediumText

BASE_TABLES = ('services', 'compute_nodes', 'compute_node_stats')

# (name, table, columns), in the order Nova created them.
UNIQUE_CONSTRAINTS = (
    ('uniq_services0host0topic0deleted', 'services',
     ('host', 'topic', 'deleted')),
    ('uniq_services0host0binary0deleted', 'services',
     ('host', 'binary', 'deleted')),
)

# (Havana's name on MySQL, table, column, referred table, referred column),
# in the order Nova created them.
FOREIGN_KEYS = (
    ('fk_compute_node_stats_compute_node_id', 'compute_node_stats',
     'compute_node_id', 'compute_nodes', 'id'),
    ('fk_compute_nodes_service_id', 'compute_nodes', 'service_id',
     'services', 'id'),
)


def _timestamps():
    return [Column('created_at', DateTime),
            Column('updated_at', DateTime),
            Column('deleted_at', DateTime)]


def define_services(meta):
    return Table(
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


def define_compute_nodes(meta):
    """compute_nodes as at 232: without 233's ``stats``."""
    return Table(
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


def define_compute_node_stats(meta):
    return Table(
        'compute_node_stats', meta,
        *_timestamps(),
        Column('id', Integer, primary_key=True, nullable=False),
        Column('compute_node_id', Integer, nullable=False),
        Column('key', String(length=255), nullable=False),
        Column('value', String(length=255)),
        Column('deleted', Integer),
        mysql_engine='InnoDB', mysql_charset='utf8')
