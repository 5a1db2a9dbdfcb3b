import pytest
import torch

from torch_geometric_kgrec.nn.conv import GatedPathConv
from torch_geometric_kgrec.nn.conv.relational_adj import RelationalAdj
from torch_geometric_kgrec.nn.conv.gated_path_conv import add_inverse_relations
from torch_geometric_kgrec.nn.readout import layer_sum


def dense_reference(x, rel, edge_index, edge_type):
    # eq. 1-2 written as a loop over heads i: mean over the triples (i, r, j).
    out = torch.zeros_like(x)
    for i in range(x.size(0)):
        terms = []
        for e in range(edge_index.size(1)):
            if int(edge_index[0, e]) == i:
                j, r = int(edge_index[1, e]), int(edge_type[e])
                gamma = torch.sigmoid(x[i] @ rel[r])
                terms.append(gamma * rel[r] * x[j])
        if terms:
            out[i] = torch.stack(terms).mean(0)
    return out


def graph():
    edge_index = torch.tensor([[0, 0, 0, 1, 2, 2, 3], [1, 2, 1, 2, 0, 3, 0]])
    edge_type = torch.tensor([0, 1, 1, 2, 0, 0, 2])
    return edge_index, edge_type


def test_hand_computed_values():
    # Two nodes, one relation: e_0 <- gamma * e_r * e_1 with gamma = sigma(e_0 . e_r).
    x = torch.tensor([[1.0, 0.0], [2.0, 3.0]])
    rel = torch.tensor([[0.5, -1.0]])
    conv = GatedPathConv(2)
    out = conv(x, torch.tensor([[0], [1]]), torch.tensor([0]), relation_emb=rel)
    gamma = torch.sigmoid(torch.tensor(0.5))
    expected = torch.tensor([[gamma * 1.0, gamma * -3.0], [0.0, 0.0]])
    torch.testing.assert_close(out, expected)


def test_matches_dense_reference_all_paths():
    torch.manual_seed(0)
    edge_index, edge_type = graph()
    x = torch.randn(5, 8, dtype=torch.double)  # node 4 is isolated -> zeros
    conv = GatedPathConv(8, num_relations=3).double()
    ref = dense_reference(x, conv.relation_emb, edge_index, edge_type)
    assert ref[4].abs().sum() == 0
    out = conv(x, edge_index, edge_type)
    torch.testing.assert_close(out, ref)
    adj = RelationalAdj.from_edge_index(edge_index, edge_type, 5, 3)
    torch.testing.assert_close(conv(x, adj), ref)
    # invariance to edge order
    perm = torch.randperm(edge_index.size(1))
    torch.testing.assert_close(conv(x, edge_index[:, perm], edge_type[perm]), ref)


def test_sparse_adjacency_input():
    torch.manual_seed(1)
    edge_index = torch.tensor([[0, 0, 1, 2, 3], [1, 2, 2, 0, 0]])  # unique (head, tail)
    edge_type = torch.tensor([0, 1, 2, 0, 2])
    x = torch.randn(4, 6, dtype=torch.double)
    conv = GatedPathConv(6, num_relations=3).double()
    adj = torch.sparse_coo_tensor(edge_index, torch.ones(5), (4, 4))
    torch.testing.assert_close(conv(x, adj, edge_type),
                               dense_reference(x, conv.relation_emb, edge_index, edge_type))
    with pytest.raises(ValueError, match='cannot carry relation ids'):
        conv(x, torch.sparse_coo_tensor(edge_index, edge_type, (4, 4)))


def test_summed_relation_ids_in_a_sparse_adjacency_are_rejected():
    # (0, 1) holds relations 0 and 2: coalescing sums the ids into the in-range id 2
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 1, 2, 0]])
    edge_type = torch.tensor([0, 2, 1, 1])
    x = torch.randn(3, 4, dtype=torch.double)
    conv = GatedPathConv(4, num_relations=3).double()
    summed = torch.sparse_coo_tensor(edge_index, edge_type, (3, 3)).coalesce()
    assert summed.values().tolist() == [2, 1, 1]  # the silent corruption
    with pytest.raises(ValueError, match='cannot carry relation ids'):
        conv(x, summed)
    ones = torch.sparse_coo_tensor(edge_index, torch.ones(4), (3, 3)).coalesce()
    with pytest.raises(ValueError, match='summed'):
        conv(x, ones, torch.tensor([0, 1, 1]))  # values 2, 1, 1: duplicates were summed
    # every triple survives in an uncoalesced COO tensor with its edge_type
    raw = torch.sparse_coo_tensor(edge_index, torch.ones(4), (3, 3))
    ref = dense_reference(x, conv.relation_emb, edge_index, edge_type)
    torch.testing.assert_close(conv(x, raw, edge_type), ref)
    torch.testing.assert_close(conv(x, edge_index, edge_type), ref)
    with pytest.raises(ValueError, match='edge weights'):
        conv(x, torch.sparse_coo_tensor(edge_index, torch.full((4, ), 0.5), (3, 3)),
             edge_type)


def test_gradients_equal_between_paths():
    torch.manual_seed(2)
    edge_index, edge_type = graph()
    x = torch.randn(5, 8, dtype=torch.double, requires_grad=True)
    rel = torch.randn(3, 8, dtype=torch.double, requires_grad=True)
    conv = GatedPathConv(8)
    w = torch.randn(5, 8, dtype=torch.double)
    g1 = torch.autograd.grad((conv(x, edge_index, edge_type, rel) * w).sum(), (x, rel))
    adj = RelationalAdj.from_edge_index(edge_index, edge_type, 5, 3)
    g2 = torch.autograd.grad((conv(x, adj, relation_emb=rel) * w).sum(), (x, rel))
    for a, b in zip(g1, g2):
        assert a.abs().sum() > 0
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(lambda x, rel: conv(x, adj, relation_emb=rel), (x, rel))


def test_inverse_relations_and_layer_sum():
    edge_index, edge_type = graph()
    ei, et = add_inverse_relations(edge_index, edge_type, 3)
    assert ei.size(1) == 14 and int(et.max()) == 5
    assert torch.equal(ei[:, 7:], edge_index.flip(0)) and torch.equal(et[7:], edge_type + 3)
    conv = GatedPathConv(4, num_relations=6)
    x = torch.randn(5, 4)
    xs = [x]
    for _ in range(2):
        xs.append(conv(xs[-1], ei, et))
    torch.testing.assert_close(layer_sum(xs), xs[0] + xs[1] + xs[2])
    torch.testing.assert_close(layer_sum(torch.stack(xs)), xs[0] + xs[1] + xs[2])


def test_repr_and_bad_input():
    assert str(GatedPathConv(64, num_relations=24)) == 'GatedPathConv(64, num_relations=24)'
    assert str(GatedPathConv(64)) == 'GatedPathConv(64)'
    conv = GatedPathConv(4)
    x = torch.randn(3, 4)
    ei = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match='relation_emb'):
        conv(x, ei, torch.tensor([0]))
    with pytest.raises(ValueError, match='edge_type'):
        conv(x, ei, torch.tensor([5]), relation_emb=torch.randn(2, 4))
    with pytest.raises(ValueError, match='edge_type'):
        conv(x, ei, None, relation_emb=torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"\[num_nodes, 4\]"):
        conv(torch.randn(3, 5), ei, torch.tensor([0]), relation_emb=torch.randn(2, 4))
