"""Realistic rows of Nova's services, compute_nodes and stats tables.

Shared by the tests that seed a database before migrating it.
"""
import datetime

T0 = datetime.datetime(2014, 3, 1, 12, 0, 0)
T1 = datetime.datetime(2014, 3, 2, 8, 30, 15)
T2 = datetime.datetime(2014, 3, 3, 23, 59, 59)

# More than TEXT's 65,535 bytes: only MEDIUMTEXT holds it on MySQL.
LONG_CPU_INFO = '{"features": [%s]}' % ', '.join(
    '"feature-%05d"' % i for i in range(7000))


def service_row(id_, host, topic, deleted=0, **values):
    row = {'id': id_, 'created_at': T0, 'updated_at': T1, 'deleted_at': None,
           'host': host, 'binary': 'nova-' + topic, 'topic': topic,
           'report_count': 10 * id_, 'disabled': False, 'deleted': deleted,
           'disabled_reason': None}
    row.update(values)
    return row


def node_row(id_, service_id, deleted=0, **values):
    row = {'id': id_, 'created_at': T0, 'updated_at': T1, 'deleted_at': None,
           'service_id': service_id, 'vcpus': 16, 'memory_mb': 65536,
           'local_gb': 2000, 'vcpus_used': 4, 'memory_mb_used': 8192,
           'local_gb_used': 80, 'hypervisor_type': 'QEMU',
           'hypervisor_version': 1005003,
           'cpu_info': '{"arch": "x86_64", "model": "Haswell"}',
           'disk_available_least': 1900, 'free_ram_mb': 57344,
           'free_disk_gb': 1920, 'current_workload': 2, 'running_vms': 3,
           'hypervisor_hostname': 'node-%d.example.org' % id_,
           'deleted': deleted, 'host_ip': '192.0.2.%d' % id_,
           'supported_instances': '[["x86_64", "qemu", "hvm"]]',
           'pci_stats': '[]', 'metrics': '[{"name": "cpu.frequency"}]',
           'extra_resources': '{"gpus": 0}'}
    row.update(values)
    return row


def stat_row(id_, node_id, key, value, deleted=0):
    return {'id': id_, 'created_at': T0, 'updated_at': None,
            'deleted_at': T2 if deleted else None, 'deleted': deleted,
            'compute_node_id': node_id, 'key': key, 'value': value}
