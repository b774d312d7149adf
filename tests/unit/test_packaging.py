"""Packaging: the legacy stack as an extra, the extras that bring each
server's driver and the benchmark's plotting library, and the two pin
lists."""
import configparser
import os
import re

from packaging import requirements as pkg_requirements
import testtools

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _requirement_names(text):
    return [re.split(r'[<>=!~;\[ ]', line.strip(), maxsplit=1)[0].lower()
            for line in text.splitlines() if line.strip()]


def _pins(filename='upper-constraints.txt'):
    """{lower-cased name: version} of a constraints file."""
    with open(os.path.join(REPO_ROOT, filename)) as pins:
        return dict((part.strip().lower() for part in line.split('==='))
                    for line in pins if '===' in line)


def _constraints(filename='upper-constraints.txt'):
    return set(_pins(filename))


def _requirements(text):
    return [pkg_requirements.Requirement(line.split('#')[0].strip())
            for line in text.splitlines()
            if line.split('#')[0].strip()]


def _read(filename):
    with open(os.path.join(REPO_ROOT, filename)) as handle:
        return handle.read()


LEGACY_ONLY = ('sqlalchemy-migrate', 'oslo.db', 'setuptools')


class TestExtras(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.setup_cfg = configparser.ConfigParser()
        self.setup_cfg.read(os.path.join(REPO_ROOT, 'setup.cfg'))

    def test_mysql_and_postgresql_extras(self):
        extras = {name: _requirement_names(value)
                  for name, value in self.setup_cfg['extras'].items()}
        self.assertEqual({'legacy': ['sqlalchemy', 'sqlalchemy-migrate',
                                     'oslo.db', 'alembic', 'setuptools'],
                          'mysql': ['pymysql'],
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
            self.assertIn("'.[legacy,mysql,postgresql]'", script.read())

    def test_legacy_extra_admits_the_legacy_pins_only(self):
        legacy = _requirements(self.setup_cfg['extras']['legacy'])
        pins = _pins()
        for requirement in legacy:
            self.assertIn(pins[requirement.name.lower()],
                          requirement.specifier, requirement)
        by_name = {requirement.name.lower(): requirement
                   for requirement in legacy}
        self.assertNotIn('2.0.0', by_name['sqlalchemy'].specifier)
        self.assertNotIn('1.14.0', by_name['alembic'].specifier)
        self.assertNotIn('81.0.0', by_name['setuptools'].specifier)
        self.assertNotIn('12.4.0', by_name['oslo.db'].specifier)


class TestStacks(testtools.TestCase):
    """requirements.txt is what the package needs on either stack; each
    stack's pins satisfy it."""

    def test_runtime_needs_nothing_of_the_legacy_stack(self):
        names = [requirement.name.lower()
                 for requirement in _requirements(_read('requirements.txt'))]
        self.assertEqual(['pbr', 'sqlalchemy', 'alembic', 'oslo.config',
                          'oslo.utils'], names)
        for name in LEGACY_ONLY:
            self.assertNotIn(name, names)

    def test_sqlalchemy_2_0_and_1_4_are_both_allowed(self):
        sqlalchemy, = [requirement for requirement in _requirements(
            _read('requirements.txt')) if requirement.name == 'SQLAlchemy']
        for version in ('1.4.54', '2.0.0', '2.0.58'):
            self.assertIn(version, sqlalchemy.specifier)
        # NOTE: 2.1 is not tested here yet.
        self.assertNotIn('2.1.0', sqlalchemy.specifier)

    def test_modern_pins(self):
        pins = _pins('upper-constraints-modern.txt')
        self.assertTrue(pins['sqlalchemy'].startswith('2.0.'),
                        pins['sqlalchemy'])
        self.assertNotIn('sqlalchemy-migrate', pins)
        self.assertGreaterEqual(
            tuple(map(int, pins['alembic'].split('.')[:2])), (1, 14))
        self.assertGreaterEqual(int(pins['setuptools'].split('.')[0]), 81)
        # NOTE: a test dependency there (its database fixtures), and one
        # that supports SQLAlchemy 2.
        self.assertGreaterEqual(int(pins['oslo.db'].split('.')[0]), 15)

    def test_each_stack_pins_what_it_installs(self):
        wanted = _requirements(_read('requirements.txt') +
                               _read('test-requirements.txt'))
        for filename in ('upper-constraints.txt',
                         'upper-constraints-modern.txt'):
            pins = _pins(filename)
            for requirement in wanted:
                name = requirement.name.lower()
                self.assertIn(name, pins, filename)
                self.assertIn(pins[name], requirement.specifier,
                              '%s: %s' % (filename, requirement))
