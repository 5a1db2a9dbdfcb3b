r"""Late fusion of content-based features into KMPN (CKMPN Sec. 5.3, Table 3)."""
from typing import Tuple

import torch
from torch import Tensor
from torch.nn import Module, ModuleList, TransformerEncoder, TransformerEncoderLayer
from torch_geometric.nn import MLP, Linear

from torch_geometric_kgrec.nn.models.kmpn import KMPN


class _AttentionFusion(Module):
    r"""Two tokens (CF feature, projected CBF feature) through :obj:`num_blocks`
    multi-head self-attention blocks; the output tokens are concatenated."""
    def __init__(self, h: int, c: int, num_blocks: int, heads: int) -> None:
        super().__init__()
        self.cbf = Linear(c, h)
        layer = TransformerEncoderLayer(h, heads, dim_feedforward=2 * h, dropout=0.0,
                                        batch_first=True)
        self.blocks = TransformerEncoder(layer, num_blocks, enable_nested_tensor=False)

    def reset_parameters(self) -> None:
        self.cbf.reset_parameters()
        for layer in self.blocks.layers:
            for m in layer.modules():
                if hasattr(m, '_reset_parameters'):
                    m._reset_parameters()
                elif isinstance(m, (torch.nn.Linear, torch.nn.LayerNorm)):
                    m.reset_parameters()

    def forward(self, cf: Tensor, cbf: Tensor) -> Tensor:
        tokens = torch.stack([cf, self.cbf(cbf)], dim=1)  # [N, 2, h]
        return self.blocks(tokens).flatten(1)  # [N, 2h]


class LateFusionKMPN(KMPN):
    r"""The late-fusion baselines of the `"Transformer-Empowered Content-Aware
    Collaborative Filtering" <https://arxiv.org/abs/2204.00849>`_ paper (Sec. 5.3,
    Table 3): the content-based (NRMS-BERT) features are fused with KMPN's *output*
    user/item embeddings (after the graph convolutions) into embeddings of size
    :math:`2h`; the score is their dot product and the loss is KMPN's on them.

    * :obj:`fusion="mlp"` (concat+linear): :math:`\text{MLP}_3([\mathbf{e}^{KMPN}
      \,\|\, \mathbf{e}^{NRMS}]) \in \mathbb{R}^{2h}` (3 layers, width :math:`2h`).
    * :obj:`fusion="attention"` (MultiHeadAtt): the two features (the CBF one linearly
      mapped to :math:`h`) as a 2-token sequence through 3 multi-head self-attention
      blocks; the two output tokens concatenated give :math:`2h`.

    Users and items have separate fusion networks (they are different inputs to the
    dot product).

    Args:
        *args, **kwargs: Those of :class:`KMPN`.
        user_features (torch.Tensor): :obj:`[U, c]`.
        item_features (torch.Tensor): :obj:`[I, c]`.
        fusion (str, optional): :obj:`"mlp"` or :obj:`"attention"`.
            (default: :obj:`"mlp"`)
        num_blocks (int, optional): Attention blocks / MLP layers. (default: :obj:`3`)
        heads (int, optional): Attention heads. (default: :obj:`4`)
    """
    def __init__(self, *args, user_features: Tensor, item_features: Tensor,
                 fusion: str = 'mlp', num_blocks: int = 3, heads: int = 4,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if fusion not in ('mlp', 'attention'):
            raise ValueError(f"'fusion' must be 'mlp' or 'attention' (got {fusion!r})")
        if user_features.size(0) != self.num_users or \
                item_features.size(0) != self.num_items or \
                user_features.size(1) != item_features.size(1):
            raise ValueError(f"features must have shapes [{self.num_users}, c] and "
                             f"[{self.num_items}, c] (got {list(user_features.shape)} and "
                             f"{list(item_features.shape)})")
        self.fusion = fusion
        h, c = self.embedding_dim, user_features.size(1)
        self.register_buffer('user_features', user_features.detach().float(),
                             persistent=False)
        self.register_buffer('item_features', item_features.detach().float(),
                             persistent=False)
        if fusion == 'mlp':
            self.fuse = ModuleList([
                MLP([h + c] + [2 * h] * num_blocks, norm=None) for _ in range(2)])
        else:
            self.fuse = ModuleList([_AttentionFusion(h, c, num_blocks, heads)
                                    for _ in range(2)])
        for f in self.fuse:
            f.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for f in getattr(self, 'fuse', []):
            f.reset_parameters()

    def _fuse(self, k: int, cf: Tensor, cbf: Tensor) -> Tensor:
        if self.fusion == 'mlp':
            return self.fuse[k](torch.cat([cf, cbf], dim=-1))
        return self.fuse[k](cf, cbf)

    def forward(self) -> Tuple[Tensor, Tensor]:
        r"""Fused user and item embeddings, :obj:`[U, 2h]` and :obj:`[I, 2h]`."""
        u, x = super().forward()
        return (self._fuse(0, u, self.user_features),
                self._fuse(1, x[:self.num_items], self.item_features))

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', fusion={self.fusion})'


__all__ = ['LateFusionKMPN']
