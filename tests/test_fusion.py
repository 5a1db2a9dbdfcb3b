import torch
import torch.nn.functional as F

from torch_geometric_kgrec.nn.models import (KMPN, EarlyFusionKMPN, LateFusionKMPN,
                                             MixtureOfExperts, NRMSBERT)

from test_kmpn import toy

U, I = 5, 6


def feats(c=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(U, c, generator=g), torch.randn(I, c, generator=g)


def step(model):
    model.train()
    loss = model.loss(torch.tensor([0, 1, 3]), torch.tensor([1, 2, 5]),
                      torch.tensor([3, 0, 2]))
    loss.backward()
    return loss


def assert_all_grads(model):
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, n


def test_early_fusion_shapes_and_gradients():
    torch.manual_seed(0)
    fu, fi = feats()
    model = EarlyFusionKMPN(**toy(), embedding_dim=8, num_layers=2, user_features=fu,
                            item_features=fi)
    assert model.entity_emb.weight.shape == (9, 12)  # trainable 8 + features 4
    torch.testing.assert_close(model.entity_emb.weight[:I, 8:], F.normalize(fi, dim=-1))
    assert torch.equal(model.entity_emb.weight[I:, 8:], torch.zeros(3, 4))
    torch.testing.assert_close(model.user_emb.weight[:, 8:], F.normalize(fu, dim=-1))
    u, x = model()
    assert u.shape == (U, 12) and x.shape == (9, 12)
    assert model.eval().score_all(torch.tensor([0, 2])).shape == (2, I)
    step(model)
    assert_all_grads(model)
    assert not any(b.requires_grad for b in model.buffers())


def test_late_fusion_shapes_and_gradients():
    fu, fi = feats(c=4)
    for fusion in ('mlp', 'attention'):
        torch.manual_seed(0)
        model = LateFusionKMPN(**toy(), embedding_dim=8, num_layers=2, user_features=fu,
                               item_features=fi, fusion=fusion)
        assert str(model).endswith(f'fusion={fusion})')
        u, x = model()
        assert u.shape == (U, 16) and x.shape == (I, 16)  # 2h
        assert model.eval().score_all(torch.tensor([1])).shape == (1, I)
        step(model)
        assert_all_grads(model)
    # 3 blocks / 3 layers
    assert len(model.fuse[0].blocks.layers) == 3
    mlp = LateFusionKMPN(**toy(), embedding_dim=8, user_features=fu, item_features=fi)
    assert mlp.fuse[0].num_layers == 3 and mlp.fuse[0].channel_list == [12, 16, 16, 16]


def test_mixture_of_experts_shapes_gradients_and_frozen_experts():
    torch.manual_seed(0)
    g = toy()
    kmpn = KMPN(**g, embedding_dim=8, num_layers=1)
    nrms = NRMSBERT(U, I, g['interaction_edge_index'], item_features=torch.randn(I, 4))
    before = [p.clone() for p in kmpn.parameters()] + [p.clone() for p in nrms.parameters()]
    moe = MixtureOfExperts([kmpn, nrms])
    assert str(moe) == 'MixtureOfExperts(KMPN, NRMSBERT)'
    assert moe.mlp.num_layers == 3 and moe.mlp.channel_list[0] == 2
    s = moe.expert_scores(torch.tensor([0, 1]))
    assert s.shape == (2, I, 2)
    torch.testing.assert_close(s.mean(1), torch.zeros(2, 2), atol=1e-5, rtol=0)
    opt = torch.optim.Adam([p for p in moe.parameters() if p.requires_grad], lr=0.1)
    loss = step(moe)
    assert_all_grads(moe.mlp)
    assert all(p.grad is None for p in moe.experts.parameters())
    opt.step()
    after = list(kmpn.parameters()) + list(nrms.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    assert not kmpn.training  # experts stay in eval mode (no dropout)
    with torch.no_grad():
        assert moe.eval().score_all(torch.tensor([0, 4])).shape == (2, I)
    assert torch.isfinite(loss)
