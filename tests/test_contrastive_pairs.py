import inspect
import math

import pytest
import torch

from torch_geometric_kgrec.contrastive import (CrossEncoderRanker, mine_content_pairs)

# Six items on the unit circle at these angles (degrees): the nearest and farthest
# neighbours of every item are known by construction.
ANGLES = [0, 10, 25, 90, 100, 180]
TEXTS = [f'item {w}' for w in ('zero', 'one', 'two', 'three', 'four', 'five')]


class FixedEncoder:
    r"""A bi-encoder whose embeddings are given (text -> 2-D unit vector)."""
    model_id = 'fixed-angles'

    def __init__(self):
        self.calls = 0

    def encode(self, texts, **kw):
        self.calls += 1
        rad = [math.radians(ANGLES[TEXTS.index(t)]) for t in texts]
        return torch.tensor([[math.cos(a), math.sin(a)] for a in rad])


def _partners(pairs, anchor, label):
    ei = pairs.edge_index[:, (pairs.edge_index[0] == anchor) & (pairs.label == label)]
    return ei[1].tolist()


def test_bi_encoder_only_picks_known_neighbours():
    pairs = mine_content_pairs(TEXTS, FixedEncoder(), num_positives=2, num_negatives=2)
    assert pairs.ranker == 'bi-encoder' and 'no cross-encoder' in pairs.info['note']
    assert _partners(pairs, 0, 1) == [1, 2] and sorted(_partners(pairs, 0, 0)) == [4, 5]
    assert _partners(pairs, 3, 1) == [4, 2] and sorted(_partners(pairs, 3, 0)) == [0, 5]
    assert _partners(pairs, 5, 1) == [4, 3] and sorted(_partners(pairs, 5, 0)) == [0, 1]
    assert pairs.edge_index.size(1) == 6 * 4 and int(pairs.label.sum()) == 12
    # never the anchor itself, positives and negatives disjoint
    assert bool((pairs.edge_index[0] != pairs.edge_index[1]).all())
    for a in range(6):
        assert not set(_partners(pairs, a, 1)) & set(_partners(pairs, a, 0))


def test_items_without_sentence_take_no_part():
    texts = list(TEXTS)
    texts[1] = None
    pairs = mine_content_pairs(texts, FixedEncoder(), num_positives=2, num_negatives=1)
    assert 1 not in pairs.edge_index.view(-1).tolist()
    assert _partners(pairs, 0, 1) == [2, 3]


def test_pairs_depend_on_metadata_only():
    # The miner's inputs are sentences and encoders: no interactions, no split, so
    # the pairs cannot carry test interactions into training.
    params = set(inspect.signature(mine_content_pairs).parameters)
    assert not params & {'data', 'interactions', 'edge_index', 'split', 'users'}
    a = mine_content_pairs(TEXTS, FixedEncoder(), num_positives=2, num_negatives=2)
    b = mine_content_pairs(TEXTS, FixedEncoder(), num_positives=2, num_negatives=2)
    assert torch.equal(a.edge_index, b.edge_index)


def test_cache_on_disk(tmp_path):
    enc = FixedEncoder()
    a = mine_content_pairs(TEXTS, enc, num_positives=2, cache_dir=str(tmp_path))
    b = mine_content_pairs(TEXTS, enc, num_positives=2, cache_dir=str(tmp_path))
    assert enc.calls == 1 and 'cached' in b.info and b.info['num_pairs'] == a.info['num_pairs']
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.label, b.label)
    c = mine_content_pairs(TEXTS, enc, num_positives=1, cache_dir=str(tmp_path))
    assert enc.calls == 2 and int(c.label.sum()) == 6 != int(a.label.sum())


@pytest.fixture(scope='module')
def tiny_cross_encoder(tmp_path_factory):
    pytest.importorskip('transformers', reason='the text extra (transformers) is not installed')
    from transformers import (BertConfig, BertForSequenceClassification,
                              BertTokenizerFast)
    path = tmp_path_factory.mktemp('tiny-cross-encoder')
    words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'item', 'zero', 'one', 'two',
             'three', 'four', 'five']
    (path / 'vocab.txt').write_text('\n'.join(words) + '\n')
    BertTokenizerFast(vocab=str(path / 'vocab.txt')).save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, num_labels=1,
                        max_position_embeddings=32, initializer_range=0.5)
    BertForSequenceClassification(config).eval().save_pretrained(path)
    return str(path)


def test_cross_encoder_reranks_the_shortlist(tiny_cross_encoder):
    ranker = CrossEncoderRanker(tiny_cross_encoder)
    assert ranker.model_id.endswith('tiny-cross-encoder0')
    # shortlist == n: the positives are the bi-encoder's top-n whatever the ranker says
    pairs = mine_content_pairs(TEXTS, FixedEncoder(), tiny_cross_encoder,
                               num_positives=2, num_negatives=1, shortlist=2)
    assert pairs.ranker == 'cross-encoder' and pairs.info['cross_encoder'] == ranker.model_id
    assert sorted(_partners(pairs, 0, 1)) == [1, 2]
    assert sorted(_partners(pairs, 3, 1)) == [2, 4]

    # shortlist 4: positives = the cross-encoder's top-2 among the bi-encoder's top-4,
    # computed here by hand with the model itself
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny_cross_encoder)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_cross_encoder).eval()
    pairs = mine_content_pairs(TEXTS, FixedEncoder(), ranker, num_positives=2,
                               num_negatives=1, shortlist=4, negatives='shortlist')
    short = {0: [1, 2, 3, 4], 3: [4, 2, 1, 0]}
    for anchor, cands in short.items():
        with torch.no_grad():
            enc = tok([TEXTS[anchor]] * 4, [TEXTS[c] for c in cands], padding=True,
                      return_tensors='pt')
            s = model(**enc).logits[:, 0]
        order = [cands[j] for j in s.argsort(descending=True).tolist()]
        assert sorted(_partners(pairs, anchor, 1)) == sorted(order[:2])
        assert _partners(pairs, anchor, 0) == [order[-1]]  # bottom of the shortlist
    assert pairs.info['cross_encoder_passes'] <= 6 * 4


def test_cross_encoder_far_and_random_negatives(tiny_cross_encoder):
    far = mine_content_pairs(TEXTS, FixedEncoder(), tiny_cross_encoder, num_positives=1,
                             num_negatives=1, shortlist=1, negatives='far')
    # far shortlist of 1 = the bi-encoder's farthest item
    assert _partners(far, 0, 0) == [5] and _partners(far, 5, 0) == [0]
    rnd = mine_content_pairs(TEXTS, FixedEncoder(), tiny_cross_encoder, num_positives=1,
                             num_negatives=2, shortlist=2, negatives='random', seed=3)
    for a in range(6):
        assert not set(_partners(rnd, a, 0)) & ({a} | set(_partners(rnd, a, 1)))
    with pytest.raises(ValueError, match="'negatives'"):
        mine_content_pairs(TEXTS, FixedEncoder(), negatives='bottom')


def test_text_encoder_by_path_as_bi_encoder(tiny_bert_path):
    from torch_geometric_kgrec.text import TextEncoder
    texts = ['the genre of the film is comedy .', 'the genre of the film is drama .',
             'the genres of the film are comedy , drama .', 'a movie title is toy story .']
    pairs = mine_content_pairs(texts, str(tiny_bert_path), num_positives=1,
                               num_negatives=1)
    assert pairs.info['bi_encoder'] == TextEncoder(str(tiny_bert_path)).model_id
    emb = torch.nn.functional.normalize(TextEncoder(str(tiny_bert_path)).encode(texts), dim=-1)
    sim = (emb @ emb.t()).fill_diagonal_(float('nan'))
    for a in range(4):
        row = sim[a].clone()
        assert _partners(pairs, a, 1) == [int(row.nan_to_num(-9).argmax())]
        assert _partners(pairs, a, 0) == [int(row.nan_to_num(9).argmin())]
