r"""KGIN: Knowledge Graph-based Intent Network (Wang et al., WWW 2021)."""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Dropout, Embedding, Module

from torch_geometric_kgrec.nn.conv.gated_path_conv import add_inverse_relations
from torch_geometric_kgrec.nn.conv.kgin_conv import KGINConv
from torch_geometric_kgrec.nn.conv.relational_adj import RelationalAdj
from torch_geometric_kgrec.nn.meta_preference import mean_interaction_matrix
from torch_geometric_kgrec.nn.dcorr import distance_correlation_loss
from torch_geometric_kgrec.nn.losses import bpr_loss, l2_reg
from torch_geometric_kgrec.nn.models.base import RecommenderMixin
from torch_geometric_kgrec.nn.models.propagation_cache import PropagationCacheMixin
from torch_geometric_kgrec.nn.readout import layer_sum


def check_kg_inputs(num_users: int, num_entities: int, num_items: int,
                    num_relations: int, edge_index: Tensor, edge_type: Tensor,
                    train_edge_index: Tensor) -> None:
    r"""Validates the inputs shared by the KG recommenders' constructors (KGIN, KGAT):
    clear :class:`ValueError` messages instead of deep indexing errors."""
    if min(num_users, num_entities, num_items, num_relations) <= 0:
        raise ValueError(f"num_users, num_entities, num_items and num_relations must be "
                         f"positive (got {num_users}, {num_entities}, {num_items}, "
                         f"{num_relations})")
    if num_items > num_entities:
        raise ValueError(f"items are the entities 0..num_items-1, so num_items "
                         f"({num_items}) cannot exceed num_entities ({num_entities})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"KG 'edge_index' must have shape [2, T] (got "
                         f"{list(edge_index.shape)})")
    if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
        raise ValueError(f"'edge_type' must have shape [{edge_index.size(1)}] (got "
                         f"{list(edge_type.shape)})")
    if edge_index.numel() and (int(edge_index.min()) < 0 or
                               int(edge_index.max()) >= num_entities):
        raise ValueError(f"KG 'edge_index' holds entities outside [0, {num_entities})")
    if edge_type.numel() and (int(edge_type.min()) < 0 or
                              int(edge_type.max()) >= num_relations):
        raise ValueError(f"'edge_type' holds relations outside [0, {num_relations})")
    if train_edge_index.dim() != 2 or train_edge_index.size(0) != 2:
        raise ValueError(f"'train_edge_index' must have shape [2, N] (user, item) (got "
                         f"{list(train_edge_index.shape)})")
    if train_edge_index.numel():
        u, i = train_edge_index
        if int(u.min()) < 0 or int(u.max()) >= num_users:
            raise ValueError(f"'train_edge_index' holds users outside [0, {num_users})")
        if int(i.min()) < 0 or int(i.max()) >= num_items:
            raise ValueError(f"'train_edge_index' holds items outside [0, {num_items})")


class KGIN(PropagationCacheMixin, RecommenderMixin, Module):
    r"""The Knowledge Graph-based Intent Network from the `"Learning Intents behind
    Interactions with Knowledge Graph for Recommendation"
    <https://arxiv.org/abs/2102.07057>`_ paper (Wang et al., WWW 2021).

    :math:`L` hops of :class:`~torch_geometric_kgrec.nn.conv.KGINConv` (one set of
    relation and intent parameters shared by all hops), each followed by message
    dropout and L2 normalisation, a layer-sum readout (eq. 11), the inner-product score
    (eq. 12) and the loss (eq. 13-14):

    .. math::
        \mathbf{e}^*_u = \sum_{l=0}^{L} \mathbf{e}_u^{(l)}, \quad
        \mathbf{e}^*_i = \sum_{l=0}^{L} \mathbf{e}_i^{(l)}, \quad
        \hat{y}_{ui} = {\mathbf{e}^*_u}^{\top} \mathbf{e}^*_i, \quad
        \mathcal{L} = \mathcal{L}_{\text{BPR}}
        + \lambda_1 \tfrac{1}{2|B|}\|\Theta_B\|_2^2
        + \lambda_2 \sum_{p < p'} \mathrm{dCor}(\cdot_p, \cdot_{p'})

    The uniform interface of the KG recommenders of this library::

        model = KGIN(num_users, num_entities, num_items, num_relations,
                     kg_edge_index, kg_edge_type, train_edge_index, **hparams)
        loss = model.loss(users, pos_items, neg_items)   # one BPR batch, full graph
        scores = model.score_all(users)                   # [B, num_items]

    Train with Adam (KGIN's released config: :obj:`lr=1e-4`, batch size 1024); each
    :meth:`loss` call propagates over the whole graph, as KGIN does.

    Differences from the released code, kept on purpose: intent attention
    :math:`\beta(u, p)` uses the intents :math:`\mathbf{e}_p` as in the paper (the code
    uses a separate latent embedding), the user update has no residual
    :math:`+\,\bar{\mathbf{e}}_{\mathcal{N}_u}` term by default (paper eq. 6;
    :obj:`user_residual=True` restores it), and node dropout
    keeps every KG triple independently with probability :math:`1 - p` (the code
    draws exactly :math:`\lfloor p|E| \rfloor` triples, the same at :math:`p = 0.5`).

    Args:
        num_users (int): Number of users.
        num_entities (int): Number of KG entities (items are entities
            :obj:`0 .. num_items - 1`).
        num_items (int): Number of items.
        num_relations (int): Number of KG relations :math:`|\mathcal{R}|` (before
            inverses).
        edge_index (torch.Tensor): KG triples' heads and tails :obj:`[2, T]`.
        edge_type (torch.Tensor): KG triples' relations :obj:`[T]`.
        train_edge_index (torch.Tensor): Training interactions (user, item)
            :obj:`[2, N]` (never validation/test ones).
        embedding_dim (int, optional): :math:`d`. (default: :obj:`64`)
        num_layers (int, optional): Number of hops :math:`L`. (default: :obj:`3`)
        num_intents (int, optional): Number of intents. (default: :obj:`4`)
        add_inverse (bool, optional): Add inverse relations :math:`r + |\mathcal{R}|`
            (KGIN's data loader does). (default: :obj:`True`)
        node_dropout (float, optional): Probability of dropping a KG triple and a
            training interaction from the graph at every training step.
            (default: :obj:`0.5`)
        message_dropout (float, optional): Dropout on every hop's outputs.
            (default: :obj:`0.1`)
        reg_weight (float, optional): :math:`\lambda_1` (KGIN's :obj:`l2`).
            (default: :obj:`1e-5`)
        ind_weight (float, optional): :math:`\lambda_2` (KGIN's :obj:`sim_regularity`).
            (default: :obj:`1e-4`)
        independence (str, optional): :obj:`"distance"` (distance correlation, via
            :func:`~torch_geometric_kgrec.nn.dcorr.distance_correlation_loss`),
            :obj:`"cosine"` (sum of squared cosine similarities) or :obj:`"none"`.
            (default: :obj:`"distance"`)
        independence_on (str, optional): What is made independent: :obj:`"weight"`,
            the rows of the intent logits :math:`w_{\cdot p} \in
            \mathbb{R}^{|\mathcal{R}|}` (released code), or :obj:`"intent"`, the
            intent embeddings :math:`\mathbf{e}_p` (paper, eq. 4). (default:
            :obj:`"weight"`)
        user_residual (bool, optional): Use the released code's residual user update
            (see :class:`~torch_geometric_kgrec.nn.conv.KGINConv`).
            (default: :obj:`False`)
    """
    def __init__(
        self,
        num_users: int,
        num_entities: int,
        num_items: int,
        num_relations: int,
        edge_index: Tensor,
        edge_type: Tensor,
        train_edge_index: Tensor,
        embedding_dim: int = 64,
        num_layers: int = 3,
        num_intents: int = 4,
        add_inverse: bool = True,
        node_dropout: float = 0.5,
        message_dropout: float = 0.1,
        reg_weight: float = 1e-5,
        ind_weight: float = 1e-4,
        independence: str = 'distance',
        independence_on: str = 'weight',
        user_residual: bool = False,
    ) -> None:
        super().__init__()
        check_kg_inputs(num_users, num_entities, num_items, num_relations, edge_index,
                        edge_type, train_edge_index)
        if independence not in ('distance', 'cosine', 'none'):
            raise ValueError(f"independence must be 'distance', 'cosine' or 'none' "
                             f"(got {independence!r})")
        if independence_on not in ('weight', 'intent'):
            raise ValueError(f"independence_on must be 'weight' or 'intent' "
                             f"(got {independence_on!r})")
        if not 0.0 <= node_dropout < 1.0 or not 0.0 <= message_dropout < 1.0:
            raise ValueError(f"dropout probabilities must lie in [0, 1) (got "
                             f"{node_dropout}, {message_dropout})")
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0 (got {num_layers})")
        self.num_users, self.num_entities = num_users, num_entities
        self.num_items, self.num_relations = num_items, num_relations
        self.embedding_dim, self.num_layers = embedding_dim, num_layers
        self.num_intents, self.add_inverse = num_intents, add_inverse
        self.node_dropout, self.message_dropout = node_dropout, message_dropout
        self.reg_weight, self.ind_weight = reg_weight, ind_weight
        self.independence, self.independence_on = independence, independence_on

        edge_index, edge_type = edge_index.long(), edge_type.long()
        num_conv_relations = num_relations
        if add_inverse:
            edge_index, edge_type = add_inverse_relations(edge_index, edge_type,
                                                          num_relations)
            num_conv_relations = 2 * num_relations
        self.kg_adj = RelationalAdj.from_edge_index(edge_index, edge_type, num_entities,
                                                    num_conv_relations)
        self.kg_adj.perm = None  # not needed: saves memory
        user, item = train_edge_index.long()
        perm = torch.argsort(user * num_items + item)
        self.register_buffer('inter_user', user[perm], persistent=False)
        self.register_buffer('inter_item', item[perm], persistent=False)

        self.user_emb = Embedding(num_users, embedding_dim)
        self.entity_emb = Embedding(num_entities, embedding_dim)
        self.conv = KGINConv(embedding_dim, num_conv_relations, num_intents,
                             residual=user_residual)
        self.dropout = Dropout(message_dropout)
        self.last_losses: Dict[str, Tensor] = {}  # detached terms of the last loss()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.user_emb.weight)
        torch.nn.init.xavier_uniform_(self.entity_emb.weight)
        self.conv.reset_parameters()

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.kg_adj = self.kg_adj.apply(fn)  # keep the graph on the module's device
        return self

    def interaction_matrix(self, dropout: float = 0.0) -> Tensor:
        r"""The row-normalised :math:`\mathbf{D}_u^{-1}\mathbf{A}` user-item matrix
        (CSR, :obj:`[num_users, num_items]`); with :obj:`dropout`, entries are dropped
        with that probability and the kept ones scaled by :math:`1/(1-p)` (KGIN's
        sparse dropout of the interaction matrix)."""
        return mean_interaction_matrix(torch.stack([self.inter_user, self.inter_item]),
                                       self.num_users, self.num_items, dropout=dropout,
                                       dtype=self.user_emb.weight.dtype)

    def propagate(self) -> Tuple[Tensor, Tensor]:
        r"""Final user :obj:`[num_users, d]` and entity :obj:`[num_entities, d]`
        embeddings (eq. 11); node and message dropout are active in training mode."""
        node_dropout = self.node_dropout if self.training else 0.0
        adj = self.kg_adj.sample(node_dropout) if node_dropout > 0 else self.kg_adj
        inter = self.interaction_matrix(node_dropout)
        x, x_user = self.entity_emb.weight, self.user_emb.weight
        xs, xs_user = [x], [x_user]
        for _ in range(self.num_layers):
            x, x_user = self.conv(x, x_user, adj, None, inter)
            x = F.normalize(self.dropout(x), dim=-1)
            x_user = F.normalize(self.dropout(x_user), dim=-1)
            xs.append(x)
            xs_user.append(x_user)
        return layer_sum(xs_user), layer_sum(xs)

    def forward(self) -> Tuple[Tensor, Tensor]:
        r"""Same as :meth:`propagate` (memoised in evaluation mode)."""
        return self.cached(self.propagate)

    def independence_loss(self) -> Tensor:
        r"""Independence of the intents (eq. 3-4): the sum over intent pairs of their
        distance correlation (or squared cosine similarity)."""
        x = (self.conv.intent_weight if self.independence_on == 'weight' else
             self.conv.intent_emb())
        if self.independence == 'distance':
            return distance_correlation_loss(x)
        if self.independence == 'cosine':
            x = F.normalize(x, dim=-1)
            return torch.triu((x @ x.t()).pow(2), diagonal=1).sum()
        return x.new_zeros(())

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        r"""BPR + :math:`\lambda_1` L2 on the batch's final embeddings +
        :math:`\lambda_2` independence loss (eq. 14); propagates the whole graph.
        :obj:`neg_items` is :obj:`[B]` or :obj:`[B, N]` (N negatives per positive)."""
        user_out, entity_out = self.propagate()
        u, i, j = user_out[users], entity_out[pos_items], entity_out[neg_items]
        rec = bpr_loss((u * i).sum(-1), (u.unsqueeze(-2) * j).sum(-1) if j.dim() == 3
                       else (u * j).sum(-1))
        reg = l2_reg(u, i, j, batch_size=users.numel())
        ind = self.independence_loss() if self.ind_weight > 0 else u.new_zeros(())
        self.last_losses = {'bpr': rec.detach(), 'l2': reg.detach(), 'ind': ind.detach()}
        return rec + self.reg_weight * reg + self.ind_weight * ind

    def score_all(self, users: Tensor) -> Tensor:
        r"""Scores :math:`\hat{y}_{ui}` of :obj:`users` against every item,
        :obj:`[B, num_items]` (full-graph propagation, cached in eval mode)."""
        user_out, entity_out = self()
        return user_out[users] @ entity_out[:self.num_items].t()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_entities}, '
                f'num_items={self.num_items}, num_relations={self.num_relations}, '
                f'embedding_dim={self.embedding_dim}, num_layers={self.num_layers}, '
                f'num_intents={self.num_intents})')
