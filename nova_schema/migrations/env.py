"""Alembic's entry point into nova_schema (see nova_schema.revisions)."""
from alembic import context

from nova_schema import revisions

revisions.run_environment(context)
