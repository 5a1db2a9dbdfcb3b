r"""KGCN: knowledge graph convolutional networks for recommendation."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Module, ModuleList

from torch_geometric.nn.models import MLP

from torch_geometric_kgrec.nn.conv.kgcn_conv import KGCNConv
from torch_geometric_kgrec.nn.losses import l2_reg
from torch_geometric_kgrec.nn.models.base import RecommenderMixin

CL_REPRESENTATIONS = ('initial', 'propagated')


class KGCN(RecommenderMixin, Module):
    r"""The KGCN model from the `"Knowledge Graph Convolutional Networks for
    Recommender Systems" <https://arxiv.org/abs/1904.12575>`_ paper (Wang et al.,
    WWW 2019), the baseline :math:`\mathcal{L}_{base}` of the `"Knowledge Graph-Based
    Semantic Contrastive Learning"` paper (Kim et al., LREC-COLING 2024, eq. 3 and 5).

    An item's representation is computed *for a user* :math:`u` over its :math:`H`-hop
    receptive field of :math:`K` sampled neighbours per entity (KGCN's Algorithm 1):
    :math:`H` iterations of :class:`~torch_geometric_kgrec.nn.conv.KGCNConv` (ReLU, tanh in
    the last one), the same layer weights for every hop of an iteration. The click
    probability is :math:`\hat{y}_{uv} = \sigma(\mathbf{u}^{\top}\mathbf{v}^{u})`, trained
    with binary cross-entropy plus :math:`\lambda\|\Theta\|_2^2`:

    .. math::
        \mathcal{L} = \frac{1}{|B|}\sum_{(u, v) \in B} \mathrm{BCE}(y_{uv}, \hat{y}_{uv})
        + \frac{\lambda}{2}\left(\|\mathbf{U}\|_2^2 + \|\mathbf{E}\|_2^2 + \|\mathbf{R}\|_2^2
        + \sum_h \|\mathbf{W}_h\|_2^2\right)

    (the regulariser covers the *whole* tables, as the reference implementation's
    :obj:`tf.nn.l2_loss` terms do, not only the rows of the batch).

    The sampled neighbourhood is state, not a parameter: call :meth:`set_neighbors` with
    :obj:`KGNeighborSampler.sample()` (e.g. once per epoch for training, and one fixed
    seeded sample for evaluation). Pass an undirected KG (both directions of every triple
    with the same relation), as KGCN does.

    Args:
        num_users (int): Number of users.
        num_entities (int): Number of KG entities (items are entities
            :obj:`0 .. num_items - 1`).
        num_relations (int): Number of relation types.
        num_items (int): Number of items.
        embedding_dim (int, optional): Size :math:`d` of every embedding. (default: :obj:`16`)
        num_neighbors (int, optional): Sampled neighbours :math:`K` per entity.
            (default: :obj:`8`)
        num_layers (int, optional): Receptive-field depth :math:`H`. (default: :obj:`1`)
        aggregator (str, optional): :obj:`"sum"`, :obj:`"concat"` or :obj:`"neighbor"`.
            (default: :obj:`"sum"`)
        scaling (str, optional): :obj:`"sum"` (the paper) or :obj:`"mean"` (the
            reference code's :math:`\mathbf{u}^{\top}\mathbf{r} / d` and
            :math:`\sum_e \tilde{\pi}\mathbf{e} / K`), see
            :class:`~torch_geometric_kgrec.nn.conv.KGCNConv`. (default: :obj:`"sum"`)
        chunk_size (int, optional): Upper bound on the number of floats of one
            intermediate tensor in :meth:`score_all` (memory knob). (default: :obj:`2**22`)
        item_features (torch.Tensor, optional): "With Semantic Text" (Kim et al., Sec.
            3.3): frozen PLM encodings :math:`E(x_c)` of the items' text,
            :obj:`[num_items, F]`. Item (content) nodes then start from
            :math:`\mathbf{h}_c = \mathrm{MLP}(E(x_c))` (the "α layer" of eq. 5, mapping
            :math:`F` to :obj:`embedding_dim`); other entities keep their random
            embedding (the item rows of :obj:`entity_emb` are then unused).
            (default: :obj:`None`: every node is a random embedding, plain KGCN)
        item_feature_mask (torch.Tensor, optional): Boolean :obj:`[num_items]`, the
            items that have text; the others use their random embedding (the paper
            trains without the synopses it could not find). (default: all)
        feature_layers (int, optional): Layers of the α-layer MLP (1: one linear map
            :math:`\mathbf{W}_\alpha \mathbf{x} + \mathbf{b}_\alpha`, as eq. 5's
            :math:`\Theta` lists; more: ReLU between them). (default: :obj:`1`)
        cl_representation (str, optional): The item representation :math:`h_c` of the
            content contrastive loss (eq. 4), which the paper defines only as "the
            representation of the transformed sentences": :obj:`"initial"` (default:
            the content node's layer-0 vector, :math:`\mathrm{MLP}(E(x_c))` with text,
            its embedding without; the vector KGCN's user-specific layers start from,
            and the one Figure 2 (b) feeds to CL) or :obj:`"propagated"` (KGCN's output
            for a zero user, i.e. uniform attention over the sampled neighbours).
        text_init (str, optional): How the text enters the content nodes, two readings
            of Sec. 3.3: :obj:`"mlp"` (default: :math:`\mathbf{h}_c =
            \mathrm{MLP}(E(x_c))` in every forward pass, the α layer trained as part of
            :math:`\Theta`, as eq. 5 lists it) or :obj:`"copy"` (the content rows of the
            entity table are *initialised* from :math:`\mathrm{MLP}(E(x_c))` of the
            random α layer, rescaled to the table's initial standard deviation, and then
            trained as free embeddings; the α layer is frozen).
    """
    def __init__(self, num_users: int, num_entities: int, num_relations: int,
                 num_items: int, embedding_dim: int = 16, num_neighbors: int = 8,
                 num_layers: int = 1, aggregator: str = 'sum',
                 chunk_size: int = 2**22, scaling: str = 'sum',
                 item_features: Optional[Tensor] = None,
                 item_feature_mask: Optional[Tensor] = None, feature_layers: int = 1,
                 cl_representation: str = 'initial', text_init: str = 'mlp') -> None:
        super().__init__()
        for name, v in (('num_users', num_users), ('num_entities', num_entities),
                        ('num_relations', num_relations), ('num_items', num_items),
                        ('embedding_dim', embedding_dim), ('num_neighbors', num_neighbors),
                        ('num_layers', num_layers)):
            if int(v) < 1:
                raise ValueError(f"'{name}' must be a positive integer (got {v})")
        if num_items > num_entities:
            raise ValueError(f"items are entities 0 .. num_items - 1, so num_items "
                             f"({num_items}) cannot exceed num_entities ({num_entities})")
        self.num_users = num_users
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.num_neighbors = num_neighbors
        self.num_layers = num_layers
        self.aggregator = aggregator
        self.scaling = scaling
        self.chunk_size = chunk_size
        self.user_emb = Embedding(num_users, embedding_dim)
        self.entity_emb = Embedding(num_entities, embedding_dim)
        self.relation_emb = Embedding(num_relations, embedding_dim)
        self.convs = ModuleList([
            KGCNConv(embedding_dim, embedding_dim, aggregator,
                     act='tanh' if h == num_layers - 1 else 'relu', scaling=scaling)
            for h in range(num_layers)
        ])
        # Sampled receptive field (not learnt, not saved in the state_dict).
        self.register_buffer('neighbors', torch.zeros(num_entities, num_neighbors,
                                                      dtype=torch.long), persistent=False)
        self.register_buffer('neighbor_types', torch.zeros(num_entities, num_neighbors,
                                                           dtype=torch.long), persistent=False)
        self._has_neighbors = False
        if cl_representation not in CL_REPRESENTATIONS:
            raise ValueError(f"'cl_representation' must be one of {CL_REPRESENTATIONS} "
                             f"(got {cl_representation!r})")
        self.cl_representation = cl_representation
        self.feature_layers = feature_layers
        if text_init not in ('mlp', 'copy'):
            raise ValueError(f"'text_init' must be 'mlp' or 'copy' (got {text_init!r})")
        self.text_init = text_init
        self.item_mlp = None
        self.register_buffer('item_features', None)
        self.register_buffer('item_feature_mask', None)
        if item_features is not None:
            if item_features.dim() != 2 or item_features.size(0) != num_items:
                raise ValueError(f"'item_features' must have shape [num_items={num_items}, "
                                 f"F] (got {tuple(item_features.shape)})")
            if int(feature_layers) < 1:
                raise ValueError(f"'feature_layers' must be >= 1 (got {feature_layers})")
            self.register_buffer('item_features', item_features.detach().float().clone())
            if item_feature_mask is not None:
                if tuple(item_feature_mask.shape) != (num_items, ):
                    raise ValueError(f"'item_feature_mask' must have shape [{num_items}] "
                                     f"(got {tuple(item_feature_mask.shape)})")
                self.register_buffer('item_feature_mask', item_feature_mask.bool().clone())
            self.item_mlp = MLP([item_features.size(1)] + [embedding_dim] * feature_layers,
                                act='relu', norm=None)
            if text_init == 'copy':
                self.item_mlp.requires_grad_(False)
        elif item_feature_mask is not None:
            raise ValueError("'item_feature_mask' needs 'item_features'")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in (self.user_emb, self.entity_emb, self.relation_emb):
            torch.nn.init.xavier_uniform_(emb.weight)
        for conv in self.convs:
            conv.reset_parameters()
        if self.item_mlp is not None:
            self.item_mlp.reset_parameters()
            if self.text_init == 'copy':
                with torch.no_grad():
                    h = self.item_mlp(self.item_features)
                    h = h * (self.entity_emb.weight.std() / h.std().clamp(min=1e-12))
                    rows = self.entity_emb.weight[:self.num_items]
                    if self.item_feature_mask is not None:
                        h = torch.where(self.item_feature_mask.view(-1, 1), h, rows)
                    rows.copy_(h)

    @property
    def _text_forward(self) -> bool:
        return self.item_mlp is not None and self.text_init == 'mlp'

    def node_embedding(self) -> Tensor:
        r"""The layer-0 vectors of all entities, :obj:`[num_entities, d]`: the entity
        table, with the item rows replaced by :math:`\mathrm{MLP}(E(x_c))` when the
        model has :obj:`item_features` (Sec. 3.3)."""
        if not self._text_forward:
            return self.entity_emb.weight
        h = self.item_mlp(self.item_features)
        own = self.entity_emb.weight
        if self.item_feature_mask is not None:
            h = torch.where(self.item_feature_mask.view(-1, 1), h, own[:self.num_items])
        return torch.cat([h, own[self.num_items:]], dim=0)

    def entity_vectors(self, index: Tensor, table: Optional[Tensor] = None) -> Tensor:
        r"""Layer-0 vectors of the entities :obj:`index` (any shape); :obj:`table` is
        a precomputed :meth:`node_embedding`."""
        if not self._text_forward:
            return self.entity_emb(index)
        return F.embedding(index, self.node_embedding() if table is None else table)

    @torch.no_grad()
    def set_neighbors(self, neighbors: Tensor, neighbor_types: Tensor) -> None:
        r"""Sets the sampled neighbourhood: :obj:`neighbors[v]` are the :obj:`K` sampled
        neighbour entities of entity :obj:`v`, :obj:`neighbor_types[v]` their relations
        (both :obj:`[num_entities, K]`, as returned by :obj:`KGNeighborSampler.sample()`)."""
        shape = (self.num_entities, self.num_neighbors)
        for name, t, high in (('neighbors', neighbors, self.num_entities),
                              ('neighbor_types', neighbor_types, self.num_relations)):
            if tuple(t.shape) != shape:
                raise ValueError(f"'{name}' must have shape {shape} (got {tuple(t.shape)})")
            if t.numel() and (int(t.min()) < 0 or int(t.max()) >= high):
                raise ValueError(f"'{name}' must lie in [0, {high})")
        self.neighbors.copy_(neighbors)
        self.neighbor_types.copy_(neighbor_types)
        self._has_neighbors = True

    def receptive_field(self, items: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        r"""The sampled :math:`H`-hop receptive field of :obj:`items` (any shape
        :obj:`S`): entities :obj:`[S + (K^h,)]` for :math:`h = 0..H` and relations
        :obj:`[S + (K^h, K)]` for :math:`h = 0..H-1`."""
        if not self._has_neighbors:
            raise RuntimeError("call set_neighbors(*KGNeighborSampler(...).sample()) "
                               "before using KGCN")
        entities, relations = [items.unsqueeze(-1)], []
        for _ in range(self.num_layers):
            relations.append(self.neighbor_types[entities[-1]])
            entities.append(self.neighbors[entities[-1]].flatten(-2))
        return entities, relations

    def item_side(self, items: Tensor, linear_first: bool = False) -> Tuple:
        r"""Everything of the receptive field of :obj:`items` that does not depend on
        the user: the entity vectors of every hop, the neighbours' relations and, with
        :obj:`linear_first`, the first layer's :math:`\mathbf{W}` already applied to the
        entity vectors (so that it is computed once, not once per user)."""
        K = self.num_neighbors
        entities, relations = self.receptive_field(items)
        table = self.node_embedding() if self._text_forward else None
        vectors = [self.entity_vectors(e, table) for e in entities]  # [S, K^h, d]
        first = None
        if linear_first:
            conv = self.convs[0]
            first = [(conv.lin_self(vectors[h]),
                      conv.lin_nbr(vectors[h + 1].unflatten(-2, (-1, K))))
                     for h in range(self.num_layers)]
        return vectors, relations, first

    def item_representation(self, user: Tensor, items: Tensor,
                            linear_first: bool = False,
                            item_side: Optional[Tuple] = None) -> Tensor:
        r"""User-specific item vectors :math:`\mathbf{v}^u` (KGCN's Algorithm 1).

        Args:
            user (torch.Tensor): User embeddings :obj:`[*, d]`, broadcastable against
                :obj:`items` (e.g. :obj:`[B, 1, d]` against :obj:`[I]` scores every user
                against every item).
            items (torch.Tensor): Item (entity) indices.
            linear_first (bool, optional): Apply the first layer's :math:`\mathbf{W}`
                to the (user-independent) entity vectors before the attention-weighted
                sum; the same function, cheaper when many users share the items.
            item_side (tuple, optional): :meth:`item_side` of :obj:`items`, to reuse it
                across user batches.
        """
        K = self.num_neighbors
        vectors, relations, first = item_side or self.item_side(items, linear_first)
        rel_emb = self.relation_emb.weight
        user = user.unsqueeze(-2)  # broadcast over the K^h nodes of a hop
        for i, conv in enumerate(self.convs):
            nxt = []
            for h in range(self.num_layers - i):
                if i == 0 and first is not None:
                    out = conv.forward_dense(*first[h], relations[h], user, rel_emb,
                                             transformed=True)
                else:
                    x_nbr = vectors[h + 1].unflatten(-2, (-1, K))  # [S, K^h, K, d]
                    out = conv.forward_dense(vectors[h], x_nbr, relations[h], user, rel_emb)
                nxt.append(out)
            vectors = nxt
        return vectors[0].squeeze(-2)

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Logits :math:`\mathbf{u}^{\top}\mathbf{v}^{u}` of the (user, item) pairs,
        shape :obj:`[n]` (apply :obj:`sigmoid` for click probabilities)."""
        if users.shape != items.shape:
            raise ValueError(f"users {tuple(users.shape)} and items {tuple(items.shape)} "
                             "must have the same shape")
        user = self.user_emb(users)
        return (user * self.item_representation(user, items)).sum(dim=-1)

    def score(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Click probabilities :math:`\hat{y}_{uv}` of the (user, item) pairs."""
        return torch.sigmoid(self(users, items))

    @torch.no_grad()
    def score_all(self, users: Tensor) -> Tensor:
        r"""Logits of :obj:`users` against every item, :obj:`[B, num_items]`, for full
        ranking.

        Nothing of size users :math:`\times` items :math:`\times K^H` is built: the
        item-side receptive fields and the first layer's :math:`\mathbf{W}\mathbf{e}`
        are computed once per item chunk and broadcast over a chunk of users; only
        the attention (:obj:`[B, I, K^h, K]`, gathered from the :obj:`[B, R]`
        user-relation table) and the layers' outputs depend on the user.
        Cost for :math:`H = 1`: :math:`O(I K d^2)` once plus :math:`O(B I K d)` for
        :math:`B` users (no per-pair matrix product); for :math:`H > 1` add
        :math:`O(B I \sum_{h < H - 1} K^h d^2)` for the deeper iterations.
        Memory: chunks keep every intermediate below :obj:`chunk_size` floats.
        For :math:`H = 1` the layer runs item-major and in place
        (:meth:`KGCNConv.forward_dense_all_users`): one :obj:`[items, users, d]` buffer,
        allocated once per call, holds every chunk's layer output and then its product
        with the users.
        """
        K, d, H = self.num_neighbors, self.embedding_dim, self.num_layers
        all_items = torch.arange(self.num_items, device=users.device)
        # item side: [items, K^H, d]; per (user, item): [K^(H-1), max(K, d)]
        item_chunk = max(1, min(self.num_items, self.chunk_size // (K**H * d)))
        user_chunk = max(1, self.chunk_size // (item_chunk * K**(H - 1) * max(K, d)))
        out = torch.empty(users.numel(), self.num_items, device=users.device)
        workspace = (out.new_empty(item_chunk * min(user_chunk, users.numel()) * d)
                     if H == 1 else None)  # one [items, users, d] buffer for all chunks
        for items in all_items.split(item_chunk):
            side = self.item_side(items, linear_first=True)  # once per item chunk
            for rows in torch.arange(users.numel(), device=users.device).split(user_chunk):
                user = self.user_emb(users[rows])  # [b, d]
                cols = slice(int(items[0]), int(items[-1]) + 1)
                if H == 1:
                    _, relations, ((x_self, x_nbr), ) = side
                    x_self = x_self.squeeze(1) if x_self.dim() else x_self  # 0: 'neighbor'
                    vec = self.convs[0].forward_dense_all_users(
                        x_self, x_nbr.squeeze(1), relations[0].squeeze(1),
                        user, self.relation_emb.weight, workspace)  # [items, b, d]
                    out[rows[0]:rows[-1] + 1, cols] = vec.mul_(user).sum(-1).t()
                    continue
                user = user.unsqueeze(-2)  # [b, 1, d]
                item_vec = self.item_representation(user, items, item_side=side)
                out[rows[0]:rows[-1] + 1, cols] = (user * item_vec).sum(dim=-1)
        return out

    def loss(self, users: Tensor, items: Tensor, labels: Tensor,
             l2_weight: float = 1e-4) -> Tensor:
        r"""Binary cross-entropy of the (user, item, label) batch plus
        :math:`\lambda` times the L2 penalty of all parameters."""
        bce = F.binary_cross_entropy_with_logits(self(users, items), labels.float())
        if l2_weight == 0:
            return bce
        return bce + l2_weight * l2_reg(*self.l2_parameters(), batch_size=1)

    def l2_parameters(self) -> List[Tensor]:
        r"""The parameters under the L2 penalty: the user, entity and relation tables
        and the layers' weight matrices (not the biases), as in the reference code.
        Since :math:`\nabla \frac{\lambda}{2}\|\Theta\|^2 = \lambda \Theta`, training
        with :obj:`loss(..., l2_weight=0)` and :class:`torch.optim.Adam` with
        :obj:`weight_decay=λ` on exactly these parameters is the same optimisation,
        without a pass over the whole tables in the loss."""
        params = [self.user_emb.weight, self.entity_emb.weight, self.relation_emb.weight
                  ] + [conv.lin.weight for conv in self.convs]
        if self._text_forward:  # the α layer (eq. 5)
            params += [lin.weight for lin in self.item_mlp.lins]
        return params

    # Content-based contrastive learning (Kim et al., LREC-COLING 2024) ---------------

    def content_embedding(self, items: Tensor) -> Tensor:
        r"""The item representations :math:`h_c` of the contrastive loss (see
        :obj:`cl_representation`), :obj:`items.shape + (d,)`."""
        if self.cl_representation == 'initial':
            return self.entity_vectors(items)
        user = self.user_emb.weight.new_zeros(tuple(items.shape) + (self.embedding_dim, ))
        return self.item_representation(user, items)

    def item_embedding(self) -> Tensor:
        r"""The user-independent content embeddings of all items,
        :obj:`[num_items, d]` (:meth:`content_embedding`), e.g. for the intra-list
        diversity and the alignment / uniformity of a trained model."""
        items = torch.arange(self.num_items, device=self.user_emb.weight.device)
        return torch.cat([self.content_embedding(i) for i in items.split(4096)])

    def contrastive_loss(self, pair_index: Tensor, pair_label: Tensor) -> Tensor:
        r"""The content-based contrastive loss, eq. (4) of Kim et al.:

        .. math::
            \mathrm{CL} = \frac{1}{|P| + |N|} \Big(\sum_{(c, c^+) \in P}
            F(1, \sigma(h_c^{\top} h_{c^+})) + \sum_{(c, c^-) \in N}
            F(0, \sigma(h_c^{\top} h_{c^-}))\Big),

        the binary cross-entropy :math:`F` of the inner products of the content
        representations of mined positive (label 1) and negative (label 0) pairs. Eq. 4
        writes the negative part with a minus sign, as KGCN's eq. 3 does for its sampled
        negatives; both mean "the cross-entropy of the negatives, with label 0", which is
        what KGCN's code computes. Averaged over the batch of pairs, like
        :math:`\mathcal{L}_{base}` over its batch (the paper writes sums).

        Args:
            pair_index (torch.Tensor): :obj:`[2, P]` item pairs (anchor, other).
            pair_label (torch.Tensor): :obj:`[P]`, 1 positive, 0 negative.
        """
        if pair_index.dim() != 2 or pair_index.size(0) != 2:
            raise ValueError(f"'pair_index' must be [2, P] (got {tuple(pair_index.shape)})")
        if tuple(pair_label.shape) != (pair_index.size(1), ):
            raise ValueError(f"'pair_label' must have shape [{pair_index.size(1)}] "
                             f"(got {tuple(pair_label.shape)})")
        if pair_index.numel() and (int(pair_index.min()) < 0
                                   or int(pair_index.max()) >= self.num_items):
            raise ValueError(f"'pair_index' must hold items in [0, {self.num_items})")
        h = self.content_embedding(pair_index)  # [2, P, d]
        sim = (h[0] * h[1]).sum(dim=-1)
        return F.binary_cross_entropy_with_logits(sim, pair_label.float())

    def joint_loss(self, users: Tensor, items: Tensor, labels: Tensor,
                   pair_index: Optional[Tensor] = None,
                   pair_label: Optional[Tensor] = None, gamma: float = 0.8,
                   l2_weight: float = 1e-4) -> Tensor:
        r"""The joint objective, eq. (5) of Kim et al.:

        .. math::
            \mathcal{L} = \gamma \mathcal{L}_{base} + (1 - \gamma)\,\mathrm{CL}
            + \frac{\lambda}{2} \|\Theta\|_2^2,

        :math:`\mathcal{L}_{base}` the KGCN loss (eq. 3: BCE of the (user, item, label)
        batch), :math:`\mathrm{CL}` the :meth:`contrastive_loss` of the pair batch, and
        the L2 penalty of :meth:`l2_parameters` (with the α layer) in KGCN's
        :math:`\lambda / 2` convention (eq. 5 writes :math:`\lambda`), so that
        :obj:`gamma=1` is exactly :meth:`loss` (the CL term is then skipped).
        """
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"'gamma' must lie in [0, 1] (got {gamma})")
        out = None
        if gamma > 0:
            out = F.binary_cross_entropy_with_logits(self(users, items), labels.float())
            if gamma != 1.0:
                out = gamma * out
        if gamma < 1.0 and pair_index is not None and pair_index.numel() > 0:
            cl = (1.0 - gamma) * self.contrastive_loss(pair_index, pair_label)
            out = cl if out is None else out + cl
        if out is None:
            raise ValueError('gamma=0 needs content pairs')
        if l2_weight == 0:
            return out
        return out + l2_weight * l2_reg(*self.l2_parameters(), batch_size=1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_entities}, '
                f'num_relations={self.num_relations}, embedding_dim={self.embedding_dim}, '
                f'num_neighbors={self.num_neighbors}, num_layers={self.num_layers}, '
                f"aggregator='{self.aggregator}'"
                f"{'' if self.scaling == 'sum' else f', scaling={self.scaling!r}'}"
                + (f', item_features={self.item_features.size(1)}'
                   if self.item_mlp is not None else '')
                + (f", text_init='copy'" if self.text_init == 'copy' else '') + ')')
