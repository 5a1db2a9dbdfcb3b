r"""The MeKB-Rec cross-domain protocol: split, zero-shot users, no leakage into MeKBs,
sampled ranking cases and activity buckets."""
import pytest
import torch

from torch_geometric_kgrec.datasets import generate_synthetic_cdr
from torch_geometric_kgrec.mekb import mekb_scores
from torch_geometric_kgrec.protocols import (activity_buckets, cdr_split, mekb_interactions,
                                             sampled_ranking_cases)

INTER = ('user', 'interacts', 'entity')


@pytest.fixture(scope='module')
def data():
    return generate_synthetic_cdr(num_users=200, num_items=(150, 1200),
                                  interactions_per_user=(6, 12), seed=1)


def _pairs(x):
    return set(map(tuple, x.t().tolist()))


def test_cdr_split_partition_and_zero_shot(data):
    sp = cdr_split(data, source='source', target='target', seed=0)
    assert sp.num_target_items == 1200 and sp.target_items[0] == 150
    tr, va, te = _pairs(sp.train), _pairs(sp.val), _pairs(sp.test)
    assert not (tr & va) and not (tr & te) and not (va & te)
    dom = data.item_domain
    ei = data[INTER].edge_index
    m = dom[ei[1]] == 1
    all_t = {(u, i - 150) for u, i in ei[:, m].t().tolist()}
    assert tr | va | te == all_t
    assert sp.zero_shot_users.numel() == 40  # 20% of the 200 overlapped users
    zero = set(sp.zero_shot_users.tolist())
    assert all(u not in zero for u, _ in tr | va)
    assert {u for u, _ in te} >= zero
    warm = [p for p in all_t if p[0] not in zero]
    assert len(tr) == round(0.8 * len(warm)) and len(va) == round(0.1 * len(warm))
    assert sp.source.size(1) == int((dom[ei[1]] == 0).sum())
    again = cdr_split(data, source=0, target=1, seed=0)
    assert torch.equal(again.train, sp.train) and torch.equal(again.test, sp.test)
    assert not torch.equal(cdr_split(data, seed=1).zero_shot_users, sp.zero_shot_users)


@pytest.mark.parametrize('domains', ['source', 'both'])
def test_mekb_uses_training_interactions_only(data, domains):
    sp = cdr_split(data, seed=0)
    I = data['entity'].num_nodes  # private entities come after the data's entities
    # every target item also links to a private entity: a MeKB entry for it reveals
    # exactly which record the MeKB was built from
    private = torch.stack([sp.target_items, I + torch.arange(sp.num_target_items)])
    kg = data['entity', 'kg', 'entity'].edge_index
    links = torch.cat([kg, private], dim=1)
    E = I + sp.num_target_items
    mekb = mekb_scores(mekb_interactions(sp, domains), links, sp.num_users, E)
    seen = {(u, e - I) for u, e in mekb.edge_index.t().tolist() if e >= I}
    if domains == 'source':
        assert seen == set()
    else:
        assert seen == _pairs(sp.train)  # train records only
        assert not seen & (_pairs(sp.val) | _pairs(sp.test))
    # zero-shot users' MeKBs hold their source-domain entities alone (the IDF, and so
    # the order, may differ since it counts all users)
    src_only = mekb_scores(sp.source, links, sp.num_users, E)
    for u in sp.zero_shot_users.tolist()[:5]:
        a, b = mekb.user_slice(u), src_only.user_slice(u)
        assert dict(zip(mekb.edge_index[1, a].tolist(), mekb.freq[a].tolist())) == \
            dict(zip(src_only.edge_index[1, b].tolist(), src_only.freq[b].tolist()))


def test_sampled_ranking_cases(data):
    sp = cdr_split(data, seed=0)
    users, pos, neg = sampled_ranking_cases(sp, 'test', num_negatives=999, seed=3)
    assert torch.equal(users, sp.test[0].unique())
    te = _pairs(sp.test)
    assert all((u, i) in te for u, i in zip(users.tolist(), pos.tolist()))
    assert neg.shape == (users.numel(), 999)
    every = _pairs(sp.all_target())
    for r in range(0, users.numel(), 17):
        row = neg[r].tolist()
        assert len(set(row)) == 999
        assert all((int(users[r]), i) not in every for i in row)
    u2, p2, n2 = sampled_ranking_cases(sp, 'test', num_negatives=999, seed=3)
    assert torch.equal(p2, pos) and torch.equal(n2, neg)


def test_activity_buckets(data):
    sp = cdr_split(data, seed=0)
    users = torch.arange(sp.num_users)
    b = activity_buckets(sp, users)
    n = sp.train_count()
    assert torch.equal(b['zero-shot'], n == 0)
    assert torch.equal(b['few-shot'], (n >= 1) & (n < 10))
    assert torch.equal(b['multi-shot'], n >= 10)
    assert bool(b['zero-shot'][sp.zero_shot_users].all())
