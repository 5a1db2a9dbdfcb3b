r"""Seeded, vectorised evaluation protocols, each named after the papers that use it.

=================================  ===========================================  =========
function                           protocol                                     papers
=================================  ===========================================  =========
:func:`ctr_split`                  labelled pairs (positives + as many          MKR, KGCN,
                                   negatives), random 6:2:2 split, AUC/ACC/F1   KGCN-CL
:func:`ranking_split`              per-user split of positives, full ranking    KGAT, KGIN,
                                   with training items masked (8:1:1; 7:1:2)    KMPN, KTUP
:func:`published_split`            a shipped train/test split (Amazon-Book),    KGAT, KGIN,
                                   validation carved out of train               KMPN/CKMPN
:func:`sampled_ranking_negatives`  1 held-out positive + N never-interacted     MeKB-Rec
                                   items (N = 999)
:func:`cold_start_split`           users held out of training; first 80% of     MeKB-Rec,
                                   their history is input, the rest is test     CKMPN
=================================  ===========================================  =========

Every function takes a :obj:`seed` (or a :class:`torch.Generator`) and contains no Python
loop over users or interactions. Interactions are read from the schema of
``docs/ARCHITECTURE.md``: ``data['user', 'interacts', 'entity'].edge_index`` (optionally
``.time``), ``data['user', 'negative', 'entity'].edge_index`` for labelled negatives,
``data['user'].num_nodes`` and ``data.num_items``.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .sampling import (PositiveIndex, _check_edge_index, _check_positive_int,
                       _check_range, sample_distinct_non_positives)

__all__ = [
    'LabeledPairs',
    'CTRSplit',
    'RankingSplit',
    'ColdStartSplit',
    'ctr_split',
    'ranking_split',
    'published_split',
    'sampled_ranking_negatives',
    'cold_start_split',
]

INTERACTS = ('user', 'interacts', 'entity')
NEGATIVE = ('user', 'negative', 'entity')


# ---------------------------------------------------------------------------
# result containers
# ---------------------------------------------------------------------------
@dataclass
class LabeledPairs:
    r"""Labelled (user, item) pairs of the CTR protocol.

    Attributes:
        edge_index (torch.Tensor): (user, item) pairs, :obj:`[2, n]`.
        label (torch.Tensor): :obj:`1.0` for a positive, :obj:`0.0` for a negative,
            :obj:`[n]`.
    """
    edge_index: Tensor
    label: Tensor

    @property
    def users(self) -> Tensor:
        return self.edge_index[0]

    @property
    def items(self) -> Tensor:
        return self.edge_index[1]

    def __len__(self) -> int:
        return self.label.numel()

    def to(self, device) -> 'LabeledPairs':
        return LabeledPairs(self.edge_index.to(device), self.label.to(device))


@dataclass
class CTRSplit:
    r"""Output of :func:`ctr_split`."""
    train: LabeledPairs
    val: LabeledPairs
    test: LabeledPairs
    num_users: int
    num_items: int

    def train_positives(self) -> Tensor:
        r"""The positive training pairs :obj:`[2, n]` (what a training negative sampler or
        a user-item graph may be built from)."""
        return self.train.edge_index[:, self.train.label > 0.5]


@dataclass
class RankingSplit:
    r"""Output of :func:`ranking_split` / :func:`published_split`: disjoint (user, item)
    edge indices, each sorted by (user, item)."""
    train: Tensor
    val: Tensor
    test: Tensor
    num_users: int
    num_items: int

    def exclude(self, part: str) -> Tensor:
        r"""Edge index of the items to mask when ranking for :obj:`part`: nothing for
        :obj:`'train'`, the training items for :obj:`'val'`, training + validation items
        for :obj:`'test'`."""
        if part == 'train':
            return self.train.new_empty((2, 0))
        if part == 'val':
            return self.train
        if part == 'test':
            return torch.cat([self.train, self.val], dim=1)
        raise ValueError(f"'part' must be 'train', 'val' or 'test' (got {part!r})")

    def all_positives(self) -> Tensor:
        r"""Every positive of every part, :obj:`[2, n]` (for
        :func:`sampled_ranking_negatives`)."""
        return torch.cat([self.train, self.val, self.test], dim=1)

    def train_adj(self) -> Tensor:
        r"""Training interactions as a sparse COO :obj:`[num_users, num_items]` matrix
        of ones."""
        value = torch.ones(self.train.size(1), device=self.train.device)
        return torch.sparse_coo_tensor(self.train, value, (self.num_users, self.num_items),
                                       is_coalesced=True, check_invariants=False)

    def to(self, device) -> 'RankingSplit':
        return RankingSplit(self.train.to(device), self.val.to(device),
                            self.test.to(device), self.num_users, self.num_items)


@dataclass
class ColdStartSplit:
    r"""Output of :func:`cold_start_split`.

    Attributes:
        train (torch.Tensor): Every interaction of the warm users, :obj:`[2, n]` (split it
            further with :func:`ranking_split` for validation/test of warm users).
        train_time (torch.Tensor, optional): :obj:`.time` of :obj:`train` when available.
        cold_users (torch.Tensor): The held-out users, sorted.
        history (torch.Tensor): Earliest interactions of the cold users (model input
            only, never trained on), :obj:`[2, n]`.
        test (torch.Tensor): Remaining interactions of the cold users, :obj:`[2, n]`.
    """
    train: Tensor
    train_time: Optional[Tensor]
    cold_users: Tensor
    history: Tensor
    test: Tensor
    num_users: int
    num_items: int


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _generator(seed: Optional[int], generator: Optional[torch.Generator]) -> torch.Generator:
    if generator is not None:
        return generator
    if seed is None:
        raise ValueError("pass a 'seed' or a 'generator'")
    return torch.Generator().manual_seed(int(seed))


def _check_ratios(ratios: Sequence[float], n: int = 3) -> Tuple[float, ...]:
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) != n or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"'ratios' must be {n} non-negative numbers summing to 1 "
                         f"(got {ratios})")
    return ratios


def _interactions(data, num_users: Optional[int], num_items: Optional[int],
                  time: Optional[Tensor]):
    r"""(edge_index, time, num_users, num_items) from a HeteroData or an edge index."""
    if isinstance(data, Tensor):
        edge_index = _check_edge_index(data, 'edge_index')
        if num_users is None or num_items is None:
            raise ValueError("pass 'num_users' and 'num_items' with an edge_index")
    else:
        if INTERACTS not in data.edge_types:
            raise ValueError(f"data has no {INTERACTS} edge type (see docs/ARCHITECTURE.md)")
        store = data[INTERACTS]
        edge_index = _check_edge_index(store.edge_index, 'interacts edge_index')
        if time is None and 'time' in store:
            time = store.time
        num_users = data['user'].num_nodes if num_users is None else num_users
        num_items = data.num_items if num_items is None else num_items
    num_users = _check_positive_int(num_users, 'num_users')
    num_items = _check_positive_int(num_items, 'num_items')
    _check_range(edge_index[0], num_users, 'user', 'edge_index')
    _check_range(edge_index[1], num_items, 'item', 'edge_index')
    if time is not None:
        if not isinstance(time, Tensor) or time.numel() != edge_index.size(1):
            raise ValueError(f"'time' must be a tensor with one entry per interaction "
                             f"({edge_index.size(1)})")
        time = time.reshape(-1)
    return edge_index, time, num_users, num_items


def _sort_pairs(edge_index: Tensor, num_items: int) -> Tensor:
    perm = torch.argsort(edge_index[0] * num_items + edge_index[1])
    return edge_index[:, perm]


def _user_order(users: Tensor, gen: torch.Generator, time: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Order the interactions grouped by user; within a user by :obj:`time` (oldest
    first, ties in random order) or in random order. Returns (order, rank within user,
    user degree of each ordered interaction)."""
    order = torch.randperm(users.numel(), generator=gen).to(users.device)
    if time is not None:
        order = order[torch.argsort(time[order], stable=True)]
    order = order[torch.argsort(users[order], stable=True)]
    u = users[order]
    deg = torch.bincount(u, minlength=int(u.max()) + 1 if u.numel() else 0)
    start = torch.cumsum(deg, 0) - deg
    rank = torch.arange(u.numel(), device=u.device) - start[u]
    return order, rank, deg[u]


def _per_user_parts(edge_index: Tensor, ratios: Tuple[float, float, float],
                    gen: torch.Generator, time: Optional[Tensor]) -> Tensor:
    r"""Part id (0 train, 1 val, 2 test) of every interaction, per-user split."""
    order, rank, n = _user_order(edge_index[0], gen, time)
    nf = n.to(torch.float64)
    n_test = torch.floor(nf * ratios[2] + 0.5).long()
    n_val = torch.floor(nf * ratios[1] + 0.5).long()
    # every user with an interaction keeps at least one training item: take it from
    # validation first, then from test
    short = (n - n_test - n_val < 1) & (n >= 1)
    n_val = torch.where(short, (n - 1 - n_test).clamp(min=0), n_val)
    n_test = torch.where(short, torch.minimum(n_test, n - 1 - n_val), n_test)
    n_train = n - n_val - n_test
    part_sorted = (rank >= n_train).long() + (rank >= n_train + n_val).long()
    part = torch.empty_like(part_sorted)
    part[order] = part_sorted
    return part


# ---------------------------------------------------------------------------
# CTR protocol (MKR, KGCN)
# ---------------------------------------------------------------------------
def ctr_split(data, ratios: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0,
              train_fraction: float = 1.0,
              generator: Optional[torch.Generator] = None) -> CTRSplit:
    r"""The click-through-rate protocol of MKR (Wang et al., WWW 2019) and KGCN (Wang et
    al., WWW 2019), also used by the KGCN-based semantic contrastive learning paper (Kim
    et al., LREC-COLING 2024): AUC / ACC / F1 on labelled (user, item) pairs.

    1. Labelled pairs = every positive (label 1) + negatives (label 0). The negatives are
       the dataset's own ``('user', 'negative', 'entity')`` pairs when present (the
       Book-Crossing file ships them). Otherwise, as in the authors' preprocessing, every
       user gets as many items it never interacted with as it has positives, drawn
       uniformly **without replacement** and never one of its positives; a user with more
       positives than non-positive items gets all of its non-positive items (fewer
       negatives than positives) rather than duplicated pairs that could land in both
       train and test.
    2. The labelled pairs are split at random (not per user) by :obj:`ratios`, as the
       authors' ``dataset_split``: :math:`\lfloor n r_\text{val} \rfloor` validation,
       :math:`\lfloor n r_\text{test} \rfloor` test pairs, the rest training.
    3. :obj:`train_fraction < 1` keeps that random fraction of the training pairs only
       (MKR's / KGCN's data-sparsity experiment, ``args.ratio``); val/test are unchanged.

    Args:
        data (HeteroData): Dataset in the library schema.
        ratios (tuple): (train, val, test) fractions. (default: :obj:`(0.6, 0.2, 0.2)`)
        seed (int): Random seed. (default: :obj:`0`)
        train_fraction (float): Fraction of training pairs kept. (default: :obj:`1.0`)
        generator (torch.Generator, optional): Used instead of :obj:`seed`.
    """
    ratios = _check_ratios(ratios)
    if not 0.0 < train_fraction <= 1.0:
        raise ValueError(f"'train_fraction' must be in (0, 1] (got {train_fraction})")
    gen = _generator(seed, generator)
    pos, _, num_users, num_items = _interactions(data, None, None, None)
    pos = pos.cpu()
    index = PositiveIndex(pos, num_users, num_items, name='interacts edge_index')
    pos = torch.stack([index.users, index.items])  # unique, sorted

    if not isinstance(data, Tensor) and NEGATIVE in data.edge_types:
        neg = _check_edge_index(data[NEGATIVE].edge_index, 'negative edge_index').cpu()
        _check_range(neg[0], num_users, 'user', 'negative edge_index')
        _check_range(neg[1], num_items, 'item', 'negative edge_index')
        clash = index.contains(neg[0], neg[1])
        if bool(clash.any()):
            j = int(clash.nonzero()[0])
            raise ValueError(f"the labelled negatives contain a positive pair (user "
                             f"{int(neg[0, j])}, item {int(neg[1, j])})")
    else:
        k = torch.minimum(index.deg, index.num_available)
        rows = (k > 0).nonzero().view(-1)
        row, item = sample_distinct_non_positives(index, rows, k[rows], gen)
        neg = torch.stack([rows[row], item])

    edge_index = torch.cat([pos, neg], dim=1)
    label = torch.cat([torch.ones(pos.size(1)), torch.zeros(neg.size(1))])
    n = label.numel()
    perm = torch.randperm(n, generator=gen)
    n_val, n_test = int(n * ratios[1]), int(n * ratios[2])
    val_idx, test_idx, train_idx = perm[:n_val], perm[n_val:n_val + n_test], \
        perm[n_val + n_test:]
    if train_fraction < 1.0:
        keep = torch.randperm(train_idx.numel(), generator=gen)
        train_idx = train_idx[keep[:int(train_idx.numel() * train_fraction)]]

    def part(idx: Tensor) -> LabeledPairs:
        return LabeledPairs(edge_index[:, idx], label[idx])

    return CTRSplit(part(train_idx), part(val_idx), part(test_idx), num_users, num_items)


# ---------------------------------------------------------------------------
# top-K ranking protocols (KGAT, KGIN, KMPN, KTUP)
# ---------------------------------------------------------------------------
def ranking_split(data, ratios: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                  temporal: bool = False, *, num_users: Optional[int] = None,
                  num_items: Optional[int] = None, time: Optional[Tensor] = None,
                  published: bool = False,
                  generator: Optional[torch.Generator] = None) -> RankingSplit:
    r"""Per-user split of the positives for top-K full ranking: KGAT / KGIN / KMPN use
    8:1:1 (the default), KTUP 7:1:2; CKMPN's Movie-KG dataset is split *temporally*
    (first 80% of each user's history by click time to train, 80-90% validation, the
    rest test, :obj:`temporal=True`).

    Per user with :math:`n` interactions: :math:`\text{round}(n r_\text{test})` test and
    :math:`\text{round}(n r_\text{val})` validation items (random, or the newest ones
    when :obj:`temporal`, newest to test), the rest training; every user with at least
    one interaction keeps at least one training item (taken from validation first,
    then test). Evaluate validation with :obj:`split.exclude('val')` (training items)
    masked and test with :obj:`split.exclude('test')` (training + validation) masked.

    With :obj:`published=True` the dataset's own train/test split is used instead (see
    :func:`published_split`): the interactions store must carry a :obj:`split` tensor
    (0 train, 1 val, 2 test) or boolean :obj:`train_mask` / :obj:`test_mask` (and
    optionally :obj:`val_mask`). If it has no validation part, validation is carved out
    of each user's published training items with fraction
    :math:`r_\text{val} / (r_\text{train} + r_\text{val})`.

    Args:
        data (HeteroData or torch.Tensor): Dataset in the library schema, or a
            (user, item) :obj:`edge_index` (then pass :obj:`num_users`, :obj:`num_items`
            and optionally :obj:`time`).
        ratios (tuple): (train, val, test) fractions. (default: :obj:`(0.8, 0.1, 0.1)`)
        seed (int): Random seed. (default: :obj:`0`)
        temporal (bool): Split by :obj:`.time` (oldest to train). (default: :obj:`False`)
        published (bool): Use the split shipped with the data. (default: :obj:`False`)
        generator (torch.Generator, optional): Used instead of :obj:`seed`.
    """
    ratios = _check_ratios(ratios)
    gen = _generator(seed, generator)
    if published:
        if isinstance(data, Tensor):
            raise ValueError("published=True needs a HeteroData carrying the split")
        return _from_published(data, ratios, gen, temporal)
    edge_index, time, num_users, num_items = _interactions(data, num_users, num_items, time)
    if temporal and time is None:
        raise ValueError("temporal=True needs interaction times ('.time' of the "
                         "interacts edge type, or the 'time' argument)")
    edge_index, time = _dedup(edge_index, time, num_items)
    part = _per_user_parts(edge_index, ratios, gen, time if temporal else None)
    return RankingSplit(*(_sort_pairs(edge_index[:, part == p], num_items) for p in range(3)),
                        num_users=num_users, num_items=num_items)


def _dedup(edge_index: Tensor, time: Optional[Tensor], num_items: int):
    key = edge_index[0] * num_items + edge_index[1]
    uniq, inv = torch.unique(key, return_inverse=True)
    if uniq.numel() == key.numel():
        return edge_index, time
    # keep the earliest occurrence (by time when given) of a repeated pair
    if time is not None:
        first_time = torch.full((uniq.numel(), ), torch.iinfo(torch.long).max
                                if not time.is_floating_point() else float('inf'),
                                dtype=time.dtype, device=time.device)
        first_time.scatter_reduce_(0, inv, time, reduce='amin')
        time = first_time
    return torch.stack([uniq // num_items, uniq % num_items]), time


def published_split(train_edge_index: Tensor, test_edge_index: Tensor, num_users: int,
                    num_items: int, val_ratio: float = 0.1, seed: int = 0,
                    val_edge_index: Optional[Tensor] = None,
                    generator: Optional[torch.Generator] = None) -> RankingSplit:
    r"""Use a train/test split shipped with a dataset (KGAT's Amazon-Book ``train.txt``
    / ``test.txt``, also used by KGIN and KMPN/CKMPN), carving a per-user validation set
    out of the published training items (the published protocol has none, and model
    selection on the test set would be leakage).

    Per user, :math:`\text{round}(n \cdot \text{val\_ratio})` random training items go
    to validation, never the user's last training item. Pairs that appear in both
    published files are kept in test only (test items never appear in training).

    Args:
        train_edge_index (torch.Tensor): Published training pairs, :obj:`[2, n]`.
        test_edge_index (torch.Tensor): Published test pairs, :obj:`[2, m]`.
        num_users (int): Number of users.
        num_items (int): Number of items.
        val_ratio (float): Fraction of each user's training items moved to validation;
            :obj:`0` keeps an empty validation set. (default: :obj:`0.1`)
        seed (int): Random seed. (default: :obj:`0`)
        val_edge_index (torch.Tensor, optional): A published validation set; then
            nothing is carved out.
    """
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"'val_ratio' must be in [0, 1) (got {val_ratio})")
    gen = _generator(seed, generator)
    train, _, num_users, num_items = _interactions(train_edge_index, num_users, num_items,
                                                   None)
    test, _, _, _ = _interactions(test_edge_index, num_users, num_items, None)
    test, _ = _dedup(test, None, num_items)
    train, _ = _dedup(train, None, num_items)
    train = train[:, ~PositiveIndex(test, num_users, num_items).contains(train[0], train[1])]
    if val_edge_index is not None:
        val, _, _, _ = _interactions(val_edge_index, num_users, num_items, None)
        val, _ = _dedup(val, None, num_items)
        held = torch.cat([test, val], dim=1)
        train = train[:, ~PositiveIndex(held, num_users, num_items).contains(train[0],
                                                                             train[1])]
        val = val[:, ~PositiveIndex(test, num_users, num_items).contains(val[0], val[1])]
    else:
        part = _per_user_parts(train, (1.0 - val_ratio, val_ratio, 0.0), gen, None)
        train, val = train[:, part == 0], train[:, part == 1]
    return RankingSplit(_sort_pairs(train, num_items), _sort_pairs(val, num_items),
                        _sort_pairs(test, num_items), num_users, num_items)


def _from_published(data, ratios, gen, temporal) -> RankingSplit:
    if temporal:
        raise ValueError("published=True and temporal=True cannot be combined")
    edge_index, _, num_users, num_items = _interactions(data, None, None, None)
    store = data[INTERACTS]
    val = None
    if 'split' in store:
        split = store.split.reshape(-1)
        if split.numel() != edge_index.size(1):
            raise ValueError("'split' must have one entry per interaction")
        train, test = split == 0, split == 2
        val = (split == 1) if bool((split == 1).any()) else None
    elif 'train_mask' in store and 'test_mask' in store:
        train, test = store.train_mask.bool(), store.test_mask.bool()
        if 'val_mask' in store:
            val = store.val_mask.bool()
    else:
        raise ValueError(f"published=True but the {INTERACTS} store has neither a 'split' "
                         f"attribute nor 'train_mask'/'test_mask'")
    train_frac = ratios[0] + ratios[1]
    val_ratio = ratios[1] / train_frac if train_frac > 0 else 0.0
    return published_split(edge_index[:, train], edge_index[:, test], num_users, num_items,
                           val_ratio=val_ratio, generator=gen,
                           val_edge_index=None if val is None else edge_index[:, val])


# ---------------------------------------------------------------------------
# sampled ranking (MeKB-Rec)
# ---------------------------------------------------------------------------
def sampled_ranking_negatives(positives_edge_index: Tensor, users: Tensor, num_items: int,
                              num_negatives: int = 999, seed: int = 0,
                              generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Negatives of the sampled ranking protocol of MeKB-Rec (HR@10 / NDCG@10 of one
    held-out positive ranked against :math:`N = 999` sampled items).

    For every held-out positive (one entry of :obj:`users`), :obj:`num_negatives`
    distinct items drawn uniformly among the items that user never interacted with in
    **any** part (train, validation or test): pass all positives as
    :obj:`positives_edge_index` (e.g. :meth:`RankingSplit.all_positives`).

    Args:
        positives_edge_index (torch.Tensor): Every positive (user, item), :obj:`[2, n]`.
        users (torch.Tensor): User of each held-out positive, :obj:`[m]`.
        num_items (int): Number of items.
        num_negatives (int): :math:`N`. (default: :obj:`999`)
        seed (int): Random seed. (default: :obj:`0`)
        generator (torch.Generator, optional): Used instead of :obj:`seed`.

    Returns:
        :obj:`LongTensor[m, num_negatives]`, each row in random order.
    """
    num_negatives = _check_positive_int(num_negatives, 'num_negatives')
    num_items = _check_positive_int(num_items, 'num_items')
    pos = _check_edge_index(positives_edge_index, 'positives_edge_index').cpu()
    if not isinstance(users, Tensor) or users.dim() != 1:
        raise ValueError("'users' must be a 1-D tensor (the user of each held-out positive)")
    out_device = users.device
    users = users.long().cpu()
    if users.numel() > 0 and int(users.min()) < 0:
        raise ValueError("'users' holds a negative index")
    num_users = 1 + max(int(users.max()) if users.numel() else -1,
                        int(pos[0].max()) if pos.numel() else -1, 0)
    gen = _generator(seed, generator)
    index = PositiveIndex(pos, num_users, num_items, name='positives_edge_index')
    need = torch.full((users.numel(), ), num_negatives, dtype=torch.long)
    short = index.num_available[users] < num_negatives
    if bool(short.any()):
        j = int(short.nonzero()[0])
        raise ValueError(f"user {int(users[j])} has only "
                         f"{int(index.num_available[users[j]])} never-interacted items, "
                         f"fewer than num_negatives={num_negatives}")
    _, item = sample_distinct_non_positives(index, users, need, gen)
    # rows grouped, each row a uniformly random ordered sample
    return item.view(users.numel(), num_negatives).to(out_device)


# ---------------------------------------------------------------------------
# cold-start users (MeKB-Rec, CKMPN)
# ---------------------------------------------------------------------------
def cold_start_split(data, user_fraction: float = 0.1, history_fraction: float = 0.8,
                     seed: int = 0, temporal: Optional[bool] = None, *,
                     num_users: Optional[int] = None, num_items: Optional[int] = None,
                     time: Optional[Tensor] = None,
                     generator: Optional[torch.Generator] = None) -> ColdStartSplit:
    r"""Cold-start users of MeKB-Rec (users unseen in training, represented by their
    history only) and CKMPN (3% of the users moved out of training; "first 80%
    interactions of each user" as history, the remaining 20% as test).

    :math:`\text{round}(f \cdot U_\text{active})` users with at least one interaction
    are drawn at random and removed from training entirely. Each cold user's
    interactions are ordered (by :obj:`.time` when :obj:`temporal`, else at random);
    the first :math:`\text{round}(h \cdot n)` (at least 1 and, for :math:`n \ge 2`, at
    most :math:`n - 1`) are history, the rest test.

    Args:
        data (HeteroData or torch.Tensor): Dataset, or a (user, item) edge index with
            :obj:`num_users`, :obj:`num_items` (and :obj:`time`).
        user_fraction (float): :math:`f`. (default: :obj:`0.1`)
        history_fraction (float): :math:`h`. (default: :obj:`0.8`)
        seed (int): Random seed. (default: :obj:`0`)
        temporal (bool, optional): Order by time; :obj:`None` means "when the data has
            times". :obj:`True` without times raises. (default: :obj:`None`)
        generator (torch.Generator, optional): Used instead of :obj:`seed`.
    """
    if not 0.0 < user_fraction < 1.0:
        raise ValueError(f"'user_fraction' must be in (0, 1) (got {user_fraction})")
    if not 0.0 < history_fraction < 1.0:
        raise ValueError(f"'history_fraction' must be in (0, 1) (got {history_fraction})")
    gen = _generator(seed, generator)
    edge_index, time, num_users, num_items = _interactions(data, num_users, num_items, time)
    if temporal is None:
        temporal = time is not None
    if temporal and time is None:
        raise ValueError("temporal=True needs interaction times")
    edge_index, time = _dedup(edge_index, time, num_items)
    deg = torch.bincount(edge_index[0], minlength=num_users)
    active = (deg > 0).nonzero().view(-1)
    n_cold = int(round(user_fraction * active.numel()))
    perm = torch.randperm(active.numel(), generator=gen)
    cold_users = torch.sort(active[perm[:n_cold]].to(edge_index.device))[0]
    is_cold = torch.zeros(num_users, dtype=torch.bool, device=edge_index.device)
    is_cold[cold_users] = True
    cold = is_cold[edge_index[0]]

    cold_edges = edge_index[:, cold]
    cold_time = time[cold] if (temporal and time is not None) else None
    order, rank, n = _user_order(cold_edges[0], gen, cold_time)
    n_hist = torch.floor(n.to(torch.float64) * history_fraction + 0.5).long()
    n_hist = torch.maximum(torch.minimum(n_hist, n - 1), torch.ones_like(n))
    is_hist = torch.empty_like(rank, dtype=torch.bool)
    is_hist[order] = rank < n_hist
    train = edge_index[:, ~cold]
    train_time = time[~cold] if time is not None else None
    perm = torch.argsort(train[0] * num_items + train[1])
    return ColdStartSplit(
        train=train[:, perm], train_time=None if train_time is None else train_time[perm],
        cold_users=cold_users, history=_sort_pairs(cold_edges[:, is_hist], num_items),
        test=_sort_pairs(cold_edges[:, ~is_hist], num_items), num_users=num_users,
        num_items=num_items)
