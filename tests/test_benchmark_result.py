r"""The benchmark result document is strict JSON and says where it came from (issue 12,
deliver 5)."""
import argparse
import json
import os
import runpy
import subprocess

import pytest
import torch
from kgrec_dataset_fixtures import LASTFM, REPO, write

from torch_geometric_kgrec import benchmark
from torch_geometric_kgrec.benchmark import base_parser, to_strict_json, write_result
from torch_geometric_kgrec.train import recorded_trainings, run_training


def test_strict_json_conversion():
    doc = to_strict_json({'a': float('nan'), 'b': [float('inf'), -float('inf'), 1.5],
                          'c': torch.tensor([1.0, float('nan')]), 'd': torch.tensor(3),
                          ('x', 1): (True, None)})
    assert doc == {'a': None, 'b': [None, None, 1.5], 'c': [1.0, None], 'd': 3,
                   "('x', 1)": [True, None]}
    json.dumps(doc, allow_nan=False)


def test_result_document_names_commit_data_and_history(tmp_path, monkeypatch):
    raw = write(tmp_path / 'raw', LASTFM)
    monkeypatch.setenv('KGREC_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(benchmark, 'LOADED_DATA', [])
    data = benchmark.load_dataset('lastfm', raw)
    assert data['user'].num_nodes == 3
    model = torch.nn.Linear(1, 1)
    it = iter([0.1, float('nan')])
    run_training(model, lambda e: float('nan') if e == 2 else 1.0,
                 lambda: {'recall@20': next(it)}, epochs=2, monitor='recall@20',
                 progress=False, desc='probe')
    args = base_parser('probe').parse_args([])
    path = tmp_path / 'r.json'
    write_result(str(path), args=args, data_stats={'users': 3},
                 results={'M': {'recall@20': float('nan')}}, protocol='p')
    text = path.read_text()
    assert 'NaN' not in text and 'Infinity' not in text
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f'non-strict {c}'))
    prov = doc['provenance']
    assert prov['torch_geometric_kgrec'] and prov['numpy'] and prov['date_utc'].endswith('+00:00')
    git = subprocess.run(['git', '-C', REPO, 'rev-parse', 'HEAD'], capture_output=True,
                         text=True)
    if git.returncode == 0:
        assert prov['git']['commit'] == git.stdout.strip()
    assert prov['data'][0]['raw_dir'] == os.path.abspath(raw)
    assert prov['data'][0]['processed_file'].startswith(str(tmp_path / 'cache'))
    assert doc['results']['M']['recall@20'] is None
    hist = doc['training_history'][-1]
    assert hist['desc'] == 'probe' and [r['epoch'] for r in hist['history']] == [1, 2]
    assert hist['history'][1]['loss'] is None
    assert recorded_trainings()[-1]['desc'] == 'probe'


class _Parser(Exception):
    pass


@pytest.mark.parametrize('script', ['bprmf', 'kgcn', 'kmpn', 'ktup', 'mkr', 'quickstart',
                                    'kgat_speed', 'ktup_rank_speed',
                                    'sampling_speed', 'conv_speed', 'ours_speed'])
def test_help_texts(script, monkeypatch):
    def grab(self, *args, **kwargs):
        raise _Parser(self)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', grab)
    main = runpy.run_path(os.path.join(REPO, 'benchmarks', f'{script}.py'))['main']
    with pytest.raises(_Parser) as info:
        main()
    parser = info.value.args[0]
    assert parser.description.endswith(('.', ')', ':')), parser.description  # not cut
    for action in parser._actions:  # every option explains itself (defaults are added)
        assert action.help, action.option_strings
    options = {o for a in parser._actions for o in a.option_strings}
    if script == 'conv_speed':  # takes only the options it uses
        assert not options & {'--dataset', '--root', '--seeds', '--epochs', '--no-progress'}
