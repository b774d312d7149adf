"""nova_schema's alembic environment: where a database goes after
sqlalchemy-migrate (``nova-schema-manage db handoff``), or starts
(``db sync --alembic``).

``alembic -c ALEMBIC_INI -x url=URL upgrade head`` runs it by hand; the
URL may come from ``OS_DATABASE__CONNECTION`` instead of ``-x url=``.
"""
import os

MIGRATIONS_PATH = os.path.dirname(os.path.abspath(__file__))
ALEMBIC_INI = os.path.join(MIGRATIONS_PATH, 'alembic.ini')
