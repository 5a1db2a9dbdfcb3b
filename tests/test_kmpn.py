import copy

import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.nn.models import KMPN
from torch_geometric_kgrec.nn.dcorr import soft_distance_correlation_loss
from torch_geometric_kgrec.nn.losses import bpr_loss


def toy(seed=0, num_users=5, num_entities=9, num_items=6, num_relations=3, T=20):
    g = torch.Generator().manual_seed(seed)
    kg = torch.randint(0, num_entities, (2, T), generator=g)
    kt = torch.randint(0, num_relations, (T, ), generator=g)
    ui = torch.tensor([[0, 0, 1, 1, 2, 3, 3, 4], [0, 1, 1, 2, 3, 4, 5, 0]])
    return dict(num_users=num_users, num_entities=num_entities, num_items=num_items,
                num_relations=num_relations, kg_edge_index=kg, kg_edge_type=kt,
                interaction_edge_index=ui)


def reference_forward(model, g):
    # Eq. 1-6 + normalisation + layer sum with explicit loops (no RelationalAdj).
    R = g['num_relations']
    heads = torch.cat([g['kg_edge_index'][0], g['kg_edge_index'][1]]).tolist()
    tails = torch.cat([g['kg_edge_index'][1], g['kg_edge_index'][0]]).tolist()
    rels = torch.cat([g['kg_edge_type'], g['kg_edge_type'] + R]).tolist()
    rel = model.relation_emb.detach()
    meta = model.user_model.meta_preference_emb.detach()
    e_p = torch.softmax(model.user_model.preference_logits.detach(), -1) @ meta
    x, u = model.entity_emb.weight.detach(), model.user_emb.weight.detach()
    xs, us = [x], [u]
    ui = g['interaction_edge_index'].t().tolist()
    for _ in range(model.num_layers):
        xn = torch.zeros_like(x)
        for i in range(x.size(0)):
            msgs = [torch.sigmoid(x[i] @ rel[r]) * rel[r] * x[t]
                    for h, t, r in zip(heads, tails, rels) if h == i]
            if msgs:
                xn[i] = sum(msgs) / len(msgs)
        un = torch.zeros_like(u)
        for a in range(u.size(0)):
            items = [i for uu, i in ui if uu == a]
            if not items:
                continue
            agg = sum(x[i] for i in items) / len(items)
            alpha = torch.softmax(e_p @ u[a], 0)
            un[a] = agg * sum(alpha[p] * e_p[p] for p in range(e_p.size(0))) + agg
        x, u = F.normalize(xn, dim=-1), F.normalize(un, dim=-1)
        xs.append(x)
        us.append(u)
    return sum(us), sum(xs)


def test_forward_matches_loop_reference():
    g = toy()
    model = KMPN(**g, embedding_dim=8, num_layers=2, num_preferences=3,
                 num_meta_preferences=5).double().eval()
    with torch.no_grad():
        u, x = model()
    ru, rx = reference_forward(model, g)
    torch.testing.assert_close(u, ru)
    torch.testing.assert_close(x, rx)
    assert u.shape == (5, 8) and x.shape == (9, 8)
    with torch.no_grad():
        torch.testing.assert_close(model.score_all(torch.tensor([1, 3])),
                                   u[[1, 3]] @ x[:6].t())


def test_loss_terms_and_gradients_reach_every_parameter():
    g = toy(1)
    model = KMPN(**g, embedding_dim=8, num_layers=2, num_preferences=3,
                 num_meta_preferences=5, node_dropout=0.0, message_dropout=0.0)
    users, pos, neg = torch.tensor([0, 1, 3]), torch.tensor([1, 2, 4]), torch.tensor([3, 5, 0])
    total, terms = model.loss(users, pos, neg, return_terms=True)
    u, x = model()
    expected_bpr = bpr_loss((u[users] * x[pos]).sum(-1), (u[users] * x[neg]).sum(-1))
    assert terms['bpr'] == pytest.approx(float(expected_bpr), rel=1e-5)
    dc = soft_distance_correlation_loss(model.user_model.preference_emb(), 0.5,
                                        variant='subspace',
                                        reference=model.user_model.meta_preference_emb)
    assert terms['dcorr'] == pytest.approx(float(dc), rel=1e-5)
    assert float(total) == pytest.approx(terms['bpr'] + 1e-5 * terms['l2'] +
                                         1e-4 * terms['dcorr'], rel=1e-5)
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # multiple negatives per positive
    assert model.loss(users, pos, torch.tensor([[3, 4], [5, 0], [0, 1]])).dim() == 0


def test_eval_cache_follows_parameters_and_recommend_masks():
    g = toy(2)
    model = KMPN(**g, embedding_dim=8, num_layers=1)
    model.eval()
    users = torch.arange(5)
    with torch.no_grad():
        s1 = model.score_all(users)
        assert torch.equal(s1, model.score_all(users))  # deterministic in eval
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model.train()
    model.loss(users[:3], torch.tensor([0, 1, 3]), torch.tensor([2, 2, 2])).backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        s2 = model.score_all(users)
        assert not torch.allclose(s1, s2)
        model.load_state_dict(saved)
        torch.testing.assert_close(model.score_all(users), s1)
    top = model.recommend(users, k=3, exclude_edge_index=g['interaction_edge_index'])
    ui = set(map(tuple, g['interaction_edge_index'].t().tolist()))
    assert top.shape == (5, 3)
    assert all((u, int(i)) not in ui for u in range(5) for i in top[u])


def test_dropout_only_in_training_and_learning():
    torch.manual_seed(0)
    g = toy(3)
    model = KMPN(**g, embedding_dim=16, num_layers=2)
    model.train()
    a, _ = model()
    b, _ = model()
    assert not torch.allclose(a, b)  # node + message dropout are random
    users, pos = g['interaction_edge_index']
    neg = torch.tensor([5, 4, 0, 0, 0, 1, 1, 3])
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    first = None
    for step in range(60):
        opt.zero_grad()
        loss = model.loss(users, pos, neg)
        loss.backward()
        opt.step()
        first = float(loss) if first is None else first
    model.eval()
    with torch.no_grad():
        s = model.score_all(users)
        assert (s[torch.arange(8), pos] > s[torch.arange(8), neg]).float().mean() >= 0.75
    assert float(loss) < first


def test_repr_and_bad_input():
    g = toy()
    model = KMPN(**g)
    assert str(model) == ('KMPN(5, 9, num_relations=3, embedding_dim=64, num_layers=3, '
                          'num_preferences=4, num_meta_preferences=64)')
    bad = dict(g, interaction_edge_index=torch.tensor([[0], [7]]))
    with pytest.raises(ValueError, match='items in'):
        KMPN(**bad)
    with pytest.raises(ValueError, match='dcorr_target'):
        KMPN(**g, dcorr_target='relations')
    with pytest.raises(ValueError, match='dcorr_variant'):
        KMPN(**g, dcorr_variant='svd')
    with pytest.raises(ValueError, match='meta-preference'):
        KMPN(**g, num_meta_preferences=16, dcorr_eps=0.5)  # 32 axes of 16 points
    with pytest.warns(UserWarning, match='meaningless'):
        KMPN(**g, dcorr_variant='paper')  # ceil(0.5 * 64) >= N_p - 1
