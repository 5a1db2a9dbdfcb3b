r"""EmbedMe (MeKB-Rec Sec. 3.2) and the cross-domain baselines: eq. 9 against a dense
reference, training with the tiny random BERT, and zero-shot users on the synthetic CDR."""
import math

import pytest
import torch

from torch_geometric_kgrec.datasets import generate_synthetic_cdr
from torch_geometric_kgrec.mekb import (evaluate_cases, mekb_scores, mekb_sequences,
                                        train_full_softmax, warmup_cosine)
from torch_geometric_kgrec.nn.losses import full_softmax_loss
from torch_geometric_kgrec.nn.models import CMF, EMCDR, EmbedMe, IDDualEncoder
from torch_geometric_kgrec.protocols import (activity_buckets, cdr_split, mekb_interactions,
                                             sampled_ranking_cases)
from torch_geometric_kgrec.text import TextEncoder

# single-token words of the tiny BERT's vocabulary (tests/text_fixtures.py)
WORDS = ('genre film book artist movie title rock pop jazz house electronic french comedy '
         'drama action horror thriller romance toy story music art office pen').split()


def test_full_softmax_loss_dense_reference():
    torch.manual_seed(0)
    u, v = torch.randn(5, 4), torch.randn(7, 4)
    pos = torch.tensor([0, 3, 6, 3, 1])
    ref = 0.0
    for b in range(5):
        s = [float(u[b] @ v[j]) for j in range(7)]
        ref += -(s[int(pos[b])] - math.log(sum(math.exp(x) for x in s)))
    assert float(full_softmax_loss(u, v, pos)) == pytest.approx(ref / 5, rel=1e-5)


def test_warmup_cosine_schedule():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = warmup_cosine(opt, steps_per_epoch=4, epochs=3, warmup_epochs=1)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == pytest.approx(1.0) and lrs[8] == pytest.approx(0.5)
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))


def test_embedme_finetunes_tiny_bert(tiny_bert_path, one_thread):
    torch.manual_seed(0)
    enc = TextEncoder(str(tiny_bert_path), max_length=32, trainable_layers=-1)
    seqs = ['rock [SEP] pop', 'jazz [SEP] film', 'book [SEP] story [SEP] toy', 'pen']
    tok = enc.tokenize(seqs)
    model = EmbedMe(num_items=6, text_encoder=enc, out_channels=16)
    model.set_user_tokens(tok['input_ids'], tok['attention_mask'])
    assert str(model) == 'EmbedMe(6, in_channels=32, out_channels=16, plm=fine-tune)'
    users = torch.tensor([0, 1, 2, 3, 0, 2])
    items = torch.tensor([0, 1, 2, 3, 4, 5])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=5e-4)
    losses = []
    for step in range(15):
        loss = model.loss(users, items)
        opt.zero_grad()
        loss.backward()
        if step == 0:  # gradients reach the PLM, the MLP and the item tower
            for name, p in model.named_parameters():
                if '.pooler.' in name:  # mean pooling does not use BERT's pooler
                    continue
                assert p.grad is not None and p.grad.abs().sum() > 0, name
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    assert model.score_all(torch.tensor([0, 3])).shape == (2, 6)


def test_embedme_frozen_features_equal_tokens(tiny_bert_path):
    enc = TextEncoder(str(tiny_bert_path), max_length=32)
    seqs = ['rock [SEP] pop', 'jazz', 'book [SEP] story [SEP] toy']
    torch.manual_seed(0)
    a = EmbedMe(5, text_encoder=enc, out_channels=8)
    a.set_user_features(enc.encode(seqs, progress=False), standardize=False)
    b = EmbedMe(5, text_encoder=enc, out_channels=8)
    b.load_state_dict(a.state_dict())
    tok = enc.tokenize(seqs)
    b.set_user_tokens(tok['input_ids'], tok['attention_mask'])
    users = torch.tensor([2, 0, 1])
    torch.testing.assert_close(a.score_all(users), b.score_all(users), atol=1e-5, rtol=1e-5)
    assert 'plm=frozen' in str(a)
    # eq. 8: score = dot product of the two towers
    s = a(users, torch.tensor([4, 0, 1]))
    ref = (a.user_embedding(users) * a.item_emb.weight[[4, 0, 1]]).sum(-1)
    torch.testing.assert_close(s, ref)
    with pytest.raises(ValueError, match='features must be'):
        a.set_user_features(torch.zeros(3, 7))


def test_id_dual_encoder_mean_fallback():
    m = IDDualEncoder(4, 5, embedding_dim=3).set_warm_users(torch.tensor([[0, 1], [0, 2]]))
    m.eval()
    mean = m.user_emb.weight[:2].mean(0)
    torch.testing.assert_close(m.score_all(torch.tensor([3]))[0], m.item_emb.weight @ mean)
    torch.testing.assert_close(m.score_all(torch.tensor([1]))[0],
                               m.item_emb.weight @ m.user_emb.weight[1])
    assert str(m) == 'IDDualEncoder(4, 5, embedding_dim=3, fallback=mean)'


def test_cmf_shares_users_and_scores_target_items():
    m = CMF(3, num_target_items=4, num_source_items=2, embedding_dim=5, alpha=0.5)
    assert m.score_all(torch.tensor([0, 2])).shape == (2, 4)
    t = (torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    s = (torch.tensor([1]), torch.tensor([0]), torch.tensor([1]))
    ref = m.loss(*t, reg_weight=0.0) + 0.5 * m.loss(s[0], s[1] + 4, s[2] + 4, reg_weight=0.0)
    torch.testing.assert_close(m.domain_loss(t, s, reg_weight=0.0), ref)


@pytest.mark.parametrize('mapping', ['linear', 'mlp'])
def test_emcdr_maps_cold_users(mapping):
    m = EMCDR(4, num_source_items=3, num_target_items=5, embedding_dim=6, mapping=mapping)
    m.set_warm_users(torch.tensor([[0, 1], [2, 3]]))
    users = torch.tensor([0, 3])
    emb = m.user_embedding(users)
    torch.testing.assert_close(emb[0], m.target.user_emb.weight[0])
    torch.testing.assert_close(emb[1], m.mapping(m.source.user_emb.weight[3:4])[0])
    m.mapping_loss(torch.tensor([0, 1])).backward()
    assert m.source.user_emb.weight.grad is None and m.target.user_emb.weight.grad is None
    assert any(p.grad is not None for p in m.mapping.parameters())


def test_embedme_beats_id_dual_encoder_on_zero_shot_users(tiny_bert_path, one_thread):
    data = generate_synthetic_cdr(num_users=400, num_items=(200, 200), topic_names=WORDS,
                                  seed=0)
    sp = cdr_split(data, seed=0)
    kg = data['entity', 'kg', 'entity'].edge_index
    mekb = mekb_scores(mekb_interactions(sp, 'source'), kg, sp.num_users,
                       data['entity'].num_nodes)
    # the top-3 entities by MeKB score ('a [SEP] b [SEP] c' = 5 words)
    seqs = mekb_sequences(mekb, data.entity_names, max_tokens=5)
    enc = TextEncoder(str(tiny_bert_path), max_length=32)
    feats = enc.encode(seqs, progress=False)
    users, pos, neg = sampled_ranking_cases(sp, 'test', num_negatives=99, seed=0)
    vu, vp, vn = sampled_ranking_cases(sp, 'val', num_negatives=99, seed=0)
    groups = activity_buckets(sp, users)
    hr = {}
    for name in ('embedme', 'id'):
        torch.manual_seed(0)
        if name == 'embedme':
            model = EmbedMe(sp.num_target_items, in_channels=enc.hidden_size,
                            out_channels=64).set_user_features(feats)
        else:
            model = IDDualEncoder(sp.num_users, sp.num_target_items, 64)
            model.set_warm_users(sp.train)
        train_full_softmax(model, sp.train, epochs=20, batch_size=128, lr=1e-2,
                           evaluate=lambda: evaluate_cases(model, vu, vp, vn), patience=5)
        hr[name] = evaluate_cases(model, users, pos, neg, groups)['zero-shot/hr@10']
    # 100 candidates: a random ranking has HR@10 = 0.1
    assert hr['embedme'] > 1.8 * hr['id'] and hr['embedme'] > hr['id'] + 0.15, hr
