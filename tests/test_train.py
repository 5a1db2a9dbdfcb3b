import json

import torch

from torch_geometric_kgrec.benchmark import aggregate, base_parser, format_table, write_result
from torch_geometric_kgrec.train import run_training, seed_everything


def test_seed_everything_reproduces():
    seed_everything(3)
    a = torch.rand(4)
    seed_everything(3)
    assert torch.equal(a, torch.rand(4))


def test_early_stopping_restores_best_weights():
    model = torch.nn.Linear(1, 1, bias=False)
    scores = [0.1, 0.5, 0.4, 0.3, 0.2, 0.9]

    def train_epoch(epoch):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        return 1.0 / epoch

    it = iter(scores)
    result = run_training(model, train_epoch, lambda: {'recall@20': next(it)}, epochs=6,
                          monitor='recall@20', patience=3, progress=False)
    assert result.stopped_early and result.epochs_run == 5
    assert result.best_epoch == 2 and result.best_metrics == {'recall@20': 0.5}
    assert model.weight.item() == 2.0  # best weights are back
    assert result.history[0]['loss'] == 1.0 and 'val_recall@20' in result.history[1]


def test_result_document(tmp_path):
    args = base_parser('x').parse_args(['--dataset', 'lastfm', '--seeds', '2'])
    rows = [{'recall@20': 0.1}, {'recall@20': 0.3}]
    agg = aggregate(rows)
    assert abs(agg['recall@20']['mean'] - 0.2) < 1e-12 and abs(agg['recall@20']['std'] - 0.1) < 1e-12
    table = format_table({'BPRMF': agg}, ['recall@20'], paper={'BPRMF': {'recall@20': 0.25}})
    assert '0.2000±0.1000' in table and '0.2500' in table
    path = tmp_path / 'r.json'
    write_result(str(path), args=args, data_stats={'users': 3}, results={'BPRMF': {'mean_std': agg}},
                 protocol='test protocol')
    doc = json.loads(path.read_text())
    assert doc['config']['dataset'] == 'lastfm' and doc['data'] == {'users': 3}
    assert {'command', 'machine', 'protocol', 'results'} <= set(doc)
