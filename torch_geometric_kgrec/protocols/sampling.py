r"""Training negative samplers and the KGCN neighbour sampler.

Everything here is vectorised (no Python loop over users, interactions or nodes) and
seeded through an optional :class:`torch.Generator`.

**No leakage.** The negative samplers are built from the *training* positives only, on
purpose: a validation or test item of a user is a legitimate training negative (the model
must not be told that it is special), and handing the sampler the held-out positives would
leak them into training (they would never be sampled, which a model can learn). The same
holds for the popularity counts of :class:`ReciprocalRatioNegativeSampler` (training
interactions only). Validation and test items are masked at *evaluation* time instead.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    'UniformNegativeSampler',
    'ReciprocalRatioNegativeSampler',
    'KGNeighborSampler',
]


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------
def _check_edge_index(edge_index: Tensor, name: str = 'edge_index') -> Tensor:
    if not isinstance(edge_index, Tensor):
        raise ValueError(f"'{name}' must be a torch.Tensor (got {type(edge_index).__name__})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'{name}' must have shape [2, N] (got {list(edge_index.shape)})")
    if edge_index.dtype not in (torch.long, torch.int32, torch.int64, torch.int16,
                                torch.int8, torch.uint8):
        raise ValueError(f"'{name}' must hold integer indices (got dtype {edge_index.dtype})")
    return edge_index.long()


def _check_range(index: Tensor, size: int, what: str, name: str) -> None:
    if index.numel() > 0:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= size:
            raise ValueError(f"'{name}' holds {what} index {lo if lo < 0 else hi} outside "
                             f"[0, {size})")


def _check_positive_int(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"'{name}' must be an integer >= {minimum} (got {value!r})")
    return int(value)


def _rand(shape, generator: Optional[torch.Generator], device: torch.device,
          dtype=torch.float64) -> Tensor:
    r"""Uniform :math:`[0, 1)` numbers drawn on the generator's device (so that a CPU
    generator can drive a sampler living on a GPU), returned on :obj:`device`."""
    gen_device = generator.device if generator is not None else device
    out = torch.rand(shape, generator=generator, device=gen_device, dtype=dtype)
    return out.to(device)


def _floor_rand(high: Tensor, generator: Optional[torch.Generator]) -> Tensor:
    r"""Uniform integers in :math:`[0, \text{high})`, element-wise (:obj:`high >= 1`)."""
    r = _rand(high.shape, generator, high.device)
    out = (r * high.to(torch.float64)).long()
    return torch.minimum(out, high - 1)  # guard against rounding up to `high`


# ---------------------------------------------------------------------------
# per-user positive index shared by samplers and protocols
# ---------------------------------------------------------------------------
class PositiveIndex:
    r"""The set of (user, item) positives as sorted keys :math:`u \cdot I + i` plus a CSR
    view, with a vectorised membership test and exact uniform sampling of non-positives.

    Duplicate pairs are merged.

    Args:
        edge_index (torch.Tensor): Positive (user, item) pairs, shape :obj:`[2, N]`.
        num_users (int): Number of users :math:`U`.
        num_items (int): Number of items :math:`I`.
    """
    def __init__(self, edge_index: Tensor, num_users: int, num_items: int,
                 name: str = 'pos_edge_index'):
        edge_index = _check_edge_index(edge_index, name)
        self.num_users = _check_positive_int(num_users, 'num_users')
        self.num_items = _check_positive_int(num_items, 'num_items')
        _check_range(edge_index[0], self.num_users, 'user', name)
        _check_range(edge_index[1], self.num_items, 'item', name)
        self.keys = torch.unique(edge_index[0] * self.num_items + edge_index[1])  # sorted
        self.users = self.keys // self.num_items
        self.items = self.keys % self.num_items
        self.deg = torch.bincount(self.users, minlength=self.num_users)
        self.ptr = torch.zeros(self.num_users + 1, dtype=torch.long, device=self.keys.device)
        self.ptr[1:] = torch.cumsum(self.deg, 0)
        # q_k = p_k - k: number of non-positive items below the k-th positive of a user.
        # Keyed by user it stays globally sorted, which gives exact inversion sampling.
        rank = torch.arange(self.keys.numel(), device=self.keys.device) - self.ptr[self.users]
        self._skip_keys = self.users * self.num_items + (self.items - rank)
        # int32 search arrays when u * I + i fits: half the memory traffic per lookup
        small = self.num_users * self.num_items < 2**31 - 1
        self._key_dtype = torch.int32 if small else torch.long
        self._keys_search = self.keys.to(self._key_dtype)
        self._skip_search = self._skip_keys.to(self._key_dtype)
        self._any_full = bool((self.deg >= self.num_items).any())
        #: number of non-positive items of every user, :obj:`[U]`
        self.num_available = self.num_items - self.deg

    @property
    def device(self) -> torch.device:
        return self.keys.device

    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Boolean mask: is :obj:`(users[j], items[j])` a positive?"""
        query = (users.long() * self.num_items + items.long()).to(self._key_dtype)
        if self.keys.numel() == 0:
            return torch.zeros_like(query, dtype=torch.bool)
        pos = torch.searchsorted(self._keys_search, query)
        return self._keys_search[pos.clamp_(max=self.keys.numel() - 1)] == query

    def kth_non_positive(self, users: Tensor, rank: Tensor) -> Tensor:
        r"""The :obj:`rank`-th (0-based) non-positive item of each user, in item order:
        :math:`x = r + |\{k : p_k - k \le r\}|`."""
        query = (users * self.num_items + rank).to(self._key_dtype)
        below = torch.searchsorted(self._skip_search, query, right=True) - self.ptr[users]
        return rank + below

    def sample_non_positive(self, users: Tensor,
                            generator: Optional[torch.Generator] = None) -> Tensor:
        r"""One item per entry of :obj:`users`, uniform over that user's non-positives
        (exact, no rejection). Every user must have at least one non-positive."""
        rank = _floor_rand(self.num_available[users], generator)
        return self.kth_non_positive(users, rank)

    def positive_rows(self, users: Tensor) -> Tuple[Tensor, Tensor]:
        r"""(row, item) of every positive of :obj:`users[row]` (CSR gather)."""
        deg = self.deg[users]
        row = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), deg)
        start = torch.repeat_interleave(self.ptr[users], deg)
        offset = torch.arange(row.numel(), device=users.device)
        offset = offset - torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
        return row, self.items[start + offset]

    def guard_full_users(self, users: Tensor) -> None:
        if not self._any_full:
            return
        full = self.num_available[users] <= 0
        if bool(full.any()):
            bad = users[full].unique()
            raise ValueError(
                f"{bad.numel()} user(s) (e.g. user {int(bad[0])}) have every one of the "
                f"{self.num_items} items as a positive, so no negative can be sampled for "
                f"them; drop these users from the batch")


def sample_distinct_non_positives(
    index: PositiveIndex,
    row_users: Tensor,
    num_per_row: Tensor,
    generator: Optional[torch.Generator] = None,
    max_rounds: int = 32,
) -> Tuple[Tensor, Tensor]:
    r"""For every row :math:`j`, draw :obj:`num_per_row[j]` *distinct* items uniformly
    (without replacement) among the items that user :obj:`row_users[j]` never interacted
    with according to :obj:`index`.

    Rows that need more than half of their user's non-positive items are drawn densely
    (random keys over all items, positives pushed last, take the smallest); the others by
    rounds of exact uniform non-positive draws, keeping the first occurrence of every item
    not accepted before (sequential sampling without replacement, batched). Both give a
    uniformly random subset **in uniformly random order** within the row.

    Returns:
        (row, item) flat tensors, grouped by row (rows ascending).
    """
    device = index.device
    row_users = row_users.to(device).long()
    num_per_row = num_per_row.to(device).long()
    need = num_per_row.clone()
    num_rows = row_users.numel()
    avail = index.num_available[row_users]
    if bool((need > avail).any()):
        j = int((need > avail).nonzero()[0])
        raise ValueError(
            f"user {int(row_users[j])} has only {int(avail[j])} non-interacted items, "
            f"cannot draw {int(need[j])} distinct negatives for it")
    I = index.num_items
    dense = need * 2 > avail
    sparse_rows = (~dense & (need > 0)).nonzero().view(-1)

    def member(sorted_keys: Tensor, query: Tensor) -> Tensor:
        pos = torch.searchsorted(sorted_keys, query).clamp_(max=sorted_keys.numel() - 1)
        return sorted_keys[pos] == query

    accepted = []  # per round: sorted accepted keys row*I+item (for membership)
    rows_out, items_out = [], []  # per round: accepted (row, item) in draw order
    for _ in range(max_rounds):  # loop over rounds only, each vectorised over all rows
        if sparse_rows.numel() == 0:
            break
        rows = torch.repeat_interleave(sparse_rows, need[sparse_rows])
        items = index.sample_non_positive(row_users[rows], generator)
        keys, perm = torch.sort(rows * I + items, stable=True)
        new_sorted = torch.ones_like(keys, dtype=torch.bool)
        new_sorted[1:] = keys[1:] != keys[:-1]  # first occurrence (stable sort)
        for prev in accepted:
            if prev.numel() > 0:
                new_sorted &= ~member(prev, keys)
        accepted.append(keys[new_sorted])
        new = torch.zeros_like(new_sorted)
        new[perm[new_sorted]] = True
        rows_out.append(rows[new])
        items_out.append(items[new])
        need -= torch.bincount(rows_out[-1], minlength=num_rows)
        sparse_rows = sparse_rows[need[sparse_rows] > 0]

    dense_rows = (dense & (need > 0)).nonzero().view(-1)
    if sparse_rows.numel() > 0:  # unfinished after max_rounds: redo them densely
        for j in range(len(rows_out)):
            keep = ~torch.isin(rows_out[j], sparse_rows)
            rows_out[j], items_out[j] = rows_out[j][keep], items_out[j][keep]
        need[sparse_rows] = num_per_row[sparse_rows]
        dense_rows = torch.cat([dense_rows, sparse_rows])
    chunk = max(1, (1 << 23) // I)
    for start in range(0, dense_rows.numel(), chunk):  # loop over memory chunks only
        rows = dense_rows[start:start + chunk]
        score = _rand((rows.numel(), I), generator, device)
        pr, pi = index.positive_rows(row_users[rows])
        score[pr, pi] = 2.0  # positives sort last
        order = score.argsort(dim=1)  # uniform random order of the non-positives
        take = torch.arange(I, device=device).unsqueeze(0) < need[rows].unsqueeze(1)
        rows_out.append(rows.unsqueeze(1).expand(-1, I)[take])
        items_out.append(order[take])

    if not rows_out:
        empty = torch.empty(0, dtype=torch.long, device=device)
        return empty, empty.clone()
    row, item = torch.cat(rows_out), torch.cat(items_out)
    perm = torch.sort(row, stable=True)[1]
    return row[perm], item[perm]


# ---------------------------------------------------------------------------
# training negative samplers
# ---------------------------------------------------------------------------
class _NegativeSampler:
    def __init__(self, pos_edge_index: Tensor, num_users: int, num_items: int):
        self.index = PositiveIndex(pos_edge_index, num_users, num_items)
        self.num_users = self.index.num_users
        self.num_items = self.index.num_items

    def _prepare(self, users: Tensor, num_negatives: int) -> Tensor:
        if not isinstance(users, Tensor):
            raise ValueError(f"'users' must be a torch.Tensor (got {type(users).__name__})")
        _check_positive_int(num_negatives, 'num_negatives')
        users = users.reshape(-1).long().to(self.index.device)
        _check_range(users, self.num_users, 'user', 'users')
        self.index.guard_full_users(users)
        return users.repeat_interleave(num_negatives)

    def is_positive(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Boolean mask: is :obj:`(users[j], items[j])` one of the sampler's positives?"""
        _check_range(users, self.num_users, 'user', 'users')
        _check_range(items, self.num_items, 'item', 'items')
        return self.index.contains(users.to(self.index.device), items.to(self.index.device))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_users={self.num_users}, '
                f'num_items={self.num_items}, num_positives={self.index.keys.numel()})')


class UniformNegativeSampler(_NegativeSampler):
    r"""Uniform training negatives: for a user :math:`u`, an item drawn uniformly from
    :math:`\mathcal{I} \setminus \mathcal{P}^+_u`, the items :math:`u` has no *training*
    interaction with (BPRMF, KGAT, KGIN, KMPN, and any BPR-trained model).

    Build it from the **training positives only** (never validation/test): this is
    deliberate, see the module docstring.

    The draw is exact and needs no rejection: the :math:`r`-th non-positive item of
    :math:`u` is :math:`r + |\{k : p_k - k \le r\}|` for the sorted positives
    :math:`p_0 < p_1 < \dots` of :math:`u`, one :func:`torch.searchsorted` over the keys
    :math:`u \cdot I + (p_k - k)`. Negatives of one user are drawn independently (with
    replacement across the :obj:`num_negatives` columns).

    Speed: one call for a whole epoch (:obj:`sampler.sample(train_edge_index[0])`, then
    slice per batch) beats one call per mini-batch; see ``benchmarks/sampling_speed.py``.

    Args:
        pos_edge_index (torch.Tensor): Training (user, item) positives, :obj:`[2, N]`.
        num_users (int): Number of users.
        num_items (int): Number of items.
    """
    def sample(self, users: Tensor, num_negatives: int = 1,
               generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Draw :obj:`num_negatives` negatives for every entry of :obj:`users`.

        Returns:
            :obj:`LongTensor[len(users), num_negatives]` on :obj:`users`' device.
        """
        out_device = users.device if isinstance(users, Tensor) else None
        flat = self._prepare(users, num_negatives)
        items = self.index.sample_non_positive(flat, generator)
        return items.view(-1, num_negatives).to(out_device)


class ReciprocalRatioNegativeSampler(_NegativeSampler):
    r"""Reciprocal ratio negative sampling from `"Transformer-Empowered Content-Aware
    Collaborative Filtering" (CKMPN/KMPN, Lin et al.) <https://arxiv.org/abs/2204.00849>`_,
    eq. (9): popular items are less likely to be hard negatives, so

    .. math::
        i^- \sim P(i) \propto \frac{1}{c(i)}, \qquad i \notin \mathcal{P}^+_u,

    where :math:`c(i)` counts the interactions of all users with item :math:`i`.

    Choices we document (the paper does not state them):

    * :math:`c(i)` is counted on the **training** interactions only (the positives given
      to this sampler), so the held-out interactions never influence training. The
      authors' public code accumulates ``item_interact_count`` over the train *and*
      test files in ``read_cf``, but (see below) never uses the counts to draw, so this
      does not leak into their reported numbers; it would if the weighted branch ran.
    * Items with :math:`c(i) = 0` (no training interaction) would get an infinite weight;
      the paper's eq. (9) is undefined there (in the authors' Amazon-Book files every
      item has an interaction, so the code never hits the case). We use
      :math:`\max(c(i), 1)` by default (:obj:`zero_count='one'`): an unseen item weighs
      as much as an item seen once, the largest finite weight. :obj:`zero_count='exclude'`
      never samples such items instead; :obj:`smoothing=a` uses :math:`1/(c(i)+a)`.
    * A user's own training positives are rejected (as for uniform sampling, the sample
      is restricted to :math:`\mathcal{P}^-`); draws use the inverse CDF of the global
      distribution and only rejected entries are re-drawn; entries still rejected after
      :obj:`max_rounds` rounds are drawn exactly from the user's renormalised
      distribution. The result is exactly :math:`P(i \mid u) \propto w_i
      [i \notin \mathcal{P}^+_u]`.

    **The authors' released code does not sample by reciprocal ratio.** Its
    reciprocal-ratio branch is inverted: both the "uniform" and the "reciprocal ratio"
    paths call the same unweighted draw, so the code's negatives are uniform whatever the
    flag says, and the gain that CKMPN's Table 2 attributes to RRS (w/o SoftDCorr vs
    w/o SoftDCorr + RRS) cannot come from :math:`1/c(i)`. This class implements eq. (9)
    itself (tested: sampled frequencies match an exact multinomial draw, no positives).
    Its effect is real and can be large: on MovieLens-100K (all ratings positive,
    strong popularity) the drawn negatives have a median training count of 1 and only
    0.6 % of them come from the 20 % most popular items, so a model trained with them
    learns little about ranking popular items (see ``benchmarks/README.md``).

    Args:
        pos_edge_index (torch.Tensor): Training (user, item) positives, :obj:`[2, N]`.
        num_users (int): Number of users.
        num_items (int): Number of items.
        item_count (torch.Tensor, optional): Counts :math:`c(i)` to use instead of the
            training-positive counts, shape :obj:`[num_items]`. (default: :obj:`None`)
        zero_count (str): :obj:`'one'` or :obj:`'exclude'`. (default: :obj:`'one'`)
        smoothing (float): Added to every count before the reciprocal; when positive,
            :obj:`zero_count` is irrelevant. (default: :obj:`0.0`)
        max_rounds (int): Rejection rounds before the exact fallback. (default: :obj:`16`)
    """
    def __init__(self, pos_edge_index: Tensor, num_users: int, num_items: int,
                 item_count: Optional[Tensor] = None, zero_count: str = 'one',
                 smoothing: float = 0.0, max_rounds: int = 16):
        super().__init__(pos_edge_index, num_users, num_items)
        if zero_count not in ('one', 'exclude'):
            raise ValueError(f"'zero_count' must be 'one' or 'exclude' (got {zero_count!r})")
        if smoothing < 0 or not math.isfinite(smoothing):
            raise ValueError(f"'smoothing' must be a finite number >= 0 (got {smoothing})")
        self.zero_count = zero_count
        self.smoothing = float(smoothing)
        self.max_rounds = _check_positive_int(max_rounds, 'max_rounds')
        if item_count is None:
            count = torch.bincount(self.index.items, minlength=self.num_items)
        else:
            if not isinstance(item_count, Tensor) or item_count.numel() != self.num_items:
                raise ValueError(f"'item_count' must be a tensor of {self.num_items} counts")
            count = item_count.reshape(-1).to(self.index.device)
            if bool((count < 0).any()):
                raise ValueError("'item_count' must be non-negative")
        self.item_count = count
        count = count.to(torch.float64)
        if self.smoothing > 0:
            weight = 1.0 / (count + self.smoothing)
        elif zero_count == 'one':
            weight = 1.0 / count.clamp(min=1.0)
        else:
            weight = torch.where(count > 0, 1.0 / count.clamp(min=1.0),
                                 torch.zeros_like(count))
        if not bool((weight > 0).any()):
            raise ValueError('every item has zero sampling weight')
        self.weight = weight
        self.prob = weight / weight.sum()
        self._cdf = torch.cumsum(self.prob, 0)
        # users whose positives cover every item of non-zero weight cannot be served
        self._has_support = torch.zeros(self.num_users, dtype=torch.long,
                                        device=self.index.device)
        self._has_support.index_add_(0, self.index.users,
                                     (weight[self.index.items] > 0).long())
        self._support = int((weight > 0).sum())

    def _draw(self, n: int, generator: Optional[torch.Generator]) -> Tensor:
        u = _rand((n, ), generator, self.index.device) * self._cdf[-1]
        return torch.searchsorted(self._cdf, u, right=True).clamp_(max=self.num_items - 1)

    def sample(self, users: Tensor, num_negatives: int = 1,
               generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Draw :obj:`num_negatives` negatives for every entry of :obj:`users`.

        Returns:
            :obj:`LongTensor[len(users), num_negatives]` on :obj:`users`' device.
        """
        out_device = users.device if isinstance(users, Tensor) else None
        flat = self._prepare(users, num_negatives)
        no_support = self._has_support[flat] >= self._support
        if bool(no_support.any()):
            raise ValueError(
                f"user {int(flat[no_support][0])} has every item of non-zero sampling weight "
                f"as a positive, so no reciprocal-ratio negative can be sampled for it")
        items = self._draw(flat.numel(), generator)
        todo = self.index.contains(flat, items).nonzero().view(-1)
        for _ in range(self.max_rounds):  # loop over rejection rounds only
            if todo.numel() == 0:
                break
            items[todo] = self._draw(todo.numel(), generator)
            todo = todo[self.index.contains(flat[todo], items[todo])]
        if todo.numel() > 0:  # exact draw from the renormalised per-user distribution
            chunk = max(1, (1 << 22) // self.num_items)
            for start in range(0, todo.numel(), chunk):
                idx = todo[start:start + chunk]
                prob = self.prob.unsqueeze(0).repeat(idx.numel(), 1)
                pr, pi = self.index.positive_rows(flat[idx])
                prob[pr, pi] = 0.0
                cdf = torch.cumsum(prob, 1)
                u = _rand((idx.numel(), 1), generator, cdf.device) * cdf[:, -1:]
                pick = torch.searchsorted(cdf, u, right=True).view(-1)
                items[idx] = pick.clamp_(max=self.num_items - 1)
        return items.view(-1, num_negatives).to(out_device)


# ---------------------------------------------------------------------------
# KGCN neighbour sampler
# ---------------------------------------------------------------------------
class KGNeighborSampler:
    r"""Fixed-size (neighbour, relation) sampling of every entity, the receptive field of
    KGCN (`"Knowledge Graph Convolutional Networks for Recommender Systems"
    <https://arxiv.org/abs/1904.12575>`_, Wang et al., WWW 2019; also used by the KGCN
    backbone of the semantic contrastive-learning paper, Kim et al., LREC-COLING 2024,
    with :math:`K = 4`).

    Follows the authors' code (``construct_kg`` / ``construct_adj`` in
    ``hwwang55/KGCN``):

    * the KG is treated as **undirected**: a triple :math:`(h, r, t)` makes :math:`t` a
      neighbour of :math:`h` *and* :math:`h` a neighbour of :math:`t`, both with the
      **same** relation :math:`r` (no inverse relation ids);
    * a node with at least :math:`K` neighbours gets :math:`K` distinct ones (without
      replacement), a node with fewer gets :math:`K` drawn with replacement
      (``np.random.choice(n, K, replace=n < K)``);
    * isolated nodes (no triple at all; the authors' code would crash on them) get a
      self-loop: neighbour = the node itself, relation = :obj:`padding_relation`
      (:obj:`num_relations`, i.e. a dedicated extra relation id, so a model must hold
      :obj:`num_relations + 1` relation embeddings) when :obj:`isolated='self_loop'`,
      or a :class:`ValueError` when :obj:`isolated='error'`.

    Unlike the authors' code, which samples once before training, :meth:`sample` can be
    called again every epoch for a fresh draw (or once and cached, to reproduce KGCN).
    Multi-edges are kept as separate neighbours, as in the authors' code.

    Sampling without replacement uses Floyd's algorithm vectorised over nodes (:math:`K`
    steps of :math:`O(|\mathcal{V}| K)` work), with replacement :math:`\lfloor u \cdot
    \deg \rfloor` offsets into a CSR.

    Args:
        edge_index (torch.Tensor): KG (head, tail), :obj:`[2, T]`.
        edge_type (torch.Tensor): Relation of each triple, :obj:`[T]`.
        num_nodes (int): Number of entities.
        num_neighbors (int): :math:`K`.
        num_relations (int, optional): Number of relations; defaults to
            :obj:`edge_type.max() + 1`. (default: :obj:`None`)
        isolated (str): :obj:`'self_loop'` or :obj:`'error'`. (default: :obj:`'self_loop'`)
    """
    def __init__(self, edge_index: Tensor, edge_type: Tensor, num_nodes: int,
                 num_neighbors: int, num_relations: Optional[int] = None,
                 isolated: str = 'self_loop'):
        edge_index = _check_edge_index(edge_index, 'edge_index')
        if not isinstance(edge_type, Tensor) or edge_type.dim() != 1 \
                or edge_type.numel() != edge_index.size(1):
            raise ValueError(f"'edge_type' must be a 1-D tensor with one relation per edge "
                             f"({edge_index.size(1)})")
        self.num_nodes = _check_positive_int(num_nodes, 'num_nodes')
        self.num_neighbors = _check_positive_int(num_neighbors, 'num_neighbors')
        _check_range(edge_index.view(-1), self.num_nodes, 'node', 'edge_index')
        edge_type = edge_type.long()
        if num_relations is None:
            num_relations = int(edge_type.max()) + 1 if edge_type.numel() > 0 else 0
        self.num_relations = _check_positive_int(num_relations, 'num_relations', minimum=0)
        _check_range(edge_type, max(self.num_relations, 1) if edge_type.numel() else 1,
                     'relation', 'edge_type')
        if isolated not in ('self_loop', 'error'):
            raise ValueError(f"'isolated' must be 'self_loop' or 'error' (got {isolated!r})")
        self.isolated = isolated
        self.padding_relation = self.num_relations

        src = torch.cat([edge_index[0], edge_index[1]])
        dst = torch.cat([edge_index[1], edge_index[0]])
        rel = torch.cat([edge_type, edge_type])
        perm = torch.argsort(src, stable=True)
        self.col, self.rel = dst[perm], rel[perm]
        self.deg = torch.bincount(src, minlength=self.num_nodes)
        self.ptr = torch.zeros(self.num_nodes + 1, dtype=torch.long, device=src.device)
        self.ptr[1:] = torch.cumsum(self.deg, 0)
        isolated_nodes = (self.deg == 0).nonzero().view(-1)
        if isolated == 'error' and isolated_nodes.numel() > 0:
            raise ValueError(f"{isolated_nodes.numel()} node(s) (e.g. node "
                             f"{int(isolated_nodes[0])}) have no KG triple")
        self.isolated_nodes = isolated_nodes


    @classmethod
    def from_data(cls, data, num_neighbors: int, device=None,
                  isolated: str = 'self_loop') -> 'KGNeighborSampler':
        r"""The sampler of the item KG of a library dataset (:obj:`data['entity', 'kg',
        'entity']`, over all :obj:`data['entity'].num_nodes` entities and all
        :obj:`data.relation_names`), its tensors moved to :obj:`device`."""
        kg = data['entity', 'kg', 'entity']
        return cls(kg.edge_index.to(device), kg.edge_type.to(device),
                   data['entity'].num_nodes, num_neighbors,
                   num_relations=len(data.relation_names), isolated=isolated)

    def sample(self, generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
        r"""Draw a fresh receptive field.

        Returns:
            (neighbors, relations), both :obj:`LongTensor[num_nodes, K]`.
        """
        K, deg = self.num_neighbors, self.deg
        device = deg.device
        n = self.num_nodes
        with_repl = deg < K
        # with replacement: floor(u * deg) (isolated nodes handled below)
        offset = (_rand((n, K), generator, device) * deg.clamp(min=1).unsqueeze(1)).long()
        offset = torch.minimum(offset, (deg.clamp(min=1) - 1).unsqueeze(1))
        # without replacement (deg >= K): Floyd's algorithm, vectorised over nodes
        big = (~with_repl).nonzero().view(-1)
        if big.numel() > 0:
            d = deg[big]
            chosen = torch.empty((big.numel(), K), dtype=torch.long, device=device)
            u = _rand((big.numel(), K), generator, device)
            for step in range(K):  # K steps, each vectorised over all nodes
                j = d - K + step
                t = torch.minimum((u[:, step] * (j + 1).to(torch.float64)).long(), j)
                seen = (chosen[:, :step] == t.unsqueeze(1)).any(dim=1)
                chosen[:, step] = torch.where(seen, j, t)
            # Floyd gives a uniform set; shuffle the columns for a uniform order
            order = _rand((big.numel(), K), generator, device).argsort(dim=1)
            offset[big] = chosen.gather(1, order)
        idx = (self.ptr[:-1].unsqueeze(1) + offset).clamp_(max=max(self.col.numel() - 1, 0))
        if self.col.numel() > 0:
            neighbors, relations = self.col[idx], self.rel[idx]
        else:
            neighbors = torch.empty((n, K), dtype=torch.long, device=device)
            relations = torch.empty((n, K), dtype=torch.long, device=device)
        if self.isolated_nodes.numel() > 0:
            neighbors[self.isolated_nodes] = self.isolated_nodes.unsqueeze(1)
            relations[self.isolated_nodes] = self.padding_relation
        return neighbors, relations

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_neighbors={self.num_neighbors}, num_relations={self.num_relations})')
