r"""Meta-preference user modelling of KMPN (CKMPN eq. 3-6)."""
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import glorot
from torch_geometric.utils import is_sparse, spmm

from torch_geometric_kgrec.nn.conv.relational_adj import csr_tensor
from torch_geometric_kgrec.nn.index_checks import index_out_of_range


def mean_interaction_matrix(edge_index: Tensor, num_users: int, num_items: int,
                            dropout: float = 0.0, dtype: torch.dtype = torch.float,
                            training: bool = True) -> Tensor:
    r"""The row-normalised user-item matrix :math:`\mathbf{D}_u^{-1}\mathbf{A}` as a CSR
    tensor :obj:`[num_users, num_items]` from (user, item) pairs :obj:`[2, N]`.
    With :obj:`dropout` (the node dropout of KGIN/KMPN, applied when
    :obj:`training`), entries are dropped with that probability and the kept ones
    scaled by :math:`1/(1-p)`, as the released ``_sparse_dropout`` does."""
    user, item = edge_index
    if user.numel() > 1 and bool((user[1:] < user[:-1]).any()):
        perm = torch.argsort(user, stable=True)
        user, item = user[perm], item[perm]
    deg = torch.bincount(user, minlength=num_users).clamp(min=1)
    value = deg[user].to(dtype).reciprocal()
    if training and dropout > 0:
        keep = torch.rand(user.numel(), device=user.device) >= dropout
        idx = keep.nonzero().view(-1)  # one nonzero for the three tensors
        user, item = user.index_select(0, idx), item.index_select(0, idx)
        value = value.index_select(0, idx) / (1.0 - dropout)
    crow = torch.zeros(num_users + 1, dtype=torch.long, device=user.device)
    torch.cumsum(torch.bincount(user, minlength=num_users), 0, out=crow[1:])
    return csr_tensor(crow, item, value, (num_users, num_items))


class MetaPreference(MessagePassing):
    r"""Meta-preference user modelling from the `"Transformer-Empowered Content-Aware
    Collaborative Filtering" <https://arxiv.org/abs/2204.00849>`_ paper (KMPN, Lin et
    al., eq. 3-6). Each of the :math:`N_p` preferences is a softmax-weighted mixture of
    :math:`N_m` trainable meta-preference embeddings shared by all users, and a user
    aggregates the embeddings of its interacted items through its preferences:

    .. math::
        \mathbf{e}_p = \sum_{m \in \mathcal{M}} \beta_{pm}\, \mathbf{e}_m, \quad
        \beta_{pm} = \frac{\exp(\bar{\beta}_{pm})}{\sum_{m'} \exp(\bar{\beta}_{pm'})}
        \quad \text{(3-4)}

        \mathbf{e}_u^{(l)} = \sum_{p \in \mathcal{P}} \alpha_p
        \sum_{(u, i) \in \mathcal{P}^+} \mathbf{e}_i^{(l)} \odot \mathbf{e}_p, \quad
        \alpha_p = \frac{\exp(\mathbf{e}_p^{\top}\mathbf{e}_u)}
        {\sum_{p'} \exp(\mathbf{e}_{p'}^{\top}\mathbf{e}_u)} \quad \text{(5-6)}

    Because :math:`\mathbf{e}_p` does not depend on the item, eq. 5 is computed as
    :math:`(\sum_i \mathbf{e}_i) \odot (\sum_p \alpha_p \mathbf{e}_p)`: one aggregation
    over the interactions and an :math:`N_u \times N_p` attention.
    The attention uses the user embedding passed to :meth:`forward` (KMPN passes the
    current layer's, as its released code does).

    Args:
        channels (int): Embedding size :math:`h`.
        num_preferences (int, optional): :math:`N_p`. (default: :obj:`4`)
        num_meta_preferences (int, optional): :math:`N_m`. (default: :obj:`64`)
        aggr (str, optional): :obj:`"sum"` over the interacted items as in eq. 5, or
            :obj:`"mean"` as the released code (KGIN's normalised interaction matrix).
            Ignored when a weighted sparse interaction matrix is passed.
            (default: :obj:`"sum"`)
        residual (bool, optional): Return :math:`\mathbf{a}_u \odot (1 + \sum_p
            \alpha_p \mathbf{e}_p)` instead of :math:`\mathbf{a}_u \odot \sum_p
            \alpha_p \mathbf{e}_p` (:math:`\mathbf{a}_u` the item aggregate), as the
            released KGIN/KMPN code does. (default: :obj:`False`)

    Shapes:
        - **input:**
          item (entity) features :math:`(|\mathcal{V}|, h)` (items are rows
          :math:`0 .. I-1`), user features :math:`(|U|, h)`,
          interactions :math:`(2, |\mathcal{P}^+|)` as (user, item) or a sparse
          :math:`(|U|, I)` matrix (its values weight the items)
        - **output:** user features :math:`(|U|, h)`
    """
    def __init__(self, channels: int, num_preferences: int = 4,
                 num_meta_preferences: int = 64, aggr: str = 'sum',
                 residual: bool = False) -> None:
        if aggr not in ('sum', 'mean'):
            raise ValueError(f"'aggr' must be 'sum' or 'mean' (got {aggr!r})")
        super().__init__(aggr=aggr)
        if min(channels, num_preferences, num_meta_preferences) <= 0:
            raise ValueError(f"'channels', 'num_preferences' and 'num_meta_preferences' "
                             f"must be positive (got {channels}, {num_preferences}, "
                             f"{num_meta_preferences})")
        self.channels = channels
        self.num_preferences = num_preferences
        self.num_meta_preferences = num_meta_preferences
        self.residual = residual
        self.meta_preference_emb = Parameter(torch.empty(num_meta_preferences, channels))
        self.preference_logits = Parameter(torch.empty(num_preferences,
                                                       num_meta_preferences))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.meta_preference_emb)  # xavier_uniform_, as the released code
        glorot(self.preference_logits)

    def preference_weights(self) -> Tensor:
        r"""The mixture weights :math:`\beta_{pm}` (eq. 4), :obj:`[N_p, N_m]`."""
        return F.softmax(self.preference_logits, dim=-1)

    def preference_emb(self) -> Tensor:
        r"""The preference embeddings :math:`\mathbf{e}_p` (eq. 3), :obj:`[N_p, h]`."""
        return self.preference_weights() @ self.meta_preference_emb

    def attention(self, x_user: Tensor) -> Tensor:
        r"""The attention :math:`\alpha_p` of every user (eq. 6), :obj:`[U, N_p]`."""
        return F.softmax(x_user @ self.preference_emb().t(), dim=-1)

    def forward(self, x: Tensor, x_user: Tensor, edge_index: Union[Tensor, object]
                ) -> Tensor:
        r"""Runs eq. 5 for every user."""
        for name, t in (('x', x), ('x_user', x_user)):
            if t.dim() != 2 or t.size(-1) != self.channels:
                raise ValueError(f"'{name}' must have shape [*, {self.channels}] "
                                 f"(got {list(t.shape)})")
        num_users = x_user.size(0)
        if is_sparse(edge_index):
            if edge_index.size(0) != num_users or edge_index.size(1) > x.size(0):
                raise ValueError(f"the interaction matrix must have shape [{num_users}, "
                                 f"<= {x.size(0)}] (got {list(edge_index.shape)})")
            agg = spmm(edge_index, x[:edge_index.size(1)], reduce='sum')
        else:
            if edge_index.dim() != 2 or edge_index.size(0) != 2:
                raise ValueError(f"'edge_index' must have shape [2, N] of (user, item) "
                                 f"pairs (got {list(edge_index.shape)})")
            if (index_out_of_range(edge_index[0], num_users) or
                    index_out_of_range(edge_index[1], x.size(0))):
                raise ValueError(f"'edge_index' must hold users in [0, {num_users}) and "
                                 f"items in [0, {x.size(0)})")
            # items -> users (source_to_target flow on the flipped (item, user) edges)
            agg = self.propagate(edge_index.flip(0), x=x, size=(x.size(0), num_users))
        pref = self.attention(x_user) @ self.preference_emb()  # sum_p alpha_p e_p
        return agg * pref + agg if self.residual else agg * pref

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, '
                f'num_preferences={self.num_preferences}, '
                f'num_meta_preferences={self.num_meta_preferences})')


__all__ = ['MetaPreference', 'mean_interaction_matrix']
