"""Engines, connection errors, and what a database says about its version."""
import collections
import os
import re
from urllib import parse

import sqlalchemy
from sqlalchemy.engine import url as sa_url
from sqlalchemy import exc as sa_exc

from nova_schema import exception
from nova_schema import masking
from nova_schema import repository
from nova_schema import stack

VersionState = collections.namedtuple(
    'VersionState',
    'version tables other_repositories empty_row alembic_revisions',
    defaults=(False, ()))
VersionState.__doc__ = """What the database holds, read before any change.

``version`` is this repository's recorded version or None; ``tables`` every
table name; ``other_repositories`` the ids of other repositories recorded in
the version table; ``empty_row`` True when this repository has a row there
whose version is NULL; ``alembic_revisions`` the revisions an
``alembic_version`` table records.
"""


# alembic's version table (nova_schema.revisions).
ALEMBIC_VERSION_TABLE = 'alembic_version'

_ENCODE_HINT = ('; expected a SQLAlchemy URL such as '
                'mysql+pymysql://user:password@host/nova, with "@", ":", "/" '
                'and "%" in the user name or password percent-encoded (%40, '
                '%3A, %2F, %25)')


def parse_url(url):
    """``url`` parsed, or DatabaseUnreachable if it is malformed.

    A URL whose password holds a raw '@' parses, but wrongly (part of the
    password becomes the host): it is refused, as no driver error about
    that wrong host should ever echo a piece of the password.
    """
    if not isinstance(url, str):
        return sa_url.make_url(url)
    _, password = masking.credentials_by_shape(url)
    try:
        parsed = sa_url.make_url(url)
    except (sa_exc.ArgumentError, ValueError) as error:
        # NOTE: the parser's own words may quote part of the password.
        detail = (' (%s)' % masking.mask(error)) if password is None else ''
        raise exception.DatabaseUnreachable(
            'malformed database URL %s%s%s'
            % (masking.mask(url), detail, _ENCODE_HINT))
    if password is not None and parse.unquote(password) != parsed.password:
        raise exception.DatabaseUnreachable(
            'malformed database URL %s: its password holds a raw "@"%s'
            % (masking.mask(url), _ENCODE_HINT))
    return parsed


def sqlite_path(url):
    """The file a SQLite URL names (None for an in-memory database)."""
    path = url.database
    if path and url.query.get('uri') in ('true', '1') and \
            path.startswith('file:'):
        path = path[len('file:'):].split('?', 1)[0]
    if url.query.get('mode') == 'memory':
        return None
    return None if path in (None, '', ':memory:') else path


def in_memory(url):
    """True if ``url`` names a database that is gone once disconnected."""
    from nova_schema import backends
    return backends.in_memory(parse_url(url))


def get_engine(engine_or_url, must_exist=False, migrating=False):
    """An Engine for ``engine_or_url``; engines are returned as they are.

    With ``must_exist`` a SQLite file that is not there is an error rather
    than a new empty database, for commands that only read. With
    ``migrating`` it is oslo.db's engine (TRADITIONAL sql_mode on MySQL,
    its error translation), which is what Nova migrated with; a command
    that only reads gets SQLAlchemy's own and spares oslo.db's imports
    (alembic and the ORM among them).
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
    if migrating:
        # NOTE: before the engine: an import failure in it would read as
        # an unknown driver.
        stack.require_legacy()
    try:
        engine = _create_engine(url, migrating)
    except (sa_exc.NoSuchModuleError, ImportError) as error:
        raise exception.DatabaseUnreachable(
            'unknown database driver in %s (%s); use sqlite, mysql+pymysql '
            'or postgresql+psycopg2' % (masking.mask_url(url), error))
    except (sa_exc.ArgumentError, TypeError, ValueError) as error:
        raise exception.DatabaseUnreachable(
            'unusable database URL %s: %s'
            % (masking.mask_url(url), first_line(error)))
    from nova_schema import backends
    backends.get(engine).prepare_engine()
    return engine


def _create_engine(url, migrating):
    if not migrating:
        return sqlalchemy.create_engine(url)
    # NOTE: stack.require_legacy() has vouched for oslo.db by now.
    from oslo_db.sqlalchemy import engines
    _count_oslo_db_errors()
    # NOTE: max_retries=0 makes oslo.db skip its test connection, which
    # would otherwise retry an unreachable server for 100 seconds.
    return engines.create_engine(
        url, mysql_sql_mode='TRADITIONAL', max_retries=0)


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
    """``error`` in one masked line: what ``explain`` says, else its own
    first line."""
    explained = explain(error)
    if explained:
        return masking.mask(explained)
    lines = str(error).strip().splitlines()
    return masking.mask(lines[0] if lines else type(error).__name__)


def unreachable(engine, error):
    """The user-facing form of a failure to reach ``engine``'s database."""
    return exception.DatabaseUnreachable(
        'cannot use database %s: %s'
        % (describe(engine), first_line(root_cause(error))))


# NOTE: read as ``database.CONNECTION_ERRORS`` when an exception is being
# matched: oslo.db's own classes join once an oslo.db engine is made (only
# its engines raise them; importing them costs a read-only command 15 ms).
CONNECTION_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError,
                     sa_exc.ProgrammingError, sa_exc.DatabaseError)


def _count_oslo_db_errors():
    global CONNECTION_ERRORS
    from oslo_db import exception as db_exc
    oslo_errors = (db_exc.DBConnectionError, db_exc.DBError)
    if oslo_errors[0] not in CONNECTION_ERRORS:
        CONNECTION_ERRORS = oslo_errors + CONNECTION_ERRORS


def connect(engine):
    try:
        return engine.connect()
    except CONNECTION_ERRORS as error:
        raise unreachable(engine, error)


def read_version_state(connection):
    # NOTE: the lease table of db sync's lock on a Galera cluster is this
    # tool's bookkeeping, not a table of the database.
    tables = set(sqlalchemy.inspect(connection).get_table_names()) - {
        repository.LOCK_TABLE}
    alembic_revisions = ()
    if ALEMBIC_VERSION_TABLE in tables:
        alembic_revisions = tuple(sorted(row[0] for row in connection.execute(
            sqlalchemy.text('SELECT version_num FROM %s'
                            % ALEMBIC_VERSION_TABLE))))
    if repository.VERSION_TABLE not in tables:
        return VersionState(None, tables, (), False, alembic_revisions)
    rows = connection.execute(sqlalchemy.text(
        'SELECT repository_id, version FROM %s' % repository.VERSION_TABLE))
    versions = {row.repository_id: row.version for row in rows}
    empty_row = (repository.REPOSITORY_ID in versions and
                 versions[repository.REPOSITORY_ID] is None)
    version = versions.pop(repository.REPOSITORY_ID, None)
    return VersionState(version, tables, tuple(sorted(versions)), empty_row,
                        alembic_revisions)


def fill_empty_version(connection, version):
    """Write ``version`` into this repository's row whose version is NULL."""
    result = connection.execute(sqlalchemy.text(
        'UPDATE %s SET version = :version WHERE repository_id = :id AND '
        'version IS NULL' % repository.VERSION_TABLE),
        {'version': version, 'id': repository.REPOSITORY_ID})
    if result.rowcount != 1:
        raise exception.MigrationFailed(
            'the version row of repository %r changed while it was being '
            'filled; nothing was written' % repository.REPOSITORY_ID)


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


# -- What a driver's error means ----------------------------------------------

PERMISSION, NO_TABLE, LOST_CONNECTION = (
    'permission', 'no table', 'lost connection')

# The table a NO_TABLE message names: Table 'db.name' doesn't exist (MySQL),
# relation "name" does not exist (PostgreSQL), no such table: name (SQLite).
_TABLE_NAME = re.compile(
    r'''(?i)\b(?:table|relation):?\s+['"`]?(?:[\w$]+\.)?([\w$]+)''')


def _driver_message(error):
    """The first line of what the driver said, without MySQL's number."""
    args = getattr(error, 'args', ())
    if len(args) > 1 and isinstance(args[0], int):
        text = str(args[1])
    else:
        text = str(error)
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def _kind(error):
    """PERMISSION, NO_TABLE, LOST_CONNECTION or None, for one error."""
    if isinstance(error, sa_exc.NoSuchTableError):
        return NO_TABLE
    args = getattr(error, 'args', ())
    number = args[0] if args and isinstance(args[0], int) else None
    sqlstate = getattr(error, 'pgcode', None)
    message = _driver_message(error)
    # NOTE: looked up in every backend's facts by what the error carries
    # (a MySQL error number, a SQLSTATE, a message fragment), never by the
    # backend's name.
    from nova_schema import backends
    for backend in backends.all_classes():
        kind = backend.error_numbers.get(number)
        if sqlstate:
            kind = kind or backend.sqlstates.get(sqlstate)
        for fragment, fragment_kind in backend.error_messages:
            if not kind and fragment in message:
                kind = fragment_kind
        if kind:
            return kind
    # NOTE: SQLAlchemy marks an error its dialect recognised as a
    # disconnect, whatever the driver said.
    if getattr(error, 'connection_invalidated', False):
        return LOST_CONNECTION
    return None


def _chain(error):
    """``error`` and the errors under it, innermost first."""
    chain = []
    while isinstance(error, BaseException) and error not in chain:
        chain.append(error)
        error = next((inner for inner in (
            getattr(error, 'inner_exception', None),
            getattr(error, 'orig', None), error.__cause__)
            if isinstance(inner, BaseException)), None)
    return chain[::-1]


def _password_codec_error(error):
    """The codec error under ``error`` on a password to hide, or None.

    NOTE: PyMySQL sends the password as latin-1; its error names the
    character it cannot encode and its position: neither may be shown.
    """
    for candidate in _chain(error):
        if (isinstance(candidate, UnicodeError) and
                masking.holds_password(getattr(candidate, 'object', None))):
            return candidate
    return None


def masked_traceback(error, text):
    """``text``, the formatted traceback of ``error``, masked, with the
    message of a codec error on the password replaced."""
    codec = _password_codec_error(error)
    if codec is not None:
        text = text.replace(str(codec), 'the %s codec cannot encode the '
                            'password (details hidden)' % codec.encoding)
    return masking.mask(text)


def explain(error):
    """A short phrase for a driver error a user can act on, or None.

    "permission denied: ...", "table X does not exist", "lost connection to
    the database server (...)"; None for anything else.
    """
    codec = _password_codec_error(error)
    if codec is not None:
        return ('the database driver cannot send the password: it encodes '
                'it as %s, which lacks some of its characters'
                % codec.encoding)
    for candidate in _chain(error):
        kind = _kind(candidate)
        if kind is None:
            continue
        message = _driver_message(candidate)
        if kind == PERMISSION:
            if 'permission denied' in message.lower():
                return message
            return 'permission denied: %s' % message
        if kind == NO_TABLE:
            if isinstance(candidate, sa_exc.NoSuchTableError):
                # NOTE: raised by reflection; its message is the name.
                return 'table %s does not exist' % message
            name = _TABLE_NAME.search(message)
            if name:
                return 'table %s does not exist' % name.group(1)
            return 'a table does not exist: %s' % message
        return 'lost connection to the database server (%s)' % (
            message or 'the connection was closed')
    return None
