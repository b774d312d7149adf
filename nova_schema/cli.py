"""nova-schema-manage: argument parsing, output and exit codes only.

Exit codes: 0 success; 1 ``db check`` found differences; 2 an error (bad
input, unreachable database, lock timeout, failed step), reported as one
line on stderr.
"""
import argparse
import json
import logging
import sys
import traceback
import warnings

from nova_schema import api
from nova_schema import config
from nova_schema import database
from nova_schema import exception
from nova_schema import masking
from nova_schema import repository

PROG = 'nova-schema-manage'
EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line too, like every other error."""

    def error(self, message):
        _fail('%s (see %s --help)' % (message, self.prog))
        sys.exit(EXIT_ERROR)


class _MaskingFormatter(logging.Formatter):
    """Masks the whole record as printed: message, traceback, stack."""

    def format(self, record):
        return masking.mask(super().format(record))


def _add_format(parser):
    parser.add_argument('--format', choices=('text', 'json'), default='text',
                        help='output format (default: text)')


def _build_parser():
    parser = _ArgumentParser(
        prog=PROG, description="Manage a Nova database's schema around "
        "migration 233.")
    parser.add_argument('--config-file', metavar='FILE',
                        help='OpenStack-style config file with a [database] '
                        'connection')
    parser.add_argument('--database-connection', metavar='URL',
                        help='SQLAlchemy URL of the database (overrides %s '
                        'and the config file; default: sqlite file %s in the '
                        'current directory)' % (config.ENV_CONNECTION,
                                                config.DEFAULT_SQLITE_FILE))
    parser.add_argument('--debug', action='store_true',
                        help='show tracebacks and library logs')
    categories = parser.add_subparsers(dest='category', metavar='db',
                                       parser_class=_ArgumentParser)
    categories.required = True
    db = categories.add_parser('db', help='database schema commands')
    commands = db.add_subparsers(dest='command', metavar='COMMAND',
                                 parser_class=_ArgumentParser)
    commands.required = True

    sync = commands.add_parser(
        'sync', help='upgrade or downgrade to VERSION (default: head)')
    sync.add_argument('version', nargs='?', metavar='VERSION')
    sync.add_argument('--lock-timeout', type=_seconds, metavar='SECONDS',
                      default=api.DEFAULT_LOCK_TIMEOUT,
                      help='how long to wait for another db sync (default '
                      '%(default)g)')
    sync.add_argument('--dry-run', action='store_true',
                      help='print the SQL each step would run; change '
                      'nothing')
    _add_format(sync)
    sync.set_defaults(handler=_sync)

    version = commands.add_parser('version', help='print the version')
    version.add_argument('--verbose', action='store_true',
                         help='also repository, backend and server version')
    _add_format(version)
    version.set_defaults(handler=_version)

    control = commands.add_parser(
        'version_control', help='put the database under version control at '
        'VERSION (default: %d)' % api.INIT_VERSION)
    control.add_argument('version', nargs='?', metavar='VERSION')
    control.set_defaults(handler=_version_control)

    history = commands.add_parser(
        'history', help='list the versions, marking the database\'s')
    _add_format(history)
    history.set_defaults(handler=_history)

    check = commands.add_parser(
        'check', help='compare the live schema with the expected one')
    _add_format(check)
    check.set_defaults(handler=_check)
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


def _print_json(data):
    print(json.dumps(masking.mask_data(data), indent=2, sort_keys=True))


def _step_title(step):
    if step.start is None:
        return 'version control at %d' % step.end
    return '%d -> %d %s' % (step.start, step.end, step.name)


def _progress(*args):
    if len(args) == 3:
        start, end, name = args
        print('%d -> %d %s ...' % (start, end, name), end=' ', flush=True)
    else:
        print('done in %.2f s' % args[0].seconds, flush=True)


def _sync(args, url):
    quiet = args.dry_run or args.format == 'json'
    steps = api.db_sync(url, args.version, lock_timeout=args.lock_timeout,
                        on_step=None if quiet else _progress,
                        dry_run=args.dry_run)
    target = (api.parse_version(args.version) if args.version is not None
              else repository.head_version())
    reached = steps[-1].end if steps else api.db_version(url)
    unshown = args.dry_run and reached != target
    if args.format == 'json':
        _print_json({'database': masking.mask_url(url),
                     'dry_run': args.dry_run, 'target': target,
                     'complete': not unshown,
                     'steps': [step.as_dict() for step in steps]})
        return
    if args.dry_run:
        for step in steps:
            print('-- %s' % _step_title(step))
            for statement in step.statements:
                print(statement)
        if unshown:
            print('-- %d -> %d: not shown; MySQL cannot roll DDL back, so '
                  'the next step can only be shown once this one has run'
                  % (reached, target))
        elif not steps:
            print('-- already at version %d: nothing to do' % target)
    elif not steps or all(step.start is None for step in steps):
        print('already at version %d' % target)


def _version(args, url):
    if not args.verbose and args.format == 'text':
        print(api.db_version(url))
        return
    info = api.db_info(url)
    if args.format == 'json':
        _print_json(info)
        return
    print('version: %(version)s\nrepository: %(repository_id)s '
          '(%(repository_path)s)\ndatabase: %(database)s\nbackend: '
          '%(backend)s (driver %(driver)s), server %(server_version)s' % info)


def _version_control(args, url):
    version = api.db_version_control(url, args.version)
    print('under version control at %d' % version)


def _history(args, url):
    entries = api.db_history(url)
    if args.format == 'json':
        _print_json(entries)
        return
    width = max(len(entry['name']) for entry in entries)
    for entry in entries:
        print('%s %d  %-*s  %s' % ('*' if entry['current'] else ' ',
                                   entry['version'], width, entry['name'],
                                   entry['description']))


def _check(args, url):
    report = api.db_check(url)
    if args.format == 'json':
        _print_json(dict(report.as_dict(),
                         database=masking.mask_url(url)))
    elif report.ok:
        print('database %s matches version %d (%s)' % (
            masking.mask_url(url), report.version,
            report.as_dict()['matches']))
    else:
        count = len(report.differences)
        print('database %s differs from version %d in %d place%s:' % (
            masking.mask_url(url), report.version, count,
            '' if count == 1 else 's'))
        for difference in report.differences:
            print('  - %s' % difference)
    return EXIT_OK if report.ok else EXIT_DRIFT


# The commands whose whole point is to leave something in the database.
_KEEPING = (_sync, _version_control)


def _configure_output(debug):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_MaskingFormatter(logging.BASIC_FORMAT))
    # NOTE: on the handler, not only the root logger: SQLAlchemy gives its
    # own loggers the level WARNING, and oslo.db sqlalchemy.engine's.
    handler.setLevel(logging.DEBUG if debug else logging.CRITICAL)
    # NOTE: libraries log advice (oslo.db on driver-less URLs) and, for a
    # failed statement, a traceback (oslo.db's exception filters); every
    # failure reaches the user as our own one line instead.
    logging.basicConfig(level=logging.DEBUG if debug else logging.CRITICAL,
                        handlers=[handler], force=True)
    if not debug:
        warnings.simplefilter('ignore')


def _resolve(args):
    """The database URL, its password registered for masking."""
    resolved = config.resolve_connection(args.database_connection,
                                         args.config_file)
    masking.register_url(resolved.url)
    if resolved.source == config.DEFAULT:
        _notice('using the default SQLite database %s'
                % database.sqlite_path(database.parse_url(resolved.url)))
    if (args.handler in _KEEPING and not getattr(args, 'dry_run', False) and
            database.in_memory(resolved.url)):
        raise exception.ConfigError(
            'database %s is in memory: db %s would keep nothing; use a '
            'SQLite file or a database server'
            % (masking.mask_url(resolved.url), args.command))
    return resolved.url


def main(argv=None):
    args = _build_parser().parse_args(argv)
    if args.database_connection:
        masking.register_url(args.database_connection)
    _configure_output(args.debug)
    try:
        return args.handler(args, _resolve(args)) or EXIT_OK
    except exception.NovaSchemaError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail('interrupted')
    except Exception as error:  # noqa: reported as one line below
        if args.debug:
            sys.stderr.write(masking.mask(traceback.format_exc()))
        _fail(_last_resort_message(error))
    return EXIT_ERROR


def _last_resort_message(error):
    """One line for an error that is not one of ours.

    NOTE: an error raised while cleaning up after one of ours (a connection
    that is lost fails its cleanup too) must not hide it: ours is reported.
    A driver error a user can act on (permission denied, missing table,
    lost connection) is said plainly; anything else is a bug.
    """
    context = error.__context__
    while context is not None:
        if isinstance(context, exception.NovaSchemaError):
            return str(context)
        context = context.__context__
    explained = database.explain(error)
    if explained:
        return explained
    return ('unexpected %s: %s (run with --debug for details)'
            % (type(error).__name__, database.first_line(error)))


def _notice(message):
    print('%s: %s' % (PROG, masking.mask(message)), file=sys.stderr)


def _fail(message):
    sys.stdout.flush()
    print('%s: error: %s' % (PROG, masking.mask(message)), file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
