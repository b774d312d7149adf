#!/usr/bin/env python
"""Write (or compare) nova_schema/expected/<backend>.json from real runs.

    python tools/expected_schema.py URL [URL ...]          # write
    python tools/expected_schema.py --compare URL [URL ...]

Each URL must name an EMPTY database (a SQLite URL may be sqlite://). The
migrations run on it: 232 (described), 233 (described), back to 232
(described again: the downgraded form). It is left at 232.
"""
import argparse
import json
import sys

import sqlalchemy

from nova_schema import api
from nova_schema import backends
from nova_schema import check
from nova_schema import introspect


def record(url):
    engine = sqlalchemy.create_engine(
        url, poolclass=sqlalchemy.pool.StaticPool)
    backend = backends.get(engine)
    spec = {}
    for target, variant in ((232, '232'), (233, '233'),
                            (232, '232-downgraded')):
        api.db_sync(engine, target)
        with engine.connect() as connection:
            spec[variant] = introspect.describe_schema(
                connection, backend)
    return backend.name, check.normalize_all(spec, backend)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--compare', action='store_true')
    parser.add_argument('urls', nargs='+', metavar='URL')
    args = parser.parse_args(argv)
    status = 0
    for url in args.urls:
        backend, spec = record(url)
        path = check.expected_path(backend)
        text = json.dumps(spec, indent=1, sort_keys=True) + '\n'
        if args.compare:
            with open(path) as shipped:
                same = shipped.read() == text
            print('%s: %s' % (backend, 'same' if same else 'DIFFERENT'))
            status = status or (0 if same else 1)
        else:
            with open(path, 'w') as target:
                target.write(text)
            print('wrote %s' % path)
    return status


if __name__ == '__main__':
    sys.exit(main())
