r"""Matrix factorisation trained with BPR, and a popularity baseline."""
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Embedding, Module

from torch_geometric_kgrec.nn.losses import bpr_loss, l2_reg
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


class BPRMF(RecommenderMixin, Module):
    r"""Matrix factorisation with the BPR loss (Rendle et al., UAI 2009), the
    collaborative-filtering baseline of every paper of this library.

    .. math::
        \hat{y}_{ui} = \mathbf{e}_u^{\top} \mathbf{e}_i, \qquad
        \mathcal{L} = \mathcal{L}_{\text{BPR}} + \lambda \frac{1}{2|B|}
        \left(\|\mathbf{e}_u\|^2 + \|\mathbf{e}_i\|^2 + \|\mathbf{e}_j\|^2\right)

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        embedding_dim (int, optional): Embedding size. (default: :obj:`64`)
    """
    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64) -> None:
        super().__init__()
        self.num_users = num_users
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.user_emb = Embedding(num_users, embedding_dim)
        self.item_emb = Embedding(num_items, embedding_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.user_emb.weight)
        torch.nn.init.xavier_uniform_(self.item_emb.weight)

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Scores of the (user, item) pairs, shape :obj:`[n]`."""
        return (self.user_emb(users) * self.item_emb(items)).sum(dim=-1)

    def score_all(self, users: Tensor) -> Tensor:
        r"""Scores of :obj:`users` against every item, shape :obj:`[B, num_items]`."""
        return self.user_emb(users) @ self.item_emb.weight.t()

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
             reg_weight: float = 1e-5) -> Tensor:
        r"""BPR loss plus L2 on the batch embeddings."""
        u, i, j = self.user_emb(users), self.item_emb(pos_items), self.item_emb(neg_items)
        loss = bpr_loss((u * i).sum(-1), (u * j).sum(-1))
        return loss + reg_weight * l2_reg(u, i, j)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'embedding_dim={self.embedding_dim})')


class Popularity(RecommenderMixin, Module):
    r"""Most-popular baseline: an item's score is its number of training interactions.

    Args:
        num_items (int): Number of items.
        train_edge_index (torch.Tensor, optional): Training (user, item) pairs
            :obj:`[2, n]`; counts are taken from training data only.
    """
    def __init__(self, num_items: int, train_edge_index: Optional[Tensor] = None) -> None:
        super().__init__()
        self.num_items = num_items
        self.register_buffer('count', torch.zeros(num_items))
        if train_edge_index is not None:
            self.fit(train_edge_index)

    def reset_parameters(self) -> None:
        self.count.zero_()

    def fit(self, train_edge_index: Tensor) -> 'Popularity':
        self.count = torch.bincount(train_edge_index[1], minlength=self.num_items).float()
        return self

    def score_all(self, users: Tensor) -> Tensor:
        return self.count.unsqueeze(0).expand(users.numel(), -1)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.num_items})'
