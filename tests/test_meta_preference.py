import math

import pytest
import torch

from torch_geometric_kgrec.nn.meta_preference import MetaPreference


def reference(x, x_user, edge_index, logits, meta, aggr='sum', residual=False):
    # eq. 3-6 written as explicit loops.
    P, M = logits.shape
    e_p = []
    for p in range(P):
        z = sum(math.exp(float(logits[p, m])) for m in range(M))
        e_p.append(sum(math.exp(float(logits[p, m])) / z * meta[m] for m in range(M)))
    out = torch.zeros_like(x_user)
    for u in range(x_user.size(0)):
        items = [i for uu, i in edge_index.t().tolist() if uu == u]
        if not items:
            continue
        scores = [float(e_p[p] @ x_user[u]) for p in range(P)]
        z = sum(math.exp(s) for s in scores)
        total = torch.zeros_like(x_user[u])
        for p in range(P):
            alpha = math.exp(scores[p]) / z
            inner = sum(x[i] * e_p[p] for i in items)
            if aggr == 'mean':
                inner = inner / len(items)
            total = total + alpha * inner
        if residual:
            a = sum(x[i] for i in items) / (len(items) if aggr == 'mean' else 1)
            total = total + a
        out[u] = total
    return out


def setup(seed=0):
    torch.manual_seed(seed)
    x = torch.randn(6, 5, dtype=torch.double)  # 4 items + 2 non-item entities
    x_user = torch.randn(3, 5, dtype=torch.double)  # user 2 has no interaction
    edge_index = torch.tensor([[0, 0, 0, 1, 1], [0, 1, 3, 1, 2]])
    return x, x_user, edge_index


@pytest.mark.parametrize('aggr,residual', [('sum', False), ('mean', False), ('mean', True)])
def test_matches_loop_reference(aggr, residual):
    x, x_user, edge_index = setup()
    mod = MetaPreference(5, num_preferences=3, num_meta_preferences=7, aggr=aggr,
                         residual=residual).double()
    ref = reference(x, x_user, edge_index, mod.preference_logits.detach(),
                    mod.meta_preference_emb.detach(), aggr, residual)
    out = mod(x, x_user, edge_index)
    torch.testing.assert_close(out, ref)
    assert out[2].abs().sum() == 0
    # the same through a (row-normalised for "mean") sparse interaction matrix
    w = torch.ones(edge_index.size(1), dtype=torch.double)
    if aggr == 'mean':
        w = w / torch.bincount(edge_index[0], minlength=3)[edge_index[0]]
    adj = torch.sparse_coo_tensor(edge_index, w, (3, 4)).coalesce()
    torch.testing.assert_close(mod(x, x_user, adj), ref)


def test_preferences_are_mixtures_and_attention_sums_to_one():
    mod = MetaPreference(8, num_preferences=4, num_meta_preferences=16)
    w = mod.preference_weights()
    torch.testing.assert_close(w.sum(-1), torch.ones(4))
    torch.testing.assert_close(mod.preference_emb(), w @ mod.meta_preference_emb)
    att = mod.attention(torch.randn(10, 8))
    assert att.shape == (10, 4)
    torch.testing.assert_close(att.sum(-1), torch.ones(10))


def test_gradients_reach_preferences_and_meta_preferences():
    x, x_user, edge_index = setup(1)
    x.requires_grad_()
    x_user.requires_grad_()
    mod = MetaPreference(5, num_preferences=3, num_meta_preferences=7).double()
    mod(x, x_user, edge_index).pow(2).sum().backward()
    for t in (mod.preference_logits, mod.meta_preference_emb, x, x_user):
        assert t.grad is not None and t.grad.abs().sum() > 0
    assert x.grad[4:].abs().sum() == 0  # non-item entities get no gradient


def test_repr_and_bad_input():
    mod = MetaPreference(64, num_preferences=4, num_meta_preferences=64)
    assert str(mod) == 'MetaPreference(64, num_preferences=4, num_meta_preferences=64)'
    with pytest.raises(ValueError, match='aggr'):
        MetaPreference(8, aggr='max')
    with pytest.raises(ValueError, match='users in'):
        MetaPreference(4)(torch.randn(3, 4), torch.randn(2, 4), torch.tensor([[5], [0]]))


def test_mean_interaction_matrix():
    from torch_geometric_kgrec.nn.meta_preference import mean_interaction_matrix
    ei = torch.tensor([[2, 0, 0, 1, 0], [1, 0, 2, 3, 3]])  # unsorted on purpose
    dense = mean_interaction_matrix(ei, 4, 5).to_dense()
    expected = torch.zeros(4, 5)
    expected[0, [0, 2, 3]] = 1 / 3
    expected[1, 3] = expected[2, 1] = 1.0
    torch.testing.assert_close(dense, expected)
    torch.manual_seed(0)
    dropped = mean_interaction_matrix(ei, 4, 5, dropout=0.5).to_dense()
    kept = dropped != 0
    assert kept.sum() < 5  # some dropped (seeded), kept ones scaled by 2
    torch.testing.assert_close(dropped[kept], 2 * expected[kept])
    torch.testing.assert_close(mean_interaction_matrix(ei, 4, 5, 0.5, training=False)
                               .to_dense(), expected)
