"""Smoke test of tools/bench_migration.py: a tiny run on SQLite only."""
import importlib.util
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
REQUIRED = ('backend', 'operation', 'strategy', 'project_s', 'floor_s',
            'ratio', 'fixed_ms', 'runs', 'scale', 'shadow_rows', 'held_s')
POSITIVE = ('project_s', 'floor_s', 'ratio')


def _load_bench():
    spec = importlib.util.spec_from_file_location('bench_migration', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestBenchSmoke(testtools.TestCase):

    def _run(self, *extra):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, 'bench.json')
            completed = subprocess.run(
                [sys.executable, SCRIPT, '--scale', '0.001', '--runs', '1',
                 '--cold-runs', '1', '--backends', 'sqlite', '--json', path]
                + list(extra),
                check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=120)
            with open(path) as output:
                return json.load(output), completed.stdout.decode()

    def test_tiny_sqlite_run(self):
        records, _ = self._run()
        ours = {record['operation']: record for record in records
                if record.get('strategy') != 'peer'}
        for operation in ('upgrade', 'downgrade'):
            record = ours[operation]
            for key in REQUIRED:
                self.assertIn(key, record)
            self.assertEqual('sqlite', record['backend'])
            self.assertEqual('classic', record['strategy'])
            self.assertEqual(0.001, record['scale'])
            self.assertEqual(200, record['shadow_rows'])
            for key in POSITIVE:
                self.assertGreater(record[key], 0, key)
            self.assertTrue(math.isfinite(record['fixed_ms']))
            self.assertEqual(1, len(record['runs']))
            self.assertGreater(record['runs'][0]['project_s'], 0)
            self.assertGreater(record['runs'][0]['floor_s'], 0)
        cold = ours['cold_start']
        for key in ('cli_s', 'import_sqlalchemy_s', 'cli_cpu_s',
                    'import_sqlalchemy_cpu_s'):
            self.assertGreater(cold[key], 0, key)
        self.assertAlmostEqual(
            cold['cli_cpu_s'] / cold['import_sqlalchemy_cpu_s'],
            cold['ratio'])

    def test_peer_when_the_seed_is_there(self):
        bench = _load_bench()
        records, stdout = self._run()
        peers = [record for record in records
                 if record.get('strategy') == 'peer']
        summary = records[-1]
        if bench.seed_file(bench.DEFAULT_SEED) is None:
            self.assertEqual([], peers)
            self.assertIn('skipped', summary['peer'])
            return
        self.assertEqual(['downgrade', 'upgrade'],
                         sorted(record['operation'] for record in peers))
        for record in peers:
            self.assertEqual('sqlite', record['backend'])
            self.assertGreater(record['peer_s'], 0)
        self.assertIn('peer (Nova 233 via oslo_db db_sync) sqlite upgrade',
                      stdout)

    def test_missing_seed_skips_the_peer(self):
        with tempfile.TemporaryDirectory() as directory:
            records, stdout = self._run('--seed', directory)
        self.assertEqual([], [record for record in records
                              if record.get('strategy') == 'peer'])
        self.assertIn('peer: skipped: no seed text at', stdout)

    def test_scales_give_one_column_each(self):
        records, stdout = self._run('--scales', '0.001,0.002')
        rows = sorted({record['shadow_rows'] for record in records
                       if record.get('strategy') == 'classic'})
        self.assertEqual([200, 400], rows)
        self.assertIn('200 rows s', stdout)
        self.assertIn('400 rows s', stdout)


class TestBenchParts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bench = _load_bench()

    def test_seed_script_runs_as_python(self):
        text = ('**** banner ****\ndef upgrade(engine):\n'
                '\u00a0\u00a0\u00a0\u00a0meta\u00a0=\u00a0MetaData()\n')
        script = self.bench.seed_script(text)
        self.assertNotIn('\u00a0', script)
        self.assertNotIn('****', script)
        namespace = {}
        exec(compile(script, 'seed', 'exec'), namespace)
        self.assertIn('upgrade', namespace)

    def test_transaction_holds_start_at_the_first_exclusive_lock(self):
        clock = type('Clock', (), {})()
        clock.statements = [
            [1.0, 1.1, 'SELECT 1'],
            [2.0, 2.1, 'DROP TABLE compute_node_stats'],
            [3.0, 3.1, 'ALTER TABLE shadow_compute_nodes ADD stats TEXT'],
        ]
        clock.end = 10.0
        self.assertEqual({'compute_nodes': 8.0, 'shadow_compute_nodes': 7.0},
                         self.bench.transaction_holds(clock))

    def test_statement_holds_are_the_longest_write(self):
        clock = type('Clock', (), {})()
        clock.statements = [
            [0.0, 5.0, 'SELECT * FROM compute_nodes'],
            [1.0, 1.5, 'ALTER TABLE compute_nodes ADD stats TEXT'],
            [2.0, 4.0, "UPDATE compute_nodes SET stats='{}'"],
            [5.0, 5.2, "UPDATE shadow_compute_nodes SET stats='{}'"],
        ]
        holds = self.bench.statement_holds(clock)
        self.assertAlmostEqual(2.0, holds['compute_nodes'])
        self.assertAlmostEqual(0.2, holds['shadow_compute_nodes'])


class TestBenchFigures(testtools.TestCase):

    def test_ratio_and_fixed_cost_are_per_round(self):
        """Three rounds whose pace differs: the ratio and fixed cost are
        the medians of each round's own (1.10, 1.03, 1.37 and 100, 20,
        350 ms), not of the medians (1.10 / 0.95 and 150 ms)."""
        bench = _load_bench()
        series = bench.Series('upgrade', 233, 'classic')
        series.statements = []
        for project_s, floor_s in ((1.10, 1.00), (0.80, 0.78),
                                   (1.30, 0.95)):
            series.runs.append({
                'project_s': project_s, 'floor_s': floor_s,
                'project_cpu_s': 0.1, 'floor_cpu_s': 0.1,
                'floor_connect_s': 0.01, 'held_s': {}})
        record = bench.summarize('mysql', series, {
            'scale': 1, 'rows': {'shadow_compute_nodes': 10}})
        self.assertAlmostEqual(1.10, record['ratio'])
        self.assertAlmostEqual(100.0, record['fixed_ms'])
        self.assertAlmostEqual(1.10, record['project_s'])
        self.assertAlmostEqual(0.95, record['floor_s'])
        self.assertTrue(record['target_met'])
        self.assertEqual(3, record['rounds'])
        self.assertAlmostEqual(0.80 / 0.78, record['ratio_low'])
        self.assertAlmostEqual(1.30 / 0.95, record['ratio_high'])


class _ScriptedBackend(object):
    """Copies that are names; every run logged as (copy, side, operation)."""

    name = 'scripted'
    strategies = ('classic',)
    hold = None

    def __init__(self, bench):
        self.bench = bench
        self.copies = 0
        self.log = []

    def copy(self, template):
        self.copies += 1
        name = 'copy%d' % self.copies
        return self.bench.Database(name, 'scripted:///' + name)

    def settle(self, databases):
        pass

    def drop(self, database):
        self.log.append((database.name, 'dropped', None))

    def table_sizes(self, database):
        return None


class TestBenchRounds(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bench = _load_bench()
        self.backend = _ScriptedBackend(self.bench)
        self.patch(self.bench, 'time_project', self._project)
        self.patch(self.bench, 'time_floor', self._floor)
        self.patch(self.bench, '_check_version', lambda *args: None)
        self.patch(self.bench.api, 'db_sync', self._untimed)
        self.patch(self.bench, 'log', lambda message: None)

    # A classic step whose floor is heavy (1 s), an instant one light.
    STATEMENTS = {'classic': ['UPDATE t'], 'instant': ['ALTER t']}
    FLOOR_S = {'UPDATE t': 1.0, 'ALTER t': 0.01}

    def _project(self, database, target, strategy, hold):
        self.backend.log.append((database.name, 'project', target))
        return {'wall': 2.0, 'cpu': 0.5}, self.STATEMENTS[strategy], {}

    def _floor(self, backend, database, statements):
        self.assertEqual(1, len(statements))
        self.backend.log.append((database.name, 'floor', None))
        return {'wall': self.FLOOR_S[statements[0]], 'cpu': 0.25,
                'connect': 0.01}

    def _peer(self, database, repository_path, target):
        self.backend.log.append((database.name, 'peer', target))
        return {'wall': 3.0, 'cpu': 0.5}

    def _untimed(self, url, target, strategy):
        self.backend.log.append((url, 'warm-up', (target, strategy)))
        return []

    def test_an_untimed_round_comes_first(self):
        self.backend.strategies = ('classic', 'instant')
        series, _ = self.bench.measure(self.backend, 'template', 2, None)
        self.assertEqual(
            [('scripted:///copy1', 'warm-up', (233, 'classic')),
             ('scripted:///copy1', 'warm-up', (232, 'classic')),
             ('scripted:///copy1', 'warm-up', (233, 'instant')),
             ('scripted:///copy1', 'warm-up', (232, 'instant')),
             ('copy1', 'dropped', None)],
            self.backend.log[:5])
        self.assertNotIn('warm-up', [side for _, side, _
                                     in self.backend.log[5:]])
        # Two strategies, two rounds, up and down: only timed runs counted.
        self.assertEqual([2] * 4, [len(each.runs) for each in series])

    def test_project_and_floor_take_turns_at_going_first(self):
        series, peers = self.bench.measure(self.backend, 'template', 3, None)
        self.assertEqual((), peers)
        sides = [side for _, side, _ in self.backend.log
                 if side in ('project', 'floor')]
        self.assertEqual(
            ['project', 'project', 'floor', 'floor',
             'floor', 'floor', 'project', 'project',
             'project', 'project', 'floor', 'floor'], sides)
        upgrade, downgrade = series
        self.assertEqual(3, len(upgrade.runs))
        self.assertEqual([False, True, False],
                         [run['floor_first'] for run in upgrade.runs])
        for run in upgrade.runs + downgrade.runs:
            self.assertEqual((2.0, 1.0), (run['project_s'], run['floor_s']))

    def test_each_side_runs_on_a_copy_of_its_own_dropped_after(self):
        self.bench.measure(self.backend, 'template', 2, None)
        by_copy = {}
        for database, side, _ in self.backend.log:
            if side != 'warm-up' and database != 'copy1':
                by_copy.setdefault(database, []).append(side)
        self.assertEqual(4, len(by_copy))
        self.assertEqual(
            sorted([['project', 'project', 'dropped']] * 2
                   + [['floor', 'floor', 'dropped']] * 2),
            sorted(by_copy.values()))
        # Up (233) then down (232) on every project copy.
        targets = [target for _, side, target in self.backend.log
                   if side == 'project']
        self.assertEqual([233, 232, 233, 232], targets)

    def test_a_strategy_with_a_heavy_step_goes_on_to_heavy_runs(self):
        """Classic (heavy floor) gets 5 rounds, instant (light) and the
        peer 2; the extra rounds go on taking turns."""
        self.patch(self.bench, 'time_peer', self._peer)
        self.backend.strategies = ('classic', 'instant')
        series, peers = self.bench.measure(self.backend, 'template', 2,
                                           'peer-repo', heavy_runs=5)
        rounds = {(each.strategy, each.operation): len(each.runs)
                  for each in list(series) + list(peers)}
        self.assertEqual({('classic', 'upgrade'): 5,
                          ('classic', 'downgrade'): 5,
                          ('instant', 'upgrade'): 2,
                          ('instant', 'downgrade'): 2,
                          ('peer', 'upgrade'): 2,
                          ('peer', 'downgrade'): 2}, rounds)
        classic_up = series[0]
        self.assertEqual([False, True, False, True, False],
                         [run['floor_first'] for run in classic_up.runs])
        # After the second round only classic rounds, no peer's.
        sides = [side for _, side, _ in self.backend.log]
        last_peer = len(sides) - sides[::-1].index('peer')
        self.assertEqual(3 * 4, sides[last_peer:].count('project') +
                         sides[last_peer:].count('floor'))

    def test_heavy_runs_below_runs_adds_nothing(self):
        series, _ = self.bench.measure(self.backend, 'template', 3, None,
                                       heavy_runs=2)
        self.assertEqual([3, 3], [len(each.runs) for each in series])
