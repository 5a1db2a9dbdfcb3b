r"""The cross-domain protocol of MeKB-Rec (Sec. 4.2, Appendix B.2): a random 8:1:1
split of the target-domain records, 20% of the overlapped users moved entirely to
test (zero-shot users), sampled ranking (1 positive + 999 negatives) and activity
buckets."""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .split import _generator, sampled_ranking_negatives

__all__ = ['CDRSplit', 'cdr_split', 'mekb_interactions', 'sampled_ranking_cases',
           'activity_buckets', 'BUCKETS']

INTERACTS = ('user', 'interacts', 'entity')

#: Table 5 of MeKB-Rec: users by their number of target-domain training records.
BUCKETS: Tuple[Tuple[str, int, float], ...] = (('zero-shot', 0, 1), ('few-shot', 1, 10),
                                               ('multi-shot', 10, float('inf')))


@dataclass
class CDRSplit:
    r"""Output of :func:`cdr_split`. Target items are re-indexed ``0 .. I_t - 1``
    (:obj:`target_items[k]` is the global item of local item ``k``).

    Attributes:
        train, val, test (torch.Tensor): Target-domain (user, local target item) records,
            :obj:`[2, n]`, sorted.
        source (torch.Tensor): Every source-domain (user, global item) interaction.
        zero_shot_users (torch.Tensor): Overlapped users whose target records are all in
            test, sorted.
        target_items, source_items (torch.Tensor): Global ids of each domain's items.
        num_users (int), num_target_items (int).
    """
    train: Tensor
    val: Tensor
    test: Tensor
    source: Tensor
    zero_shot_users: Tensor
    target_items: Tensor
    source_items: Tensor
    num_users: int
    num_target_items: int

    def train_count(self) -> Tensor:
        r"""Target-domain training records per user, :obj:`[num_users]`."""
        return torch.bincount(self.train[0], minlength=self.num_users)

    def all_target(self) -> Tensor:
        r"""Every target-domain record (train, val and test)."""
        return torch.cat([self.train, self.val, self.test], dim=1)

    def to_global(self, edge_index: Tensor) -> Tensor:
        r"""(user, local target item) -> (user, global item)."""
        return torch.stack([edge_index[0], self.target_items[edge_index[1]]])


def _domain(data, name: Union[str, int]) -> int:
    if isinstance(name, int):
        return name
    names = list(getattr(data, 'domain_names', []))
    if name not in names:
        raise ValueError(f'unknown domain {name!r}; the data has {names}')
    return names.index(name)


def cdr_split(data, source: Union[str, int] = 0, target: Union[str, int] = 1,
              ratios: Sequence[float] = (0.8, 0.1, 0.1), zero_shot_fraction: float = 0.2,
              seed: int = 0, generator: Optional[torch.Generator] = None) -> CDRSplit:
    r"""The cross-domain split of MeKB-Rec (Sec. 4.1-4.2): ":math:`20\%` of the
    overlapped users [...] place all their records into the test set", and the
    other target-domain records are "randomly divided [...] 8:1:1" (a random split of
    records, not per user, so few-shot users occur naturally).

    Needs :obj:`data.item_domain` (``[I]`` domain of each item, as
    :class:`~torch_geometric_kgrec.datasets.AmazonArtOfficeCDR`). Overlapped users
    have records in both domains. Source-domain interactions are all kept
    (:obj:`CDRSplit.source`): they are model input (MeKB, source-domain factors),
    never evaluated.
    """
    if len(ratios) != 3 or abs(sum(ratios) - 1.0) > 1e-6 or min(ratios) < 0:
        raise ValueError(f"'ratios' must be three non-negative numbers summing to 1 "
                         f'(got {ratios})')
    if not 0.0 <= zero_shot_fraction < 1.0:
        raise ValueError(f"'zero_shot_fraction' must be in [0, 1) (got {zero_shot_fraction})")
    if not hasattr(data, 'item_domain'):
        raise ValueError("cdr_split needs 'data.item_domain' (the domain of every item)")
    s, t = _domain(data, source), _domain(data, target)
    if s == t:
        raise ValueError('source and target domain must differ')
    gen = _generator(seed, generator)
    dom = data.item_domain.long().cpu()
    ei = data[INTERACTS].edge_index.cpu()
    num_users = int(data['user'].num_nodes)
    target_items = (dom == t).nonzero().view(-1)
    source_items = (dom == s).nonzero().view(-1)
    local = torch.full((dom.numel(), ), -1, dtype=torch.long)
    local[target_items] = torch.arange(target_items.numel())
    in_t, in_s = dom[ei[1]] == t, dom[ei[1]] == s
    tgt = torch.stack([ei[0, in_t], local[ei[1, in_t]]])
    src = ei[:, in_s]
    has_t = torch.bincount(tgt[0], minlength=num_users) > 0
    has_s = torch.bincount(src[0], minlength=num_users) > 0
    overlap = (has_t & has_s).nonzero().view(-1)
    n_zero = int(round(zero_shot_fraction * overlap.numel()))
    zero = torch.sort(overlap[torch.randperm(overlap.numel(), generator=gen)[:n_zero]])[0]
    is_zero = torch.zeros(num_users, dtype=torch.bool)
    is_zero[zero] = True
    z = is_zero[tgt[0]]
    rest = (~z).nonzero().view(-1)
    rest = rest[torch.randperm(rest.numel(), generator=gen)]
    n_train = int(round(ratios[0] * rest.numel()))
    n_val = int(round(ratios[1] * rest.numel()))
    part = torch.full((tgt.size(1), ), 2, dtype=torch.long)
    part[rest[:n_train]] = 0
    part[rest[n_train:n_train + n_val]] = 1
    I_t = int(target_items.numel())

    def sort(x: Tensor) -> Tensor:
        return x[:, torch.argsort(x[0] * I_t + x[1])]

    return CDRSplit(train=sort(tgt[:, part == 0]), val=sort(tgt[:, part == 1]),
                    test=sort(tgt[:, part == 2]), source=src, zero_shot_users=zero,
                    target_items=target_items, source_items=source_items,
                    num_users=num_users, num_target_items=I_t)


def mekb_interactions(split: CDRSplit, domains: str = 'source') -> Tensor:
    r"""The (user, global item) interactions a user's MeKB may be built from:
    :obj:`'source'` (the source domain only: "a pure out-of-domain MeKB") or
    :obj:`'both'` (the paper's default, Appendix A: source-domain interactions plus
    the target-domain **training** records; zero-shot users have none). Validation
    and test records never enter."""
    if domains == 'source':
        return split.source
    if domains == 'both':
        return torch.cat([split.source, split.to_global(split.train)], dim=1)
    raise ValueError(f"'domains' must be 'source' or 'both' (got {domains!r})")


def sampled_ranking_cases(split: CDRSplit, part: str = 'test', num_negatives: int = 999,
                          seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Evaluation cases of Sec. 4.2: for every user with records in :obj:`part`
    (``'val'`` or ``'test'``), **one** positive drawn at random among them and
    :obj:`num_negatives` distinct target items the user has in no part (train, val
    or test), via :func:`sampled_ranking_negatives`.

    Returns:
        :obj:`(users [n], positives [n], negatives [n, N])`, local target items.
    """
    edges = {'val': split.val, 'test': split.test}.get(part)
    if edges is None:
        raise ValueError(f"'part' must be 'val' or 'test' (got {part!r})")
    gen = torch.Generator().manual_seed(int(seed))
    users, counts = torch.unique_consecutive(edges[0], return_counts=True)
    start = torch.cumsum(counts, 0) - counts
    pick = start + (torch.rand(users.numel(), generator=gen) * counts).long()
    pos = edges[1, pick]
    neg = sampled_ranking_negatives(split.all_target(), users, split.num_target_items,
                                    num_negatives=num_negatives, generator=gen)
    return users, pos, neg


def activity_buckets(split: CDRSplit, users: Tensor,
                     buckets: Sequence[Tuple[str, int, float]] = BUCKETS) -> Dict[str, Tensor]:
    r"""Boolean masks over :obj:`users` per bucket of Table 5: by the user's number
    :math:`n` of target-domain training records, zero-shot :math:`n = 0`, few-shot
    :math:`1 \le n < 10`, multi-shot :math:`n \ge 10` (bounds ``[low, high)``)."""
    n = split.train_count()[users]
    return {name: (n >= lo) & (n < hi) for name, lo, hi in buckets}
