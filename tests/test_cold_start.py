import pytest
import torch

from torch_geometric_kgrec.nn.models import (KMPN, CKMPN, MixtureOfExperts, NRMSBERT,
                                             cold_start_users)
from torch_geometric_kgrec.protocols import cold_start_split

from test_kmpn import toy


def setup():
    g = toy()
    cs = cold_start_split(g['interaction_edge_index'], user_fraction=0.4, seed=0,
                          num_users=5, num_items=6)
    g['interaction_edge_index'] = cs.train
    return g, cs


def test_kmpn_cold_users_scored_from_history_without_training():
    g, cs = setup()
    torch.manual_seed(0)
    model = KMPN(**g, embedding_dim=8, num_layers=2).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    warm = torch.tensor(sorted(set(range(5)) - set(cs.cold_users.tolist())))
    with torch.no_grad():
        before_warm = model.score_all(warm)
        before = model.score_all(cs.cold_users)
        with cold_start_users(model, cs.train, cs.history):
            inside = model.score_all(cs.cold_users)
            inside_warm = model.score_all(warm)
            u0 = model.user_emb.weight[cs.cold_users]
        torch.testing.assert_close(inside_warm, before_warm)  # warm users unaffected
        assert not torch.allclose(inside, before)
        for r, u in enumerate(cs.cold_users.tolist()):  # fold-in: mean of history items
            items = cs.history[1, cs.history[0] == u]
            torch.testing.assert_close(u0[r], model.entity_emb.weight[items].mean(0))
        # aggregation now includes the history: reference with a KMPN built on it
        ref = KMPN(**{**g, 'interaction_edge_index': torch.cat([cs.train, cs.history], 1)},
                   embedding_dim=8, num_layers=2).eval()
        ref.load_state_dict(state)
        ref.user_emb.weight[cs.cold_users] = u0
        torch.testing.assert_close(ref.score_all(cs.cold_users), inside)
    for k, v in model.state_dict().items():  # restored, nothing trained
        assert torch.equal(v, state[k]), k
    torch.testing.assert_close(model.score_all(cs.cold_users), before)


def test_nrms_and_mixture_cold_users():
    g, cs = setup()
    torch.manual_seed(0)
    nrms = NRMSBERT(5, 6, cs.train, item_features=torch.randn(6, 4)).eval()
    with torch.no_grad():
        assert torch.equal(nrms.score_all(cs.cold_users), torch.zeros(2, 6))  # no history
        with cold_start_users(nrms, cs.train, cs.history):
            s = nrms.score_all(cs.cold_users)
            x = nrms.item_embedding()
            u = nrms.user_encoder(x[cs.history[1]], torch.searchsorted(
                cs.cold_users, cs.history[0]), num_sets=2)
            torch.testing.assert_close(s, u @ x.t())
        kmpn = CKMPN(**g, embedding_dim=4, num_layers=1, teacher_user_emb=torch.randn(5, 4),
                     teacher_item_emb=torch.randn(6, 4)).eval()
        moe = MixtureOfExperts([kmpn, nrms]).eval()
        with cold_start_users(moe, cs.train, cs.history):
            assert torch.isfinite(moe.score_all(cs.cold_users)).all()
    with pytest.raises(ValueError, match='must not have training'):
        with cold_start_users(nrms, cs.train, cs.train):
            pass
