"""What a step discards: counted when small, estimated when big.

Counting a million rows is a full scan that would cost more than the
instant strategy's whole step; past EXACT_UP_TO rows or EXACT_UP_TO_BYTES
of data by the server's statistics the estimate is reported, and said to
be one.
"""
import sqlalchemy
from sqlalchemy import event
import testtools

from nova_schema import backends
from nova_schema import plan
from nova_schema import preflight


class _Statistics(object):
    """A backend whose server estimates ``estimates`` rows per table, and
    ``sizes`` bytes."""

    def __init__(self, estimates, counts, sizes=None):
        self.estimates, self.counts = estimates, counts
        self.sizes = sizes or {}
        self.counted = []
        self.asked = []

    def table_estimates(self, connection, tables):
        self.asked.append(tables)
        return {table: (self.estimates.get(table), self.sizes.get(table))
                for table in tables}

    def count_rows(self, connection, table, column=None):
        self.counted.append((table, column))
        return self.counts[table]


class TestDiscards(testtools.TestCase):

    def test_big_tables_are_estimated_small_ones_counted(self):
        backend = _Statistics({'compute_node_stats': 1000000,
                               'shadow_compute_node_stats': 12},
                              {'shadow_compute_node_stats': 11})
        position = preflight.Position(plan.plan(232, 233), 0)
        found = preflight.discards(None, backend, position)
        self.assertEqual(
            [('compute_node_stats', None, 1000000, True),
             ('shadow_compute_node_stats', None, 11, False)],
            [tuple(item) for item in found])
        self.assertEqual([('shadow_compute_node_stats', None)],
                         backend.counted)
        self.assertEqual('compute_node_stats (about 1000000 rows), '
                         'shadow_compute_node_stats (11 rows)',
                         preflight.describe_discards(found))

    def test_few_rows_of_many_bytes_are_estimated(self):
        """1,000 compute_nodes rows with their ~2 KB cpu_info are 2.5 MB
        to scan; all tables' statistics are asked for at once."""
        backend = _Statistics({'compute_nodes': 1000,
                               'shadow_compute_nodes': 900},
                              {'shadow_compute_nodes': 899},
                              {'compute_nodes': 2621440,
                               'shadow_compute_nodes': 1048576})
        position = preflight.Position(plan.plan(233, 232), 0)
        found = preflight.discards(None, backend, position)
        self.assertEqual(
            [('compute_nodes', 'stats', 1000, True),
             ('shadow_compute_nodes', 'stats', 899, False)],
            [tuple(item) for item in found])
        self.assertEqual([['compute_nodes', 'shadow_compute_nodes']],
                         backend.asked)

    def test_no_statistics_means_a_count(self):
        backend = _Statistics({}, {'compute_nodes': 3,
                                   'shadow_compute_nodes': 1})
        position = preflight.Position(plan.plan(233, 232), 1)
        found = preflight.discards(None, backend, position)
        # NOTE: one operation done: compute_nodes.stats is gone already.
        self.assertEqual([('shadow_compute_nodes', 'stats', 1, False)],
                         [tuple(item) for item in found])


class TestSQLiteEstimate(testtools.TestCase):
    """SQLite has no row statistics: the span of rowids stands in, so a
    big table is not scanned; a small one is still counted exactly."""

    def discards(self, rows, plans=None):
        """What the downgrade's rest discards, with ``rows`` shadow rows;
        the query plan of each statement sent for it goes into ``plans``."""
        engine = sqlalchemy.create_engine('sqlite://')
        self.addCleanup(engine.dispose)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                'CREATE TABLE compute_nodes (id INTEGER PRIMARY KEY, '
                'stats TEXT)'))
            connection.execute(sqlalchemy.text(
                'CREATE TABLE shadow_compute_nodes (id INTEGER PRIMARY KEY, '
                'stats TEXT)'))
            connection.execute(sqlalchemy.text(
                "INSERT INTO shadow_compute_nodes (id, stats) VALUES "
                "(:id, :stats)"),
                [{'id': number + 1, 'stats': None if number % 2 else '{}'}
                 for number in range(rows)])
            position = preflight.Position(plan.plan(233, 232), 1)
            sent = []

            def record(conn, cursor, statement, *args):
                sent.append(statement)

            event.listen(connection, 'before_cursor_execute', record)
            found = preflight.discards(connection, backends.get(engine),
                                       position)
            event.remove(connection, 'before_cursor_execute', record)
            for statement in sent:
                if plans is not None:
                    plans.append((statement, [row[-1] for row in (
                        connection.exec_driver_sql(
                            'EXPLAIN QUERY PLAN ' + statement))]))
            return found

    def test_big_table_estimated(self):
        rows = preflight.EXACT_UP_TO + 2
        self.assertEqual([('shadow_compute_nodes', 'stats', rows, True)],
                         [tuple(item) for item in self.discards(rows)])

    def test_big_table_estimated_without_a_scan(self):
        # NOTE: SQLite scans the whole table for MAX(rowid) - MIN(rowid),
        # and searches its b-tree for each alone.
        plans = []
        self.discards(preflight.EXACT_UP_TO + 2, plans)
        self.assertNotEqual([], plans)
        for statement, steps in plans:
            self.assertEqual([], [step for step in steps
                                  if step.startswith('SCAN shadow_')],
                             statement)

    def test_small_table_counted(self):
        self.assertEqual([('shadow_compute_nodes', 'stats', 5, False)],
                         [tuple(item) for item in self.discards(10)])
