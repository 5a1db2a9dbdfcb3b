import math

import torch

from torch_geometric_kgrec.nn import BPRMF, Popularity, bpr_loss, l2_reg
from torch_geometric_kgrec.metrics import mask_excluded


def test_bpr_loss_value():
    pos = torch.tensor([2.0, 0.5])
    neg = torch.tensor([1.0, 1.5])
    expected = -(math.log(1 / (1 + math.exp(-1.0))) + math.log(1 / (1 + math.exp(1.0)))) / 2
    assert math.isclose(bpr_loss(pos, neg).item(), expected, rel_tol=1e-6)
    # several negatives per positive pair with their positive
    neg2 = torch.tensor([[1.0, 1.0], [1.5, 1.5]])
    assert math.isclose(bpr_loss(pos, neg2).item(), expected, rel_tol=1e-6)


def test_l2_reg_is_half_squared_norm_per_batch():
    a = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    b = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert l2_reg(a, b).item() == (1 + 4 + 9 + 0 + 1 + 1 + 1) / (2 * 2)
    assert l2_reg(a, batch_size=4).item() == 14 / 8


def test_bprmf_scores_recommend_and_grad():
    torch.manual_seed(0)
    model = BPRMF(4, 6, embedding_dim=3)
    assert str(model) == 'BPRMF(4, 6, embedding_dim=3)'
    users = torch.tensor([0, 2])
    dense = model.user_emb.weight[users] @ model.item_emb.weight.t()
    assert torch.allclose(model.score_all(users), dense)
    assert torch.allclose(model(users, torch.tensor([1, 5])), dense[[0, 1], [1, 5]])

    exclude = torch.tensor([[0, 0, 2, 3], [1, 4, 0, 2]])
    rec = model.recommend(users, k=4, exclude_edge_index=exclude)
    assert not {1, 4} & set(rec[0].tolist())
    assert 0 not in rec[1].tolist()
    masked = mask_excluded(dense, users, exclude)
    assert torch.isinf(masked[0, 1]) and torch.isinf(masked[1, 0]) and torch.isfinite(masked[1, 2])

    loss = model.loss(users, torch.tensor([1, 2]), torch.tensor([3, 4]), reg_weight=1e-2)
    loss.backward()
    assert model.user_emb.weight.grad[users].abs().sum() > 0
    assert model.item_emb.weight.grad[[1, 2, 3, 4]].abs().sum() > 0


def test_popularity_counts_training_only():
    train = torch.tensor([[0, 1, 1, 2], [3, 3, 0, 3]])
    pop = Popularity(5, train)
    assert pop.count.tolist() == [1, 0, 0, 3, 0]
    assert pop.recommend(torch.tensor([0]), k=1).item() == 3
    assert pop.recommend(torch.tensor([0]), k=1, exclude_edge_index=train).item() == 0
