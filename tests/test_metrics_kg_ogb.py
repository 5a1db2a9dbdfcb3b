r"""Cross-check of our KG-completion MRR / Hits@k against OGB's reference evaluator
(:class:`ogb.linkproppred.Evaluator` of ``ogbl-wikikg2``, which ranks with average ties).
Skipped when the ``ogb`` extra is not installed."""
import pytest
import torch

from torch_geometric_kgrec.metrics import kg_completion_ranks

linkproppred = pytest.importorskip('ogb.linkproppred', reason='the ogb extra is not installed')


def _ogb(y_pos, y_neg):
    out = linkproppred.Evaluator('ogbl-wikikg2').eval({'y_pred_pos': y_pos,
                                                        'y_pred_neg': y_neg})
    return {k: out[f'{k}_list'].double().mean().item()
            for k in ('mrr', 'hits@1', 'hits@3', 'hits@10')}


def _ours(rank):
    out = {'mrr': (1.0 / rank).mean().item()}
    out.update({f'hits@{k}': (rank <= k).double().mean().item() for k in (1, 3, 10)})
    return out


def test_kg_completion_matches_ogb_evaluator():
    gen = torch.Generator().manual_seed(0)
    E, R, n = 30, 3, 40
    # integer-valued scores, so that ties occur and the tie rule is exercised
    table = torch.randint(0, 6, (E, R, E), generator=gen).float()
    score_fn = lambda h, r, t: table[h, r, t]  # noqa: E731
    test = torch.stack([torch.randint(0, E, (n,), generator=gen),
                        torch.randint(0, R, (n,), generator=gen),
                        torch.randint(0, E, (n,), generator=gen)])
    known = torch.stack([torch.randint(0, E, (200,), generator=gen),
                         torch.randint(0, R, (200,), generator=gen),
                         torch.randint(0, E, (200,), generator=gen)])
    ranks = kg_completion_ranks(score_fn, test, E, filter_triples=known, ties='average')

    h, r, t = test
    scores = table[h, r]                                   # [n, E] tail candidates
    pos = scores[torch.arange(n), t]
    other = torch.ones(n, E, dtype=torch.bool)
    other[torch.arange(n), t] = False
    raw_neg = scores[other].view(n, E - 1)
    assert _ours(ranks['raw_tail']) == pytest.approx(_ogb(pos, raw_neg), abs=1e-6)

    # filtered: known true tails (and the test triples) leave the negatives; OGB takes a
    # dense [n, m] matrix, so removed candidates become -inf (never outrank a finite pos)
    true = {tuple(x) for x in torch.cat([known, test], 1).t().tolist()}
    filt_neg = scores.clone()
    for i in range(n):
        for e in range(E):
            if e == int(t[i]) or (int(h[i]), int(r[i]), e) in true:
                filt_neg[i, e] = float('-inf')
    assert _ours(ranks['filtered_tail']) == pytest.approx(_ogb(pos, filt_neg), abs=1e-6)
    assert _ours(ranks['raw_tail']) != _ours(ranks['filtered_tail'])
