import math

import numpy as np
import pytest
import torch

from torch_geometric_kgrec.metrics import (
    evaluate_ranking,
    mask_excluded,
    sampled_ranking_metrics,
    topk_with_exclusion,
)

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def brute_force_ranking(S, test, exclude, ks, users=None):
    r"""Independent reference: plain Python loops over users and positions."""
    S = np.asarray(S, dtype=np.float64)
    num_users, num_items = S.shape
    gt = {u: set() for u in range(num_users)}
    for u, i in zip(*test):
        gt[int(u)].add(int(i))
    ex = {u: set() for u in range(num_users)}
    for u, i in zip(*exclude):
        ex[int(u)].add(int(i))
    sums = {f'{m}@{k}': 0.0 for m in ('precision', 'recall', 'f1', 'ndcg', 'hit_ratio',
                                      'map', 'mrr') for k in ks}
    n = 0
    for u in range(num_users):
        if not gt[u] or (users is not None and u not in users):
            continue
        n += 1
        admissible = [i for i in range(num_items) if i not in ex[u]]
        ranked = sorted(admissible, key=lambda i: -S[u, i])
        for k in ks:
            top = ranked[:k]
            rel = [1 if i in gt[u] else 0 for i in top]
            hits = sum(rel)
            p, r = hits / k, hits / len(gt[u])
            sums[f'precision@{k}'] += p
            sums[f'recall@{k}'] += r
            sums[f'f1@{k}'] += 2 * p * r / (p + r) if hits else 0.0
            dcg = sum(rel[j] / math.log2(j + 2) for j in range(len(top)))
            idcg = sum(1 / math.log2(j + 2) for j in range(min(len(gt[u]), k)))
            sums[f'ndcg@{k}'] += dcg / idcg
            sums[f'hit_ratio@{k}'] += float(hits > 0)
            ap, seen = 0.0, 0
            for j, x in enumerate(rel):
                if x:
                    seen += 1
                    ap += seen / (j + 1)
            sums[f'map@{k}'] += ap / min(len(gt[u]), k)
            first = [j for j, x in enumerate(rel) if x]
            sums[f'mrr@{k}'] += 1 / (first[0] + 1) if first else 0.0
    return {key: value / n for key, value in sums.items()}, n


def random_problem(seed, num_users=13, num_items=40, n_test=45, n_train=120):
    g = torch.Generator().manual_seed(seed)
    S = torch.randn(num_users, num_items, generator=g)
    test = torch.stack([torch.randint(0, num_users, (n_test, ), generator=g),
                        torch.randint(0, num_items, (n_test, ), generator=g)])
    train = torch.stack([torch.randint(0, num_users, (n_train, ), generator=g),
                         torch.randint(0, num_items, (n_train, ), generator=g)])
    return S, test, train


ALL = ('precision', 'recall', 'f1', 'ndcg', 'hit_ratio', 'map', 'mrr')


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('batch_size', [1, 4, 1000])
def test_evaluate_ranking_matches_brute_force(seed, batch_size):
    S, test, train = random_problem(seed)
    ks = (1, 5, 20)
    out = evaluate_ranking(lambda u: S[u], test, train, 13, 40, ks=ks, metrics=ALL,
                           batch_size=batch_size)
    ref, n = brute_force_ranking(S, test.tolist(), train.tolist(), ks)
    assert out['num_users'] == n
    assert set(out) == set(ref) | {'num_users'}
    for key, value in ref.items():
        assert out[key] == pytest.approx(value, abs=1e-6), key


def test_evaluate_ranking_default_keys_and_edge_order_invariance():
    S, test, train = random_problem(7)
    out = evaluate_ranking(lambda u: S[u], test, train, 13, 40)
    assert sorted(out) == sorted(['precision@20', 'recall@20', 'f1@20', 'ndcg@20',
                                  'hit_ratio@20', 'map@20', 'num_users'])
    perm_t, perm_e = torch.randperm(test.size(1)), torch.randperm(train.size(1))
    dup = torch.cat([test, test[:, :5]], dim=1)[:, torch.randperm(test.size(1) + 5)]
    out2 = evaluate_ranking(lambda u: S[u], test[:, perm_t], train[:, perm_e], 13, 40)
    out3 = evaluate_ranking(lambda u: S[u], dup, [train[:, :60], train[:, 60:]], 13, 40)
    for key in out:
        assert out2[key] == pytest.approx(out[key], abs=1e-9)
        assert out3[key] == pytest.approx(out[key], abs=1e-9)  # duplicates count once


def test_ndcg_ideal_dcg_uses_ground_truth_size_not_retrieved_hits():
    # User 0: 3 test items {0, 1, 2}; top-2 = [0 (hit), 5 (miss)].
    S = torch.tensor([[9., 1., 0., 0., 0., 8.]])
    test = torch.tensor([[0, 0, 0], [0, 1, 2]])
    out = evaluate_ranking(lambda u: S[u], test, None, 1, 6, ks=(2, ))
    assert out['ndcg@2'] == pytest.approx(1 / (1 + 1 / math.log2(3)))  # KGAT bug: 1.0
    assert out['recall@2'] == pytest.approx(1 / 3)  # divides by |gt|, not min(|gt|, k)
    assert out['precision@2'] == pytest.approx(1 / 2)
    assert out['map@2'] == pytest.approx(1 / 2)  # (1/1) / min(3, 2)
    assert out['hit_ratio@2'] == 1.0


def test_masked_item_never_counts_as_hit():
    # Item 0 is both a training and a test item of user 0 and has the top score.
    S = torch.tensor([[10., 1., 2., 3.], [0., 1., 2., 3.]])
    test = torch.tensor([[0, 1], [0, 3]])
    train = torch.tensor([[0], [0]])
    out = evaluate_ranking(lambda u: S[u], test, train, 2, 4, ks=(1, 4),
                           metrics=('recall', 'hit_ratio', 'precision'))
    assert out['hit_ratio@1'] == pytest.approx(0.5)  # only user 1 hits
    assert out['recall@4'] == pytest.approx(0.5)  # user 0's item 0 is masked
    # Fewer admissible items than k: the -inf tail of topk is never a hit.
    S = torch.zeros(1, 3)
    test = torch.tensor([[0, 0], [0, 1]])
    train = torch.tensor([[0, 0], [0, 1]])
    out = evaluate_ranking(lambda u: S[u], test, train, 1, 3, ks=(3, ))
    assert out['hit_ratio@3'] == 0.0 and out['recall@3'] == 0.0


def test_only_users_with_test_items_and_user_subset():
    S, test, train = random_problem(3, num_users=20)
    test = test[:, test[0] < 15]  # users 15..19 have no test item
    calls = []

    def score_fn(u):
        calls.append(u.clone())
        return S[u]

    out = evaluate_ranking(score_fn, test, train, 20, 40, ks=(5, ), batch_size=4)
    seen = torch.cat(calls)
    assert all(c.numel() <= 4 for c in calls)
    assert seen.tolist() == sorted(set(test[0].tolist()))
    assert out['num_users'] == len(set(test[0].tolist()))
    subset = torch.tensor([0, 1, 2, 3, 17])
    out = evaluate_ranking(lambda u: S[u], test, train, 20, 40, ks=(5, ), metrics=ALL,
                           users=subset)
    ref, n = brute_force_ranking(S, test.tolist(), train.tolist(), (5, ),
                                 users={0, 1, 2, 3, 17})
    assert out['num_users'] == n
    for key, value in ref.items():
        assert out[key] == pytest.approx(value, abs=1e-6)


    out = evaluate_ranking(score_fn, test, train, 20, 40, users=torch.tensor([17, 18]))
    assert out['num_users'] == 0 and math.isnan(out['recall@20'])


def test_score_fn_output_not_modified():
    S, test, train = random_problem(1)
    before = S.clone()
    evaluate_ranking(lambda u: S if u.numel() == 13 else S[u], test, train, 13, 40,
                     batch_size=13)
    assert torch.equal(S, before)


def test_expanded_scores_same_item_scores_for_all_users():
    # A popularity-style score_fn returning an expanded (stride-0) view.
    pop = torch.randn(40)
    S, test, train = random_problem(4)
    out = evaluate_ranking(lambda u: pop.unsqueeze(0).expand(u.numel(), -1), test, train,
                           13, 40, ks=(5, ), metrics=ALL)
    ref, _ = brute_force_ranking(pop.expand(13, 40), test.tolist(), train.tolist(), (5, ))
    for key, value in ref.items():
        assert out[key] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize('device', DEVICES)
def test_evaluate_ranking_device(device):
    S, test, train = random_problem(5)
    S = S.to(device)
    out = evaluate_ranking(lambda u: S[u], test.to(device), train.to(device), 13, 40,
                           ks=(5, 10), metrics=ALL)
    ref, _ = brute_force_ranking(S.cpu(), test.tolist(), train.tolist(), (5, 10))
    for key, value in ref.items():
        assert out[key] == pytest.approx(value, abs=1e-6)


def test_evaluate_ranking_bad_input():
    S, test, train = random_problem(0)
    with pytest.raises(ValueError, match='shape'):
        evaluate_ranking(lambda u: S[u][:, :5], test, train, 13, 40)
    with pytest.raises(ValueError, match='NaN'):
        evaluate_ranking(lambda u: torch.full((u.numel(), 40), float('nan')), test, train,
                         13, 40)
    with pytest.raises(ValueError, match='exceeds num_items'):
        evaluate_ranking(lambda u: S[u], test, train, 13, 40, ks=(41, ))
    with pytest.raises(ValueError, match='num_items'):
        evaluate_ranking(lambda u: S[u], test, train, 13, 30)
    with pytest.raises(ValueError, match='num_users'):
        evaluate_ranking(lambda u: S[u], test, train, 5, 40)
    with pytest.raises(ValueError, match='Unknown metrics'):
        evaluate_ranking(lambda u: S[u], test, train, 13, 40, metrics=('auc', ))
    with pytest.raises(ValueError, match=r'\[2, n\]'):
        evaluate_ranking(lambda u: S[u], test.t(), train, 13, 40)


def test_mask_excluded_and_topk_with_exclusion():
    S, _, train = random_problem(2)
    users = torch.tensor([4, 0, 7])
    masked = mask_excluded(S[users], users, train)
    ex = set(map(tuple, train.t().tolist()))
    for b, u in enumerate(users.tolist()):
        for i in range(40):
            assert (masked[b, i] == float('-inf')) == ((u, i) in ex)
    values, index = topk_with_exclusion(S[users], 7, users, train)
    for b, u in enumerate(users.tolist()):
        expected = sorted((i for i in range(40) if (u, i) not in ex), key=lambda i: -S[u, i])
        assert index[b].tolist() == expected[:7]
    # Fewer admissible items than k -> -1, never an excluded item.
    values, index = topk_with_exclusion(torch.arange(4.).view(1, 4), 4, torch.tensor([0]),
                                        torch.tensor([[0, 0], [3, 1]]))
    assert index.tolist() == [[2, 0, -1, -1]]
    assert values[0, 2:].eq(float('-inf')).all()
    with pytest.raises(ValueError):
        topk_with_exclusion(S, 41)


def brute_force_sampled(pos, neg, k, ties):
    hr = ndcg = 0.0
    for p, row in zip(pos, neg):
        greater = sum(1 for x in row if x > p)
        equal = sum(1 for x in row if x == p)
        rank = 1 + greater + {'pessimistic': equal, 'average': equal / 2,
                              'optimistic': 0}[ties]
        if rank <= k:
            hr += 1
            ndcg += 1 / math.log2(rank + 1)
    return hr / len(pos), ndcg / len(pos)


@pytest.mark.parametrize('ties', ['pessimistic', 'average', 'optimistic'])
def test_sampled_ranking_metrics_matches_brute_force(ties):
    g = torch.Generator().manual_seed(0)
    pos = torch.randint(0, 6, (50, ), generator=g).float()  # many ties
    neg = torch.randint(0, 6, (50, 30), generator=g).float()
    out = sampled_ranking_metrics(pos, neg, ks=(1, 5, 10), ties=ties)
    for k in (1, 5, 10):
        hr, ndcg = brute_force_sampled(pos.tolist(), neg.tolist(), k, ties)
        assert out[f'hr@{k}'] == pytest.approx(hr)
        assert out[f'ndcg@{k}'] == pytest.approx(ndcg)
    assert set(out) == {'hr@1', 'ndcg@1', 'hr@5', 'ndcg@5', 'hr@10', 'ndcg@10'}


def test_sampled_ranking_constant_scorer_gets_no_free_hit():
    out = sampled_ranking_metrics(torch.zeros(8), torch.zeros(8, 999))
    assert out == {'hr@10': 0.0, 'ndcg@10': 0.0}
    out = sampled_ranking_metrics(torch.ones(2), torch.zeros(2, 999))
    assert out == {'hr@10': 1.0, 'ndcg@10': 1.0}
    with pytest.raises(ValueError):
        sampled_ranking_metrics(torch.zeros(3), torch.zeros(4, 9))
    with pytest.raises(ValueError):
        sampled_ranking_metrics(torch.zeros(3), torch.zeros(3, 9), ties='random')
