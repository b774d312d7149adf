"""Where the migration repository is and what versions it holds."""
import ast
import functools
import os
import re

from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text

import migrate_repo

REPOSITORY_PATH = os.path.dirname(os.path.abspath(migrate_repo.__file__))
REPOSITORY_ID = 'nova'
VERSION_TABLE = 'migrate_version'
# db sync's lease on a Galera cluster (nova_schema.backends.galera).
LOCK_TABLE = 'nova_schema_lock'
# NOTE: Nova's INIT_VERSION was 215 with a 216 baseline; ours compacts up to
# 232, so a database under version control starts at 231.
INIT_VERSION = 231


_SCRIPT = re.compile(r'^(\d{3})_(\w+)\.py$')


@functools.lru_cache(maxsize=None)
def get_repository():
    # NOTE: imported here: sqlalchemy-migrate (with pkg_resources) is most
    # of a read-only command's start-up cost, and only migrating needs it.
    from migrate.versioning.repository import Repository
    return Repository(REPOSITORY_PATH)


@functools.lru_cache(maxsize=None)
def _scripts():
    """{version: name} of the scripts in versions/, read off their file
    names as sqlalchemy-migrate does (``NNN_name.py``)."""
    found = {}
    for filename in os.listdir(os.path.join(REPOSITORY_PATH, 'versions')):
        match = _SCRIPT.match(filename)
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


def head_version():
    return max(_scripts())


def baseline_version():
    return INIT_VERSION + 1


def script_path(version):
    return get_repository().version(version).script().path


def step_name(version):
    """233 -> 'add_stats_in_compute_nodes': the script's name sans number."""
    return _scripts()[version]


def _script_docstring(version):
    """The version script's docstring, read from its source: loading the
    script would need sqlalchemy-migrate, which the modern stack lacks."""
    filename = '%03d_%s.py' % (version, step_name(version))
    with open(os.path.join(REPOSITORY_PATH, 'versions', filename),
              encoding='utf-8') as script:
        return ast.get_docstring(ast.parse(script.read()), clean=False)


def describe_versions():
    """[{version, name, description}] from baseline to head."""
    entries = []
    for version in range(baseline_version(), head_version() + 1):
        lines = (_script_docstring(version) or '').strip().splitlines()
        entries.append({'version': version, 'name': step_name(version),
                        'description': lines[0] if lines else ''})
    return entries


def version_table_definition(meta):
    """The version table as sqlalchemy-migrate 0.13 creates it."""
    return Table(VERSION_TABLE, meta,
                 Column('repository_id', String(250), primary_key=True),
                 Column('repository_path', Text),
                 Column('version', Integer))


@functools.lru_cache(maxsize=None)
def _controlled_schema_class():
    from migrate.versioning import schema

    class VersionTableSchema(schema.ControlledSchema):
        def load(self):
            if getattr(self, 'table', None) is None:
                self.table = version_table_definition(self.meta)
            return super(VersionTableSchema, self).load()

    return VersionTableSchema


def controlled_schema(engine):
    """sqlalchemy-migrate's ``ControlledSchema`` of ``engine``'s database
    (its version row read), the version table taken as sqlalchemy-migrate
    creates it rather than reflected.

    NOTE: reflecting it cost a dozen catalog queries on PostgreSQL, and
    oslo.db's ``db_sync`` did so twice per step; the statements sent (the
    version read, its UPDATE, the read back) are the same.
    """
    return _controlled_schema_class()(engine, get_repository())
