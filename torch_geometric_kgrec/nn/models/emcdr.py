r"""EMCDR, embedding and mapping for cross-domain recommendation (a CDR baseline of
MeKB-Rec)."""
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn import MLP, Linear

from torch_geometric_kgrec.nn.models.base import RecommenderMixin
from torch_geometric_kgrec.nn.models.bprmf import BPRMF


class EMCDR(RecommenderMixin, Module):
    r"""EMCDR (Man et al., IJCAI 2017): latent factors learned per domain (here
    :class:`BPRMF`, EMCDR's BPR variant), then a mapping :math:`f` from source to
    target user factors fitted on the overlapping users with target training data,

    .. math::
        \min_f \sum_{u \in \mathcal{U}_{s} \cap \mathcal{U}_{t}}
        \left\| f(\mathbf{u}^{s}_u) - \mathbf{u}^{t}_u \right\|_2^2,

    :math:`f` linear (:obj:`mapping='linear'`) or an MLP with one hidden layer of
    :math:`2K` units and tanh (:obj:`'mlp'`, EMCDR's non-linear mapping). A **cold**
    user (no target training record, see :meth:`set_warm_users`) is scored with
    :math:`f(\mathbf{u}^{s}_u)`; warm users with their own target factors.

    Args:
        num_users (int), num_source_items (int), num_target_items (int): Sizes.
        embedding_dim (int): :math:`K`. (default: :obj:`64`)
        mapping (str): :obj:`'linear'` or :obj:`'mlp'`. (default: :obj:`'linear'`)
    """
    def __init__(self, num_users: int, num_source_items: int, num_target_items: int,
                 embedding_dim: int = 64, mapping: str = 'linear') -> None:
        super().__init__()
        if mapping not in ('linear', 'mlp'):
            raise ValueError(f"mapping must be 'linear' or 'mlp' (got {mapping!r})")
        self.num_users = num_users
        self.embedding_dim = embedding_dim
        self.mapping_kind = mapping
        self.source = BPRMF(num_users, num_source_items, embedding_dim)
        self.target = BPRMF(num_users, num_target_items, embedding_dim)
        if mapping == 'linear':
            self.mapping = Linear(embedding_dim, embedding_dim)
        else:
            self.mapping = MLP([embedding_dim, 2 * embedding_dim, embedding_dim],
                               act='tanh', norm=None)
        self.register_buffer('warm', torch.ones(num_users, dtype=torch.bool))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.source.reset_parameters()
        self.target.reset_parameters()
        self.mapping.reset_parameters()

    def set_warm_users(self, train_edge_index: Tensor) -> 'EMCDR':
        r"""Marks the users with at least one target-domain training record."""
        self.warm = (torch.bincount(train_edge_index[0], minlength=self.num_users) > 0).to(
            self.warm.device)
        return self

    def mapping_loss(self, users: Tensor) -> Tensor:
        r"""Squared error of the mapped source factors against the (fixed) target
        factors of :obj:`users` (overlapping users with target training data)."""
        us = self.source.user_emb(users).detach()
        ut = self.target.user_emb(users).detach()
        return F.mse_loss(self.mapping(us), ut, reduction='sum') / max(users.numel(), 1)

    def user_embedding(self, users: Tensor) -> Tensor:
        mapped = self.mapping(self.source.user_emb(users))
        own = self.target.user_emb(users)
        return torch.where(self.warm[users].unsqueeze(-1), own, mapped)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_embedding(users) @ self.target.item_emb.weight.t()

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.num_users}, source={self.source.num_items}, '
                f'target={self.target.num_items}, embedding_dim={self.embedding_dim}, '
                f'mapping={self.mapping_kind})')
