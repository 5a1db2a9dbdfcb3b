import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.explain import KTUPExplainer
from torch_geometric_kgrec.nn.models.ktup import (KTUP, TUP, is_recommendation_step,
                                                  soft_attention, st_gumbel_softmax)


def _ball(x):
    n = x.norm(dim=-1, keepdim=True)
    return torch.where(n > 1, x / n, x)


def _dense_tup(u, i, P, W, strategy, attention='softmax'):
    r"""Independent per-pair loop of eq. 8-14 (deterministic induction)."""
    out = []
    for a in range(u.size(0)):
        logits = torch.stack([(u[a] + i[a]) @ P[p] for p in range(P.size(0))])
        if strategy == 'soft' and attention == 'softmax':
            alpha = torch.exp(logits - logits.max())
            alpha = alpha / alpha.sum()
        elif strategy == 'soft' and attention == 'proportional':
            alpha = logits / logits.sum()
        elif strategy == 'soft':  # 'raw', the authors' code
            alpha = logits / 2
        else:
            alpha = torch.zeros_like(logits)
            alpha[int(torch.argmax(logits))] = 1.0
        p = sum(alpha[k] * P[k] for k in range(P.size(0)))
        w = sum(alpha[k] * W[k] for k in range(P.size(0)))
        w = w / w.norm()
        up = u[a] - (w @ u[a]) * w
        ip = i[a] - (w @ i[a]) * w
        out.append(-(up + p - ip).abs().sum())
    return torch.stack(out)


def test_st_gumbel_is_one_hot_forward_with_dense_gradients():
    torch.manual_seed(0)
    logits = torch.randn(64, 5, requires_grad=True)
    y = st_gumbel_softmax(logits, tau=0.5)
    assert torch.equal(y.detach().sum(-1), torch.ones(64))
    assert set(y.detach().unique().tolist()) <= {0.0, 1.0}
    (y * torch.randn(64, 5)).sum().backward()
    assert (logits.grad.abs() > 0).all()


def test_tup_hard_gradients_reach_every_preference():
    torch.manual_seed(0)
    model = TUP(4, 6, num_preferences=5, embedding_dim=8, strategy='hard', tau=1.0)
    model.train()
    users, pos = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 3])
    neg = torch.tensor([4, 5, 4, 5])
    model.loss(users, pos, neg).backward()
    assert (model.pref_emb.weight.grad.abs().sum(-1) > 0).all()  # ST path reaches all P
    assert model.pref_normal_emb.parametrizations.weight.original.grad.abs().sum() > 0
    assert model.user_emb.weight.grad[users].abs().sum(-1).gt(0).all()


def test_soft_attention_readings_by_hand():
    phi = torch.tensor([[1.0, 2.0, -1.0, 2.0], [-1.0, -1.0, 0.0, -2.0]])
    # eq. 10 literally: phi / sum(phi)
    assert torch.allclose(soft_attention(phi, 'proportional'),
                          torch.tensor([[0.25, 0.5, -0.25, 0.5], [0.25, 0.25, 0.0, 0.5]]))
    # the authors' code: phi / 2, unnormalised
    assert torch.allclose(soft_attention(phi, 'raw'),
                          torch.tensor([[0.5, 1.0, -0.5, 1.0], [-0.5, -0.5, 0.0, -1.0]]))
    e = torch.tensor([1.0, 2.0, -1.0, 2.0]).exp()
    assert torch.allclose(soft_attention(phi, 'softmax')[0], e / e.sum())
    assert torch.allclose(soft_attention(phi), soft_attention(phi, 'softmax'))
    # a vanishing sum keeps a finite denominator of magnitude eps
    out = soft_attention(torch.tensor([1.0, -1.0]), 'proportional', eps=0.5)
    assert torch.allclose(out, torch.tensor([2.0, -2.0]))
    with pytest.raises(ValueError, match='attention'):
        soft_attention(phi, 'sparsemax')
    with pytest.raises(ValueError, match='attention'):
        TUP(2, 2, 2, attention='sparsemax')


@pytest.mark.parametrize('strategy,attention', [('soft', 'softmax'), ('hard', 'softmax'),
                                                ('soft', 'proportional'), ('soft', 'raw')])
def test_tup_matches_dense_reference_and_score_all(strategy, attention):
    torch.manual_seed(1)
    model = TUP(3, 5, num_preferences=4, embedding_dim=6, strategy=strategy,
                attention=attention).eval()
    extra = f", attention='{attention}'" if attention != 'softmax' else ''
    assert str(model) == (f"TUP(3, 5, num_preferences=4, embedding_dim=6, "
                          f"strategy='{strategy}'{extra})")
    with torch.no_grad():
        model.user_emb.weight.mul_(3.0)  # some rows leave the unit ball
    users = torch.tensor([0, 0, 1, 2, 2])
    items = torch.tensor([0, 4, 2, 1, 3])
    u = _ball(model.user_emb.weight[users])
    i = _ball(model.item_emb.weight[items])
    P = model.pref_emb.weight
    W = F.normalize(model.pref_normal_emb.parametrizations.weight.original, dim=-1)
    expected = _dense_tup(u, i, P, W, strategy, attention)
    assert torch.allclose(model(users, items), expected, atol=1e-5)
    # no Gumbel noise at evaluation: repeated calls are identical
    assert torch.equal(model(users, items), model(users, items))
    full = model.score_all(torch.arange(3))
    for a in range(3):
        assert torch.allclose(full[a], model(torch.full((5, ), a), torch.arange(5)), atol=1e-5)
    w = model.preference_weights(users, items)
    if attention != 'raw':
        assert torch.allclose(w.sum(-1), torch.ones(5))


@pytest.mark.parametrize('attention', ['softmax', 'proportional', 'raw'])
def test_ktup_enhancement_by_hand(attention):
    torch.manual_seed(2)
    item_to_entity = torch.tensor([3, -1, 0])
    model = KTUP(2, 3, num_entities=5, num_relations=4, embedding_dim=6, strategy='soft',
                 item_to_entity=item_to_entity, attention=attention).eval()
    assert str(model).startswith('KTUP(2, 3, num_entities=5, num_relations=4')
    iv = model.item_vectors(torch.tensor([0, 1, 2]))
    base = _ball(model.item_emb.weight)
    ent = _ball(model.kg.node_emb.weight)
    assert torch.allclose(iv[0], base[0] + ent[3])  # eq. 18
    assert torch.allclose(iv[1], base[1])  # not aligned
    assert torch.allclose(iv[2], base[2] + ent[0])
    P = model.pref_emb.weight + model.kg.rel_emb.weight  # eq. 19
    # eq. 20 (the combined normal of eq. 14 is re-normalised inside _dense_tup)
    W = (F.normalize(model.pref_normal_emb.parametrizations.weight.original, dim=-1)
         + F.normalize(model.kg.normal_emb.parametrizations.weight.original, dim=-1))
    users, items = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2])
    expected = _dense_tup(_ball(model.user_emb.weight[users]), iv[items], P, W, 'soft',
                          attention)
    assert torch.allclose(model(users, items), expected, atol=1e-5)
    with pytest.raises(ValueError, match='item_to_entity'):
        KTUP(2, 3, 5, 4, item_to_entity=torch.tensor([0, 9, 1]))


def test_ktup_joint_loss_reaches_both_tasks():
    torch.manual_seed(3)
    model = KTUP(3, 4, num_entities=6, num_relations=2, embedding_dim=5, strategy='hard')
    model.train()
    loss = model.joint_loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]),
                            torch.tensor([0, 4]), torch.tensor([0, 1]), torch.tensor([5, 1]),
                            neg_tail_index=torch.tensor([2, 3]), joint_ratio=0.5)
    loss.backward()
    g = model.kg.node_emb.weight.grad
    assert g[[0, 1, 2, 3, 4, 5]].abs().sum(-1).gt(0).all()  # items' entities and KG ones
    assert model.kg.rel_emb.weight.grad.abs().sum(-1).gt(0).all()
    assert model.pref_emb.weight.grad.abs().sum(-1).gt(0).all()


@pytest.mark.parametrize('strategy', ['hard', 'soft'])
def test_ktup_lambda_one_without_alignment_trains_exactly_like_tup(strategy):
    torch.manual_seed(4)
    tup = TUP(5, 7, num_preferences=3, embedding_dim=4, strategy=strategy)
    ktup = KTUP(5, 7, num_entities=9, num_relations=3, embedding_dim=4, strategy=strategy,
                item_to_entity=torch.full((7, ), -1), transfer_relations=False)
    ktup.load_pretrained(tup=tup)
    kg_before = {k: v.clone() for k, v in ktup.kg.state_dict().items()}
    opt_a = torch.optim.Adam(tup.parameters(), lr=0.05)
    opt_b = torch.optim.Adam(ktup.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(0)
    for step in range(8):
        users = torch.randint(5, (6, ), generator=gen)
        pos = torch.randint(7, (6, ), generator=gen)
        neg = torch.randint(7, (6, ), generator=gen)
        h, r, t = (torch.randint(9, (6, ), generator=gen), torch.randint(3, (6, ), generator=gen),
                   torch.randint(9, (6, ), generator=gen))
        for model, opt in ((tup, opt_a), (ktup, opt_b)):
            torch.manual_seed(100 + step)  # same Gumbel noise for both
            opt.zero_grad()
            if model is tup:
                loss = model.loss(users, pos, neg)
            else:
                loss = model.joint_loss(users, pos, neg, h, r, t, joint_ratio=1.0)
            loss.backward()
            opt.step()
    for name, value in tup.state_dict().items():
        assert torch.equal(value, ktup.state_dict()[name]), name
    for name, value in kg_before.items():
        assert torch.equal(value, ktup.kg.state_dict()[name]), name
    tup.eval(), ktup.eval()
    assert torch.equal(tup.score_all(torch.arange(5)), ktup.score_all(torch.arange(5)))


def test_schedule_and_bad_input():
    assert [is_recommendation_step(s, 0.5) for s in range(10)] == [True] * 5 + [False] * 5
    assert sum(is_recommendation_step(s, 0.7) for s in range(20)) == 14
    assert all(is_recommendation_step(s, 1.0) for s in range(20))
    with pytest.raises(ValueError, match='strategy'):
        TUP(2, 2, 2, strategy='medium')
    with pytest.raises(ValueError, match='long'):
        TUP(2, 2, 2)(torch.tensor([0.0]), torch.tensor([1]))


def test_explainer_names_relation_and_kg_paths():
    torch.manual_seed(5)
    # items 0..3 are entities 0..3; entity 4 = a director, 5 = an actor.
    # relation 0 'directed_by': 0 -> 4, 2 -> 4 ; relation 1 'starring': 1 -> 5, 3 -> 5
    kg = torch.tensor([[0, 2, 1, 3], [4, 4, 5, 5]])
    kg_type = torch.tensor([0, 0, 1, 1])
    model = KTUP(1, 4, num_entities=6, num_relations=2, embedding_dim=4, strategy='hard')
    with torch.no_grad():  # make relation 0 the induced preference of every pair
        model.pref_emb.weight.zero_()
        model.kg.rel_emb.weight.zero_()
        model.pref_emb.weight[0] = 10 * (model.user_emb.weight[0] + model.item_emb.weight.mean(0))
    train = torch.tensor([[0, 0], [0, 1]])  # user 0 watched items 0 and 1
    exp = KTUPExplainer(model, train, kg, kg_type, relation_names=['directed_by', 'starring'],
                        item_names=['A', 'B', 'C', 'D'], entity_names=['A', 'B', 'C', 'D',
                                                                        'Director', 'Actor'])
    e = exp.explain(0, 2)
    assert e.preferences[0].name == 'directed_by' and e.preferences[0].weight == 1.0
    got = [(p.history_item, p.relation, p.entity, p.outgoing) for p in e.paths]
    assert got == [(0, 0, 4, True)]
    text = e.render()
    assert 'A --directed_by--> Director <--directed_by-- C' in text
    # through 'starring', item 3 connects to history item 1 via the actor
    assert [(p.history_item, p.entity) for p in exp.paths(0, 3, 1)] == [(1, 5)]
    assert exp.paths(0, 3, 0) == []


@pytest.mark.parametrize('strategy', ['soft', 'hard'])
@pytest.mark.parametrize('p_norm', [1.0, 2.0])
def test_score_all_projection_algebra_equals_pairwise(strategy, p_norm):
    # score_all never forms the per-pair hyperplane projections (p_norm=2: no [B, I, d]
    # tensor at all); it must equal the pairwise eq. 11-13 for TUP and KTUP.
    torch.manual_seed(0)
    for model in (TUP(7, 40, 5, 16, strategy=strategy, p_norm=p_norm),
                  KTUP(7, 40, 60, 5, 16, strategy=strategy, p_norm=p_norm)):
        model.eval()
        with torch.no_grad():
            model.user_emb.weight.mul_(3.0)
            full = model.score_all(torch.arange(7), max_elements=3000)  # several chunks
            ref = torch.stack([model(torch.full((40, ), a), torch.arange(40))
                               for a in range(7)])
        torch.testing.assert_close(full, ref, rtol=1e-5, atol=1e-5)
        # chunking (down to one user per chunk) does not change a single score
        one = model.score_all(torch.arange(7), max_elements=1)
        assert torch.equal(one, model.score_all(torch.arange(7), max_elements=2**30))
        assert torch.equal(one, full)
