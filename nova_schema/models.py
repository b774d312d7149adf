"""Declarative models of the base tables at the head version (233).

As in Nova's ``nova/db/sqlalchemy/models.py`` of Icehouse: the defaults live
here (the migrations give no column a default) and compute_node_stats is gone,
its contents now held as JSON text in ``compute_nodes.stats``.
"""
from oslo_utils import timeutils
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import orm
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint

from nova_schema.types import InetSmall
from nova_schema.types import MediumText

BASE = orm.declarative_base()


class SoftDeleteMixin(object):
    created_at = Column(DateTime, default=timeutils.utcnow)
    updated_at = Column(DateTime, onupdate=timeutils.utcnow)
    deleted_at = Column(DateTime)
    deleted = Column(Integer, default=0)


class Service(SoftDeleteMixin, BASE):
    __tablename__ = 'services'
    __table_args__ = (
        UniqueConstraint('host', 'topic', 'deleted',
                         name='uniq_services0host0topic0deleted'),
        UniqueConstraint('host', 'binary', 'deleted',
                         name='uniq_services0host0binary0deleted'),
    )

    id = Column(Integer, primary_key=True)
    host = Column(String(255))
    binary = Column(String(255))
    topic = Column(String(255))
    report_count = Column(Integer, nullable=False, default=0)
    disabled = Column(Boolean, default=False)
    disabled_reason = Column(String(255))


class ComputeNode(SoftDeleteMixin, BASE):
    __tablename__ = 'compute_nodes'

    id = Column(Integer, primary_key=True)
    # NOTE: unnamed, as in Nova's model: the database names it per backend
    # (fk_compute_nodes_service_id on MySQL, compute_nodes_service_id_fkey
    # on PostgreSQL).
    service_id = Column(Integer, ForeignKey('services.id'), nullable=False)
    service = orm.relationship(Service, backref=orm.backref('compute_node'))

    vcpus = Column(Integer, nullable=False)
    memory_mb = Column(Integer, nullable=False)
    local_gb = Column(Integer, nullable=False)
    vcpus_used = Column(Integer, nullable=False)
    memory_mb_used = Column(Integer, nullable=False)
    local_gb_used = Column(Integer, nullable=False)
    hypervisor_type = Column(MediumText(), nullable=False)
    hypervisor_version = Column(Integer, nullable=False)
    cpu_info = Column(MediumText(), nullable=False)
    disk_available_least = Column(Integer)
    free_ram_mb = Column(Integer)
    free_disk_gb = Column(Integer)
    current_workload = Column(Integer)
    running_vms = Column(Integer)
    hypervisor_hostname = Column(String(255))
    host_ip = Column(InetSmall())
    supported_instances = Column(Text)
    pci_stats = Column(Text)
    metrics = Column(Text)
    extra_resources = Column(Text)
    # JSON of the compute node's statistics, '{}' for none (migration 233).
    stats = Column(Text, default='{}')
