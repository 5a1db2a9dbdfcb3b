import pytest
import torch
from torch_geometric.nn import TransE

from torch_geometric_kgrec.metrics import (
    RELATION_CATEGORIES,
    evaluate_kg_completion,
    kg_completion_ranks,
    relation_categories,
)

TIE = {'pessimistic': 1.0, 'average': 0.5, 'optimistic': 0.0}


def brute_force_categories(triples, num_relations):
    out = []
    for r in range(num_relations):
        trip = {(h, t) for h, rr, t in triples if rr == r}
        if not trip:
            out.append(-1)
            continue
        tails_of = {}
        heads_of = {}
        for h, t in trip:
            tails_of.setdefault(h, set()).add(t)
            heads_of.setdefault(t, set()).add(h)
        tph = sum(len(v) for v in tails_of.values()) / len(tails_of)
        hpt = sum(len(v) for v in heads_of.values()) / len(heads_of)
        # 'X-Y': X = many heads per tail?, Y = many tails per head?
        name = ('1' if hpt < 1.5 else 'N') + '-' + ('1' if tph < 1.5 else 'N')
        out.append(RELATION_CATEGORIES.index(name))
    return out


def brute_force_ranks(S, test, known, ties):
    r"""S[h, r, t] score table; loops over every candidate entity."""
    S = S.numpy()
    E = S.shape[0]
    ranks = {'raw_head': [], 'raw_tail': [], 'filtered_head': [], 'filtered_tail': []}
    for h, r, t in test:
        for side in ('head', 'tail'):
            target = S[h, r, t]
            for setting in ('raw', 'filtered'):
                greater = equal = 0
                for e in range(E):
                    if e == (h if side == 'head' else t):
                        continue
                    cand = (e, r, t) if side == 'head' else (h, r, e)
                    if setting == 'filtered' and cand in known:
                        continue
                    s = S[cand]
                    greater += int(s > target)
                    equal += int(s == target)
                ranks[f'{setting}_{side}'].append(1 + greater + TIE[ties] * equal)
    return ranks


def toy_kg(seed, E=12, R=4, n_train=60, n_test=15, integer=False):
    g = torch.Generator().manual_seed(seed)
    S = (torch.randint(0, 4, (E, R, E), generator=g).double() if integer else
         torch.randn(E, R, E, generator=g, dtype=torch.double))
    train = torch.stack([torch.randint(0, E, (n_train, ), generator=g),
                         torch.randint(0, R, (n_train, ), generator=g),
                         torch.randint(0, E, (n_train, ), generator=g)])
    test = torch.stack([torch.randint(0, E, (n_test, ), generator=g),
                        torch.randint(0, R, (n_test, ), generator=g),
                        torch.randint(0, E, (n_test, ), generator=g)])
    return S, train, test


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('ties', ['pessimistic', 'average', 'optimistic'])
def test_kg_completion_ranks_match_brute_force(seed, ties):
    S, train, test = toy_kg(seed, integer=True)  # integer scores: many ties
    known = set(map(tuple, torch.cat([train, test], 1).t().tolist()))
    ranks = kg_completion_ranks(lambda h, r, t: S[h, r, t], test, 12, filter_triples=train,
                                batch_size=4, ties=ties)
    ref = brute_force_ranks(S, test.t().tolist(), known, ties)
    for key, value in ref.items():
        assert ranks[key].tolist() == pytest.approx(value), key


@pytest.mark.parametrize('batch_size', [1, 5, None])
def test_evaluate_kg_completion_matches_brute_force(batch_size):
    S, train, test = toy_kg(3)
    known = set(map(tuple, torch.cat([train, test], 1).t().tolist()))
    ref = brute_force_ranks(S, test.t().tolist(), known, 'pessimistic')
    cat = relation_categories(train[[0, 2]], train[1], 4)
    out = evaluate_kg_completion(lambda h, r, t: S[h, r, t], tuple(test), 12,
                                 filter_triples=tuple(train), ks=(1, 3, 10),
                                 batch_size=batch_size, relation_category=cat)
    assert out['num_triples'] == 15
    for setting in ('raw', 'filtered'):
        sides = {s: ref[f'{setting}_{s}'] for s in ('head', 'tail')}
        sides['avg'] = sides['head'] + sides['tail']
        for side, rank in sides.items():
            assert out[f'{setting}_{side}_mr'] == pytest.approx(sum(rank) / len(rank))
            assert out[f'{setting}_{side}_mrr'] == pytest.approx(
                sum(1 / x for x in rank) / len(rank))
            for k in (1, 3, 10):
                assert out[f'{setting}_{side}_hits@{k}'] == pytest.approx(
                    sum(x <= k for x in rank) / len(rank))
        for code, name in enumerate(RELATION_CATEGORIES):
            idx = [i for i, r in enumerate(test[1].tolist()) if int(cat[r]) == code]
            assert out[f'num_triples_{name}'] == len(idx)
            for side in ('head', 'tail'):
                got = out[f'{setting}_{side}_hits@10_{name}']
                if not idx:
                    assert got != got  # NaN
                else:
                    assert got == pytest.approx(
                        sum(sides[side][i] <= 10 for i in idx) / len(idx))
    # Filtering can only improve ranks; raw-only without filter_triples.
    assert out['filtered_avg_mr'] <= out['raw_avg_mr']
    raw_only = evaluate_kg_completion(lambda h, r, t: S[h, r, t], test, 12)
    assert not any(key.startswith('filtered') for key in raw_only)
    assert raw_only['raw_tail_mrr'] == pytest.approx(out['raw_tail_mrr'])


def test_filtered_never_counts_other_true_triple_as_miss():
    # (0, 0, 1) and (0, 0, 2) are both true; the model scores 2 above 1.
    S = torch.zeros(4, 1, 4)
    S[0, 0] = torch.tensor([0.0, 0.5, 0.9, 0.1])
    test = torch.tensor([[0], [0], [1]])
    out = evaluate_kg_completion(lambda h, r, t: S[h, r, t], test, 4,
                                 filter_triples=torch.tensor([[0], [0], [2]]), ks=(1, ))
    assert out['raw_tail_mr'] == 2.0 and out['raw_tail_hits@1'] == 0.0
    assert out['filtered_tail_mr'] == 1.0 and out['filtered_tail_hits@1'] == 1.0
    # A constant scorer gets the worst (pessimistic) rank, not rank 1.
    out = evaluate_kg_completion(lambda h, r, t: torch.zeros(h.numel()), test, 4, ks=(1, ))
    assert out['raw_tail_mr'] == 4.0 and out['raw_head_hits@1'] == 0.0


def test_relation_categories():
    # r0: 1-1; r1: head 0 -> tails 1,2,3 (1-N); r2: heads 1,2,3 -> tail 0 (N-1);
    # r3: complete bipartite {0,1} x {2,3} (N-N); r4: no training triple.
    triples = [(0, 0, 1), (2, 0, 3), (0, 1, 1), (0, 1, 2), (0, 1, 3), (1, 2, 0), (2, 2, 0),
               (3, 2, 0), (0, 3, 2), (0, 3, 3), (1, 3, 2), (1, 3, 3), (0, 3, 2)]
    t = torch.tensor(triples).t()
    cat = relation_categories(t[[0, 2]], t[1], num_relations=5)
    assert cat.tolist() == [0, 1, 2, 3, -1]
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        rnd = torch.stack([torch.randint(0, 8, (80, ), generator=g),
                           torch.randint(0, 6, (80, ), generator=g),
                           torch.randint(0, 8, (80, ), generator=g)])
        cat = relation_categories(rnd[[0, 2]], rnd[1], 7)
        assert cat.tolist() == brute_force_categories(rnd.t().tolist(), 7)


def test_matches_pyg_kgemodel_test_raw_tail():
    torch.manual_seed(0)
    model = TransE(num_nodes=30, num_relations=3, hidden_channels=8)
    h, r, t = torch.randint(0, 30, (20, )), torch.randint(0, 3, (20, )), torch.randint(0, 30,
                                                                                       (20, ))
    mr0, mrr, hits = model.test(h, r, t, batch_size=30, k=10, log=False)
    out = evaluate_kg_completion(model, (h, r, t), 30, ks=(10, ))
    assert out['raw_tail_mr'] == pytest.approx(mr0 + 1)  # PyG's mean rank is 0-based
    assert out['raw_tail_mrr'] == pytest.approx(mrr, abs=1e-6)
    assert out['raw_tail_hits@10'] == pytest.approx(hits)


def test_kg_bad_input():
    S, train, test = toy_kg(0)
    f = lambda h, r, t: S[h, r, t]  # noqa: E731
    with pytest.raises(ValueError, match='num_entities'):
        evaluate_kg_completion(f, test, 5)
    with pytest.raises(ValueError, match='one score per triple'):
        evaluate_kg_completion(lambda h, r, t: S[h, r, t][:3], test, 12)
    with pytest.raises(ValueError, match='NaN'):
        evaluate_kg_completion(lambda h, r, t: torch.full(h.shape, float('nan')), test, 12)
    with pytest.raises(ValueError, match=r'\[3, n\]'):
        evaluate_kg_completion(f, test.t(), 12)
    with pytest.raises(ValueError, match='relation_category'):
        evaluate_kg_completion(f, test, 12, relation_category=torch.zeros(2, dtype=torch.long))
