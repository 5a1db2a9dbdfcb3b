r"""MeKB construction (MeKB-Rec Sec. 3.1): eq. 3 (alias table), AT@1 longest n-gram
linking, eq. 4-7 against hand computations, and the entity-title sequence."""
import math

import pytest
import torch

from torch_geometric_kgrec.mekb import (AliasTable, interest_idf, log_smoothing,
                                        mekb_scores, mekb_sequences, normalize_mention)


def test_alias_table_eq3_and_at1():
    at = AliasTable(['Apple', 'apple', 'apple', 'Apple Inc.', 'banana', 'x', 'x'],
                    [0, 1, 1, 1, 2, 3, 2])
    assert normalize_mention('Apple Inc.') == ('apple', 'inc')
    p = at.prob('APPLE')
    assert p == pytest.approx({0: 1 / 3, 1: 2 / 3})  # freq(m, e) / freq(m)
    assert at.top1('apple') == 1 and at.top1('apple inc') == 1
    assert at.top1('x') == 2  # tie: smallest entity index
    assert at.top1('cherry') == -1 and at.prob('cherry') == {}
    weighted = AliasTable(['apple', 'apple'], [0, 1], counts=[3.0, 1.0])
    assert weighted.prob('apple') == pytest.approx({0: 0.75, 1: 0.25})
    assert weighted.top1('apple') == 0


def test_at1_longest_ngram_linking():
    at = AliasTable.from_names(['new york', 'york', 'new york times', 'times', 'pen'])
    # longest match first, a match consumes its words
    assert at.link('The New York Times sells a pen') == [2, 4]
    assert at.link('new york; york pen times pen', unique=False) == [0, 1, 4, 3, 4]
    # punctuation is dropped before matching (titles of the Amazon data have none)
    assert at.link('new york, times') == [2]
    assert at.link('nothing here') == []
    # NER restricts the scanned spans
    assert at.link('york and pen', ner=lambda t: ['pen']) == [4]
    links = at.link_items(['a pen', 'york times', 'none'])
    assert links.tolist() == [[0, 1, 1], [4, 1, 3]]


def test_log_smoothing_eq4():
    k = torch.tensor([0., 1., 3., 5., 10., 50.])
    out = log_smoothing(k, k_star=5.0)
    ref = [x if x <= 5 else 5 * (1 + math.log(x / 5)) for x in k.tolist()]
    assert out.tolist() == pytest.approx(ref)


def _dense_reference(inter, links, U, E, k_star, idf, normalize):
    item_ents = {}
    for i, e in links:
        item_ents.setdefault(i, set()).add(e)
    k = [[0] * E for _ in range(U)]
    for u, i in inter:
        for e in item_ents.get(i, ()):
            k[u][e] += 1
    df = [sum(1 for u in range(U) if k[u][e] > 0) for e in range(E)]
    out = {}
    for u in range(U):
        row = {}
        for e in range(E):
            if k[u][e] == 0:
                continue
            tf = k[u][e]
            if k_star is not None and tf > k_star:
                tf = k_star * (1 + math.log(tf / k_star))
            row[e] = tf * (math.log(U / df[e]) if idf else 1.0)
        total = sum(row.values())
        for e, s in row.items():
            out[(u, e)] = (s / total if normalize and total > 0 else s, k[u][e])
    return out


@pytest.mark.parametrize('k_star,idf,normalize', [(None, False, False), (2.0, False, True),
                                                  (2.0, True, True), (None, True, False)])
def test_mekb_scores_eq5_to_7(k_star, idf, normalize):
    # 4 users, items 0..4, entities 0..3 (item 4 is linked twice to entity 3)
    inter = [(0, 0), (0, 1), (0, 2), (0, 2), (1, 0), (1, 3), (2, 4), (3, 1), (3, 2), (3, 4)]
    links = [(0, 0), (0, 1), (1, 1), (2, 1), (2, 2), (3, 2), (4, 3), (4, 3)]
    U, E = 5, 4  # user 4 has no interaction
    mekb = mekb_scores(torch.tensor(inter).t(), torch.tensor(links).t(), U, E,
                       k_star=k_star, idf=idf, normalize=normalize)
    ref = _dense_reference(inter, links, U, E, k_star, idf, normalize)
    got = {(u, e): (s, f) for (u, e), s, f in zip(mekb.edge_index.t().tolist(),
                                                  mekb.score.tolist(), mekb.freq.tolist())}
    assert set(got) == set(ref)
    for key, (s, f) in ref.items():
        assert got[key][0] == pytest.approx(s) and got[key][1] == f
    # sorted by user, then decreasing score
    u, s = mekb.edge_index[0], mekb.score
    assert torch.all(u[1:] >= u[:-1])
    same = u[1:] == u[:-1]
    assert torch.all(s[1:][same] <= s[:-1][same] + 1e-12)


def test_interest_idf_hand_values():
    ei = torch.tensor([[0, 1, 2, 0], [0, 0, 0, 1]])
    idf = interest_idf(ei, num_users=4, num_entities=3)
    assert idf.tolist() == pytest.approx([math.log(4 / 3), math.log(4), 0.0])


def test_mekb_sequences_order_sep_and_truncation():
    inter = torch.tensor([[0, 0, 0, 1], [0, 0, 1, 1]])
    links = torch.tensor([[0, 0, 1], [0, 1, 2]])
    mekb = mekb_scores(inter, links, num_users=3, num_entities=3, idf=False)
    names = ['paint brushes', 'acrylic', 'oil paint']
    seq = mekb_sequences(mekb, names, max_tokens=256)
    # user 0: k = {0: 2, 1: 2, 2: 1} -> ties broken by entity index
    assert seq == ['paint brushes [SEP] acrylic [SEP] oil paint', 'oil paint', '']
    # 'paint brushes' (2) + '[SEP] acrylic' (2) = 4 tokens; 'oil paint' would need 3 more
    assert mekb_sequences(mekb, names, max_tokens=5)[0] == 'paint brushes [SEP] acrylic'
    assert mekb_sequences(mekb, names, max_tokens=1)[0] == ''
