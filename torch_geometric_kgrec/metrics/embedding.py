r"""Embedding quality: alignment and uniformity (Wang and Isola, ICML 2020), as used
by Kim et al. (LREC-COLING 2024, Sec. 4.2) to compare content embeddings.
Both are differentiable and return a scalar tensor (lower is better for both)."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['alignment', 'uniformity']


def alignment(x: Tensor, y: Tensor, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Alignment of positive pairs :math:`(x_i, y_i)`:

    .. math::
        \mathcal{L}_{\mathrm{align}} = \frac{1}{n} \sum_{i=1}^{n}
        \| \hat x_i - \hat y_i \|_2^{\alpha},

    where :math:`\hat x = x / \|x\|` if :obj:`normalize` (features on the unit
    hypersphere, as the metric assumes) else :math:`x`.

    Args:
        x (torch.Tensor): Features :obj:`[n, d]`.
        y (torch.Tensor): Features of the positive partners :obj:`[n, d]`.
        alpha (float): Exponent. (default: :obj:`2`)
        normalize (bool): L2-normalise the rows first. (default: :obj:`True`)
    """
    if x.dim() != 2 or x.shape != y.shape or x.size(0) == 0:
        raise ValueError(f"'x' and 'y' must be non-empty with equal shape [n, d] "
                         f"(got {list(x.shape)} and {list(y.shape)})")
    if normalize:
        x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    return (x - y).norm(p=2, dim=1).pow(alpha).mean()


def uniformity(x: Tensor, t: float = 2.0, normalize: bool = True,
               batch_size: int = 256) -> Tensor:
    r"""Uniformity: log of the mean Gaussian potential over all unique pairs,

    .. math::
        \mathcal{L}_{\mathrm{uniform}} = \log \frac{2}{n(n-1)} \sum_{i<j}
        e^{-t \| \hat x_i - \hat x_j \|_2^2},

    computed exactly in row chunks of :obj:`batch_size` with a log-sum-exp (no
    :math:`n \times n` matrix is kept).

    Args:
        x (torch.Tensor): Features :obj:`[n, d]`, :math:`n \ge 2`.
        t (float): Temperature. (default: :obj:`2`)
        normalize (bool): L2-normalise the rows first. (default: :obj:`True`)
        batch_size (int): Rows per chunk. (default: :obj:`256`)
    """
    if x.dim() != 2 or x.size(0) < 2:
        raise ValueError(f"'x' must have shape [n, d] with n >= 2 (got {list(x.shape)})")
    if normalize:
        x = F.normalize(x, dim=-1)
    n = x.size(0)
    sq = x.pow(2).sum(-1)
    parts = []
    for start in range(0, n - 1, batch_size):
        end = min(start + batch_size, n)
        # Rows [start, end) against columns >= start; pairs j <= i are masked out.
        logits = torch.addmm(sq[start:].view(1, -1), x[start:end], x[start:].t(), alpha=-2)
        logits = logits.add(sq[start:end].view(-1, 1)).clamp(min=0).mul(-t)
        lower = torch.ones(end - start, n - start, dtype=torch.bool, device=x.device)
        lower = lower.tril(diagonal=0)
        parts.append(torch.logsumexp(logits.masked_fill(lower, float('-inf')).view(-1), dim=0))
    return torch.logsumexp(torch.stack(parts), dim=0) - math.log(n * (n - 1) / 2)
