"""db sync reads the version row back after each step.

Another process (or a broken version update) may leave the version row
saying something else than the step just applied. Here an
``after_cursor_execute`` listener plays that process: right after the
step's own ``UPDATE migrate_version SET version=N ...``, on the same cursor
(so in the same transaction where there is one), it writes the old version
back. db sync must then fail with one line naming what it read, exit 2.
"""
import contextlib

from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy
from sqlalchemy import event
import testtools

from tests import base
from tests.functional import command_base

EXIT_ERROR = 2
VERSION_UPDATE = 'UPDATE migrate_version SET version='


@contextlib.contextmanager
def version_reset(after, back_to):
    """Set the version back to ``back_to`` once a step has set ``after``.

    Yields the list of resets made, so a test can tell the listener fired.
    """
    resets = []

    def reset(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(VERSION_UPDATE):
            return
        # NOTE: SET version comes first: the first positional parameter.
        new_version = (parameters['version'] if isinstance(parameters, dict)
                       else parameters[0])
        if new_version != after:
            return
        cursor.execute("UPDATE migrate_version SET version=%d "
                       "WHERE repository_id = 'nova'" % back_to)
        resets.append((after, back_to))

    target = sqlalchemy.engine.Engine
    event.listen(target, 'after_cursor_execute', reset)
    try:
        yield resets
    finally:
        event.remove(target, 'after_cursor_execute', reset)


class VersionReadBackChecks(command_base.CommandChecks):

    def assertChangedBehindItsBack(self, result, found, expected):
        self.assertEqual(
            (EXIT_ERROR,
             'nova-schema-manage: error: version table of %s says %d after '
             'migrating to %d; another process changed it\n'
             % (self.masked_url, found, expected)),
            (result.status, result.err), result)
        self.assertNotIn('done', result.out)

    def test_upgrade_to_233(self):
        self.build(232)
        with version_reset(233, back_to=232) as resets:
            result = self.run_cli('db', 'sync')
        self.assertEqual([(233, 232)], resets)
        self.assertChangedBehindItsBack(result, 232, 233)
        self.assertEqual(232, self.version())

    def test_downgrade_to_232(self):
        self.build(233)
        with version_reset(232, back_to=233) as resets:
            result = self.run_cli('db', 'sync', '232')
        self.assertEqual([(232, 233)], resets)
        self.assertChangedBehindItsBack(result, 233, 232)
        self.assertEqual(233, self.version())

    def test_each_step_not_only_the_last(self):
        # NOTE: the baseline step (231 -> 232) of an empty database; the
        # run must stop there, before 233.
        self.create_empty_database()
        with version_reset(232, back_to=231) as resets:
            result = self.run_cli('db', 'sync')
        self.assertEqual([(232, 231)], resets)
        self.assertChangedBehindItsBack(result, 231, 232)
        self.assertNotIn('232 -> 233', result.out)
        self.assertNotIn('stats', [column['name'] for column in
                                   self.compute_nodes_columns()])

    def compute_nodes_columns(self):
        inspector = sqlalchemy.inspect(self.engine)
        if not inspector.has_table('compute_nodes'):
            return []
        return inspector.get_columns('compute_nodes')


class TestVersionReadBackSQLite(VersionReadBackChecks,
                                base.DatabaseTestMixin,
                                test_fixtures.OpportunisticDBTestMixin,
                                testtools.TestCase):
    pass


class TestVersionReadBackMySQL(VersionReadBackChecks,
                               base.DatabaseTestMixin,
                               test_fixtures.OpportunisticDBTestMixin,
                               testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class TestVersionReadBackPostgreSQL(VersionReadBackChecks,
                                    base.DatabaseTestMixin,
                                    test_fixtures.OpportunisticDBTestMixin,
                                    testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
