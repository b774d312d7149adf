import os

# NOTE: filter the known library warnings before any test module imports
# sqlalchemy-migrate, whose import-time warnings no fixture could catch.
from tests import base

base.filter_noisy_warnings()

MODERN_PATTERN = 'test_alembic_*.py'


def load_tests(loader, standard_tests, pattern):
    """unittest's hook for this package: every test module, or with
    NOVA_SCHEMA_TEST_STACK=modern only the ``test_alembic_*`` ones (the
    others import sqlalchemy-migrate, which SQLAlchemy 2 cannot load)."""
    if base.test_stack() == base.MODERN:
        pattern = MODERN_PATTERN
    here = os.path.dirname(os.path.abspath(__file__))
    standard_tests.addTests(loader.discover(
        start_dir=here, pattern=pattern or 'test*.py',
        top_level_dir=os.path.dirname(here)))
    return standard_tests
