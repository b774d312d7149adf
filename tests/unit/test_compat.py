"""The getargspec shim: still needed, and enough for migrate's shell."""
import contextlib
import inspect
import io
import sys
import textwrap

from migrate.versioning import api as migration_api
from migrate.versioning import shell
import testtools

from nova_schema import compat
from tests import base
from tests import cli_helpers as helpers

# NOTE: run in a fresh interpreter: in this one another test (or manage.py
# code imported in-process) may have installed the shim already.
PROBE_WITHOUT_SHIM = textwrap.dedent('''
    import inspect
    print(hasattr(inspect, 'getargspec'))
''')

SHELL_WITHOUT_SHIM = textwrap.dedent('''
    import sys
    from migrate.versioning.shell import main
    main(['version'], repository=sys.argv[1])
''')


class TestGetargspecShim(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.DeprecationWarningsFilter())
        had_getargspec = hasattr(inspect, 'getargspec')
        original = getattr(inspect, 'getargspec', None)

        def restore():
            if had_getargspec:
                inspect.getargspec = original
            elif hasattr(inspect, 'getargspec'):
                del inspect.getargspec
        self.addCleanup(restore)

    def run_python(self, source, *args):
        return helpers.run_process([sys.executable, '-c', source]
                                   + list(args))

    def test_this_python_has_no_getargspec(self):
        # The day this fails, the shim (and this test) can go.
        result = self.run_python(PROBE_WITHOUT_SHIM)
        self.assertEqual((0, 'False\n', ''), result)

    def test_migrate_shell_fails_without_the_shim(self):
        result = self.run_python(SHELL_WITHOUT_SHIM, base.MIGRATE_REPO_PATH)
        self.assertNotEqual(0, result.status)
        self.assertIn('AttributeError', result.err)
        self.assertIn('getargspec', result.err)
        self.assertEqual('', result.out)

    def test_install_gives_inspect_a_getargspec(self):
        if hasattr(inspect, 'getargspec'):
            del inspect.getargspec
        compat.install_getargspec()
        self.assertTrue(callable(inspect.getargspec))

    def test_spec_of_a_migrate_api_command(self):
        # migrate.versioning.shell.main unpacks exactly four values and
        # makes an option of each argument; its commands are decorated, so
        # this also checks the decorator kept the signature visible.
        compat.install_getargspec()
        args, varargs, keywords, defaults = inspect.getargspec(
            migration_api.upgrade)
        self.assertEqual(['url', 'repository', 'version'], args)
        self.assertIsNone(varargs)
        self.assertEqual('opts', keywords)
        self.assertEqual((None,), defaults)

    def test_spec_names_match_the_old_getargspec(self):
        compat.install_getargspec()
        spec = inspect.getargspec(migration_api.downgrade)
        self.assertEqual(('args', 'varargs', 'keywords', 'defaults'),
                         spec._fields)
        self.assertEqual(['url', 'repository', 'version'], spec.args)
        self.assertIsNone(spec.defaults)

    def test_install_keeps_an_existing_getargspec(self):
        def existing(func):
            return 'existing'
        inspect.getargspec = existing
        compat.install_getargspec()
        self.assertIs(existing, inspect.getargspec)

    def test_migrate_shell_works_with_the_shim(self):
        compat.install_getargspec()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            shell.main(['version'], repository=base.MIGRATE_REPO_PATH)
        self.assertEqual('233\n', out.getvalue())

    def test_manage_py_version_from_another_directory(self):
        result = helpers.run_manage(['version'], cwd='/tmp')
        self.assertEqual((0, '233\n', ''), result)
