r"""The gated path graph convolution of KMPN."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import glorot

from torch_geometric_kgrec.nn.conv.relational_adj import RelationalAdj, typed_edges
from torch_geometric_kgrec.nn.gather_dot import gather_dot


def add_inverse_relations(edge_index: Tensor, edge_type: Tensor,
                          num_relations: int) -> Tuple[Tensor, Tensor]:
    r"""Extend KG triples :math:`(h, r, t)` with their inverses :math:`(t, r + R, h)`
    (CKMPN Sec. 3.1, KGIN): returns the :obj:`[2, 2E]` edge indices and :obj:`[2E]`
    edge types over :math:`2R` relations."""
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, E] (got {list(edge_index.shape)})")
    if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
        raise ValueError(f"'edge_type' must have shape [{edge_index.size(1)}] "
                         f"(got {list(edge_type.shape)})")
    if edge_type.numel() > 0 and (int(edge_type.min()) < 0 or
                                  int(edge_type.max()) >= num_relations):
        raise ValueError(f"'edge_type' must lie in [0, {num_relations})")
    return (torch.cat([edge_index, edge_index.flip(0)], dim=1),
            torch.cat([edge_type, edge_type + num_relations]))


class GatedPathConv(MessagePassing):
    r"""The gated path graph convolution from the `"Transformer-Empowered
    Content-Aware Collaborative Filtering" <https://arxiv.org/abs/2204.00849>`_ paper
    (KMPN, Lin et al., eq. 1-2):

    .. math::
        \mathbf{e}_i^{(l+1)} = \frac{1}{|\mathcal{N}_i|}
        \sum_{(v_i, r_{ij}, v_j) \in \mathcal{T}} \gamma_{ij}\,
        \mathbf{e}_{r_{ij}} \odot \mathbf{e}_j^{(l)}, \qquad
        \gamma_{ij} = \sigma\big(\mathbf{e}_i^{(l)\top} \mathbf{e}_{r_{ij}}\big)

    A KG triple :math:`(h, r, t)` stored as :obj:`edge_index[:, e] = (h, t)` sends
    :math:`\mathbf{e}_t` to the head :math:`h` (:obj:`flow="target_to_source"`, the KG
    convention shared with :class:`KGINConv`). Inverse relations are added beforehand,
    e.g. by :func:`add_inverse_relations`. Stack :math:`L` layers and combine them with
    :func:`~torch_geometric_kgrec.nn.readout.layer_sum`.

    The gate depends on the head and the relation only, so it is computed as an
    :obj:`[E]` (or :obj:`[P]`) vector by
    :func:`~torch_geometric_kgrec.nn.gather_dot.gather_dot`: memory linear in the
    number of edges (pairs), neither an :math:`|E| \times d` tensor kept for the
    backward pass nor an :math:`N \times R` table that grows with the relations.
    Two equivalent code paths compute the aggregation:

    * a :obj:`[2, E]` tensor :obj:`edge_index` with :obj:`edge_type`, or a sparse
      adjacency (:obj:`torch.sparse` / :class:`SparseTensor`, rows = heads, all values
      1) with :obj:`edge_type` giving the relation of each stored entry: PyG
      gather-multiply-scatter. Sparse values are edge weights as in PyG, never relation
      ids (coalescing would sum the ids of a pair's several relations; see
      :func:`~torch_geometric_kgrec.nn.conv.relational_adj.typed_edges`);
    * a :class:`~torch_geometric_kgrec.nn.conv.RelationalAdj` (build it once per
      graph): the triples are grouped by (head, relation) pair :math:`(h, r)`, so
      :math:`\sum_{(h,r,t)} \gamma_{hr} \mathbf{e}_r \odot \mathbf{e}_t =
      \sum_{(h,r)} \gamma_{hr} \mathbf{e}_r \odot (\mathbf{A}\mathbf{X})_{(h,r)}` is
      one CSR matmul plus :math:`P \times d` element-wise work (fast and
      memory-lean; use it for large graphs).

    Args:
        channels (int): Size :math:`d` of the node and relation embeddings.
        num_relations (int, optional): If given, the layer owns
            :obj:`[num_relations, channels]` relation embeddings; otherwise they are
            passed to :meth:`forward` (e.g. shared by all hops, as in KMPN).
            (default: :obj:`None`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, d)`,
          edge indices :math:`(2, |\mathcal{E}|)` (head -> tail), a sparse
          :math:`(|\mathcal{V}|, |\mathcal{V}|)` adjacency or a :class:`RelationalAdj`,
          edge types :math:`(|\mathcal{E}|)`,
          relation embeddings :math:`(|\mathcal{R}|, d)` *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, d)`
    """
    def __init__(self, channels: int, num_relations: Optional[int] = None,
                 **kwargs) -> None:
        kwargs.setdefault('aggr', 'mean')
        kwargs.setdefault('flow', 'target_to_source')  # KG convention: head <- tail
        super().__init__(**kwargs)
        if channels <= 0:
            raise ValueError(f"'channels' must be positive (got {channels})")
        if num_relations is not None and num_relations <= 0:
            raise ValueError(f"'num_relations' must be positive (got {num_relations})")
        self.channels = channels
        self.num_relations = num_relations
        if num_relations is not None:
            self.relation_emb = Parameter(torch.empty(num_relations, channels))
        else:
            self.register_parameter('relation_emb', None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.relation_emb is not None:
            glorot(self.relation_emb)

    def forward(self, x: Tensor, edge_index: Union[Tensor, RelationalAdj],
                edge_type: Optional[Tensor] = None,
                relation_emb: Optional[Tensor] = None) -> Tensor:
        r"""Runs one hop of eq. 1-2."""
        if x.dim() != 2 or x.size(-1) != self.channels:
            raise ValueError(f"'x' must have shape [num_nodes, {self.channels}] "
                             f"(got {list(x.shape)})")
        rel = relation_emb if relation_emb is not None else self.relation_emb
        if rel is None:
            raise ValueError("'relation_emb' is required when the layer was built "
                             "without 'num_relations'")
        if rel.dim() != 2 or rel.size(-1) != self.channels:
            raise ValueError(f"'relation_emb' must have shape [num_relations, "
                             f"{self.channels}] (got {list(rel.shape)})")
        num_rel = rel.size(0)

        if isinstance(edge_index, RelationalAdj):
            if edge_index.num_relations != num_rel:
                raise ValueError(f"the RelationalAdj has {edge_index.num_relations} "
                                 f"relations, the relation embeddings {num_rel}")
            # gamma_hr = sigma(e_h^T e_r), one per (head, relation) pair: [P]
            gate = gather_dot(x, rel, edge_index.pair_head, edge_index.pair_rel)
            return edge_index.propagate(x, rel, pair_weight=gate.sigmoid())

        edge_index, edge_type = typed_edges(edge_index, edge_type, num_rel,
                                             'GatedPathConv')
        size = (x.size(0), x.size(0))
        gate = self.edge_updater(edge_index, x=x, rel=rel, edge_type=edge_type, size=size)
        return self.propagate(edge_index, x=x, gate=gate, edge_type=edge_type, rel=rel,
                              size=size)

    def edge_update(self, edge_index_i: Tensor, x: Tensor, rel: Tensor,
                    edge_type: Tensor) -> Tensor:
        # gamma_ij = sigma(e_i^T e_r): shape [E], O(E) memory
        return gather_dot(x, rel, edge_index_i, edge_type).sigmoid()

    def message(self, x_j: Tensor, gate: Tensor, edge_type: Tensor, rel: Tensor) -> Tensor:
        return gate.unsqueeze(-1) * rel[edge_type] * x_j

    def __repr__(self) -> str:
        if self.num_relations is None:
            return f'{self.__class__.__name__}({self.channels})'
        return (f'{self.__class__.__name__}({self.channels}, '
                f'num_relations={self.num_relations})')
