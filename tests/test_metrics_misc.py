import itertools
import math

import numpy as np
import pytest
import torch

from torch_geometric_kgrec.metrics import (
    alignment,
    inter_list_diversity,
    intra_list_diversity,
    uniformity,
)


def random_lists(seed, n=15, k=6, num_items=25, pad=True):
    g = torch.Generator().manual_seed(seed)
    rec = torch.stack([torch.randperm(num_items, generator=g)[:k] for _ in range(n)])
    if pad:  # some shorter lists, padded with -1
        rec[2, 4:] = -1
        rec[5, 1:] = -1
    return rec


def brute_inter(rec):
    lists = [set(x for x in row if x >= 0) for row in rec.tolist()]
    lists = [s for s in lists if s]
    dist = []
    for a, b in itertools.combinations(lists, 2):  # all unique pairs i < j
        items = sorted(a | b)
        va = np.array([1.0 if i in a else 0.0 for i in items])
        vb = np.array([1.0 if i in b else 0.0 for i in items])
        dist.append(1 - va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))
    return float(np.mean(dist))


def brute_intra(rec, emb):
    emb = emb.double().numpy()
    per_user = []
    for row in rec.tolist():
        items = [x for x in row if x >= 0]
        if len(items) < 2:
            continue
        d = []
        for p, q in itertools.combinations(items, 2):
            u, v = emb[p], emb[q]
            d.append(1 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        per_user.append(np.mean(d))
    return float(np.mean(per_user))


@pytest.mark.parametrize('seed', range(4))
def test_inter_list_diversity_matches_brute_force(seed):
    rec = random_lists(seed)
    assert inter_list_diversity(rec) == pytest.approx(brute_inter(rec), abs=1e-12)
    rec = random_lists(seed, pad=False)
    assert inter_list_diversity(rec) == pytest.approx(brute_inter(rec), abs=1e-12)


def test_inter_list_diversity_hand_values():
    assert inter_list_diversity(torch.tensor([[0, 1], [0, 1], [0, 1]])) == pytest.approx(0)
    assert inter_list_diversity(torch.tensor([[0, 1], [2, 3]])) == pytest.approx(1)
    # 1 - mean overlap / k: pairs (A,B)=1/2, (A,C)=0, (B,C)=1/2 -> 1 - 1/3
    assert inter_list_diversity(torch.tensor([[0, 1], [1, 2], [2, 3]])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match='twice'):
        inter_list_diversity(torch.tensor([[0, 0], [1, 2]]))
    with pytest.raises(ValueError, match='two'):
        inter_list_diversity(torch.tensor([[0, 1]]))


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('batch_size', [1, 4, 4096])
def test_intra_list_diversity_matches_brute_force(seed, batch_size):
    rec = random_lists(seed)
    emb = torch.randn(25, 8, generator=torch.Generator().manual_seed(seed + 10))
    got = intra_list_diversity(rec, emb, batch_size=batch_size)
    assert got == pytest.approx(brute_intra(rec, emb), abs=1e-10)


def test_intra_list_diversity_hand_values():
    emb = torch.tensor([[1., 0.], [2., 0.], [0., 3.], [-1., 0.]])
    assert intra_list_diversity(torch.tensor([[0, 1]]), emb) == pytest.approx(0.0)
    assert intra_list_diversity(torch.tensor([[0, 2]]), emb) == pytest.approx(1.0)
    assert intra_list_diversity(torch.tensor([[0, 3]]), emb) == pytest.approx(2.0)
    # pairs (0,2)=1, (0,3)=2, (2,3)=1 -> 4/3; user of a single item is skipped
    assert intra_list_diversity(torch.tensor([[0, 2, 3], [1, -1, -1]]), emb) == \
        pytest.approx(4 / 3)
    with pytest.raises(ValueError, match='rows'):
        intra_list_diversity(torch.tensor([[0, 9]]), emb)


def test_alignment_and_uniformity_match_brute_force():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(23, 5, generator=g, dtype=torch.double)
    y = x + 0.3 * torch.randn(23, 5, generator=g, dtype=torch.double)
    xn = x / x.norm(dim=1, keepdim=True)
    yn = y / y.norm(dim=1, keepdim=True)
    for alpha in (2.0, 1.0):
        ref = sum(float((xn[i] - yn[i]).norm()) ** alpha for i in range(23)) / 23
        assert float(alignment(x, y, alpha=alpha)) == pytest.approx(ref)
    ref = sum(float((x[i] - y[i]).norm()) ** 2 for i in range(23)) / 23
    assert float(alignment(x, y, normalize=False)) == pytest.approx(ref)
    for t in (2.0, 0.5):
        pot = [math.exp(-t * float((xn[i] - xn[j]).norm()) ** 2)
               for i, j in itertools.combinations(range(23), 2)]
        ref = math.log(sum(pot) / len(pot))
        for bs in (1, 4, 1024):
            assert float(uniformity(x, t=t, batch_size=bs)) == pytest.approx(ref, abs=1e-9)
    # Wang & Isola's reference implementation:
    ref = torch.pdist(xn, p=2).pow(2).mul(-2).exp().mean().log()
    assert float(uniformity(x)) == pytest.approx(float(ref), abs=1e-9)


def test_alignment_uniformity_gradients_and_bad_input():
    x = torch.randn(10, 4, requires_grad=True)
    y = torch.randn(10, 4, requires_grad=True)
    (alignment(x, y) + uniformity(x, batch_size=3)).backward()
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0
    # Gradient of uniformity equals that of the pdist reference.
    x = torch.randn(10, 4, dtype=torch.double, requires_grad=True)
    grad = torch.autograd.grad(uniformity(x, batch_size=3), x)[0]
    xn = torch.nn.functional.normalize(x, dim=-1)
    ref = torch.autograd.grad(torch.pdist(xn).pow(2).mul(-2).exp().mean().log(), x)[0]
    assert torch.allclose(grad, ref, atol=1e-9)
    # Identical points: alignment 0, uniformity 0 (the maximum, worst).
    z = torch.ones(6, 3)
    assert float(alignment(z, z)) == pytest.approx(0.0)
    assert float(uniformity(z)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        alignment(torch.randn(3, 2), torch.randn(4, 2))
    with pytest.raises(ValueError):
        uniformity(torch.randn(1, 2))
