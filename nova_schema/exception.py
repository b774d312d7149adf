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
