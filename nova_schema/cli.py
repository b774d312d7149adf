"""nova-schema-manage: argument parsing, output and exit codes only.

Exit codes: 0 success; 2 an error (bad input, unreachable database, lock
timeout, failed step), reported as one line on stderr.
"""
import argparse
import logging
import sys
import traceback
import warnings

from nova_schema import api
from nova_schema import config
from nova_schema import database
from nova_schema import exception
from nova_schema import masking

PROG = 'nova-schema-manage'
EXIT_OK = 0
EXIT_ERROR = 2


class _MaskingFilter(logging.Filter):
    def filter(self, record):
        record.msg = masking.mask(record.getMessage())
        record.args = None
        return True


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Manage a Nova database's schema around "
        "migration 233.")
    parser.add_argument('--config-file', metavar='FILE',
                        help='OpenStack-style config file with a [database] '
                        'connection')
    parser.add_argument('--database-connection', metavar='URL',
                        help='SQLAlchemy URL of the database (overrides the '
                        'config file; default: sqlite file %s in the current '
                        'directory)' % config.DEFAULT_SQLITE_FILE)
    parser.add_argument('--debug', action='store_true',
                        help='show tracebacks and warnings')
    categories = parser.add_subparsers(dest='category', metavar='db')
    categories.required = True
    db = categories.add_parser('db', help='database schema commands')
    commands = db.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True

    sync = commands.add_parser(
        'sync', help='upgrade or downgrade to VERSION (default: head)')
    sync.add_argument('version', nargs='?', metavar='VERSION')
    sync.add_argument('--lock-timeout', type=_seconds, metavar='SECONDS',
                      default=api.DEFAULT_LOCK_TIMEOUT,
                      help='how long to wait for another db sync (default '
                      '%(default)g)')
    sync.set_defaults(handler=_sync)

    version = commands.add_parser('version', help='print the version')
    version.set_defaults(handler=_version)

    control = commands.add_parser(
        'version_control', help='put the database under version control at '
        'VERSION (default: %d)' % api.INIT_VERSION)
    control.add_argument('version', nargs='?', metavar='VERSION')
    control.set_defaults(handler=_version_control)
    return parser


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value < float('inf'):
        raise argparse.ArgumentTypeError(
            'must be a number of seconds, 0 or more, not %r' % text)
    return value


def _print_step(*args):
    if len(args) == 3:
        start, end, name = args
        print('%d -> %d %s ...' % (start, end, name), end=' ', flush=True)
    else:
        print('done in %.2f s' % args[0].seconds, flush=True)


def _sync(args, url):
    steps = api.db_sync(url, args.version, lock_timeout=args.lock_timeout,
                        on_step=_print_step)
    if not steps:
        print('already at version %d' % api.db_version(url))


def _version(args, url):
    print(api.db_version(url))


def _version_control(args, url):
    version = api.db_version_control(url, args.version)
    print('under version control at %d' % version)


def _configure_output(debug):
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_MaskingFilter())
    # NOTE: libraries log advice (oslo.db on driver-less URLs) and, for a
    # failed statement, a traceback (oslo.db's exception filters); every
    # failure reaches the user as our own one line instead.
    logging.basicConfig(level=logging.DEBUG if debug else logging.CRITICAL,
                        handlers=[handler], force=True)
    if not debug:
        warnings.simplefilter('ignore')


def main(argv=None):
    args = _build_parser().parse_args(argv)
    _configure_output(args.debug)
    try:
        url = config.resolve_connection(args.database_connection,
                                        args.config_file)
        args.handler(args, url)
    except exception.NovaSchemaError as error:
        _fail(str(error))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _fail('interrupted')
        return EXIT_ERROR
    except Exception as error:  # noqa: anything else is a bug; say so briefly
        if args.debug:
            sys.stderr.write(masking.mask(traceback.format_exc()))
        _fail('unexpected %s: %s (run with --debug for details)'
              % (type(error).__name__, database.first_line(error)))
        return EXIT_ERROR
    return EXIT_OK


def _fail(message):
    sys.stdout.flush()
    print('%s: error: %s' % (PROG, masking.mask(message)), file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
