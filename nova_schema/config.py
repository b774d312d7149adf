"""Where the database URL comes from: option, config file, or the default."""
import os

from oslo_config import cfg
from oslo_db import options as db_options

from nova_schema import exception

DEFAULT_SQLITE_FILE = 'nova_schema.sqlite'


def default_connection():
    """A SQLite file in the current directory, for trying things out."""
    return 'sqlite:///' + os.path.abspath(DEFAULT_SQLITE_FILE)


def connection_from_file(path):
    """``[database] connection`` of an OpenStack-style config file."""
    if not os.path.isfile(path):
        raise exception.ConfigError('config file %s does not exist' % path)
    conf = cfg.ConfigOpts()
    conf.register_opts(db_options.database_opts, group='database')
    try:
        conf(args=[], project='nova_schema', default_config_files=[path],
             default_config_dirs=[])
        connection = conf.database.connection
    except (cfg.Error, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise exception.ConfigError(
            'cannot read config file %s: %s' % (path, first_line))
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
