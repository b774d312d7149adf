"""Replace compute_node_stats with a JSON-as-Text stats column.

Nova 2014.1 (Icehouse), 233_add_stats_in_compute_nodes. Upgrade drops
compute_node_stats and shadow_compute_node_stats (their rows were transient
and are not copied) and adds ``stats`` Text with the Python default '{}' to
compute_nodes and shadow_compute_nodes, which sqlalchemy-migrate writes into
every existing row. Downgrade drops ``stats`` and recreates both stats
tables empty, with the shape Nova's downgrade gave them: compute_node_stats
has no primary key and a nullable compute_node_id.

Each operation is idempotent (nova_schema.resumable), so a step cut short on
MySQL can be run again; a clean run issues the same statements as Nova's.
"""
from oslo_utils import timeutils
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text

from nova_schema import resumable

STATS_TABLES = ('compute_node_stats', 'shadow_compute_node_stats')
NODE_TABLES = ('compute_nodes', 'shadow_compute_nodes')


def upgrade(migrate_engine):
    meta = MetaData()
    meta.bind = migrate_engine

    for table_name in STATS_TABLES:
        resumable.drop_table(meta, table_name)

    for table_name in NODE_TABLES:
        resumable.add_column(resumable.reflect(meta, table_name,
                                               only=('stats',)),
                             Column('stats', Text, default='{}'))


def _stats_columns():
    return [
        Column('created_at', DateTime, default=timeutils.utcnow),
        Column('updated_at', DateTime, onupdate=timeutils.utcnow),
        Column('deleted_at', DateTime),
        Column('deleted', Integer, default=0),
    ]


def downgrade(migrate_engine):
    meta = MetaData()
    meta.bind = migrate_engine

    # NOTE: compute_node_stats' foreign key below refers to the id column
    # of the compute_nodes reflected here.
    for table_name in NODE_TABLES:
        resumable.drop_column(resumable.reflect(meta, table_name,
                                                only=('id', 'stats')),
                              'stats')

    if migrate_engine.name == 'mysql':
        fk_name = 'fk_compute_node_stats_compute_node_id'
    else:
        fk_name = 'compute_node_stats_compute_node_id_fkey'

    compute_node_stats = Table(
        'compute_node_stats', meta,
        *_stats_columns(),
        Column('id', Integer, nullable=False),
        Column('key', String(255), nullable=False),
        Column('value', String(255), nullable=True),
        Column('compute_node_id', Integer,
               ForeignKey('compute_nodes.id', name=fk_name),
               index=True),
        Index('compute_node_stats_node_id_and_deleted_idx',
              'compute_node_id', 'deleted'),
        mysql_engine='InnoDB',
        mysql_charset='utf8')
    resumable.create_table(compute_node_stats)

    # NOTE: the shadow table has the primary key the base table lacks, and
    # no foreign key or index, exactly as Nova's downgrade made it.
    shadow_compute_node_stats = Table(
        'shadow_compute_node_stats', meta,
        *_stats_columns(),
        Column('id', Integer, primary_key=True, nullable=False),
        Column('key', String(255), nullable=False),
        Column('value', String(255), nullable=True),
        Column('compute_node_id', Integer),
        mysql_engine='InnoDB',
        mysql_charset='utf8')
    resumable.create_table(shadow_compute_node_stats)
