import pytest
import torch

from torch_geometric_kgrec.nn import gather_dot
from torch_geometric_kgrec.nn.conv import GatedPathConv, RelationalAdj


def _inputs(seed=0, n=7, m=3, d=5, k=40):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.double, requires_grad=True)
    b = torch.randn(m, d, generator=g, dtype=torch.double, requires_grad=True)
    ia = torch.randint(0, n, (k, ), generator=g)
    ib = torch.randint(0, m, (k, ), generator=g)
    return a, b, ia, ib


@pytest.mark.parametrize('chunk_size', [1, 7, 40, 1000])
def test_gather_dot_equals_dense_reference(chunk_size):
    a, b, ia, ib = _inputs()
    w = torch.randn(ia.numel(), dtype=torch.double)
    out = gather_dot(a, b, ia, ib, chunk_size=chunk_size)
    ref = torch.stack([a[i] @ b[j] for i, j in zip(ia.tolist(), ib.tolist())])
    assert torch.allclose(out, ref)
    ga, gb = torch.autograd.grad((out * w).sum(), (a, b))
    ra, rb = torch.autograd.grad((ref * w).sum(), (a, b))
    assert torch.allclose(ga, ra) and torch.allclose(gb, rb)


def test_gather_dot_gradcheck_and_partial_grads():
    a, b, ia, ib = _inputs(k=9)
    assert torch.autograd.gradcheck(lambda x, y: gather_dot(x, y, ia, ib, 4), (a, b))
    out = gather_dot(a.detach(), b, ia, ib)  # only b needs a gradient
    (gb, ) = torch.autograd.grad(out.sum(), (b, ))
    assert torch.allclose(gb, torch.autograd.grad(
        (a.detach()[ia] * b[ib]).sum(), (b, ))[0])


def test_gather_dot_keeps_only_inputs_and_indices_for_backward():
    # O(K) memory: autograd saves a, b and the two index vectors, not [K, d] gathers.
    a, b, ia, ib = _inputs(n=50, m=4, d=16, k=5000)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t.numel()) or t, lambda t: t):
        gather_dot(a, b, ia, ib, chunk_size=256).sum()
    assert sum(saved) <= a.numel() + b.numel() + 2 * ia.numel()
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t.numel()) or t, lambda t: t):
        (a[ia] * b[ib]).sum(-1).sum()
    assert sum(saved) >= 2 * ia.numel() * a.size(1)  # what the naive form keeps


def test_gather_dot_errors():
    a, b, ia, ib = _inputs()
    with pytest.raises(ValueError, match="must be \\[N, d\\]"):
        gather_dot(a, b[:, :2], ia, ib)
    with pytest.raises(ValueError, match="must be \\[K\\]"):
        gather_dot(a, b, ia, ib[:3])
    with pytest.raises(ValueError, match="chunk_size"):
        gather_dot(a, b, ia, ib, chunk_size=0)
    with pytest.raises(ValueError, match='one dtype'):
        gather_dot(a, b.float(), ia, ib)


def test_gated_path_conv_gate_paths_agree_with_table_reference():
    # Both code paths (edge_index, RelationalAdj) against the [N, R] table formula.
    g = torch.Generator().manual_seed(1)
    n, r, d = 6, 3, 4
    x = torch.randn(n, d, generator=g)
    rel = torch.randn(r, d, generator=g)
    ei = torch.tensor([[0, 0, 1, 2, 2, 5], [1, 2, 3, 4, 0, 1]])
    et = torch.tensor([0, 1, 2, 0, 0, 1])
    conv = GatedPathConv(d)
    table = (x @ rel.t()).sigmoid()
    ref = torch.zeros(n, d)
    deg = torch.bincount(ei[0], minlength=n).clamp(min=1)
    for (h, t), k in zip(ei.t().tolist(), et.tolist()):
        ref[h] += table[h, k] * rel[k] * x[t] / deg[h]
    assert torch.allclose(conv(x, ei, et, relation_emb=rel), ref, atol=1e-6)
    adj = RelationalAdj.from_edge_index(ei, et, n, r)
    assert torch.allclose(conv(x, adj, relation_emb=rel), ref, atol=1e-6)
