#!/usr/bin/env python
"""sqlalchemy-migrate's own shell for this repository, from any directory.

    python migrate_repo/manage.py version_control URL [VERSION]
    python migrate_repo/manage.py upgrade URL [VERSION]
    python migrate_repo/manage.py downgrade URL VERSION
    python migrate_repo/manage.py db_version URL
    python migrate_repo/manage.py version
    python migrate_repo/manage.py test URL

Its output is passed through with passwords masked; a failure is reported as
one line on stderr with exit status 2 instead of a usage text or traceback.
"""
import contextlib
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _run_shell(argv):
    """Run migrate's shell; return (exit status, stdout text, stderr text)."""
    from migrate.versioning.shell import main as migrate_main
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            migrate_main(argv, debug='False', repository=HERE)
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 2
        except Exception as error:  # noqa: reported as one line below
            status = 2
            lines = str(error).strip().splitlines()
            print('error: %s: %s' % (type(error).__name__,
                                     lines[0] if lines else ''),
                  file=sys.stderr)
    return status, out.getvalue(), err.getvalue()


def main(argv=None):
    sys.path.insert(0, os.path.dirname(HERE))
    from nova_schema import compat
    from nova_schema import masking
    compat.install_getargspec()
    argv = list(sys.argv[1:] if argv is None else argv)
    status, out, err = _run_shell(argv)
    sys.stdout.write(masking.mask(out))
    if status:
        # NOTE: optparse prints the command's whole docstring before the
        # "error:" line; only that line is the answer.
        errors = [line for line in err.splitlines() if 'error:' in line]
        message = errors[-1] if errors else err.strip() or 'failed'
        message = message.split('error:', 1)[-1].strip()
        print('manage.py: error: %s' % masking.mask(message), file=sys.stderr)
        return 2
    sys.stderr.write(masking.mask(err))
    return 0


if __name__ == '__main__':
    sys.exit(main())
