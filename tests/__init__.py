# NOTE: filter the known library warnings before any test module imports
# sqlalchemy-migrate, whose import-time warnings no fixture could catch.
from tests import base

base.filter_noisy_warnings()
