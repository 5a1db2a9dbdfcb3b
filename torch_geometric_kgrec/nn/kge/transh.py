from typing import Union

import torch
from torch import Tensor
from torch.nn import Embedding
from torch.nn.utils import parametrize

from torch_geometric_kgrec.nn.kge.translational import TranslationalKGEModel, UnitNorm


class TransH(TranslationalKGEModel):
    r"""The TransH model from the `"Knowledge Graph Embedding by Translating on
    Hyperplanes" <https://ojs.aaai.org/index.php/AAAI/article/view/8870>`_ paper
    (Wang et al., AAAI 2014), the KG completion component of KTUP (eq. 1-4 of
    `"Unifying Knowledge Graph Learning and Recommendation"
    <https://arxiv.org/abs/1902.06236>`_).

    Every relation owns a hyperplane with unit normal :math:`\mathbf{w}_r` and a
    translation :math:`\mathbf{d}_r`; entities are projected onto the hyperplane
    before translating:

    .. math::
        \mathbf{e}_{\perp} = \mathbf{e} - \mathbf{w}_r^{\top}\mathbf{e}\,\mathbf{w}_r
        \quad \text{(eq. 2-3)}, \qquad
        f(h, t, r) = \| \mathbf{e}_{h\perp} + \mathbf{d}_r - \mathbf{e}_{t\perp} \|_p
        \quad \text{(eq. 1)}

    :meth:`forward` returns :math:`-f` (higher = more plausible, as PyG's
    :class:`~torch_geometric.nn.kge.TransE`); :meth:`loss` is the margin ranking
    loss of eq. 4, :math:`\sum [f^+ + \gamma - f^-]_+`, over head/tail corruptions.
    :math:`\|\mathbf{w}_r\|_2 = 1` is a parametrization (holds after any optimiser
    step); entities are kept in the unit ball.

    Args:
        num_nodes (int): Number of entities.
        num_relations (int): Number of relations.
        hidden_channels (int): Embedding size.
        margin (float, optional): Margin :math:`\gamma`. (default: :obj:`1.0`)
        p_norm (float, optional): Distance norm, :obj:`1.0` (L1, the paper's) or
            :obj:`2.0`. (default: :obj:`1.0`)
        reduction (str, optional): :obj:`"sum"` (eq. 4) or :obj:`"mean"`.
            (default: :obj:`"sum"`)
        sparse (bool, optional): Sparse gradients for entity/translation tables.
            (default: :obj:`False`)

    Shapes:
        - **input:** head_index :math:`(n)`, rel_type :math:`(n)`, tail_index :math:`(n)`
        - **output:** :math:`(n)`; :meth:`score_tails` / :meth:`score_heads`
          :math:`(n, |\mathcal{E}|)`
    """
    def __init__(self, num_nodes: int, num_relations: int, hidden_channels: int,
                 margin: float = 1.0, p_norm: float = 1.0, reduction: str = 'sum',
                 sparse: bool = False) -> None:
        super().__init__(num_nodes, num_relations, hidden_channels, margin, p_norm,
                         reduction, sparse)
        self.normal_emb = Embedding(num_relations, hidden_channels)
        parametrize.register_parametrization(self.normal_emb, 'weight', UnitNorm())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.node_emb.weight)
        torch.nn.init.xavier_uniform_(self.rel_emb.weight)
        with torch.no_grad():
            torch.nn.init.xavier_uniform_(self.normal_emb.parametrizations.weight.original)

    def normal(self, rel: Union[Tensor, int, None] = None) -> Tensor:
        r"""Unit hyperplane normals :math:`\mathbf{w}_r` (all if :obj:`rel` is None)."""
        w = self.normal_emb.weight
        return w if rel is None else w[rel]

    def project(self, x: Tensor, rel: Union[Tensor, int]) -> Tensor:
        r"""Projection onto relation :obj:`rel`'s hyperplane (eq. 2-3)."""
        return hyperplane_projection(x, self.normal(rel))


def hyperplane_projection(x: Tensor, w: Tensor) -> Tensor:
    r""":math:`\mathbf{x} - \mathbf{w}^{\top}\mathbf{x}\,\mathbf{w}` row-wise (unit
    :math:`\mathbf{w}`, broadcast over leading dimensions)."""
    return x - (x * w).sum(dim=-1, keepdim=True) * w
