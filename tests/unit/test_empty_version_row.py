"""A version row for repository 'nova' whose version is NULL (SQLite).

Every command says the row is there but empty and what to do; db
version_control fills it in, after the checks it makes of any stamp.
"""
import sqlite3

from tests import cli_helpers as helpers
from tests.unit.test_cli import CliTestCase
from tests.unit.test_cli import STEP_231_232
from tests.unit.test_cli import STEP_232_233
from tests.unit.test_cli import STEP_233_232


def set_version_null(path):
    conn = sqlite3.connect(path)
    try:
        conn.execute("UPDATE migrate_version SET version = NULL "
                     "WHERE repository_id = 'nova'")
        conn.commit()
    finally:
        conn.close()


def version_rows(path):
    conn = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        return conn.execute('SELECT repository_id, repository_path, version '
                            'FROM migrate_version').fetchall()
    finally:
        conn.close()


class TestEmptyVersionRow(CliTestCase):
    """A row ('nova', path, NULL): one clear line, and one way out."""

    EMPTY_ROW = "has a version row for repository 'nova' whose version is " \
        'empty (NULL)'
    READS = (['db', 'sync'], ['db', 'sync', '232'], ['db', 'sync',
                                                     '--dry-run'],
             ['db', 'version'], ['db', 'version', '--verbose'],
             ['db', 'history'], ['db', 'check'])

    def nova_at_233_with_empty_row(self):
        helpers.build_nova_database(self.db.engine, 233,
                                    helpers.NOVA_REPOSITORY_PATH)
        set_version_null(self.path)

    def test_every_command_says_the_row_is_empty_and_what_to_do(self):
        self.nova_at_233_with_empty_row()
        before = helpers.sqlite_snapshot(self.path)
        for argv in self.READS:
            result = self.cli(*argv)
            self.assertRefused(result, self.EMPTY_ROW)
            self.assertIn('"db version_control VERSION" fills it in, VERSION '
                          'being the version its schema is at (232 to 233; '
                          'the schema is checked first); or delete that row',
                          result.err)
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))

    def test_version_control_fills_the_row_in(self):
        self.nova_at_233_with_empty_row()
        self.assertSucceeds(self.cli('db', 'version_control', '233'),
                            r'^under version control at 233$')
        # The one row, its path kept, its version filled in.
        self.assertEqual([('nova', helpers.NOVA_REPOSITORY_PATH, 233)],
                         version_rows(self.path))
        self.assertSucceeds(self.cli('db', 'version'), r'^233$')
        self.assertSucceeds(self.cli('db', 'sync', '232'), STEP_233_232)

    def test_version_control_checks_the_schema_first(self):
        self.nova_at_233_with_empty_row()
        before = helpers.sqlite_snapshot(self.path)
        self.assertRefused(self.cli('db', 'version_control', '232'),
                           'does not have the schema of version 232')
        self.assertRefused(self.cli('db', 'version_control'),
                           'already has tables')
        self.assertEqual(before, helpers.sqlite_snapshot(self.path))

    def test_empty_database_with_an_empty_row(self):
        conn = sqlite3.connect(self.path)
        conn.execute('CREATE TABLE migrate_version (repository_id '
                     'VARCHAR(250) PRIMARY KEY, repository_path TEXT, '
                     'version INTEGER)')
        conn.execute("INSERT INTO migrate_version VALUES ('nova', '/x', "
                     "NULL)")
        conn.commit()
        conn.close()
        result = self.cli('db', 'sync')
        self.assertRefused(result, self.EMPTY_ROW)
        self.assertIn('"db version_control" fills it in at 231, then "db '
                      'sync" builds the schema; or delete that row',
                      result.err)
        self.assertRefused(self.cli('db', 'version_control', '233'),
                           'can only be stamped at 231')
        self.assertSucceeds(self.cli('db', 'version_control'),
                            r'^under version control at 231$')
        self.assertSucceeds(self.cli('db', 'sync'), STEP_231_232,
                            STEP_232_233)
        self.assertEqual([('nova', '/x', 233)], version_rows(self.path))

    def test_row_with_a_version_says_already_under_version_control(self):
        self.at_version(233)
        self.assertRefused(self.cli('db', 'version_control', '233'),
                           'is already under version control at 233')
