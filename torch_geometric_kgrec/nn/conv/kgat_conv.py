r"""The knowledge-aware attentive propagation layer of KGAT."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import degree, is_sparse, softmax, spmm

from torch_geometric_kgrec.nn.kge.transr import relation_projection


def kgat_attention(x: Tensor, edge_index: Tensor, edge_type: Tensor, rel_emb: Tensor,
                   proj: Tensor, num_nodes: Optional[int] = None) -> Tensor:
    r"""KGAT's knowledge-aware attention (eq. 4-5 of the KGAT paper): the TransR-space
    score of every triple, normalised with :func:`torch_geometric.utils.softmax` over
    the triples of the same head,

    .. math::
        \pi(h, r, t) = (\mathbf{W}_r \mathbf{e}_t)^{\top}
        \tanh(\mathbf{W}_r \mathbf{e}_h + \mathbf{e}_r), \qquad
        \tilde{\pi}(h, r, t) = \frac{\exp \pi(h, r, t)}
        {\sum_{(h, r', t') \in \mathcal{N}_h} \exp \pi(h, r', t')}.

    The projections are one matrix product per relation (as PyG's
    :class:`~torch_geometric.nn.HeteroLinear` does without :obj:`pyg-lib`), never an
    :math:`|E| \times d \times k` tensor.

    Args:
        x (torch.Tensor): Node embeddings :math:`\mathbf{e}` :obj:`[N, d]`.
        edge_index (torch.Tensor): Triples' heads and tails :obj:`[2, E]`.
        edge_type (torch.Tensor): Triples' relations :obj:`[E]`.
        rel_emb (torch.Tensor): Relation embeddings :math:`\mathbf{e}_r`
            :obj:`[R, k]`.
        proj (torch.Tensor): Projections :math:`\mathbf{W}_r` :obj:`[R, k, d]`
            (:math:`\mathbf{W}_r \mathbf{e}`, the layout of
            :class:`~torch_geometric_kgrec.nn.kge.TransR`).
        num_nodes (int, optional): Number of nodes (default: :obj:`x.size(0)`).

    Returns:
        :obj:`[E]` attention weights summing to one over every head's triples.
    """
    num_rel, k, d = proj.shape
    if x.dim() != 2 or x.size(1) != d:
        raise ValueError(f"'x' must have shape [N, {d}] (got {list(x.shape)})")
    if rel_emb.shape != (num_rel, k):
        raise ValueError(f"'rel_emb' must have shape [{num_rel}, {k}] "
                         f"(got {list(rel_emb.shape)})")
    if edge_index.dim() != 2 or edge_index.size(0) != 2 or \
            edge_type.numel() != edge_index.size(1):
        raise ValueError("'edge_index' must be [2, E] and 'edge_type' [E]")
    if edge_type.numel() > 0 and (int(edge_type.min()) < 0 or
                                  int(edge_type.max()) >= num_rel):
        raise ValueError(f"'edge_type' must lie in [0, {num_rel})")
    # W_r e_h and W_r e_t with one GEMM per relation (never a [E, k, d] gather of W_r)
    wh, wt = relation_projection(x[edge_index.t()], edge_type, proj, grouped=True).unbind(1)
    score = (wt * torch.tanh(wh + rel_emb[edge_type])).sum(-1)
    return softmax(score, edge_index[0], num_nodes=num_nodes if num_nodes is not None else x.size(0))


class KGATConv(MessagePassing):
    r"""The attentive embedding propagation layer from the `"KGAT: Knowledge Graph
    Attention Network for Recommendation" <https://arxiv.org/abs/1905.07854>`_ paper
    (Wang et al., KDD 2019), over the collaborative knowledge graph. A head :math:`h`
    receives its tails' embeddings weighted by the attention
    :math:`\tilde{\pi}(h, r, t)` (eq. 3, see :func:`kgat_attention`) and combines
    them with its own embedding (eq. 6-8):

    .. math::
        \mathbf{e}_{\mathcal{N}_h} &= \sum_{(h, r, t) \in \mathcal{N}_h}
        \tilde{\pi}(h, r, t)\, \mathbf{e}_t

        \text{bi-interaction:}\quad \mathbf{e}_h' &=
        \mathrm{LeakyReLU}\big(\mathbf{W}_1(\mathbf{e}_h + \mathbf{e}_{\mathcal{N}_h})\big)
        + \mathrm{LeakyReLU}\big(\mathbf{W}_2(\mathbf{e}_h \odot
        \mathbf{e}_{\mathcal{N}_h})\big)

        \text{gcn:}\quad \mathbf{e}_h' &= \mathrm{LeakyReLU}\big(\mathbf{W}
        (\mathbf{e}_h + \mathbf{e}_{\mathcal{N}_h})\big), \qquad
        \text{graphsage:}\quad \mathbf{e}_h' = \mathrm{LeakyReLU}\big(\mathbf{W}
        (\mathbf{e}_h \,\|\, \mathbf{e}_{\mathcal{N}_h})\big)

    A triple :math:`(h, r, t)` stored as :obj:`edge_index[:, e] = (h, t)` sends
    :math:`\mathbf{e}_t` to :math:`h` (:obj:`flow="target_to_source"`, the KG
    convention of :class:`KGINConv`). Without :obj:`edge_weight` the neighbours are
    averaged, :math:`\tilde{\pi} = 1/|\mathcal{N}_h|` (KGAT's initial
    :math:`\mathbf{D}^{-1}\mathbf{A}`). A sparse :obj:`[N, N]` adjacency whose entry
    :math:`(h, t)` holds :math:`\tilde{\pi}` can replace :obj:`edge_index` (one
    sparse matmul; what :class:`~torch_geometric_kgrec.nn.models.KGAT` uses).

    Args:
        in_channels (int): Size of each input embedding.
        out_channels (int): Size of each output embedding.
        aggregator (str, optional): :obj:`"bi-interaction"`, :obj:`"gcn"` or
            :obj:`"graphsage"`. (default: :obj:`"bi-interaction"`)
        negative_slope (float, optional): LeakyReLU slope (0.2, TensorFlow's default
            used by the original KGAT code). (default: :obj:`0.2`)
        bias (bool, optional): Biases in :math:`\mathbf{W}`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)` (head -> tail) or a sparse
          :math:`(|\mathcal{V}|, |\mathcal{V}|)` attention matrix,
          edge weights :math:`(|\mathcal{E}|)` *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 aggregator: str = 'bi-interaction', negative_slope: float = 0.2,
                 bias: bool = True, **kwargs) -> None:
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('flow', 'target_to_source')
        super().__init__(**kwargs)
        if aggregator not in ('bi-interaction', 'gcn', 'graphsage'):
            raise ValueError(f"aggregator must be 'bi-interaction', 'gcn' or 'graphsage' "
                             f"(got {aggregator!r})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.aggregator = aggregator
        self.negative_slope = negative_slope
        lin_in = 2 * in_channels if aggregator == 'graphsage' else in_channels
        self.lin1 = Linear(lin_in, out_channels, bias=bias, weight_initializer='glorot')
        if aggregator == 'bi-interaction':
            self.lin2 = Linear(in_channels, out_channels, bias=bias,
                               weight_initializer='glorot')
        else:
            self.lin2 = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin1.reset_parameters()
        if self.lin2 is not None:
            self.lin2.reset_parameters()

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None) -> Tensor:
        if x.dim() != 2 or x.size(-1) != self.in_channels:
            raise ValueError(f"'x' must have shape [num_nodes, {self.in_channels}] "
                             f"(got {list(x.shape)})")
        if is_sparse(edge_index):
            if edge_weight is not None:
                raise ValueError("pass the attention as the values of the sparse "
                                 "adjacency, not as 'edge_weight'")
            if edge_index.size(0) != x.size(0) or edge_index.size(1) != x.size(0):
                raise ValueError(f"the adjacency must have shape [{x.size(0)}, "
                                 f"{x.size(0)}] (got {list(edge_index.shape)})")
            side = spmm(edge_index, x, reduce='sum')
        else:
            if edge_index.dim() != 2 or edge_index.size(0) != 2:
                raise ValueError(f"'edge_index' must have shape [2, E] (got "
                                 f"{list(edge_index.shape)})")
            if edge_weight is None:
                deg = degree(edge_index[0], x.size(0), dtype=x.dtype).clamp_(min=1)
                edge_weight = deg.reciprocal()[edge_index[0]]
            elif edge_weight.numel() != edge_index.size(1):
                raise ValueError(f"'edge_weight' has {edge_weight.numel()} entries but "
                                 f"'edge_index' has {edge_index.size(1)} edges")
            side = self.propagate(edge_index, x=x, edge_weight=edge_weight,
                                  size=(x.size(0), x.size(0)))
        return self.combine(x, side)

    def combine(self, x: Tensor, side: Tensor) -> Tensor:
        r"""The aggregator :math:`f(\mathbf{e}_h, \mathbf{e}_{\mathcal{N}_h})`
        (eq. 6-8)."""
        act = lambda t: F.leaky_relu(t, self.negative_slope)  # noqa: E731
        if self.aggregator == 'gcn':
            return act(self.lin1(x + side))
        if self.aggregator == 'graphsage':
            return act(self.lin1(torch.cat([x, side], dim=-1)))
        return act(self.lin1(x + side)) + act(self.lin2(x * side))

    def message(self, x_j: Tensor, edge_weight: Tensor) -> Tensor:
        return edge_weight.view(-1, 1) * x_j

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'aggregator={self.aggregator!r})')
