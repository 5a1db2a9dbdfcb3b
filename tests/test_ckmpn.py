import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.nn.models import KMPN, CKMPN, CosSimKMPN, teacher_projection

from test_kmpn import toy


def teachers(h, seed=1, num_users=5, num_items=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(num_users, h, generator=g), torch.randn(num_items, h, generator=g)


def seeded_step(model, seed=3):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    users, pos, neg = torch.tensor([0, 1, 3, 4]), torch.tensor([1, 2, 5, 0]), \
        torch.tensor([3, 0, 2, 5])
    torch.manual_seed(seed)  # node/message dropout draws
    model.train()
    loss = model.loss(users, pos, neg)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def test_ckmpn_with_zero_weight_is_kmpn_bit_for_bit():
    g = toy()
    tu, ti = teachers(8)
    kw = dict(embedding_dim=8, num_layers=2, num_preferences=3, num_meta_preferences=5)
    torch.manual_seed(0)
    kmpn = KMPN(**g, **kw)
    torch.manual_seed(0)
    ckmpn = CKMPN(**g, **kw, teacher_user_emb=tu, teacher_item_emb=ti,
                  cross_system_weight=0.0)
    assert str(ckmpn).startswith('CKMPN(5, 9, num_relations=3, embedding_dim=8')
    l1, l2 = seeded_step(kmpn), seeded_step(ckmpn)
    assert torch.equal(l1, l2)
    for (n, a), (_, b) in zip(kmpn.named_parameters(), ckmpn.named_parameters()):
        assert torch.equal(a, b), n
    torch.manual_seed(0)
    other = CKMPN(**g, **kw, teacher_user_emb=tu, teacher_item_emb=ti,
                  cross_system_weight=0.2)
    assert not torch.equal(seeded_step(other), l1)


def test_cross_system_loss_matches_eq17_reference():
    g = toy()
    tu, ti = teachers(8)
    torch.manual_seed(0)
    model = CKMPN(**g, embedding_dim=8, num_layers=2, teacher_user_emb=tu,
                  teacher_item_emb=ti, cross_system_weight=0.5).eval()
    users, pos, neg = torch.tensor([0, 1, 3]), torch.tensor([1, 2, 5]), \
        torch.tensor([[3, 4], [0, 5], [2, 1]])
    with torch.no_grad():
        total, terms = model.loss(users, pos, neg, return_terms=True)
        kmpn_total = KMPN.loss(model, users, pos, neg)
        u_all, x_all = model()
    ref = 0.0
    for r, (u, p) in enumerate(zip(users.tolist(), pos.tolist())):
        for n in neg[r].tolist():
            ref -= F.logsigmoid(u_all[u] @ (ti[p] - ti[n]))  # KMPN user, NRMS items
            ref -= F.logsigmoid(tu[u] @ (x_all[p] - x_all[n]))  # NRMS user, KMPN items
    ref = ref / neg.numel()
    assert terms['cross_system'] == pytest.approx(float(ref), rel=1e-5)
    torch.testing.assert_close(total, kmpn_total + 0.5 * ref)


def test_teacher_map_when_sizes_differ():
    g = toy()
    tu, ti = teachers(12)
    proj = teacher_projection(tu, ti, 8)
    torch.testing.assert_close(proj.t() @ proj, torch.eye(8), atol=1e-5, rtol=0)
    torch.manual_seed(0)
    model = CKMPN(**g, embedding_dim=8, num_layers=1, teacher_user_emb=tu,
                  teacher_item_emb=ti)
    torch.testing.assert_close(model.teacher_user_emb, tu @ proj)
    assert len(list(model.parameters())) == len(list(KMPN(**g, embedding_dim=8,
                                                           num_layers=1).parameters()))
    lin = CKMPN(**g, embedding_dim=8, num_layers=1, teacher_user_emb=tu,
                teacher_item_emb=ti, teacher_map='linear')
    seeded_step(lin)
    assert lin.teacher_linear.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='teacher embeddings'):
        CKMPN(**g, teacher_user_emb=tu[:3], teacher_item_emb=ti)


def test_cos_sim_baseline_value_and_gradients():
    g = toy()
    tu, ti = teachers(8)
    torch.manual_seed(0)
    model = CosSimKMPN(**g, embedding_dim=8, num_layers=2, teacher_user_emb=tu,
                       teacher_item_emb=ti, aux_weight=1.0).eval()
    users, pos, neg = torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([4, 0])
    with torch.no_grad():
        _, terms = model.loss(users, pos, neg, return_terms=True)
        u_all, x_all = model()
    cos = [F.cosine_similarity(u_all[u], tu[u], dim=0) for u in users.tolist()] + \
        [F.cosine_similarity(x_all[i], ti[i], dim=0) for i in pos.tolist() + neg.tolist()]
    assert terms['cos_sim'] == pytest.approx(float(sum(1 - c for c in cos) / 6), rel=1e-5)
    model.train()
    model.loss(users, pos, neg).backward()
    assert model.user_emb.weight.grad.abs().sum() > 0
