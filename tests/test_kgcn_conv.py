import math

import pytest
import torch

from torch_geometric_kgrec.nn.conv import KGCNConv

AGGRS = ['sum', 'concat', 'neighbor']


def graph(seed=0, num_src=7, num_dst=4, d=3, num_rel=3, num_edges=11):
    g = torch.Generator().manual_seed(seed)
    x_src = torch.randn(num_src, d, generator=g)
    x_dst = torch.randn(num_dst, d, generator=g)
    src = torch.randint(0, num_src, (num_edges, ), generator=g)
    dst = torch.cat([torch.arange(num_dst - 1),  # last target has no neighbour
                     torch.randint(0, num_dst - 1, (num_edges - num_dst + 1, ), generator=g)])
    edge_type = torch.randint(0, num_rel, (num_edges, ), generator=g)
    user = torch.randn(num_dst, d, generator=g)
    rel = torch.randn(num_rel, d, generator=g)
    return x_src, x_dst, torch.stack([src, dst]), edge_type, user, rel


def reference(conv, x_src, x_dst, edge_index, edge_type, user, rel, act):
    r"""Independent loop over target nodes: softmax of u^T r over the node's edges,
    weighted sum of the neighbours, then the paper's aggregator with W, b."""
    W, b = conv.lin.weight, conv.bias
    d = x_src.size(1)
    out = []
    for v in range(x_dst.size(0)):
        edges = (edge_index[1] == v).nonzero().view(-1).tolist()
        nbr = torch.zeros(d)
        if edges:
            scores = torch.stack([user[v] @ rel[edge_type[e]] for e in edges])
            if conv.scaling == 'mean':  # the reference code: mean over d, then over K
                scores = scores / d
            pi = torch.exp(scores) / torch.exp(scores).sum()
            nbr = sum(pi[n] * x_src[edge_index[0, e]] for n, e in enumerate(edges))
            if conv.scaling == 'mean':
                nbr = nbr / len(edges)
        if conv.aggregator == 'sum':
            h = W @ (x_dst[v] + nbr) + b
        elif conv.aggregator == 'concat':
            h = W @ torch.cat([x_dst[v], nbr]) + b
        else:
            h = W @ nbr + b
        out.append(act(h))
    return torch.stack(out)


def test_hand_computed_value():
    conv = KGCNConv(2, 2, 'sum', act=None)
    with torch.no_grad():
        conv.lin.weight.copy_(torch.eye(2))
        conv.bias.fill_(0.5)
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 4.0]])  # node 0 is the target
    edge_index = torch.tensor([[1, 2], [0, 0]])
    edge_type = torch.tensor([0, 1])
    rel = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    user = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    out = conv(x, edge_index, edge_type, user, rel)
    p = math.e / (math.e + 1)  # g(u, r0) = 1, g(u, r1) = 0
    expected = torch.tensor([1 + 3 * p + 0 * (1 - p), 2 - p + 4 * (1 - p)]) + 0.5
    assert torch.allclose(out[0], expected, atol=1e-6)
    # nodes 1 and 2 have no neighbour: W x + b
    assert torch.allclose(out[1:], x[1:] + 0.5)


def test_hand_computed_value_mean_scaling():
    # The reference code's reduce_mean: score u^T r / d, neighbourhood sum / K.
    conv = KGCNConv(2, 2, 'sum', act=None, scaling='mean')
    assert str(conv) == "KGCNConv(2, 2, aggregator='sum', act=None, scaling='mean')"
    with torch.no_grad():
        conv.lin.weight.copy_(torch.eye(2))
        conv.bias.fill_(0.5)
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 4.0]])
    edge_index = torch.tensor([[1, 2], [0, 0]])
    rel = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    user = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    out = conv(x, edge_index, torch.tensor([0, 1]), user, rel)
    p = math.exp(0.5) / (math.exp(0.5) + 1)  # g(u, r0) = 1 / d = 0.5, g(u, r1) = 0
    nbr = torch.tensor([3 * p + 0 * (1 - p), -p + 4 * (1 - p)]) / 2  # / K = 2
    assert torch.allclose(out[0], torch.tensor([1.0, 2.0]) + nbr + 0.5, atol=1e-6)
    assert torch.allclose(out[1:], x[1:] + 0.5)
    dense = conv.forward_dense(x[:1], x[1:].unsqueeze(0), torch.tensor([[0, 1]]), user[:1],
                               rel)
    assert torch.allclose(dense, out[:1], atol=1e-6)
    with pytest.raises(ValueError, match='scaling'):
        KGCNConv(2, 2, scaling='max')


@pytest.mark.parametrize('aggr', AGGRS)
@pytest.mark.parametrize('act', ['relu', 'tanh'])
@pytest.mark.parametrize('scaling', ['sum', 'mean'])
def test_forward_matches_dense_reference(aggr, act, scaling):
    torch.manual_seed(0)
    x_src, x_dst, edge_index, edge_type, user, rel = graph()
    conv = KGCNConv(3, 5 if aggr != 'sum' else 3, aggr, act=act, scaling=scaling)
    with torch.no_grad():
        conv.bias.normal_()  # non-zero bias so it is checked too
    out = conv((x_src, x_dst), edge_index, edge_type, user, rel)
    assert out.shape == (4, conv.out_channels)
    ref = reference(conv, x_src, x_dst, edge_index, edge_type, user, rel, getattr(torch, act))
    assert torch.allclose(out, ref, atol=1e-5)


def test_repr_and_bad_arguments():
    assert str(KGCNConv(16, 8)) == "KGCNConv(16, 8, aggregator='sum', act='relu')"
    assert str(KGCNConv(4, 4, 'concat', act='tanh')) == \
        "KGCNConv(4, 4, aggregator='concat', act='tanh')"
    with pytest.raises(ValueError, match='aggregator'):
        KGCNConv(4, 4, 'mean')
    x_src, x_dst, edge_index, edge_type, user, rel = graph()
    conv = KGCNConv(3, 3)
    with pytest.raises(ValueError, match='one row per target'):
        conv((x_src, x_dst), edge_index, edge_type, user[:2], rel)
    with pytest.raises(ValueError, match='one entry per edge'):
        conv((x_src, x_dst), edge_index, edge_type[:-1], user, rel)
    with pytest.raises(ValueError, match='edge_type'):
        conv((x_src, x_dst), edge_index, edge_type + 3, user, rel)
    with pytest.raises(ValueError, match='edge_type'):
        conv((x_src, x_dst), edge_index, None, user, rel)
    with pytest.raises(ValueError, match='channels'):
        conv((x_src, x_dst), edge_index, edge_type, user, rel[:, :2])
    with pytest.raises(ValueError, match='own features'):
        conv((x_src, None), edge_index, edge_type, user, rel)
    with pytest.raises(ValueError, match='agree on K'):
        conv.forward_dense(x_dst, torch.randn(4, 2, 3), torch.zeros(4, 3, dtype=torch.long),
                           user, rel)


@pytest.mark.parametrize('aggr', AGGRS)
def test_gradients_reach_every_parameter_and_input(aggr):
    x_src, x_dst, edge_index, edge_type, user, rel = graph()
    tensors = [t.clone().requires_grad_() for t in (x_src, x_dst, user, rel)]
    conv = KGCNConv(3, 3, aggr, act='tanh')
    out = conv((tensors[0], tensors[1]), edge_index, edge_type, tensors[2], tensors[3])
    (out * torch.randn_like(out)).sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    needs_self = aggr != 'neighbor'
    for t, must in zip(tensors, [True, needs_self, True, True]):
        assert (t.grad is not None and t.grad.abs().sum() > 0) == must


@pytest.mark.parametrize('aggr', AGGRS)
def test_edge_order_invariance(aggr):
    x_src, x_dst, edge_index, edge_type, user, rel = graph(seed=3)
    conv = KGCNConv(3, 3, aggr)
    perm = torch.randperm(edge_index.size(1), generator=torch.Generator().manual_seed(1))
    out1 = conv((x_src, x_dst), edge_index, edge_type, user, rel)
    out2 = conv((x_src, x_dst), edge_index[:, perm], edge_type[perm], user, rel)
    assert torch.allclose(out1, out2, atol=1e-6)


def test_sparse_adjacency_equals_edge_index():
    x_src, x_dst, edge_index, edge_type, user, rel = graph(seed=5)
    keep = torch.unique(edge_index[1] * 100 + edge_index[0], return_inverse=True)[1]
    first = torch.full((int(keep.max()) + 1, ), -1).scatter_reduce(
        0, keep, torch.arange(keep.numel()), 'amax')  # one edge per (src, dst) pair
    edge_index, edge_type = edge_index[:, first], edge_type[first]
    conv = KGCNConv(3, 3, 'concat')
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(edge_type.numel()), (4, 7))
    out1 = conv((x_src, x_dst), edge_index, edge_type, user, rel)
    out2 = conv((x_src, x_dst), adj_t, edge_type, user, rel)  # uncoalesced: storage order
    assert torch.allclose(out1, out2, atol=1e-6)
    with pytest.raises(ValueError, match='cannot carry relation ids'):
        conv((x_src, x_dst), torch.sparse_coo_tensor(edge_index.flip(0), edge_type, (4, 7)),
             None, user, rel)


@pytest.mark.parametrize('aggr', AGGRS)
@pytest.mark.parametrize('scaling', ['sum', 'mean'])
def test_dense_fast_path_equals_message_passing(aggr, scaling):
    # KGCN receptive field: N (user, item) pairs, K sampled neighbours each (repeats
    # allowed, as sampling with replacement produces them).
    g = torch.Generator().manual_seed(7)
    E, R, d, N, K = 9, 4, 3, 6, 4
    ent, rel = torch.randn(E, d, generator=g), torch.randn(R, d, generator=g)
    items = torch.randint(0, E, (N, ), generator=g)
    nbr = torch.randint(0, E, (N, K), generator=g)
    typ = torch.randint(0, R, (N, K), generator=g)
    user = torch.randn(N, d, generator=g)
    conv = KGCNConv(d, d, aggr, act='tanh', scaling=scaling)
    with torch.no_grad():
        conv.bias.normal_(generator=g)

    dense = conv.forward_dense(ent[items], ent[nbr], typ, user, rel)
    edge_index = torch.stack([nbr.view(-1), torch.arange(N).repeat_interleave(K)])
    sparse = conv((ent, ent[items]), edge_index, typ.view(-1), user, rel)
    assert torch.allclose(dense, sparse, atol=1e-6)

    # W moved inside the weighted sum (linearity) gives the same result
    moved = conv.forward_dense(conv.lin_self(ent[items]), conv.lin_nbr(ent[nbr]), typ, user,
                               rel, transformed=True)
    assert torch.allclose(dense, moved, atol=1e-6)

    # Broadcasting: B users x I items (item side shared) == every pair separately
    users = torch.randn(2, 1, d, generator=g)
    all_pairs = conv.forward_dense(ent[items], ent[nbr], typ, users, rel)  # [2, N, d]
    for b in range(2):
        single = conv.forward_dense(ent[items], ent[nbr], typ, users[b].expand(N, d), rel)
        assert torch.allclose(all_pairs[b], single, atol=1e-6)
