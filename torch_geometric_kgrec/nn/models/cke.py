r"""CKE (Zhang et al., KDD 2016) restricted to its structural-knowledge part."""
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Embedding, Module

from torch_geometric_kgrec.nn.kge.transr import TransR
from torch_geometric_kgrec.nn.losses import bpr_loss, l2_reg
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


class CKE(RecommenderMixin, Module):
    r"""Collaborative Knowledge base Embedding from `"Collaborative Knowledge Base
    Embedding for Recommender Systems" <https://dl.acm.org/doi/10.1145/2939672.2939673>`_
    (Zhang et al., KDD 2016), structural part only (the KTUP paper's baseline: no
    text or image components): BPRMF whose item vectors are offset by the
    :class:`~torch_geometric_kgrec.nn.kge.TransR` embedding of the aligned entity.

    .. math::
        \hat{y}_{ui} = \mathbf{u}^{\top}(\boldsymbol{\eta}_i + \mathbf{e}_{i}),
        \qquad \mathcal{L} = \mathcal{L}_{\text{BPR}} + \lambda_2 \|\cdot\|^2
        + \mathcal{L}_{\text{TransR}}

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_entities (int): Number of entities.
        num_relations (int): Number of relations.
        embedding_dim (int, optional): Embedding size. (default: :obj:`100`)
        relation_dim (int, optional): TransR relation space size
            (default: :obj:`embedding_dim`).
        margin (float, optional): TransR margin. (default: :obj:`1.0`)
        p_norm (float, optional): TransR distance norm. (default: :obj:`1.0`)
        item_to_entity (torch.Tensor, optional): Entity of each item (:obj:`-1`: none);
            default: item :obj:`i` is entity :obj:`i` (the library's schema).
        sparse (bool, optional): Sparse gradients for the TransR entity and
            translation tables. (default: :obj:`False`)

    Shapes:
        - **input:** users :math:`(n)`, items :math:`(n)`
        - **output:** :math:`(n)`; :meth:`score_all` :math:`(B, |\mathcal{I}|)`
    """
    def __init__(self, num_users: int, num_items: int, num_entities: int, num_relations: int,
                 embedding_dim: int = 100, relation_dim: Optional[int] = None,
                 margin: float = 1.0, p_norm: float = 1.0,
                 item_to_entity: Optional[Tensor] = None, sparse: bool = False) -> None:
        super().__init__()
        self.num_users = num_users
        self.num_items = num_items
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.embedding_dim = embedding_dim
        self.user_emb = Embedding(num_users, embedding_dim)
        self.item_emb = Embedding(num_items, embedding_dim)
        self.kg = TransR(num_entities, num_relations, embedding_dim, relation_dim, margin, p_norm,
                         sparse=sparse)
        if item_to_entity is None:
            if num_items > num_entities:
                raise ValueError(f'CKE: num_items={num_items} > num_entities={num_entities}; '
                                 'pass item_to_entity')
            item_to_entity = torch.arange(num_items)
        item_to_entity = torch.as_tensor(item_to_entity, dtype=torch.long).view(-1)
        if item_to_entity.numel() != num_items or (
                item_to_entity.numel() and (int(item_to_entity.min()) < -1
                                            or int(item_to_entity.max()) >= num_entities)):
            raise ValueError(f"CKE: 'item_to_entity' needs {num_items} entries in "
                             f'[-1, {num_entities})')
        self.register_buffer('item_to_entity', item_to_entity)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.user_emb.weight)
        torch.nn.init.xavier_uniform_(self.item_emb.weight)
        self.kg.reset_parameters()

    def item_vectors(self, items: Optional[Tensor] = None) -> Tensor:
        r""":math:`\boldsymbol{\eta}_i + \mathbf{e}_i` (all items if :obj:`items` is None)."""
        eta = self.item_emb.weight if items is None else self.item_emb(items)
        ent = self.item_to_entity if items is None else self.item_to_entity[items]
        aligned = (ent >= 0).unsqueeze(-1).to(eta.dtype)
        return eta + aligned * self.kg.entity(ent.clamp(min=0))

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        return (self.user_emb(users) * self.item_vectors(items)).sum(dim=-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_emb(users) @ self.item_vectors().t()

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
             reg_weight: float = 1e-5) -> Tensor:
        r"""BPR plus L2 on the batch's user and item vectors."""
        u, i, j = self.user_emb(users), self.item_vectors(pos_items), self.item_vectors(neg_items)
        return bpr_loss((u * i).sum(-1), (u * j).sum(-1)) + reg_weight * l2_reg(u, i, j)

    def kg_loss(self, head_index: Tensor, rel_type: Tensor, tail_index: Tensor,
                neg_head_index: Optional[Tensor] = None,
                neg_tail_index: Optional[Tensor] = None) -> Tensor:
        r"""TransR margin loss on KG triples (the item regulariser)."""
        return self.kg.loss(head_index, rel_type, tail_index, neg_head_index, neg_tail_index)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'num_entities={self.num_entities}, num_relations={self.num_relations}, '
                f'embedding_dim={self.embedding_dim})')
