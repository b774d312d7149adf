"""The SQL a migration sends: recorded, rendered as text, or held back.

Used by ``db sync --dry-run``, by the tests that compare a dry run with a
real one, and by the benchmark that replays a migration's own statements.
Reads (reflection, version lookups) are not part of what is shown: only the
statements that change the database are.
"""
import contextlib
import datetime
import re

from sqlalchemy import event

_READS = re.compile(r'^\s*(SELECT|SHOW|DESCRIBE|EXPLAIN|WITH)\b', re.I)
# PRAGMA name; and PRAGMA name(arg) read; PRAGMA name = value writes.
_PRAGMA_READ = re.compile(r'^\s*PRAGMA\s+[\w.]+\s*(\([^)]*\))?\s*;?\s*$', re.I)
_PYFORMAT = re.compile(r'%\((\w+)\)s|%s')


def changes_database(statement):
    return not (_READS.match(statement) or _PRAGMA_READ.match(statement))


def _literal(value, dialect):
    if value is None:
        return 'NULL'
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        value = value.isoformat(' ')
    text = str(value).replace("'", "''")
    # NOTE: SQLAlchemy's MySQL dialect knows whether the server's sql_mode
    # lets a backslash escape; the others never do.
    if getattr(dialect, '_backslash_escapes', False):
        text = text.replace('\\', '\\\\')
    return "'%s'" % text


def render(statement, parameters, dialect):
    """One line of SQL, parameters inlined as literals, ending in ``;``."""
    if parameters:
        if dialect.paramstyle == 'qmark':
            values = iter(parameters)
            statement = re.sub(
                r'\?', lambda m: _literal(next(values), dialect), statement)
        else:
            positional = iter(parameters if isinstance(parameters,
                                                       (list, tuple)) else ())

            def substitute(match):
                if match.group(1):
                    return _literal(parameters[match.group(1)], dialect)
                return _literal(next(positional), dialect)

            statement = _PYFORMAT.sub(substitute, statement)
            statement = statement.replace('%%', '%')
    return ' '.join(statement.split()).rstrip(';') + ';'


class StatementLog(object):
    """Renders every database-changing statement run on ``engine``.

    With ``hold_back=True`` those statements are recorded but not sent to
    the database (reads still are): the scripts see the database as it is.
    """

    def __init__(self, engine, hold_back=False):
        self.engine = engine
        self.hold_back = hold_back
        self.statements = []

    def _record(self, cursor, statement, parameters, context):
        if not changes_database(statement):
            return None
        self.statements.append(
            render(statement, parameters, self.engine.dialect))
        return True if self.hold_back else None

    def _record_no_params(self, cursor, statement, context):
        return self._record(cursor, statement, None, context)

    def _record_many(self, cursor, statement, parameters, context):
        if not changes_database(statement):
            return None
        for row in parameters:
            self.statements.append(
                render(statement, row, self.engine.dialect))
        return True if self.hold_back else None

    @contextlib.contextmanager
    def recording(self):
        hooks = [('do_execute', self._record),
                 ('do_execute_no_params', self._record_no_params),
                 ('do_executemany', self._record_many)]
        for name, hook in hooks:
            event.listen(self.engine, name, hook)
        try:
            yield self.statements
        finally:
            for name, hook in hooks:
                event.remove(self.engine, name, hook)
