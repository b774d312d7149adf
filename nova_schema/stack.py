"""Which stack this Python has: the legacy one (SQLAlchemy 1.4 with
sqlalchemy-migrate 0.13 and oslo.db 12.3, ``nova_schema[legacy]``) that
migrate_repo needs, or only the modern one (SQLAlchemy 2, alembic) on which
the read-only commands and the alembic side run."""
import importlib.util

import sqlalchemy

from nova_schema import exception

LEGACY_EXTRA = 'nova_schema[legacy]'
# What migrate_repo's side imports, beyond the package's own requirements.
LEGACY_MODULES = ('migrate', 'oslo_db')


def legacy_missing():
    """Why the legacy stack cannot run in this Python, or None if it can."""
    if int(sqlalchemy.__version__.split('.')[0]) >= 2:
        return ('SQLAlchemy %s is installed; sqlalchemy-migrate needs '
                'SQLAlchemy < 2' % sqlalchemy.__version__)
    for module in LEGACY_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            return 'module %s is not installed' % module
    return None


def _message(missing):
    return ('this needs the sqlalchemy-migrate stack, which this Python '
            'lacks (%s); install the extra %s (from a clone: pip install -c '
            'upper-constraints.txt ".[legacy]"), or start an empty database '
            'on alembic with db sync --alembic' % (missing, LEGACY_EXTRA))


def require_legacy():
    """Raise LegacyStackMissing unless the legacy stack can run here."""
    missing = legacy_missing()
    if missing is not None:
        raise exception.LegacyStackMissing(_message(missing))


def legacy_error(error):
    """One line for ``error`` if it is an import failure because the
    legacy stack is not installed, else None."""
    if not isinstance(error, ImportError):
        return None
    missing = legacy_missing()
    if missing is None:
        return None
    return _message(missing)
