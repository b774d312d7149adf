"""Smoke test of tools/bench_migration.py: a tiny run on SQLite only."""
import json
import math
import os
import subprocess
import sys
import tempfile

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tools', 'bench_migration.py')
REQUIRED = ('backend', 'operation', 'project_s', 'floor_s', 'ratio',
            'fixed_ms', 'runs', 'scale')
POSITIVE = ('project_s', 'floor_s', 'ratio')


class TestBenchSmoke(testtools.TestCase):

    def _run(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, 'bench.json')
            subprocess.run(
                [sys.executable, SCRIPT, '--scale', '0.001', '--runs', '1',
                 '--cold-runs', '1', '--backends', 'sqlite', '--json', path],
                check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=120)
            with open(path) as output:
                return json.load(output)

    def test_tiny_sqlite_run(self):
        records = self._run()
        by_operation = {record['operation']: record for record in records}
        for operation in ('upgrade', 'downgrade'):
            record = by_operation[operation]
            for key in REQUIRED:
                self.assertIn(key, record)
            self.assertEqual('sqlite', record['backend'])
            self.assertEqual(0.001, record['scale'])
            for key in POSITIVE:
                self.assertGreater(record[key], 0, key)
            self.assertTrue(math.isfinite(record['fixed_ms']))
            self.assertEqual(1, len(record['runs']))
            self.assertGreater(record['runs'][0]['project_s'], 0)
            self.assertGreater(record['runs'][0]['floor_s'], 0)
        cold = by_operation['cold_start']
        self.assertGreater(cold['cli_s'], 0)
        self.assertGreater(cold['import_sqlalchemy_s'], 0)
