"""Nothing outside nova_schema/backends/ branches on a backend's name.

The backends differ in many ways (lock, transaction, lock-wait bound,
statement cancel, dry run, schema quirks); each lives in its backend's
module. A comparison with a backend's name anywhere else is a difference
that escaped, and this test names where.
"""
import os
import re

import testtools

import nova_schema

PACKAGE = os.path.dirname(os.path.abspath(nova_schema.__file__))
# A backend's name as a string literal, compared or looked up.
NAME = re.compile(
    r"""(==|!=|\bin\b|\[)\s*\(?\s*['"](mysql|postgresql|sqlite)['"]"""
    r"""|['"](mysql|postgresql|sqlite)['"]\s*(==|!=|:)""")
# SQLAlchemy's type variants name the dialect they apply to; that is the
# library's own mechanism, not a branch of ours.
ALLOWED = {'types.py'}


class TestBackendNames(testtools.TestCase):

    def test_no_branch_on_a_backend_name_outside_backends(self):
        found = []
        for directory, _, files in os.walk(PACKAGE):
            if os.path.basename(directory) == 'backends':
                continue
            for name in files:
                if not name.endswith('.py') or name in ALLOWED:
                    continue
                path = os.path.join(directory, name)
                with open(path) as source:
                    for number, line in enumerate(source, 1):
                        if NAME.search(line):
                            found.append('%s:%d: %s' % (
                                os.path.relpath(path, PACKAGE), number,
                                line.strip()))
        self.assertEqual([], found)

    def test_the_pattern_finds_a_branch(self):
        self.assertTrue(NAME.search("if engine.name == 'mysql':"))
        self.assertTrue(NAME.search("x = {'sqlite': 1}"))
        self.assertTrue(NAME.search("if name in ('mysql', 'sqlite'):"))
        self.assertFalse(NAME.search("name = 'mysql+pymysql://x'"))
