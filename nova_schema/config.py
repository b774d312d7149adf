"""Where the database URL comes from: option, environment, config file, or
the default."""
import collections
import os
import re

from nova_schema import exception

DEFAULT_SQLITE_FILE = 'nova_schema.sqlite'


def default_connection():
    """A SQLite file in the current directory, for trying things out."""
    return 'sqlite:///' + os.path.abspath(DEFAULT_SQLITE_FILE)


Resolved = collections.namedtuple('Resolved', 'url source')
Resolved.__doc__ = """The database URL and where it came from: ``source`` is
one of OPTION, ENVIRONMENT, CONFIG_FILE, DEFAULT."""

OPTION, ENVIRONMENT, CONFIG_FILE, DEFAULT = (
    'option', 'environment', 'config file', 'default')
# oslo.config's name for [database] connection in the environment.
ENV_CONNECTION = 'OS_DATABASE__CONNECTION'


def _check_file(path):
    if not os.path.exists(path):
        raise exception.ConfigError('config file %s does not exist' % path)
    if not os.path.isfile(path):
        raise exception.ConfigError('config file %s is not a file' % path)


def _from_oslo_config(config_file):
    """``[database] connection`` as oslo.config resolves it, and where from.

    NOTE: oslo.config reads ``OS_DATABASE__CONNECTION`` from the environment
    itself (its environment source), ahead of any config file.
    """
    # NOTE: imported here: with --database-connection oslo.config is not
    # needed, and a read-only command's start-up is mostly imports.
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    conf.register_opt(_connection_option(cfg), group='database')
    files = [] if config_file is None else [config_file]
    try:
        conf(args=[], project='nova_schema', default_config_files=files,
             default_config_dirs=[])
        connection = conf.database.connection
        location = conf.get_location('connection', 'database')
    except (cfg.Error, ValueError) as error:
        raise exception.ConfigError(
            'cannot read config file %s: %s'
            % (config_file, _parse_error(error)))
    if location and location.location == cfg.Locations.environment:
        return connection, ENVIRONMENT
    return connection, CONFIG_FILE if config_file is not None else DEFAULT


def _connection_option(cfg):
    """``[database] connection`` with the older names oslo.db accepts for it
    (Nova configs of the sqlalchemy-migrate era may still use them).

    NOTE: declared here rather than taken from oslo.db, which the modern
    stack (SQLAlchemy 2, alembic) does not install; the file's other
    ``[database]`` options are not this tool's and are not read.
    """
    return cfg.StrOpt(
        'connection', secret=True,
        help='SQLAlchemy URL of the database',
        deprecated_opts=[cfg.DeprecatedOpt('sql_connection', group='DEFAULT'),
                         cfg.DeprecatedOpt('sql_connection',
                                           group='DATABASE'),
                         cfg.DeprecatedOpt('connection', group='sql')])


def resolve_connection(option_value, config_file):
    """The URL to use, as a ``Resolved``, and where it comes from.

    oslo.config's precedence: the command line option, else the
    environment (``OS_DATABASE__CONNECTION``), else the config file's
    ``[database] connection``, else the default SQLite file.
    """
    if option_value is not None:
        if not option_value.strip():
            raise exception.ConfigError('--database-connection is empty')
        return Resolved(option_value, OPTION)
    if config_file is not None:
        _check_file(config_file)
    connection, source = _from_oslo_config(config_file)
    if source == ENVIRONMENT and not connection.strip():
        raise exception.ConfigError('%s is empty' % ENV_CONNECTION)
    if source == CONFIG_FILE and (connection is None or
                                  not str(connection).strip()):
        raise exception.ConfigError(
            'config file %s has no [database] connection' % config_file)
    if source == DEFAULT:
        return Resolved(default_connection(), DEFAULT)
    return Resolved(connection, source)


def _parse_error(error):
    """Where the file is broken, without quoting it: a line of a config file
    may hold any password."""
    where = re.search(r':(\d+),', str(error))
    if where:
        return 'line %s is not valid INI syntax' % where.group(1)
    return 'it is not a valid INI file'
