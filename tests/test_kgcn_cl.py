import math

import pytest
import torch

from torch_geometric_kgrec.nn import KGCN

U, E, R, I, d, K, FEAT = 5, 12, 4, 6, 4, 3, 7


def model_with(seed=0, text=False, mask=None, **kwargs):
    torch.manual_seed(seed)
    feats = torch.randn(I, FEAT, generator=torch.Generator().manual_seed(99)) if text else None
    model = KGCN(U, E, R, I, embedding_dim=d, num_neighbors=K, aggregator='concat',
                 item_features=feats, item_feature_mask=mask, **kwargs)
    g = torch.Generator().manual_seed(seed)
    model.set_neighbors(torch.randint(0, E, (E, K), generator=g),
                        torch.randint(0, R, (E, K), generator=g))
    return model


def bce(logit, y):
    p = 1 / (1 + math.exp(-logit))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


PAIRS = torch.tensor([[0, 0, 3, 5, 2], [1, 4, 2, 0, 2]])
PAIR_LABEL = torch.tensor([1., 0., 1., 0., 1.])


@pytest.mark.parametrize('text', [False, True])
def test_contrastive_loss_eq4_against_dense_loop(text):
    model = model_with(text=text)
    if text:
        lin = model.item_mlp.lins[0]
        h = model.item_features @ lin.weight.t() + lin.bias  # MLP(E(x_c))
    else:
        h = model.entity_emb.weight
    ref = sum(bce(float(h[a] @ h[b]), float(y))
              for (a, b), y in zip(PAIRS.t().tolist(), PAIR_LABEL)) / PAIRS.size(1)
    out = model.contrastive_loss(PAIRS, PAIR_LABEL)
    assert abs(float(out) - ref) < 1e-6


def test_joint_loss_eq5_against_hand_computation():
    model = model_with(text=True)
    users, items, y = torch.tensor([0, 1, 4]), torch.tensor([5, 0, 2]), torch.tensor([1., 0., 1.])
    gamma, lam = 0.7, 0.01
    logits = model(users, items).tolist()
    base = sum(bce(s, float(t)) for s, t in zip(logits, y)) / 3
    cl = float(model.contrastive_loss(PAIRS, PAIR_LABEL))
    l2 = sum(float(p.pow(2).sum()) for p in (
        model.user_emb.weight, model.entity_emb.weight, model.relation_emb.weight,
        model.convs[0].lin.weight, model.item_mlp.lins[0].weight)) / 2
    out = model.joint_loss(users, items, y, PAIRS, PAIR_LABEL, gamma=gamma, l2_weight=lam)
    assert abs(float(out) - (gamma * base + (1 - gamma) * cl + lam * l2)) < 1e-5
    # gamma = 0: CL (+ L2) only
    out0 = model.joint_loss(users, items, y, PAIRS, PAIR_LABEL, gamma=0.0, l2_weight=0)
    assert abs(float(out0) - cl) < 1e-6
    with pytest.raises(ValueError, match='gamma'):
        model.joint_loss(users, items, y, PAIRS, PAIR_LABEL, gamma=1.5)


def test_gamma_one_is_plain_kgcn_bit_for_bit():
    users, items, y = torch.tensor([0, 1, 4, 2]), torch.tensor([5, 0, 2, 2]), \
        torch.tensor([1., 0., 1., 0.])
    states = []
    for joint in (False, True):
        model = model_with(seed=3)
        opt = torch.optim.Adam(model.parameters(), lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            if joint:
                loss = model.joint_loss(users, items, y, PAIRS, PAIR_LABEL, gamma=1.0,
                                        l2_weight=1e-3)
            else:
                loss = model.loss(users, items, y, l2_weight=1e-3)
            loss.backward()
            opt.step()
        states.append((loss.detach(), {k: v.clone() for k, v in model.state_dict().items()}))
    assert torch.equal(states[0][0], states[1][0])
    for k in states[0][1]:
        assert torch.equal(states[0][1][k], states[1][1][k]), k
    # and the model without text has exactly KGCN's parameters
    plain = model_with(seed=3)
    assert plain.item_mlp is None and len(plain.l2_parameters()) == 4


def test_alpha_layer_initialises_content_nodes_only():
    mask = torch.tensor([True, True, False, True, True, True])
    model = model_with(text=True, mask=mask)
    assert str(model).endswith("aggregator='concat', item_features=7)")
    lin = model.item_mlp.lins[0]
    table = model.node_embedding()
    h = model.item_features @ lin.weight.t() + lin.bias
    assert torch.allclose(table[mask.nonzero().view(-1)], h[mask], atol=1e-6)
    assert torch.equal(table[2], model.entity_emb.weight[2])  # no text: random row
    assert torch.equal(table[I:], model.entity_emb.weight[I:])  # attribute entities
    # the KGCN forward starts from these vectors, and gradients reach the α layer
    loss = model.joint_loss(torch.tensor([0, 1]), torch.tensor([3, 2]),
                            torch.tensor([1., 0.]), PAIRS, PAIR_LABEL, gamma=0.5)
    loss.backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0
    assert model.item_embedding().shape == (I, d)
    assert torch.allclose(model.item_embedding(), table[:I])


def test_propagated_cl_representation_is_uniform_attention():
    model = model_with(cl_representation='propagated')
    conv = model.convs[0]
    ent = model.entity_emb.weight
    v = 3
    agg = ent[model.neighbors[v]].mean(dim=0)  # zero user: softmax of zeros = 1/K
    ref = torch.tanh(conv.lin.weight @ torch.cat([ent[v], agg]) + conv.bias)
    assert torch.allclose(model.content_embedding(torch.tensor([v]))[0], ref, atol=1e-6)


def test_option_errors():
    with pytest.raises(ValueError, match='item_features'):
        KGCN(U, E, R, I, item_features=torch.randn(I + 1, 3))
    with pytest.raises(ValueError, match='needs'):
        KGCN(U, E, R, I, item_feature_mask=torch.ones(I, dtype=torch.bool))
    with pytest.raises(ValueError, match='cl_representation'):
        KGCN(U, E, R, I, cl_representation='final')
    model = model_with()
    with pytest.raises(ValueError, match='items in'):
        model.contrastive_loss(torch.tensor([[0], [I]]), torch.ones(1))


def test_rating_threshold_labels_follow_kgcn_preprocessing():
    from torch_geometric_kgrec.datasets import make_kgrec_data
    from torch_geometric_kgrec.protocols import ctr_split, rating_threshold_labels
    # user 0 rated items 0 (5), 1 (2), 2 (4); user 1 rated 3 (1), 4 (4)
    data = make_kgrec_data(
        num_users=2, num_items=8, num_entities=8, kg_edge_index=[[0], [1]],
        kg_edge_type=[0], relation_names=['r'],
        interactions=[[0, 0, 0, 1, 1], [0, 1, 2, 3, 4]],
        interaction_attrs={'rating': [5., 2., 4., 1., 4.]})
    for seed in range(5):
        out = rating_threshold_labels(data, threshold=4, seed=seed)
        pos = out['user', 'interacts', 'entity'].edge_index.t().tolist()
        assert pos == [[0, 0], [0, 2], [1, 4]]
        assert out['user', 'interacts', 'entity'].rating.tolist() == [5., 4., 4.]
        neg = out['user', 'negative', 'entity'].edge_index
        # as many negatives as positives per user, never a rated item (not even 1 / 3)
        assert torch.bincount(neg[0], minlength=2).tolist() == [2, 1]
        rated = {(0, 0), (0, 1), (0, 2), (1, 3), (1, 4)}
        assert not {tuple(p) for p in neg.t().tolist()} & rated
        split = ctr_split(out, seed=seed)
        assert int(sum(s.label.numel() for s in (split.train, split.val, split.test))) == 6
    assert len(data['user', 'interacts', 'entity'].rating) == 5  # input unchanged


def test_text_init_copy_initialises_free_content_rows():
    model = model_with(text=True, text_init='copy')
    assert str(model).endswith("item_features=7, text_init='copy')")
    lin = model.item_mlp.lins[0]
    h = model.item_features @ lin.weight.t() + lin.bias
    rows = model.entity_emb.weight[:I]
    # a rescaled copy of MLP(E(x_c)): same direction, the other entities' std
    assert torch.allclose(rows, h * (rows.norm() / h.norm()), atol=1e-5)
    assert torch.equal(model.node_embedding(), model.entity_emb.weight)
    loss = model.joint_loss(torch.tensor([0, 1]), torch.tensor([3, 2]),
                            torch.tensor([1., 0.]), PAIRS, PAIR_LABEL, gamma=0.5)
    loss.backward()
    assert lin.weight.grad is None and model.entity_emb.weight.grad[:I].abs().sum() > 0
    assert len(model.l2_parameters()) == 4
    with pytest.raises(ValueError, match='text_init'):
        KGCN(U, E, R, I, text_init='finetune')
