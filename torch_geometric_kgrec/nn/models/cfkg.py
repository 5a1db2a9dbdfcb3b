r"""CFKG (Zhang et al., 2018): TransE over the unified user-item-KG graph."""
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn.kge import TransE

from torch_geometric_kgrec.nn.kge.translational import margin_loss
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


class CFKG(RecommenderMixin, Module):
    r"""CFKG from `"Learning Heterogeneous Knowledge Base Embeddings for Explainable
    Recommendation" <https://www.mdpi.com/1999-4893/11/9/137>`_ (Ai et al., 2018; ref.
    [46] of KTUP): users become nodes of the KG, interactions become triples
    :math:`(u, \text{interact}, i)`, and PyG's
    :class:`~torch_geometric.nn.kge.TransE` embeds the unified graph.

    .. math::
        \hat{y}_{ui} = -\| \mathbf{u} + \mathbf{r}_{\text{interact}} - \mathbf{i} \|_p

    Node :obj:`e < num_entities` is entity :obj:`e` (items are entities
    :obj:`0 .. num_items - 1`), node :obj:`num_entities + u` is user :obj:`u`;
    relation :obj:`num_relations` is *interact*.

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_entities (int): Number of entities.
        num_relations (int): Number of KG relations.
        embedding_dim (int, optional): Embedding size. (default: :obj:`100`)
        margin (float, optional): Margin of both losses. (default: :obj:`1.0`)
        p_norm (float, optional): TransE norm. (default: :obj:`1.0`)
        reduction (str, optional): Margin loss reduction. (default: :obj:`"sum"`)
        sparse (bool, optional): Sparse gradients for TransE's tables. (default: :obj:`False`)

    Shapes:
        - **input:** users :math:`(n)`, items :math:`(n)`
        - **output:** :math:`(n)`; :meth:`score_all` :math:`(B, |\mathcal{I}|)`
    """
    def __init__(self, num_users: int, num_items: int, num_entities: int, num_relations: int,
                 embedding_dim: int = 100, margin: float = 1.0, p_norm: float = 1.0,
                 reduction: str = 'sum', sparse: bool = False) -> None:
        super().__init__()
        if num_items > num_entities:
            raise ValueError(f'CFKG: items must be entities (num_items={num_items} > '
                             f'num_entities={num_entities})')
        self.num_users = num_users
        self.num_items = num_items
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.embedding_dim = embedding_dim
        self.reduction = reduction
        self.kg = TransE(num_entities + num_users, num_relations + 1, embedding_dim,
                         margin=margin, p_norm=p_norm, sparse=sparse)

    @property
    def interact(self) -> int:
        return self.num_relations

    def reset_parameters(self) -> None:
        self.kg.reset_parameters()

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        rel = torch.full_like(users, self.interact)
        return self.kg(users + self.num_entities, rel, items)

    def score_all(self, users: Tensor, max_elements: int = 2**23) -> Tensor:
        items = torch.arange(self.num_items, device=users.device)
        chunk = max(1, max_elements // (self.num_items * self.embedding_dim))
        out = []
        for us in users.split(chunk):
            u = us.repeat_interleave(self.num_items)
            out.append(self(u, items.repeat(us.numel())).view(us.numel(), self.num_items))
        return torch.cat(out, dim=0)

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        r"""Margin ranking loss of :math:`(u, \text{interact}, i)` against
        :math:`(u, \text{interact}, j)`."""
        return margin_loss(self(users, pos_items), self(users, neg_items), self.kg.margin,
                           self.reduction)

    def kg_loss(self, head_index: Tensor, rel_type: Tensor, tail_index: Tensor,
                neg_head_index: Optional[Tensor] = None,
                neg_tail_index: Optional[Tensor] = None) -> Tensor:
        r"""TransE margin loss on KG triples (corruptions given, else PyG's sampler)."""
        if neg_head_index is None and neg_tail_index is None:
            neg_head_index, _, neg_tail_index = self.kg.random_sample(
                head_index, rel_type, tail_index)
        neg_head_index = head_index if neg_head_index is None else neg_head_index
        neg_tail_index = tail_index if neg_tail_index is None else neg_tail_index
        return margin_loss(self.kg(head_index, rel_type, tail_index),
                           self.kg(neg_head_index, rel_type, neg_tail_index), self.kg.margin,
                           self.reduction)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'num_entities={self.num_entities}, num_relations={self.num_relations}, '
                f'embedding_dim={self.embedding_dim})')
