"""db check: the live schema against what this repository builds.

What the repository builds is recorded per backend in
``nova_schema/expected/<backend>.json`` (written by
``tools/expected_schema.py`` from real runs, and kept honest by a test that
regenerates it). Version 232 has two correct forms: the baseline's, and the
one 233's downgrade leaves (compute_node_stats without a primary key).
"""
import functools
import json
import os

from nova_schema import backends
from nova_schema import database
from nova_schema import exception
from nova_schema import introspect

EXPECTED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'expected')
VARIANTS = {232: ('232', '232-downgraded'), 233: ('233',)}
VARIANT_TITLES = {'232': 'as the baseline creates it',
                  '232-downgraded': "as 233's downgrade leaves it",
                  '233': 'as 233 leaves it'}


def expected_path(backend):
    return os.path.join(EXPECTED_DIR, '%s.json' % backend)


@functools.lru_cache(maxsize=None)
def _expected_text(backend):
    path = expected_path(backend)
    if not os.path.exists(path):
        raise exception.NovaSchemaError(
            'db check does not know backend %r (known: mysql, postgresql, '
            'sqlite)' % backend)
    with open(path) as spec:
        return spec.read()


def load_expected(backend):
    """What this repository builds on ``backend``, per variant: a fresh
    copy each time (``normalize`` changes it in place), parsed from the
    file read once per process."""
    return json.loads(_expected_text(backend))


@functools.lru_cache(maxsize=None)
def managed_table_names(backend):
    """``managed_tables`` of ``backend``'s expected schemas."""
    return frozenset(managed_tables(load_expected(backend)))


def normalize(schema, backend):
    """Even out what differs between server versions, not between schemas
    (see the backend's ``normalize_schema``)."""
    return backend.normalize_schema(schema)


def normalize_all(spec, backend):
    return {variant: normalize(schema, backend)
            for variant, schema in spec.items()}


class Report(object):
    def __init__(self, version, variant, differences):
        self.version = version
        self.variant = variant
        self.differences = differences
        # Text saying which step was cut short, when that explains the
        # differences (set by the API; see preflight.half_applied).
        self.half_applied = None

    @property
    def ok(self):
        return not self.differences

    def as_dict(self):
        return {'version': self.version, 'variant': self.variant,
                'matches': VARIANT_TITLES.get(self.variant),
                'ok': self.ok, 'differences': self.differences,
                'half_applied': self.half_applied}


def managed_tables(expected):
    """The tables this repository creates at one version or another.

    Only these are compared: a real Nova database has many others.
    """
    return set().union(*(schema.keys() for schema in expected.values()))


def check(engine, version=None):
    """Compare with ``version`` (default: the one the database records)."""
    backend = backends.get(engine)
    expected = load_expected(backend.name)
    connection = database.connect(engine)
    try:
        if version is None:
            version = database.read_version_state(connection).version
        if version not in VARIANTS:
            raise exception.NotControlled(
                'database %s is at version %s; db check knows %s' % (
                    database.describe(engine), version,
                    ' and '.join(map(str, sorted(VARIANTS)))))
        actual = normalize(introspect.describe_schema(
            connection, backend, only=managed_tables(expected)), backend)
    finally:
        connection.close()
    reports = []
    for variant in VARIANTS[version]:
        wanted = normalize(expected[variant], backend)
        differences = compare(wanted, actual) + shadow_drift(actual)
        reports.append(Report(version, variant, differences))
    return min(reports, key=lambda report: len(report.differences))


def compare(expected, actual):
    differences = []
    for name in sorted(set(expected) - set(actual)):
        differences.append('table %s is missing' % name)
    for name in sorted(set(actual) - set(expected)):
        differences.append('table %s is not expected' % name)
    for name in sorted(set(expected) & set(actual)):
        differences.extend('%s: %s' % (name, text) for text in
                           _compare_table(expected[name], actual[name]))
    return differences


def _compare_table(expected, actual):
    return (_compare_columns(expected['columns'], actual['columns']) +
            _compare_value('primary key', expected['primary_key'],
                           actual['primary_key']) +
            _compare_named('foreign key', expected['foreign_keys'],
                           actual['foreign_keys']) +
            _compare_named('index', expected['indexes'], actual['indexes']) +
            _compare_named('unique constraint',
                           expected['unique_constraints'],
                           actual['unique_constraints']) +
            _compare_value('table options', expected.get('options'),
                           actual.get('options')))


def _compare_columns(expected, actual):
    wanted = {column['name']: column for column in expected}
    found = {column['name']: column for column in actual}
    differences = ['column %s is missing' % name
                   for name in wanted if name not in found]
    differences += ['column %s is not expected' % name
                    for name in found if name not in wanted]
    for name in (name for name in wanted if name in found):
        for key in ('type', 'nullable', 'default', 'autoincrement'):
            if wanted[name][key] != found[name][key]:
                differences.append('column %s: %s is %r, expected %r' % (
                    name, key, found[name][key], wanted[name][key]))
    common_wanted = [name for name in wanted if name in found]
    common_found = [name for name in found if name in wanted]
    if common_wanted != common_found:
        differences.append('column order is %s, expected %s' % (
            ', '.join(common_found), ', '.join(common_wanted)))
    return differences


def _compare_value(what, expected, actual):
    if expected == actual:
        return []
    return ['%s is %s, expected %s' % (what, _show(actual), _show(expected))]


def _compare_named(what, expected, actual):
    wanted = {item['name']: item for item in expected}
    found = {item['name']: item for item in actual}
    missing = [wanted[name] for name in wanted if name not in found]
    extra = [found[name] for name in found if name not in wanted]
    differences = []
    for item in list(missing):
        twin = next((other for other in extra
                     if _same_but_name(item, other)), None)
        if twin is not None:
            differences.append('%s %s is named %s' % (what, item['name'],
                                                      twin['name']))
            missing.remove(item)
            extra.remove(twin)
    differences += ['%s %s is missing' % (what, item['name'])
                    for item in missing]
    differences += ['%s %s is not expected' % (what, item['name'])
                    for item in extra]
    for name in (name for name in wanted if name in found):
        if wanted[name] != found[name]:
            differences.append('%s %s is %s, expected %s' % (
                what, name, _show(found[name]), _show(wanted[name])))
    return differences


def _same_but_name(one, other):
    return ({k: v for k, v in one.items() if k != 'name'} ==
            {k: v for k, v in other.items() if k != 'name'})


def _show(value):
    return json.dumps(value, sort_keys=True)


def shadow_drift(actual):
    """Each shadow table must have its base table's columns, in order."""
    differences = []
    for name in sorted(actual):
        base = name[len('shadow_'):]
        if name.startswith('shadow_') and base in actual:
            differences.extend(
                '%s is out of step with %s: %s' % (name, base, text)
                for text in _shape_drift(actual[base]['columns'],
                                         actual[name]['columns']))
    return differences


def _shape_drift(base_columns, shadow_columns):
    base = {c['name']: (c['type'], c['nullable']) for c in base_columns}
    shadow = {c['name']: (c['type'], c['nullable']) for c in shadow_columns}
    texts = ['column %s is missing' % name
             for name in base if name not in shadow]
    texts += ['column %s is not in the base table' % name
              for name in shadow if name not in base]
    texts += ['column %s is %s, the base table has %s'
              % (name, _shape(*shadow[name]), _shape(*base[name]))
              for name in base
              if name in shadow and base[name] != shadow[name]]
    if ([n for n in base if n in shadow] !=
            [n for n in shadow if n in base]):
        texts.append('its columns are in another order')
    return texts


def _shape(type_, nullable):
    return type_ + ('' if nullable else ' NOT NULL')
