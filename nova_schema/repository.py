"""Where the migration repository is and what versions it holds."""
import functools
import os

from migrate.versioning.repository import Repository
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text

import migrate_repo

REPOSITORY_PATH = os.path.dirname(os.path.abspath(migrate_repo.__file__))
REPOSITORY_ID = 'nova'
VERSION_TABLE = 'migrate_version'
# NOTE: Nova's INIT_VERSION was 215 with a 216 baseline; ours compacts up to
# 232, so a database under version control starts at 231.
INIT_VERSION = 231


@functools.lru_cache(maxsize=None)
def get_repository():
    return Repository(REPOSITORY_PATH)


def head_version():
    return int(get_repository().latest)


def baseline_version():
    return INIT_VERSION + 1


def script_path(version):
    return get_repository().version(version).script().path


def step_name(version):
    """'233' -> 'add_stats_in_compute_nodes': the script's name sans number."""
    filename = os.path.basename(script_path(version))
    return os.path.splitext(filename)[0].split('_', 1)[1]


def describe_versions():
    """[{version, name, description}] from baseline to head."""
    entries = []
    for version in range(baseline_version(), head_version() + 1):
        module = get_repository().version(version).script().module
        lines = (module.__doc__ or '').strip().splitlines()
        entries.append({'version': version, 'name': step_name(version),
                        'description': lines[0] if lines else ''})
    return entries


def version_table_definition(meta):
    """The version table as sqlalchemy-migrate 0.13 creates it."""
    return Table(VERSION_TABLE, meta,
                 Column('repository_id', String(250), primary_key=True),
                 Column('repository_path', Text),
                 Column('version', Integer))
