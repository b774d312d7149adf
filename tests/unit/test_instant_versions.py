"""Which server versions have an instant ADD COLUMN (no server needed).

MariaDB 10.3.2 brought it with a TEXT default (MySQL takes no literal
default on TEXT, so it never qualifies); PostgreSQL 11 keeps a new
column's default for the existing rows instead of rewriting them. Servers
older than that cannot be run here; their answers are checked on the
version alone.
"""
import testtools

from nova_schema.backends import mysql
from nova_schema.backends import postgresql


class TestInstantVersions(testtools.TestCase):

    def test_mysql_and_mariadb(self):
        for version, reason in (
                ('10.11.19-MariaDB-0+deb12u1', None),
                ('10.3.2-MariaDB', None),
                ('10.3.1-MariaDB-log', 'MariaDB 10.3.1 has no instant ADD '
                 'COLUMN (10.3.2 or later has)'),
                ('10.2.44-MariaDB', 'MariaDB 10.2.44 has no instant ADD '
                 'COLUMN (10.3.2 or later has)'),
                ('8.4.3', 'MySQL 8.4.3 takes no literal DEFAULT on a TEXT '
                 'column, which the instant path needs (MariaDB 10.3.2 or '
                 'later has it)'),
                ('5.7.44-log', 'MySQL 5.7.44 takes no literal DEFAULT on a '
                 'TEXT column, which the instant path needs (MariaDB 10.3.2 '
                 'or later has it)'),
        ):
            self.assertEqual(reason, mysql.instant_unavailable_in(version),
                             version)

    def test_postgresql(self):
        self.assertIsNone(postgresql.instant_unavailable_before(110000))
        self.assertIsNone(postgresql.instant_unavailable_before(150020))
        self.assertEqual(
            'PostgreSQL 10.23 rewrites the table for ADD COLUMN with a '
            'default (11 or later does not)',
            postgresql.instant_unavailable_before(100023))
