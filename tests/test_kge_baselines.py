import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.nn.models.cfkg import CFKG
from torch_geometric_kgrec.nn.models.cke import CKE
from torch_geometric_kgrec.protocols import UniformNegativeSampler


def test_cke_item_vectors_scores_and_grads():
    torch.manual_seed(0)
    model = CKE(3, 4, num_entities=6, num_relations=2, embedding_dim=5,
                item_to_entity=torch.tensor([0, 1, -1, 5]))
    assert str(model) == 'CKE(3, 4, num_entities=6, num_relations=2, embedding_dim=5)'
    ent = model.kg.node_emb.weight
    ent = ent / ent.norm(dim=-1, keepdim=True).clamp(min=1)
    items = model.item_emb.weight + torch.stack(
        [ent[0], ent[1], torch.zeros(5), ent[5]])
    dense = model.user_emb.weight @ items.t()
    assert torch.allclose(model.score_all(torch.arange(3)), dense, atol=1e-6)
    assert torch.allclose(model(torch.tensor([2]), torch.tensor([3])), dense[2, 3:4], atol=1e-6)
    loss = model.loss(torch.tensor([0, 1]), torch.tensor([0, 3]), torch.tensor([1, 2]))
    loss = loss + model.kg_loss(torch.tensor([0, 2]), torch.tensor([0, 1]), torch.tensor([4, 5]),
                                neg_tail_index=torch.tensor([3, 1]))
    loss.backward()
    assert model.kg.node_emb.weight.grad[[0, 1, 5]].abs().sum(-1).gt(0).all()
    assert model.kg.proj.grad.abs().sum() > 0
    assert model.user_emb.weight.grad[[0, 1]].abs().sum(-1).gt(0).all()


def test_cfkg_unified_graph_transe():
    torch.manual_seed(0)
    model = CFKG(2, 3, num_entities=5, num_relations=2, embedding_dim=4)
    assert model.interact == 2 and model.kg.num_nodes == 7
    assert str(model) == 'CFKG(2, 3, num_entities=5, num_relations=2, embedding_dim=4)'
    node = model.kg.node_emb.weight
    r = model.kg.rel_emb.weight[2]
    u = F.normalize(node[5 + 1], p=1.0, dim=-1)
    i = F.normalize(node[2], p=1.0, dim=-1)
    expected = -(u + r - i).abs().sum()
    assert torch.allclose(model(torch.tensor([1]), torch.tensor([2])), expected.view(1))
    full = model.score_all(torch.tensor([1, 0]))
    assert full.shape == (2, 3) and torch.allclose(full[0, 2], expected)
    loss = model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 2]))
    loss = loss + model.kg_loss(torch.tensor([0, 3]), torch.tensor([0, 1]), torch.tensor([4, 2]))
    loss.backward()
    assert model.kg.node_emb.weight.grad[[5, 6]].abs().sum(-1).gt(0).all()
    with pytest.raises(ValueError, match='items must be entities'):
        CFKG(2, 9, num_entities=5, num_relations=2)


def test_training_negatives_never_look_at_validation_or_test():
    # user 0: train items {0, 1}, test item {2}; 4 items in all.
    train = torch.tensor([[0, 0, 1], [0, 1, 3]])
    sampler = UniformNegativeSampler(train, num_users=2, num_items=4)
    users = torch.zeros(4000, dtype=torch.long)
    neg = sampler.sample(users, generator=torch.Generator().manual_seed(0)).view(-1)
    assert not set(neg.tolist()) & {0, 1}  # never a training positive
    # the test item is a legal negative: the sampler cannot know it is a positive
    assert set(neg.tolist()) == {2, 3}
    counts = torch.bincount(neg, minlength=4)[2:].float()
    assert (counts / counts.sum() - 0.5).abs().max() < 0.05  # uniform over non-train items


def test_relation_projection_grouped_equals_gathered():
    # the relation-grouped TransR projection (CPU default) against the [B, k, d] gather
    # and batched matmul, values and gradients; relation 2 is absent from the batch
    from torch_geometric_kgrec.nn.kge import relation_projection
    torch.manual_seed(0)
    proj = torch.randn(4, 3, 5, requires_grad=True)
    x = torch.randn(6, 2, 5, requires_grad=True)
    rel = torch.tensor([3, 0, 3, 1, 0, 3])
    outs, grads = [], []
    for grouped in (True, False):
        out = relation_projection(x, rel, proj, grouped=grouped)
        ref = torch.stack([x[b] @ proj[rel[b]].t() for b in range(6)])
        torch.testing.assert_close(out, ref)
        gx, gp = torch.autograd.grad((out * torch.arange(36.).view(6, 2, 3)).sum(),
                                     (x, proj))
        outs.append(out)
        grads.append((gx, gp))
    torch.testing.assert_close(outs[0], outs[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    assert relation_projection(x[:0], rel[:0], proj, grouped=True).shape == (0, 2, 3)
