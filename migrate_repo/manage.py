#!/usr/bin/env python
"""sqlalchemy-migrate's own shell for this repository, from any directory.

    python migrate_repo/manage.py version_control URL [VERSION]
    python migrate_repo/manage.py upgrade URL [VERSION]
    python migrate_repo/manage.py downgrade URL VERSION
    python migrate_repo/manage.py db_version URL
    python migrate_repo/manage.py version
    python migrate_repo/manage.py test URL

See nova_schema/shell.py for what is added around sqlalchemy-migrate's shell.
"""
import os
import sys

if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    from nova_schema import shell
    sys.exit(shell.main())
