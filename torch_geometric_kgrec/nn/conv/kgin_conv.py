r"""The relational path-aware aggregation layer of KGIN."""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import glorot
from torch_geometric.utils import is_torch_sparse_tensor, scatter

from torch_geometric_kgrec.nn.conv.relational_adj import RelationalAdj, typed_edges


class KGINConv(MessagePassing):
    r"""The relational path-aware aggregation layer of KGIN, from the
    `"Learning Intents behind Interactions with Knowledge Graph for Recommendation"
    <https://arxiv.org/abs/2102.07057>`_ paper (Wang et al., WWW 2021).

    Entities aggregate their KG neighbourhood through relation embeddings (eq. 9), users
    aggregate their interacted items through attentive intents (eq. 1-2, 6-7):

    .. math::
        \mathbf{e}_h^{(l+1)} &= \frac{1}{|\mathcal{N}_h|}
        \sum_{(h, r, t) \in \mathcal{N}_h} \mathbf{e}_r \odot \mathbf{e}_t^{(l)}

        \mathbf{e}_p &= \sum_{r \in \mathcal{R}} \alpha(r, p)\, \mathbf{e}_r, \qquad
        \alpha(r, p) = \frac{\exp(w_{rp})}{\sum_{r'} \exp(w_{r'p})}

        \mathbf{e}_u^{(l+1)} &= \frac{1}{|\mathcal{N}_u|} \sum_{p \in \mathcal{P}}
        \beta(u, p) \sum_{i \in \mathcal{N}_u} \mathbf{e}_p \odot \mathbf{e}_i^{(l)},
        \qquad \beta(u, p) = \frac{\exp(\mathbf{e}_p^{\top} \mathbf{e}_u^{(l)})}
        {\sum_{p'} \exp(\mathbf{e}_{p'}^{\top} \mathbf{e}_u^{(l)})}

    As in KGIN, one set of relation embeddings :math:`\mathbf{e}_r` and intent logits
    :math:`w_{rp}` is shared by all hops: apply the same layer :math:`L` times.
    The attention :math:`\beta(u, p)` uses the user's current (layer :math:`l`)
    embedding, as the released code does (the paper writes :math:`\mathbf{e}_u^{(0)}`,
    identical at the first hop).

    Two equivalent code paths compute the entity update: a plain
    :class:`~torch_geometric.nn.conv.MessagePassing` gather-multiply-scatter when
    :obj:`edge_index` is a :obj:`[2, E]` tensor (with :obj:`edge_type`), and a fused
    CSR matmul over (head, relation) pairs when it is a
    :class:`~torch_geometric_kgrec.nn.conv.RelationalAdj` (2-3x faster and without
    :math:`|E| \times d` intermediates; build it once per graph).

    Args:
        channels (int): Size :math:`d` of every embedding.
        num_relations (int): Number of relations :math:`|\mathcal{R}|` (including
            inverse relations if the graph has them).
        num_intents (int, optional): Number of intents :math:`|\mathcal{P}|`.
            (default: :obj:`4`)
        residual (bool, optional): Return :math:`\bar{\mathbf{e}}_{\mathcal{N}_u}
            \odot (1 + \sum_p \beta(u, p)\mathbf{e}_p)`, the residual form of the
            released code, instead of eq. 6. (default: :obj:`False`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          entity features :math:`(|\mathcal{V}|, d)`, user features :math:`(|U|, d)`,
          KG edge indices :math:`(2, |E|)` (head -> tail), a sparse
          :math:`(|\mathcal{V}|, |\mathcal{V}|)` adjacency (rows = heads, values 1; its
          relations in :obj:`edge_type`, one per stored entry: sparse values are edge
          weights, never relation ids) or a :class:`RelationalAdj`,
          edge types :math:`(|E|)`, interactions :math:`(2, |\mathcal{O}^+|)`
          (user, item) or a sparse :math:`(|U|, I)` matrix whose rows already average
          (e.g. :math:`\mathbf{D}_u^{-1}\mathbf{A}`)
        - **output:** entity features :math:`(|\mathcal{V}|, d)`,
          user features :math:`(|U|, d)`
    """
    def __init__(self, channels: int, num_relations: int, num_intents: int = 4,
                 residual: bool = False, **kwargs) -> None:
        kwargs.setdefault('aggr', 'mean')
        kwargs.setdefault('flow', 'target_to_source')  # KG convention: head <- tail
        super().__init__(**kwargs)
        if channels <= 0 or num_relations <= 0 or num_intents <= 0:
            raise ValueError(f"'channels', 'num_relations' and 'num_intents' must be "
                             f"positive (got {channels}, {num_relations}, {num_intents})")
        self.channels = channels
        self.num_relations = num_relations
        self.num_intents = num_intents
        self.residual = residual
        self.relation_emb = Parameter(torch.empty(num_relations, channels))
        self.intent_weight = Parameter(torch.empty(num_intents, num_relations))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.relation_emb)  # xavier_uniform_, as KGIN
        glorot(self.intent_weight)

    def intent_emb(self) -> Tensor:
        r"""The intent embeddings :math:`\mathbf{e}_p = \sum_r \alpha(r, p)
        \mathbf{e}_r` (eq. 1-2), shape :obj:`[num_intents, channels]`."""
        return F.softmax(self.intent_weight, dim=-1) @ self.relation_emb

    def forward(
        self,
        x: Tensor,
        x_user: Tensor,
        edge_index: Union[Tensor, RelationalAdj],
        edge_type: Optional[Tensor],
        user_edge_index: Tensor,
    ) -> Tuple[Tensor, Tensor]:
        r"""Runs one hop; returns the new (entity, user) features."""
        if x.dim() != 2 or x.size(-1) != self.channels:
            raise ValueError(f"'x' must have shape [num_entities, {self.channels}] "
                             f"(got {list(x.shape)})")
        if x_user.dim() != 2 or x_user.size(-1) != self.channels:
            raise ValueError(f"'x_user' must have shape [num_users, {self.channels}] "
                             f"(got {list(x_user.shape)})")
        # Entity update (eq. 9):
        if isinstance(edge_index, RelationalAdj):
            if edge_index.num_relations != self.num_relations:
                raise ValueError(f"the RelationalAdj has {edge_index.num_relations} "
                                 f"relations, the layer {self.num_relations}")
            out = edge_index.propagate(x, self.relation_emb)
        else:
            edge_index, edge_type = typed_edges(edge_index, edge_type,
                                                self.num_relations, 'KGINConv')
            out = self.propagate(edge_index, x=x, edge_type=edge_type,
                                 size=(x.size(0), x.size(0)))

        # User update (eq. 6-7):
        if is_torch_sparse_tensor(user_edge_index):
            items = user_edge_index.size(1)
            if user_edge_index.size(0) != x_user.size(0) or items > x.size(0):
                raise ValueError(f"the interaction matrix must have shape "
                                 f"[{x_user.size(0)}, <= {x.size(0)}] (got "
                                 f"{list(user_edge_index.shape)})")
            item_mean = user_edge_index @ x[:items]
        else:
            if user_edge_index.dim() != 2 or user_edge_index.size(0) != 2:
                raise ValueError(f"'user_edge_index' must have shape [2, N] (got "
                                 f"{list(user_edge_index.shape)})")
            user, item = user_edge_index
            item_mean = scatter(x[item], user, 0, dim_size=x_user.size(0), reduce='mean')
        intent = self.intent_emb()  # [P, d]
        beta = F.softmax(x_user @ intent.t(), dim=-1)  # [U, P]
        out_user = item_mean * (beta @ intent)
        if self.residual:
            out_user = out_user + item_mean
        return out, out_user

    def message(self, x_j: Tensor, edge_type: Tensor) -> Tensor:
        return self.relation_emb[edge_type] * x_j

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, '
                f'num_relations={self.num_relations}, num_intents={self.num_intents})')
