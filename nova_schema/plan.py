"""What each step of the repository does to which table, in order.

The pre-flight check derives from this the schemas a step may start from
(its start version's, or one a cut run left on a backend without
transactional DDL), and the dry run what a step discards. A test holds it
to the statements the migration scripts really send.
"""
import collections

Operation = collections.namedtuple('Operation', 'kind table column')
Operation.__doc__ = """``kind``: drop_table, create_table, add_column or
drop_column; ``column`` only for the column kinds."""

Plan = collections.namedtuple('Plan', 'start_variants end_variant operations')
Plan.__doc__ = """A step's plan: the ``db check`` variants it may start
from and the one it ends at, and its operations in order."""


def _op(kind, table, column=None):
    return Operation(kind, table, column)


PLANS = {
    (232, 233): Plan(('232', '232-downgraded'), '233', (
        _op('drop_table', 'compute_node_stats'),
        _op('drop_table', 'shadow_compute_node_stats'),
        _op('add_column', 'compute_nodes', 'stats'),
        _op('add_column', 'shadow_compute_nodes', 'stats'),
    )),
    (233, 232): Plan(('233',), '232-downgraded', (
        _op('drop_column', 'compute_nodes', 'stats'),
        _op('drop_column', 'shadow_compute_nodes', 'stats'),
        _op('create_table', 'compute_node_stats'),
        _op('create_table', 'shadow_compute_node_stats'),
    )),
}


def plan(start, end):
    """The plan of ``start -> end``, or None (the baseline has none)."""
    return PLANS.get((start, end))


def touched_tables(step_plan):
    return sorted({operation.table for operation in step_plan.operations})


def discarding(step_plan):
    """The operations whose data is lost: dropped tables and columns."""
    return [operation for operation in step_plan.operations
            if operation.kind in ('drop_table', 'drop_column')]
