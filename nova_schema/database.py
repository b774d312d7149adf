"""Engines, connection errors, and what a database says about its version."""
import collections
import os

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
import sqlalchemy
from sqlalchemy.engine import url as sa_url
from sqlalchemy import exc as sa_exc

from nova_schema import exception
from nova_schema import masking
from nova_schema import repository

VersionState = collections.namedtuple(
    'VersionState', 'version tables other_repositories')
VersionState.__doc__ = """What the database holds, read before any change.

``version`` is this repository's recorded version or None; ``tables`` every
table name; ``other_repositories`` the ids of other repositories recorded in
the version table.
"""


def parse_url(url):
    try:
        return sa_url.make_url(url)
    except (sa_exc.ArgumentError, ValueError) as error:
        raise exception.DatabaseUnreachable(
            'malformed database URL %s (%s); expected a SQLAlchemy URL such '
            'as mysql+pymysql://user@host/nova'
            % (masking.mask(url), masking.mask(error)))


def sqlite_path(url):
    """The file a SQLite URL names (None for an in-memory database)."""
    path = url.database
    if path and url.query.get('uri') in ('true', '1') and \
            path.startswith('file:'):
        path = path[len('file:'):].split('?', 1)[0]
    return None if path in (None, '', ':memory:') else path


def get_engine(engine_or_url, must_exist=False):
    """An Engine for ``engine_or_url``; engines are returned as they are.

    With ``must_exist`` a SQLite file that is not there is an error rather
    than a new empty database, for commands that only read.
    """
    if isinstance(engine_or_url, sqlalchemy.engine.Engine):
        return engine_or_url
    url = parse_url(engine_or_url)
    if must_exist:
        from nova_schema import backends
        path = backends.local_file(url)
        if path and not os.path.exists(path):
            raise exception.DatabaseUnreachable(
                'no SQLite database at %s; db sync creates one' % path)
    try:
        # NOTE: max_retries=0 makes oslo.db skip its test connection, which
        # would otherwise retry an unreachable server for 100 seconds.
        return engines.create_engine(
            url, mysql_sql_mode='TRADITIONAL', max_retries=0)
    except (sa_exc.NoSuchModuleError, ImportError) as error:
        raise exception.DatabaseUnreachable(
            'unknown database driver in %s (%s); use sqlite, mysql+pymysql '
            'or postgresql+psycopg2' % (masking.mask_url(url), error))
    except (sa_exc.ArgumentError, TypeError, ValueError) as error:
        raise exception.DatabaseUnreachable(
            'unusable database URL %s: %s'
            % (masking.mask_url(url), masking.mask(error)))


def describe(engine):
    return masking.mask_url(engine.url)


def root_cause(error):
    """The driver's own error under oslo.db's and SQLAlchemy's wrappers."""
    for attribute in ('inner_exception', 'orig'):
        inner = getattr(error, attribute, None)
        if isinstance(inner, BaseException):
            error = inner
    return error


def first_line(error):
    lines = str(error).strip().splitlines()
    return masking.mask(lines[0] if lines else type(error).__name__)


def unreachable(engine, error):
    """The user-facing form of a failure to reach ``engine``'s database."""
    return exception.DatabaseUnreachable(
        'cannot use database %s: %s'
        % (describe(engine), first_line(root_cause(error))))


CONNECTION_ERRORS = (db_exc.DBConnectionError, db_exc.DBError,
                     sa_exc.OperationalError, sa_exc.InterfaceError,
                     sa_exc.ProgrammingError, sa_exc.DatabaseError)


def connect(engine):
    try:
        return engine.connect()
    except CONNECTION_ERRORS as error:
        raise unreachable(engine, error)


def read_version_state(connection):
    tables = set(sqlalchemy.inspect(connection).get_table_names())
    if repository.VERSION_TABLE not in tables:
        return VersionState(None, tables, ())
    rows = connection.execute(sqlalchemy.text(
        'SELECT repository_id, version FROM %s' % repository.VERSION_TABLE))
    versions = {row.repository_id: row.version for row in rows}
    version = versions.pop(repository.REPOSITORY_ID, None)
    return VersionState(version, tables, tuple(sorted(versions)))


def server_info(engine, server_version_sql):
    """Backend, driver, server version and masked URL of ``engine``."""
    connection = connect(engine)
    try:
        server_version = connection.execute(
            sqlalchemy.text(server_version_sql)).scalar()
    except CONNECTION_ERRORS as error:
        raise unreachable(engine, error)
    finally:
        connection.close()
    return {'database': describe(engine), 'backend': engine.name,
            'driver': engine.driver, 'server_version': server_version}


DBAPI_ERRORS = (sa_exc.DBAPIError,)


def failed_statement(error):
    """The SQL of the statement that raised ``error``, if it says."""
    while error is not None:
        statement = getattr(error, 'statement', None)
        if statement:
            return statement
        error = getattr(error, 'inner_exception', None)
    return None
