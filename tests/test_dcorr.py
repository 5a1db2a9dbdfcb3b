import contextlib
import math
import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist, squareform

from torch_geometric_kgrec.nn.dcorr import (distance_correlation, distance_correlation_loss,
                                            distance_correlation_matrix, pca_project,
                                            pca_transform, released_pca_svd,
                                            soft_distance_correlation_loss)


def ref_dcor(x, y):
    # Székely's V-statistic written out with SciPy distance matrices.
    a = squareform(pdist(x.reshape(-1, 1)))
    b = squareform(pdist(y.reshape(-1, 1)))
    A = a - a.mean(0)[None, :] - a.mean(1)[:, None] + a.mean()
    B = b - b.mean(0)[None, :] - b.mean(1)[:, None] + b.mean()
    dcov = math.sqrt(max((A * B).mean(), 0.0))
    return dcov / math.sqrt(math.sqrt((A * A).mean()) * math.sqrt((B * B).mean()))


def ref_loss(rows):
    return sum(ref_dcor(rows[i], rows[j]) for i in range(len(rows))
               for j in range(i + 1, len(rows)))


def ref_pca_scores(X, k):
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    k = min(k, *X.shape)
    scores = Xc @ Vt[:k].T  # projected data
    for j in range(k):  # sklearn svd_flip (u-based)
        if U[np.argmax(np.abs(U[:, j])), j] < 0:
            scores[:, j] *= -1
    return scores


def ref_pca_transform(X, R, k):
    # sklearn's PCA(k).fit(R).transform(X), written out with NumPy.
    mean = R.mean(axis=0)
    U, S, Vt = np.linalg.svd(R - mean, full_matrices=False)
    V = Vt[:k].T.copy()
    for j in range(k):  # svd_flip (u-based)
        if U[np.argmax(np.abs(U[:, j])), j] < 0:
            V[:, j] *= -1
    return (X - mean) @ V


def ref_released_pca_svd(X, k):
    # The authors' PCA_svd: H X with H = I - 11^T / n, torch.svd -> v[:k].t().
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    _, _, Vt = np.linalg.svd(H @ X, full_matrices=False)
    return Vt.T[:k].T


def test_distance_correlation_matches_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 17))
    got = distance_correlation_matrix(torch.from_numpy(x), stable_eps=0.0).numpy()
    for i in range(5):
        for j in range(5):
            assert got[i, j] == pytest.approx(ref_dcor(x[i], x[j]), abs=1e-10)
    # Perfect (even non-linear) dependence -> 1 for affine maps, dCor of itself is 1.
    t = torch.from_numpy(x[0])
    assert float(distance_correlation(t, 3 * t - 2, stable_eps=0.0)) == pytest.approx(1.0)
    assert float(distance_correlation(t, t ** 2, stable_eps=0.0)) > 0.3


def test_distance_correlation_loss_eps1_equals_standard():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 64))
    t = torch.from_numpy(x)
    ref = ref_loss(x)
    assert float(distance_correlation_loss(t, stable_eps=0.0)) == pytest.approx(ref, abs=1e-10)
    assert float(soft_distance_correlation_loss(t, eps=1.0, stable_eps=0.0)) == pytest.approx(
        ref, abs=1e-10)
    # KGIN-style stabiliser changes the value only marginally.
    assert float(soft_distance_correlation_loss(t, eps=1.0)) == pytest.approx(ref, abs=1e-4)


@pytest.mark.parametrize('P,h', [(40, 16), (4, 64), (6, 10)])
def test_soft_dcorr_eps_half_matches_reference(P, h):
    rng = np.random.default_rng(P + h)
    X = rng.normal(size=(P, h)) + rng.normal(size=(1, h))
    k = math.ceil(0.5 * h)
    scores = ref_pca_scores(X, k)
    got_scores = pca_project(torch.from_numpy(X), k).numpy()
    np.testing.assert_allclose(got_scores, scores, atol=1e-10)
    ref = ref_loss(scores)
    with pytest.warns() if k >= P - 1 else _no_warning():
        got = soft_distance_correlation_loss(torch.from_numpy(X), eps=0.5, stable_eps=0.0)
    assert float(got) == pytest.approx(ref, abs=1e-8)
    # It is genuinely a different loss than the eps = 1 one.
    assert abs(ref - ref_loss(X)) > 1e-3


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        yield


@pytest.mark.parametrize('P,h,N', [(4, 64, 64), (6, 10, 30), (40, 16, 20)])
def test_soft_dcorr_subspace_matches_reference(P, h, N):
    rng = np.random.default_rng(P * h + N)
    X = rng.normal(size=(P, h)) + rng.normal(size=(1, h))
    R = rng.normal(size=(N, h)) * np.linspace(2.0, 0.5, h)[None, :] + 0.3
    k = math.ceil(0.5 * h)
    scores = ref_pca_transform(X, R, k)
    got_scores = pca_transform(torch.from_numpy(X), torch.from_numpy(R), k).numpy()
    np.testing.assert_allclose(got_scores, scores, atol=1e-10)
    with _no_warning():
        got = soft_distance_correlation_loss(torch.from_numpy(X), eps=0.5, stable_eps=0.0,
                                             variant='subspace', reference=torch.from_numpy(R))
    assert float(got) == pytest.approx(ref_loss(scores), abs=1e-8)


def test_soft_dcorr_released_pca_svd_matches_reference():
    rng = np.random.default_rng(7)
    # P > h: every principal axis is determined (up to sign, which dCor ignores)
    X = rng.normal(size=(40, 16)) + 1.0
    comps = released_pca_svd(torch.from_numpy(X), 8).numpy()
    ref = ref_released_pca_svd(X, 8)
    assert comps.shape == (16, 8)  # min(P, h) axes, their first k coordinates
    np.testing.assert_allclose(np.abs(comps), np.abs(ref), atol=1e-10)
    got = soft_distance_correlation_loss(torch.from_numpy(X), eps=0.5, stable_eps=0.0,
                                         variant='released')
    assert float(got) == pytest.approx(ref_loss(ref), abs=1e-8)
    # P <= h (the paper's setting): [P, k]; the rows of the P - 1 informative axes agree
    Y = rng.normal(size=(4, 64))
    with pytest.warns(UserWarning, match='P - 1'):
        got = soft_distance_correlation_loss(torch.from_numpy(Y), eps=0.5, stable_eps=0.0,
                                             variant='released')
    comps = released_pca_svd(torch.from_numpy(Y), 32).numpy()
    ref = ref_released_pca_svd(Y, 32)
    assert comps.shape == (4, 32)
    np.testing.assert_allclose(np.abs(comps[:3]), np.abs(ref[:3]), atol=1e-10)
    assert float(got) == pytest.approx(ref_loss(comps), abs=1e-8)


def test_eps_changes_the_subspace_loss_but_not_the_paper_one():
    # The paper's configuration: P = 4 preferences, h = 64, N_m = 64 meta-preferences.
    g = torch.Generator().manual_seed(3)
    R = torch.randn(64, 64, generator=g, dtype=torch.double)
    X = torch.softmax(torch.randn(4, 64, generator=g, dtype=torch.double), -1) @ R
    epss = (0.1, 0.25, 0.5, 0.75, 0.9)
    sub = [float(soft_distance_correlation_loss(X, e, variant='subspace', reference=R))
           for e in epss]
    assert min(abs(a - b) for i, a in enumerate(sub) for b in sub[i + 1:]) > 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        paper = [float(soft_distance_correlation_loss(X, e, variant='paper')) for e in epss]
    assert max(paper) - min(paper) < 1e-9  # the degeneracy the warning names
    with pytest.raises(ValueError, match='reference'):
        soft_distance_correlation_loss(X, 0.5, variant='subspace')
    with pytest.raises(ValueError, match='informative'):
        soft_distance_correlation_loss(X, 0.5, variant='subspace', reference=R[:10])
    with pytest.raises(ValueError, match='variant'):
        soft_distance_correlation_loss(X, 0.5, variant='pca')
    # eps = 1 is the standard loss in every variant
    std = float(distance_correlation_loss(X))
    for v in ('paper', 'released', 'subspace'):
        assert float(soft_distance_correlation_loss(X, 1.0, variant=v, reference=R)) == std


def test_pca_scores_are_projected_data():
    # Data on a line in R^3: the first score is the signed position along the line.
    d = torch.tensor([1.0, 2.0, 2.0]) / 3.0
    pos = torch.tensor([-2.0, -1.0, 0.0, 3.0], dtype=torch.double)
    X = pos[:, None] * d.double()[None, :] + 5.0
    z = pca_project(X, 1)
    assert z.shape == (4, 1)
    c = pos - pos.mean()
    torch.testing.assert_close(z[:, 0], c * torch.sign(c[c.abs().argmax()]))


def test_independent_inputs_are_near_zero():
    g = torch.Generator().manual_seed(0)
    # Independent vectors with many samples: dCor -> 0 (the V-statistic has O(n^-1/2) bias).
    x = torch.randn(3, 1500, generator=g, dtype=torch.double)
    loss = soft_distance_correlation_loss(x, eps=1.0) / 3
    assert float(loss) < 0.06
    # And through PCA: many observations (P=600) of an h=40-dim isotropic variable.
    y = torch.randn(600, 40, generator=g, dtype=torch.double)
    corr = distance_correlation_matrix(pca_project(y, 20))
    mask = ~torch.eye(600, dtype=torch.bool)
    # PCA scores behave like independent 20-sample vectors: same (finite-n) mean dCor.
    raw = distance_correlation_matrix(torch.randn(600, 20, generator=g, dtype=torch.double))
    assert abs(float(corr[mask].mean()) - float(raw[mask].mean())) < 0.01
    dependent = torch.randn(1, 1500, generator=g, dtype=torch.double)
    dep = torch.cat([dependent, dependent.abs(), 2 * dependent + 1])
    assert float(soft_distance_correlation_loss(dep, eps=1.0)) / 3 > 0.5


def test_gradients_finite_and_bad_input():
    x = torch.randn(4, 64, requires_grad=True)
    ref = torch.randn(64, 64, requires_grad=True)
    for eps in (1.0, 0.5, 0.1):
        for variant in ('paper', 'released', 'subspace'):
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                loss = soft_distance_correlation_loss(x, eps=eps, variant=variant,
                                                      reference=ref)
            g, gr = torch.autograd.grad(loss, (x, ref), allow_unused=True)
            assert torch.isfinite(g).all() and g.abs().sum() > 0
            assert gr is None  # the subspace axes are a fixed projection
    assert float(soft_distance_correlation_loss(x, eps=0.0).detach()) == 0.0  # no constraint
    with pytest.raises(ValueError, match='eps'):
        soft_distance_correlation_loss(x, eps=1.5)
    with pytest.raises(ValueError, match=r'\[P, n\]'):
        distance_correlation_loss(torch.randn(64))
