r"""Additive attention pooling of NRMS / NRMS-BERT's user encoder (CKMPN eq. 13-15)."""
import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn import Linear
from torch_geometric.utils import scatter, softmax


class AdditiveAttention(Module):
    r"""The additive attention of NRMS (Wu et al., EMNLP 2019) as used by NRMS-BERT's
    user encoder in the `"Transformer-Empowered Content-Aware Collaborative Filtering"
    <https://arxiv.org/abs/2204.00849>`_ paper (Lin et al., eq. 13-15): a user is the
    attention-weighted sum of the embeddings of its :math:`B` browsed items,

    .. math::
        \hat{\mathbf{A}} = \tanh(\mathbf{E}_u \mathbf{A}_{fc1} + \mathbf{b}_{fc1})
        \mathbf{A}_{fc2} + b_{fc2} \quad (15)

        \alpha_b = \frac{\exp(\hat{A}_b)}{\sum_{b'} \exp(\hat{A}_{b'})} \quad (14),
        \qquad \mathbf{e}_u = \sum_{b=1}^{B} \alpha_b \mathbf{e}_{i_{u,b}} \quad (13)

    with :math:`\mathbf{A}_{fc1} \in \mathbb{R}^{h \times h/2}` and
    :math:`\mathbf{A}_{fc2} \in \mathbb{R}^{h/2 \times 1}`. Sets of different sizes are
    given as a flat list of item embeddings with the :obj:`index` of their set (the
    PyG way: :func:`torch_geometric.utils.softmax` per set), so no padding is needed.

    Args:
        channels (int): Item embedding size :math:`h`.
        hidden_channels (int, optional): Width of the first layer (default:
            :obj:`channels // 2`, as in the paper).

    Shapes:
        - **input:** item embeddings :math:`(N, h)`, set index :math:`(N)` with values
          in :math:`[0, S)`
        - **output:** set (user) embeddings :math:`(S, h)`
    """
    def __init__(self, channels: int, hidden_channels: int = None) -> None:
        super().__init__()
        self.channels = channels
        self.hidden_channels = hidden_channels or max(channels // 2, 1)
        self.fc1 = Linear(channels, self.hidden_channels)
        self.fc2 = Linear(self.hidden_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()

    def attention(self, x: Tensor, index: Tensor, num_sets: int = None) -> Tensor:
        r"""The weights :math:`\alpha_b` (eq. 14-15), :obj:`[N]`, summing to 1 per set."""
        logit = self.fc2(torch.tanh(self.fc1(x))).view(-1)
        return softmax(logit, index, num_nodes=num_sets)

    def forward(self, x: Tensor, index: Tensor, num_sets: int = None) -> Tensor:
        if x.dim() != 2 or x.size(-1) != self.channels:
            raise ValueError(f"'x' must have shape [N, {self.channels}] (got "
                             f"{list(x.shape)})")
        if index.numel() != x.size(0):
            raise ValueError(f"'index' must have one entry per row of 'x' ({x.size(0)}, "
                             f"got {index.numel()})")
        num_sets = int(index.max()) + 1 if num_sets is None and index.numel() else \
            (num_sets or 0)
        alpha = self.attention(x, index, num_sets)
        return scatter(alpha.unsqueeze(-1) * x, index, dim=0, dim_size=num_sets,
                       reduce='sum')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.channels}, hidden={self.hidden_channels})'


__all__ = ['AdditiveAttention']
