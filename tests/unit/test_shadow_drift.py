"""db check's comparison of a shadow table with its base table."""
import testtools

from nova_schema import check


def _table(*columns):
    return {'columns': [{'name': name, 'type': type_, 'nullable': nullable}
                        for name, type_, nullable in columns]}


BASE = _table(('id', 'INTEGER', False), ('host', 'VARCHAR(255)', True),
              ('stats', 'TEXT', True))


class TestShadowDrift(testtools.TestCase):

    def drift(self, shadow):
        return check.shadow_drift({'nodes': BASE, 'shadow_nodes': shadow})

    def test_same_columns(self):
        self.assertEqual([], self.drift(BASE))

    def test_missing_and_extra_columns(self):
        shadow = _table(('id', 'INTEGER', False), ('host', 'VARCHAR(255)',
                                                   True), ('x', 'TEXT', True))
        self.assertEqual([
            'shadow_nodes is out of step with nodes: column stats is missing',
            'shadow_nodes is out of step with nodes: column x is not in the '
            'base table'], self.drift(shadow))

    def test_changed_type_and_nullability(self):
        shadow = _table(('id', 'INTEGER', True), ('host', 'VARCHAR(64)', True),
                        ('stats', 'TEXT', True))
        self.assertEqual([
            'shadow_nodes is out of step with nodes: column id is INTEGER, '
            'the base table has INTEGER NOT NULL',
            'shadow_nodes is out of step with nodes: column host is '
            'VARCHAR(64), the base table has VARCHAR(255)'],
            self.drift(shadow))

    def test_other_order(self):
        shadow = _table(('host', 'VARCHAR(255)', True),
                        ('id', 'INTEGER', False), ('stats', 'TEXT', True))
        self.assertEqual(['shadow_nodes is out of step with nodes: its '
                          'columns are in another order'], self.drift(shadow))

    def test_a_shadow_table_without_base_is_not_compared(self):
        self.assertEqual([], check.shadow_drift({'shadow_nodes': BASE}))
