from typing import Optional, Union

import torch
from torch import Tensor
from torch.nn import Embedding

from torch_geometric_kgrec.nn.kge.translational import TranslationalKGEModel, max_norm


def relation_projection(x: Tensor, rel: Tensor, proj: Tensor,
                        grouped: Optional[bool] = None) -> Tensor:
    r"""The TransR projections :math:`\mathbf{M}_{r_b}\mathbf{x}_{b,j}` of every row
    :obj:`x[b]` :obj:`[B, J, d]` by the matrix of its relation :obj:`rel[b]` (from
    :obj:`proj` :obj:`[R, k, d]`), :obj:`[B, J, k]`.

    :obj:`grouped=True` sorts the rows by relation and multiplies each relation's
    rows by its matrix (one :obj:`[n_r J, d] x [d, k]` product per relation present,
    as :class:`~torch_geometric.nn.conv.RGCNConv` without :obj:`segment_matmul`):
    no :obj:`[B, k, d]` gather of the matrices, and their gradient is accumulated
    per relation instead of scattered from :obj:`[B, k, d]` (3x faster per TransR
    step on a CPU for :math:`d = k = 64`). It reads the relation counts on the host
    once (a device sync), so :obj:`grouped=False`, one gather and one batched
    product, is the default on GPUs; :obj:`None` picks by :obj:`x`'s device.
    """
    if grouped is None:
        grouped = x.device.type == 'cpu'
    if not grouped:
        return torch.bmm(x, proj[rel].transpose(1, 2))
    order = torch.argsort(rel, stable=True)
    counts = torch.bincount(rel, minlength=proj.size(0)).tolist()
    parts = [xs @ proj[r].t() for r, xs in enumerate(x[order].split(counts)) if xs.numel()]
    out = torch.cat(parts) if parts else x.new_empty(x.shape[:-1] + (proj.size(1), ))
    return out[torch.argsort(order)]


class TransR(TranslationalKGEModel):
    r"""The TransR model from the `"Learning Entity and Relation Embeddings for
    Knowledge Graph Completion" <https://ojs.aaai.org/index.php/AAAI/article/view/9491>`_
    paper (Lin et al., AAAI 2015), the KG component of the CKE baseline.

    Entities live in :math:`\mathbb{R}^d`, relation :math:`r` in
    :math:`\mathbb{R}^k` with a projection matrix :math:`\mathbf{M}_r \in
    \mathbb{R}^{k \times d}`:

    .. math::
        f(h, t, r) = \| \mathbf{M}_r\mathbf{e}_h + \mathbf{d}_r
        - \mathbf{M}_r\mathbf{e}_t \|_p

    :meth:`forward` returns :math:`-f`; :meth:`loss` is the margin ranking loss.
    Entities and relation translations are kept in the unit ball.

    Args:
        num_nodes (int): Number of entities.
        num_relations (int): Number of relations.
        hidden_channels (int): Entity embedding size :math:`d`.
        relation_channels (int, optional): Relation space size :math:`k`
            (default: :obj:`hidden_channels`).
        margin (float, optional): Margin. (default: :obj:`1.0`)
        p_norm (float, optional): Distance norm. (default: :obj:`1.0`)
        reduction (str, optional): :obj:`"sum"` or :obj:`"mean"`. (default: :obj:`"sum"`)
        sparse (bool, optional): Sparse gradients. (default: :obj:`False`)

    Shapes:
        - **input:** head_index :math:`(n)`, rel_type :math:`(n)`, tail_index :math:`(n)`
        - **output:** :math:`(n)`; :meth:`score_tails` / :meth:`score_heads`
          :math:`(n, |\mathcal{E}|)`
    """
    def __init__(self, num_nodes: int, num_relations: int, hidden_channels: int,
                 relation_channels: Optional[int] = None, margin: float = 1.0,
                 p_norm: float = 1.0, reduction: str = 'sum', sparse: bool = False) -> None:
        super().__init__(num_nodes, num_relations, hidden_channels, margin, p_norm,
                         reduction, sparse)
        self.relation_channels = relation_channels or hidden_channels
        self.rel_emb = Embedding(num_relations, self.relation_channels, sparse=sparse)
        self.proj = torch.nn.Parameter(
            torch.empty(num_relations, self.relation_channels, hidden_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.node_emb.weight)
        torch.nn.init.xavier_uniform_(self.rel_emb.weight)
        with torch.no_grad():  # start from the identity (TransE initialisation)
            self.proj.copy_(torch.eye(self.relation_channels, self.hidden_channels)
                            .expand_as(self.proj))

    def translation(self, rel: Union[Tensor, int]) -> Tensor:
        return max_norm(super().translation(rel))

    def project(self, x: Tensor, rel: Union[Tensor, int]) -> Tensor:
        r""":math:`\mathbf{M}_r \mathbf{x}`, kept in the unit ball."""
        if isinstance(rel, int):
            return max_norm(x @ self.proj[rel].t())
        return max_norm(torch.bmm(self.proj[rel], x.unsqueeze(-1)).squeeze(-1))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_nodes}, '
                f'num_relations={self.num_relations}, '
                f'hidden_channels={self.hidden_channels}, '
                f'relation_channels={self.relation_channels})')
