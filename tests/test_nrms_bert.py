import pytest
import torch

from torch_geometric_kgrec.nn import AdditiveAttention
from torch_geometric_kgrec.nn.models import NRMSBERT


def test_additive_attention_matches_dense_reference():
    torch.manual_seed(0)
    att = AdditiveAttention(6).double()
    assert str(att) == 'AdditiveAttention(6, hidden=3)'
    x = torch.randn(7, 6, dtype=torch.double)
    index = torch.tensor([0, 0, 2, 2, 2, 1, 0])
    out = att(x, index, num_sets=4)
    A1, b1 = att.fc1.weight.detach().t(), att.fc1.bias.detach()
    A2, b2 = att.fc2.weight.detach().t(), att.fc2.bias.detach()
    for s in range(4):
        E = x[index == s]  # [B, h]
        if E.numel() == 0:
            assert torch.equal(out[s], torch.zeros(6, dtype=torch.double))
            continue
        a_hat = torch.tanh(E @ A1 + b1) @ A2 + b2  # eq. 15, [B, 1]
        alpha = torch.exp(a_hat) / torch.exp(a_hat).sum()  # eq. 14
        torch.testing.assert_close(out[s], (alpha * E).sum(0))  # eq. 13
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in att.parameters())


def toy(h=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    hist = torch.tensor([[0, 0, 0, 1, 1, 2, 3, 3, 3, 3],
                         [0, 2, 5, 1, 3, 4, 0, 1, 2, 6]])
    feats = torch.randn(7, h, generator=g, dtype=torch.double)
    return hist, feats


def dense_user(model, hist, u, exclude=None):
    items = [i for uu, i in hist.t().tolist() if uu == u and i != exclude]
    e = model.proj(model.item_features[items]).detach()
    W1, b1 = model.user_encoder.fc1.weight.detach(), model.user_encoder.fc1.bias.detach()
    W2, b2 = model.user_encoder.fc2.weight.detach(), model.user_encoder.fc2.bias.detach()
    a = torch.softmax((torch.tanh(e @ W1.t() + b1) @ W2.t() + b2).view(-1), 0)
    return (a.unsqueeze(-1) * e).sum(0)


def test_nrms_loss_matches_dense_reference():
    torch.manual_seed(0)
    hist, feats = toy()
    model = NRMSBERT(5, 7, hist, item_features=feats, embedding_dim=4,
                     num_browsed=10).double()
    model.item_features = feats  # keep double precision
    assert str(model) == 'NRMSBERT(5, 7, embedding_dim=4, num_browsed=10, mode=frozen)'
    users = torch.tensor([0, 3, 1])
    pos = torch.tensor([2, 6, 1])
    neg = torch.tensor([[1, 3], [4, 5], [0, 6]])
    loss = model.loss(users, pos, neg, generator=torch.Generator().manual_seed(1))
    x = model.proj(feats).detach()
    ref = 0.0
    for u, p, ns in zip(users.tolist(), pos.tolist(), neg.tolist()):
        eu = dense_user(model, hist, u, exclude=p)  # the positive is not browsed
        y = torch.stack([eu @ x[p]] + [eu @ x[n] for n in ns])
        ref = ref - torch.log(torch.exp(y[0]) / torch.exp(y).sum())  # eq. 16
    torch.testing.assert_close(loss, ref / 3)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_browsed_sample_is_distinct_from_history_without_positive():
    hist, feats = toy()
    model = NRMSBERT(5, 7, hist, item_features=feats, num_browsed=2)
    users = torch.tensor([3, 3, 0, 4])
    pos = torch.tensor([0, 6, 2, 1])
    row, item = model.browsed(users, 2, exclude=pos, generator=torch.Generator().manual_seed(0))
    own = {u: {i for uu, i in hist.t().tolist() if uu == u} for u in range(5)}
    for r in range(4):
        got = item[row == r].tolist()
        assert len(got) == len(set(got)) == min(2, len(own[int(users[r])] - {int(pos[r])}))
        assert set(got) <= own[int(users[r])] - {int(pos[r])}


def test_score_all_uses_whole_training_history_and_is_cached():
    torch.manual_seed(0)
    hist, feats = toy()
    model = NRMSBERT(5, 7, hist, item_features=feats.float(), num_browsed=1).eval()
    with torch.no_grad():
        s = model.score_all(torch.tensor([0, 3, 4]))
        x = model.proj(feats.float())
        for r, u in enumerate([0, 3]):
            torch.testing.assert_close(s[r], dense_user(model, hist, u).float() @ x.t())
        assert torch.equal(s[2], torch.zeros(7))  # user 4 has no history
        calls = []
        model.item_embedding = lambda items=None: calls.append(1) or x
        model.score_all(torch.tensor([1]))
        assert calls == []  # cached for this parameter state


class _TinyCLSEncoder(torch.nn.Module):
    # Stand-in with the TextEncoder interface (tokenize / forward / hidden_size) on a
    # tiny random BERT, so the fine-tuning path is exercised without any download.
    def __init__(self):
        super().__init__()
        from transformers import BertConfig, BertModel
        cfg = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=16)
        self.bert = BertModel(cfg)
        self.hidden_size = 8

    def tokenize(self, texts):
        ids = [[1] + [2 + hash(w) % 40 for w in t.split()] for t in texts]
        n = max(map(len, ids))
        return {'input_ids': torch.tensor([r + [0] * (n - len(r)) for r in ids]),
                'attention_mask': torch.tensor([[1] * len(r) + [0] * (n - len(r))
                                                for r in ids])}

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids,
                         attention_mask=attention_mask).last_hidden_state[:, 0]


def test_fine_tuning_mode_trains_the_encoder():
    torch.manual_seed(0)
    hist, _ = toy()
    texts = ['a b c', 'b c', 'c d e f', 'a', 'e f', 'f a b', 'd']
    enc = _TinyCLSEncoder()
    model = NRMSBERT(5, 7, hist, text_encoder=enc, item_text=texts, num_browsed=3)
    loss = model.loss(torch.tensor([0, 3]), torch.tensor([2, 6]),
                      torch.tensor([[1, 3], [4, 5]]))
    loss.backward()
    assert enc.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():  # eval: items encoded in batches, CLS of the last layer (eq. 12)
        x = model.item_embedding()
        tok = enc.tokenize(texts)
        torch.testing.assert_close(x, enc(tok['input_ids'], tok['attention_mask']))
        assert model.score_all(torch.tensor([0, 1])).shape == (2, 7)


def test_bad_input():
    hist, feats = toy()
    with pytest.raises(ValueError, match='exactly one'):
        NRMSBERT(5, 7, hist)
    with pytest.raises(ValueError, match='item_features'):
        NRMSBERT(5, 8, hist, item_features=feats)
    with pytest.raises(ValueError, match='history_edge_index'):
        NRMSBERT(3, 7, hist, item_features=feats)


def test_with_the_shared_text_encoder(tiny_bert_path):
    from torch_geometric_kgrec.text import TextEncoder
    torch.manual_seed(0)
    hist, _ = toy()
    texts = ['toy story (1995). genre: comedy', 'rock music', 'a drama film', 'jazz',
             'daft punk. tags: house, electronic', 'horror movie', 'sci - fi']
    enc = TextEncoder(str(tiny_bert_path), pooling='cls', trainable_layers=-1)
    frozen = NRMSBERT(5, 7, hist, item_features=enc.encode(texts), num_browsed=3)
    tuned = NRMSBERT(5, 7, hist, text_encoder=enc, item_text=texts, num_browsed=3,
                     embedding_dim=16)
    tuned.eval()
    with torch.no_grad():  # same CLS features (eq. 12) both ways
        torch.testing.assert_close(tuned.text_encoder(**{
            k: v for k, v in enc.tokenize(texts).items()
            if k in ('input_ids', 'attention_mask')}), frozen.item_features,
            atol=1e-5, rtol=1e-4)
    tuned.train()
    tuned.loss(torch.tensor([0, 3]), torch.tensor([2, 6]), torch.tensor([[1, 3], [4, 5]])
               ).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())
