import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.nn.conv.kgin_conv import KGINConv
from torch_geometric_kgrec.nn.conv.relational_adj import RelationalAdj
from torch_geometric_kgrec.nn.dcorr import distance_correlation
from torch_geometric_kgrec.nn.models.kgin import KGIN
from torch_geometric_kgrec.protocols import UniformNegativeSampler


@pytest.fixture(autouse=True)
def single_thread():
    # These graphs are tiny: intra-op threads only add OpenMP synchronisation, which
    # costs 10-100x on a loaded CI machine.
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def dense_entity_update(x, rel, triples):
    # Independent reference: e_h = 1/|N_h| sum_{(h,r,t)} e_r * e_t, plain loops.
    out = torch.zeros_like(x)
    count = [0] * x.size(0)
    for h, r, t in triples:
        out[h] += rel[r] * x[t]
        count[h] += 1
    for h, c in enumerate(count):
        if c > 0:
            out[h] /= c
    return out


def dense_user_update(x, x_user, rel, w, interactions):
    # e_p = sum_r softmax_r(w_p) e_r; beta = softmax_p(e_p . e_u);
    # e_u = 1/|N_u| sum_p beta(u,p) sum_i e_p * e_i.
    P, R = w.shape
    intents = []
    for p in range(P):
        a = torch.exp(w[p]) / torch.exp(w[p]).sum()
        intents.append(sum(a[r] * rel[r] for r in range(R)))
    out = torch.zeros_like(x_user)
    for u in range(x_user.size(0)):
        items = [i for uu, i in interactions if uu == u]
        if not items:
            continue
        logits = torch.stack([intents[p] @ x_user[u] for p in range(P)])
        beta = torch.exp(logits) / torch.exp(logits).sum()
        acc = torch.zeros(x.size(1), dtype=x.dtype)
        for p in range(P):
            for i in items:
                acc += beta[p] * intents[p] * x[i]
        out[u] = acc / len(items)
    return out


def tiny_graph():
    # 5 entities (items 0-2), 3 relations, 2 users; node 4 has no out-edges and
    # entity 0 has a duplicate (0, 1, 3) triple (multigraph).
    triples = [(0, 0, 3), (0, 1, 3), (0, 1, 3), (1, 2, 4), (1, 0, 0), (2, 2, 3),
               (3, 1, 0), (3, 1, 1), (3, 0, 2)]
    interactions = [(0, 0), (0, 2), (1, 1)]
    edge_index = torch.tensor([[h for h, _, _ in triples], [t for _, _, t in triples]])
    edge_type = torch.tensor([r for _, r, _ in triples])
    user_edge_index = torch.tensor(interactions).t()
    return triples, interactions, edge_index, edge_type, user_edge_index


def test_kgin_conv_matches_dense_reference():
    torch.manual_seed(0)
    triples, interactions, edge_index, edge_type, user_edge_index = tiny_graph()
    conv = KGINConv(4, num_relations=3, num_intents=2).double()
    assert str(conv) == 'KGINConv(4, num_relations=3, num_intents=2)'
    x = torch.randn(5, 4, dtype=torch.double)
    x_user = torch.randn(2, 4, dtype=torch.double)

    ref = dense_entity_update(x, conv.relation_emb.detach(), triples)
    ref_user = dense_user_update(x, x_user, conv.relation_emb.detach(),
                                 conv.intent_weight.detach(), interactions)
    assert ref[4].abs().sum() == 0  # no neighbours -> zero, as scatter_mean

    out, out_user = conv(x, x_user, edge_index, edge_type, user_edge_index)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(out_user, ref_user)

    # Fused path over (head, relation) pairs:
    adj = RelationalAdj.from_edge_index(edge_index, edge_type, 5, 3)
    assert adj.num_edges == 9 and adj.num_pairs == 7
    out2, out_user2 = conv(x, x_user, adj, None, user_edge_index)
    torch.testing.assert_close(out2, ref)
    torch.testing.assert_close(out_user2, ref_user)

    # Sparse row-normalised interaction matrix:
    inter = torch.tensor([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]], dtype=torch.double)
    _, out_user3 = conv(x, x_user, adj, None, inter.to_sparse_csr())
    torch.testing.assert_close(out_user3, ref_user)


def test_kgin_conv_hand_computed_values():
    # A fully hand-checked case: two relations with one-hot embeddings.
    conv = KGINConv(2, num_relations=2, num_intents=1)
    with torch.no_grad():
        conv.relation_emb.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        conv.intent_weight.zero_()  # alpha = (1/2, 1/2) -> e_p = (0.5, 1.0)
    x = torch.tensor([[1.0, 1.0], [3.0, 5.0], [7.0, 11.0]])
    edge_index = torch.tensor([[0, 0], [1, 2]])
    edge_type = torch.tensor([0, 1])
    x_user = torch.zeros(1, 2)
    out, out_user = conv(x, x_user, edge_index, edge_type, torch.tensor([[0, 0], [0, 1]]))
    # e_0 = ((1,0)*(3,5) + (0,2)*(7,11)) / 2 = ((3,0) + (0,22)) / 2
    assert out.tolist() == [[1.5, 11.0], [0.0, 0.0], [0.0, 0.0]]
    # one intent -> beta = 1; mean of items 0, 1 = (2, 3); e_u = (0.5, 1) * (2, 3)
    assert out_user.tolist() == [[1.0, 3.0]]


def test_kgin_conv_edge_order_invariance_and_gradients():
    torch.manual_seed(1)
    N, U, R, E = 40, 9, 6, 200
    edge_index = torch.randint(0, N, (2, E))
    edge_type = torch.randint(0, R, (E, ))
    user_edge_index = torch.stack([torch.randint(0, U, (60, )), torch.randint(0, 15, (60, ))])
    conv = KGINConv(8, R, num_intents=3)
    x = torch.randn(N, 8, requires_grad=True)
    x_user = torch.randn(U, 8, requires_grad=True)
    out, out_user = conv(x, x_user, RelationalAdj.from_edge_index(edge_index, edge_type, N, R),
                         None, user_edge_index)
    perm = torch.randperm(E)
    uperm = torch.randperm(60)
    for kg in (RelationalAdj.from_edge_index(edge_index[:, perm], edge_type[perm], N, R),
               edge_index[:, perm]):
        o, ou = conv(x, x_user, kg, edge_type[perm], user_edge_index[:, uperm])
        torch.testing.assert_close(o, out)
        torch.testing.assert_close(ou, out_user)

    (out.sum() + out_user.pow(2).sum()).backward()
    for name, p in [('relation_emb', conv.relation_emb), ('intent_weight', conv.intent_weight),
                    ('x', x), ('x_user', x_user)]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    # Fused and message-passing paths give the same gradients:
    grads = [conv.relation_emb.grad.clone(), x.grad.clone()]
    conv.zero_grad()
    x.grad = None
    out2, _ = conv(x, x_user, edge_index, edge_type, user_edge_index)
    out2.sum().backward()
    conv_grad_mp = conv.relation_emb.grad.clone()
    conv.zero_grad()
    x.grad = None
    out3, _ = conv(x, x_user, RelationalAdj.from_edge_index(edge_index, edge_type, N, R),
                   None, user_edge_index)
    out3.sum().backward()
    torch.testing.assert_close(conv.relation_emb.grad, conv_grad_mp)
    assert grads[0].shape == conv_grad_mp.shape


def test_relational_adj_sample_equals_subgraph():
    torch.manual_seed(2)
    N, R, E = 30, 4, 150
    edge_index = torch.randint(0, N, (2, E))
    edge_type = torch.randint(0, R, (E, ))
    adj = RelationalAdj.from_edge_index(edge_index, edge_type, N, R)
    x, rel = torch.randn(N, 5), torch.randn(R, 5)
    sub = adj.sample(0.5)
    assert 0 < sub.num_edges < E and sub.num_pairs == adj.num_pairs
    kept = sub.perm  # original indices of the kept triples
    ref = dense_entity_update(x, rel, [(int(edge_index[0, e]), int(edge_type[e]),
                                        int(edge_index[1, e])) for e in kept])
    torch.testing.assert_close(sub.propagate(x, rel), ref)
    assert adj.sample(0.0) is adj
    with pytest.raises(ValueError, match='dropout probability'):
        adj.sample(1.0)


def test_kgin_conv_bad_input():
    conv = KGINConv(4, 3)
    x, xu = torch.randn(5, 4), torch.randn(2, 4)
    ui = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match='edge_type'):
        conv(x, xu, torch.tensor([[0], [1]]), None, ui)
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        conv(x, xu, torch.tensor([[0], [1]]), torch.tensor([3]), ui)
    with pytest.raises(ValueError, match="'x'"):
        conv(torch.randn(5, 3), xu, torch.tensor([[0], [1]]), torch.tensor([0]), ui)
    with pytest.raises(ValueError, match='relations'):
        conv(x, xu, RelationalAdj.from_edge_index(torch.tensor([[0], [1]]), torch.tensor([0]),
                                                  5, 2), None, ui)
    with pytest.raises(ValueError, match='node indices'):
        RelationalAdj.from_edge_index(torch.tensor([[0], [7]]), torch.tensor([0]), 5, 2)


# --------------------------------------------------------------------------- model
def random_problem(seed=0, U=30, E=50, I=20, R=3, T=160, N=150):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, E, (2, T), generator=g)
    edge_type = torch.randint(0, R, (T, ), generator=g)
    inter = torch.stack([torch.randint(0, U, (N, ), generator=g),
                         torch.randint(0, I, (N, ), generator=g)]).unique(dim=1)
    return U, E, I, R, edge_index, edge_type, inter


def test_kgin_model_matches_dense_reference():
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = random_problem()
    model = KGIN(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8, num_layers=2,
                 num_intents=3).double()
    assert str(model).startswith('KGIN(30, 50, num_items=20, num_relations=3')
    model.eval()
    with torch.no_grad():
        user_out, entity_out = model()
        # Reference: inverse triples added, two hops, L2-normalised, layer sum.
        conv = model.conv
        triples = [(int(h), int(r), int(t)) for h, r, t in
                   zip(edge_index[0], edge_type, edge_index[1])]
        triples += [(t, r + R, h) for h, r, t in triples]
        pairs = [(int(u), int(i)) for u, i in inter.t()]
        x, xu = model.entity_emb.weight, model.user_emb.weight
        sx, su = x.clone(), xu.clone()
        for _ in range(2):
            x, xu = (dense_entity_update(x, conv.relation_emb, triples),
                     dense_user_update(x, xu, conv.relation_emb, conv.intent_weight, pairs))
            x, xu = F.normalize(x, dim=-1), F.normalize(xu, dim=-1)
            sx, su = sx + x, su + xu
        torch.testing.assert_close(entity_out, sx)
        torch.testing.assert_close(user_out, su)
        torch.testing.assert_close(model.score_all(torch.tensor([3, 0])),
                                   su[[3, 0]] @ sx[:I].t())


def test_kgin_loss_gradients_dropout_and_cache():
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = random_problem(1)
    model = KGIN(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8)
    users, pos = inter[:, :16]
    neg = torch.randint(0, I, (16, ))
    loss = model.loss(users, pos, neg)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    terms = model.last_losses
    expected = (terms['bpr'] + 1e-5 * terms['l2'] + 1e-4 * terms['ind'])
    torch.testing.assert_close(loss.detach(), expected)
    torch.testing.assert_close(terms['ind'],
                               sum(distance_correlation(model.conv.intent_weight[p],
                                                        model.conv.intent_weight[q])
                                   for p in range(4) for q in range(p + 1, 4)).detach())

    # Node / message dropout: random in training, deterministic in evaluation.
    with torch.no_grad():
        a, b = model.propagate()[0], model.propagate()[0]
        assert not torch.allclose(a, b)
        model.eval()
        c, d = model.propagate()[0], model.propagate()[0]
        torch.testing.assert_close(c, d)

        # The evaluation cache is invalidated by a parameter update.
        s1 = model.score_all(torch.arange(U))
        torch.testing.assert_close(model.score_all(torch.arange(U)), s1)
        model.entity_emb.weight.add_(0.1)
        s2 = model.score_all(torch.arange(U))
        assert not torch.allclose(s1, s2)
        torch.testing.assert_close(s2, model.propagate()[0] @ model.propagate()[1][:I].t())


def test_kgin_bad_input():
    U, E, I, R, edge_index, edge_type, inter = random_problem()
    with pytest.raises(ValueError, match='items outside'):
        KGIN(U, E, I, R, edge_index, edge_type, inter + torch.tensor([[0], [I]]))
    with pytest.raises(ValueError, match='relations outside'):
        KGIN(U, E, I, R - 1, edge_index, edge_type, inter)
    with pytest.raises(ValueError, match='num_items'):
        KGIN(U, 10, I, R, edge_index % 10, edge_type, inter)
    with pytest.raises(ValueError, match='independence'):
        KGIN(U, E, I, R, edge_index, edge_type, inter, independence='mi')


def planted_problem(seed=0, U=60, I=40, C=4, extra=20):
    # Users and items in C clusters; users interact with items of their cluster, and
    # the KG links each item to its cluster's "genre" entity (relation 0) plus noise.
    g = torch.Generator().manual_seed(seed)
    user_c = torch.arange(U) % C
    item_c = torch.arange(I) % C
    pairs = [(u, i) for u in range(U) for i in range(I)
             if item_c[i] == user_c[u] and torch.rand(1, generator=g) < 0.6]
    inter = torch.tensor(pairs).t()
    E = I + C + extra
    heads = list(range(I)) + torch.randint(0, E, (40, ), generator=g).tolist()
    tails = [I + int(c) for c in item_c] + torch.randint(0, E, (40, ), generator=g).tolist()
    types = [0] * I + torch.randint(1, 3, (40, ), generator=g).tolist()
    return U, E, I, 3, torch.tensor([heads, tails]), torch.tensor(types), inter


def test_kgin_training_loss_decreases():
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = planted_problem()
    model = KGIN(U, E, I, R, edge_index, edge_type, inter, embedding_dim=16, num_layers=2)
    sampler = UniformNegativeSampler(inter, U, I)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for epoch in range(30):
        perm = torch.randperm(inter.size(1), generator=g)
        total = 0.0
        for batch in perm.split(128):
            users, pos = inter[:, batch]
            neg = sampler.sample(users, generator=g).view(-1)
            loss = model.loss(users, pos, neg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(model.last_losses['bpr']) * batch.numel()
        losses.append(total / inter.size(1))
    assert losses[-1] < 0.5 * losses[0]
    # and the learnt scores rank a user's own-cluster items first:
    model.eval()
    with torch.no_grad():
        top = model.recommend(torch.arange(U), k=5)
    assert (top % 4 == (torch.arange(U) % 4).unsqueeze(1)).float().mean() > 0.9


def test_kmpn_without_gates_and_with_relation_meta_preferences_is_kgin():
    # CKMPN Sec. 3.2: KMPN generalises KGIN. With the gates fixed to 1 (eq. 2) and the
    # N_m = |R| meta-preferences set to the relation embeddings (eq. 3-4 become KGIN's
    # intents, eq. 1-2 of KGIN), KMPN computes exactly KGIN's embeddings and losses.
    from torch_geometric_kgrec.nn.conv.gated_path_conv import GatedPathConv
    from torch_geometric_kgrec.nn.models.kmpn import KMPN

    class UngatedPathConv(GatedPathConv):
        def edge_update(self, edge_index_i, x, rel, edge_type):
            return x.new_ones(edge_index_i.numel())  # gamma_ij := 1

        def forward(self, x, edge_index, edge_type=None, relation_emb=None):
            if isinstance(edge_index, RelationalAdj):  # use the message-passing path
                edge_index, edge_type = (torch.stack([edge_index.head, edge_index.tail]),
                                         edge_index.rel)
            return super().forward(x, edge_index, edge_type, relation_emb)

    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = random_problem(3)
    kgin = KGIN(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8, num_layers=2,
                num_intents=3, independence_on='weight').double().eval()
    kmpn = KMPN(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8, num_layers=2,
                num_preferences=3, num_meta_preferences=2 * R, dcorr_eps=1.0,
                dcorr_target='logits', user_residual=False).double().eval()
    with torch.no_grad():
        kmpn.user_emb.weight.copy_(kgin.user_emb.weight)
        kmpn.entity_emb.weight.copy_(kgin.entity_emb.weight)
        kmpn.relation_emb.copy_(kgin.conv.relation_emb)
        kmpn.user_model.meta_preference_emb.copy_(kgin.conv.relation_emb)
        kmpn.user_model.preference_logits.copy_(kgin.conv.intent_weight)
        gated = kmpn()
        kmpn.convs = torch.nn.ModuleList([UngatedPathConv(8) for _ in range(2)])
        for a, b in zip(kmpn(), kgin()):
            torch.testing.assert_close(a, b)
        assert not torch.allclose(gated[1], kgin()[1])  # the gates do change things
        torch.testing.assert_close(kmpn.preference_dcorr(), kgin.independence_loss())
        torch.testing.assert_close(kmpn.score_all(torch.arange(U)),
                                   kgin.score_all(torch.arange(U)))


def test_relational_adj_backward_uses_exact_transpose():
    # The custom backward (precomputed CSR transpose, kept sorted under sampling)
    # must give the exact gradient: gradcheck in float64, full and sampled graphs.
    torch.manual_seed(4)
    N, R, E = 25, 4, 120
    adj = RelationalAdj.from_edge_index(torch.randint(0, N, (2, E)),
                                        torch.randint(0, R, (E, )), N, R)
    rel = torch.randn(R, 3, dtype=torch.double, requires_grad=True)
    gate = torch.rand(adj.num_pairs, dtype=torch.double, requires_grad=True)
    for a in (adj, adj.sample(0.3)):
        assert torch.equal(a.tail[a.tail_order], a.tail.sort().values)
        x = torch.randn(N, 3, dtype=torch.double, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, rel, gate: a.propagate(x, rel, gate),
                                        (x, rel, gate))


def test_kgin_loss_with_several_negatives():
    torch.manual_seed(0)
    U, E, I, R, edge_index, edge_type, inter = random_problem(5)
    model = KGIN(U, E, I, R, edge_index, edge_type, inter, embedding_dim=8,
                 ind_weight=0.0).eval()
    users, pos = inter[:, :6]
    neg = torch.randint(0, I, (6, 3))
    with torch.no_grad():
        loss = model.loss(users, pos, neg)
        u_all, e_all = model.propagate()
        u, i, j = u_all[users], e_all[pos], e_all[neg]
        ref = -F.logsigmoid((u * i).sum(-1, keepdim=True) - (u[:, None] * j).sum(-1)).mean()
        ref = ref + 1e-5 * (u.pow(2).sum() + i.pow(2).sum() + j.pow(2).sum()) / 12
        torch.testing.assert_close(loss, ref)


def test_kgin_conv_sparse_adjacency_input():
    torch.manual_seed(6)
    N, R = 12, 3
    edge_index = torch.randint(0, N, (2, 30)).unique(dim=1)  # one relation per pair
    edge_type = torch.randint(0, R, (edge_index.size(1), ))
    conv = KGINConv(4, R)
    x, xu = torch.randn(N, 4), torch.randn(2, 4)
    ui = torch.tensor([[0, 1], [2, 3]])
    ref, _ = conv(x, xu, edge_index, edge_type, ui)
    adj = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.size(1)), (N, N))
    out, _ = conv(x, xu, adj.coalesce(), edge_type, ui)  # unique pairs: order is kept
    torch.testing.assert_close(out, ref)
    with pytest.raises(ValueError, match='cannot carry relation ids'):
        conv(x, xu, torch.sparse_coo_tensor(edge_index, edge_type, (N, N)), None, ui)
    dup = torch.cat([edge_index, edge_index[:, :1]], dim=1)  # a second relation of a pair
    summed = torch.sparse_coo_tensor(dup, torch.ones(dup.size(1)), (N, N)).coalesce()
    with pytest.raises(ValueError, match='summed'):
        conv(x, xu, summed, torch.zeros(summed._nnz(), dtype=torch.long), ui)
