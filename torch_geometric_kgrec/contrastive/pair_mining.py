r"""Positive / negative content pairs for content-based contrastive learning (Kim et
al., LREC-COLING 2024, Sec. 3.1 and Figure 3).

(1) item metadata is verbalised (:mod:`~torch_geometric_kgrec.contrastive.templates`),
(2) encoded by a bi-encoder :math:`E` (the paper: ``multi-qa-mpnet-base-dot-v1``; here
the shared :class:`~torch_geometric_kgrec.text.TextEncoder`, any Hugging Face id or
local folder), (3) for every anchor a cross-encoder :math:`E_{ranker}` (the paper:
``ms-marco-MiniLM-L-12-v2``; here any :obj:`AutoModelForSequenceClassification` id or
folder) ranks the other items, and the top-:math:`n` become positives, the bottom-:math:`n`
negatives.

**Pairs use item metadata only**: :func:`mine_content_pairs` takes sentences, never
interactions, so they cannot carry test data into training.

Ranking every item against every anchor with a cross-encoder costs :math:`O(I^2)`
forward passes, so the cross-encoder re-ranks a bi-encoder **shortlist** of
:obj:`shortlist` candidates per anchor (default 50; cost :math:`I \cdot` shortlist
passes, ``2 I \cdot`` shortlist with :obj:`negatives='far'`), in chunks, with a progress
bar, each distinct (anchor text, candidate text) pair scored once. "Bottom-:math:`n`"
of the paper's full ranking is read as (:obj:`negatives`):

* :obj:`'far'` (default): the cross-encoder also scores the bi-encoder's
  :obj:`shortlist` *least* similar items and the :math:`n` it ranks lowest are the
  negatives, i.e. the bottom of the full ranking when both encoders agree on what is
  far (the closest approximation of the paper's "bottom-:math:`n` of all" at linear cost);
* :obj:`'shortlist'`: the :math:`n` lowest-ranked items of the positive shortlist (hard
  negatives, *not* the paper's reading);
* :obj:`'random'`: :math:`n` uniform items outside the shortlist (seeded).

**Without a cross-encoder** (the offline default: none is packaged) the bi-encoder's
similarity ranks *all* items, positives are its top-:math:`n` and negatives its
bottom-:math:`n`; :attr:`ContentPairs.ranker` is ``'bi-encoder'`` and
:attr:`ContentPairs.info` says so. Ties (e.g. identical genre sentences) are broken by a
seeded random order. An item's positives and negatives never overlap and never contain
the item itself; items without a sentence take part in no pair.

The result is cached on disk (:obj:`cache_dir`) under a key of everything that
determines it (sentences, model identities, :math:`n`, shortlist, reading, seed).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_kgrec.serialization import atomic_torch_save

__all__ = ['ContentPairs', 'CrossEncoderRanker', 'mine_content_pairs']

NEGATIVE_READINGS = ('far', 'shortlist', 'random')


class ContentPairs(NamedTuple):
    r"""Mined content-content pairs.

    Attributes:
        edge_index (torch.Tensor): :obj:`[2, P]` (anchor item, other item).
        label (torch.Tensor): :obj:`[P]` float, 1 for positives and 0 for negatives.
        ranker (str): :obj:`'cross-encoder'` or :obj:`'bi-encoder'` (no cross-encoder).
        info (dict): Models, sizes and the reading of "bottom-n", for the JSON result.
    """
    edge_index: Tensor
    label: Tensor
    ranker: str
    info: Dict

    def positives(self) -> Tensor:
        return self.edge_index[:, self.label == 1]

    def negatives(self) -> Tensor:
        return self.edge_index[:, self.label == 0]


class CrossEncoderRanker:
    r"""A cross-encoder that scores (query, document) text pairs, loaded from any
    Hugging Face id or local folder with :obj:`AutoTokenizer` and
    :obj:`AutoModelForSequenceClassification` (e.g. ``cross-encoder/ms-marco-MiniLM-L-12-v2``).
    The score is the single logit (:obj:`num_labels=1`, as MS MARCO rankers) or the
    last class' logit minus the first (:obj:`num_labels=2`).

    Args:
        model_name_or_path (str): Hugging Face id or local folder (a folder is never
            looked up online).
        max_length (int): Tokens per (query, document) pair. (default: :obj:`256`)
        batch_size (int): Pairs per forward pass. (default: :obj:`64`)
        device (torch.device, optional): (default: CPU)
    """
    def __init__(self, model_name_or_path: str, max_length: int = 256, batch_size: int = 64,
                 device: Optional[Union[str, torch.device]] = None) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        local = osp.isdir(str(model_name_or_path))
        self.model_name_or_path = str(model_name_or_path)
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = torch.device(device or 'cpu')
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path,
                                                       local_files_only=local)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            self.model_name_or_path, local_files_only=local).to(self.device).eval()
        if self.model.config.num_labels not in (1, 2):
            raise ValueError(f'{self.model_name_or_path}: a cross-encoder needs num_labels 1 '
                             f'or 2 (got {self.model.config.num_labels})')

    @property
    def model_id(self) -> str:
        path = self.model_name_or_path
        return osp.abspath(path) if osp.isdir(path) else path

    @torch.no_grad()
    def score(self, queries: Sequence[str], documents: Sequence[str]) -> Tensor:
        r"""Relevance of each (query, document) pair, :obj:`[n]` float32 on CPU."""
        if len(queries) != len(documents):
            raise ValueError('queries and documents must have the same length')
        out = []
        for s in range(0, len(queries), self.batch_size):
            enc = self.tokenizer(list(queries[s:s + self.batch_size]),
                                 list(documents[s:s + self.batch_size]), padding=True,
                                 truncation=True, max_length=self.max_length,
                                 return_tensors='pt').to(self.device)
            logits = self.model(**enc).logits.float()
            out.append((logits[:, -1] - logits[:, 0] if logits.size(-1) == 2 else
                        logits[:, 0]).cpu())
        return torch.cat(out) if out else torch.empty(0)


def _rank(scores: Tensor, k: int, largest: bool, gen: torch.Generator) -> Tensor:
    r"""Column indices of the :obj:`k` best entries per row (``-inf`` / ``+inf`` =
    unavailable), ties broken by a seeded random order."""
    n = scores.size(1)
    perm = torch.randperm(n, generator=gen)
    s = scores[:, perm]
    order = s.argsort(dim=1, descending=largest, stable=True)[:, :k]
    return perm[order]


def _key(payload: Dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def mine_content_pairs(
    sentences: Sequence[Optional[str]],
    bi_encoder=None,
    cross_encoder: Optional[Union[str, CrossEncoderRanker]] = None,
    num_positives: int = 5,
    num_negatives: int = 5,
    shortlist: int = 50,
    negatives: str = 'far',
    similarity: str = 'cos',
    chunk_size: int = 256,
    seed: int = 0,
    cache_dir: Optional[str] = None,
    progress: bool = False,
) -> ContentPairs:
    r"""Mine :obj:`num_positives` positive and :obj:`num_negatives` negative partners
    for every item that has a sentence (see the module docstring).

    Args:
        sentences (list): One metadata sentence per item, :obj:`None` for items
            without metadata (:func:`~torch_geometric_kgrec.contrastive.metadata_sentences`).
        bi_encoder: Anything with :obj:`encode(texts) -> Tensor[N, h]` and
            :obj:`model_id` (a :class:`~torch_geometric_kgrec.text.TextEncoder`), a
            Hugging Face id / folder for one, or :obj:`None` for the packaged MiniLM.
        cross_encoder: A :class:`CrossEncoderRanker`, a Hugging Face id / folder for
            one, or :obj:`None` (rank by the bi-encoder's similarity, stated in
            :attr:`ContentPairs.info`).
        num_positives (int): :math:`n` positives per anchor. (default: :obj:`5`)
        num_negatives (int): :math:`n` negatives per anchor. (default: :obj:`5`)
        shortlist (int): Bi-encoder candidates re-ranked by the cross-encoder per
            anchor. (default: :obj:`50`)
        negatives (str): Reading of "bottom-:math:`n`" with a cross-encoder:
            :obj:`'far'`, :obj:`'shortlist'` or :obj:`'random'`. (default: :obj:`'far'`)
        similarity (str): Bi-encoder similarity, :obj:`'cos'` (MiniLM is trained with
            it) or :obj:`'dot'` (``multi-qa-mpnet-base-dot-v1``). (default: :obj:`'cos'`)
        chunk_size (int): Anchors per chunk. (default: :obj:`256`)
        seed (int): Seed of the tie-breaking and of :obj:`negatives='random'`.
        cache_dir (str, optional): Folder of the on-disk cache of the result.
        progress (bool): Show a :obj:`tqdm` progress bar. (default: :obj:`False`)
    """
    if negatives not in NEGATIVE_READINGS:
        raise ValueError(f"'negatives' must be one of {NEGATIVE_READINGS} (got {negatives!r})")
    if similarity not in ('cos', 'dot'):
        raise ValueError(f"'similarity' must be 'cos' or 'dot' (got {similarity!r})")
    if num_positives < 1 or num_negatives < 0:
        raise ValueError('num_positives must be >= 1 and num_negatives >= 0')
    for i, s in enumerate(sentences):
        if s is not None and not isinstance(s, str):
            raise ValueError(f'sentences[{i}] is {type(s).__name__}; expected str or None')
    valid = [i for i, s in enumerate(sentences) if s]
    n = len(valid)
    if n < 2:
        raise ValueError(f'pair mining needs at least two items with a sentence (got {n})')

    if bi_encoder is None or isinstance(bi_encoder, (str, os.PathLike)):
        from torch_geometric_kgrec.text import TextEncoder
        bi_encoder = TextEncoder(None if bi_encoder is None else str(bi_encoder))
    if isinstance(cross_encoder, (str, os.PathLike)):
        cross_encoder = CrossEncoderRanker(str(cross_encoder))
    ranker = 'cross-encoder' if cross_encoder is not None else 'bi-encoder'
    info = {
        'ranker': ranker,
        'bi_encoder': str(getattr(bi_encoder, 'model_id', type(bi_encoder).__name__)),
        'cross_encoder': cross_encoder.model_id if cross_encoder is not None else None,
        'num_positives': num_positives, 'num_negatives': num_negatives,
        'similarity': similarity, 'seed': seed, 'items_with_sentence': n,
        'num_items': len(sentences),
    }
    if cross_encoder is None:
        info['note'] = ('no cross-encoder given: positives/negatives are the top/bottom-n '
                        f'of the bi-encoder {similarity} similarity over all items (the '
                        'paper re-ranks with the cross-encoder ms-marco-MiniLM-L-12-v2)')
    else:
        info.update(shortlist=shortlist, negatives=negatives,
                    note=f'cross-encoder re-ranks a bi-encoder shortlist of {shortlist} '
                    f"per anchor; negatives: '{negatives}' reading of bottom-n")
    key = None
    if cache_dir is not None:
        key = _key(dict(info, sentences=list(sentences)))
        path = osp.join(cache_dir, f'content_pairs_{key}.pt')
        if osp.isfile(path):
            saved = torch.load(path, weights_only=True)
            info.update(num_pairs=int(saved['label'].numel()),
                        num_positive_pairs=int(saved['label'].sum()), cached=path)
            return ContentPairs(saved['edge_index'], saved['label'], ranker, info)

    gen = torch.Generator().manual_seed(seed)
    texts = [sentences[i] for i in valid]
    uniq = sorted(set(texts))
    where = {t: j for j, t in enumerate(uniq)}
    emb = bi_encoder.encode(uniq, progress=progress)
    emb = emb.float().cpu()[torch.tensor([where[t] for t in texts])]
    if similarity == 'cos':
        emb = F.normalize(emb, dim=-1)
    memo: Dict = {}

    def cross_scores(anchors: Tensor, cands: Tensor) -> Tensor:
        # anchors [b], cands [b, S] (positions in `valid`); each distinct text pair once
        pairs = [(texts[int(a)], texts[int(c)]) for a, row in zip(anchors, cands)
                 for c in row]
        todo = sorted({p for p in pairs if p not in memo})
        if todo:
            vals = cross_encoder.score([q for q, _ in todo], [d for _, d in todo])
            memo.update(zip(todo, vals.tolist()))
        return torch.tensor([memo[p] for p in pairs]).view(cands.shape)

    chunks = torch.arange(n).split(chunk_size)
    if progress:
        from tqdm.auto import tqdm
        chunks = tqdm(chunks, desc=f'mining pairs ({ranker})', unit='chunk')
    heads, tails, labels = [], [], []
    for rows in chunks:
        sim = emb[rows] @ emb.t()  # [b, n]
        b = rows.numel()
        self_mask = torch.zeros(b, n, dtype=torch.bool)
        self_mask[torch.arange(b), rows] = True
        n_pos = min(num_positives, n - 1)
        if cross_encoder is None:
            pos = _rank(sim.masked_fill(self_mask, float('-inf')), n_pos, True, gen)
            taken = self_mask.clone()
            taken.scatter_(1, pos, True)
            n_neg = min(num_negatives, n - 1 - n_pos)
            neg = _rank(sim.masked_fill(taken, float('inf')), n_neg, False, gen)
        else:
            S = min(max(shortlist, n_pos), n - 1)
            short = _rank(sim.masked_fill(self_mask, float('-inf')), S, True, gen)
            cs = cross_scores(rows, short)
            pos = short.gather(1, _rank(cs, n_pos, True, gen))
            taken = self_mask.clone()
            taken.scatter_(1, pos, True)
            n_neg = min(num_negatives, n - 1 - n_pos)
            if negatives == 'shortlist':
                cs = cs.masked_fill(taken.gather(1, short), float('inf'))
                neg = short.gather(1, _rank(cs, min(n_neg, S - n_pos), False, gen))
            elif negatives == 'far':
                S_far = min(max(shortlist, n_neg), n - 1 - n_pos)
                far = _rank(sim.masked_fill(taken, float('inf')), S_far, False, gen)
                neg = far.gather(1, _rank(cross_scores(rows, far), n_neg, False, gen))
            else:  # random, outside the shortlist
                outside = torch.ones(b, n, dtype=torch.bool)
                outside[self_mask] = False
                outside.scatter_(1, short, False)
                if int(outside.sum(1).min()) < n_neg:
                    outside = ~taken
                w = torch.rand(b, n, generator=gen).masked_fill(~outside, -1.0)
                neg = w.topk(n_neg, dim=1).indices
        for other, lab in ((pos, 1.0), (neg, 0.0)):
            heads.append(rows.view(-1, 1).expand_as(other).reshape(-1))
            tails.append(other.reshape(-1))
            labels.append(torch.full((other.numel(), ), lab))
    index = torch.tensor(valid)
    edge_index = torch.stack([index[torch.cat(heads)], index[torch.cat(tails)]])
    label = torch.cat(labels)
    info['num_pairs'] = int(label.numel())
    info['num_positive_pairs'] = int(label.sum())
    if cross_encoder is not None:
        info['cross_encoder_passes'] = len(memo)
    if key is not None:
        atomic_torch_save({'edge_index': edge_index, 'label': label},
                          osp.join(cache_dir, f'content_pairs_{key}.pt'))
    return ContentPairs(edge_index, label, ranker, info)
