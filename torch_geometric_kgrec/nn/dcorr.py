r"""Distance correlation (KGIN's independence loss) and the soft distance correlation
loss of KMPN (CKMPN eq. 7-8).

Every function takes a matrix :obj:`x` of shape :obj:`[P, n]`: :math:`P` vectors (e.g.
the :math:`P` preference / intent embeddings) whose :math:`n` entries are treated as
:math:`n` paired scalar samples, as in the reference implementations of KGIN and KMPN.
Distance correlation is the (biased, V-statistic) sample version of Székely et al. (2007):

.. math::
    a_{kl} = |x_k - x_l|, \quad
    A_{kl} = a_{kl} - \bar{a}_{k\cdot} - \bar{a}_{\cdot l} + \bar{a}_{\cdot\cdot}, \quad
    \mathrm{dCov}^2(x, y) = \frac{1}{n^2}\sum_{k,l} A_{kl} B_{kl}, \quad
    \mathrm{dCor}(x, y) = \frac{\mathrm{dCov}(x, y)}
    {\sqrt{\mathrm{dCov}(x, x)\,\mathrm{dCov}(y, y)}}.
"""
import math

import torch
from torch import Tensor


def _check(x: Tensor, name: str = 'x') -> None:
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError(f"'{name}' must be a 2-D tensor [P, n] of P vectors with n "
                         f"samples each (got {getattr(x, 'shape', type(x))})")
    if x.size(1) < 2:
        raise ValueError(f"'{name}' needs at least 2 samples per vector (got shape "
                         f"{tuple(x.shape)})")
    if not x.is_floating_point():
        raise ValueError(f"'{name}' must be a floating-point tensor (got {x.dtype})")


def _double_centered_distances(x: Tensor) -> Tensor:
    # [P, n] -> [P, n, n]; |x_k - x_l| then row/column/grand-mean centring.
    d = (x.unsqueeze(-1) - x.unsqueeze(-2)).abs()
    return (d - d.mean(dim=-1, keepdim=True) - d.mean(dim=-2, keepdim=True) +
            d.mean(dim=(-2, -1), keepdim=True))


def distance_correlation_matrix(x: Tensor, stable_eps: float = 1e-8) -> Tensor:
    r"""Pairwise distance correlations :math:`\mathrm{dCor}(x_p, x_q)` of the rows of
    :obj:`x` (:obj:`[P, n]`), returned as a :obj:`[P, P]` matrix.

    Args:
        x (torch.Tensor): :obj:`[P, n]`.
        stable_eps (float, optional): Added under the square roots (as KGIN does) so
            that gradients stay finite at zero dependence; :obj:`0` gives the exact
            statistic. (default: :obj:`1e-8`)
    """
    _check(x)
    n = x.size(1)
    A = _double_centered_distances(x).flatten(1)  # [P, n*n]
    dcov2 = (A @ A.t()) / (n * n)
    dcov = (dcov2.clamp(min=0) + stable_eps).sqrt()
    dvar = dcov.diagonal()
    return dcov / (dvar.unsqueeze(0) * dvar.unsqueeze(1) + stable_eps).sqrt()


def distance_correlation(x: Tensor, y: Tensor, stable_eps: float = 1e-8) -> Tensor:
    r"""Sample distance correlation of two vectors :obj:`x` and :obj:`y` of shape
    :obj:`[n]` (their entries are the paired samples)."""
    if x.dim() != 1 or x.shape != y.shape:
        raise ValueError(f"distance_correlation() expects two vectors of equal length "
                         f"(got {tuple(x.shape)} and {tuple(y.shape)})")
    return distance_correlation_matrix(torch.stack([x, y]), stable_eps)[0, 1]


def distance_correlation_loss(x: Tensor, stable_eps: float = 1e-8) -> Tensor:
    r"""KGIN's independence loss (distance-correlation variant): the sum of the
    distance correlations of all unordered pairs of rows of :obj:`x` (:obj:`[P, n]`),

    .. math::
        \mathcal{L}_{\text{DCorr}} = \sum_{p < p'} \mathrm{dCor}(\mathbf{x}_p,
        \mathbf{x}_{p'}).

    CKMPN eq. 8 writes the sum over ordered pairs :math:`p \neq p'`, which is exactly
    twice this value; like the reference code we sum unordered pairs (the factor 2 is
    absorbed by the loss weight :math:`\lambda_2`).
    """
    corr = distance_correlation_matrix(x, stable_eps)
    return torch.triu(corr, diagonal=1).sum()


def pca_project(x: Tensor, num_components: int, center: bool = True) -> Tensor:
    r"""Principal component analysis of the rows of :obj:`x` (:obj:`[P, h]`, one
    observation per row) returning the *projected data* (the principal component
    scores) :math:`(\mathbf{X} - \bar{\mathbf{x}})\mathbf{V}_k = \mathbf{U}_k
    \mathbf{S}_k` of shape :obj:`[P, k]`, differentiable through the SVD.

    There are at most :math:`\min(P, h)` principal axes, so
    :math:`k = \min(\text{num\_components}, P, h)` (as in scikit-learn). Signs follow
    scikit-learn's ``svd_flip`` convention (the largest-magnitude entry of each column
    of :math:`\mathbf{U}` is positive), which makes the result deterministic.
    """
    _check(x)
    if num_components < 1:
        raise ValueError(f"'num_components' must be positive (got {num_components})")
    k = min(int(num_components), x.size(0), x.size(1))
    xc = x - x.mean(dim=0, keepdim=True) if center else x
    U, S, _ = torch.linalg.svd(xc, full_matrices=False)
    U, S = U[:, :k], S[:k]
    rows = U.detach().abs().argmax(dim=0)
    sign = torch.sign(U.detach()[rows, torch.arange(k, device=x.device)])
    sign[sign == 0] = 1
    return U * (S * sign).unsqueeze(0)


def soft_distance_correlation_loss(x: Tensor, eps: float = 0.5,
                                   stable_eps: float = 1e-8) -> Tensor:
    r"""Soft distance correlation loss of KMPN (CKMPN eq. 7-8): reduce the
    preference embeddings with PCA to :math:`\lceil \epsilon h \rceil` components,
    then sum the distance correlations of all pairs of reduced embeddings:

    .. math::
        \hat{\mathbf{e}}_p = \mathrm{PCA}(\{\mathbf{e}_{p'} \mid p' \in
        \mathcal{P}\})_p \in \mathbb{R}^{\lceil \epsilon h \rceil}, \qquad
        \mathcal{L}_{\text{SoftDCorr}} = \sum_{p < p'}
        \frac{\mathrm{dCov}(\hat{\mathbf{e}}_p, \hat{\mathbf{e}}_{p'})}
        {\sqrt{\mathrm{dVar}(\hat{\mathbf{e}}_p)\,\mathrm{dVar}(\hat{\mathbf{e}}_{p'})}}

    :math:`\epsilon = 1` keeps every dimension and is exactly the original distance
    correlation loss (:func:`distance_correlation_loss`, KGIN), as the paper states;
    :math:`\epsilon = 0` removes the constraint (the loss is :obj:`0`, Sec. 5.3.3).
    For :math:`\epsilon < 1` the PCA scores (:func:`pca_project`) are used; note that
    :math:`P` vectors span at most :math:`\min(P, h)` principal axes, so fewer than
    :math:`\lceil \epsilon h \rceil` components exist when :math:`P < \epsilon h`.

    Args:
        x (torch.Tensor): Preference embeddings :obj:`[P, h]`.
        eps (float, optional): Ratio :math:`\epsilon \in [0, 1]` of principal
            components kept. (default: :obj:`0.5`)
        stable_eps (float, optional): See :func:`distance_correlation_matrix`.
    """
    _check(x)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"'eps' must lie in [0, 1] (got {eps})")
    h = x.size(1)
    k = math.ceil(eps * h - 1e-9)
    if k == 0:
        return x.sum() * 0.0
    if k >= h:
        return distance_correlation_loss(x, stable_eps)
    z = pca_project(x, k)
    if z.size(1) < 2:
        raise ValueError(f"soft distance correlation needs at least 2 principal "
                         f"components (P={x.size(0)}, h={h}, eps={eps} give {z.size(1)})")
    return distance_correlation_loss(z, stable_eps)


__all__ = [
    'distance_correlation', 'distance_correlation_matrix', 'distance_correlation_loss',
    'pca_project', 'soft_distance_correlation_loss'
]
