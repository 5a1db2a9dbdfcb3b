r"""Click-through-rate (CTR) metrics on labelled (user, item) pairs (MKR / KGCN
protocol): AUC, accuracy and F1 over the **whole** split.

Computing AUC once over all pairs of the split (not the mean of per-batch AUCs, and
without dropping the last partial batch as the KGCN reference code does) is the
definition of the ROC AUC of the split.
"""
from typing import Dict

import torch
from torch import Tensor

__all__ = ['roc_auc', 'ctr_metrics']


def _check(score: Tensor, label: Tensor) -> tuple:
    score, label = torch.as_tensor(score), torch.as_tensor(label)
    if score.dim() != 1 or label.dim() != 1 or score.numel() != label.numel():
        raise ValueError(f"'score' and 'label' must be 1-D of equal length (got "
                         f"{list(score.shape)} and {list(label.shape)})")
    if score.numel() == 0:
        raise ValueError("'score' is empty")
    if not score.is_floating_point():
        score = score.double()
    if torch.isnan(score).any():
        raise ValueError("'score' contains NaN")
    label = label.to(score.device)
    if not ((label == 0) | (label == 1)).all():
        raise ValueError("'label' must contain only 0 and 1")
    return score, label.bool()


def roc_auc(score: Tensor, label: Tensor) -> float:
    r"""Area under the ROC curve by the rank statistic (Mann-Whitney U):

    .. math::
        \mathrm{AUC} = \frac{\sum_{i : y_i = 1} \mathrm{rank}(s_i) - n_+ (n_+ + 1) / 2}
        {n_+ n_-},

    with ranks of the scores in ascending order and ties given their average rank,
    i.e. the probability that a random positive scores higher than a random
    negative, counting ties as :math:`1/2` (equal to
    :func:`sklearn.metrics.roc_auc_score`). :math:`O(n \log n)`.

    Args:
        score (torch.Tensor): Scores :obj:`[n]` (any monotone scale).
        label (torch.Tensor): Binary labels :obj:`[n]`.

    Raises:
        ValueError: If only one class is present (AUC undefined).
    """
    score, label = _check(score, label)
    n_pos = int(label.sum())
    n_neg = label.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError('Only one class present in label; ROC AUC is undefined')
    _, inverse, counts = torch.unique(score.double(), sorted=True, return_inverse=True,
                                      return_counts=True)
    counts = counts.double()
    # Average 1-based rank of each group of tied scores:
    avg_rank = counts.cumsum(0) - (counts - 1) / 2
    rank_sum = avg_rank[inverse][label].sum()
    auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float(auc)


def ctr_metrics(score: Tensor, label: Tensor, threshold: float = 0.5,
                logits: bool = False) -> Dict[str, float]:
    r"""AUC, accuracy and F1 of binary predictions over a whole split.

    :obj:`'auc'` is :func:`roc_auc` (threshold-free). The hard prediction is
    :math:`\hat y = [p \ge \mathrm{threshold}]` (as in the MKR / KGCN code), where
    :math:`p` is the score if it already is a probability, or
    :math:`\sigma(\mathrm{score})` with :obj:`logits=True`; then
    :math:`\mathrm{acc} = \frac{1}{n}\sum_i [\hat y_i = y_i]` and F1 is of the
    positive class, :math:`2TP / (2TP + FP + FN)` (0 when there is no positive
    prediction and no positive label).

    Args:
        score (torch.Tensor): Predicted probabilities (or logits) :obj:`[n]`.
        label (torch.Tensor): Binary labels :obj:`[n]`.
        threshold (float): Probability threshold. (default: :obj:`0.5`)
        logits (bool): Whether :obj:`score` holds logits. (default: :obj:`False`)

    Returns:
        :obj:`{'auc': float, 'acc': float, 'f1': float}`.
    """
    score, label = _check(score, label)
    if not logits and (score.min() < 0 or score.max() > 1):
        raise ValueError("'score' must be probabilities in [0, 1]; pass logits=True for "
                         "unnormalised scores")
    prob = torch.sigmoid(score) if logits else score
    pred = prob >= threshold
    tp = int((pred & label).sum())
    fp = int((pred & ~label).sum())
    fn = int((~pred & label).sum())
    denom = 2 * tp + fp + fn
    return {
        'auc': roc_auc(score, label),
        'acc': float((pred == label).double().mean()),
        'f1': 2 * tp / denom if denom > 0 else 0.0,
    }
