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
import warnings
from typing import Optional

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


SOFT_DCORR_VARIANTS = ('paper', 'released', 'subspace')


def released_pca_svd(x: Tensor, num_components: int, center: bool = True) -> Tensor:
    r"""The released KMPN code's ``PCA_svd(X, k)``: centre the rows of :obj:`x`
    (:obj:`[P, h]`), take the SVD :math:`\mathbf{X}_c = \mathbf{U}\mathbf{S}
    \mathbf{V}^{\top}` (reduced, :math:`\mathbf{V}` of shape :obj:`[h, min(P, h)]`)
    and return ``v[:k].t()``: the first :math:`k` *coordinates* of the
    :math:`\min(P, h)` principal axes, shape :obj:`[min(P, h), k]`.

    This is neither the projected data nor the principal axes themselves (row
    :math:`p` belongs to the :math:`p`-th principal axis, not to the :math:`p`-th
    input row, and it ignores the singular values); it is kept only to reproduce the
    authors' numbers. With :math:`P \le h` the last axis spans a zero singular
    value, so its coordinates are whatever unit vector the SVD routine returns.
    """
    _check(x)
    if num_components < 1:
        raise ValueError(f"'num_components' must be positive (got {num_components})")
    xc = x - x.mean(dim=0, keepdim=True) if center else x
    _, _, Vh = torch.linalg.svd(xc, full_matrices=False)
    return Vh.t()[:int(num_components)].t()


def pca_transform(x: Tensor, reference: Tensor, num_components: int) -> Tensor:
    r"""Fit PCA on the rows of :obj:`reference` (:obj:`[N, h]`) and transform the
    rows of :obj:`x` (:obj:`[P, h]`) with it, as scikit-learn's
    ``PCA(k).fit(reference).transform(x)``: :math:`(\mathbf{x}_p -
    \bar{\mathbf{r}})^{\top}\mathbf{V}_k`, shape :obj:`[P, k]`, with
    :math:`\mathbf{V}_k` the :math:`k` leading principal axes of the reference.

    The axes are computed without gradient (a fixed projection per call; the loss
    then moves :obj:`x`, not the axes) and signed like scikit-learn's ``svd_flip``.
    The reference has :math:`\mathrm{rank}(\mathbf{R}_c) \le \min(N - 1, h)` axes
    with non-zero variance; asking for more raises an error.
    """
    _check(x)
    _check(reference, 'reference')
    if reference.size(1) != x.size(1):
        raise ValueError(f"'reference' must have {x.size(1)} columns like 'x' (got "
                         f"{tuple(reference.shape)})")
    k = int(num_components)
    with torch.no_grad():
        mean = reference.mean(dim=0, keepdim=True)
        U, S, Vh = torch.linalg.svd(reference - mean, full_matrices=False)
        tol = S.max() * max(reference.shape) * torch.finfo(S.dtype).eps if S.numel() else 0
        rank = int((S > tol).sum())
        if not 1 <= k <= rank:
            raise ValueError(f"PCA of the reference ({reference.size(0)} rows in "
                             f"R^{reference.size(1)}, rank {rank}) has no {k} informative "
                             f"principal axes")
        rows = U[:, :k].abs().argmax(dim=0)
        sign = torch.sign(U[rows, torch.arange(k, device=U.device)])
        sign[sign == 0] = 1
        V = Vh[:k].t() * sign.unsqueeze(0)  # [h, k]
    return (x - mean) @ V


def soft_distance_correlation_loss(x: Tensor, eps: float = 0.5,
                                   stable_eps: float = 1e-8, variant: str = 'paper',
                                   reference: Optional[Tensor] = None) -> Tensor:
    r"""Soft distance correlation loss of KMPN (CKMPN eq. 7-8): reduce the
    preference embeddings with PCA to :math:`k = \lceil \epsilon h \rceil`
    components, then sum the distance correlations of all pairs of reduced
    embeddings (each reduced embedding's :math:`k` entries are the samples):

    .. math::
        \hat{\mathbf{e}}_p = \mathrm{PCA}(\{\mathbf{e}_{p'} \mid p' \in
        \mathcal{P}\})_p \in \mathbb{R}^{\lceil \epsilon h \rceil}, \qquad
        \mathcal{L}_{\text{SoftDCorr}} = \sum_{p < p'}
        \frac{\mathrm{dCov}(\hat{\mathbf{e}}_p, \hat{\mathbf{e}}_{p'})}
        {\sqrt{\mathrm{dVar}(\hat{\mathbf{e}}_p)\,\mathrm{dVar}(\hat{\mathbf{e}}_{p'})}}

    In every variant :math:`\epsilon = 1` is exactly the original distance
    correlation loss (:func:`distance_correlation_loss`, KGIN), as the paper
    states, and :math:`\epsilon = 0` removes the constraint (the loss is :obj:`0`,
    Sec. 5.3.3). For :math:`0 < \epsilon < 1`, :obj:`variant` selects the reading:

    * :obj:`"paper"`: eq. 7 literally, PCA whose observations are the :math:`P`
      preference embeddings themselves, :math:`\hat{\mathbf{e}}_p` = their
      principal component scores (:func:`pca_project`). **Degenerate for small**
      :math:`P`: :math:`P` centred points span at most :math:`P - 1` axes, so
      :math:`k` is capped at :math:`\min(P, h)` and every :math:`\epsilon` with
      :math:`\lceil \epsilon h \rceil \ge P - 1` gives the same loss (with the
      paper's :math:`P = 4`, :math:`h = 64`: every :math:`\epsilon \in (0.03, 1)`);
      a :class:`UserWarning` says so.
    * :obj:`"released"`: the authors' code, distance correlations of the rows of
      :func:`released_pca_svd` (the first :math:`k` coordinates of the principal
      axes); to reproduce their numbers only (same degeneracy: at most
      :math:`\min(P, h)` rows, and they belong to axes, not preferences).
    * :obj:`"subspace"` (well-posed): the PCA is fitted on :obj:`reference`, a set
      of :math:`N` embeddings of the same space with up to :math:`\min(N-1, h)`
      informative axes (KMPN passes the :math:`N_m` meta-preference embeddings the
      preferences are mixed from, eq. 3), and the preferences are projected on its
      :math:`k` leading axes (:func:`pca_transform`). The preferences are thus
      decorrelated in the :math:`\lceil \epsilon h \rceil`-dimensional subspace of
      highest variance and free in the other :math:`h - k` dimensions, which is what
      Sec. 3.2.3 and 5.3.3 describe ("half of :math:`h` dimensions are relaxed"), and
      :math:`\epsilon` changes the loss for every :math:`k` up to the reference's
      rank.

    Args:
        x (torch.Tensor): Preference embeddings :obj:`[P, h]`.
        eps (float, optional): Ratio :math:`\epsilon \in [0, 1]` of principal
            components kept. (default: :obj:`0.5`)
        stable_eps (float, optional): See :func:`distance_correlation_matrix`.
        variant (str, optional): :obj:`"paper"`, :obj:`"released"` or
            :obj:`"subspace"`. (default: :obj:`"paper"`)
        reference (torch.Tensor, optional): :obj:`[N, h]` embeddings defining the
            principal axes of the :obj:`"subspace"` variant (required there).
    """
    _check(x)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"'eps' must lie in [0, 1] (got {eps})")
    if variant not in SOFT_DCORR_VARIANTS:
        raise ValueError(f"'variant' must be one of {SOFT_DCORR_VARIANTS} (got {variant!r})")
    P, h = x.shape
    k = math.ceil(eps * h - 1e-9)
    if k == 0:
        return x.sum() * 0.0
    if k >= h:
        return distance_correlation_loss(x, stable_eps)
    if variant == 'subspace':
        if reference is None:
            raise ValueError("the 'subspace' soft DCorr needs the 'reference' embeddings "
                             "whose principal axes it keeps")
        z = pca_transform(x, reference, k)
    else:
        if k >= P - 1:
            warnings.warn(f"soft DCorr variant {variant!r}: ceil(eps * h) = {k} >= P - 1 = "
                          f"{P - 1}, but PCA of P={P} vectors has at most P - 1 informative "
                          f"components, so every such eps (here {eps}) gives the same loss; "
                          f"use variant='subspace' for an eps that matters",
                          UserWarning, stacklevel=2)
        z = pca_project(x, k) if variant == 'paper' else released_pca_svd(x, k)
    if z.size(1) < 2:
        raise ValueError(f"soft distance correlation needs at least 2 principal "
                         f"components (P={P}, h={h}, eps={eps} give {z.size(1)})")
    return distance_correlation_loss(z, stable_eps)


__all__ = [
    'distance_correlation', 'distance_correlation_matrix', 'distance_correlation_loss',
    'pca_project', 'pca_transform', 'released_pca_svd', 'soft_distance_correlation_loss',
    'SOFT_DCORR_VARIANTS'
]
