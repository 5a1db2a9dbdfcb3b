import os

import numpy as np
import pytest
import torch

from torch_geometric_kgrec.datasets import (SyntheticKG, generate_synthetic_kg, kgrec_stats,
                                            validate_kgrec_data)

INTER = ('user', 'interacts', 'entity')
KG = ('entity', 'kg', 'entity')
SMALL = dict(num_users=300, num_items=600, num_entities=1800, num_relations=6,
             num_triples=6000, num_interactions=6000)


def test_sizes_and_schema():
    data = generate_synthetic_kg(**SMALL)
    validate_kgrec_data(data)
    s = kgrec_stats(data)
    assert (s['users'], s['items'], s['entities'], s['relations'], s['triples'],
            s['interactions']) == (300, 600, 1800, 6, 6000, 6000)
    h, t = data[KG].edge_index
    # item -> attribute triples, unique, every item has at least one attribute
    assert int(h.max()) < 600 and int(t.min()) >= 600
    assert torch.unique(h * 1800 + t).numel() == 6000
    assert torch.unique(h).numel() == 600 and s['linked_items'] == 600
    # each attribute entity belongs to exactly one relation
    rel = data[KG].edge_type
    pairs = torch.unique(torch.stack([t, rel]), dim=1)
    assert torch.unique(pairs[0]).numel() == pairs.size(1)
    # every user interacts at least once
    assert torch.unique(data[INTER].edge_index[0]).numel() == 300
    assert data.relation_names[:3] == ['genre', 'director', 'actor']
    assert data['user'].preferred_entities.shape == (300, 3)
    assert len(data.entity_ids) == 1800 and data.entity_ids[600] == 'genre_0'


def test_deterministic():
    a, b = generate_synthetic_kg(**SMALL), generate_synthetic_kg(**SMALL)
    c = generate_synthetic_kg(**SMALL, seed=1)
    assert torch.equal(a[KG].edge_index, b[KG].edge_index)
    assert torch.equal(a[INTER].edge_index, b[INTER].edge_index)
    assert not torch.equal(a[INTER].edge_index, c[INTER].edge_index)


def test_tiny_and_extreme_sizes():
    d = generate_synthetic_kg(num_users=3, num_items=4, num_entities=6, num_relations=2,
                              num_triples=4, num_interactions=3)
    validate_kgrec_data(d)
    # the densest allowed KG and interaction matrix can still be filled
    d = generate_synthetic_kg(num_users=10, num_items=10, num_entities=20, num_relations=2,
                              num_triples=50, num_interactions=50)
    assert d[KG].edge_index.size(1) == 50 and d[INTER].edge_index.size(1) == 50


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_entities=602), 'attribute entities'),
    (dict(num_triples=500), 'num_triples'),
    (dict(num_interactions=200), 'num_interactions'),
    (dict(noise=1.5), 'noise'),
])
def test_argument_checks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_synthetic_kg(**dict(SMALL, **kwargs))


def test_planted_preferences_are_followed():
    data = generate_synthetic_kg(**SMALL, noise=0.2)
    u, i = data[INTER].edge_index.numpy()
    h, t = data[KG].edge_index.numpy()
    has = np.zeros((600, 1800), dtype=bool)
    has[h, t] = True
    prefs = data['user'].preferred_entities.numpy()
    follows = has[i[:, None], prefs[u]].any(1)
    # ~80% by construction (minus top-up noise when a user's pool is exhausted)
    assert follows.mean() > 0.6


def _recall_at_20(score, train, test_u, test_i):
    score = score.copy()
    score[train > 0] = -np.inf
    top = np.argpartition(-score, 20, axis=1)[:, :20]
    hit = np.zeros(score.shape, dtype=bool)
    hit[np.arange(score.shape[0])[:, None], top] = True
    truth = np.zeros(score.shape, dtype=bool)
    truth[test_u, test_i] = True
    n = truth.sum(1)
    ok = n > 0
    return float(((hit & truth).sum(1)[ok] / n[ok]).mean())


def _kg_vs_popularity(noise):
    data = generate_synthetic_kg(num_users=1000, num_items=2000, num_entities=6000,
                                 num_relations=8, num_triples=20000,
                                 num_interactions=20000, noise=noise)
    U, I, E = data['user'].num_nodes, data.num_items, data['entity'].num_nodes
    u, i = data[INTER].edge_index.numpy()
    h, t = data[KG].edge_index.numpy()
    test = np.random.default_rng(1).random(u.size) < 0.2  # held-out interactions
    train = np.zeros((U, I))
    train[u[~test], i[~test]] = 1
    item_attr = torch.sparse_coo_tensor(torch.from_numpy(np.stack([h, t])),
                                        torch.ones(h.size, dtype=torch.float64), (I, E),
                                        check_invariants=True).coalesce()
    # KG-aware scorer, no training: for each attribute entity of the item, how many of
    # the user's training items carry it.
    attr_count = torch.sparse.mm(item_attr.t(), torch.from_numpy(train).t())  # [E, U]
    kg_score = torch.sparse.mm(item_attr, attr_count).t().numpy()  # [U, I]
    pop_score = np.broadcast_to(train.sum(0), (U, I))
    return (_recall_at_20(kg_score, train, u[test], i[test]),
            _recall_at_20(np.array(pop_score), train, u[test], i[test]))


def test_planted_structure_is_learnable():
    kg, pop = _kg_vs_popularity(noise=0.2)
    assert kg >= 2 * pop, (kg, pop)  # measured: 0.21 vs 0.04
    # control: without planted preferences the KG scorer has no such advantage
    kg0, pop0 = _kg_vs_popularity(noise=1.0)
    assert kg0 < 1.5 * pop0, (kg0, pop0)


def test_dataset_class(tmp_path):
    ds = SyntheticKG(tmp_path, **SMALL, seed=3)
    name = os.path.basename(ds.processed_paths[0])
    assert name == 'synthetic_u300_i600_e1800_r6_t6000_n6000_p3_noise0.2_s3.pt'
    assert torch.equal(ds[0][INTER].edge_index,
                       generate_synthetic_kg(**SMALL, seed=3)[INTER].edge_index)
    assert str(ds).startswith('SyntheticKG(num_users=300')
    other = SyntheticKG(tmp_path, **SMALL, seed=4)  # a different file, same folder
    assert not torch.equal(ds[0][INTER].edge_index, other[0][INTER].edge_index)
    files = sorted(os.listdir(os.path.join(tmp_path, 'processed')))
    assert len(files) == 3 and files[0] == '.lock'  # 2 data files + the lock, no pickles
