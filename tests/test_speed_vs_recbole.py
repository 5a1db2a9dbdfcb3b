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
