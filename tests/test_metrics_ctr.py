import math

import pytest
import torch

from torch_geometric_kgrec.metrics import ctr_metrics, roc_auc


def brute_force_auc(score, label):
    r"""O(n^2) pair count: P(score of a positive > score of a negative), ties = 1/2."""
    pos = [s for s, y in zip(score, label) if y == 1]
    neg = [s for s, y in zip(score, label) if y == 0]
    total = 0.0
    for p in pos:
        for n in neg:
            total += 1.0 if p > n else 0.5 if p == n else 0.0
    return total / (len(pos) * len(neg))


def brute_force_acc_f1(prob, label, threshold):
    pred = [1 if p >= threshold else 0 for p in prob]
    acc = sum(1 for a, b in zip(pred, label) if a == b) / len(label)
    tp = sum(1 for a, b in zip(pred, label) if a == 1 and b == 1)
    fp = sum(1 for a, b in zip(pred, label) if a == 1 and b == 0)
    fn = sum(1 for a, b in zip(pred, label) if a == 0 and b == 1)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return acc, f1


@pytest.mark.parametrize('seed', range(5))
@pytest.mark.parametrize('ties', [False, True])
def test_auc_matches_pair_count(seed, ties):
    g = torch.Generator().manual_seed(seed)
    n = 200
    score = (torch.randint(0, 7, (n, ), generator=g).float() / 6 if ties else
             torch.rand(n, generator=g))
    label = (torch.rand(n, generator=g) < 0.3 + 0.4 * score).long()
    assert roc_auc(score, label) == pytest.approx(
        brute_force_auc(score.tolist(), label.tolist()), abs=1e-12)


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('threshold', [0.5, 0.3])
def test_ctr_metrics_match_brute_force(seed, threshold):
    g = torch.Generator().manual_seed(seed)
    prob = torch.rand(300, generator=g)
    label = (torch.rand(300, generator=g) < prob).float()
    out = ctr_metrics(prob, label, threshold=threshold)
    acc, f1 = brute_force_acc_f1(prob.tolist(), label.tolist(), threshold)
    assert set(out) == {'auc', 'acc', 'f1'}
    assert out['auc'] == pytest.approx(brute_force_auc(prob.tolist(), label.tolist()))
    assert out['acc'] == pytest.approx(acc)
    assert out['f1'] == pytest.approx(f1)
    # Logits give the same metrics as their probabilities.
    logit = torch.logit(prob.double())
    out_logit = ctr_metrics(logit, label, threshold=threshold, logits=True)
    for key in out:
        assert out_logit[key] == pytest.approx(out[key])


def test_auc_is_over_whole_split_not_batch_mean():
    # Each half alone is perfectly ranked (AUC 1), but the split as a whole is not.
    score = torch.tensor([0.9, 0.8, 0.3, 0.2])
    label = torch.tensor([1, 0, 1, 0])
    assert roc_auc(score, label) == pytest.approx(brute_force_auc(score.tolist(),
                                                                  label.tolist()))
    assert roc_auc(score, label) == pytest.approx(0.75)
    assert roc_auc(score[:2], label[:2]) == roc_auc(score[2:], label[2:]) == 1.0


def test_ctr_hand_example_and_bad_input():
    out = ctr_metrics(torch.tensor([0.9, 0.6, 0.5, 0.4, 0.1]), torch.tensor([1, 0, 1, 1, 0]))
    # pred = [1, 1, 1, 0, 0]: tp=2, fp=1, fn=1 -> f1 = 4/6, acc = 3/5
    assert out['acc'] == pytest.approx(0.6)
    assert out['f1'] == pytest.approx(2 / 3)
    assert out['auc'] == pytest.approx(4 / 6)  # pairs (pos > neg): 0.9>0.6,0.1; 0.5>0.1; 0.4>0.1
    assert ctr_metrics(torch.tensor([0.1, 0.2]), torch.tensor([0, 1]))['f1'] == 0.0
    with pytest.raises(ValueError, match='one class'):
        roc_auc(torch.rand(5), torch.ones(5))
    with pytest.raises(ValueError, match='logits=True'):
        ctr_metrics(torch.tensor([-1.0, 2.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='0 and 1'):
        ctr_metrics(torch.tensor([0.1, 0.2]), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match='1-D'):
        ctr_metrics(torch.rand(3), torch.ones(4))
    with pytest.raises(ValueError, match='NaN'):
        roc_auc(torch.tensor([math.nan, 0.1]), torch.tensor([0, 1]))
