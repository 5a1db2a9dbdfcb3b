import json
import os
import runpy
import subprocess
import sys

import torch

from torch_geometric_kgrec.datasets.synthetic import generate_synthetic_kg

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, 'benchmarks', 'speed_vs_recbole.py')


def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip('\n').split('\t')
        rows = [[int(x) for x in line.rstrip('\n').split('\t')] for line in f]
    return head, torch.tensor(rows, dtype=torch.long).view(-1, len(head)).t()


def test_export_writes_each_models_split(tmp_path):
    mod = runpy.run_path(SCRIPT)
    data = generate_synthetic_kg(num_users=30, num_items=40, num_entities=90,
                                 num_relations=3, num_triples=200, num_interactions=300)
    models = list(mod['MODELS'])
    paths = mod['export'](str(tmp_path), data, models, seed=0)
    assert sorted(paths) == sorted(models)
    for model in models:
        expected = mod['model_split'](model, data, 0)
        folder = paths[model]
        for name, columns in (('train', ['user', 'item']), ('val', ['user', 'item']),
                              ('test', ['user', 'item']),
                              ('kg', ['head', 'relation', 'tail'])):
            head, rows = read_tsv(os.path.join(folder, f'{name}.tsv'))
            assert head == columns
            assert torch.equal(rows, expected[name]), (model, name)
        with open(os.path.join(folder, 'meta.json')) as f:
            meta = json.load(f)
        assert meta['num_users'] == 30 and meta['num_items'] == 40
        assert meta['rows']['train'] == expected['train'].size(1)
        # no leakage: test pairs are not training pairs
        train = set(map(tuple, expected['train'].t().tolist()))
        assert not train & set(map(tuple, expected['test'].t().tolist()))
    # the CTR models export positives only; MKR's KG keeps item heads
    assert bool((paths and mod['model_split']('mkr', data, 0)['kg'][0] < 40).all())
    ktup_kg = mod['model_split']('ktup', data, 0)['kg'].size(1)
    assert 0 < ktup_kg < data['entity', 'kg', 'entity'].edge_index.size(1)


def test_exits_cleanly_without_recbole(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    run = subprocess.run(
        [sys.executable, SCRIPT, '--recbole-python', str(tmp_path / 'no-python'),
         '--models', 'bprmf', '--out', str(tmp_path / 'out.json')],
        capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 'RecBole is not available' in run.stdout
    assert 'pip install recbole==1.2.1' in run.stdout
    assert 'Nothing was measured' in run.stdout
    assert not (tmp_path / 'out.json').exists()


def test_summary_takes_minima_ratios_and_earlier_evaluations(tmp_path):
    mod = runpy.run_path(SCRIPT)

    def rb(train, best=None, users=0, rss=500.0):
        return {'train_epoch_s': train, 'eval_best_s': best, 'eval_default_s': best,
                'eval_best_users': users, 'peak_rss_best_eval_mib': rss,
                'peak_rss_mib': rss}

    def ours(train, ev, rss):
        return {'train_seconds_per_epoch': train, 'eval_seconds': ev, 'peak_rss_mib': rss,
                'eval_batch_size': 1024}

    earlier = tmp_path / 'peer.json'
    earlier.write_text(json.dumps(dict(rb(9.0, 300.0, rss=800.0), side='recbole',
                                       model='MKR')))
    found = mod['earlier_recbole_evaluations']([str(earlier)])
    assert list(found) == ['mkr'] and found['mkr'][0]['source'] == str(earlier)
    runs = {
        'kgin': {'recbole': [rb(2.0, 0.2, 256), rb(1.5, 0.3, 1024)],
                 'ours': [ours(0.6, 0.05, 450.0), ours(0.5, 0.04, 460.0)]},
        'mkr': {'recbole': [rb(6.0, None, rss=700.0)], 'ours': [ours(0.2, 0.1, 900.0)],
                'recbole_eval_from': found['mkr']},
    }
    rows = mod['summarise'](runs)
    kgin, mkr = rows['KGIN'], rows['MKR']
    assert kgin['recbole_train_s'] == 1.5 and kgin['ours_train_s'] == 0.5
    assert kgin['train_ratio'] == 3.0 and kgin['meets_train']
    assert kgin['recbole_eval_s'] == 0.2 and kgin['recbole_eval_users_per_batch'] == 256
    assert kgin['eval_ratio'] == 0.2 / 0.04 and kgin['meets_eval']
    assert kgin['ours_peak_rss_mib'] == 450.0 and kgin['meets_memory']
    assert mkr['recbole_eval_s'] == 300.0 and mkr['recbole_eval_from'] == [str(earlier)]
    assert mkr['recbole_peak_rss_mib'] == 800.0 and not mkr['meets_memory']
    table = mod['format_table'](rows)
    assert '| KGIN | 1.500 | 0.500 | 3.0x |' in table
    assert 'earlier run' in table and '3,000x' in table and '**800 / 900**' in table


def test_help_text_explains_every_option():
    run = subprocess.run([sys.executable, SCRIPT, '--help'], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    assert run.returncode == 0, run.stderr
    for option in ('--recbole-python', '--export', '--recbole-eval-from', '--repeats'):
        assert option in run.stdout
    peer = os.path.join(REPO, 'benchmarks', 'peer', 'recbole_lastfm.py')
    with open(peer) as f:
        source = f.read()
    assert 'torch_geometric_kgrec' not in source.replace(
        "never imports ``torch_geometric_kgrec``", '')  # the peer side is independent
