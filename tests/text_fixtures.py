r"""A tiny randomly initialised BERT saved as a Hugging Face folder, so that the real
:obj:`from_pretrained` path runs in tests without any download."""
from pathlib import Path

import pytest

VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + [
    'the', 'genre', 'of', 'film', 'book', 'artist', 'is', 'are', 'a', 'movie', 'title',
    'rock', 'pop', 'jazz', 'house', 'electronic', 'french', 'comedy', 'drama', 'action',
    'horror', 'thriller', 'romance', 'sci', '-', 'fi', 'daft', 'punk', 'tags', ':', ',',
    '.', '(', ')', '1995', 'toy', 'story', 'music', 'art', 'office', 'pen', 'paper',
    '##s', '##ed', '##ing'] + [f'w{i}' for i in range(64)]


def save_tiny_bert(path: Path, hidden_size: int = 32, num_layers: int = 2, seed: int = 0,
                   head: str = 'base') -> Path:
    r"""Writes a random BERT (:obj:`head='base'`: :obj:`BertModel`; :obj:`'cross'`:
    :obj:`BertForSequenceClassification` with one label, a cross-encoder) and a
    WordPiece tokenizer to :obj:`path`."""
    import torch
    from transformers import (BertConfig, BertForSequenceClassification, BertModel,
                              BertTokenizerFast)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = path / 'vocab.txt'
    vocab.write_text('\n'.join(VOCAB) + '\n', encoding='utf-8')
    # transformers 5 ignores vocab_file= (the tokenizer would know only the special tokens)
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(VOCAB)}, do_lower_case=True,
                            model_max_length=64)
    tok.save_pretrained(path)
    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=hidden_size,
                     num_hidden_layers=num_layers, num_attention_heads=2,
                     intermediate_size=2 * hidden_size, max_position_embeddings=64,
                     num_labels=1)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(cfg) if head == 'cross' else BertModel(cfg)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope='session')
def tiny_bert_path(tmp_path_factory):
    r"""Path of a saved tiny random :obj:`BertModel` folder (skips without transformers)."""
    pytest.importorskip('transformers', reason='the text extra (transformers) is not installed')
    return save_tiny_bert(tmp_path_factory.mktemp('tiny-bert'))


@pytest.fixture(scope='session')
def tiny_cross_encoder_path(tmp_path_factory):
    r"""Path of a saved tiny random BERT cross-encoder (one-logit sequence classifier)."""
    pytest.importorskip('transformers', reason='the text extra (transformers) is not installed')
    return save_tiny_bert(tmp_path_factory.mktemp('tiny-cross'), head='cross')
