r"""An ID-based two-tower retrieval model in the spirit of YoutubeDNN (the
non-cross-domain baseline of MeKB-Rec)."""
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Embedding, Module

from torch_geometric_kgrec.nn.losses import full_softmax_loss
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


class IDDualEncoder(RecommenderMixin, Module):
    r"""User-ID and item-ID embeddings scored by dot product and trained with the same
    full-softmax loss as EmbedMe (eq. 8-9 of MeKB-Rec with :math:`\phi(u)` an ID
    embedding), in the spirit of YoutubeDNN's candidate generation (Covington et al.,
    RecSys 2016; without its history/feature pooling).

    A user without target-domain training data has an untrained ID embedding. The
    **fallback** for such users (:obj:`warm_users` not set for them) is
    :obj:`'mean'` (default): the mean embedding of the warm users, which ranks items by
    an average preference, close to popularity; :obj:`'random'` keeps their (untrained)
    initial embedding, as a plain ID model would.

    Args:
        num_users (int), num_items (int): Sizes.
        embedding_dim (int): :math:`K`. (default: :obj:`256`)
        fallback (str): :obj:`'mean'` or :obj:`'random'`. (default: :obj:`'mean'`)
    """
    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 256,
                 fallback: str = 'mean') -> None:
        super().__init__()
        if fallback not in ('mean', 'random'):
            raise ValueError(f"fallback must be 'mean' or 'random' (got {fallback!r})")
        self.num_users = num_users
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.fallback = fallback
        self.user_emb = Embedding(num_users, embedding_dim)
        self.item_emb = Embedding(num_items, embedding_dim)
        self.register_buffer('warm', torch.ones(num_users, dtype=torch.bool))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = self.embedding_dim**-0.5
        torch.nn.init.normal_(self.user_emb.weight, std=std)
        torch.nn.init.normal_(self.item_emb.weight, std=std)

    def set_warm_users(self, train_edge_index: Tensor) -> 'IDDualEncoder':
        r"""Marks the users with at least one training record."""
        self.warm = torch.bincount(train_edge_index[0], minlength=self.num_users) > 0
        self.warm = self.warm.to(self.user_emb.weight.device)
        return self

    def user_embedding(self, users: Tensor) -> Tensor:
        emb = self.user_emb(users)
        if self.fallback == 'mean' and not self.training:
            cold = ~self.warm[users]
            if bool(cold.any()):
                mean = self.user_emb.weight[self.warm].mean(0)
                emb = torch.where(cold.unsqueeze(-1), mean.expand_as(emb), emb)
        return emb

    def item_embedding(self) -> Tensor:
        return self.item_emb.weight

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        return (self.user_embedding(users) * self.item_emb(items)).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_embedding(users) @ self.item_emb.weight.t()

    def loss(self, users: Tensor, pos_items: Tensor) -> Tensor:
        return full_softmax_loss(self.user_embedding(users), self.item_emb.weight,
                                 pos_items)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.num_users}, {self.num_items}, '
                f'embedding_dim={self.embedding_dim}, fallback={self.fallback})')
