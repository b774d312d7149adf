"""Packaging: the extras that bring each server's driver, and the
benchmark's plotting library."""
import configparser
import os
import re

import testtools

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _requirement_names(text):
    return [re.split(r'[<>=!~;\[ ]', line.strip(), maxsplit=1)[0].lower()
            for line in text.splitlines() if line.strip()]


def _constraints():
    with open(os.path.join(REPO_ROOT, 'upper-constraints.txt')) as pins:
        return {line.split('===')[0].strip().lower()
                for line in pins if '===' in line}


class TestExtras(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.setup_cfg = configparser.ConfigParser()
        self.setup_cfg.read(os.path.join(REPO_ROOT, 'setup.cfg'))

    def test_mysql_and_postgresql_extras(self):
        extras = {name: _requirement_names(value)
                  for name, value in self.setup_cfg['extras'].items()}
        self.assertEqual({'mysql': ['pymysql'],
                          'postgresql': ['psycopg2-binary'],
                          'bench': ['matplotlib']}, extras)

    def test_every_extra_is_pinned(self):
        pinned = _constraints()
        for value in self.setup_cfg['extras'].values():
            for name in _requirement_names(value):
                self.assertIn(name, pinned)

    def test_install_script_installs_both_extras(self):
        with open(os.path.join(REPO_ROOT, 'tools',
                               'install-and-sync.sh')) as script:
            self.assertIn("'.[mysql,postgresql]'", script.read())
