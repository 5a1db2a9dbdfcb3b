import argparse
import os
import sys
import types

import torch

from torch_geometric_kgrec.protocols import (ReciprocalRatioNegativeSampler,
                                             UniformNegativeSampler)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'benchmarks'))
import kmpn  # noqa: E402  (the benchmark's epoch function)


def _epoch_batches(sampler_cls, train, num_users, num_items, batch_size=7, seed=3):
    sampler = sampler_cls(train, num_users, num_items)
    ctx = types.SimpleNamespace(args=argparse.Namespace(batch_size=batch_size),
                                device=torch.device('cpu'), train=train)
    weight = torch.nn.Parameter(torch.zeros(()))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    seen = []

    def loss_fn(users, pos, neg):
        seen.append((users.clone(), pos.clone(), neg.clone()))
        return weight * 0.0

    gen = torch.Generator().manual_seed(seed)
    epoch = kmpn.make_train_epoch(ctx, loss_fn, sampler, None, optimizer, gen)
    epoch(1)
    epoch(2)
    return sampler, seen


def test_epoch_negatives_equal_per_batch_draws_and_are_never_positives():
    torch.manual_seed(0)
    num_users, num_items = 9, 12
    train = torch.stack([torch.randint(0, num_users, (40, )),
                         torch.randint(0, num_items, (40, ))])
    sampler, seen = _epoch_batches(UniformNegativeSampler, train, num_users, num_items)
    # the per-batch reference: the same generator, one sample() call per batch
    gen = torch.Generator().manual_seed(3)
    ref = []
    for _ in range(2):
        perm = torch.randperm(train.size(1), generator=gen)
        for idx in perm.split(7):
            ref.append(sampler.sample(train[0, idx], generator=gen).view(-1))
    assert len(seen) == len(ref) == 2 * 6
    for (users, pos, neg), r in zip(seen, ref):
        assert torch.equal(neg, r)
        assert not sampler.is_positive(users, neg).any()  # never a training positive
    # reciprocal-ratio negatives (drawn per batch) are never positives either
    rrs, seen = _epoch_batches(ReciprocalRatioNegativeSampler, train, num_users, num_items)
    for users, _, neg in seen:
        assert not rrs.is_positive(users, neg).any()


def test_ours_speed_measures_every_model_on_tiny_data(monkeypatch):
    # the interface the RecBole harness relies on: one model per call, every number there
    import ours_speed
    from torch_geometric_kgrec.datasets import generate_synthetic_kg
    data = generate_synthetic_kg(num_users=30, num_items=40, num_entities=90,
                                 num_relations=3, num_triples=300, num_interactions=300)
    monkeypatch.setattr(ours_speed, 'load_dataset', lambda name, root=None: data)
    parser_args = ['--dim', '8', '--batch-size', '64', '--repeats', '1', '--ks', '5',
                   '--eval-batch-size', '16']
    for model in ours_speed.MODELS:
        monkeypatch.setattr(sys, 'argv', ['ours_speed.py', '--model', model, '--child']
                            + parser_args)
        args = ours_speed.build_parser().parse_args()
        out = ours_speed.time_model(model, args)
        assert out['model'] == ours_speed.NAMES[model]
        assert out['train_seconds_per_epoch'] > 0 and out['eval_seconds'] > 0
        assert out['peak_rss_mib'] > 0 and 0 <= out['eval_metrics']['recall@5'] <= 1
