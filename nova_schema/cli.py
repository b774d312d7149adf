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
from nova_schema import interrupt
from nova_schema import masking
from nova_schema import preflight
from nova_schema import repository
from nova_schema import revisions
from nova_schema import stack
from nova_schema import strategy as strategy_mod

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
    _add_lock_options(sync)
    sync.add_argument('--alembic', action='store_true',
                      help='start an empty database on alembic (no '
                      'migrate_version); a database alembic manages is '
                      'upgraded with alembic anyway')
    sync.add_argument('--dry-run', action='store_true',
                      help='print the SQL each step would run; change '
                      'nothing')
    _add_format(sync)
    sync.set_defaults(handler=_sync)

    handoff = commands.add_parser(
        'handoff', help='hand a database under sqlalchemy-migrate control '
        'off to alembic at 233 (upgraded and checked first)')
    handoff.add_argument('--undo', action='store_true',
                         help='give it back to sqlalchemy-migrate while it '
                         "is at alembic's initial revision")
    _add_lock_options(handoff)
    handoff.set_defaults(handler=_handoff)

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


def _add_lock_options(parser):
    parser.add_argument('--lock-timeout', type=_seconds, metavar='SECONDS',
                        default=api.DEFAULT_LOCK_TIMEOUT,
                        help='how long to keep trying, in all, while '
                        'another db sync or an open transaction holds a '
                        'lock the run needs (default %(default)g)')
    parser.add_argument('--lock-wait', type=_seconds, metavar='SECONDS',
                        default=api.DEFAULT_LOCK_WAIT,
                        help='how long one statement may wait for a lock '
                        'before the try is abandoned and retried; the '
                        "application's queries wait behind it at most this "
                        'long (default %(default)g)')
    parser.add_argument('--strategy', choices=strategy_mod.CHOICES,
                        default=strategy_mod.AUTO,
                        help='how 233 adds compute_nodes.stats: instant DDL '
                        "where the server allows it, or Nova's own "
                        'statements (classic); auto: instant where possible '
                        '(default %(default)s)')


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


class _Progress(object):
    """``232 -> 233 name ... done in 0.02 s``, a line per step on stdout;
    waits and warnings on stderr."""

    def __init__(self, show_steps):
        self.show_steps = show_steps
        self.open_line = False

    def step(self, *args):
        if not self.show_steps:
            return
        if len(args) == 3:
            start, end, name = args
            print('%s -> %s %s ...' % (start, end, name), end=' ', flush=True)
            self.open_line = True
        else:
            step = args[0]
            how = ' (%s)' % step.strategy if step.strategy else ''
            print('done in %.2f s%s' % (step.seconds, how), flush=True)
            self.open_line = False

    def note(self, message):
        self.end_line('waiting')
        _say(message)

    def working(self, message):
        self.end_line('')
        _say(message)

    def discard(self, step):
        self.end_line()
        _say('warning: %s discards %s' % (
            step.title, preflight.describe_discards(step.discards)))

    def end_line(self, word='failed'):
        if self.open_line:
            print(word, flush=True)
            self.open_line = False


def _sync(args, url, guard):
    quiet = args.dry_run or args.format == 'json'
    progress = _Progress(show_steps=not quiet)
    try:
        steps = api.db_sync(
            url, args.version, lock_timeout=args.lock_timeout,
            lock_wait=args.lock_wait, on_step=progress.step,
            dry_run=args.dry_run, on_wait=progress.note,
            on_discard=None if args.dry_run else progress.discard,
            interrupt=guard, strategy=args.strategy, alembic=args.alembic,
            on_progress=progress.working)
    except exception.NovaSchemaError:
        progress.end_line()
        raise
    if args.alembic or any(isinstance(step, revisions.Applied)
                           for step in steps):
        return _report_revisions(args, url, steps)
    reached = steps[-1].end if steps else api.db_version(url)
    if isinstance(reached, str):
        return _report_revisions(args, url, steps)
    target = (api.parse_version(args.version) if args.version is not None
              else repository.head_version())
    unshown = args.dry_run and reached != target
    if args.format == 'json':
        _print_json({'database': masking.mask_url(url),
                     'dry_run': args.dry_run, 'target': target,
                     'complete': not unshown,
                     'steps': [step.as_dict() for step in steps]})
        return
    if args.dry_run:
        for step in steps:
            print('-- %s' % step.title)
            if step.strategy:
                print('-- strategy: %s%s' % (step.strategy, (
                    ' (%s)' % step.strategy_reason
                    if step.strategy_reason else '')))
            if step.discards:
                print('-- discards: %s' % preflight.describe_discards(
                    step.discards))
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


def _report_revisions(args, url, applied):
    """What an alembic upgrade did: a line per revision, or none to do."""
    head = revisions.head()
    if args.format == 'json':
        _print_json({'database': masking.mask_url(url), 'dry_run': False,
                     'target': head, 'complete': True,
                     'managed_by': revisions.MANAGER,
                     'steps': [{'from': step.start, 'to': step.end,
                                'name': step.name, 'seconds': step.seconds}
                               for step in applied]})
        return
    for step in applied:
        print('%s -> %s %s ... done in %.2f s (alembic)' % (
            step.start or 'base', step.end, step.name, step.seconds))
    if not applied:
        print('already at revision %s' % head)


def _handoff(args, url, guard):
    progress = _Progress(show_steps=True)
    try:
        outcome = api.db_handoff(
            url, undo=args.undo, lock_timeout=args.lock_timeout,
            lock_wait=args.lock_wait, on_step=progress.step,
            on_wait=progress.note, on_discard=progress.discard,
            interrupt=guard, strategy=args.strategy)
    except exception.NovaSchemaError:
        progress.end_line()
        raise
    print(outcome.message)


def _version(args, url, guard):
    if not args.verbose and args.format == 'text':
        version = api.db_version(url)
        if isinstance(version, str):
            status = api.db_status(url)
            print(revisions.describe(status['revisions'],
                                     status['handed_off_at']))
            return
        print(version)
        half_applied = api.db_half_applied(url)
        if half_applied:
            _say('warning: %s' % half_applied)
        return
    info = api.db_info(url)
    if args.format == 'json':
        _print_json(info)
        return
    if info.get('managed_by') == revisions.MANAGER:
        print('version: %(version)s\nmanaged by: %(origin)s\n'
              'environment: %(repository_path)s' % info)
    else:
        print('version: %(version)s\nrepository: %(repository_id)s '
              '(%(repository_path)s)' % info)
    print('database: %(database)s\nbackend: %(backend)s (driver '
          '%(driver)s), server %(server_version)s' % info)
    if info['half_applied']:
        print('half-applied: %s' % info['half_applied'])


def _version_control(args, url, guard):
    version = api.db_version_control(url, args.version, interrupt=guard,
                                     on_wait=_say)
    print('under version control at %d' % version)


def _history(args, url, guard):
    entries = api.db_history(url)
    if args.format == 'json':
        _print_json(entries)
        return
    width = max(len(entry['name']) for entry in entries)
    number_width = max(len(str(entry['version'])) for entry in entries)
    for entry in entries:
        print('%s %-*s  %-*s  %s%s' % (
            '*' if entry['current'] else ' ', number_width,
            entry['version'], width, entry['name'], entry['description'],
            ' (handed off to alembic here)' if entry.get('handed_off')
            else ''))


def _check(args, url, guard):
    report = api.db_check(url)
    revision = getattr(report, 'revision', None)
    if args.format == 'json':
        data = dict(report.as_dict(), database=masking.mask_url(url))
        if revision:
            data.update(revision=revision, managed_by=revisions.MANAGER)
        _print_json(data)
    elif revision:
        _print_revision_check(url, report, revision)
    elif report.half_applied:
        print('database %s is at version %d with %s' % (
            masking.mask_url(url), report.version, report.half_applied))
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


def _print_revision_check(url, report, revision):
    what = 'alembic revision %s (the schema of version %d)' % (
        revision, report.version)
    if report.ok:
        print('database %s matches %s' % (masking.mask_url(url), what))
        return
    count = len(report.differences)
    print('database %s differs from %s in %d place%s:' % (
        masking.mask_url(url), what, count, '' if count == 1 else 's'))
    for difference in report.differences:
        print('  - %s' % difference)


# The commands whose whole point is to leave something in the database.
_KEEPING = (_sync, _version_control, _handoff)


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
    guard = interrupt.Guard(on_give_up=_gave_up_after_interrupt)
    try:
        with guard.installed():
            status = args.handler(args, _resolve(args), guard) or EXIT_OK
            if guard.interrupted:
                # NOTE: a signal during the run's last moments (its
                # session was still open, so it only cancelled).
                raise guard.error(' after %s' % guard.completion)
            return status
    except exception.Interrupted as error:
        _fail(str(error))
        return error.exit_status
    except exception.NovaSchemaError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail('interrupted')
        return 128 + interrupt.signal.SIGINT
    except Exception as error:  # noqa: reported as one line below
        if args.debug:
            sys.stderr.write(database.masked_traceback(
                error, traceback.format_exc()))
        _fail(_last_resort_message(error))
    return EXIT_ERROR


def _say(message):
    """A line on stderr that is not an error: a wait, a warning."""
    print('%s: %s' % (PROG, masking.mask(message)), file=sys.stderr,
          flush=True)


def _gave_up_after_interrupt(guard):
    _fail('interrupted by %s; the run did not stop within %g s of being '
          'cancelled; run db version to see the state it left'
          % (interrupt.signal_name(guard.signal_number), guard.grace))


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
    missing = stack.legacy_error(error)
    if missing:
        return missing
    explained = database.explain(error)
    if explained:
        return explained
    return ('unexpected %s: %s (run with --debug for details)'
            % (type(error).__name__, database.first_line(error)))


def _notice(message):
    _say(message)


def _fail(message):
    sys.stdout.flush()
    print('%s: error: %s' % (PROG, masking.mask(message)), file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
