"""Which values of the CI environment variable turn the CI gate on.

In CI a database backend that cannot be reached must fail the run, not skip
it: tests.base.ci_enabled() decides it for the tests (oslo.db's
SKIP_ON_UNAVAILABLE_DB), tools/run-tests.sh's ci_enabled for the check of
skipped tests after the run. Both must follow one truth table: CI systems
set CI=true, CI=1, CI=yes...; only an unset, empty, 0, false, no or off (in
any case) value means "not CI".
"""
import os
import re
import subprocess

import fixtures
import testtools

from tests import base

RUN_TESTS = os.path.join(os.path.dirname(base.MIGRATE_REPO_PATH), 'tools',
                         'run-tests.sh')

# value of CI -> is it CI?  None: CI is not set at all.
TRUTH_TABLE = {
    None: False,
    '': False,
    '0': False,
    'false': False, 'False': False, 'FALSE': False, 'fAlSe': False,
    'no': False, 'No': False, 'NO': False,
    'off': False, 'Off': False, 'OFF': False,
    'true': True, 'True': True, 'TRUE': True,
    '1': True, '2': True,
    'yes': True, 'Yes': True, 'YES': True,
    'y': True, 'Y': True,
    'on': True, 'ON': True,
    'github-actions': True,
    # NOTE: not one of the five "off" words, so on: the safe side.
    ' ': True, 'false ': True, '00': True,
}


def _environ(value):
    environ = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
    if value is not None:
        environ['CI'] = value
    return environ


def _shell_function():
    """run-tests.sh's ``ci_enabled() { ... }``, as the script defines it."""
    with open(RUN_TESTS) as script:
        match = re.search(r'^ci_enabled\(\) \{\n.*?^\}\n', script.read(),
                          re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError('no ci_enabled() function in %s' % RUN_TESTS)
    return match.group(0)


class TestCIEnabled(testtools.TestCase):

    def test_truth_table(self):
        found = {value: base.ci_enabled(_environ(value))
                 for value in TRUTH_TABLE}
        self.assertEqual(TRUTH_TABLE, found)

    def test_reads_the_process_environment_by_default(self):
        for value in ('1', 'yes', 'off', None):
            self.useFixture(fixtures.EnvironmentVariable('CI', value))
            self.assertEqual(TRUTH_TABLE[value], base.ci_enabled(), value)

    def test_database_tests_fail_rather_than_skip_in_ci(self):
        # NOTE: oslo.db's OpportunisticDBTestMixin skips a test whose
        # backend is unavailable when this is true, and fails it otherwise.
        mixin = base.DatabaseTestMixin()
        for value in ('1', 'True', 'on', 'y', '0', 'no', '', None):
            self.useFixture(fixtures.EnvironmentVariable('CI', value))
            self.assertEqual(not TRUTH_TABLE[value],
                             mixin.SKIP_ON_UNAVAILABLE_DB, value)

    def test_run_tests_sh_has_the_same_truth_table(self):
        function = _shell_function()
        found = {}
        for value in TRUTH_TABLE:
            status = subprocess.run(
                ['bash', '-euc', function + 'ci_enabled'],
                env=_environ(value), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE).returncode
            self.assertIn(status, (0, 1), value)
            found[value] = status == 0
        self.assertEqual(TRUTH_TABLE, found)

    def test_run_tests_sh_checks_skips_when_ci_enabled(self):
        with open(RUN_TESTS) as script:
            lines = [line.strip() for line in script]
        gates = [line for line in lines
                 if line.startswith('if ') and 'CI' in line]
        self.assertEqual([], gates, 'CI tested without ci_enabled')
        self.assertEqual(1, lines.count('if ci_enabled; then'))
