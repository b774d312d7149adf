"""db handoff on SQLite, MySQL and PostgreSQL: from sqlalchemy-migrate to
alembic at 233, once, and back with --undo.

Needs the legacy stack (sqlalchemy-migrate builds the databases handed
off). The schema alembic's initial revision builds must be the one
migrate_repo leaves at 233, and the one a handed-off Nova-made 232
database ends with, in full: reflection and what each server stores
(SQLite's DDL text, MySQL's SHOW CREATE TABLE and database charset,
PostgreSQL's constraint and index definitions and sequences).
"""
import re

import fixtures
import sqlalchemy

from nova_schema import api
from tests import base
from tests import cli_helpers as helpers
from tests.functional import schema_dump
from tests.functional import sync_support as support
from tests.functional import test_alembic_environment as alembic_env

HANDED_OFF = re.compile(r'^database \S+ handed off to alembic at 233: '
                        r'revision 233_initial$')
ALREADY = re.compile(r'^database \S+ is already at revision 233_initial '
                     r'\(alembic, handed off from sqlalchemy-migrate at '
                     r'233\); nothing to do$')
PROCESSES = 4


def nova_rows(engine):
    """Every row of Nova's tables (not of the version tables)."""
    return {name: table_rows for name, table_rows
            in support.snapshot(engine)['rows'].items()
            if name not in schema_dump.VERSION_TABLES}


def nova_database(engine, version, rows=True):
    """A database as Nova's sqlalchemy-migrate left it (its own path in
    migrate_version), with Nova's rows."""
    helpers.build_nova_database(engine, version, helpers.NOVA_REPOSITORY_PATH)
    if rows and version == 232:
        support.insert(engine, support.seed_data_232())


class HandoffChecks(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(300, gentle=True))

    def cli(self, url, *args):
        process = support.run_cli(self, url, *args)
        return process.popen.returncode, process.stdout, process.stderr

    def assertOneError(self, result, fragment):
        status, out, err = result
        self.assertEqual((2, ''), (status, out), err)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn(fragment, err)

    def handed_off(self, version=233):
        database = self.fresh_database()
        nova_database(database.engine, version)
        status, out, err = self.cli(database.url, 'handoff')
        self.assertEqual((0, ''), (status, base.without_notes(err)))
        self.assertRegex(out.splitlines()[-1], HANDED_OFF)
        return database

    def test_alembic_migrate_repo_and_handoff_build_one_schema(self):
        by_alembic = self.fresh_database()
        api.db_sync(by_alembic.engine, alembic=True)
        by_migrate = self.fresh_database()
        helpers.build_nova_database(by_migrate.engine, 233)
        handed_off = self.handed_off(232)

        expected = schema_dump.full_schema(by_migrate.engine)
        self.assertEqual(expected, schema_dump.full_schema(by_alembic.engine))
        self.assertEqual(expected, schema_dump.full_schema(handed_off.engine))
        # alembic's own table too: utf8 on MySQL either way.
        self.assertEqual(
            schema_dump.version_table_options(handed_off.engine),
            schema_dump.version_table_options(by_alembic.engine))
        self.assertEqual(['233_initial'],
                         schema_dump.alembic_revisions(handed_off.engine))
        self.assertEqual([('nova', 233)], support.versions(handed_off.engine))
        self.assertIsNone(support.versions(by_alembic.engine))
        # Nova's rows, as 233 leaves them.
        self.assertEqual(
            self.clean_run(support.prepare_232)['rows'],
            nova_rows(handed_off.engine))

    def test_a_handed_off_database_is_alembic_s(self):
        database = self.handed_off()
        url = database.url
        self.assertEqual((0, '233_initial (alembic, handed off from '
                          'sqlalchemy-migrate at 233)\n', ''),
                         self.cli(url, 'version'))
        status, out, err = self.cli(url, 'check')
        self.assertEqual((0, ''), (status, err))
        self.assertIn('matches alembic revision 233_initial', out)
        status, out, err = self.cli(url, 'history')
        self.assertEqual((0, ''), (status, err))
        lines = out.splitlines()
        self.assertEqual(3, len(lines), out)
        self.assertTrue(lines[1].endswith('(handed off to alembic here)'))
        self.assertTrue(lines[2].startswith('* 233_initial'), out)
        self.assertEqual((0, 'already at revision 233_initial\n', ''),
                         self.cli(url, 'sync'))

        before = support.snapshot(database.engine)
        for args in (('sync', '232'), ('version_control', '233')):
            self.assertOneError(self.cli(url, *args), 'is managed by alembic')
        for command in (['downgrade', url, '232'], ['db_version', url]):
            result = helpers.run_manage(command)
            self.assertEqual((2, ''), (result.status, result.out), command)
            self.assertEqual(1, len(result.err.splitlines()), result.err)
            self.assertIn('is managed by alembic', result.err)
        self.assertEqual(before, support.snapshot(database.engine))

        for args, out in ((('current',), '233_initial (head)'),
                          (('check',), 'No new upgrade operations'),
                          (('upgrade', 'head'), '')):
            result = alembic_env.run(alembic_env.alembic_command(url, *args))
            self.assertEqual(0, result.returncode, result.stderr)
            self.assertIn(out, result.stdout)
        self.assertEqual(before, support.snapshot(database.engine))

    def test_a_drifted_database_is_refused(self):
        database = self.fresh_database()
        nova_database(database.engine, 233)
        with database.engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                'ALTER TABLE compute_nodes ADD COLUMN flavor INTEGER'))
        before = support.snapshot(database.engine)
        self.assertOneError(
            self.cli(database.url, 'handoff'),
            'does not have the schema of version 233 (2 differences, first: '
            'compute_nodes: column flavor is not expected; db check lists '
            'them); refusing to hand it off; nothing was changed')
        self.assertEqual(before, support.snapshot(database.engine))
        self.assertIsNone(schema_dump.alembic_revisions(database.engine))

    def test_undo_gives_it_back_at_the_initial_revision_only(self):
        database = self.handed_off()
        status, out, err = self.cli(database.url, 'handoff', '--undo')
        self.assertEqual((0, ''), (status, err))
        self.assertIn('given back to sqlalchemy-migrate at 233', out)
        self.assertIsNone(schema_dump.alembic_revisions(database.engine))
        self.assertEqual((0, '233\n', ''), self.cli(database.url, 'version'))
        self.assertEqual(0, self.cli(database.url, 'check')[0])
        self.assertOneError(self.cli(database.url, 'handoff', '--undo'),
                            'was not handed off to alembic; nothing to undo')

        born = self.fresh_database()
        api.db_sync(born.engine, alembic=True)
        self.assertOneError(self.cli(born.url, 'handoff', '--undo'),
                            'was started on alembic')
        self.assertOneError(self.cli(born.url, 'sync', '232'),
                            'is managed by alembic')

    def test_concurrent_handoffs_hand_off_once(self):
        database = self.fresh_database()
        nova_database(database.engine, 232)
        processes = [support.Process(self, database.url, 'handoff')
                     for _ in range(PROCESSES)]
        for process in processes:
            process.wait()
        report = '\n'.join(process.describe() for process in processes)
        self.assertEqual([0] * PROCESSES,
                         [process.popen.returncode for process in processes],
                         report)
        last_lines = sorted(
            'handed off' if HANDED_OFF.match(process.stdout.splitlines()[-1])
            else 'already' if ALREADY.match(process.stdout.splitlines()[-1])
            else process.stdout for process in processes)
        self.assertEqual(['already'] * (PROCESSES - 1) + ['handed off'],
                         last_lines, report)
        self.assertEqual(1, sum(process.stdout.count('232 -> 233')
                                for process in processes), report)
        self.assertEqual(['233_initial'],
                         schema_dump.alembic_revisions(database.engine))
        self.assertEqual([('nova', 233)], support.versions(database.engine))
        self.assertEqual(
            self.clean_run(support.prepare_232)['rows'],
            nova_rows(database.engine))


class TestHandoffSQLite(HandoffChecks, support.SQLiteTestCase):
    pass


class TestHandoffMySQL(HandoffChecks, support.MySQLTestCase):
    pass


class TestHandoffPostgreSQL(HandoffChecks, support.PostgreSQLTestCase):
    pass
