"""The errors a user can act on: each carries one line that says what to do.

The command line prints ``str(error)`` and exits non-zero; anything else that
escapes is a bug and shows a traceback only with ``--debug``.
"""


class NovaSchemaError(Exception):
    """Base of every error this package reports to its users."""


class InvalidVersion(NovaSchemaError):
    """The requested version is not a number this repository can reach."""


class DatabaseUnreachable(NovaSchemaError):
    """No connection could be made, or the URL itself is unusable."""


class NotControlled(NovaSchemaError):
    """The database has tables but no version row of this repository."""


class ForeignDatabase(NovaSchemaError):
    """The database belongs to another migration repository."""


class UnknownDatabaseVersion(NovaSchemaError):
    """The version recorded in the database is not one of this repository's."""


class LockTimeout(NovaSchemaError):
    """Another migration held the database lock longer than allowed."""


class MigrationFailed(NovaSchemaError):
    """A migration step failed; the message says what state it left."""


class ConfigError(NovaSchemaError):
    """The configuration file or option is missing or malformed."""


class LockBusy(NovaSchemaError):
    """A bounded wait for a lock ran out; the caller may try again.

    ``what`` names the lock (a table, the migration lock, the database
    file), ``holders`` describes who holds it where the server tells, and
    ``usual_holder`` says who holds it when nobody is named.
    """

    def __init__(self, what, holders=(), usual_holder=None, tables=()):
        self.what = what
        # The tables whose lock holders are the ones to name.
        self.tables = list(tables)
        self.holders = list(holders or ())
        self.usual_holder = usual_holder
        super().__init__('waited for %s, held by %s' % (what, self.held_by))

    @property
    def held_by(self):
        if self.holders:
            return ', '.join(self.holders)
        return self.usual_holder or 'a session the server does not name'


class Interrupted(NovaSchemaError):
    """SIGINT or SIGTERM ended the command; ``exit_status`` is 128 + N."""

    def __init__(self, message, signal_number):
        super().__init__(message)
        self.exit_status = 128 + signal_number


class StrategyUnavailable(NovaSchemaError):
    """The strategy asked for cannot be used here; nothing changed."""


class PreflightRefused(NovaSchemaError):
    """The live schema is not one a step can start from; nothing changed."""


class NotHandedOff(NovaSchemaError):
    """alembic was asked to run on a database sqlalchemy-migrate still
    manages; nothing changed."""


class AlembicManaged(NovaSchemaError):
    """sqlalchemy-migrate was asked to run on a database alembic manages
    (handed off, or started on alembic); nothing changed."""


class HandoffRefused(NovaSchemaError):
    """The database cannot be handed off (or given back) as it is."""


class LegacyStackMissing(NovaSchemaError):
    """The work needs sqlalchemy-migrate's stack (nova_schema[legacy]), and
    this Python has only the modern one."""
