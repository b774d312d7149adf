"""After a run that did not finish: the database's state, read back.

Read from the server the run used or, when that one is gone, from another
server holding the same database (a Galera cluster's other members, which
the backend names), so that the one line a failed run ends with says
where the database truly stands.
"""
import time

import sqlalchemy

from nova_schema import backends
from nova_schema import database
from nova_schema import preflight

# How long the other members are asked, when the server used is gone.
PEER_SECONDS = 15.0
PEER_PAUSE = 0.5


def _read(engine, backend):
    with engine.connect() as connection:
        version = database.read_version_state(connection).version
        found = preflight.half_applied(connection, backend, version)
    if version is None:
        return 'the database is not under version control'
    if found:
        return 'the database is at %d with %s' % (
            version, preflight.half_applied_text(found))
    return 'the database is at %d; a re-run finishes the job' % version


def state_left(engine, backend):
    """Where a database whose DDL commits itself stands, in a phrase."""
    try:
        return _read(engine, backend)
    except Exception as error:  # noqa: the server may be gone
        failure = error
    peers = backend.peer_urls()
    # NOTE: right after a member is lost the others may refuse queries
    # until they have agreed on the new membership (a few seconds).
    deadline = time.monotonic() + PEER_SECONDS
    while peers:
        for url in peers:
            found = _read_peer(url, backend)
            if found:
                return 'read back from %s:%s: %s' % (
                    url.host, url.port, found)
        if time.monotonic() >= deadline:
            break
        time.sleep(PEER_PAUSE)
    return ('its state could not be read back (%s); run db version'
            % database.first_line(database.root_cause(failure)))


def _read_peer(url, backend):
    peer = sqlalchemy.create_engine(url, connect_args={'connect_timeout': 5})
    try:
        backends.get(peer).prepare_engine()
        return _read(peer, backend)
    except Exception:  # noqa: the next member, or the next round
        return None
    finally:
        peer.dispose()
