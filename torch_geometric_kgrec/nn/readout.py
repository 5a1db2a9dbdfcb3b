r"""Layer-sum readout shared by the KG propagation models (KGIN, KMPN)."""
from typing import Sequence, Union

import torch
from torch import Tensor


def layer_sum(xs: Union[Sequence[Tensor], Tensor]) -> Tensor:
    r"""Sum of the outputs of every propagation layer, including layer 0 (the input
    embeddings), as in KGIN and KMPN (CKMPN Sec. 3.2.1):

    .. math::
        \mathbf{e}_i = \sum_{l=0}^{L} \mathbf{e}_i^{(l)}

    Args:
        xs (list[torch.Tensor] or torch.Tensor): The :math:`L + 1` layer outputs, each
            of shape :obj:`[N, F]`, or a stacked tensor :obj:`[L + 1, N, F]`.

    Returns:
        :obj:`[N, F]`.
    """
    if isinstance(xs, Tensor):
        if xs.dim() < 2:
            raise ValueError(f"layer_sum() expects a stacked tensor [L + 1, N, F] "
                             f"(got shape {tuple(xs.shape)})")
        return xs.sum(dim=0)
    xs = list(xs)
    if len(xs) == 0:
        raise ValueError("layer_sum() needs at least one layer output")
    shape = xs[0].shape
    for i, x in enumerate(xs):
        if x.shape != shape:
            raise ValueError(f"layer_sum(): layer {i} has shape {tuple(x.shape)}, "
                             f"layer 0 has {tuple(shape)}")
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


__all__ = ['layer_sum']
