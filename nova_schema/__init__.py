"""nova_schema: Nova's migration 233 in a sqlalchemy-migrate repository.

The API lives in ``nova_schema.api``; the command line in ``nova_schema.cli``.
"""
import warnings

# NOTE: sqlalchemy-migrate imports pkg_resources, which warns on import; the
# pin below setuptools 81 is deliberate (see README), so the warning is noise.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated',
                        category=UserWarning)
# NOTE: and sqlalchemy-migrate uses SQLAlchemy 1.4 APIs that 2.0 removed; its
# warnings about that (some at import time) are nothing a user can act on.
warnings.filterwarnings('ignore', category=DeprecationWarning,
                        module=r'migrate(\.|$)')
