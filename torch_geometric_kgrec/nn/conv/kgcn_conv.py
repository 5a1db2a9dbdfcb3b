r"""The knowledge-graph convolution of KGCN (Wang et al., WWW 2019)."""
from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter

from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.inits import zeros
from torch_geometric.nn.resolver import activation_resolver
from torch_geometric.typing import Adj, OptPairTensor, OptTensor
from torch_geometric.utils import degree, is_sparse, softmax

from torch_geometric_kgrec.nn.conv.relational_adj import typed_edges

from torch_geometric_kgrec.nn.index_checks import index_out_of_range

AGGREGATORS = ('sum', 'concat', 'neighbor')
SCALINGS = ('sum', 'mean')


class KGCNConv(MessagePassing):
    r"""The user-specific knowledge-graph convolution from the `"Knowledge Graph
    Convolutional Networks for Recommender Systems"
    <https://arxiv.org/abs/1904.12575>`_ paper (KGCN, Wang et al., WWW 2019, Section 3.2),
    the base layer of the `"Knowledge Graph-Based Semantic Contrastive Learning"` paper
    (Kim et al., LREC-COLING 2024, Section 3.3, :math:`H^{(l+1)} = \sigma(H^{(l)} W^{(l)}
    + b^{(l)})`).

    For a target node :math:`v` that is looked at *on behalf of user* :math:`u`, every
    neighbour :math:`e` reached through relation :math:`r_{v,e}` is weighted by the
    user-relation score :math:`g(\mathbf{u}, \mathbf{r}) = \mathbf{u}^{\top}\mathbf{r}`,
    normalised over the neighbours of :math:`v`:

    .. math::
        \tilde{\pi}^{u}_{r_{v,e}} = \frac{\exp(\mathbf{u}^{\top}\mathbf{r}_{v,e})}
        {\sum_{e' \in \mathcal{N}(v)} \exp(\mathbf{u}^{\top}\mathbf{r}_{v,e'})},
        \qquad
        \mathbf{v}^{u}_{\mathcal{N}(v)} = \sum_{e \in \mathcal{N}(v)}
        \tilde{\pi}^{u}_{r_{v,e}} \, \mathbf{e}

    and the node's own vector (the self-loop) is combined with it by one of the three
    aggregators of the paper:

    .. math::
        \text{sum:} \quad & \sigma\left(\mathbf{W}(\mathbf{v} +
            \mathbf{v}^{u}_{\mathcal{N}(v)}) + \mathbf{b}\right) \\
        \text{concat:} \quad & \sigma\left(\mathbf{W}[\mathbf{v} \,\|\,
            \mathbf{v}^{u}_{\mathcal{N}(v)}] + \mathbf{b}\right) \\
        \text{neighbor:} \quad & \sigma\left(\mathbf{W}\mathbf{v}^{u}_{\mathcal{N}(v)}
            + \mathbf{b}\right)

    with :math:`\sigma = \mathrm{ReLU}` in hidden layers and :math:`\tanh` in the last one.
    A node without neighbours gets :math:`\mathbf{v}^{u}_{\mathcal{N}(v)} = \mathbf{0}`.

    **Scaling.** The paper writes the sums above (:obj:`scaling="sum"`, the default:
    faithful to the equations). The reference implementation (``aggregators.py``,
    ``_mix_neighbor_vectors``) *averages* both: the score is
    :math:`\mathbf{u}^{\top}\mathbf{r} / d` (``reduce_mean`` over the :math:`d`
    channels) and the neighbourhood vector is :math:`\frac{1}{K}\sum_e
    \tilde{\pi}^{u}_{r_{v,e}} \mathbf{e}` (``reduce_mean`` over the :math:`K`
    neighbours; :math:`K` = the node's in-degree in :meth:`forward`);
    :obj:`scaling="mean"` reproduces it. The difference is not cosmetic: :math:`1/d`
    is a softmax temperature (flatter attention), and :math:`1/K` shrinks the
    neighbourhood against the node's own vector in the :obj:`"sum"` and
    :obj:`"concat"` aggregators.

    Two interchangeable entry points compute the same function:

    * :meth:`forward` works on any graph (:obj:`edge_index` + :obj:`edge_type`, or a
      sparse adjacency with values 1 and :obj:`edge_type` per stored entry: sparse values
      are edge weights as in PyG, never relation types, which coalescing would sum).
      The attention is user-specific, so every *target* node belongs to exactly one
      user: pass :obj:`user` with one row per target node (for a batch of users, make one copy of each target node per user,
      e.g. a bipartite graph from entities to (user, item) copies).
    * :meth:`forward_dense` is the fast path for KGCN's fixed-size sampled receptive
      field: self vectors :obj:`[*, F]` with their :obj:`K` sampled neighbours
      :obj:`[*, K, F]` and relations :obj:`[*, K]`; all leading dimensions broadcast,
      so item-side tensors can be shared by many users without being copied.

    Args:
        in_channels (int): Size of each input sample (also the size of user and relation
            embeddings, which the attention multiplies with each other).
        out_channels (int): Size of each output sample.
        aggregator (str, optional): :obj:`"sum"`, :obj:`"concat"` or :obj:`"neighbor"`.
            (default: :obj:`"sum"`)
        act (str or callable, optional): Non-linearity :math:`\sigma`; KGCN uses
            :obj:`"relu"` in hidden layers and :obj:`"tanh"` in the last layer.
            :obj:`None` for the identity. (default: :obj:`"relu"`)
        bias (bool, optional): Learn the bias :math:`\mathbf{b}`. (default: :obj:`True`)
        scaling (str, optional): :obj:`"sum"` (the paper's equations) or :obj:`"mean"`
            (the reference code: :math:`\mathbf{u}^{\top}\mathbf{r} / d` and
            :math:`\sum_e \tilde{\pi}\mathbf{e} / K`). (default: :obj:`"sum"`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input of** :meth:`forward`: node features :math:`(|\mathcal{V}|, F_{in})` or
          :math:`((|\mathcal{V_s}|, F_{in}), (|\mathcal{V_t}|, F_{in}))` if bipartite,
          edge indices :math:`(2, |\mathcal{E}|)` (source to target) or a sparse
          adjacency :math:`(|\mathcal{V_t}|, |\mathcal{V_s}|)`,
          edge types :math:`(|\mathcal{E}|)`, user embedding of every target node
          :math:`(|\mathcal{V_t}|, F_{in})`, relation embeddings :math:`(R, F_{in})`
        - **output of** :meth:`forward`: :math:`(|\mathcal{V_t}|, F_{out})`
        - **input of** :meth:`forward_dense`: :math:`(*, F_{in})`, :math:`(*, K, F_{in})`,
          :math:`(*, K)`, :math:`(*, F_{in})`, :math:`(R, F_{in})` (broadcastable
          leading dimensions :math:`*`)
        - **output of** :meth:`forward_dense`: :math:`(*, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, aggregator: str = 'sum',
                 act: Union[str, Callable, None] = 'relu', bias: bool = True,
                 scaling: str = 'sum', **kwargs) -> None:
        kwargs.setdefault('aggr', 'add')
        super().__init__(node_dim=0, **kwargs)
        if aggregator not in AGGREGATORS:
            raise ValueError(f"aggregator must be one of {AGGREGATORS} (got {aggregator!r})")
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS} (got {scaling!r})")
        if not (isinstance(in_channels, int) and in_channels > 0
                and isinstance(out_channels, int) and out_channels > 0):
            raise ValueError(f"in_channels and out_channels must be positive integers (got "
                             f"{in_channels!r}, {out_channels!r})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.aggregator = aggregator
        self.scaling = scaling
        self.act_name = act if isinstance(act, str) or act is None else getattr(
            act, '__name__', act.__class__.__name__)
        self.act = activation_resolver(act) if act is not None else None
        mult = 2 if aggregator == 'concat' else 1
        self.lin = Linear(mult * in_channels, out_channels, bias=False,
                          weight_initializer='glorot')
        if bias:
            self.bias = Parameter(torch.empty(out_channels))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        zeros(self.bias)

    # The linear map W, split into the part applied to the node itself and the part
    # applied to its neighbourhood vector, so that W can be moved inside the (linear)
    # attention-weighted sum (see ``forward_dense(..., transformed=True)``).
    def lin_self(self, x: Tensor) -> Tensor:
        r"""The part of :math:`\mathbf{W}` applied to the node's own vector (:obj:`0` for
        the :obj:`"neighbor"` aggregator)."""
        if self.aggregator == 'neighbor':
            return x.new_zeros(())
        return F.linear(x, self.lin.weight[:, :self.in_channels])

    def lin_nbr(self, x: Tensor) -> Tensor:
        r"""The part of :math:`\mathbf{W}` applied to the neighbourhood vector."""
        return F.linear(x, self.lin.weight[:, -self.in_channels:])

    def _finish(self, out: Tensor) -> Tensor:
        if self.bias is not None:
            out = out + self.bias
        return self.act(out) if self.act is not None else out

    def forward(self, x: Union[Tensor, OptPairTensor], edge_index: Adj, edge_type: OptTensor,
                user: Tensor, rel_emb: Tensor,
                size: Optional[Tuple[int, int]] = None) -> Tensor:
        r"""Runs the layer on an arbitrary graph.

        Args:
            x (torch.Tensor or (torch.Tensor, torch.Tensor)): Node features, or
                (source, target) features of a bipartite graph.
            edge_index (torch.Tensor or sparse): :obj:`[2, E]` source-to-target indices,
                or a sparse adjacency :obj:`[num_targets, num_sources]` with all values
                1 (see :func:`~torch_geometric_kgrec.nn.conv.relational_adj.typed_edges`).
            edge_type (torch.Tensor, optional): Relation type of every edge (of every
                stored entry of a sparse adjacency), :obj:`[E]`.
            user (torch.Tensor): Embedding of the user each target node is scored for,
                :obj:`[num_targets, in_channels]`.
            rel_emb (torch.Tensor): Relation embeddings :obj:`[R, in_channels]`.
            size ((int, int), optional): (num_sources, num_targets) for a bipartite graph
                given by an :obj:`edge_index` tensor.
        """
        if isinstance(x, Tensor):
            x = (x, x)
        if is_sparse(edge_index):
            if size is None:
                size = (edge_index.size(1), edge_index.size(0))
            (dst, src), edge_type = typed_edges(edge_index, edge_type, None, 'KGCNConv')
            edge_index = torch.stack([src, dst], dim=0)
        if edge_type is None:
            raise ValueError("KGCNConv needs 'edge_type' (the relation of every edge)")
        edge_type = edge_type.long()
        self._check(x, edge_index, edge_type, user, rel_emb, size)
        # edge_updater_type: (user: Tensor, edge_type: Tensor, rel_emb: Tensor)
        alpha = self.edge_updater(edge_index, user=(None, user), edge_type=edge_type,
                                  rel_emb=rel_emb, size=size)
        # propagate_type: (x: OptPairTensor, alpha: Tensor)
        agg = self.propagate(edge_index, x=x, alpha=alpha, size=size)
        if self.scaling == 'mean':  # reduce_mean over the K neighbours
            deg = degree(edge_index[1], agg.size(0), dtype=agg.dtype).clamp(min=1)
            agg = agg / deg.unsqueeze(-1)
        self_term = self.lin_self(x[1]) if x[1] is not None else 0.
        return self._finish(self_term + self.lin_nbr(agg))

    def edge_update(self, user_i: Tensor, edge_type: Tensor, rel_emb: Tensor, index: Tensor,
                    ptr: OptTensor, dim_size: Optional[int]) -> Tensor:
        score = (user_i * rel_emb[edge_type]).sum(dim=-1)  # g(u, r) = u^T r
        if self.scaling == 'mean':  # reduce_mean over the d channels
            score = score / self.in_channels
        return softmax(score, index, ptr, dim_size)

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        return alpha.unsqueeze(-1) * x_j

    def dense_attention(self, user: Tensor, nbr_type: Tensor, rel_emb: Tensor) -> Tensor:
        r"""User-specific attention over fixed-size neighbourhoods: the softmax over the
        last dimension of :math:`\mathbf{u}^{\top}\mathbf{r}` for :obj:`user` :obj:`[*, F]`
        and neighbour relations :obj:`nbr_type` :obj:`[*, K]` (broadcast), computed from
        the :obj:`[*, R]` user-relation table rather than by gathering relation vectors.
        """
        user_rel = user @ rel_emb.t()  # [*, R]
        if self.scaling == 'mean':  # reduce_mean over the d channels
            user_rel = user_rel / self.in_channels
        nbr_type = nbr_type.long()
        ndim = max(user_rel.dim(), nbr_type.dim())
        user_rel = user_rel.view((1, ) * (ndim - user_rel.dim()) + tuple(user_rel.shape))
        nbr_type = nbr_type.view((1, ) * (ndim - nbr_type.dim()) + tuple(nbr_type.shape))
        return torch.take_along_dim(user_rel, nbr_type, dim=-1).softmax(dim=-1)

    def forward_dense(self, x_self: Tensor, x_nbr: Tensor, nbr_type: Tensor, user: Tensor,
                      rel_emb: Tensor, transformed: bool = False) -> Tensor:
        r"""The fast path on KGCN's fixed-size receptive field (same function as
        :meth:`forward` on the equivalent graph).

        Args:
            x_self (torch.Tensor): Vectors of the target nodes, :obj:`[*, F_in]`.
            x_nbr (torch.Tensor): Vectors of their :obj:`K` neighbours, :obj:`[*, K, F_in]`.
            nbr_type (torch.Tensor): Relation to each neighbour, :obj:`[*, K]`.
            user (torch.Tensor): The user each target node is scored for, :obj:`[*, F_in]`.
            rel_emb (torch.Tensor): Relation embeddings :obj:`[R, F_in]`.
            transformed (bool, optional): If :obj:`True`, :obj:`x_self` and :obj:`x_nbr`
                already are :meth:`lin_self` and :meth:`lin_nbr` of the vectors (and have
                :obj:`F_out` columns). By linearity the result is the same; it lets a
                caller apply :math:`\mathbf{W}` once per entity instead of once per
                (user, entity) pair. (default: :obj:`False`)
        """
        if x_nbr.dim() < 2 or x_nbr.shape[-2] != nbr_type.shape[-1]:
            raise ValueError(f"x_nbr {tuple(x_nbr.shape)} and nbr_type "
                             f"{tuple(nbr_type.shape)} must agree on K (x_nbr[..., K, F], "
                             "nbr_type[..., K])")
        if user.shape[-1] != rel_emb.shape[-1]:
            raise ValueError(f"user ({user.shape[-1]}) and rel_emb ({rel_emb.shape[-1]}) "
                             "need the same number of channels")
        pi = self.dense_attention(user, nbr_type, rel_emb)  # [*, K]
        # einsum keeps size-1 (broadcast) dimensions out of the product: item-side
        # tensors [1, I, K, F] are not copied once per user.
        agg = torch.einsum('...k,...kf->...f', pi, x_nbr)
        if self.scaling == 'mean':  # reduce_mean over the K neighbours
            agg = agg / x_nbr.size(-2)
        if transformed:
            return self._finish(x_self + agg)
        return self._finish(self.lin_self(x_self) + self.lin_nbr(agg))

    @torch.no_grad()
    def forward_dense_all_users(self, x_self: Tensor, x_nbr: Tensor, nbr_type: Tensor,
                                user: Tensor, rel_emb: Tensor,
                                workspace: Optional[Tensor] = None) -> Tensor:
        r""":meth:`forward_dense` with :obj:`transformed=True` of :math:`N` target nodes
        for each of :math:`B` users at once, for ranking (no autograd): item-major and
        in place, so the only large tensor is the :obj:`[N, B, F_out]` output (no
        :obj:`[B, N, F]` temporaries, one batched :math:`(B \times K)(K \times F)`
        product per node; tanh as :math:`2\sigma(2x) - 1`, the same function within
        :math:`2 \cdot 10^{-7}`).

        Args:
            x_self (torch.Tensor): :meth:`lin_self` of the targets, :obj:`[N, F_out]`
                (a scalar :obj:`0` for the :obj:`"neighbor"` aggregator).
            x_nbr (torch.Tensor): :meth:`lin_nbr` of their neighbours, :obj:`[N, K, F_out]`.
            nbr_type (torch.Tensor): Relations to the neighbours, :obj:`[N, K]`.
            user (torch.Tensor): The users, :obj:`[B, F_in]`.
            rel_emb (torch.Tensor): Relation embeddings :obj:`[R, F_in]`.
            workspace (torch.Tensor, optional): A contiguous buffer of at least
                :math:`N B F_{out}` floats that receives the output (reused across
                chunks, so that repeated calls do not fragment the host allocator).

        Returns:
            :obj:`[N, B, F_out]`: entry :obj:`[n, b]` is :meth:`forward_dense` of target
            :obj:`n` for user :obj:`b`.
        """
        user_rel = user @ rel_emb.t()  # [B, R]
        if self.scaling == 'mean':  # reduce_mean over the d channels
            user_rel = user_rel / self.in_channels
        pi = user_rel.t()[nbr_type.long()].softmax(dim=1)  # [N, K, B]
        # tanh(x) = 2 sigmoid(2x) - 1 (within 2e-7 of torch.tanh, 10x faster on an
        # AVX-512 CPU with torch 2.13): the factor 2 goes into the product.
        tanh = isinstance(self.act, torch.nn.Tanh)
        scale = 2.0 if tanh else 1.0
        alpha = scale / x_nbr.size(-2) if self.scaling == 'mean' else scale
        base = x_self if x_self.dim() > 0 else None  # scalar 0: 'neighbor' aggregator
        if self.bias is not None:
            base = self.bias.view(1, -1) if base is None else x_self + self.bias
        shape = (x_nbr.size(0), user.size(0), x_nbr.size(-1))  # [N, B, F_out]
        out = None
        if workspace is not None:
            out = workspace.view(-1)[:shape[0] * shape[1] * shape[2]].view(shape)
        if base is None:
            out = torch.bmm(pi.transpose(1, 2), x_nbr, out=out).mul_(alpha)
        else:  # scale * (base + sum_k pi_k x_k) in one batched product
            out = torch.baddbmm(base.unsqueeze(1), pi.transpose(1, 2), x_nbr, beta=scale,
                                alpha=alpha, out=out)
        if tanh:
            return out.sigmoid_().mul_(2.0).sub_(1.0)
        if isinstance(self.act, torch.nn.ReLU):
            return out.relu_()
        return self.act(out) if self.act is not None else out

    def _check(self, x: OptPairTensor, edge_index: Tensor, edge_type: Tensor, user: Tensor,
               rel_emb: Tensor, size: Optional[Tuple[int, int]]) -> None:
        for name, t in (('x', x[0]), ('x (targets)', x[1]), ('rel_emb', rel_emb)):
            if t is not None and t.size(-1) != self.in_channels:
                raise ValueError(f"'{name}' has {t.size(-1)} channels, expected "
                                 f"in_channels={self.in_channels}")
        if x[1] is None and self.aggregator != 'neighbor':
            raise ValueError(f"the {self.aggregator!r} aggregator needs the target nodes' "
                             "own features: pass x as a tensor or (x_src, x_dst)")
        if user.dim() != 2 or user.size(-1) != self.in_channels:
            raise ValueError(f"'user' must be [num_targets, {self.in_channels}] "
                             f"(got {tuple(user.shape)})")
        num_dst = x[1].size(0) if x[1] is not None else (size[1] if size else None)
        if num_dst is not None and user.size(0) != num_dst:
            raise ValueError(f"'user' needs one row per target node ({num_dst}), got "
                             f"{user.size(0)}; the attention is user-specific, so copy "
                             "target nodes once per user")
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"'edge_index' must be [2, E] (got {tuple(edge_index.shape)})")
        if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
            raise ValueError(f"'edge_type' must have one entry per edge "
                             f"({edge_index.size(1)}), got shape {tuple(edge_type.shape)}")
        if index_out_of_range(edge_type, rel_emb.size(0)):  # no host sync when compiled
            raise ValueError(f"'edge_type' must lie in [0, {rel_emb.size(0)}) "
                             f"(the rows of rel_emb)")

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'aggregator={self.aggregator!r}, act={self.act_name!r}'
                f"{'' if self.scaling == 'sum' else f', scaling={self.scaling!r}'})")
