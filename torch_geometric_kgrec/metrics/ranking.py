r"""Top-:math:`k` ranking evaluation: full ranking over all items and sampled
ranking (one positive against :math:`N` sampled negatives).

Full ranking (KGAT / KGIN / KMPN / KTUP / KGCN top-:math:`k` protocol)
----------------------------------------------------------------------
For every evaluated user :math:`u` with ground truth :math:`G_u` (its test items,
:math:`|G_u| \geq 1`), all :obj:`num_items` items are scored, the user's excluded
items (training and, at test time, validation interactions) are set to
:math:`-\infty` **before** :meth:`torch.topk`, and the top-:math:`k` list
:math:`R_u = (r_1, \dots, r_k)` is compared with :math:`G_u`. With
:math:`\mathrm{rel}_i = [r_i \in G_u]` and :math:`h_u = \sum_{i \le k}
\mathrm{rel}_i` the definitions are exactly those of PyG's
:class:`torch_geometric.metrics.LinkPredPrecision` (and friends), which compute
them:

.. math::
    \mathrm{Precision@}k &= h_u / k \\
    \mathrm{Recall@}k &= h_u / |G_u| \\
    \mathrm{F1@}k &= 2 PR / (P + R) \\
    \mathrm{NDCG@}k &= \frac{\sum_{i=1}^{k} \mathrm{rel}_i / \log_2(i + 1)}
        {\sum_{i=1}^{\min(|G_u|, k)} 1 / \log_2(i + 1)} \\
    \mathrm{HitRatio@}k &= [h_u > 0] \\
    \mathrm{MAP@}k &= \frac{1}{\min(|G_u|, k)} \sum_{i=1}^{k}
        \mathrm{rel}_i \cdot \frac{\sum_{j \le i} \mathrm{rel}_j}{i} \\
    \mathrm{MRR@}k &= \max_{i \le k} \mathrm{rel}_i / i

and every metric is the mean over evaluated users. Note the ideal DCG uses
:math:`\min(|G_u|, k)` ideal hits (not the hits of the retrieved list, a known bug
of the KGAT code lineage) and Recall divides by :math:`|G_u|` (not by
:math:`\min(|G_u|, k)`).
"""
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.metrics import (
    LinkPredF1,
    LinkPredHitRatio,
    LinkPredMAP,
    LinkPredMetricCollection,
    LinkPredMRR,
    LinkPredNDCG,
    LinkPredPrecision,
    LinkPredRecall,
)

from torch_geometric_kgrec.distributed import all_gather_cat, all_reduce_sum, resolve_group

__all__ = [
    'RANKING_METRICS',
    'mask_excluded',
    'topk_with_exclusion',
    'evaluate_ranking',
    'sampled_ranking_metrics',
    'rank_with_ties',
]

#: Metric names accepted by :func:`evaluate_ranking` and the PyG class computing each.
RANKING_METRICS = {
    'precision': LinkPredPrecision,
    'recall': LinkPredRecall,
    'f1': LinkPredF1,
    'ndcg': LinkPredNDCG,
    'hit_ratio': LinkPredHitRatio,
    'map': LinkPredMAP,
    'mrr': LinkPredMRR,
}

_TIE_FACTOR = {'pessimistic': 1.0, 'average': 0.5, 'optimistic': 0.0}

EdgeIndexes = Union[Tensor, Sequence[Tensor], None]


def _as_edge_index(edge_index: EdgeIndexes, name: str, num_users: Optional[int],
                   num_items: Optional[int], device: torch.device) -> Tensor:
    r"""Concatenate / validate a (list of) :obj:`[2, n]` (user, item) edge indices."""
    if edge_index is None:
        return torch.empty((2, 0), dtype=torch.long, device=device)
    if isinstance(edge_index, (list, tuple)):
        parts = [_as_edge_index(e, name, num_users, num_items, device) for e in edge_index]
        return torch.cat(parts, dim=1) if parts else torch.empty(
            (2, 0), dtype=torch.long, device=device)
    if not isinstance(edge_index, Tensor):
        raise ValueError(f"'{name}' must be a LongTensor of shape [2, n] "
                         f"(got {type(edge_index).__name__})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'{name}' must have shape [2, n] (got {list(edge_index.shape)})")
    if edge_index.dtype not in (torch.long, torch.int, torch.int16, torch.int8, torch.uint8):
        raise ValueError(f"'{name}' must be an integer tensor (got {edge_index.dtype})")
    edge_index = edge_index.to(device=device, dtype=torch.long)
    if edge_index.numel() > 0:
        if int(edge_index.min()) < 0:
            raise ValueError(f"'{name}' contains negative indices")
        if num_users is not None and int(edge_index[0].max()) >= num_users:
            raise ValueError(f"'{name}' contains user {int(edge_index[0].max())} but "
                             f"num_users={num_users}")
        if num_items is not None and int(edge_index[1].max()) >= num_items:
            raise ValueError(f"'{name}' contains item {int(edge_index[1].max())} but "
                             f"num_items={num_items}")
    return edge_index


def _csr(edge_index: Tensor, num_users: int, num_items: int) -> Tuple[Tensor, Tensor]:
    r"""Unique (user, item) pairs as CSR :obj:`(rowptr [num_users + 1], col)`."""
    key = torch.unique(edge_index[0] * num_items + edge_index[1])  # sorted, deduplicated
    row, col = key.div(num_items, rounding_mode='floor'), key % num_items
    deg = torch.bincount(row, minlength=num_users)
    rowptr = torch.zeros(num_users + 1, dtype=torch.long, device=edge_index.device)
    rowptr[1:] = deg.cumsum(0)
    return rowptr, col


def _gather(rowptr: Tensor, col: Tensor, users: Tensor) -> Tuple[Tensor, Tensor]:
    r"""For :obj:`users` (batch), return :obj:`(batch_row, item)` of their CSR entries."""
    start, count = rowptr[users], rowptr[users + 1] - rowptr[users]
    batch_row = torch.repeat_interleave(torch.arange(users.numel(), device=users.device),
                                        count)
    offset = torch.arange(batch_row.numel(), device=users.device)
    offset = offset - (count.cumsum(0) - count)[batch_row]
    return batch_row, col[start[batch_row] + offset]


def _check_scores(scores: Tensor, batch: int, num_items: int) -> None:
    if not isinstance(scores, Tensor):
        raise ValueError(f"'score_fn' must return a Tensor (got {type(scores).__name__})")
    if scores.dim() != 2 or scores.size(0) != batch or scores.size(1) != num_items:
        raise ValueError(f"'score_fn' must return scores of shape [{batch}, {num_items}] "
                         f"(batch of users x num_items), got {list(scores.shape)}")
    if not scores.is_floating_point():
        raise ValueError(f"'score_fn' must return floating-point scores (got {scores.dtype})")


def mask_excluded(scores: Tensor, users: Tensor, exclude_edge_index: EdgeIndexes) -> Tensor:
    r"""Return a copy of :obj:`scores` with every excluded (user, item) pair set to
    :math:`-\infty`.

    Args:
        scores (torch.Tensor): Scores of shape :obj:`[B, num_items]`; row :obj:`b`
            belongs to user :obj:`users[b]`.
        users (torch.Tensor): User indices of shape :obj:`[B]` (unique).
        exclude_edge_index (torch.Tensor or list, optional): (user, item) pairs of
            shape :obj:`[2, n]` (or a list of such tensors, e.g.
            :obj:`[train, val]`) that must not be recommended. Pairs of users not in
            :obj:`users` are ignored.
    """
    scores = scores.clone()
    exclude = _as_edge_index(exclude_edge_index, 'exclude_edge_index', None,
                             scores.size(1), scores.device)
    if exclude.numel() == 0:
        return scores
    users = users.to(scores.device, torch.long)
    size = int(max(int(users.max()) if users.numel() else 0, int(exclude[0].max()))) + 1
    row_of_user = torch.full((size, ), -1, dtype=torch.long, device=scores.device)
    row_of_user[users] = torch.arange(users.numel(), device=scores.device)
    rows = row_of_user[exclude[0]]
    keep = rows >= 0
    scores[rows[keep], exclude[1, keep]] = float('-inf')
    return scores


def topk_with_exclusion(scores: Tensor, k: int, users: Optional[Tensor] = None,
                        exclude_edge_index: EdgeIndexes = None) -> Tuple[Tensor, Tensor]:
    r"""Top-:obj:`k` items per row after masking excluded pairs with :math:`-\infty`.

    The reusable core of a model's :meth:`recommend` and of :func:`evaluate_ranking`.
    Ties are broken by :meth:`torch.topk` (arbitrary but deterministic on a device).

    Args:
        scores (torch.Tensor): Scores of shape :obj:`[B, num_items]`.
        k (int): Number of items to return per row.
        users (torch.Tensor, optional): User of every row, shape :obj:`[B]`;
            required when :obj:`exclude_edge_index` is given.
        exclude_edge_index (torch.Tensor or list, optional): (user, item) pairs that
            must never be returned (e.g. training interactions).

    Returns:
        :obj:`(values, index)`, both of shape :obj:`[B, k]`. When a row has fewer
        than :obj:`k` admissible items (finite score), the remaining positions hold
        :obj:`index = -1` and :obj:`value = -inf`, so an excluded item is never
        returned.
    """
    if k <= 0 or k > scores.size(-1):
        raise ValueError(f"'k' must be in [1, num_items={scores.size(-1)}] (got {k})")
    if exclude_edge_index is not None:
        if users is None:
            raise ValueError("'users' is required when 'exclude_edge_index' is given")
        scores = mask_excluded(scores, users, exclude_edge_index)
    values, index = scores.topk(k, dim=-1)
    index = index.masked_fill(values == float('-inf'), -1)
    return values, index


@torch.no_grad()
def evaluate_ranking(
    score_fn: Callable[[Tensor], Tensor],
    test_edge_index: Tensor,
    exclude_edge_index: EdgeIndexes,
    num_users: int,
    num_items: int,
    ks: Iterable[int] = (20, ),
    metrics: Iterable[str] = ('precision', 'recall', 'f1', 'ndcg', 'hit_ratio', 'map'),
    batch_size: int = 1024,
    users: Optional[Tensor] = None,
    device: Optional[Union[str, torch.device]] = None,
    progress: bool = False,
    distributed: Optional[bool] = None,
    group=None,
) -> Dict[str, float]:
    r"""Full-ranking top-:math:`k` evaluation over all items (see the module
    docstring for the exact metric definitions, identical to PyG's
    :class:`~torch_geometric.metrics.LinkPredPrecision`, :class:`LinkPredRecall`,
    :class:`LinkPredF1`, :class:`LinkPredNDCG`, :class:`LinkPredHitRatio`,
    :class:`LinkPredMAP` and :class:`LinkPredMRR`, which do the computation).

    Only users with at least one test item are evaluated (reported as
    :obj:`'num_users'`); users are processed in batches of :obj:`batch_size`, and
    one :meth:`torch.topk` with :math:`\max(ks)` serves every :math:`k`.
    Excluded items are set to :math:`-\infty` before :meth:`torch.topk`; an item
    whose (masked) score is :math:`-\infty` is never counted as a hit, even if it is
    also a test item (it still counts in :math:`|G_u|`). Duplicate test pairs are
    counted once. Ties are broken by :meth:`torch.topk`.

    Args:
        score_fn (callable): :obj:`score_fn(users: LongTensor[B]) -> Tensor[B,
            num_items]`, higher means more relevant (e.g. :obj:`model.score_all`).
        test_edge_index (torch.Tensor): Ground-truth (user, item) pairs
            :obj:`[2, n]`.
        exclude_edge_index (torch.Tensor or list, optional): (user, item) pairs
            never to rank (training interactions; at test time also validation),
            :obj:`[2, m]` or a list of such tensors.
        num_users (int): Number of users.
        num_items (int): Number of items (columns of the score matrix).
        ks (iterable of int): Cut-offs :math:`k`. (default: :obj:`(20,)`)
        metrics (iterable of str): Any of :obj:`'precision'`, :obj:`'recall'`,
            :obj:`'f1'`, :obj:`'ndcg'`, :obj:`'hit_ratio'`, :obj:`'map'`,
            :obj:`'mrr'`.
        batch_size (int): Users per call of :obj:`score_fn`. (default: :obj:`1024`)
        users (torch.Tensor, optional): Restrict evaluation to these users (e.g. a
            cold-start bucket). (default: all users)
        device (torch.device, optional): Device of the user batches passed to
            :obj:`score_fn` and of the metric computation. (default: device of
            :obj:`test_edge_index`)
        progress (bool): Show a :obj:`tqdm` progress bar. (default: :obj:`False`)
        distributed (bool, optional): Shard the users over the ranks of
            :obj:`group`: rank :math:`r` of :math:`W` scores batches :math:`r, r + W,
            \dots` and the per-batch metric sums are all-reduced, so every rank
            returns exactly the single-process result (the sums are folded in batch
            order). :obj:`None` (default): shard when :mod:`torch.distributed` is
            initialised; :obj:`False`: evaluate all users here (then it must not be
            called on only some ranks otherwise). Every rank of the group must call
            it with the same arguments.
        group (ProcessGroup, optional): Process group to shard over. (default: the
            whole world)

    Returns:
        :obj:`{'recall@20': float, 'ndcg@20': float, ..., 'num_users': int}` with a
        key :obj:`f'{metric}@{k}'` for every metric and :math:`k` (NaN when no
        user has a test item).
    """
    ks = sorted({int(k) for k in ks})
    metrics = list(metrics)
    if not ks or ks[0] <= 0:
        raise ValueError(f"'ks' must be positive integers (got {ks})")
    if ks[-1] > num_items:
        raise ValueError(f"max(ks)={ks[-1]} exceeds num_items={num_items}")
    unknown = [m for m in metrics if m not in RANKING_METRICS]
    if unknown or not metrics:
        raise ValueError(f"Unknown metrics {unknown}; choose from {sorted(RANKING_METRICS)}")
    if batch_size <= 0:
        raise ValueError(f"'batch_size' must be positive (got {batch_size})")
    if not isinstance(test_edge_index, Tensor):
        raise ValueError("'test_edge_index' must be a LongTensor of shape [2, n]")
    device = torch.device(device) if device is not None else test_edge_index.device

    test = _as_edge_index(test_edge_index, 'test_edge_index', num_users, num_items, device)
    exclude = _as_edge_index(exclude_edge_index, 'exclude_edge_index', num_users, num_items,
                             device)
    test_ptr, test_col = _csr(test, num_users, num_items)
    excl_ptr, excl_col = _csr(exclude, num_users, num_items)

    has_test = test_ptr[1:] > test_ptr[:-1]
    if users is not None:
        users = users.to(device, torch.long).view(-1)
        if users.numel() and (int(users.min()) < 0 or int(users.max()) >= num_users):
            raise ValueError(f"'users' must lie in [0, {num_users})")
        selected = torch.zeros(num_users, dtype=torch.bool, device=device)
        selected[users] = True
        has_test = has_test & selected
    eval_users = has_test.nonzero().view(-1)

    collection = LinkPredMetricCollection({
        f'{name}@{k}': RANKING_METRICS[name](k)
        for k in ks for name in metrics
    }).to(device=device, dtype=torch.float64)  # accumulate in float64
    names = list(collection.keys())

    group, rank, world_size = resolve_group(distributed, group)
    num_batches = -(-eval_users.numel() // batch_size)
    # The excluded and test entries of every evaluated user, gathered once in user
    # order, so that a batch's entries are one contiguous slice; excluded entries as
    # flat offsets into the batch's [B, num_items] score matrix.
    starts = torch.arange(num_batches + 1, device=device) * batch_size
    ex_row, ex_col = _gather(excl_ptr, excl_col, eval_users)
    ex_ptr = torch.searchsorted(ex_row, starts).tolist()
    ex_flat = (ex_row % batch_size) * num_items + ex_col
    te_row, te_col = _gather(test_ptr, test_col, eval_users)
    te_ptr = torch.searchsorted(te_row, starts).tolist()
    te_row = te_row % batch_size
    # Per-batch metric sums and counts; this rank fills rows rank, rank + W, ...
    sums = torch.zeros(num_batches, len(names), dtype=torch.float64, device=device)
    counts = torch.zeros(num_batches, len(names), dtype=torch.long, device=device)
    batches = range(rank, num_batches, world_size)
    if progress:
        from tqdm.auto import tqdm
        batches = tqdm(batches, desc='evaluate_ranking', unit='batch')
    for b in batches:
        batch = eval_users[b * batch_size:(b + 1) * batch_size]
        scores = score_fn(batch)
        _check_scores(scores, batch.numel(), num_items)
        scores = scores.to(device).contiguous()  # copies expanded (stride-0) views
        # Mask in place and restore afterwards: no copy of the [B, num_items] scores,
        # and the caller's tensor is left unchanged.
        flat, masked = scores.view(-1), ex_flat[ex_ptr[b]:ex_ptr[b + 1]]
        saved = flat[masked]
        flat.index_fill_(0, masked, float('-inf'))
        values, index = scores.topk(ks[-1], dim=-1)
        flat[masked] = saved
        if torch.isnan(values).any():  # topk ranks NaN above everything
            raise ValueError("'score_fn' returned NaN scores; ranking is undefined")
        # A masked (-inf) position becomes the sentinel `num_items`, never a label:
        index = index.masked_fill(values == float('-inf'), num_items)
        row, col = (te_row[te_ptr[b]:te_ptr[b + 1]], te_col[te_ptr[b]:te_ptr[b + 1]])
        for metric in collection.values():  # this batch's sums only
            metric.accum.zero_()
            metric.total.zero_()
        collection.update(index, torch.stack([row, col], dim=0))
        for j, name in enumerate(names):
            sums[b, j] = collection[name].accum
            counts[b, j] = collection[name].total
    if world_size > 1:  # every row is non-zero on one rank only: the sum is exact
        sums, counts = all_reduce_sum(sums, group), all_reduce_sum(counts, group)
    # Fold the batch sums in batch order, as a single process accumulates them:
    accum = torch.zeros(len(names), dtype=torch.float64, device=device)
    for b in range(num_batches):
        accum += sums[b]
    total = counts.sum(0)
    value = torch.where(total > 0, accum / total.clamp(min=1), torch.zeros_like(accum))
    out = dict(zip(names, value.tolist()))
    if eval_users.numel() == 0:  # e.g. an empty cold-start bucket: undefined, not 0
        out = {name: float('nan') for name in out}
    out = {f'{m}@{k}': out[f'{m}@{k}'] for m in metrics for k in ks}
    out['num_users'] = int(eval_users.numel())
    return out


def sampled_ranking_metrics(pos_score: Tensor, neg_score: Tensor, ks: Iterable[int] = (10, ),
                            ties: str = 'pessimistic', distributed: Optional[bool] = None,
                            group=None) -> Dict[str, float]:
    r"""Sampled ranking metrics: each test case ranks one positive against
    :math:`N` sampled negatives (MeKB-Rec: :math:`N = 999`).

    The rank of the positive among the :math:`N + 1` candidates is

    .. math::
        \mathrm{rank} = 1 + |\{j : s^-_j > s^+\}| + \tau \cdot |\{j : s^-_j = s^+\}|

    with :math:`\tau = 1` for :obj:`ties='pessimistic'` (default: a constant scorer
    gets the worst rank, never a free hit), :math:`\tau = 1/2` for
    :obj:`'average'`, :math:`\tau = 0` for :obj:`'optimistic'`. Then

    .. math::
        \mathrm{HR@}k = [\mathrm{rank} \le k], \qquad
        \mathrm{NDCG@}k = \frac{[\mathrm{rank} \le k]}{\log_2(\mathrm{rank} + 1)},

    averaged over the :math:`n` test cases (one relevant item, so IDCG = 1).

    Args:
        pos_score (torch.Tensor): Score of the positive, shape :obj:`[n]`.
        neg_score (torch.Tensor): Scores of the negatives, shape :obj:`[n, N]`.
        ks (iterable of int): Cut-offs. (default: :obj:`(10,)`)
        ties (str): :obj:`'pessimistic'`, :obj:`'average'` or :obj:`'optimistic'`.
        distributed (bool, optional): Sharded evaluation: each rank passes the
            scores of its own test cases (rank :math:`r` the :math:`r`-th contiguous
            slice, e.g. from :func:`~torch_geometric_kgrec.distributed.shard_bounds`);
            the ranks are gathered in rank order, so every rank returns exactly the
            single-process result on the concatenated cases. :obj:`None` (default):
            when :mod:`torch.distributed` is initialised; :obj:`False`: never.
        group (ProcessGroup, optional): Process group. (default: the whole world)

    Returns:
        :obj:`{'hr@10': float, 'ndcg@10': float}` (one pair of keys per :math:`k`).
    """
    if ties not in _TIE_FACTOR:
        raise ValueError(f"'ties' must be one of {sorted(_TIE_FACTOR)} (got {ties!r})")
    pos_score, neg_score = torch.as_tensor(pos_score), torch.as_tensor(neg_score)
    if pos_score.dim() != 1 or neg_score.dim() != 2 or neg_score.size(0) != pos_score.size(0):
        raise ValueError(f"Expected pos_score [n] and neg_score [n, N] (got "
                         f"{list(pos_score.shape)} and {list(neg_score.shape)})")
    group, _, world_size = resolve_group(distributed, group)
    if pos_score.numel() == 0 and world_size == 1:
        raise ValueError("'pos_score' is empty")
    if torch.isnan(pos_score).any() or torch.isnan(neg_score).any():
        raise ValueError('Scores contain NaN; ranking is undefined')
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] <= 0:
        raise ValueError(f"'ks' must be positive integers (got {ks})")
    rank = rank_with_ties(pos_score, neg_score, ties=ties)
    if world_size > 1:
        rank = all_gather_cat(rank, group)
        if rank.numel() == 0:
            raise ValueError("'pos_score' is empty on every rank")
    out = {}
    for k in ks:
        hit = rank <= k
        out[f'hr@{k}'] = float(hit.double().mean())
        out[f'ndcg@{k}'] = float((hit.double() / torch.log2(rank + 1)).mean())
    return out


def rank_with_ties(target: Tensor, others: Tensor, valid: Optional[Tensor] = None,
                   ties: str = 'pessimistic') -> Tensor:
    r"""1-based rank of :obj:`target[i]` among :obj:`others[i]` (higher = better),
    :math:`1 + \#\{>\} + \tau\,\#\{=\}` with :math:`\tau` given by :obj:`ties`
    (see :func:`sampled_ranking_metrics`). :obj:`valid` (bool, same shape as
    :obj:`others`) restricts the competing candidates. Returns a float64 tensor."""
    if ties not in _TIE_FACTOR:
        raise ValueError(f"'ties' must be one of {sorted(_TIE_FACTOR)} (got {ties!r})")
    target = target.view(-1, 1)
    greater, equal = others > target, others == target
    if valid is not None:
        greater, equal = greater & valid, equal & valid
    rank = 1.0 + greater.sum(-1).double()
    if _TIE_FACTOR[ties] != 0.0:
        rank = rank + _TIE_FACTOR[ties] * equal.sum(-1).double()
    return rank
