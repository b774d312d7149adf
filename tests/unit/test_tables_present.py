"""Which tables a step's pre-flight check found, for the step's own
existence checks (nova_schema.preflight.tables_present).

Each case is a state a cut MySQL step leaves: the first ``done``
operations are in the database, the rest are not.
"""
import testtools

from nova_schema import plan
from nova_schema import preflight


class TestTablesPresent(testtools.TestCase):

    def test_each_state_a_cut_step_leaves(self):
        stats = ('compute_node_stats', 'shadow_compute_node_stats')
        for (start, end), done, present in (
                ((232, 233), 0, (True, True)),
                ((232, 233), 1, (False, True)),
                ((232, 233), 2, (False, False)),
                ((232, 233), 4, (False, False)),
                ((233, 232), 0, (False, False)),
                ((233, 232), 2, (False, False)),
                # NOTE: created, perhaps with only some of its indexes.
                ((233, 232), 3, (True, False)),
                ((233, 232), 4, (True, True))):
            self.assertEqual(
                dict(zip(stats, present)),
                preflight.tables_present(preflight.Position(
                    plan.plan(start, end), done)), (start, end, done))
