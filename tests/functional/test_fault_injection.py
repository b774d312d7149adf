"""A db sync that fails after any statement of 233 can be finished.

For every statement the upgrade and the downgrade of 233 execute (reads and
reflection aside, the migrate_version UPDATE included), a run is made to
fail right after that statement, from an ``after_cursor_execute`` listener.
Then, on PostgreSQL and SQLite, the database must be exactly as before the
run (schema, rows, version); on every backend the version must still be the
starting one, and running db sync again must give exactly the schema and
rows of a clean run on a separate database seeded with the same data.
"""
import re

import sqlalchemy
from testtools import content

from nova_schema import api
from nova_schema import exception
from tests.functional import sync_support as support


def _prepare_upgrade(engine):
    api.db_sync(engine, support.BASELINE)
    support.insert(engine, support.seed_data_232())


def _prepare_downgrade(engine):
    _prepare_upgrade(engine)
    api.db_sync(engine, support.HEAD)
    support.change_data_233(engine)


def _unordered_indexes(statements):
    """Statements with index names left out.

    SQLAlchemy creates a table's indexes in the order of a set
    (``Table.indexes``), which changes from one process to the next; which
    index comes first does not matter to the end schema.
    """
    return [re.sub(r'^CREATE INDEX \S+ ON (\S+).*', r'CREATE INDEX ON \1',
                   statement) for statement in statements]


class FaultInjectionChecks(object):

    def check_interrupted(self, engine):
        return []

    def _clean_run(self, prepare, start, end):
        """The state before, statements and state after a clean run.

        ``prepare`` is deterministic: every fault point starts from the
        state recorded here before the run.
        """
        with self.database() as reference:
            prepare(reference.engine)
            before = support.snapshot(reference.engine)
            with support.recorded_writes() as statements:
                steps = api.db_sync(reference.engine, end)
            self.assertEqual([(start, end)],
                             [(step.start, step.end) for step in steps])
            return before, list(statements), support.snapshot(
                reference.engine)

    def _check_fault_points(self, prepare, start, end):
        before, statements, expected = self._clean_run(prepare, start, end)
        direction = 'upgrade' if end > start else 'downgrade'
        self.assertIn('UPDATE migrate_version SET version', statements[-1])
        failures = []
        database = self.fresh_database()
        for number in range(1, len(statements) + 1):
            label = '%s %s fault after statement %d/%d (%s)' % (
                self.BACKEND, direction, number, len(statements),
                statements[number - 1])
            if number > 1:
                self.reset(database)
            problems = self._fault_point(database.engine, prepare, start,
                                         end, number, statements, before,
                                         expected)
            failures.extend('%s: %s' % (label, problem)
                            for problem in problems)
        self.addDetail('%s-fault-points' % direction, content.text_content(
            '%d fault points on %s:\n%s' % (
                len(statements), self.BACKEND, '\n'.join(statements))))
        if failures:
            self.fail('%d problem(s):\n%s' % (len(failures),
                                              '\n'.join(failures)))
        return len(statements)

    def _fault_point(self, engine, prepare, start, end, number, statements,
                     before, expected):
        prepare(engine)
        problems = []
        try:
            with support.fault_after(number) as seen:
                api.db_sync(engine, end)
        except exception.MigrationFailed as error:
            if 'injected fault after statement %d' % number not in str(error):
                problems.append('failed with another error: %s' % error)
            again = 'db sync' if end > start else 'db sync %d' % end
            outcome = ('nothing was changed' if self.TRANSACTIONAL
                       else '%s again finishes the step' % again)
            if outcome not in str(error):
                problems.append('message does not say %r: %s'
                                % (outcome, error))
        except Exception as error:  # noqa: reported with the fault point
            problems.append('raised %s instead of MigrationFailed: %s'
                            % (type(error).__name__, error))
        else:
            problems.append('db sync did not fail')
        if _unordered_indexes(seen) != _unordered_indexes(
                statements[:number]):
            problems.append('statements differ from a clean run: %s'
                            % seen)
        interrupted = support.versions(engine)
        if interrupted != before['versions']:
            problems.append('version changed by a failed run: %s -> %s'
                            % (before['versions'], interrupted))
        if self.TRANSACTIONAL:
            problems.extend('left a trace: %s' % problem for problem in
                            support.differences(before,
                                                support.snapshot(engine)))
        problems.extend(self.check_interrupted(engine))
        try:
            steps = api.db_sync(engine, end)
        except Exception as error:  # noqa: reported with the fault point
            return problems + ['db sync again failed: %s' % error]
        if [(step.start, step.end) for step in steps] != [(start, end)]:
            problems.append('db sync again applied %s' % (steps,))
        problems.extend('after db sync again: %s' % problem for problem in
                        support.differences(expected,
                                            support.snapshot(engine)))
        return problems

    def test_upgrade_fault_points(self):
        count = self._check_fault_points(_prepare_upgrade, support.BASELINE,
                                         support.HEAD)
        self.assertGreaterEqual(count, 7)

    def test_downgrade_fault_points(self):
        count = self._check_fault_points(_prepare_downgrade, support.HEAD,
                                         support.BASELINE)
        self.assertGreaterEqual(count, 7)

    def test_fault_in_a_run_from_an_empty_database(self):
        """A run of both steps failing in the second one.

        PostgreSQL and SQLite roll back the whole run, baseline and version
        table included; MySQL keeps the finished baseline. Either way db
        sync again reaches the clean schema.
        """
        with self.database() as reference:
            with support.recorded_writes() as statements:
                api.db_sync(reference.engine)
        expected = self.clean_run(None)
        database = self.fresh_database()
        with support.fault_after(len(statements) - 1):
            self.assertRaises(exception.MigrationFailed, api.db_sync,
                              database.engine)
        interrupted = support.snapshot(database.engine)
        if self.TRANSACTIONAL:
            self.assertEqual({'versions': None, 'schema': {}, 'rows': {}},
                             interrupted)
        else:
            self.assertEqual([('nova', support.BASELINE)],
                             interrupted['versions'])
        api.db_sync(database.engine)
        self.assertEqual([], support.differences(
            expected, support.snapshot(database.engine)))


class TestFaultInjectionSQLite(FaultInjectionChecks,
                               support.SQLiteTestCase):
    pass


class TestFaultInjectionMySQL(FaultInjectionChecks, support.MySQLTestCase):

    def check_interrupted(self, engine):
        """Even half way through a step, every table is InnoDB and utf8."""
        with engine.connect() as conn:
            tables = conn.execute(sqlalchemy.text(
                'SELECT TABLE_NAME, ENGINE, TABLE_COLLATION '
                'FROM information_schema.TABLES '
                'WHERE TABLE_SCHEMA = DATABASE()')).all()
        return ['interrupted: table %s is %s %s' % tuple(row)
                for row in tables
                if tuple(row[1:]) != ('InnoDB', 'utf8mb3_general_ci')]


class TestFaultInjectionPostgreSQL(FaultInjectionChecks,
                                   support.PostgreSQLTestCase):
    pass
