"""Before a step changes anything: can it start from this live schema?

A step may start from its start version's schema (as ``db check`` knows
it) or, on a backend whose DDL commits itself, from a state it leaves
behind when cut short (the first k of its operations done: that is how a
re-run finishes it). Anything else is refused before the first change:
running on would destroy data and then fail. So is a step that would drop
a table or column another table's foreign key or a view depends on.
"""
import collections

from nova_schema import check
from nova_schema import exception
from nova_schema import plan as plan_mod

Position = collections.namedtuple('Position', 'plan done')
Position.__doc__ = """Where a step stands: ``done`` of ``plan``'s
operations are already in the database (0 on a clean start)."""

Discard = collections.namedtuple('Discard', 'table column rows approximate')
Discard.__doc__ = """A table (or a table's column) whose data a step
discards: ``rows`` counted, or the server's estimate when ``approximate``."""

# NOTE: counting rows is a full scan, made under the migration lock: a
# million stats rows cost a third of a second on MariaDB (more than the
# instant strategy's whole step), and even 10,000 compute_nodes rows with
# their ~2 KB cpu_info cost 40 ms on MariaDB and 24 ms on PostgreSQL, most
# of a light step's overhead; 1,000 of them (2.5 MB) still 11-17 ms on
# MariaDB, more than the rest of the pre-flight check. Beyond this many
# rows or bytes of data by the server's own statistics its estimate of
# the rows is reported, said to be one.
EXACT_UP_TO = 1000
EXACT_UP_TO_BYTES = 1024 * 1024


def _candidates(step_plan, expected, resumable):
    """(done, schema, lenient table) of every state the step may be in."""
    touched = plan_mod.touched_tables(step_plan)
    operations = step_plan.operations
    end = expected[step_plan.end_variant]
    for variant in step_plan.start_variants:
        start = expected[variant]
        for done in range(len(operations) + 1 if resumable else 1):
            schema = {name: start[name] for name in touched if name in start}
            for operation in operations[:done]:
                if operation.kind == 'drop_table':
                    schema.pop(operation.table, None)
                else:
                    schema[operation.table] = end[operation.table]
            last = operations[done - 1] if done else None
            # NOTE: a cut create_table may have made the table and only
            # some of its indexes; a cut instant add_column may have left
            # the column's server default.
            lenient = (last if last and last.kind in ('create_table',
                                                      'add_column')
                       else None)
            yield done, schema, lenient


def _lenient(schema, operation):
    """``schema`` less what a cut ``operation`` may have left undone."""
    if operation is None or operation.table not in schema:
        return schema
    schema = dict(schema)
    table = dict(schema[operation.table])
    if operation.kind == 'create_table':
        table['indexes'] = []
    else:
        table['columns'] = [dict(column, default=None)
                            if column['name'] == operation.column else column
                            for column in table['columns']]
    schema[operation.table] = table
    return schema


def _differences(candidate, lenient, actual):
    return check.compare(_lenient(candidate, lenient),
                         _lenient(actual, lenient))


def live_schema(connection, backend, tables):
    return backend.normalize_schema(
        backend.describe_tables(connection, tables))


def locate(connection, backend, start, end):
    """The ``Position`` of ``start -> end`` in the live schema.

    ``PreflightRefused`` names the first difference from the start
    version's schema when the database is in no state the step can start
    from. None for a step without a plan (the baseline, checked apart).
    """
    step_plan = plan_mod.plan(start, end)
    if step_plan is None:
        return None
    expected = check.normalize_all(check.load_expected(backend.name),
                                   backend)
    end_schema = expected[step_plan.end_variant]
    refusal = backend.step_refusal(connection, step_plan, [
        name for name in end_schema
        if not end_schema[name]['primary_key']['columns']])
    if refusal:
        raise exception.PreflightRefused(
            '%d -> %d refused before any change: %s' % (start, end, refusal))
    actual = live_schema(connection, backend,
                         plan_mod.touched_tables(step_plan))
    closest = None
    for done, candidate, lenient in _candidates(
            step_plan, expected, not backend.transactional_ddl):
        differences = _differences(candidate, lenient, actual)
        if not differences:
            _check_dependents(connection, backend, step_plan, done, start,
                              end)
            return Position(step_plan, done)
        if closest is None or len(differences) < len(closest):
            closest = differences
    raise exception.PreflightRefused(
        '%d -> %d refused before any change: %s (the tables it changes are '
        'not as version %d has them; %d difference%s, db check lists them)'
        % (start, end, closest[0], start, len(closest),
           '' if len(closest) == 1 else 's'))


def _check_dependents(connection, backend, step_plan, done, start, end):
    managed = check.managed_table_names(backend.name)
    dropped = [operation for operation in step_plan.operations[done:]
               if operation.kind in ('drop_table', 'drop_column')]
    dependents = backend.dependents_of(
        connection, [(operation.table, operation.column)
                     for operation in dropped], managed)
    for operation in dropped:
        found = dependents[operation.table, operation.column]
        if found:
            what = ('table %s' % operation.table if operation.column is None
                    else 'column %s.%s' % (operation.table, operation.column))
            raise exception.PreflightRefused(
                '%d -> %d refused before any change: %s depends on %s, which '
                'the step drops; drop or change it first'
                % (start, end, ' and '.join(found), what))


def tables_present(position):
    """{table: whether it exists} for each table the step drops or
    creates, as the check that found ``position`` saw them: the first
    ``done`` operations are in the database (the last perhaps in part: a
    table created with only some of its indexes), the others are not."""
    present = {}
    for index, operation in enumerate(position.plan.operations):
        if operation.kind in ('drop_table', 'create_table'):
            done = index < position.done
            present[operation.table] = (
                done if operation.kind == 'create_table' else not done)
    return present


def check_baseline(state_tables, managed):
    """The baseline builds its tables; none of them may be there yet."""
    present = sorted(set(state_tables) & set(managed))
    if present:
        raise exception.PreflightRefused(
            'the baseline refused before any change: table %s already '
            'exists' % present[0])


def discards(connection, backend, position):
    """What the rest of a step discards: ``Discard`` per table or column
    with the number of rows (for a column, rows holding a value); for a
    table over ``EXACT_UP_TO`` rows or ``EXACT_UP_TO_BYTES`` of data by
    the server's statistics, their estimate of its rows instead."""
    pending = [operation for operation in
               plan_mod.discarding(position.plan)
               if operation not in position.plan.operations[:position.done]]
    estimates = backend.table_estimates(
        connection, sorted({operation.table for operation in pending}))
    found = []
    for operation in pending:
        rows, size = estimates[operation.table]
        if rows is not None and (rows > EXACT_UP_TO or (
                size is not None and size > EXACT_UP_TO_BYTES)):
            found.append(Discard(operation.table, operation.column, rows,
                                 True))
        else:
            found.append(Discard(operation.table, operation.column,
                                 backend.count_rows(connection,
                                                    operation.table,
                                                    operation.column),
                                 False))
    return found


def describe_discards(found):
    return ', '.join(
        '%s (%s%d row%s)' % (
            item.table if item.column is None
            else '%s.%s' % (item.table, item.column),
            'about ' if item.approximate else '', item.rows,
            '' if item.rows == 1 else 's')
        for item in found)


def half_applied(connection, backend, version):
    """``(start, end, done, total)`` of a step cut short at ``version``,
    or None: the schema is not a state any step leaves part-way."""
    if backend.transactional_ddl:
        return None
    for (start, end), step_plan in sorted(plan_mod.PLANS.items()):
        if start != version:
            continue
        expected = check.normalize_all(check.load_expected(backend.name),
                                       backend)
        actual = live_schema(connection, backend,
                             plan_mod.touched_tables(step_plan))
        for done, candidate, lenient in _candidates(step_plan, expected,
                                                    True):
            if done and not _differences(candidate, lenient, actual):
                return start, end, done, len(step_plan.operations)
    return None


def half_applied_text(found):
    start, end, done, total = found
    return ('%d -> %d half-applied (%d of %d operations done): run db sync '
            '%sto finish' % (start, end, done, total,
                             '' if end > start else '%d ' % end))
