r"""MKR: multi-task feature learning for knowledge-graph-enhanced recommendation."""
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Module, ModuleList, Parameter

from torch_geometric.nn import Linear
from torch_geometric.nn.inits import glorot
from torch_geometric_kgrec.nn.conv.cross_compress import CrossCompressUnit
from torch_geometric_kgrec.nn.losses import l2_reg
from torch_geometric_kgrec.nn.models.base import RecommenderMixin

PREDICTORS = ('inner_product', 'mlp')


def _mlp(num_layers: int, in_channels: int, hidden: int, out_channels: int) -> ModuleList:
    r""":obj:`num_layers` dense layers (Glorot weights, zero biases, as in the TF code)."""
    dims = [in_channels] + [hidden] * (num_layers - 1) + [out_channels]
    return ModuleList([
        Linear(a, b, weight_initializer='glorot', bias_initializer='zeros')
        for a, b in zip(dims[:-1], dims[1:])
    ])


def _weights(*modules: Module) -> List[Parameter]:
    r"""The weights (not the biases) of :obj:`modules`: what MKR's L2 term penalises."""
    return [p for m in modules for n, p in m.named_parameters() if 'bias' not in n]


class MKR(RecommenderMixin, Module):
    r"""MKR from the `"Multi-Task Feature Learning for Knowledge Graph Enhanced
    Recommendation" <https://arxiv.org/abs/1901.08907>`_ paper (Wang et al., WWW 2019).

    A recommendation (RS) task and a knowledge-graph-embedding (KGE) task share the
    item/entity features through :math:`L` :class:`CrossCompressUnit` layers
    :math:`\mathcal{C}`. Items are the entities :math:`0, \ldots, I-1`, so the entity
    associated with item :math:`v` is :math:`v` itself (:math:`\mathcal{S}(v) = \{v\}`).

    **Recommendation module** (eq. 5-6), :math:`\mathcal{M}(\mathbf{x}) =
    \mathrm{ReLU}(\mathbf{W}\mathbf{x} + \mathbf{b})`:

    .. math::
        \mathbf{u}_L = \mathcal{M}^L(\mathbf{u}), \qquad
        \mathbf{v}_L = \mathcal{C}^L(\mathbf{v}, \mathbf{e}_v)[\mathbf{v}], \qquad
        \hat{y}_{uv} = \sigma\big(f_{RS}(\mathbf{u}_L, \mathbf{v}_L)\big)

    with :math:`f_{RS}` the inner product (the paper's choice) or an :math:`H`-layer MLP
    on :math:`[\mathbf{u}_L; \mathbf{v}_L]`.

    **KGE module** (eq. 7-8): the head goes through the *same* units, the relation
    through an :math:`L`-layer MLP, and a :math:`K`-layer MLP predicts the tail:

    .. math::
        \mathbf{h}_L = \mathcal{C}^L(\mathbf{v}_h, \mathbf{h})[\mathbf{e}], \quad
        \mathbf{r}_L = \mathcal{M}^L(\mathbf{r}), \quad
        \hat{\mathbf{t}} = \mathcal{M}^K([\mathbf{h}_L; \mathbf{r}_L]), \quad
        \mathrm{score}(h, r, t) = \sigma(\mathbf{t}^{\top} \hat{\mathbf{t}})

    **Losses** (eq. 9), optimised *alternately* with two optimisers and learning rates
    (Algorithm 1; the schedule lives in the training script, not here):
    :meth:`recommendation_loss` (binary cross-entropy) and :meth:`kge_loss`
    (:math:`-\mathrm{score}` of true triples, :math:`+\mathrm{score}` of false ones if
    given), each plus :math:`\lambda_2` times half the squared norm of the batch's
    output vectors and of the layer weights (:obj:`tf.nn.l2_loss`, as the authors' code).

    Conventions of the authors' TensorFlow code that are kept: ReLU dense layers,
    *vector* biases in the units, Glorot initialisation, no activation after a unit,
    separate parameter sets (:meth:`rs_parameters`, :meth:`kge_parameters`) for the two
    optimisers. Deviations (each a bug or an undocumented choice of that code): the
    relation, not the tail, goes through the :math:`L`-layer MLP (paper, eq. 7); the last
    layer of the MLP predictor outputs a logit (the code applies a ReLU, which forces
    :math:`\hat{y} \geq 0.5`); the tail predictor ends in one sigmoid (the code applies
    :math:`\sigma(\mathrm{ReLU}(\cdot))`).

    Args:
        num_users (int): Number of users :math:`U`.
        num_items (int): Number of items :math:`I` (entities :math:`0..I-1`).
        num_entities (int): Number of KG entities (items included).
        num_relations (int): Number of KG relations.
        embedding_dim (int, optional): Size :math:`d` of every vector. (default: :obj:`8`)
        num_low_layers (int, optional): Number :math:`L` of cross & compress units (and of
            user/relation MLP layers); :obj:`1` gives MKR-1L. (default: :obj:`1`)
        num_high_layers (int, optional): Number :math:`H = K` of layers of the MLP
            predictor and of the tail predictor. (default: :obj:`1`)
        predictor (str, optional): :math:`f_{RS}`, :obj:`"inner_product"` or
            :obj:`"mlp"`. (default: :obj:`"inner_product"`)
        variant (str, optional): :obj:`"mkr"`, :obj:`"dcn"` (MKR-DCN) or
            :obj:`"stitch"` (MKR-stitch), see :class:`CrossCompressUnit`.
            (default: :obj:`"mkr"`)
    """
    def __init__(self, num_users: int, num_items: int, num_entities: int,
                 num_relations: int, embedding_dim: int = 8, num_low_layers: int = 1,
                 num_high_layers: int = 1, predictor: str = 'inner_product',
                 variant: str = 'mkr') -> None:
        super().__init__()
        if min(num_users, num_items, num_relations, embedding_dim, num_low_layers,
               num_high_layers) <= 0:
            raise ValueError('MKR: sizes and numbers of layers must be positive')
        if num_entities < num_items:
            raise ValueError(f"MKR: items are the entities 0..num_items-1, so num_entities "
                             f"({num_entities}) must be >= num_items ({num_items})")
        if predictor not in PREDICTORS:
            raise ValueError(f"'predictor' must be one of {PREDICTORS} (got {predictor!r})")
        self.num_users = num_users
        self.num_items = num_items
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.embedding_dim = d = embedding_dim
        self.num_low_layers = num_low_layers
        self.num_high_layers = num_high_layers
        self.predictor = predictor
        self.variant = variant

        self.user_emb = Embedding(num_users, d)
        self.item_emb = Embedding(num_items, d)
        self.entity_emb = Embedding(num_entities, d)
        self.relation_emb = Embedding(num_relations, d)
        self.user_mlp = _mlp(num_low_layers, d, d, d)
        self.relation_mlp = _mlp(num_low_layers, d, d, d)
        self.units = ModuleList(
            [CrossCompressUnit(d, variant=variant) for _ in range(num_low_layers)])
        self.rs_mlp = (_mlp(num_high_layers, 2 * d, 2 * d, 1)
                       if predictor == 'mlp' else ModuleList())
        self.kge_mlp = _mlp(num_high_layers, 2 * d, 2 * d, d)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Glorot-uniform embeddings and weights, zero biases (the TF defaults)."""
        for emb in (self.user_emb, self.item_emb, self.entity_emb, self.relation_emb):
            glorot(emb.weight)
        for m in [*self.user_mlp, *self.relation_mlp, *self.units, *self.rs_mlp,
                  *self.kge_mlp]:
            m.reset_parameters()

    # ---------------------------------------------------------------- parameter sets
    def rs_parameters(self) -> Iterator[Parameter]:
        r"""Parameters reached by the recommendation loss (for its own optimiser)."""
        for m in (self.user_emb, self.item_emb, self.entity_emb, self.user_mlp,
                  self.units, self.rs_mlp):
            yield from m.parameters()

    def kge_parameters(self) -> Iterator[Parameter]:
        r"""Parameters reached by the KGE loss (for its own optimiser)."""
        for m in (self.item_emb, self.entity_emb, self.relation_emb, self.relation_mlp,
                  self.units, self.kge_mlp):
            yield from m.parameters()

    # ----------------------------------------------------------------------- towers
    @staticmethod
    def _dense(layers: ModuleList, x: Tensor, last: Optional[str] = 'relu') -> Tensor:
        for i, lin in enumerate(layers):
            x = lin(x)
            act = 'relu' if i < len(layers) - 1 else last
            if act == 'relu':
                x = x.relu()
            elif act == 'sigmoid':
                x = x.sigmoid()
        return x

    def user_vectors(self, users: Tensor) -> Tensor:
        r""":math:`\mathbf{u}_L = \mathcal{M}^L(\mathbf{u})`, shape :obj:`[n, d]`."""
        _check_index('users', users, self.num_users)
        return self._dense(self.user_mlp, self.user_emb(users))

    def cross_compress(self, items: Tensor) -> Tuple[Tensor, Tensor]:
        r""":math:`\mathcal{C}^L(\mathbf{v}, \mathbf{e}_v)`: the item and entity outputs of
        the shared units for :obj:`items` (each item paired with its own entity)."""
        _check_index('items', items, self.num_items)
        v = v0 = self.item_emb(items)
        e = e0 = self.entity_emb(items)
        for unit in self.units:
            if self.variant == 'dcn':
                v, e = unit(v, e, v0, e0)
            else:
                v, e = unit(v, e)
        return v, e

    def item_vectors(self, items: Optional[Tensor] = None) -> Tensor:
        r""":math:`\mathbf{v}_L` for :obj:`items` (default: all items), shape
        :obj:`[n, d]`. An item's vector depends on nothing but the item, so ranking
        computes it once for all items (:math:`O(I L d)`)."""
        if items is None:
            items = torch.arange(self.num_items, device=self.item_emb.weight.device)
        return self.cross_compress(items)[0]

    def _predict(self, u: Tensor, v: Tensor) -> Tensor:
        if self.predictor == 'inner_product':
            return (u * v).sum(dim=-1)
        return self._dense(self.rs_mlp, torch.cat([u, v], dim=-1), last=None).squeeze(-1)

    # ------------------------------------------------------------------ RS scoring
    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Logits :math:`f_{RS}(\mathbf{u}_L, \mathbf{v}_L)` of the (user, item)
        pairs, shape :obj:`[n]`."""
        if users.shape != items.shape:
            raise ValueError(f"'users' and 'items' must have the same shape "
                             f"(got {tuple(users.shape)} and {tuple(items.shape)})")
        return self._predict(self.user_vectors(users), self.item_vectors(items))

    def score(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Click probabilities :math:`\hat{y}_{uv}` of the pairs (CTR protocol)."""
        return self(users, items).sigmoid()

    @torch.no_grad()
    def score_all(self, users: Tensor, item_vectors: Optional[Tensor] = None,
                  chunk_size: int = 2**24) -> Tensor:
        r"""Probabilities of :obj:`users` against every item, shape
        :obj:`[B, num_items]` (full ranking).

        The item tower is evaluated once for all items (pass :obj:`item_vectors` from
        :meth:`item_vectors` to reuse it across user batches). Then the inner-product
        predictor is one :math:`[B, d] \times [d, I]` product, :math:`O(B I d)`; the
        MLP predictor must run on every pair, :math:`O(B I H d^2)`, in chunks of at most
        :obj:`chunk_size` input values.
        """
        u = self.user_vectors(users)
        v = self.item_vectors() if item_vectors is None else item_vectors
        if v.shape != (self.num_items, self.embedding_dim):
            raise ValueError(f"'item_vectors' must have shape "
                             f"{(self.num_items, self.embedding_dim)} (got {tuple(v.shape)})")
        if self.predictor == 'inner_product':
            return (u @ v.t()).sigmoid()
        step = max(1, chunk_size // (self.num_items * 2 * self.embedding_dim))
        out = [self._predict(uc.unsqueeze(1).expand(-1, v.size(0), -1),
                             v.unsqueeze(0).expand(uc.size(0), -1, -1))
               for uc in u.split(step)]
        return torch.cat(out, dim=0).sigmoid()

    def recommendation_loss(self, users: Tensor, items: Tensor, labels: Tensor,
                            l2_weight: float = 1e-6, batch_fraction: float = 1.0) -> Tensor:
        r"""Binary cross-entropy of the labelled pairs (first term of eq. 9) plus
        :math:`\lambda_2` (half squared norms of :math:`\mathbf{u}_L, \mathbf{v}_L` and of
        the weights of the user MLP, the units and the MLP predictor).

        :obj:`batch_fraction` is the share :math:`n_r / n` of a global batch that this
        batch is (a data-parallel shard, :meth:`DistEnv.fraction
        <torch_geometric_kgrec.distributed.DistEnv.fraction>`): the L2 of the batch
        vectors, a *sum* over the batch unlike the mean cross-entropy, is divided by it,
        so that the share-weighted gradient all-reduce gives exactly the global batch's
        gradient. (default: :obj:`1.0`)"""
        if labels.shape != users.shape:
            raise ValueError(f"'labels' must have the shape of 'users' {tuple(users.shape)} "
                             f"(got {tuple(labels.shape)})")
        u, v = self.user_vectors(users), self.item_vectors(items)
        logits = self._predict(u, v)
        loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        reg = _l2(u, v, _weights(self.user_mlp, self.units, self.rs_mlp), batch_fraction)
        return loss + l2_weight * reg

    # ------------------------------------------------------------------------- KGE
    def _kge_vectors(self, head: Tensor, relation: Tensor) -> Tuple[Tensor, Tensor]:
        if head.numel() > 0 and int(head.max()) >= self.num_items:
            raise ValueError(f"MKR's KGE task pairs each head with its item "
                             f"(S(h) = {{h}}), so heads must be items < {self.num_items} "
                             f"(got head {int(head.max())}); keep only the triples "
                             f"'edge_index[0] < num_items'")
        _check_index('relation', relation, self.num_relations)
        h = self.cross_compress(head)[1]
        r = self._dense(self.relation_mlp, self.relation_emb(relation))
        t_hat = self._dense(self.kge_mlp, torch.cat([h, r], dim=-1), last='sigmoid')
        return h, t_hat

    def predict_tail(self, head: Tensor, relation: Tensor) -> Tensor:
        r"""The predicted tail vector :math:`\hat{\mathbf{t}}` (eq. 7), shape :obj:`[n, d]`."""
        return self._kge_vectors(head, relation)[1]

    def kge_score(self, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        r""":math:`\mathrm{score}(h, r, t) = \sigma(\mathbf{t}^{\top}\hat{\mathbf{t}})`
        (eq. 8), shape :obj:`[n]`."""
        _check_index('tail', tail, self.num_entities)
        return (self.entity_emb(tail) * self.predict_tail(head, relation)).sum(-1).sigmoid()

    def kge_loss(self, head: Tensor, relation: Tensor, tail: Tensor,
                 neg_tail: Optional[Tensor] = None, l2_weight: float = 1e-6,
                 batch_fraction: float = 1.0) -> Tensor:
        r"""Second term of eq. 9: :math:`-\overline{\mathrm{score}}` of the true triples
        (the authors' code uses true triples only), :math:`+\overline{\mathrm{score}}` of
        the false triples :math:`(h, r, t')` when :obj:`neg_tail` is given, plus
        :math:`\lambda_2` (half squared norms of :math:`\mathbf{h}_L, \mathbf{t}` and of
        the weights of the relation MLP, the units and the tail predictor);
        :obj:`batch_fraction` as in :meth:`recommendation_loss`."""
        if not (head.shape == relation.shape == tail.shape):
            raise ValueError("'head', 'relation' and 'tail' must have the same shape")
        _check_index('tail', tail, self.num_entities)
        h, t_hat = self._kge_vectors(head, relation)
        t = self.entity_emb(tail)
        loss = -(t * t_hat).sum(-1).sigmoid().mean()
        if neg_tail is not None:
            _check_index('neg_tail', neg_tail, self.num_entities)
            loss = loss + (self.entity_emb(neg_tail) * t_hat).sum(-1).sigmoid().mean()
        reg = _l2(h, t, _weights(self.relation_mlp, self.units, self.kge_mlp),
                  batch_fraction)
        return loss + l2_weight * reg

    def __repr__(self) -> str:
        extra = '' if self.variant == 'mkr' else f', variant={self.variant!r}'
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'num_entities={self.num_entities}, num_relations={self.num_relations}, '
                f'embedding_dim={self.embedding_dim}, L={self.num_low_layers}, '
                f'H={self.num_high_layers}, predictor={self.predictor!r}{extra})')


def _l2(a: Tensor, b: Tensor, weights: List[Parameter], batch_fraction: float) -> Tensor:
    # Half squared norms of the batch vectors a, b (divided by the batch's share of a
    # global batch) and of the weights.
    if batch_fraction == 1.0:
        return l2_reg(a, b, *weights, batch_size=1)
    if not 0.0 <= batch_fraction <= 1.0:
        raise ValueError(f"'batch_fraction' must lie in [0, 1] (got {batch_fraction})")
    reg = l2_reg(*weights, batch_size=1)
    if a.numel() or b.numel():  # (an empty shard, batch_fraction 0, has no vectors)
        reg = reg + l2_reg(a, b, batch_size=1) / batch_fraction
    return reg


def _check_index(name: str, index: Tensor, size: int) -> None:
    if index.dtype not in (torch.long, torch.int, torch.int32):
        raise ValueError(f"'{name}' must be an integer tensor (got {index.dtype})")
    if index.numel() > 0 and (int(index.min()) < 0 or int(index.max()) >= size):
        raise ValueError(f"'{name}' holds indices outside [0, {size}) "
                         f"(min {int(index.min())}, max {int(index.max())})")
