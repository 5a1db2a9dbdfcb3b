r"""KMPN: the KG-enhanced meta-preference network (CKMPN Sec. 3.2)."""
from typing import Dict, Optional, Tuple, Union

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Module, ModuleList, Parameter
from torch_geometric.nn.inits import glorot

from torch_geometric_kgrec.nn.conv.gated_path_conv import (GatedPathConv,
                                                           add_inverse_relations)
from torch_geometric_kgrec.nn.conv.relational_adj import RelationalAdj
from torch_geometric_kgrec.nn.dcorr import (SOFT_DCORR_VARIANTS,
                                            soft_distance_correlation_loss)
from torch_geometric_kgrec.nn.losses import bpr_loss, l2_reg
from torch_geometric_kgrec.nn.meta_preference import MetaPreference, mean_interaction_matrix
from torch_geometric_kgrec.nn.models.base import RecommenderMixin
from torch_geometric_kgrec.nn.models.propagation_cache import PropagationCacheMixin
from torch_geometric_kgrec.nn.readout import layer_sum


class KMPN(PropagationCacheMixin, RecommenderMixin, Module):
    r"""The KG-enhanced Meta-Preference Network from the `"Transformer-Empowered
    Content-Aware Collaborative Filtering" <https://arxiv.org/abs/2204.00849>`_ paper
    (Lin et al., Sec. 3.2), built on KGIN (Wang et al., WWW 2021).

    Entities propagate over the KG (with inverse relations) through :math:`L`
    :class:`~torch_geometric_kgrec.nn.conv.GatedPathConv` hops (eq. 1-2); users
    aggregate their training items through :class:`MetaPreference` (eq. 3-6); both
    are read out with the layer sum :math:`\mathbf{e}^{L} = \sum_{l=0}^{L}
    \mathbf{e}^{(l)}`; the score is :math:`\hat{y}_{ui} = \mathbf{e}_u^{L\top}
    \mathbf{e}_i^{L}` and the loss (eq. 10-11) is

    .. math::
        \mathcal{L} = \mathcal{L}_{\text{BPR}} + \lambda_1 \frac{1}{2|B|}
        \|\Theta\|_2^2 + \lambda_2 \mathcal{L}_{\text{SoftDCorr}},

    with :math:`\Theta` the batch's final user/item embeddings and the soft distance
    correlation (eq. 7-8) of the preference embeddings :math:`\mathbf{e}_p`.
    Reciprocal-ratio negatives (eq. 9) come from
    :class:`~torch_geometric_kgrec.protocols.ReciprocalRatioNegativeSampler`.

    Like the released code (KGIN's), every hop's outputs go through message dropout
    and L2 normalisation before the layer sum, relation embeddings and
    (meta-)preferences are shared by all hops, the user attention uses the current
    hop's user embedding, users average their items (:math:`\mathbf{D}_u^{-1}\mathbf{A}`;
    eq. 5 sums, a per-user scale that the normalisation removes), and node dropout
    drops KG triples and interactions (kept interactions scaled by :math:`1/(1-p)`).

    Args:
        num_users (int): Number of users.
        num_entities (int): Number of KG entities (items are entities
            :obj:`0 .. num_items - 1`).
        num_items (int): Number of items.
        num_relations (int): Number of KG relations :math:`R` (inverse relations
            :math:`r + R` are added by the model).
        kg_edge_index (torch.Tensor): KG triples, :obj:`[2, T]` head -> tail.
        kg_edge_type (torch.Tensor): Relation of every triple, :obj:`[T]`.
        interaction_edge_index (torch.Tensor): **Training** (user, item) pairs
            :obj:`[2, N]`: the graph the users aggregate over.
        embedding_dim (int, optional): :math:`h`. (default: :obj:`64`)
        num_layers (int, optional): Hops :math:`L`. (default: :obj:`3`)
        num_preferences (int, optional): :math:`N_p`. (default: :obj:`4`)
        num_meta_preferences (int, optional): :math:`N_m`. (default: :obj:`64`)
        dcorr_eps (float, optional): Ratio :math:`\epsilon` of principal components
            kept by the soft distance correlation (:obj:`1.0` = standard DCorr).
            (default: :obj:`0.5`)
        dcorr_weight (float, optional): :math:`\lambda_2`; :obj:`0` disables the
            loss. (default: :obj:`1e-4`)
        l2_weight (float, optional): :math:`\lambda_1`. (default: :obj:`1e-5`)
        node_dropout (float, optional): Probability to drop a KG triple / a training
            interaction in each training forward pass. (default: :obj:`0.5`)
        message_dropout (float, optional): Dropout on every hop's outputs.
            (default: :obj:`0.1`)
        dcorr_target (str, optional): :obj:`"preference"` (the preference
            embeddings :math:`\mathbf{e}_p`, eq. 7) or :obj:`"logits"` (the mixture
            logits :math:`\bar{\beta}_{pm}`, what the released code decorrelates).
            (default: :obj:`"preference"`)
        user_residual (bool, optional): See :class:`MetaPreference`; the released
            code uses the residual form. (default: :obj:`True`)
        dcorr_variant (str, optional): Reading of the soft DCorr's PCA (see
            :func:`~torch_geometric_kgrec.nn.dcorr.soft_distance_correlation_loss`):
            :obj:`"subspace"` (PCA fitted on the :math:`N_m` meta-preference
            embeddings, the preferences decorrelated in its
            :math:`\lceil \epsilon h \rceil` leading axes), :obj:`"paper"` (PCA over
            the :math:`N_p` preferences, eq. 7 literally) or :obj:`"released"` (the
            authors' ``PCA_svd``). The default is :obj:`"subspace"` because it is the
            reading in which :math:`\epsilon` does what Sec. 5.3.3 says (sets how many
            of the :math:`h` dimensions are constrained); with the paper's
            :math:`N_p = 4`, the other two give the same loss for every
            :math:`\epsilon \in (0.03, 1)` (:math:`N_p` points have at most
            :math:`N_p - 1` principal components; a warning says so). Needs
            :obj:`dcorr_target="preference"` and :math:`\lceil \epsilon h \rceil <
            N_m`. (default: :obj:`"subspace"`)
    """
    def __init__(
        self,
        num_users: int,
        num_entities: int,
        num_items: int,
        num_relations: int,
        kg_edge_index: Tensor,
        kg_edge_type: Tensor,
        interaction_edge_index: Tensor,
        embedding_dim: int = 64,
        num_layers: int = 3,
        num_preferences: int = 4,
        num_meta_preferences: int = 64,
        dcorr_eps: float = 0.5,
        dcorr_weight: float = 1e-4,
        l2_weight: float = 1e-5,
        node_dropout: float = 0.5,
        message_dropout: float = 0.1,
        dcorr_target: str = 'preference',
        user_residual: bool = True,
        dcorr_variant: str = 'subspace',
    ) -> None:
        super().__init__()
        if num_items > num_entities:
            raise ValueError(f"items are entities, so 'num_items' ({num_items}) cannot "
                             f"exceed 'num_entities' ({num_entities})")
        if not 0.0 <= node_dropout < 1.0 or not 0.0 <= message_dropout < 1.0:
            raise ValueError(f"dropout rates must lie in [0, 1) (got {node_dropout}, "
                             f"{message_dropout})")
        if dcorr_target not in ('preference', 'logits'):
            raise ValueError(f"'dcorr_target' must be 'preference' or 'logits' "
                             f"(got {dcorr_target!r})")
        if not 0.0 <= dcorr_eps <= 1.0:
            raise ValueError(f"'dcorr_eps' must lie in [0, 1] (got {dcorr_eps})")
        if dcorr_variant not in SOFT_DCORR_VARIANTS:
            raise ValueError(f"'dcorr_variant' must be one of {SOFT_DCORR_VARIANTS} "
                             f"(got {dcorr_variant!r})")
        h = num_meta_preferences if dcorr_target == 'logits' else embedding_dim
        k = math.ceil(dcorr_eps * h - 1e-9)
        if 0 < k < h and dcorr_weight > 0:
            if dcorr_variant == 'subspace' and dcorr_target == 'logits':
                raise ValueError("dcorr_variant='subspace' projects the preference "
                                 "embeddings; use dcorr_target='preference' (or the "
                                 "'paper'/'released' variant for the logits)")
            if dcorr_variant == 'subspace' and k >= num_meta_preferences:
                raise ValueError(f"dcorr_variant='subspace' keeps ceil(eps * h) = {k} "
                                 f"principal axes of the {num_meta_preferences} "
                                 f"meta-preference embeddings, which have at most "
                                 f"{num_meta_preferences - 1}; lower 'dcorr_eps'")
            if dcorr_variant != 'subspace' and k >= num_preferences - 1:
                warnings.warn(f"KMPN: with dcorr_variant={dcorr_variant!r} and "
                              f"num_preferences={num_preferences}, ceil(eps * h) = {k} >= "
                              f"{num_preferences - 1} makes dcorr_eps={dcorr_eps} "
                              f"meaningless (PCA of {num_preferences} vectors has at most "
                              f"{num_preferences - 1} informative components)", UserWarning,
                              stacklevel=2)
        self.num_users = num_users
        self.num_entities = num_entities
        self.num_items = num_items
        self.num_relations = num_relations
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.dcorr_eps = dcorr_eps
        self.dcorr_weight = dcorr_weight
        self.l2_weight = l2_weight
        self.node_dropout = node_dropout
        self.message_dropout = message_dropout
        self.dcorr_target = dcorr_target
        self.dcorr_variant = dcorr_variant

        ei, et = add_inverse_relations(kg_edge_index.long(), kg_edge_type.long(),
                                       num_relations)
        if ei.numel() > 0 and int(ei.max()) >= num_entities:
            raise ValueError(f"'kg_edge_index' holds entities outside [0, {num_entities})")
        ui = interaction_edge_index.long()
        if ui.dim() != 2 or ui.size(0) != 2:
            raise ValueError(f"'interaction_edge_index' must have shape [2, N] (got "
                             f"{list(ui.shape)})")
        if ui.numel() > 0 and (int(ui[0].max()) >= num_users or
                               int(ui[1].max()) >= num_items or int(ui.min()) < 0):
            raise ValueError(f"'interaction_edge_index' must hold users in "
                             f"[0, {num_users}) and items in [0, {num_items})")
        self.register_buffer('kg_edge_index', ei, persistent=False)
        self.register_buffer('kg_edge_type', et, persistent=False)
        self.register_buffer('interaction_edge_index', ui, persistent=False)
        self._adj: Optional[RelationalAdj] = None

        self.user_emb = Embedding(num_users, embedding_dim)
        self.entity_emb = Embedding(num_entities, embedding_dim)
        self.relation_emb = Parameter(torch.empty(2 * num_relations, embedding_dim))
        self.convs = ModuleList([GatedPathConv(embedding_dim) for _ in range(num_layers)])
        # the mean over the items is in the values of the D^-1 A interaction matrix
        self.user_model = MetaPreference(embedding_dim, num_preferences,
                                         num_meta_preferences, residual=user_residual)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot(self.user_emb.weight)  # xavier_uniform_, as the released code
        glorot(self.entity_emb.weight)
        glorot(self.relation_emb)
        for conv in self.convs:
            conv.reset_parameters()
        self.user_model.reset_parameters()

    def relational_adj(self) -> RelationalAdj:
        r"""The KG (with inverse relations) grouped by (head, relation), built once per
        device."""
        dev = self.kg_edge_index.device
        if self._adj is None or self._adj.head.device != dev:
            self._adj = RelationalAdj.from_edge_index(self.kg_edge_index, self.kg_edge_type,
                                                      self.num_entities,
                                                      2 * self.num_relations)
        return self._adj

    def forward(self) -> Tuple[Tensor, Tensor]:
        r"""Final (layer-summed) user and entity embeddings, :obj:`[U, h]` and
        :obj:`[|V|, h]`. Node and message dropout apply in training mode."""
        adj = self.relational_adj()
        if self.training and self.node_dropout > 0:
            adj = adj.sample(self.node_dropout)
        x, x_user = self.entity_emb.weight, self.user_emb.weight
        ui = mean_interaction_matrix(self.interaction_edge_index, self.num_users,
                                     self.num_items, self.node_dropout, x.dtype,
                                     self.training)
        xs, us = [x], [x_user]
        for conv in self.convs:
            x_new = conv(x, adj, relation_emb=self.relation_emb)
            u_new = self.user_model(x, x_user, ui)
            x_new = F.dropout(x_new, self.message_dropout, self.training)
            u_new = F.dropout(u_new, self.message_dropout, self.training)
            x, x_user = F.normalize(x_new, dim=-1), F.normalize(u_new, dim=-1)
            xs.append(x)
            us.append(x_user)
        return layer_sum(us), layer_sum(xs)

    def preference_dcorr(self) -> Tensor:
        r"""The soft distance correlation loss (eq. 7-8) of the preferences."""
        target = (self.user_model.preference_emb() if self.dcorr_target == 'preference'
                  else self.user_model.preference_logits)
        reference = (self.user_model.meta_preference_emb
                     if self.dcorr_variant == 'subspace' else None)
        with warnings.catch_warnings():  # the constructor already warned
            warnings.simplefilter('ignore', UserWarning)
            return soft_distance_correlation_loss(target, self.dcorr_eps,
                                                  variant=self.dcorr_variant,
                                                  reference=reference)

    def score_all(self, users: Tensor) -> Tensor:
        r"""Scores of :obj:`users` against every item, :obj:`[B, num_items]`
        (embeddings are computed once per parameter state in eval mode)."""
        u, x = self.cached(self.forward)
        return u[users] @ x[:self.num_items].t()

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
             return_terms: bool = False) -> Union[Tensor, Tuple[Tensor, Dict[str, float]]]:
        r"""BPR + :math:`\lambda_1` L2 on the batch embeddings + :math:`\lambda_2`
        soft DCorr (eq. 10-11). :obj:`neg_items` is :obj:`[B]` or :obj:`[B, N]`."""
        u_all, x_all = self()
        u, i, j = u_all[users], x_all[pos_items], x_all[neg_items]
        pos = (u * i).sum(-1)
        neg = (u.unsqueeze(1) * j).sum(-1) if j.dim() == 3 else (u * j).sum(-1)
        bpr = bpr_loss(pos, neg)
        reg = l2_reg(u, i, j, batch_size=users.numel())
        total = bpr + self.l2_weight * reg
        cor = torch.zeros((), device=u.device)
        if self.dcorr_weight > 0 and self.dcorr_eps > 0:
            cor = self.preference_dcorr()
            total = total + self.dcorr_weight * cor
        if return_terms:
            return total, {'bpr': float(bpr.detach()), 'l2': float(reg.detach()),
                           'dcorr': float(cor.detach())}
        return total

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_entities}, '
                f'num_relations={self.num_relations}, embedding_dim={self.embedding_dim}, '
                f'num_layers={self.num_layers}, '
                f'num_preferences={self.user_model.num_preferences}, '
                f'num_meta_preferences={self.user_model.num_meta_preferences})')


__all__ = ['KMPN']
