#!/usr/bin/env python
"""sqlalchemy-migrate's own shell for this repository, from any directory."""
import os
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.dirname(here))
    from nova_schema import compat
    compat.install_getargspec()
    from migrate.versioning.shell import main as migrate_main
    migrate_main(debug='False', repository=here)


if __name__ == '__main__':
    main()
