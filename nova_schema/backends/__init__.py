"""Everything SQLite, MySQL/MariaDB and PostgreSQL do differently.

One module per backend, each with one ``Backend`` class: what the backend
can do (transactional DDL), how a migration run locks, bounds its waits for
table locks, commits and is cancelled there (its ``Session``), and what the
server says (lock-wait errors, who holds a lock, schema quirks). Nothing
outside this package branches on a backend's name: it asks ``get(engine)``.
"""
from nova_schema.backends import mysql
from nova_schema.backends import postgresql
from nova_schema.backends import sqlite
from nova_schema import exception

_BACKENDS = {module.Backend.name: module.Backend
             for module in (mysql, postgresql, sqlite)}
NAMES = tuple(sorted(_BACKENDS))


def backend_class(name):
    try:
        return _BACKENDS[name]
    except KeyError:
        raise exception.DatabaseUnreachable(
            'unsupported database backend %r; use one of %s'
            % (name, ', '.join(NAMES)))


def all_classes():
    return [_BACKENDS[name] for name in NAMES]


def in_memory(url):
    """True if ``url`` names a database gone once disconnected."""
    backend = _BACKENDS.get(url.get_backend_name())
    return bool(backend and backend.in_memory(url))


def local_file(url):
    """The file a URL's database lives in, for a backend without a
    server (None otherwise, and for an in-memory database)."""
    backend = _BACKENDS.get(url.get_backend_name())
    return backend.local_file(url) if backend else None


def get(engine):
    """The ``Backend`` of ``engine``."""
    return backend_class(engine.name)(engine)
