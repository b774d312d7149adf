"""The schema of sqlalchemy-migrate version 233, as migrate_repo leaves it.

Revision ID: 233_initial
Revises: (none: the first revision)

A database handed off from sqlalchemy-migrate at 233 is stamped with this
revision (``nova-schema-manage db handoff``); an empty one is built by it
(``db sync --alembic``). It builds exactly what the baseline (232) and 233
leave, per backend, in their order: the base tables (the unique constraints
of ``services`` in its CREATE TABLE, as sqlalchemy-migrate's SQLite rebuild
left them), the foreign keys (Havana's names on MySQL, the server's on
PostgreSQL, none on SQLite), MySQL's utf8 for the version table and the
database default, the shadow tables reflected from the base tables, then
233's ``stats`` added by ALTER TABLE to compute_nodes and its shadow table
(so that SQLite's stored DDL text is the same too).
"""
from alembic import op
from alembic.util import CommandError
import sqlalchemy as sa

from nova_schema import backends
from nova_schema import baseline
from nova_schema import shadow

revision = '233_initial'
down_revision = None
branch_labels = None
depends_on = None

# compute_node_stats is gone at 233: only these and their shadow tables.
TABLES = ('compute_nodes', 'services')
STATS_TABLES = ('compute_nodes', 'shadow_compute_nodes')


def upgrade():
    bind = op.get_bind()
    backend = backends.backend_class(bind.dialect.name)(bind.engine)
    meta = sa.MetaData()
    compute_nodes = baseline.define_compute_nodes(meta)
    services = baseline.define_services(meta)
    for name, table, columns in baseline.UNIQUE_CONSTRAINTS:
        services.append_constraint(sa.UniqueConstraint(*columns, name=name))
    for table in (compute_nodes, services):
        table.create(bind)

    if backend.legacy_foreign_keys:
        for havana_name, table, column, referred, referred_column in (
                baseline.FOREIGN_KEYS):
            if table in TABLES and referred in TABLES:
                op.create_foreign_key(
                    backend.legacy_foreign_key_name(havana_name), table,
                    referred, [column], [referred_column])

    for statement in backend.legacy_charset_statements(
            op.get_context().version_table):
        op.execute(statement)

    for name in ('services', 'compute_nodes'):
        shadow.shadow_table_definition(
            bind, name, meta=sa.MetaData()).create(bind)

    for name in STATS_TABLES:
        op.add_column(name, sa.Column('stats', sa.Text))


def downgrade():
    raise CommandError(
        'revision 233_initial is the first one and cannot be downgraded; '
        'a database handed off from sqlalchemy-migrate goes back with '
        '"nova-schema-manage db handoff --undo"')
