r"""KGAT: Knowledge Graph Attention Network (Wang et al., KDD 2019)."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module, ModuleList

from torch_geometric_kgrec.nn.conv.gated_path_conv import add_inverse_relations
from torch_geometric_kgrec.nn.conv.kgat_conv import KGATConv, kgat_attention
from torch_geometric_kgrec.nn.conv.relational_adj import csr_tensor
from torch_geometric_kgrec.nn.kge.transr import TransR, relation_projection
from torch_geometric_kgrec.nn.losses import bpr_loss, l2_reg
from torch_geometric_kgrec.nn.models.base import RecommenderMixin
from torch_geometric_kgrec.nn.models.kgin import check_kg_inputs
from torch_geometric_kgrec.nn.models.propagation_cache import PropagationCacheMixin


class KGAT(PropagationCacheMixin, RecommenderMixin, Module):
    r"""The Knowledge Graph Attention Network from the `"KGAT: Knowledge Graph
    Attention Network for Recommendation" <https://arxiv.org/abs/1905.07854>`_ paper
    (Wang et al., KDD 2019).

    The *collaborative knowledge graph* (CKG) has the entities (nodes
    :obj:`0 .. num_entities - 1`, items first) and the users (nodes
    :obj:`num_entities + u`); its relations are the KG relations :math:`r`, their
    inverses :math:`r + R`, *interact* :math:`2R` (user -> item) and its inverse
    :math:`2R + 1`. :math:`L` :class:`~torch_geometric_kgrec.nn.conv.KGATConv` layers
    propagate over it with the knowledge-aware attention
    (:func:`~torch_geometric_kgrec.nn.conv.kgat_conv.kgat_attention`, eq. 4-5), the
    layer outputs are L2-normalised and concatenated (eq. 11), the score is their inner
    product (eq. 12). Two losses are trained alternately (eq. 13 and eq. 1-2):

    .. math::
        \mathcal{L}_{\text{CF}} &= \mathcal{L}_{\text{BPR}}(\mathbf{e}^*_u,
        \mathbf{e}^*_i, \mathbf{e}^*_j) + \lambda \tfrac{1}{2|B|}\|\Theta_B\|^2

        \mathcal{L}_{\text{KG}} &= -\ln \sigma\big(g(h, r, t') - g(h, r, t)\big)
        + \lambda_{KG} \tfrac{1}{2|B|}\|\Theta_{KG}\|^2, \quad
        g(h, r, t) = \|\mathbf{W}_r\mathbf{e}_h + \mathbf{e}_r -
        \mathbf{W}_r\mathbf{e}_t\|_2^2

    The ego embeddings :math:`\mathbf{e}`, relation embeddings :math:`\mathbf{e}_r`
    and projections :math:`\mathbf{W}_r` are those of a
    :class:`~torch_geometric_kgrec.nn.kge.TransR` over the CKG (:attr:`kge`); KGAT's
    loss is its own (BPR on squared distances, no norm constraint), and
    :math:`\mathbf{W}_r` is Xavier-initialised as in KGAT.

    **Attention schedule.** With :obj:`attention="epoch"` (KGAT's), the attention is a
    constant buffer: :meth:`update_attention` recomputes it from the current
    embeddings (no gradient); call it once after every epoch. Until the first call the
    neighbours are averaged (KGAT's initial :math:`\mathbf{D}^{-1}\mathbf{A}`). With
    :obj:`attention="step"` it is recomputed in every forward pass and
    back-propagated through (slower, not what KGAT does).

    The uniform interface of the KG recommenders of this library::

        model = KGAT(num_users, num_entities, num_items, num_relations,
                     kg_edge_index, kg_edge_type, train_edge_index, **hparams)
        for epoch in ...:
            for users, pos, neg in cf_batches:            # CF phase
                model.loss(users, pos, neg).backward(); opt.step()
            for _ in range(kg_steps):                     # KG phase (TransR)
                h, r, t, t_neg = model.sample_kg_batch(batch_size)
                model.kg_loss(h, r, t, t_neg).backward(); opt.step()
            model.update_attention()
        scores = model.score_all(users)                   # [B, num_items]

    KGAT's released configuration (Amazon-Book): embedding size 64, layer sizes
    :obj:`[64, 32, 16]`, message dropout 0.1, :math:`\lambda = \lambda_{KG} = 10^{-5}`,
    Adam with :obj:`lr=1e-4` (one optimiser per loss in the TensorFlow code), CF batch
    1024; the KG phase of an epoch has as many steps as the CF phase, with batch size
    :math:`|\mathcal{T}_{CKG}| / \#\text{CF steps}` (the PyTorch port uses 2048-triple
    batches over all triples instead). Embeddings may be initialised from a trained
    BPRMF (CKMPN's setting) with :meth:`load_pretrained`.

    Args:
        num_users (int): Number of users.
        num_entities (int): Number of KG entities (items are entities
            :obj:`0 .. num_items - 1`).
        num_items (int): Number of items.
        num_relations (int): Number of KG relations :math:`R` (before inverses).
        edge_index (torch.Tensor): KG triples' heads and tails :obj:`[2, T]`.
        edge_type (torch.Tensor): KG triples' relations :obj:`[T]`.
        train_edge_index (torch.Tensor): Training interactions (user, item)
            :obj:`[2, N]` (never validation/test ones).
        embedding_dim (int, optional): Ego embedding size. (default: :obj:`64`)
        relation_dim (int, optional): TransR relation space size :math:`k`.
            (default: :obj:`64`)
        layer_dims (sequence of int, optional): Output size of every layer.
            (default: :obj:`(64, 32, 16)`)
        aggregator (str, optional): See :class:`KGATConv`.
            (default: :obj:`"bi-interaction"`)
        message_dropout (float, optional): Dropout on every layer's output.
            (default: :obj:`0.1`)
        reg_weight (float, optional): :math:`\lambda` of the CF loss.
            (default: :obj:`1e-5`)
        kg_reg_weight (float, optional): :math:`\lambda_{KG}`. (default: :obj:`1e-5`)
        attention (str, optional): :obj:`"epoch"` or :obj:`"step"` (see above).
            (default: :obj:`"epoch"`)
        negative_slope (float, optional): LeakyReLU slope. (default: :obj:`0.2`)
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
        relation_dim: int = 64,
        layer_dims: Sequence[int] = (64, 32, 16),
        aggregator: str = 'bi-interaction',
        message_dropout: float = 0.1,
        reg_weight: float = 1e-5,
        kg_reg_weight: float = 1e-5,
        attention: str = 'epoch',
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        check_kg_inputs(num_users, num_entities, num_items, num_relations, edge_index,
                        edge_type, train_edge_index)
        if attention not in ('epoch', 'step'):
            raise ValueError(f"attention must be 'epoch' or 'step' (got {attention!r})")
        if not 0.0 <= message_dropout < 1.0:
            raise ValueError(f"message_dropout must lie in [0, 1) (got {message_dropout})")
        self.num_users, self.num_entities = num_users, num_entities
        self.num_items, self.num_relations = num_items, num_relations
        self.num_nodes = num_entities + num_users
        self.num_ckg_relations = 2 * num_relations + 2
        self.embedding_dim, self.relation_dim = embedding_dim, relation_dim
        self.layer_dims = tuple(int(d) for d in layer_dims)
        self.message_dropout = message_dropout
        self.reg_weight, self.kg_reg_weight = reg_weight, kg_reg_weight
        self.attention = attention

        # The collaborative KG, sorted by (head, tail) so that its CSR matrix and the
        # attention vector share one order.
        ei, et = add_inverse_relations(edge_index.long(), edge_type.long(), num_relations)
        user, item = train_edge_index.long()
        user = user + num_entities
        ui = torch.stack([user, item])
        ei = torch.cat([ei, ui, ui.flip(0)], dim=1)
        et = torch.cat([et, torch.full_like(user, 2 * num_relations),
                        torch.full_like(user, 2 * num_relations + 1)])
        perm = torch.argsort(ei[0] * self.num_nodes + ei[1], stable=True)
        self.register_buffer('ckg_edge_index', ei[:, perm], persistent=False)
        self.register_buffer('ckg_edge_type', et[perm], persistent=False)
        self.register_buffer('attention_weight', torch.empty(0))  # [E] once updated
        self._kg_keys: Optional[Tensor] = None  # sorted CKG triple keys (sampling)

        self.kge = TransR(self.num_nodes, self.num_ckg_relations, embedding_dim,
                          relation_channels=relation_dim)
        dims = (embedding_dim, ) + self.layer_dims
        self.convs = ModuleList([
            KGATConv(dims[i], dims[i + 1], aggregator, negative_slope)
            for i in range(len(self.layer_dims))
        ])
        self.last_losses: Dict[str, Tensor] = {}  # detached terms of the last loss
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.kge.reset_parameters()
        torch.nn.init.xavier_uniform_(self.kge.proj)  # KGAT: Xavier, not identity
        for conv in self.convs:
            conv.reset_parameters()
        self.attention_weight = self.attention_weight.new_empty(0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'attention_weight'
        if key in state_dict:  # the buffer is empty until the first update
            self.attention_weight = self.attention_weight.new_empty(state_dict[key].shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def load_pretrained(self, user_emb: Tensor, item_emb: Tensor) -> None:
        r"""Initialise the users' and items' ego embeddings from pre-trained ones, e.g.
        :obj:`BPRMF.user_emb.weight` and :obj:`BPRMF.item_emb.weight` (KGAT's and
        CKMPN's setting); the other entities keep their initialisation."""
        if user_emb.shape != (self.num_users, self.embedding_dim) or \
                item_emb.shape != (self.num_items, self.embedding_dim):
            raise ValueError(f"expected user and item embeddings of shapes "
                             f"[{self.num_users}, {self.embedding_dim}] and "
                             f"[{self.num_items}, {self.embedding_dim}] (got "
                             f"{list(user_emb.shape)} and {list(item_emb.shape)})")
        weight = self.kge.node_emb.weight
        weight[:self.num_items] = item_emb.to(weight)
        weight[self.num_entities:] = user_emb.to(weight)

    @property
    def out_channels(self) -> int:
        r"""Size of the final (concatenated) embeddings."""
        return self.embedding_dim + sum(self.layer_dims)

    # ----------------------------------------------------------------- attention
    def compute_attention(self) -> Tensor:
        r"""The normalised attention :math:`\tilde{\pi}(h, r, t)` of every CKG triple
        from the current embeddings (eq. 4-5), :obj:`[E]`."""
        return kgat_attention(self.kge.node_emb.weight, self.ckg_edge_index,
                              self.ckg_edge_type, self.kge.rel_emb.weight, self.kge.proj,
                              self.num_nodes)

    @torch.no_grad()
    def update_attention(self) -> None:
        r"""Recompute the attention buffer (KGAT: after every epoch)."""
        self.attention_weight = self.compute_attention().detach()

    def adjacency(self) -> Tensor:
        r"""The :obj:`[N, N]` CSR matrix :math:`\tilde{\pi}(h, t)` used for
        propagation with :obj:`attention="epoch"` (means over neighbours before the
        first :meth:`update_attention`)."""
        head, tail = self.ckg_edge_index
        if self.attention_weight.numel() == head.numel():
            value = self.attention_weight
        else:
            deg = torch.bincount(head, minlength=self.num_nodes).clamp(min=1)
            value = deg[head].to(self.kge.node_emb.weight.dtype).reciprocal()
        crow = torch.zeros(self.num_nodes + 1, dtype=torch.long, device=head.device)
        torch.cumsum(torch.bincount(head, minlength=self.num_nodes), 0, out=crow[1:])
        return csr_tensor(crow, tail, value, (self.num_nodes, self.num_nodes))

    # ----------------------------------------------------------------- propagation
    def propagate(self) -> Tensor:
        r"""Final embeddings of every CKG node, :obj:`[num_entities + num_users,
        out_channels]` (eq. 11): the ego embedding and every layer's L2-normalised
        output, concatenated."""
        if self.attention == 'step':  # differentiable: message passing with weights
            graph, weight = self.ckg_edge_index, self.compute_attention()
        else:  # constant attention: one CSR matmul per layer
            graph, weight = self.adjacency(), None
        x = self.kge.node_emb.weight
        outs = [x]
        for conv in self.convs:
            x = conv(x, graph, weight)
            x = F.dropout(x, self.message_dropout, self.training)
            outs.append(F.normalize(x, dim=-1))
        return torch.cat(outs, dim=-1)

    def forward(self) -> Tuple[Tensor, Tensor]:
        r"""Final user :obj:`[num_users, C]` and entity :obj:`[num_entities, C]`
        embeddings (memoised in evaluation mode)."""
        out = self.cached(self.propagate)
        return out[self.num_entities:], out[:self.num_entities]

    def score_all(self, users: Tensor) -> Tensor:
        r"""Scores of :obj:`users` against every item, :obj:`[B, num_items]`."""
        user_out, entity_out = self()
        return user_out[users] @ entity_out[:self.num_items].t()

    # ----------------------------------------------------------------- losses
    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        r"""The CF loss (eq. 13) with L2 on the batch's final embeddings;
        :obj:`neg_items` is :obj:`[B]` or :obj:`[B, N]`."""
        out = self.propagate()
        u = out[users + self.num_entities]
        i, j = out[pos_items], out[neg_items]
        rec = bpr_loss((u * i).sum(-1), (u.unsqueeze(-2) * j).sum(-1) if j.dim() == 3
                       else (u * j).sum(-1))
        reg = l2_reg(u, i, j, batch_size=users.numel())
        self.last_losses = {'cf': rec.detach(), 'cf_l2': reg.detach()}
        return rec + self.reg_weight * reg

    def kg_score(self, head: Tensor, rel: Tensor, tail: Tensor) -> Tensor:
        r"""TransR distance :math:`g(h, r, t)` (eq. 1; lower = more plausible), in CKG
        node / relation ids."""
        wh, r, (wt, ) = self._project(head, rel, tail)
        return (wh + r - wt).pow(2).sum(-1)

    def _project(self, head: Tensor, rel: Tensor, *tails: Tensor
                 ) -> Tuple[Tensor, Tensor, Tuple[Tensor, ...]]:
        r""":math:`(\mathbf{W}_r\mathbf{e}_h, \mathbf{e}_r, (\mathbf{W}_r\mathbf{e}_t,
        \dots))` with one projection of the head and every tail together
        (:func:`~torch_geometric_kgrec.nn.kge.transr.relation_projection`: grouped by
        relation on a CPU, one :math:`\mathbf{W}_r` gather :obj:`[B, k, d]` and one
        batched matmul on a GPU; KGAT's TransR step shares
        :math:`\mathbf{W}_r\mathbf{e}_h` between the true and the corrupted tail)."""
        e = self.kge.node_emb(torch.stack((head, ) + tails, dim=-1))  # [B, 1 + T, d]
        we = relation_projection(e, rel, self.kge.proj)  # [B, 1 + T, k]
        return we[:, 0], self.kge.rel_emb(rel), tuple(we[:, 1:].unbind(1))

    def kg_loss(self, head: Tensor, rel: Tensor, pos_tail: Tensor,
                neg_tail: Tensor) -> Tensor:
        r"""The TransR loss on CKG triples (eq. 2): BPR between the true and a
        corrupted tail, plus :math:`\lambda_{KG}` L2 on the projected embeddings.
        Ids are CKG ids (see :meth:`sample_kg_batch`)."""
        for name, t in (('rel', rel), ('pos_tail', pos_tail), ('neg_tail', neg_tail)):
            if t.shape != head.shape:
                raise ValueError(f"'{name}' must have the shape of 'head' "
                                 f"{list(head.shape)} (got {list(t.shape)})")
        wh, r, (wt, wt_neg) = self._project(head, rel, pos_tail, neg_tail)
        pos = (wh + r - wt).pow(2).sum(-1)
        neg = (wh + r - wt_neg).pow(2).sum(-1)
        loss = bpr_loss(-pos, -neg)  # -ln sigma(g(h,r,t') - g(h,r,t))
        reg = l2_reg(wh, r, wt, wt_neg)
        self.last_losses = {'kg': loss.detach(), 'kg_l2': reg.detach()}
        return loss + self.kg_reg_weight * reg

    def sample_kg_batch(self, batch_size: int,
                        generator: Optional[torch.Generator] = None
                        ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        r"""A batch for :meth:`kg_loss`: :obj:`batch_size` CKG triples drawn uniformly
        (KG and training interactions only) and, for each, a tail drawn uniformly from
        all CKG nodes such that the corrupted triple is not in the CKG (redrawn up to
        10 times, as KGAT's rejection sampling).

        Returns:
            :obj:`(head, rel, pos_tail, neg_tail)`, on the model's device.
        """
        ei, et = self.ckg_edge_index, self.ckg_edge_type
        dev, N, R = et.device, self.num_nodes, self.num_ckg_relations
        if self._kg_keys is None or self._kg_keys.device != dev:  # once per device
            self._kg_keys = torch.unique((ei[0] * R + et) * N + ei[1])  # sorted

        def is_known(h: Tensor, r: Tensor, t: Tensor) -> Tensor:
            key = (h * R + r) * N + t
            pos = torch.searchsorted(self._kg_keys, key).clamp(max=self._kg_keys.numel() - 1)
            return self._kg_keys[pos] == key

        # Drawn on the model's device (on the generator's, if one on another device is
        # given: the same numbers as before for a CPU generator).
        gdev = generator.device if generator is not None else dev
        idx = torch.randint(et.numel(), (batch_size, ), generator=generator,
                            device=gdev).to(dev)
        head, rel, tail = ei[0, idx], et[idx], ei[1, idx]
        neg = torch.randint(N, (batch_size, ), generator=generator, device=gdev).to(dev)
        for _ in range(10):
            bad = is_known(head, rel, neg)
            num_bad = int(bad.sum())
            if num_bad == 0:
                break
            neg[bad] = torch.randint(N, (num_bad, ), generator=generator,
                                     device=gdev).to(dev)
        return head, rel, tail, neg

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_entities}, '
                f'num_items={self.num_items}, num_relations={self.num_relations}, '
                f'embedding_dim={self.embedding_dim}, layer_dims={list(self.layer_dims)}, '
                f'aggregator={self.convs[0].aggregator!r}, attention={self.attention!r})')
