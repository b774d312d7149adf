#!/usr/bin/env python
"""What a plain ``pip install`` of this project resolves to, on this Python.

    python tools/check_plain_install.py [--legacy]

Asks pip (``install --dry-run --report``, no constraints, nothing installed)
what ``.`` (and with ``--legacy`` also ``.[legacy]``) would install, and
checks each against the stack it must give: without the extra SQLAlchemy
2.0 and a current alembic, and none of sqlalchemy-migrate, oslo.db or
setuptools < 81; with it SQLAlchemy 1.4, sqlalchemy-migrate 0.13.0, oslo.db
12.3 and alembic < 1.14.
Prints one line per case; exits 1 if a case resolves to the wrong stack.
"""
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _release(version):
    return tuple(int(part) for part in version.split('.')[:2]
                 if part.isdigit())


def modern_problems(found):
    problems = []
    if _release(found.get('sqlalchemy', '0')) != (2, 0):
        problems.append('SQLAlchemy %s, not 2.0' % found.get('sqlalchemy'))
    if _release(found.get('alembic', '0')) < (1, 14):
        problems.append('alembic %s, not 1.14 or later'
                        % found.get('alembic'))
    for name in ('sqlalchemy-migrate', 'oslo-db'):
        if name in found:
            problems.append('%s %s is installed' % (name, found[name]))
    if 'setuptools' in found and _release(found['setuptools']) < (81,):
        problems.append('setuptools %s < 81' % found['setuptools'])
    return problems


def legacy_problems(found):
    problems = []
    if _release(found.get('sqlalchemy', '0')) != (1, 4):
        problems.append('SQLAlchemy %s, not 1.4' % found.get('sqlalchemy'))
    if found.get('sqlalchemy-migrate') != '0.13.0':
        problems.append('sqlalchemy-migrate %s, not 0.13.0'
                        % found.get('sqlalchemy-migrate'))
    if _release(found.get('oslo-db', '0')) != (12, 3):
        problems.append('oslo.db %s, not 12.3' % found.get('oslo-db'))
    if _release(found.get('alembic', '99')) >= (1, 14):
        problems.append('alembic %s, not < 1.14' % found.get('alembic'))
    return problems


def resolve(requirement):
    """{normalized name: version} of what pip would install."""
    output = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--dry-run',
         '--ignore-installed', '--quiet', '--report', '-', requirement],
        cwd=ROOT, capture_output=True, text=True, check=False)
    if output.returncode:
        raise SystemExit('check_plain_install: pip could not resolve %s: %s'
                         % (requirement, output.stderr.strip()[-500:]))
    report = json.loads(output.stdout)
    return {item['metadata']['name'].lower().replace('_', '-').replace(
        '.', '-'): item['metadata']['version'] for item in report['install']}


def main(argv):
    failed = False
    python = 'Python %s' % platform.python_version()
    cases = [('.', modern_problems)]
    if '--legacy' in argv:
        cases.append(('.[legacy]', legacy_problems))
    for requirement, check in cases:
        found = resolve(requirement)
        problems = check(found)
        stack = ', '.join('%s %s' % (name, found.get(name, '-')) for name in (
            'sqlalchemy', 'alembic', 'sqlalchemy-migrate', 'oslo-db',
            'setuptools'))
        print('pip install %s on %s: %s: %s' % (
            requirement, python, 'WRONG' if problems else 'ok',
            '; '.join(problems) if problems else stack))
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
