"""Where long work inside a migration script says how far it has got.

A migration script cannot take a callback: sqlalchemy-migrate calls it
with an engine only. db sync sets the reporter for the step it runs
(``reporting``); work inside it (a fill in batches) calls ``report``,
which goes nowhere outside a db sync (sqlalchemy-migrate's own shell).
"""
import contextlib
import contextvars

_reporter = contextvars.ContextVar('nova_schema_progress', default=None)


@contextlib.contextmanager
def reporting(on_progress):
    """While inside, ``report(message)`` calls ``on_progress(message)``."""
    token = _reporter.set(on_progress)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(message):
    reporter = _reporter.get()
    if reporter is not None:
        reporter(message)
