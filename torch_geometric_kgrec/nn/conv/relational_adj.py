r"""A typed KG adjacency grouped by (head, relation) pair, for fast relational
message passing on CPU and GPU.

Relational convolutions such as KGIN's (:math:`\mathbf{e}_h = \frac{1}{|\mathcal{N}_h|}
\sum_{(h, r, t)} \mathbf{e}_r \odot \mathbf{e}_t`) and KMPN's gated path convolution are
usually written as *gather - multiply - scatter* over the :math:`|E|` triples, which
materialises several :math:`|E| \times d` tensors in the forward and backward passes.
Because :math:`\mathbf{e}_r` only depends on the relation, the sum factorises over the
:math:`P \le |E|` distinct (head, relation) pairs :math:`(h, r)`:

.. math::
    \sum_{(h, r, t)} w_{ht}\, \mathbf{e}_r \odot \mathbf{e}_t
    = \sum_{(h, r)} \mathbf{e}_r \odot \underbrace{\Big(\sum_{t:(h,r,t)}
    w_{ht}\, \mathbf{e}_t\Big)}_{(\mathbf{A}\mathbf{X})_{(h, r)}}

where :math:`\mathbf{A} \in \mathbb{R}^{P \times N}` is a CSR matrix (one row per pair).
One sparse-dense matmul (no :math:`|E| \times d` intermediate, also in the backward pass)
and one :math:`P \times d` scatter replace the gather-multiply-scatter.
"""
import warnings
from typing import Callable, Optional

import torch
from torch import Tensor
from torch_geometric.utils import is_sparse, scatter, to_edge_index

from torch_geometric_kgrec.nn.index_checks import index_out_of_range


def typed_edges(edge_index, edge_type: Optional[Tensor], num_relations: Optional[int],
                layer: str = 'this layer'):
    r"""Validate the typed-edge input shared by the relational layers
    (:class:`GatedPathConv`, :class:`KGINConv`, :class:`KGCNConv`) and return
    :obj:`(edge_index, edge_type)`, one column / entry per triple.

    Accepted: a :obj:`[2, E]` :obj:`edge_index` (a tensor or PyG's
    :class:`~torch_geometric.EdgeIndex`) with an :obj:`[E]` :obj:`edge_type`, or a
    sparse adjacency (:obj:`torch.sparse` COO/CSR/CSC or :class:`SparseTensor`) **with**
    an :obj:`edge_type` holding the relation of each stored entry, in the order of
    :func:`torch_geometric.utils.to_edge_index` (COO storage order, CSR row-major).

    A sparse adjacency's values are edge weights, as everywhere in PyG, and never
    relation ids: one (head, tail) pair with several relations (4,153 pairs in
    MovieLens-100K's KG, 5,608 in Last.FM's) cannot be one entry of a coalesced
    sparse tensor, and coalescing *sums* the ids, so that an in-range sum is silently
    the wrong relation. A sparse adjacency without :obj:`edge_type`, or whose values are
    not all :obj:`1` (these layers take no edge weights; summed duplicates show up
    here as values above 1), raises a :class:`ValueError` naming the cause. Keep
    several relations of one pair as an uncoalesced COO tensor or, simpler, as an
    :obj:`edge_index` / :class:`RelationalAdj`.

    Args:
        num_relations (int, optional): Relation ids must lie in
            :obj:`[0, num_relations)` (not checked if :obj:`None`).
        layer (str, optional): Name used in error messages.
    """
    if is_sparse(edge_index):
        if edge_type is None:
            raise ValueError(
                f"{layer}: a sparse adjacency cannot carry relation ids (its values are "
                f"edge weights, as in PyG, and coalescing sums the ids of several "
                f"relations between one (head, tail) pair into a wrong id); pass "
                f"'edge_index' [2, E] with 'edge_type' [E], a RelationalAdj, or the "
                f"sparse adjacency together with 'edge_type' (one relation per stored "
                f"entry)")
        edge_index, values = to_edge_index(edge_index)
        if values is not None and values.numel() and not bool((values == 1).all()):
            summed = (not values.is_floating_point() or
                      bool((values == values.round()).all())) and bool((values > 1).any())
            raise ValueError(
                f"{layer}: the sparse adjacency's values must all be 1 (they are edge "
                f"weights and {layer} takes none; relations come from 'edge_type')"
                + ('; values above 1 are what coalescing leaves when several entries '
                   '(e.g. several relations of one (head, tail) pair) were summed'
                   if summed else ''))
    if edge_type is None:
        raise ValueError(f"{layer}: 'edge_type' is required with a tensor 'edge_index'")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{layer}: 'edge_index' must have shape [2, E] (got "
                         f"{list(edge_index.shape)})")
    if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
        raise ValueError(f"{layer}: 'edge_type' has {edge_type.numel()} entries but "
                         f"'edge_index' has {edge_index.size(1)} edges")
    if edge_type.is_floating_point():
        raise ValueError(f"{layer}: 'edge_type' must hold integer relation ids "
                         f"(got {edge_type.dtype})")
    edge_type = edge_type.long()
    if num_relations is not None and index_out_of_range(edge_type, num_relations):
        raise ValueError(f"{layer}: 'edge_type' must lie in [0, {num_relations})")
    return edge_index, edge_type


def csr_tensor(crow: Tensor, col: Tensor, value: Tensor, size) -> Tensor:
    r"""A :obj:`torch.sparse_csr_tensor` (without invariant checks and without the
    "beta" warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return torch.sparse_csr_tensor(crow, col, value, size, check_invariants=False)


class _CSRMatmul(torch.autograd.Function):
    r""":math:`\mathbf{A}\mathbf{X}` whose backward uses a precomputed CSR
    :math:`\mathbf{A}^{\top}` (PyTorch would transpose, i.e. sort, at every call)."""
    @staticmethod
    def forward(ctx, x: Tensor, a: Tensor, a_t: Tensor) -> Tensor:
        ctx.a_t = a_t
        return a @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return ctx.a_t @ grad, None, None


class RelationalAdj:
    r"""KG triples :math:`(h, r, t)` sorted by (head, relation, tail) and grouped by their
    (head, relation) pair; every head aggregates the mean over its triples.

    Build it once per graph with :meth:`from_edge_index`; :meth:`sample` draws a random
    subset of triples (node dropout) without re-sorting, and :meth:`propagate` computes

    .. math::
        \mathbf{o}_h = \sum_{(h, r, t) \in \mathcal{T}} w_{ht}\,
        \mathbf{e}_r \odot \mathbf{x}_t, \qquad
        w_{ht} = \frac{1}{|\mathcal{N}_h|}

    (optionally weighted per pair by :obj:`pair_weight`, e.g. a gate :math:`\gamma_{hr}`).

    Attributes:
        head, rel, tail (torch.Tensor): The triples, sorted, shape :obj:`[E]`.
        pair (torch.Tensor): Index of each triple's (head, relation) pair, :obj:`[E]`.
        pair_head, pair_rel (torch.Tensor): Head and relation of every pair, :obj:`[P]`.
        num_nodes (int), num_relations (int).
        perm (torch.Tensor): Sorted position -> index of the triple in the input.
        tail_order (torch.Tensor): The triples' positions sorted by tail (for the
            transposed matrix used in the backward pass).
    """
    def __init__(self, head: Tensor, rel: Tensor, tail: Tensor, pair: Tensor,
                 pair_head: Tensor, pair_rel: Tensor, num_nodes: int, num_relations: int,
                 perm: Optional[Tensor] = None,
                 tail_order: Optional[Tensor] = None) -> None:
        self.head, self.rel, self.tail, self.pair = head, rel, tail, pair
        self.pair_head, self.pair_rel = pair_head, pair_rel
        self.num_nodes, self.num_relations = num_nodes, num_relations
        self.perm = perm
        self.tail_order = tail_order
        self._csr: Optional[Tensor] = None
        self._csr_t: Optional[Tensor] = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_edge_index(cls, edge_index: Tensor, edge_type: Tensor, num_nodes: int,
                        num_relations: Optional[int] = None) -> 'RelationalAdj':
        r"""Group the triples :obj:`(edge_index[0], edge_type, edge_index[1])`
        (:obj:`edge_index` is :obj:`[2, E]` head -> tail) by (head, relation)."""
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"'edge_index' must have shape [2, E] (got "
                             f"{list(edge_index.shape)})")
        if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
            raise ValueError(f"'edge_type' must have shape [E] = [{edge_index.size(1)}] "
                             f"(got {list(edge_type.shape)})")
        edge_index, edge_type = edge_index.long(), edge_type.long()
        if num_relations is None:
            num_relations = int(edge_type.max()) + 1 if edge_type.numel() > 0 else 0
        if edge_index.numel() > 0:
            if int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes:
                raise ValueError(f"'edge_index' holds node indices outside [0, {num_nodes})")
            if int(edge_type.min()) < 0 or int(edge_type.max()) >= num_relations:
                raise ValueError(f"'edge_type' holds relations outside [0, {num_relations})")
        head, tail = edge_index
        # Two stable sorts give the lexicographic (head, relation, tail) order without
        # forming a key that could overflow int64 on huge graphs.
        by_tail = torch.argsort(tail, stable=True)
        perm = by_tail[torch.argsort(head[by_tail] * num_relations + edge_type[by_tail],
                                     stable=True)]
        position = torch.empty_like(perm)
        position[perm] = torch.arange(perm.numel(), device=perm.device)
        tail_order = position[by_tail]  # positions in the new order, sorted by tail
        head, rel, tail = head[perm], edge_type[perm], tail[perm]
        key = head * num_relations + rel
        new = torch.ones_like(key, dtype=torch.bool)
        if key.numel() > 1:
            new[1:] = key[1:] != key[:-1]
        pair = torch.cumsum(new, 0) - 1
        return cls(head, rel, tail, pair, head[new], rel[new], num_nodes, num_relations,
                   perm, tail_order)

    @property
    def num_edges(self) -> int:
        return self.head.numel()

    @property
    def num_pairs(self) -> int:
        return self.pair_head.numel()

    def sample(self, p: float, generator: Optional[torch.Generator] = None
               ) -> 'RelationalAdj':
        r"""Drop every triple independently with probability :obj:`p` (KGIN's node
        dropout of KG edges); the kept triples stay sorted, the pairs are kept."""
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1) (got {p})")
        if p == 0.0:
            return self
        keep = torch.rand(self.num_edges, generator=generator,
                          device=self.head.device) >= p
        # One nonzero and index_select per tensor (boolean indexing would run a
        # nonzero for every tensor: 6 passes over E on a 24M-triple graph).
        idx = keep.nonzero().view(-1)
        take = lambda t: t.index_select(0, idx)  # noqa: E731
        perm = take(self.perm) if self.perm is not None else None
        tail_order = None
        if self.tail_order is not None:  # stays sorted by tail: renumber, no sort
            renumber = torch.cumsum(keep, 0) - 1
            kept = self.tail_order[keep[self.tail_order]]
            tail_order = renumber[kept]
        return RelationalAdj(take(self.head), take(self.rel), take(self.tail),
                             take(self.pair), self.pair_head, self.pair_rel,
                             self.num_nodes, self.num_relations, perm, tail_order)

    def apply(self, fn: Callable[[Tensor], Tensor]) -> 'RelationalAdj':
        r"""Apply :obj:`fn` (e.g. a device move) to every tensor."""
        return RelationalAdj(fn(self.head), fn(self.rel), fn(self.tail), fn(self.pair),
                             fn(self.pair_head), fn(self.pair_rel), self.num_nodes,
                             self.num_relations,
                             fn(self.perm) if self.perm is not None else None,
                             fn(self.tail_order) if self.tail_order is not None else None)

    def to(self, device) -> 'RelationalAdj':
        return self.apply(lambda t: t.to(device))

    # ------------------------------------------------------------------ compute
    def degree(self) -> Tensor:
        r"""Number of triples of every head, :obj:`[num_nodes]`."""
        return torch.bincount(self.head, minlength=self.num_nodes)

    def csr(self, dtype: torch.dtype = torch.float) -> Tensor:
        r"""The :obj:`[P, num_nodes]` CSR matrix :math:`\mathbf{A}_{(h,r),t} =
        1 / |\mathcal{N}_h|` (cached)."""
        if self._csr is None or self._csr.dtype != dtype:
            deg = self.degree().clamp_(min=1).to(dtype)
            count = torch.bincount(self.pair, minlength=self.num_pairs)
            crow = torch.zeros(self.num_pairs + 1, dtype=torch.long,
                               device=self.head.device)
            torch.cumsum(count, 0, out=crow[1:])
            self._csr = csr_tensor(crow, self.tail, deg[self.head].reciprocal(),
                                   (self.num_pairs, self.num_nodes))
        return self._csr

    def csr_t(self, dtype: torch.dtype = torch.float) -> Tensor:
        r"""The transposed :obj:`[num_nodes, P]` CSR matrix :math:`\mathbf{A}^{\top}`
        (cached)."""
        if self._csr_t is None or self._csr_t.dtype != dtype:
            if self.tail_order is None:
                self.tail_order = torch.argsort(self.tail, stable=True)
            order = self.tail_order
            deg = self.degree().clamp_(min=1).to(dtype)
            crow = torch.zeros(self.num_nodes + 1, dtype=torch.long,
                               device=self.head.device)
            torch.cumsum(torch.bincount(self.tail, minlength=self.num_nodes), 0,
                         out=crow[1:])
            self._csr_t = csr_tensor(crow, self.pair[order],
                                     deg[self.head[order]].reciprocal(),
                                     (self.num_nodes, self.num_pairs))
        return self._csr_t

    def matmul(self, x: Tensor) -> Tensor:
        r""":math:`\mathbf{A}\mathbf{X}`, :obj:`[P, d]`: the degree-normalised sum of
        the tails of every (head, relation) pair; differentiable in :obj:`x`."""
        if x.requires_grad and torch.is_grad_enabled():
            return _CSRMatmul.apply(x, self.csr(x.dtype), self.csr_t(x.dtype))
        return self.csr(x.dtype) @ x

    def propagate(self, x: Tensor, rel_emb: Tensor,
                  pair_weight: Optional[Tensor] = None) -> Tensor:
        r""":math:`\mathbf{o}_h = \frac{1}{|\mathcal{N}_h|}\sum_{(h,r,t)}
        g_{hr}\,\mathbf{e}_r \odot \mathbf{x}_t`, shape :obj:`[num_nodes, d]`.

        Args:
            x (torch.Tensor): Node features :obj:`[num_nodes, d]`.
            rel_emb (torch.Tensor): Relation embeddings :obj:`[num_relations, d]`.
            pair_weight (torch.Tensor, optional): A weight :math:`g_{hr}` per pair,
                :obj:`[P]` (default: 1).
        """
        if x.size(0) != self.num_nodes:
            raise ValueError(f"'x' has {x.size(0)} rows but the graph has "
                             f"{self.num_nodes} nodes")
        if rel_emb.size(0) != self.num_relations or rel_emb.size(-1) != x.size(-1):
            raise ValueError(f"'rel_emb' must have shape [{self.num_relations}, "
                             f"{x.size(-1)}] (got {list(rel_emb.shape)})")
        agg = self.matmul(x)  # [P, d]: mean-weighted sum over the tails of each pair
        msg = agg * rel_emb[self.pair_rel]
        if pair_weight is not None:
            msg = msg * pair_weight.view(-1, 1)
        return scatter(msg, self.pair_head, 0, dim_size=self.num_nodes, reduce='sum')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_nodes={self.num_nodes}, '
                f'num_relations={self.num_relations}, num_edges={self.num_edges}, '
                f'num_pairs={self.num_pairs})')
