"""Which server versions have an instant ADD COLUMN (no server needed).

MariaDB 10.3.2 brought it with a TEXT default (MySQL takes no literal
default on TEXT, so it never qualifies); PostgreSQL 11 keeps a new
column's default for the existing rows instead of rewriting them. Servers
older than that cannot be run here; their answers are checked on the
version alone.
"""
from sqlalchemy.dialects.mysql import pymysql as mysql_pymysql
from sqlalchemy.dialects.postgresql import psycopg2 as postgresql_psycopg2
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

    def test_mysql_version_from_the_dialect(self):
        """What SQLAlchemy parsed from VERSION() on connecting gives the
        same answer as the version itself, without a query."""
        for version, text in (
                ('10.11.19-MariaDB-0+deb12u1', '10.11.19-MariaDB'),
                ('5.5.5-10.3.1-MariaDB-log', '10.3.1-MariaDB'),
                ('10.3.2-MariaDB', '10.3.2-MariaDB'),
                ('8.0.36-0ubuntu0.22.04.1', '8.0.36'),
                ('5.7.44-log', '5.7.44')):
            dialect = mysql_pymysql.dialect()
            dialect._parse_server_version(version)
            self.assertEqual(text, mysql.server_version_text(dialect),
                             version)

    def test_postgresql(self):
        self.assertIsNone(postgresql.instant_unavailable_before(110000))
        self.assertIsNone(postgresql.instant_unavailable_before(150020))
        self.assertEqual(
            'PostgreSQL 10.23 rewrites the table for ADD COLUMN with a '
            'default (11 or later does not)',
            postgresql.instant_unavailable_before(100023))

    def test_postgresql_version_from_the_dialect(self):
        class Connection(object):
            def __init__(self, version):
                self.version = version

            def exec_driver_sql(self, statement):
                return self

            def scalar(self):
                return self.version

        for version, number in (
                ('PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64',
                 150019),
                ('PostgreSQL 11.0 on x86_64-pc-linux-gnu', 110000),
                ('PostgreSQL 10.23 on x86_64-pc-linux-gnu', 100023),
                ('PostgreSQL 9.6.24 on x86_64-pc-linux-gnu', 90624)):
            info = postgresql_psycopg2.dialect()._get_server_version_info(
                Connection(version))
            self.assertEqual(number, postgresql.server_version_num(info),
                             version)
