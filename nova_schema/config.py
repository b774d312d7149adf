"""Where the database URL comes from: option, config file, or the default."""
import os
import re

from oslo_config import cfg
from oslo_db import options as db_options

from nova_schema import exception

DEFAULT_SQLITE_FILE = 'nova_schema.sqlite'


def default_connection():
    """A SQLite file in the current directory, for trying things out."""
    return 'sqlite:///' + os.path.abspath(DEFAULT_SQLITE_FILE)


def connection_from_file(path):
    """``[database] connection`` of an OpenStack-style config file."""
    if not os.path.exists(path):
        raise exception.ConfigError('config file %s does not exist' % path)
    if not os.path.isfile(path):
        raise exception.ConfigError('config file %s is not a file' % path)
    conf = cfg.ConfigOpts()
    conf.register_opts(db_options.database_opts, group='database')
    try:
        conf(args=[], project='nova_schema', default_config_files=[path],
             default_config_dirs=[])
        connection = conf.database.connection
    except (cfg.Error, ValueError) as error:
        raise exception.ConfigError(
            'cannot read config file %s: %s' % (path, _parse_error(error)))
    if connection is None or not str(connection).strip():
        raise exception.ConfigError(
            'config file %s has no [database] connection' % path)
    return connection


def resolve_connection(option_value, config_file):
    """--database-connection, else the config file's, else the default."""
    if option_value is not None:
        if not option_value.strip():
            raise exception.ConfigError('--database-connection is empty')
        return option_value
    if config_file is not None:
        return connection_from_file(config_file)
    return default_connection()


def _parse_error(error):
    """Where the file is broken, without quoting it: a line of a config file
    may hold any password."""
    where = re.search(r':(\d+),', str(error))
    if where:
        return 'line %s is not valid INI syntax' % where.group(1)
    return 'it is not a valid INI file'
