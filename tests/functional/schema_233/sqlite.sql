-- Nova's schema at 233 on SQLite, as sqlite_master holds it,
-- dumped from a database that migrate_repo built (db sync to 233 on the
-- legacy stack): the tests/functional/test_alembic_read_only.py fixture.
-- tests/functional/test_schema_233_dump.py checks that it still matches
-- what migrate_repo builds.
CREATE TABLE migrate_version (
	repository_id VARCHAR(250) NOT NULL, 
	repository_path TEXT, 
	version INTEGER, 
	PRIMARY KEY (repository_id)
);
CREATE TABLE compute_nodes (
	created_at DATETIME, 
	updated_at DATETIME, 
	deleted_at DATETIME, 
	id INTEGER NOT NULL, 
	service_id INTEGER NOT NULL, 
	vcpus INTEGER NOT NULL, 
	memory_mb INTEGER NOT NULL, 
	local_gb INTEGER NOT NULL, 
	vcpus_used INTEGER NOT NULL, 
	memory_mb_used INTEGER NOT NULL, 
	local_gb_used INTEGER NOT NULL, 
	hypervisor_type TEXT NOT NULL, 
	hypervisor_version INTEGER NOT NULL, 
	cpu_info TEXT NOT NULL, 
	disk_available_least INTEGER, 
	free_ram_mb INTEGER, 
	free_disk_gb INTEGER, 
	current_workload INTEGER, 
	running_vms INTEGER, 
	hypervisor_hostname VARCHAR(255), 
	deleted INTEGER, 
	host_ip VARCHAR(39), 
	supported_instances TEXT, 
	pci_stats TEXT, 
	metrics TEXT, 
	extra_resources TEXT, stats TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE services (
	created_at DATETIME, 
	updated_at DATETIME, 
	deleted_at DATETIME, 
	id INTEGER NOT NULL, 
	host VARCHAR(255), 
	binary VARCHAR(255), 
	topic VARCHAR(255), 
	report_count INTEGER NOT NULL, 
	disabled BOOLEAN, 
	deleted INTEGER, 
	disabled_reason VARCHAR(255), 
	PRIMARY KEY (id), 
	CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted), 
	CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, binary, deleted)
);
CREATE TABLE shadow_services (
	created_at DATETIME, 
	updated_at DATETIME, 
	deleted_at DATETIME, 
	id INTEGER NOT NULL, 
	host VARCHAR(255), 
	binary VARCHAR(255), 
	topic VARCHAR(255), 
	report_count INTEGER NOT NULL, 
	disabled BOOLEAN, 
	deleted INTEGER, 
	disabled_reason VARCHAR(255), 
	PRIMARY KEY (id)
);
CREATE TABLE shadow_compute_nodes (
	created_at DATETIME, 
	updated_at DATETIME, 
	deleted_at DATETIME, 
	id INTEGER NOT NULL, 
	service_id INTEGER NOT NULL, 
	vcpus INTEGER NOT NULL, 
	memory_mb INTEGER NOT NULL, 
	local_gb INTEGER NOT NULL, 
	vcpus_used INTEGER NOT NULL, 
	memory_mb_used INTEGER NOT NULL, 
	local_gb_used INTEGER NOT NULL, 
	hypervisor_type TEXT NOT NULL, 
	hypervisor_version INTEGER NOT NULL, 
	cpu_info TEXT NOT NULL, 
	disk_available_least INTEGER, 
	free_ram_mb INTEGER, 
	free_disk_gb INTEGER, 
	current_workload INTEGER, 
	running_vms INTEGER, 
	hypervisor_hostname VARCHAR(255), 
	deleted INTEGER, 
	host_ip VARCHAR(39), 
	supported_instances TEXT, 
	pci_stats TEXT, 
	metrics TEXT, 
	extra_resources TEXT, stats TEXT, 
	PRIMARY KEY (id)
);
