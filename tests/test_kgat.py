import math

import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.nn.conv.kgat_conv import KGATConv, kgat_attention
from torch_geometric_kgrec.nn.models.kgat import KGAT
from torch_geometric_kgrec.protocols import UniformNegativeSampler


@pytest.fixture(autouse=True)
def single_thread():
    # Tiny graphs: intra-op threads only add OpenMP synchronisation (slow on loaded CI).
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def dense_attention(x, triples, rel_emb, proj):
    # pi(h,r,t) = (W_r e_t)^T tanh(W_r e_h + e_r), softmax over the triples of each head.
    score = [float((proj[r] @ x[t]) @ torch.tanh(proj[r] @ x[h] + rel_emb[r]))
             for h, r, t in triples]
    out = []
    for k, (h, _, _) in enumerate(triples):
        den = sum(math.exp(score[m]) for m, (hh, _, _) in enumerate(triples) if hh == h)
        out.append(math.exp(score[k]) / den)
    return torch.tensor(out, dtype=x.dtype)


def dense_kgat_layer(conv, x, triples, weight):
    side = torch.zeros_like(x)
    for (h, _, t), w in zip(triples, weight):
        side[h] += w * x[t]
    act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
    W1, b1 = conv.lin1.weight, conv.lin1.bias
    if conv.aggregator == 'gcn':
        return act((x + side) @ W1.t() + b1)
    if conv.aggregator == 'graphsage':
        return act(torch.cat([x, side], -1) @ W1.t() + b1)
    W2, b2 = conv.lin2.weight, conv.lin2.bias
    return act((x + side) @ W1.t() + b1) + act((x * side) @ W2.t() + b2)


TRIPLES = [(0, 0, 1), (0, 1, 2), (0, 1, 2), (1, 2, 0), (2, 0, 3), (2, 2, 1), (3, 1, 0)]


def tensors(triples):
    ei = torch.tensor([[h for h, _, _ in triples], [t for _, _, t in triples]])
    return ei, torch.tensor([r for _, r, _ in triples])


def test_kgat_attention_matches_dense_reference():
    torch.manual_seed(0)
    x = torch.randn(5, 4, dtype=torch.double)
    rel = torch.randn(3, 3, dtype=torch.double)
    proj = torch.randn(3, 3, 4, dtype=torch.double)
    ei, et = tensors(TRIPLES)
    att = kgat_attention(x, ei, et, rel, proj)
    torch.testing.assert_close(att, dense_attention(x, TRIPLES, rel, proj))
    # sums to one per head; a node without triples (4) gets nothing
    sums = torch.zeros(5, dtype=torch.double).index_add_(0, ei[0], att)
    torch.testing.assert_close(sums, torch.tensor([1., 1., 1., 1., 0.], dtype=torch.double))
    # edge order does not matter
    perm = torch.randperm(len(TRIPLES))
    torch.testing.assert_close(kgat_attention(x, ei[:, perm], et[perm], rel, proj), att[perm])
    with pytest.raises(ValueError, match="rel_emb"):
        kgat_attention(x, ei, et, rel[:2], proj)


@pytest.mark.parametrize('aggregator', ['bi-interaction', 'gcn', 'graphsage'])
def test_kgat_conv_matches_dense_reference(aggregator):
    torch.manual_seed(0)
    conv = KGATConv(4, 3, aggregator=aggregator).double()
    assert str(conv) == f"KGATConv(4, 3, aggregator='{aggregator}')"
    x = torch.randn(5, 4, dtype=torch.double)
    ei, _ = tensors(TRIPLES)
    w = torch.rand(len(TRIPLES), dtype=torch.double)
    ref = dense_kgat_layer(conv, x, TRIPLES, w)
    torch.testing.assert_close(conv(x, ei, w), ref)
    # sparse [N, N] adjacency (duplicate (0, 2) entries are summed)
    adj = torch.sparse_coo_tensor(ei, w, (5, 5)).coalesce()
    torch.testing.assert_close(conv(x, adj), ref)
    torch.testing.assert_close(conv(x, adj.to_sparse_csr()), ref)
    # default: mean over the triples of each head
    deg = torch.bincount(ei[0], minlength=5).double()
    torch.testing.assert_close(conv(x, ei),
                               dense_kgat_layer(conv, x, TRIPLES, 1.0 / deg[ei[0]]))
    # edge order invariance
    perm = torch.randperm(len(TRIPLES))
    torch.testing.assert_close(conv(x, ei[:, perm], w[perm]), ref)


def test_kgat_conv_gradients_and_bad_input():
    torch.manual_seed(0)
    conv = KGATConv(4, 3)
    x = torch.randn(5, 4, requires_grad=True)
    ei, _ = tensors(TRIPLES)
    w = torch.rand(len(TRIPLES), requires_grad=True)
    conv(x, ei, w).pow(2).sum().backward()
    for name, p in list(conv.named_parameters()) + [('x', x), ('edge_weight', w)]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match='aggregator'):
        KGATConv(4, 3, aggregator='mean')
    with pytest.raises(ValueError, match="'x'"):
        conv(torch.randn(5, 3), ei)
    with pytest.raises(ValueError, match='edge_weight'):
        conv(x, ei, torch.rand(3))
    with pytest.raises(ValueError, match='adjacency'):
        conv(x, torch.sparse_coo_tensor(ei, torch.ones(7), (5, 6)))


# --------------------------------------------------------------------------- model
def random_problem(seed=0, U=12, E=20, I=8, R=2, T=40, N=40):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, E, (2, T), generator=g)
    edge_type = torch.randint(0, R, (T, ), generator=g)
    inter = torch.stack([torch.randint(0, U, (N, ), generator=g),
                         torch.randint(0, I, (N, ), generator=g)]).unique(dim=1)
    return U, E, I, R, edge_index, edge_type, inter


def ckg_triples(U, E, R, edge_index, edge_type, inter):
    # Independent construction of the collaborative KG: entities, then users at E + u.
    out = []
    for (h, t), r in zip(edge_index.t().tolist(), edge_type.tolist()):
        out += [(h, r, t), (t, r + R, h)]
    for u, i in inter.t().tolist():
        out += [(E + u, 2 * R, i), (i, 2 * R + 1, E + u)]
    return out


@pytest.mark.parametrize('attention', ['epoch', 'step'])
def test_kgat_model_matches_dense_reference(attention):
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = random_problem()
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=6,
                 relation_dim=5, layer_dims=(4, 3), attention=attention).double()
    assert str(model) == ("KGAT(12, 20, num_items=8, num_relations=2, embedding_dim=6, "
                          f"layer_dims=[4, 3], aggregator='bi-interaction', "
                          f"attention='{attention}')")
    assert model.out_channels == 13
    triples = ckg_triples(U, E, R, edge_index, edge_type, inter)
    assert sorted(map(tuple, torch.cat([model.ckg_edge_index[:1], model.ckg_edge_type[None],
                                        model.ckg_edge_index[1:]]).t().tolist())) == \
        sorted(triples)
    model.eval()
    if attention == 'epoch':
        model.update_attention()
    with torch.no_grad():
        x = model.kge.node_emb.weight
        w = dense_attention(x, triples, model.kge.rel_emb.weight, model.kge.proj)
        outs = [x]
        for conv in model.convs:
            x = dense_kgat_layer(conv, x, triples, w)
            outs.append(F.normalize(x, dim=-1))
        ref = torch.cat(outs, -1)
        user_out, entity_out = model()
        torch.testing.assert_close(entity_out, ref[:E])
        torch.testing.assert_close(user_out, ref[E:])
        torch.testing.assert_close(model.score_all(torch.tensor([2, 5])),
                                   ref[[E + 2, E + 5]] @ ref[:I].t())


def test_kgat_losses_and_gradients():
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = random_problem(1)
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8,
                 relation_dim=6, layer_dims=(8, 4))
    model.update_attention()
    users, pos = inter[:, :10]
    neg = torch.randint(0, I, (10, ))
    cf = model.loss(users, pos, neg)
    h, r, t, tn = model.sample_kg_batch(32, torch.Generator().manual_seed(0))
    kg = model.kg_loss(h, r, t, tn)

    # KG loss by hand: -ln sigmoid(g(neg) - g(pos)) + lambda/2B * ||.||^2
    with torch.no_grad():
        e, rel, W = model.kge.node_emb.weight, model.kge.rel_emb.weight, model.kge.proj
        total, reg = 0.0, 0.0
        for k in range(32):
            Wr = W[r[k]]
            wh, wt, wn = Wr @ e[h[k]], Wr @ e[t[k]], Wr @ e[tn[k]]
            gp = (wh + rel[r[k]] - wt).pow(2).sum()
            gn = (wh + rel[r[k]] - wn).pow(2).sum()
            total += -F.logsigmoid(gn - gp)
            reg += wh.pow(2).sum() + rel[r[k]].pow(2).sum() + wt.pow(2).sum() + wn.pow(2).sum()
        torch.testing.assert_close(kg.detach(), total / 32 + 1e-5 * reg / 64)

    (cf + kg).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    # With the per-epoch attention the CF loss does not reach W_r / e_r; per step it does.
    model.zero_grad()
    model.loss(users, pos, neg).backward()
    assert model.kge.proj.grad is None or model.kge.proj.grad.abs().sum() == 0
    step = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8, relation_dim=6,
                layer_dims=(8, 4), attention='step')
    step.loss(users, pos, neg).backward()
    assert step.kge.proj.grad.abs().sum() > 0 and step.kge.rel_emb.weight.grad.abs().sum() > 0


def test_kgat_kg_batch_and_state_dict():
    U, E, I, R, edge_index, edge_type, inter = random_problem(2)
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8,
                 layer_dims=(4, ))
    known = set(ckg_triples(U, E, R, edge_index, edge_type, inter))
    h, r, t, tn = model.sample_kg_batch(200, torch.Generator().manual_seed(0))
    assert all((a, b, c) in known for a, b, c in zip(h.tolist(), r.tolist(), t.tolist()))
    assert sum((a, b, c) in known for a, b, c in zip(h.tolist(), r.tolist(), tn.tolist())) == 0
    assert int(tn.max()) < E + U

    model.update_attention()
    fresh = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8, layer_dims=(4, ))
    fresh.load_state_dict(model.state_dict())  # attention buffer restored (size E)
    model.eval()
    fresh.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh.score_all(torch.arange(U)),
                                   model.score_all(torch.arange(U)))


def test_kgat_bad_input():
    U, E, I, R, edge_index, edge_type, inter = random_problem()
    with pytest.raises(ValueError, match='users outside'):
        KGAT(U - 5, E, I, R, edge_index, edge_type, inter)
    with pytest.raises(ValueError, match='attention'):
        KGAT(U, E, I, R, edge_index, edge_type, inter, attention='batch')
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, layer_dims=(4, ))
    with pytest.raises(ValueError, match='neg_tail'):
        model.kg_loss(torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long),
                      torch.zeros(3, dtype=torch.long), torch.zeros(2, dtype=torch.long))


def test_kgat_training_loss_decreases():
    from test_kgin import planted_problem
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = planted_problem()
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=16,
                 relation_dim=16, layer_dims=(16, 8))
    sampler = UniformNegativeSampler(inter, U, I)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(0)
    cf_losses, kg_losses = [], []
    for epoch in range(25):
        cf = kg = 0.0
        for batch in torch.randperm(inter.size(1), generator=g).split(128):
            users, pos = inter[:, batch]
            loss = model.loss(users, pos, sampler.sample(users, generator=g).view(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            cf += float(model.last_losses['cf']) * batch.numel()
        for _ in range(3):
            loss = model.kg_loss(*model.sample_kg_batch(256, g))
            opt.zero_grad()
            loss.backward()
            opt.step()
            kg += float(model.last_losses['kg']) / 3
        model.update_attention()
        cf_losses.append(cf / inter.size(1))
        kg_losses.append(kg)
    assert cf_losses[-1] < 0.5 * cf_losses[0]
    assert kg_losses[-1] < kg_losses[0]
    model.eval()
    with torch.no_grad():
        top = model.recommend(torch.arange(U), k=5)
    assert (top % 4 == (torch.arange(U) % 4).unsqueeze(1)).float().mean() > 0.9


def test_kgat_load_pretrained_bprmf():
    from torch_geometric_kgrec.nn.models import BPRMF
    U, E, I, R, edge_index, edge_type, inter = random_problem(3)
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8, layer_dims=(4, ))
    mf = BPRMF(U, I, 8)
    before = model.kge.node_emb.weight[I:E].clone()
    model.load_pretrained(mf.user_emb.weight, mf.item_emb.weight)
    w = model.kge.node_emb.weight
    assert torch.equal(w[:I], mf.item_emb.weight) and torch.equal(w[E:], mf.user_emb.weight)
    assert torch.equal(w[I:E], before)
    with pytest.raises(ValueError, match='shapes'):
        model.load_pretrained(mf.item_emb.weight, mf.user_emb.weight)


def test_kgat_kg_batch_on_device_equals_cpu_rejection_sampling():
    # The device-side sampler draws the same numbers as KGAT's CPU rejection sampling
    # (KGCorruptionSampler.is_known, redraw the known corruptions up to 10 times).
    from torch_geometric_kgrec.protocols.kg_corruption import KGCorruptionSampler
    U, E, I, R, edge_index, edge_type, inter = random_problem(2)
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8,
                 layer_dims=(4, ))
    ei, et = model.ckg_edge_index, model.ckg_edge_type
    sampler = KGCorruptionSampler(ei, et, model.num_nodes, model.num_ckg_relations)
    g = torch.Generator().manual_seed(3)
    idx = torch.randint(et.numel(), (300, ), generator=g)
    head, rel, tail = ei[0, idx], et[idx], ei[1, idx]
    neg = torch.randint(model.num_nodes, (300, ), generator=g)
    for _ in range(10):
        bad = sampler.is_known(head, rel, neg)
        if not bool(bad.any()):
            break
        neg[bad] = torch.randint(model.num_nodes, (int(bad.sum()), ), generator=g)
    got = model.sample_kg_batch(300, torch.Generator().manual_seed(3))
    for a, b in zip(got, (head, rel, tail, neg)):
        assert torch.equal(a, b)


def test_kgat_kg_score_is_transr_distance():
    U, E, I, R, edge_index, edge_type, inter = random_problem(1)
    model = KGAT(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8,
                 relation_dim=6, layer_dims=(4, ))
    h, r, t, _ = model.sample_kg_batch(16, torch.Generator().manual_seed(0))
    e, rel, W = model.kge.node_emb.weight, model.kge.rel_emb.weight, model.kge.proj
    with torch.no_grad():
        ref = torch.stack([(W[r[k]] @ e[h[k]] + rel[r[k]] - W[r[k]] @ e[t[k]]).pow(2).sum()
                           for k in range(16)])
        torch.testing.assert_close(model.kg_score(h, r, t), ref)
