-- Nova's schema at 233 on PostgreSQL, as pg_dump --schema-only --no-owner gives it (less its SET lines),
-- dumped from a database that migrate_repo built (db sync to 233 on the
-- legacy stack): the tests/functional/test_alembic_read_only.py fixture.
-- tests/functional/test_schema_233_dump.py checks that it still matches
-- what migrate_repo builds.
CREATE TABLE public.compute_nodes (
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    id integer NOT NULL,
    service_id integer NOT NULL,
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    local_gb integer NOT NULL,
    vcpus_used integer NOT NULL,
    memory_mb_used integer NOT NULL,
    local_gb_used integer NOT NULL,
    hypervisor_type text NOT NULL,
    hypervisor_version integer NOT NULL,
    cpu_info text NOT NULL,
    disk_available_least integer,
    free_ram_mb integer,
    free_disk_gb integer,
    current_workload integer,
    running_vms integer,
    hypervisor_hostname character varying(255),
    deleted integer,
    host_ip inet,
    supported_instances text,
    pci_stats text,
    metrics text,
    extra_resources text,
    stats text
);
CREATE SEQUENCE public.compute_nodes_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.compute_nodes_id_seq OWNED BY public.compute_nodes.id;
CREATE TABLE public.migrate_version (
    repository_id character varying(250) NOT NULL,
    repository_path text,
    version integer
);
CREATE TABLE public.services (
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    id integer NOT NULL,
    host character varying(255),
    "binary" character varying(255),
    topic character varying(255),
    report_count integer NOT NULL,
    disabled boolean,
    deleted integer,
    disabled_reason character varying(255)
);
CREATE SEQUENCE public.services_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.services_id_seq OWNED BY public.services.id;
CREATE TABLE public.shadow_compute_nodes (
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    id integer NOT NULL,
    service_id integer NOT NULL,
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    local_gb integer NOT NULL,
    vcpus_used integer NOT NULL,
    memory_mb_used integer NOT NULL,
    local_gb_used integer NOT NULL,
    hypervisor_type text NOT NULL,
    hypervisor_version integer NOT NULL,
    cpu_info text NOT NULL,
    disk_available_least integer,
    free_ram_mb integer,
    free_disk_gb integer,
    current_workload integer,
    running_vms integer,
    hypervisor_hostname character varying(255),
    deleted integer,
    host_ip inet,
    supported_instances text,
    pci_stats text,
    metrics text,
    extra_resources text,
    stats text
);
CREATE SEQUENCE public.shadow_compute_nodes_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.shadow_compute_nodes_id_seq OWNED BY public.shadow_compute_nodes.id;
CREATE TABLE public.shadow_services (
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    deleted_at timestamp without time zone,
    id integer NOT NULL,
    host character varying(255),
    "binary" character varying(255),
    topic character varying(255),
    report_count integer NOT NULL,
    disabled boolean,
    deleted integer,
    disabled_reason character varying(255)
);
CREATE SEQUENCE public.shadow_services_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.shadow_services_id_seq OWNED BY public.shadow_services.id;
ALTER TABLE ONLY public.compute_nodes ALTER COLUMN id SET DEFAULT nextval('public.compute_nodes_id_seq'::regclass);
ALTER TABLE ONLY public.services ALTER COLUMN id SET DEFAULT nextval('public.services_id_seq'::regclass);
ALTER TABLE ONLY public.shadow_compute_nodes ALTER COLUMN id SET DEFAULT nextval('public.shadow_compute_nodes_id_seq'::regclass);
ALTER TABLE ONLY public.shadow_services ALTER COLUMN id SET DEFAULT nextval('public.shadow_services_id_seq'::regclass);
ALTER TABLE ONLY public.compute_nodes
    ADD CONSTRAINT compute_nodes_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.migrate_version
    ADD CONSTRAINT migrate_version_pkey PRIMARY KEY (repository_id);
ALTER TABLE ONLY public.services
    ADD CONSTRAINT services_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.shadow_compute_nodes
    ADD CONSTRAINT shadow_compute_nodes_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.shadow_services
    ADD CONSTRAINT shadow_services_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.services
    ADD CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, "binary", deleted);
ALTER TABLE ONLY public.services
    ADD CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted);
ALTER TABLE ONLY public.compute_nodes
    ADD CONSTRAINT compute_nodes_service_id_fkey FOREIGN KEY (service_id) REFERENCES public.services(id);
