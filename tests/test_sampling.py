import pytest
import torch
from scipy.stats import chisquare

from torch_geometric_kgrec.protocols import (KGNeighborSampler, PositiveIndex,
                                             ReciprocalRatioNegativeSampler,
                                             UniformNegativeSampler, ranking_split)
from torch_geometric_kgrec.protocols.sampling import sample_distinct_non_positives


def random_positives(num_users=30, num_items=20, density=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(num_users, num_items, generator=g) < density
    return mask.nonzero().t(), mask


# ---------------------------------------------------------------------------
# PositiveIndex
# ---------------------------------------------------------------------------
def test_positive_index_matches_dense_reference():
    ei, mask = random_positives()
    # duplicates and unsorted input are fine
    shuffled = torch.cat([ei, ei[:, :5]], 1)[:, torch.randperm(ei.size(1) + 5)]
    index = PositiveIndex(shuffled, 30, 20)
    assert torch.equal(index.deg, mask.sum(1))
    u, i = torch.meshgrid(torch.arange(30), torch.arange(20), indexing='ij')
    assert torch.equal(index.contains(u.reshape(-1), i.reshape(-1)), mask.reshape(-1))
    # k-th non-positive item, against a Python list per user
    for user in range(30):
        free = (~mask[user]).nonzero().view(-1)
        got = index.kth_non_positive(torch.full((free.numel(), ), user),
                                     torch.arange(free.numel()))
        assert torch.equal(got, free)
    with pytest.raises(ValueError, match=r"shape \[2, N\]"):
        PositiveIndex(ei.t(), 30, 20)
    with pytest.raises(ValueError, match='user index 30'):
        PositiveIndex(torch.tensor([[30], [0]]), 30, 20)


def test_distinct_sampler_fallback_is_uniform():
    # max_rounds=1 forces unfinished rows through the dense fallback
    index = PositiveIndex(torch.tensor([[0, 0], [0, 5]]), 1, 10)
    rows = torch.zeros(3000, dtype=torch.long)
    row, item = sample_distinct_non_positives(index, rows, torch.full((3000, ), 3),
                                              torch.Generator().manual_seed(0), max_rounds=1)
    assert torch.equal(torch.bincount(row), torch.full((3000, ), 3))
    per_row = item.view(3000, 3)
    assert (per_row.sort(dim=1)[0].diff(dim=1) > 0).all()  # distinct within the row
    freq = torch.bincount(item, minlength=10)
    assert freq[0] == 0 and freq[5] == 0
    assert chisquare(freq[[1, 2, 3, 4, 6, 7, 8, 9]].tolist()).pvalue > 1e-3
    last = torch.bincount(per_row[:, -1], minlength=10)  # random order within a row
    assert chisquare(last[[1, 2, 3, 4, 6, 7, 8, 9]].tolist()).pvalue > 1e-3


# ---------------------------------------------------------------------------
# uniform
# ---------------------------------------------------------------------------
def test_uniform_sampler_never_returns_training_positive_and_is_uniform():
    ei, mask = random_positives()
    sampler = UniformNegativeSampler(ei, 30, 20)
    users = torch.arange(30).repeat(400)
    neg = sampler.sample(users, num_negatives=2, generator=torch.Generator().manual_seed(0))
    assert neg.shape == (users.numel(), 2) and neg.dtype == torch.long
    assert not mask[users.unsqueeze(1), neg].any()
    # per user, uniform over its non-positives (chi-square for a few users)
    for user in (0, 7, 19):
        free = (~mask[user]).nonzero().view(-1)
        freq = torch.bincount(neg[users == user].view(-1), minlength=20)[free]
        assert chisquare(freq.tolist()).pvalue > 1e-3
    assert 'UniformNegativeSampler(num_users=30, num_items=20' in str(sampler)


def test_uniform_sampler_sees_training_positives_only():
    ei, mask = random_positives(density=0.4)
    from torch_geometric.data import HeteroData
    data = HeteroData()
    data['user'].num_nodes, data.num_items = 30, 20
    data['user', 'interacts', 'entity'].edge_index = ei
    split = ranking_split(data, seed=0)
    sampler = UniformNegativeSampler(split.train, 30, 20)
    users = split.train[0].repeat(50)
    neg = sampler.sample(users, generator=torch.Generator().manual_seed(1)).view(-1)
    train_mask = torch.zeros(30, 20, dtype=torch.bool)
    train_mask[split.train[0], split.train[1]] = True
    assert not train_mask[users, neg].any()
    # held-out items are legitimate training negatives: the sampler must not know them
    held = torch.zeros(30, 20, dtype=torch.bool)
    held[split.test[0], split.test[1]] = True
    held[split.val[0], split.val[1]] = True
    assert held[users, neg].sum() > 0


def test_uniform_sampler_seeded_and_errors():
    ei, _ = random_positives()
    sampler = UniformNegativeSampler(ei, 30, 20)
    users = torch.arange(30)
    a = sampler.sample(users, 4, generator=torch.Generator().manual_seed(3))
    b = sampler.sample(users, 4, generator=torch.Generator().manual_seed(3))
    c = sampler.sample(users, 4, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    full = torch.stack([torch.zeros(20, dtype=torch.long), torch.arange(20)])
    sampler = UniformNegativeSampler(full, 2, 20)
    assert (sampler.sample(torch.ones(5, dtype=torch.long)) >= 0).all()
    with pytest.raises(ValueError, match='every one of the 20 items'):
        sampler.sample(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match='user index 2'):
        sampler.sample(torch.tensor([2]))
    with pytest.raises(ValueError, match='num_negatives'):
        sampler.sample(torch.tensor([1]), num_negatives=0)


# ---------------------------------------------------------------------------
# reciprocal ratio (CKMPN eq. 9)
# ---------------------------------------------------------------------------
def test_reciprocal_sampler_follows_inverse_counts():
    # item i has c(i) = i + 1 training interactions from users 1..10; user 0 is the
    # one we sample for, with positives {0, 3}
    rows = [(0, 0), (0, 3)]
    for item in range(8):
        rows += [(1 + k, item) for k in range(item + 1)]
    ei = torch.tensor(rows).t()
    sampler = ReciprocalRatioNegativeSampler(ei, 11, 8)
    count = torch.bincount(ei[1], minlength=8)
    assert torch.equal(sampler.item_count, count)
    n = 40000
    neg = sampler.sample(torch.zeros(n, dtype=torch.long),
                         generator=torch.Generator().manual_seed(0)).view(-1)
    freq = torch.bincount(neg, minlength=8)
    assert freq[0] == 0 and freq[3] == 0  # the user's own training positives
    allowed = torch.tensor([1, 2, 4, 5, 6, 7])
    p = 1.0 / count[allowed].double()
    expected = (p / p.sum() * n).tolist()
    assert chisquare(freq[allowed].tolist(), expected).pvalue > 1e-3
    # the most popular allowed item (7) is sampled about 8/2 = 4x less than item 1
    assert 3.5 < freq[1] / freq[7] < 4.5
    # a uniform sampler would fail the same test
    uni = UniformNegativeSampler(ei, 11, 8).sample(torch.zeros(n, dtype=torch.long))
    ufreq = torch.bincount(uni.view(-1), minlength=8)[allowed]
    assert chisquare(ufreq.tolist(), expected).pvalue < 1e-6


def test_reciprocal_sampler_zero_counts_and_fallback():
    # items 4, 5 have no training interaction; user 0 holds items 0-2 (about half of the
    # mass), max_rounds=1 sends its rejected draws through the exact fallback
    ei = torch.tensor([[0, 0, 0, 1, 1, 2, 1, 2, 3, 4], [0, 1, 2, 3, 0, 3, 6, 6, 6, 6]])
    n = 30000
    for zero_count, unseen in (('one', 1.0), ('exclude', 0.0)):
        sampler = ReciprocalRatioNegativeSampler(ei, 5, 7, zero_count=zero_count,
                                                 max_rounds=1)
        neg = sampler.sample(torch.zeros(n, dtype=torch.long),
                             generator=torch.Generator().manual_seed(0)).view(-1)
        freq = torch.bincount(neg, minlength=7)
        assert freq[:3].sum() == 0
        w = torch.tensor([0.0, 0.0, 0.0, 1 / 2, unseen, unseen, 1 / 4])
        expected = w / w.sum() * n
        keep = expected > 0
        assert torch.equal(freq > 0, keep)
        assert chisquare(freq[keep].tolist(), expected[keep].tolist()).pvalue > 1e-3
    smooth = ReciprocalRatioNegativeSampler(ei, 5, 7, smoothing=1.0)
    w = 1 / (torch.tensor([2., 1, 1, 2, 0, 0, 4], dtype=torch.float64) + 1)
    assert torch.allclose(smooth.prob, w / w.sum())
    # user 0 holding every item of non-zero weight cannot be served under 'exclude'
    sampler = ReciprocalRatioNegativeSampler(torch.tensor([[0, 0, 0, 0], [0, 1, 2, 3]]), 1,
                                             6, zero_count='exclude')
    with pytest.raises(ValueError, match='non-zero sampling weight'):
        sampler.sample(torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match='zero_count'):
        ReciprocalRatioNegativeSampler(ei, 5, 7, zero_count='drop')


def test_reciprocal_sampler_counts_training_only():
    ei, mask = random_positives(density=0.4)
    from torch_geometric.data import HeteroData
    data = HeteroData()
    data['user'].num_nodes, data.num_items = 30, 20
    data['user', 'interacts', 'entity'].edge_index = ei
    split = ranking_split(data, seed=0)
    sampler = ReciprocalRatioNegativeSampler(split.train, 30, 20)
    assert torch.equal(sampler.item_count, torch.bincount(split.train[1], minlength=20))
    users = split.train[0].repeat(50)
    neg = sampler.sample(users, generator=torch.Generator().manual_seed(0)).view(-1)
    train_mask = torch.zeros(30, 20, dtype=torch.bool)
    train_mask[split.train[0], split.train[1]] = True
    assert not train_mask[users, neg].any()
    held = torch.zeros(30, 20, dtype=torch.bool)
    held[split.test[0], split.test[1]] = True
    assert held[users, neg].sum() > 0  # test items can be sampled: no leakage


# ---------------------------------------------------------------------------
# KGCN neighbours
# ---------------------------------------------------------------------------
def kg_example():
    # node 0: 6 neighbours, node 1: 2, node 7: isolated (num_nodes = 8)
    head = torch.tensor([0, 0, 0, 0, 0, 2, 1, 3])
    tail = torch.tensor([1, 2, 3, 4, 5, 6, 6, 4])
    rel = torch.tensor([0, 1, 2, 0, 1, 2, 3, 0])
    return torch.stack([head, tail]), rel


def test_kg_neighbor_sampler_true_neighbours_and_coverage():
    ei, rel = kg_example()
    K = 4
    sampler = KGNeighborSampler(ei, rel, num_nodes=8, num_neighbors=K)
    assert str(sampler) == 'KGNeighborSampler(num_nodes=8, num_neighbors=4, num_relations=4)'
    # undirected reference: (node) -> set of (neighbour, relation), same relation id
    ref = {v: set() for v in range(8)}
    for h, t, r in zip(ei[0].tolist(), ei[1].tolist(), rel.tolist()):
        ref[h].add((t, r))
        ref[t].add((h, r))
    gen = torch.Generator().manual_seed(0)
    seen = {v: set() for v in range(8)}
    for _ in range(200):
        nb, rl = sampler.sample(gen)
        assert nb.shape == (8, K) and rl.shape == (8, K)
        for v in range(7):
            got = list(zip(nb[v].tolist(), rl[v].tolist()))
            assert set(got) <= ref[v]
            if len(ref[v]) >= K:  # without replacement
                assert len(set(got)) == K
            seen[v] |= set(got)
        # isolated node: self-loop with the padding relation
        assert nb[7].tolist() == [7] * K and rl[7].tolist() == [4] * K
    for v in range(7):
        assert seen[v] == ref[v]  # every neighbour is reachable
    assert sampler.padding_relation == 4


def test_kg_neighbor_sampler_inclusion_probabilities():
    # star with 10 leaves, K = 3: every leaf of the centre is included with p = 3/10,
    # and every position of the row is uniform (random order)
    ei = torch.stack([torch.zeros(10, dtype=torch.long), torch.arange(1, 11)])
    sampler = KGNeighborSampler(ei, torch.arange(10), 11, 3)
    gen = torch.Generator().manual_seed(1)
    counts = torch.zeros(11, dtype=torch.long)
    first = torch.zeros(11, dtype=torch.long)
    for _ in range(2000):
        nb, rl = sampler.sample(gen)
        assert torch.equal(rl[0], nb[0] - 1)  # relation of leaf j is j - 1
        counts += torch.bincount(nb[0], minlength=11)
        first[nb[0, 0]] += 1
        assert (nb[1:] == 0).all()  # a leaf's only neighbour, with replacement
    assert chisquare(counts[1:].tolist()).pvalue > 1e-3
    assert chisquare(first[1:].tolist()).pvalue > 1e-3


def test_kg_neighbor_sampler_seeded_and_errors():
    ei, rel = kg_example()
    sampler = KGNeighborSampler(ei, rel, 8, 3)
    a = sampler.sample(torch.Generator().manual_seed(5))
    b = sampler.sample(torch.Generator().manual_seed(5))
    c = sampler.sample(torch.Generator().manual_seed(6))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    with pytest.raises(ValueError, match='node 7'):
        KGNeighborSampler(ei, rel, 8, 3, isolated='error')
    with pytest.raises(ValueError, match='edge_type'):
        KGNeighborSampler(ei, rel[:-1], 8, 3)
    with pytest.raises(ValueError, match='node index 6'):
        KGNeighborSampler(ei, rel, 6, 3)
    with pytest.raises(ValueError, match='num_neighbors'):
        KGNeighborSampler(ei, rel, 8, 0)


def test_kg_neighbor_sampler_from_data_equals_explicit_construction():
    from torch_geometric.data import HeteroData
    data = HeteroData()
    data['entity'].num_nodes = 6
    data['entity', 'kg', 'entity'].edge_index = torch.tensor([[0, 0, 1, 2], [3, 4, 5, 3]])
    data['entity', 'kg', 'entity'].edge_type = torch.tensor([0, 1, 2, 0])
    data.relation_names = ['a', 'b', 'c', 'unused']
    s = KGNeighborSampler.from_data(data, 2)
    ref = KGNeighborSampler(data['entity', 'kg', 'entity'].edge_index,
                            data['entity', 'kg', 'entity'].edge_type, 6, 2, num_relations=4)
    assert s.num_relations == 4 and s.padding_relation == 4 and s.num_nodes == 6
    for a, b in zip(s.sample(torch.Generator().manual_seed(0)),
                    ref.sample(torch.Generator().manual_seed(0))):
        assert torch.equal(a, b)
