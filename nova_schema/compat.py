"""The one shim this project applies to another library.

sqlalchemy-migrate 0.13.0's shell (``migrate.versioning.shell.main``, which
``manage.py`` runs) parses each command's arguments with
``inspect.getargspec``, removed in Python 3.11. Nothing else needs it, so it
is installed only by ``migrate_repo/manage.py``, never on import.
"""
import collections
import inspect

ArgSpec = collections.namedtuple('ArgSpec', 'args varargs keywords defaults')


def _getargspec(func):
    spec = inspect.getfullargspec(func)
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def install_getargspec():
    """Give ``inspect`` a ``getargspec`` if this Python lacks one."""
    if not hasattr(inspect, 'getargspec'):
        inspect.getargspec = _getargspec
