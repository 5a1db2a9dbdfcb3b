import pytest
import torch
from torch_geometric.nn.kge import TransE

from torch_geometric_kgrec.metrics import evaluate_kg_completion, relation_categories
from torch_geometric_kgrec.nn.kge import TransH, TransR, kg_score_fn
from torch_geometric_kgrec.protocols.kg_corruption import KGCorruptionSampler


def _set_transh(model, ent, rel, normal):
    with torch.no_grad():
        model.node_emb.weight.copy_(ent)
        model.rel_emb.weight.copy_(rel)
        model.normal_emb.parametrizations.weight.original.copy_(normal)


def test_transh_score_and_projection_by_hand():
    model = TransH(3, 1, 2, p_norm=1.0)
    assert str(model) == 'TransH(3, num_relations=1, hidden_channels=2)'
    # w = (3, 4) / 5 after the unit-norm parametrization.
    _set_transh(model, torch.tensor([[0.6, 0.0], [0.0, 0.5], [3.0, 4.0]]),
                torch.tensor([[0.1, -0.2]]), torch.tensor([[3.0, 4.0]]))
    w = torch.tensor([0.6, 0.8])
    assert torch.allclose(model.normal(0), w)
    # h = (0.6, 0): w.h = 0.36 -> h_perp = (0.6, 0) - 0.36 w = (0.384, -0.288)
    assert torch.allclose(model.project(torch.tensor([[0.6, 0.0]]), torch.tensor([0])),
                          torch.tensor([[0.384, -0.288]]), atol=1e-6)
    # t = (0, 0.5): w.t = 0.4 -> t_perp = (-0.24, 0.18)
    # h_perp + d - t_perp = (0.384 + 0.1 + 0.24, -0.288 - 0.2 - 0.18) = (0.724, -0.668)
    score = model(torch.tensor([0]), torch.tensor([0]), torch.tensor([1]))
    assert torch.allclose(score, torch.tensor([-(0.724 + 0.668)]), atol=1e-6)
    model.p_norm = 2.0
    score = model(torch.tensor([0]), torch.tensor([0]), torch.tensor([1]))
    assert torch.allclose(score, torch.tensor([-(0.724**2 + 0.668**2)**0.5]), atol=1e-6)
    # entity 2 has norm 5 > 1: it is rescaled onto the unit ball, (0.6, 0.8) = w,
    # whose projection is 0.
    assert torch.allclose(model.entity(torch.tensor([2])), torch.tensor([[0.6, 0.8]]))
    assert torch.allclose(model.project(model.entity(torch.tensor([2])), 0),
                          torch.zeros(1, 2), atol=1e-6)


def test_transh_normals_unit_after_optimizer_step_and_grads():
    torch.manual_seed(0)
    model = TransH(10, 3, 8, margin=100.0)  # large margin: the loss stays active
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    h, r, t = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 0]), torch.tensor([4, 5, 6, 7])
    for _ in range(3):
        opt.zero_grad()
        loss = model.loss(h, r, t, neg_tail_index=torch.tensor([8, 9, 8, 9]))
        loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        assert all(g is not None and g.abs().sum() > 0 for g in grads.values()), grads.keys()
        opt.step()
    assert torch.allclose(model.normal_emb.weight.norm(dim=-1), torch.ones(3), atol=1e-6)
    assert model.normal_emb.parametrizations.weight.original.norm(dim=-1).sub(1).abs().max() > 1e-3


def test_transh_sum_margin_loss_value():
    torch.manual_seed(0)
    model = TransH(6, 2, 4, margin=2.0)
    h, r, t = torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3])
    nt = torch.tensor([4, 5])
    pos, neg = model(h, r, t), model(h, r, nt)
    expected = (2.0 - pos + neg).clamp(min=0).sum()
    assert torch.allclose(model.loss(h, r, t, neg_tail_index=nt), expected)


@pytest.mark.parametrize('cls', [TransH, TransR])
def test_score_all_matches_forward(cls):
    torch.manual_seed(0)
    model = cls(7, 3, 5)
    h, r = torch.tensor([0, 3, 6, 2]), torch.tensor([0, 2, 2, 1])
    all_e = torch.arange(7)
    tails = model.score_tails(h, r)
    heads = model.score_heads(r, h)
    for b in range(4):
        assert torch.allclose(tails[b], model(h[b].expand(7), r[b].expand(7), all_e), atol=1e-5)
        assert torch.allclose(heads[b], model(all_e, r[b].expand(7), h[b].expand(7)), atol=1e-5)


def test_transr_by_hand():
    model = TransR(2, 1, 2, relation_channels=1)
    assert str(model) == 'TransR(2, num_relations=1, hidden_channels=2, relation_channels=1)'
    with torch.no_grad():
        model.node_emb.weight.copy_(torch.tensor([[0.5, 0.5], [0.0, 0.2]]))
        model.rel_emb.weight.copy_(torch.tensor([[0.3]]))
        model.proj.copy_(torch.tensor([[[1.0, -1.0]]]))
    # M h = 0, M t = -0.2 -> |0 + 0.3 + 0.2| = 0.5
    assert torch.allclose(model(torch.tensor([0]), torch.tensor([0]), torch.tensor([1])),
                          torch.tensor([-0.5]))


def test_loader_and_training_like_pyg_transe():
    torch.manual_seed(0)
    h = torch.tensor([0, 1, 2, 3, 4, 5])
    r = torch.tensor([0, 0, 0, 1, 1, 1])
    t = torch.tensor([1, 2, 3, 4, 5, 0])
    model = TransH(6, 2, 16, margin=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = model.loader(h, r, t, batch_size=3, shuffle=True)
    for epoch in range(60):
        for hb, rb, tb in loader:
            opt.zero_grad()
            loss = model.loss(hb, rb, tb)
            loss.backward()
            opt.step()
    mean_rank, mrr, hits = model.test(h, r, t, batch_size=6, k=2, log=False)
    assert hits >= 0.5 and mrr > 0.5


def test_corruption_sampler_filters_train_only():
    # Entities 0..3, relation 0; (0, 0, 3) is a held-out TEST triple.
    train = torch.tensor([[0, 0, 1], [1, 2, 1]])
    train_type = torch.zeros(3, dtype=torch.long)
    sampler = KGCorruptionSampler(train, train_type, num_nodes=4, filtered=True)
    known = set(map(tuple, torch.stack([train[0], train_type, train[1]], 1).tolist()))
    h = torch.zeros(2000, dtype=torch.long)
    rr = torch.zeros(2000, dtype=torch.long)
    t = torch.ones(2000, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    nh, nr, nt = sampler.sample(h, rr, t, generator=g)
    got = set(map(tuple, torch.stack([nh, nr, nt], 1).tolist()))
    assert not got & known  # never a known training triple
    # The held-out test triple (0, 0, 3) is a legitimate corruption: the sampler never
    # saw it, so it cannot filter it (no leakage of test data into training).
    assert (0, 0, 3) in got
    # Identical draws whether or not test triples exist anywhere else.
    g2 = torch.Generator().manual_seed(0)
    again = KGCorruptionSampler(train.clone(), train_type.clone(), 4).sample(h, rr, t, g2)
    assert torch.equal(again[0], nh) and torch.equal(again[2], nt)
    unfiltered = KGCorruptionSampler(train, train_type, 4, filtered=False)
    raw = unfiltered.sample(h, rr, t, generator=torch.Generator().manual_seed(1))
    assert set(map(tuple, torch.stack(raw, 1).tolist())) & known


def test_corruption_sampler_bern_and_errors():
    # relation 0 is 1-N (one head, many tails): bern replaces the head more often.
    train = torch.tensor([[0, 0, 0, 0], [1, 2, 3, 4]])
    s = KGCorruptionSampler(train, torch.zeros(4, dtype=torch.long), 5, strategy='bern')
    assert torch.allclose(s.head_prob, torch.tensor([4 / 5]))
    with pytest.raises(ValueError, match='strategy'):
        KGCorruptionSampler(train, torch.zeros(4, dtype=torch.long), 5, strategy='x')
    with pytest.raises(ValueError, match='num_nodes'):
        KGCorruptionSampler(train, torch.zeros(4, dtype=torch.long), 3)


def _brute_force_filtered(score, test, known, E):
    out = []
    for h, r, t in test:
        for side in ('head', 'tail'):
            target = score(h, r, t)
            rank = 1
            for e in range(E):
                cand = (e, r, t) if side == 'head' else (h, r, e)
                if cand == (h, r, t) or cand in known:
                    continue
                if score(*cand) >= target:
                    rank += 1
            out.append(rank)
    return out


@pytest.mark.parametrize('cls', [TransH, TransE])
def test_filtered_kg_completion_brute_force(cls):
    torch.manual_seed(0)
    E, R = 6, 2
    train = [(0, 0, 1), (0, 0, 2), (1, 0, 2), (3, 1, 4), (5, 1, 4), (2, 1, 0)]
    test = [(0, 0, 3), (3, 1, 5), (1, 0, 4)]
    model = cls(E, R, 4)
    model.eval()
    score = lambda h, r, t: float(model(torch.tensor([h]), torch.tensor([r]),  # noqa: E731
                                        torch.tensor([t])))
    known = set(train) | set(test)
    expected = _brute_force_filtered(score, test, known, E)
    tt = torch.tensor(test).t()
    tr = torch.tensor(train).t()
    fn = kg_score_fn(model)
    res = evaluate_kg_completion(fn, (tt[0], tt[1], tt[2]), E, filter_triples=(tr[0], tr[1], tr[2]),
                                 ks=(1, 3), batch_size=2)
    head, tail = expected[0::2], expected[1::2]
    assert res['filtered_head_mr'] == pytest.approx(sum(head) / 3)
    assert res['filtered_tail_mr'] == pytest.approx(sum(tail) / 3)
    assert res['filtered_avg_hits@3'] == pytest.approx(sum(r <= 3 for r in expected) / 6)
    # the fast block scorer is exactly the model's forward
    slow = evaluate_kg_completion(lambda h, r, t: model(h, r, t), (tt[0], tt[1], tt[2]), E,
                                  filter_triples=(tr[0], tr[1], tr[2]), ks=(1, 3))
    for key, value in slow.items():
        assert res[key] == pytest.approx(value, abs=1e-9), key


def test_relation_categories_from_training_triples():
    # relation 0: 1-N (head 0 -> 1, 2, 3); relation 1: N-1 (heads 1, 2, 3 -> 0)
    ei = torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]])
    et = torch.tensor([0, 0, 0, 1, 1, 1])
    assert relation_categories(ei, et).tolist() == [1, 2]


def test_kg_triple_split_keeps_entity_pairs_together():
    from torch_geometric_kgrec.protocols.kg_split import kg_triple_split
    g = torch.Generator().manual_seed(0)
    h = torch.randint(50, (400, ), generator=g)
    t = torch.randint(50, (400, ), generator=g)
    r = torch.randint(3, (400, ), generator=g)
    # add every triple's inverse with relation r + 3
    ei = torch.cat([torch.stack([h, t]), torch.stack([t, h])], 1)
    et = torch.cat([r, r + 3])
    parts = kg_triple_split(ei, et, (0.7, 0.1, 0.2), seed=1)
    assert sum(p.size(1) for p in parts) == 800
    pair = [set(map(frozenset, p[[0, 2]].t().tolist())) for p in parts]
    assert not (pair[0] & pair[1]) and not (pair[0] & pair[2]) and not (pair[1] & pair[2])
    assert abs(parts[0].size(1) / 800 - 0.7) < 0.05 and abs(parts[2].size(1) / 800 - 0.2) < 0.05
    again = kg_triple_split(ei, et, (0.7, 0.1, 0.2), seed=1)
    assert all(torch.equal(a, b) for a, b in zip(parts, again))
