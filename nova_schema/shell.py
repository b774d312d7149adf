"""sqlalchemy-migrate's own shell, made safe to hand to a user.

``migrate_repo/manage.py`` runs it. Around ``migrate.versioning.shell.main``
it applies the getargspec shim, refuses the requests sqlalchemy-migrate would
only half carry out (a downgrade through the baseline, ``test`` on a
database not at the version before head), gives ``version_control`` this
repository's initial version as default instead of 0, masks passwords in
everything printed, and turns any failure into one line with exit status 2.
"""
import contextlib
import io
import sys

from nova_schema import compat
from nova_schema import exception
from nova_schema import masking
from nova_schema import repository

EXIT_ERROR = 2
# The commands that change the database: they run under db sync's lock.
CHANGING_COMMANDS = ('upgrade', 'downgrade', 'version_control',
                     'drop_version_control', 'test')
# The commands that read a database without changing it.
URL_COMMANDS = ('db_version', 'compare_model_to_db')


class Refused(Exception):
    pass


def _split(arguments):
    positional = [arg for arg in arguments if not arg.startswith('-')]
    options = dict(arg[2:].split('=', 1) for arg in arguments
                   if arg.startswith('--') and '=' in arg)
    return positional, options


def _version_argument(positional, options):
    version = options.get('version',
                          positional[1] if len(positional) > 1 else None)
    if version is None:
        return None
    try:
        return int(version)
    except ValueError:
        raise Refused('version must be a whole number, not %r' % version)


def _recorded_version(url):
    from migrate import exceptions
    from migrate.versioning import api
    try:
        return int(api.db_version(url, repository.REPOSITORY_PATH))
    except exceptions.DatabaseNotControlledError:
        return None


def prepare(argv):
    """``argv`` as it will be run, or Refused with the reason."""
    if not argv:
        return argv
    command, arguments = argv[0], argv[1:]
    positional, options = _split(arguments)
    version = _version_argument(positional, options)
    baseline = repository.baseline_version()
    if command in ('upgrade', 'downgrade') and version is not None:
        if version < baseline:
            raise Refused('version %d is below the baseline %d, which cannot '
                          'be downgraded' % (version, baseline))
    if command == 'version_control' and version is None and positional:
        return argv + [str(repository.INIT_VERSION)]
    if command == 'test' and positional:
        before_head = repository.head_version() - 1
        found = _recorded_version(positional[0])
        if found not in (None, before_head):
            raise Refused('test runs %d\'s upgrade and downgrade: the '
                          'database must be at %d, not %d'
                          % (before_head + 1, before_head, found))
    return argv


def _run(argv, **defaults):
    """Run migrate's shell; return (exit status, stdout, stderr)."""
    from migrate.versioning.shell import main as migrate_main
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            migrate_main(argv, debug='False',
                         repository=repository.REPOSITORY_PATH, **defaults)
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else EXIT_ERROR
        except Exception as error:  # noqa: reported as one line below
            status = EXIT_ERROR
            lines = str(error).strip().splitlines()
            print('error: %s: %s' % (type(error).__name__,
                                     lines[0] if lines else ''),
                  file=sys.stderr)
    return status, out.getvalue(), err.getvalue()


def _url_argument(arguments):
    """(URL, arguments less it) of a command that takes a URL first."""
    for index, argument in enumerate(arguments):
        if argument.startswith('--url='):
            return argument[len('--url='):], (arguments[:index] +
                                              arguments[index + 1:])
    for index, argument in enumerate(arguments):
        if not argument.startswith('-'):
            return argument, arguments[:index] + arguments[index + 1:]
    return None, arguments


def _run_locked(argv):
    """Run a command that changes the database under db sync's lock.

    NOTE: migrate's shell takes default keyword arguments: given ``url``
    as the lock session's Engine (and the URL taken out of the command
    line), its api function runs on that Engine, which it does not dispose
    of. So manage.py and nova-schema-manage never migrate at once, and on
    PostgreSQL and SQLite the command is one transaction too.
    """
    from nova_schema import api
    url, arguments = _url_argument(argv[1:])
    if url is None:
        return _run(argv)
    outcome = []

    def work(session):
        _refuse_alembic(session.base_engine, session)
        outcome.append(_run([argv[0]] + arguments, url=session.engine))
        if outcome[-1][0] == 0:
            session.commit()

    api.with_migration_lock(url, work, doing='during manage.py %s' % argv[0])
    return outcome[-1]


def _refuse_alembic(engine, session=None):
    """Refused: a database alembic manages (handed off, or started on
    alembic) is no longer sqlalchemy-migrate's to read or change."""
    from nova_schema import database
    from nova_schema import handoff
    if session is not None:
        state = handoff.read_state(session)
    else:
        with engine.connect() as connection:
            state = database.read_version_state(connection)
    try:
        handoff.refuse_if_managed(engine, state)
    except exception.AlembicManaged as refusal:
        raise Refused(str(refusal))


def _check_not_alembic(argv):
    """Before sqlalchemy-migrate reads or changes a database at all."""
    from nova_schema import database
    url, _ = _url_argument(argv[1:])
    if url is None:
        return
    try:
        engine = database.get_engine(url, must_exist=True)
    except exception.DatabaseUnreachable:
        return  # NOTE: sqlalchemy-migrate says what is wrong with it.
    try:
        _refuse_alembic(engine)
    except (database.CONNECTION_ERRORS + database.DBAPI_ERRORS):
        return
    finally:
        engine.dispose()


def _one_line(err):
    # NOTE: optparse prints the command's whole docstring before the
    # "error:" line; only that line is the answer.
    errors = [line for line in err.splitlines() if 'error:' in line]
    message = errors[-1] if errors else err.strip() or 'failed'
    return message.split('error:', 1)[-1].strip()


def main(argv=None):
    compat.install_getargspec()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = prepare(argv)
        if argv and argv[0] in CHANGING_COMMANDS + URL_COMMANDS:
            _check_not_alembic(argv)
        if argv and argv[0] in CHANGING_COMMANDS:
            status, out, err = _run_locked(argv)
        else:
            status, out, err = _run(argv)
    except Refused as refusal:
        status, out, err = EXIT_ERROR, '', 'error: %s' % refusal
    except exception.NovaSchemaError as error:
        status, out, err = EXIT_ERROR, '', 'error: %s' % error
    except Exception as error:  # noqa: e.g. an unreadable database
        status, out, err = EXIT_ERROR, '', 'error: %s: %s' % (
            type(error).__name__, (str(error).strip().splitlines() or
                                   [''])[0])
    sys.stdout.write(masking.mask(out))
    if status:
        print('manage.py: error: %s' % masking.mask(_one_line(err)),
              file=sys.stderr)
        return EXIT_ERROR
    sys.stderr.write(masking.mask(err))
    return 0
