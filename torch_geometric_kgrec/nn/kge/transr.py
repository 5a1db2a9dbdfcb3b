from typing import Optional, Union

import torch
from torch import Tensor
from torch.nn import Embedding

from torch_geometric_kgrec.nn.kge.translational import TranslationalKGEModel, max_norm


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
