import pytest
import torch
from scipy.stats import chisquare
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.protocols import (RankingSplit, cold_start_split, ctr_split,
                                             published_split, ranking_split,
                                             sampled_ranking_negatives)


def make_data(num_users=40, num_items=30, density=0.25, seed=0, time=True,
              negatives=None):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(num_users, num_items, generator=g) < density
    mask[0] = False  # user 0: no interaction at all
    mask[1] = False
    mask[1, 3] = True  # user 1: a single interaction
    mask[2, :num_items - 2] = True  # user 2: almost every item
    mask[2, num_items - 2:] = False
    edge_index = mask.nonzero().t()  # sorted by (user, item)
    data = HeteroData()
    data['user'].num_nodes = num_users
    data['entity'].num_nodes = num_items + 10
    data.num_items = num_items
    data['user', 'interacts', 'entity'].edge_index = edge_index
    if time:  # distinct times
        data['user', 'interacts', 'entity'].time = torch.randperm(edge_index.size(1),
                                                                  generator=g) * 7
    if negatives is not None:
        data['user', 'negative', 'entity'].edge_index = negatives
    return data, mask


def pairs(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


# ---------------------------------------------------------------------------
# CTR
# ---------------------------------------------------------------------------
def test_ctr_split_sampled_negatives():
    data, mask = make_data()
    U, I = mask.shape
    split = ctr_split(data, seed=3)
    parts = [split.train, split.val, split.test]
    n = sum(len(p) for p in parts)
    num_pos = int(mask.sum())
    # random 6:2:2 of the labelled pairs, sizes as in the authors' dataset_split
    assert len(split.val) == int(n * 0.2) and len(split.test) == int(n * 0.2)
    assert len(split.train) == n - 2 * int(n * 0.2)
    ei = torch.cat([p.edge_index for p in parts], 1)
    label = torch.cat([p.label for p in parts])
    assert label.dtype == torch.float
    # every labelled pair appears exactly once over the three parts
    assert len(pairs(ei)) == n
    # positives: exactly the interactions, label 1
    assert pairs(ei[:, label == 1]) == pairs(mask.nonzero().t())
    neg = ei[:, label == 0]
    # negatives are never a positive of their user
    assert not mask[neg[0], neg[1]].any()
    # as many negatives as positives per user, capped by the user's non-positives
    pos_deg = mask.sum(1)
    expected = torch.minimum(pos_deg, I - pos_deg)
    assert torch.equal(torch.bincount(neg[0], minlength=U), expected)
    assert expected[2] == 2 and num_pos > 0  # the nearly-full user gets all it can
    # no pair of val/test is in train
    assert not (pairs(split.train.edge_index) & pairs(split.test.edge_index))
    assert not (pairs(split.train.edge_index) & pairs(split.val.edge_index))
    assert torch.equal(split.train_positives(),
                       split.train.edge_index[:, split.train.label == 1])


def test_ctr_split_seeded():
    data, _ = make_data()
    a, b, c = ctr_split(data, seed=1), ctr_split(data, seed=1), ctr_split(data, seed=2)
    assert torch.equal(a.test.edge_index, b.test.edge_index)
    assert torch.equal(a.train.label, b.train.label)
    assert not torch.equal(a.test.edge_index, c.test.edge_index)


def test_ctr_negatives_uniform_without_replacement():
    # one user with 2 positives among 6 items: its 2 negatives are a uniform 2-subset of
    # the 4 non-positives (6 subsets, each with probability 1/6)
    data = HeteroData()
    data['user'].num_nodes = 1
    data.num_items = 6
    data['user', 'interacts', 'entity'].edge_index = torch.tensor([[0, 0], [1, 4]])
    counts = {}
    for seed in range(600):
        split = ctr_split(data, seed=seed)
        ei = torch.cat([split.train.edge_index, split.val.edge_index,
                        split.test.edge_index], 1)
        lab = torch.cat([split.train.label, split.val.label, split.test.label])
        subset = tuple(sorted(ei[1, lab == 0].tolist()))
        assert len(subset) == 2 and not set(subset) & {1, 4}
        counts[subset] = counts.get(subset, 0) + 1
    assert len(counts) == 6
    assert chisquare(list(counts.values())).pvalue > 1e-3


def test_ctr_split_file_negatives_and_sparsity():
    neg = torch.tensor([[3, 3, 5], [0, 1, 2]])
    data, mask = make_data(negatives=neg)
    mask[3, 0] = mask[3, 1] = mask[5, 2] = False
    data['user', 'interacts', 'entity'].edge_index = mask.nonzero().t()
    del data['user', 'interacts', 'entity'].time
    split = ctr_split(data, seed=0)
    ei = torch.cat([split.train.edge_index, split.val.edge_index, split.test.edge_index], 1)
    lab = torch.cat([split.train.label, split.val.label, split.test.label])
    assert pairs(ei[:, lab == 0]) == pairs(neg)  # the file's negatives, nothing sampled
    sparse = ctr_split(data, seed=0, train_fraction=0.5)
    assert len(sparse.train) == int(len(split.train) * 0.5)
    assert pairs(sparse.train.edge_index) <= pairs(split.train.edge_index)
    assert torch.equal(sparse.test.edge_index, split.test.edge_index)
    # a labelled negative that is also a positive is an error
    data['user', 'negative', 'entity'].edge_index = torch.tensor([[2], [0]])
    with pytest.raises(ValueError, match='positive pair'):
        ctr_split(data)


def test_ctr_split_bad_input():
    data, _ = make_data()
    with pytest.raises(ValueError, match='ratios'):
        ctr_split(data, ratios=(0.5, 0.2, 0.2))
    data['user', 'interacts', 'entity'].edge_index = torch.tensor([[0], [99]])
    with pytest.raises(ValueError, match='item index 99'):
        ctr_split(data)


# ---------------------------------------------------------------------------
# ranking
# ---------------------------------------------------------------------------
def expected_counts(n, ratios):
    # independent reference: round half up, keep >= 1 training item
    import math
    n_test = math.floor(n * ratios[2] + 0.5)
    n_val = math.floor(n * ratios[1] + 0.5)
    if n >= 1 and n - n_test - n_val < 1:
        n_val = max(n - 1 - n_test, 0)
        n_test = min(n_test, n - 1 - n_val)
    return n - n_val - n_test, n_val, n_test


@pytest.mark.parametrize('ratios', [(0.8, 0.1, 0.1), (0.7, 0.1, 0.2), (0.2, 0.4, 0.4)])
@pytest.mark.parametrize('temporal', [False, True])
def test_ranking_split_per_user(ratios, temporal):
    data, mask = make_data(num_users=60, num_items=40, density=0.3)
    U, I = mask.shape
    split = ranking_split(data, ratios=ratios, seed=5, temporal=temporal)
    assert isinstance(split, RankingSplit)
    assert (split.num_users, split.num_items) == (U, I)
    tr, va, te = pairs(split.train), pairs(split.val), pairs(split.test)
    # disjoint parts whose union is every positive
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert tr | va | te == pairs(mask.nonzero().t())
    for part in (split.train, split.val, split.test):  # sorted by (user, item)
        key = part[0] * I + part[1]
        assert torch.equal(key, key.sort()[0])
    counts = [torch.bincount(p[0], minlength=U) for p in (split.train, split.val, split.test)]
    for u in range(U):
        n = int(mask[u].sum())
        assert tuple(int(c[u]) for c in counts) == expected_counts(n, ratios)
        if n >= 1:
            assert counts[0][u] >= 1
    # large users follow the ratio closely
    n2 = int(mask[2].sum())
    assert abs(int(counts[2][2]) - n2 * ratios[2]) <= 0.5


def test_ranking_split_temporal_order():
    data, mask = make_data(num_users=60, num_items=40, density=0.3)
    store = data['user', 'interacts', 'entity']
    time = {p: int(t) for p, t in zip(map(tuple, store.edge_index.t().tolist()), store.time)}
    split = ranking_split(data, ratios=(0.6, 0.2, 0.2), seed=0, temporal=True)
    for u in range(mask.size(0)):
        t = [[time[p] for p in pairs(part) if p[0] == u]
             for part in (split.train, split.val, split.test)]
        if t[1]:
            assert max(t[0]) < min(t[1])
        if t[2]:
            assert max(t[0] + t[1]) < min(t[2])
    # independent of the seed
    other = ranking_split(data, ratios=(0.6, 0.2, 0.2), seed=9, temporal=True)
    assert torch.equal(other.test, split.test)
    del store.time
    with pytest.raises(ValueError, match='temporal=True needs'):
        ranking_split(data, temporal=True)


def test_ranking_split_seeded_and_helpers():
    data, mask = make_data()
    a, b, c = ranking_split(data, seed=0), ranking_split(data, seed=0), ranking_split(data,
                                                                                     seed=1)
    assert torch.equal(a.test, b.test) and torch.equal(a.train, b.train)
    assert not torch.equal(a.test, c.test)
    assert a.exclude('train').size(1) == 0
    assert torch.equal(a.exclude('val'), a.train)
    assert pairs(a.exclude('test')) == pairs(a.train) | pairs(a.val)
    dense = a.train_adj().to_dense()
    ref = torch.zeros_like(dense)
    ref[a.train[0], a.train[1]] = 1
    assert torch.equal(dense, ref)
    with pytest.raises(ValueError, match="'part'"):
        a.exclude('dev')
    # the edge-index form gives the same split as the HeteroData form
    store = data['user', 'interacts', 'entity']
    d = ranking_split(store.edge_index, seed=0, num_users=mask.size(0), num_items=mask.size(1))
    assert torch.equal(d.test, a.test)


def test_published_split():
    data, mask = make_data(num_users=50, num_items=40, density=0.3, time=False)
    ei = data['user', 'interacts', 'entity'].edge_index
    g = torch.Generator().manual_seed(0)
    is_test = torch.rand(ei.size(1), generator=g) < 0.2
    data['user', 'interacts', 'entity'].split = is_test.long() * 2
    split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=0, published=True)
    assert pairs(split.test) == pairs(ei[:, is_test])
    assert pairs(split.train) | pairs(split.val) == pairs(ei[:, ~is_test])
    assert not pairs(split.train) & pairs(split.val)
    # validation = round(1/9 of each user's published training items), >= 1 train kept
    n_tr = torch.bincount(ei[0, ~is_test], minlength=50)
    n_val = torch.bincount(split.val[0], minlength=50)
    for u in range(50):
        assert int(n_val[u]) == expected_counts(int(n_tr[u]), (8 / 9, 1 / 9, 0))[1]
    # masks give the same as the split attribute
    del data['user', 'interacts', 'entity'].split
    data['user', 'interacts', 'entity'].train_mask = ~is_test
    data['user', 'interacts', 'entity'].test_mask = is_test
    again = ranking_split(data, seed=0, published=True)
    assert torch.equal(again.val, split.val) and torch.equal(again.test, split.test)
    # the function form; a pair in both published files stays in test only
    train = torch.cat([ei[:, ~is_test], ei[:, is_test][:, :3]], 1)
    direct = published_split(train, ei[:, is_test], 50, 40, val_ratio=0.0, seed=0)
    assert direct.val.size(1) == 0
    assert pairs(direct.train) == pairs(ei[:, ~is_test])
    del data['user', 'interacts', 'entity'].train_mask
    with pytest.raises(ValueError, match="neither a 'split'"):
        ranking_split(data, published=True)


# ---------------------------------------------------------------------------
# sampled ranking (MeKB-Rec)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('num_items,num_negatives', [(40, 18), (400, 20)])  # dense, sparse
def test_sampled_ranking_negatives(num_items, num_negatives):
    data, mask = make_data(num_users=30, num_items=num_items, density=0.2, time=False)
    mask[2] = False  # keep every user with enough non-interacted items
    mask[2, :5] = True
    data['user', 'interacts', 'entity'].edge_index = mask.nonzero().t()
    split = ranking_split(data, seed=0)
    users = split.test[0]
    neg = sampled_ranking_negatives(split.all_positives(), users, num_items, num_negatives,
                                    seed=1)
    assert neg.shape == (users.numel(), num_negatives)
    # never a positive of ANY part of that user (train, val or test)
    assert not mask[users.unsqueeze(1), neg].any()
    # distinct within a row
    assert (neg.sort(1)[0].diff(dim=1) > 0).all()
    again = sampled_ranking_negatives(split.all_positives(), users, num_items,
                                      num_negatives, seed=1)
    assert torch.equal(neg, again)
    other = sampled_ranking_negatives(split.all_positives(), users, num_items,
                                      num_negatives, seed=2)
    assert not torch.equal(neg, other)


def test_sampled_ranking_negatives_uniform():
    # user 0 interacted with items 0..3 of 24: over many rows every other item must be
    # included with probability N / 20
    pos = torch.tensor([[0, 0, 0, 0], [0, 1, 2, 3]])
    users = torch.zeros(4000, dtype=torch.long)
    for n_neg in (3, 15):  # sparse rounds and dense path
        neg = sampled_ranking_negatives(pos, users, 24, n_neg, seed=0)
        freq = torch.bincount(neg.view(-1), minlength=24)
        assert freq[:4].sum() == 0
        assert chisquare(freq[4:].tolist()).pvalue > 1e-3
        # random order within rows: the first column is uniform too
        first = torch.bincount(neg[:, 0], minlength=24)[4:]
        assert chisquare(first.tolist()).pvalue > 1e-3
    with pytest.raises(ValueError, match='fewer than num_negatives'):
        sampled_ranking_negatives(pos, users[:2], 24, 21)


# ---------------------------------------------------------------------------
# cold start (MeKB-Rec / CKMPN)
# ---------------------------------------------------------------------------
def test_cold_start_split():
    data, mask = make_data(num_users=100, num_items=30, density=0.3)
    store = data['user', 'interacts', 'entity']
    time = {p: int(t) for p, t in zip(map(tuple, store.edge_index.t().tolist()), store.time)}
    s = cold_start_split(data, user_fraction=0.1, history_fraction=0.8, seed=0)
    active = int((mask.sum(1) > 0).sum())
    assert s.cold_users.numel() == round(0.1 * active)
    cold = set(s.cold_users.tolist())
    # cold users have no training edge; warm users keep all of theirs
    assert not cold & set(s.train[0].tolist())
    warm = [p for p in pairs(mask.nonzero().t()) if p[0] not in cold]
    assert pairs(s.train) == set(warm)
    assert torch.equal(s.train_time, torch.tensor([time[p] for p in
                                                   map(tuple, s.train.t().tolist())]))
    assert set(s.history[0].tolist()) | set(s.test[0].tolist()) <= cold
    for u in cold:
        hist = [time[p] for p in pairs(s.history) if p[0] == u]
        test = [time[p] for p in pairs(s.test) if p[0] == u]
        n = int(mask[u].sum())
        assert len(hist) == min(max(int(n * 0.8 + 0.5), 1), max(n - 1, 1))
        assert len(hist) + len(test) == n
        if test:
            assert max(hist) < min(test)  # history is the oldest 80%
    b = cold_start_split(data, user_fraction=0.1, seed=0)
    assert torch.equal(b.cold_users, s.cold_users) and torch.equal(b.test, s.test)
    assert not torch.equal(cold_start_split(data, user_fraction=0.1, seed=1).cold_users,
                           s.cold_users)
    # the warm part can be split further for warm-user validation / test
    warm_split = ranking_split(s.train, seed=0, num_users=100, num_items=30,
                               time=s.train_time, temporal=True)
    assert not set(warm_split.train[0].tolist()) & cold
    with pytest.raises(ValueError, match='user_fraction'):
        cold_start_split(data, user_fraction=0.0)
    del store.time
    with pytest.raises(ValueError, match='needs interaction times'):
        cold_start_split(data, temporal=True)
    assert cold_start_split(data, seed=0).history.size(1) > 0  # random order fallback
