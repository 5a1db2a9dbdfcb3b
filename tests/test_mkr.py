import math

import pytest
import torch

from torch_geometric_kgrec.nn.models import MKR


def relu_layers(layers, x, last='relu'):
    for i, lin in enumerate(layers):
        x = x @ lin.weight.t() + lin.bias
        act = 'relu' if i < len(layers) - 1 else last
        x = torch.clamp(x, min=0) if act == 'relu' else (
            1 / (1 + torch.exp(-x)) if act == 'sigmoid' else x)
    return x


def reference_units(model, v, e):
    # Eq. (3)-(4) with a materialised d x d cross matrix, pair by pair.
    for unit in model.units:
        vs, es = [], []
        for vi, ei in zip(v, e):
            C = torch.outer(vi, ei)
            vs.append(C @ unit.weight_vv[:, 0] + C.t() @ unit.weight_ev[:, 0] + unit.bias_v)
            es.append(C @ unit.weight_ve[:, 0] + C.t() @ unit.weight_ee[:, 0] + unit.bias_e)
        v, e = torch.stack(vs), torch.stack(es)
    return v, e


def randomize(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():  # non-zero biases so that they are checked too
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.3)
    return model


def small_model(**kwargs):
    kw = dict(embedding_dim=3, num_low_layers=2, num_high_layers=2)
    kw.update(kwargs)
    return randomize(MKR(5, 4, 9, 3, **kw).double())


@pytest.mark.parametrize('predictor', ['inner_product', 'mlp'])
def test_scores_match_dense_reference(predictor):
    model = small_model(predictor=predictor)
    users, items = torch.tensor([0, 4, 2, 2]), torch.tensor([3, 0, 1, 3])
    u = relu_layers(model.user_mlp, model.user_emb.weight[users])
    v, _ = reference_units(model, model.item_emb.weight[items], model.entity_emb.weight[items])
    if predictor == 'inner_product':
        logit = (u * v).sum(-1)
    else:
        logit = relu_layers(model.rs_mlp, torch.cat([u, v], -1), last=None)[:, 0]
    assert torch.allclose(model(users, items), logit, atol=1e-12)
    assert torch.allclose(model.score(users, items), 1 / (1 + torch.exp(-logit)), atol=1e-12)

    # full ranking: all items at once, equal to scoring each pair, chunking changes nothing
    all_u = torch.arange(5)
    full = model.score_all(all_u)
    pairs = model.score(all_u.repeat_interleave(4), torch.arange(4).repeat(5)).view(5, 4)
    assert full.shape == (5, 4) and torch.allclose(full, pairs, atol=1e-12)
    assert torch.allclose(model.score_all(all_u, model.item_vectors(), chunk_size=1), full)
    assert model.recommend(all_u, k=2).shape == (5, 2)


def test_kge_matches_dense_reference_and_losses():
    model = small_model()
    head, rel, tail = torch.tensor([0, 3, 1]), torch.tensor([2, 0, 1]), torch.tensor([8, 5, 2])
    _, h = reference_units(model, model.item_emb.weight[head], model.entity_emb.weight[head])
    r = relu_layers(model.relation_mlp, model.relation_emb.weight[rel])
    t_hat = relu_layers(model.kge_mlp, torch.cat([h, r], -1), last='sigmoid')
    t = model.entity_emb.weight[tail]
    score = 1 / (1 + torch.exp(-(t * t_hat).sum(-1)))
    assert torch.allclose(model.predict_tail(head, rel), t_hat, atol=1e-12)
    assert torch.allclose(model.kge_score(head, rel, tail), score, atol=1e-12)
    assert torch.allclose(model.kge_loss(head, rel, tail, l2_weight=0.0), -score.mean())

    # L2 = 1/2 sum of squares of h_L, t and the weights (tf.nn.l2_loss), not the biases
    weights = [lin.weight for lin in [*model.relation_mlp, *model.kge_mlp]] + [
        getattr(unit, f'weight_{n}') for unit in model.units for n in ('vv', 'ev', 've', 'ee')]
    l2 = 0.5 * (h.pow(2).sum() + t.pow(2).sum() + sum(w.pow(2).sum() for w in weights))
    assert torch.allclose(model.kge_loss(head, rel, tail, l2_weight=0.1), -score.mean() + 0.1 * l2)

    neg = torch.tensor([4, 6, 7])
    neg_score = 1 / (1 + torch.exp(-(model.entity_emb.weight[neg] * t_hat).sum(-1)))
    assert torch.allclose(model.kge_loss(head, rel, tail, neg, l2_weight=0.0),
                          -score.mean() + neg_score.mean())

    with pytest.raises(ValueError, match='heads must be items'):
        model.kge_loss(torch.tensor([5]), torch.tensor([0]), torch.tensor([1]))


def test_recommendation_loss_value():
    model = small_model()
    users, items = torch.tensor([1, 3]), torch.tensor([2, 0])
    labels = torch.tensor([1., 0.])
    p = model.score(users, items).detach()
    bce = -(math.log(p[0]) + math.log(1 - p[1])) / 2
    assert math.isclose(model.recommendation_loss(users, items, labels, 0.0).item(), bce,
                        rel_tol=1e-10)
    u = relu_layers(model.user_mlp, model.user_emb.weight[users])
    v, _ = reference_units(model, model.item_emb.weight[items], model.entity_emb.weight[items])
    weights = [lin.weight for lin in model.user_mlp] + [
        getattr(unit, f'weight_{n}') for unit in model.units for n in ('vv', 'ev', 've', 'ee')]
    l2 = 0.5 * (u.pow(2).sum() + v.pow(2).sum() + sum(w.pow(2).sum() for w in weights))
    assert math.isclose(model.recommendation_loss(users, items, labels, 0.5).item(),
                        bce + 0.5 * l2.item(), rel_tol=1e-10)


@pytest.mark.parametrize('variant', ['mkr', 'dcn', 'stitch'])
@pytest.mark.parametrize('predictor', ['inner_product', 'mlp'])
def test_gradients_reach_every_parameter(variant, predictor):
    torch.manual_seed(0)
    model = randomize(MKR(6, 4, 8, 3, embedding_dim=4, num_low_layers=2, num_high_layers=2,
                          predictor=predictor, variant=variant))
    users, items = torch.tensor([0, 1, 2, 5]), torch.tensor([0, 1, 2, 3])
    rs = model.recommendation_loss(users, items, torch.tensor([1., 0., 1., 0.]))
    rs_params = list(model.rs_parameters())
    rs_grads = torch.autograd.grad(rs, rs_params, allow_unused=True)
    head, rel, tail = torch.tensor([0, 1, 3]), torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    kge = model.kge_loss(head, rel, tail, neg_tail=torch.tensor([4, 4, 0]))
    kge_params = list(model.kge_parameters())
    kge_grads = torch.autograd.grad(kge, kge_params, allow_unused=True)

    reached = {id(p) for p, g in zip(rs_params + kge_params, rs_grads + kge_grads)
               if g is not None and g.abs().sum() > 0}
    # together the two tasks train every parameter ...
    assert reached == set(map(id, model.parameters()))
    # ... each task reaches all of its parameters but the bias of the last unit's output
    # it does not read (RS reads v_L, KGE reads e_L; all unit weights are in both L2 terms)
    rs_unused, kge_unused = {id(model.units[-1].bias_e)}, {id(model.units[-1].bias_v)}
    if variant == 'dcn':  # the towers only meet through the first-layer inputs v_0, e_0
        rs_unused = {id(unit.bias_e) for unit in model.units}
        kge_unused = {id(unit.bias_v) for unit in model.units}
    assert {id(p) for p, g in zip(rs_params, rs_grads) if g is None} == rs_unused
    assert {id(p) for p, g in zip(kge_params, kge_grads) if g is None} == kge_unused
    rs_ids = set(map(id, rs_params))
    shared = rs_ids & set(map(id, kge_params))
    assert id(model.units[0].bias_v) in shared and id(model.entity_emb.weight) in shared
    assert id(model.user_emb.weight) not in set(map(id, kge_params))
    assert id(model.relation_emb.weight) not in rs_ids


def test_variants_repr_and_bad_input():
    model = MKR(10, 5, 12, 4, embedding_dim=4, num_low_layers=2)
    assert str(model) == ("MKR(10, 5, num_entities=12, num_relations=4, embedding_dim=4, "
                          "L=2, H=1, predictor='inner_product')")
    assert str(model.units[1]) == 'CrossCompressUnit(4)'
    dcn = MKR(10, 5, 12, 4, embedding_dim=4, variant='dcn')
    assert "variant='dcn'" in str(dcn)
    assert str(dcn.units[0]) == "CrossCompressUnit(4, variant='dcn')"
    stitch = MKR(10, 5, 12, 4, embedding_dim=4, variant='stitch')
    assert stitch.units[0].alpha.shape == (2, 2)

    # DCN variant: layer 2 crosses with the *first-layer* inputs v0, e0
    dcn = randomize(MKR(3, 2, 4, 1, embedding_dim=2, num_low_layers=2, variant='dcn').double())
    items = torch.tensor([0, 1])
    v0, e0 = dcn.item_emb.weight[items], dcn.entity_emb.weight[items]
    v, e = v0, e0
    for unit in dcn.units:
        v, e = (e0 * (v @ unit.weight_ev) + v + unit.bias_v,
                v0 * (e @ unit.weight_ve) + e + unit.bias_e)
    assert torch.allclose(dcn.cross_compress(items)[0], v)
    assert torch.allclose(dcn.cross_compress(items)[1], e)

    with pytest.raises(ValueError, match="'items' holds indices outside"):
        model(torch.tensor([0]), torch.tensor([5]))
    with pytest.raises(ValueError, match="'users' holds indices outside"):
        model(torch.tensor([10]), torch.tensor([0]))
    with pytest.raises(ValueError, match='same shape'):
        model(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match='num_entities'):
        MKR(3, 5, 4, 1)
    with pytest.raises(ValueError, match='predictor'):
        MKR(3, 5, 6, 1, predictor='dot')


def test_alternating_training_learns_and_optimisers_touch_own_parameters(one_thread):
    _alternating_training()


def _alternating_training():
    # Users 0-9 like items 0-4, users 10-19 like items 5-9; the KG links items of the
    # same group to one entity. Algorithm 1: t=2 RS steps, then one KGE step.
    torch.manual_seed(0)
    num_users, num_items = 20, 10
    users = torch.arange(num_users).repeat_interleave(num_items)
    items = torch.arange(num_items).repeat(num_users)
    labels = ((users < 10) == (items < 5)).float()
    head = torch.arange(num_items)
    rel = torch.zeros(num_items, dtype=torch.long)
    tail = 10 + (head >= 5).long()
    model = MKR(num_users, num_items, 12, 1, embedding_dim=8, num_low_layers=2)
    opt_rs = torch.optim.Adam(model.rs_parameters(), lr=0.02)
    opt_kge = torch.optim.Adam(model.kge_parameters(), lr=0.01)

    def accuracy():
        with torch.no_grad():
            return ((model.score(users, items) > 0.5).float() == labels).float().mean()

    before = accuracy()
    for step in range(150):
        opt_rs.zero_grad()
        model.recommendation_loss(users, items, labels).backward()
        opt_rs.step()
        if step % 2 == 1:
            user_before = model.user_emb.weight.detach().clone()
            opt_kge.zero_grad()
            model.kge_loss(head, rel, tail).backward()
            opt_kge.step()
            assert torch.equal(model.user_emb.weight, user_before)  # KGE leaves users alone
    assert accuracy() >= 0.95 > before


def test_learns_on_real_lastfm(real_lastfm, one_thread):
    # Paper protocol on the real Last.FM data, a few epochs at a higher learning rate:
    # MKR must clearly beat chance (AUC 0.5) on the validation pairs.
    from torch_geometric_kgrec.metrics import ctr_metrics
    from torch_geometric_kgrec.protocols import ctr_split

    data = real_lastfm
    split = ctr_split(data, seed=0)
    tr, va = split.train, split.val
    kg = data['entity', 'kg', 'entity']
    torch.manual_seed(0)
    model = MKR(data['user'].num_nodes, data.num_items, data['entity'].num_nodes,
                len(data.relation_names), embedding_dim=4, num_low_layers=2)
    opt_rs = torch.optim.Adam(model.rs_parameters(), lr=5e-3)
    opt_kge = torch.optim.Adam(model.kge_parameters(), lr=1e-3)
    for epoch in range(2):
        for idx in torch.randperm(len(tr)).split(256):
            opt_rs.zero_grad()
            model.recommendation_loss(tr.users[idx], tr.items[idx], tr.label[idx]).backward()
            opt_rs.step()
        if epoch == 0:
            for idx in torch.randperm(kg.edge_index.size(1)).split(256):
                opt_kge.zero_grad()
                model.kge_loss(kg.edge_index[0, idx], kg.edge_type[idx],
                               kg.edge_index[1, idx]).backward()
                opt_kge.step()
    with torch.no_grad():
        metrics = ctr_metrics(model.score(va.users, va.items), va.label)
    assert metrics['auc'] > 0.75 and metrics['acc'] > 0.70
