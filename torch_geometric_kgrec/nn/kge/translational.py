r"""Shared base of the projection-then-translation KG scorers (TransH, TransR)."""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn.kge import KGEModel


def max_norm(x: Tensor, max_value: float = 1.0) -> Tensor:
    r"""Rescales the rows of :obj:`x` whose norm exceeds :obj:`max_value` onto the
    ball (the :math:`\|\mathbf{e}\|_2 \le 1` constraint of TransE/TransH/TransR),
    differentiably; rows inside the ball are left unchanged."""
    norm = x.norm(p=2, dim=-1, keepdim=True)
    return x * (max_value / norm.clamp(min=max_value))


class UnitNorm(torch.nn.Module):
    r"""Parametrization that keeps every row of a weight at unit L2 norm (used for
    hyperplane normals: :math:`\|\mathbf{w}_r\|_2 = 1` holds after every optimiser step)."""
    def forward(self, weight: Tensor) -> Tensor:
        return F.normalize(weight, p=2, dim=-1)


def margin_loss(pos_score: Tensor, neg_score: Tensor, margin: float,
                reduction: str = 'sum') -> Tensor:
    r"""Margin ranking loss on plausibility scores (higher = more plausible), eq. 4 of
    KTUP with :math:`f = -\text{score}`:

    .. math::
        \sum [\gamma - \text{score}^+ + \text{score}^-]_+
    """
    return F.margin_ranking_loss(pos_score, neg_score, torch.ones_like(pos_score),
                                 margin=margin, reduction=reduction)


class TranslationalKGEModel(KGEModel):
    r"""Base of KG scorers of the form

    .. math::
        \text{score}(h, r, t) = -\| \pi_r(\mathbf{e}_h) + \mathbf{d}_r
        - \pi_r(\mathbf{e}_t) \|_p

    where :math:`\pi_r` is a relation-specific projection implemented by
    subclasses (:meth:`project`). Entity embeddings are kept inside the unit ball
    (:func:`max_norm`). Besides :class:`~torch_geometric.nn.kge.KGEModel`'s API it
    scores whole candidate sets at once (:meth:`score_tails`, :meth:`score_heads`)
    for full-ranking KG completion.

    Args:
        num_nodes (int): Number of entities.
        num_relations (int): Number of relations.
        hidden_channels (int): Entity embedding size.
        margin (float, optional): Margin :math:`\gamma`. (default: :obj:`1.0`)
        p_norm (float, optional): Distance norm (:obj:`1.0` as in KTUP, or
            :obj:`2.0`). (default: :obj:`1.0`)
        reduction (str, optional): Reduction of the margin loss; eq. 4 sums.
            (default: :obj:`"sum"`)
        sparse (bool, optional): Sparse gradients for the embedding tables.
            (default: :obj:`False`)
    """
    def __init__(self, num_nodes: int, num_relations: int, hidden_channels: int,
                 margin: float = 1.0, p_norm: float = 1.0, reduction: str = 'sum',
                 sparse: bool = False) -> None:
        super().__init__(num_nodes, num_relations, hidden_channels, sparse)
        if reduction not in ('sum', 'mean'):
            raise ValueError(f"reduction must be 'sum' or 'mean' (got {reduction!r})")
        self.margin = margin
        self.p_norm = p_norm
        self.reduction = reduction

    def entity(self, index: Optional[Tensor] = None) -> Tensor:
        r"""Entity embeddings (inside the unit ball); all of them if :obj:`index` is
        :obj:`None`."""
        x = self.node_emb.weight if index is None else self.node_emb(index)
        return max_norm(x)

    def project(self, x: Tensor, rel: Union[Tensor, int]) -> Tensor:
        r"""Projects :obj:`x` (:obj:`[n, d]`) with relation :obj:`rel` (a tensor
        :obj:`[n]` pairing a relation with each row, or one :obj:`int` for all)."""
        raise NotImplementedError

    def translation(self, rel: Union[Tensor, int]) -> Tensor:
        r"""Translation vector(s) :math:`\mathbf{d}_r`."""
        if isinstance(rel, int):
            return self.rel_emb.weight[rel]
        return self.rel_emb(rel)

    def _check(self, *index: Tensor) -> None:
        for idx in index:
            if idx.dtype != torch.long:
                raise ValueError(f'{self.__class__.__name__}: indices must be long '
                                 f'tensors (got {idx.dtype})')

    def forward(self, head_index: Tensor, rel_type: Tensor, tail_index: Tensor) -> Tensor:
        self._check(head_index, rel_type, tail_index)
        head = self.project(self.entity(head_index), rel_type)
        tail = self.project(self.entity(tail_index), rel_type)
        return -(head + self.translation(rel_type) - tail).norm(p=self.p_norm, dim=-1)

    def loss(self, head_index: Tensor, rel_type: Tensor, tail_index: Tensor,
             neg_head_index: Optional[Tensor] = None,
             neg_tail_index: Optional[Tensor] = None) -> Tensor:
        r"""Margin ranking loss (eq. 4). Negatives are the given corrupted heads /
        tails (e.g. from
        :class:`~torch_geometric_kgrec.protocols.kg_corruption.KGCorruptionSampler`,
        which filters known training triples), else PyG's unfiltered
        :meth:`random_sample`."""
        pos = self(head_index, rel_type, tail_index)
        if neg_head_index is None and neg_tail_index is None:
            neg_head_index, _, neg_tail_index = self.random_sample(
                head_index, rel_type, tail_index)
        neg_head_index = head_index if neg_head_index is None else neg_head_index
        neg_tail_index = tail_index if neg_tail_index is None else neg_tail_index
        neg = self(neg_head_index, rel_type, neg_tail_index)
        return margin_loss(pos, neg, self.margin, self.reduction)

    def _score_all(self, query: Tensor, rel_type: Tensor, sign: float) -> Tensor:
        out = query.new_empty(query.size(0), self.num_nodes)
        for rel in rel_type.unique().tolist():
            mask = rel_type == rel
            cand = self.project(self.entity(), int(rel))
            out[mask] = -torch.cdist(query[mask], sign * cand, p=self.p_norm)
        return out

    def score_tails(self, head_index: Tensor, rel_type: Tensor) -> Tensor:
        r"""Scores of :math:`(h, r, t)` for every entity :math:`t`:
        :obj:`[len(head_index), num_nodes]`."""
        self._check(head_index, rel_type)
        q = self.project(self.entity(head_index), rel_type) + self.translation(rel_type)
        return self._score_all(q, rel_type, 1.0)

    def score_heads(self, rel_type: Tensor, tail_index: Tensor) -> Tensor:
        r"""Scores of :math:`(h, r, t)` for every entity :math:`h`:
        :obj:`[len(tail_index), num_nodes]`."""
        self._check(rel_type, tail_index)
        # || P h + d - P t || = || (-P h) - (d - P t) ||
        q = self.translation(rel_type) - self.project(self.entity(tail_index), rel_type)
        return self._score_all(q, rel_type, -1.0)


def _transe_all(model: KGEModel, query: Tensor, num_candidates: int) -> Tensor:
    cand = F.normalize(model.node_emb.weight[:num_candidates], p=model.p_norm, dim=-1)
    return -torch.cdist(query, cand, p=model.p_norm)


def kg_score_fn(model: KGEModel, num_candidates: Optional[int] = None):
    r"""A :obj:`score_fn(head, rel, tail)` for
    :func:`~torch_geometric_kgrec.metrics.evaluate_kg_completion` that equals
    :obj:`model(head, rel, tail)` but, when one side enumerates all
    :obj:`num_candidates` entities for each query (the evaluator's layout), scores the
    whole block at once (:meth:`TranslationalKGEModel.score_tails` / ``score_heads``,
    or a :func:`torch.cdist` form of PyG's :class:`TransE`) instead of one triple at a
    time.

    Args:
        model (KGEModel): The scorer.
        num_candidates (int, optional): Size of the candidate set (default: all
            :obj:`model.num_nodes`; e.g. the entities of CFKG's unified graph).
    """
    from torch_geometric.nn.kge import TransE
    E = num_candidates or model.num_nodes
    fast_tail = fast_head = None
    if isinstance(model, TranslationalKGEModel):
        fast_tail = lambda h, r: model.score_tails(h, r)[:, :E]  # noqa: E731
        fast_head = lambda r, t: model.score_heads(r, t)[:, :E]  # noqa: E731
    elif isinstance(model, TransE):
        def fast_tail(h, r):
            q = F.normalize(model.node_emb(h), p=model.p_norm, dim=-1) + model.rel_emb(r)
            return _transe_all(model, q, E)

        def fast_head(r, t):
            q = F.normalize(model.node_emb(t), p=model.p_norm, dim=-1) - model.rel_emb(r)
            return _transe_all(model, q, E)

    def blocks(side: Tensor, other: Tensor, rel: Tensor):
        if fast_tail is None or side.numel() == 0 or side.numel() % E:
            return None
        B = side.numel() // E
        side, other, rel = side.view(B, E), other.view(B, E), rel.view(B, E)
        arange = torch.arange(E, device=side.device)
        if not ((side == arange).all() and (other == other[:, :1]).all()
                and (rel == rel[:, :1]).all()):
            return None
        return other[:, 0], rel[:, 0]

    @torch.no_grad()
    def score_fn(head: Tensor, rel: Tensor, tail: Tensor) -> Tensor:
        q = blocks(tail, head, rel)
        if q is not None:
            return fast_tail(q[0], q[1]).reshape(-1)
        q = blocks(head, tail, rel)
        if q is not None:
            return fast_head(q[1], q[0]).reshape(-1)
        return model(head, rel, tail)

    return score_fn
