"""How 233's upgrade adds ``stats``: Nova's statements, or instant DDL.

``classic`` is Nova's: ``ALTER TABLE t ADD stats TEXT`` then ``UPDATE t SET
stats='{}'`` over every row (minutes and a doubled table at scale).
``instant`` reaches the same end state in constant time where the server
can: the column is added with a server default '{}', which the existing
rows take without being rewritten, and the default is then dropped, so
rows inserted later get NULL exactly as after the classic path. ``auto``
is instant where the server and the tables allow it, classic elsewhere.

The migration script reads the strategy in force from here: db sync sets
it for the step it runs, once it has asked the server; sqlalchemy-migrate's
own shell and API take it from the environment variable
``NOVA_SCHEMA_STRATEGY``, classic by default, so that they keep Nova's
statements unless told otherwise (and then ``auto`` falls back to classic
where instant cannot be used, and ``instant`` fails there).
"""
import contextlib
import contextvars
import os

from nova_schema import exception

CLASSIC, INSTANT, AUTO = 'classic', 'instant', 'auto'
CHOICES = (AUTO, INSTANT, CLASSIC)
ENVIRONMENT_VARIABLE = 'NOVA_SCHEMA_STRATEGY'

_in_force = contextvars.ContextVar('nova_schema_strategy', default=None)
_checked = contextvars.ContextVar('nova_schema_strategy_checked',
                                  default=False)


def validate(name):
    if name not in CHOICES:
        raise exception.StrategyUnavailable(
            'strategy must be one of %s, not %r' % (', '.join(CHOICES), name))
    return name


def in_force():
    """auto, instant or classic: what the script running now is asked to
    do (db sync sets it per step; otherwise the environment, classic by
    default)."""
    name = _in_force.get()
    if name is None:
        name = validate(os.environ.get(ENVIRONMENT_VARIABLE) or CLASSIC)
    return name


def checked():
    """True when the strategy in force was chosen after asking the server
    (db sync does, per step): the script need not ask again."""
    return _checked.get()


@contextlib.contextmanager
def using(name, checked=False):
    token = _in_force.set(validate(name))
    checked_token = _checked.set(checked)
    try:
        yield
    finally:
        _checked.reset(checked_token)
        _in_force.reset(token)
