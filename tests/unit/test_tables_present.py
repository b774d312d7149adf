"""Which tables a step's pre-flight check found, for the step's own
existence checks (nova_schema.preflight.tables_present).

Each case is a state a cut MySQL step leaves: the first ``done``
operations are in the database, the rest are not.
"""
import testtools

from nova_schema import plan
from nova_schema import preflight


class TestTablesPresent(testtools.TestCase):

    def present(self, start, end, done):
        return preflight.tables_present(
            preflight.Position(plan.plan(start, end), done))

    def test_upgrade(self):
        for done, expected in (
                (0, {'compute_node_stats': True,
                     'shadow_compute_node_stats': True}),
                (1, {'compute_node_stats': False,
                     'shadow_compute_node_stats': True}),
                (2, {'compute_node_stats': False,
                     'shadow_compute_node_stats': False}),
                (4, {'compute_node_stats': False,
                     'shadow_compute_node_stats': False})):
            self.assertEqual(expected, self.present(232, 233, done), done)

    def test_downgrade(self):
        for done, expected in (
                (0, {'compute_node_stats': False,
                     'shadow_compute_node_stats': False}),
                (2, {'compute_node_stats': False,
                     'shadow_compute_node_stats': False}),
                # NOTE: created, perhaps with only some of its indexes.
                (3, {'compute_node_stats': True,
                     'shadow_compute_node_stats': False}),
                (4, {'compute_node_stats': True,
                     'shadow_compute_node_stats': True})):
            self.assertEqual(expected, self.present(233, 232, done), done)
