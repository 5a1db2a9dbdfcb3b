r"""Alias table and AT@1 entity linking of MeKB-Rec (Sec. 3.1.2)."""
import re
from collections import defaultdict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

__all__ = ['AliasTable', 'normalize_mention', 'spacy_mentions']

_TOKEN_RE = re.compile(r'[a-z0-9]+')


def normalize_mention(text: str) -> Tuple[str, ...]:
    r"""Lower-case word tokens of :obj:`text` (punctuation removed): the key under which
    mentions are stored and matched."""
    return tuple(_TOKEN_RE.findall(text.lower()))


def spacy_mentions(model: str = 'en_core_web_sm') -> Callable[[str], List[str]]:
    r"""A named-entity recogniser for :meth:`AliasTable.link` (``ner=``) built on spaCy,
    as MeKB-Rec does for English items: returns the text of every entity span.
    **Optional**: needs ``spacy`` and the model :obj:`model` installed (neither is a
    dependency of this library); raises :class:`ImportError` / :class:`OSError` otherwise."""
    import spacy  # noqa: optional dependency
    nlp = spacy.load(model)
    return lambda text: [ent.text for ent in nlp(text).ents]


class AliasTable:
    r"""The alias table of MeKB-Rec (Sec. 3.1.2): the prior probability of a mention
    :math:`m` referring to the entity :math:`e`,

    .. math::
        P(e \mid m) = \frac{\mathrm{freq}(m, e)}{\mathrm{freq}(m)}
        \qquad \text{(eq. 3)}

    where :math:`\mathrm{freq}(m, e)` counts the anchors with surface form :math:`m`
    referring to :math:`e` (Wikipedia links in the paper; here any (mention, entity)
    evidence, e.g. one count per item carrying the entity) and
    :math:`\mathrm{freq}(m) = \sum_e \mathrm{freq}(m, e)`. Mentions are compared after
    :func:`normalize_mention` (lower-case words).

    Linking (:meth:`link`) is **AT@1**: a mention links to
    :math:`\arg\max_e P(e \mid m)` (ties: the smallest entity index). Text is scanned
    left to right for the **longest** n-gram that is a known mention (at most
    :obj:`max_mention_length` words); a match consumes its words. With :obj:`ner`
    (e.g. :func:`spacy_mentions`, the paper's spaCy NER for English) only the
    recognised spans are scanned.

    Args:
        mentions (sequence of str): Surface form of each piece of evidence.
        entities (sequence of int or torch.Tensor): The entity of each.
        counts (sequence of float or torch.Tensor, optional): :math:`\mathrm{freq}(m, e)`
            contributions (default: 1 each).
    """
    def __init__(self, mentions: Sequence[str], entities: Union[Sequence[int], Tensor],
                 counts: Optional[Union[Sequence[float], Tensor]] = None) -> None:
        entities = torch.as_tensor(entities, dtype=torch.long).view(-1).tolist()
        if len(mentions) != len(entities):
            raise ValueError(f'{len(mentions)} mentions but {len(entities)} entities')
        if counts is None:
            counts = [1.0] * len(entities)
        counts = torch.as_tensor(counts, dtype=torch.float64).view(-1).tolist()
        if len(counts) != len(entities):
            raise ValueError(f'{len(counts)} counts but {len(entities)} entities')
        freq: Dict[Tuple[str, ...], Dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for m, e, c in zip(mentions, entities, counts):
            if c < 0:
                raise ValueError(f'negative count {c} for mention {m!r}')
            key = normalize_mention(m)
            if key:
                freq[key][int(e)] += float(c)
        self._freq = {m: dict(d) for m, d in freq.items()}
        self._top1 = {m: min(d, key=lambda e: (-d[e], e)) for m, d in self._freq.items()}
        self.max_mention_length = max((len(m) for m in self._freq), default=0)

    @classmethod
    def from_names(cls, names: Sequence[str], entities: Optional[Iterable[int]] = None,
                   counts: Optional[Sequence[float]] = None) -> 'AliasTable':
        r"""An alias table whose mentions are the entity titles :obj:`names`
        (entity :obj:`entities[k]` has title :obj:`names[k]`; default ``0 .. len-1``)."""
        entities = list(range(len(names))) if entities is None else list(entities)
        return cls(list(names), entities, counts)

    def __len__(self) -> int:
        return len(self._freq)

    def prob(self, mention: str) -> Dict[int, float]:
        r""":math:`\{e: P(e \mid m)\}` of eq. (3) (empty for an unknown mention)."""
        d = self._freq.get(normalize_mention(mention), {})
        total = sum(d.values())
        return {e: c / total for e, c in d.items()} if total > 0 else {}

    def top1(self, mention: str) -> int:
        r"""AT@1: the most probable entity of :obj:`mention`, or :obj:`-1`."""
        return self._top1.get(normalize_mention(mention), -1)

    def _scan(self, tokens: Tuple[str, ...]) -> List[int]:
        out, i, n = [], 0, len(tokens)
        while i < n:
            for length in range(min(self.max_mention_length, n - i), 0, -1):
                e = self._top1.get(tokens[i:i + length])
                if e is not None:
                    out.append(e)
                    i += length
                    break
            else:
                i += 1
        return out

    def link(self, text: str, ner: Optional[Callable[[str], List[str]]] = None,
             unique: bool = True) -> List[int]:
        r"""Entities linked from :obj:`text` (longest n-gram match, AT@1), in order of
        appearance; :obj:`unique` keeps each entity once."""
        spans = ner(text) if ner is not None else [text]
        out: List[int] = []
        for span in spans:
            out.extend(self._scan(normalize_mention(span)))
        if unique:
            out = list(dict.fromkeys(out))
        return out

    def link_items(self, texts: Sequence[str],
                   ner: Optional[Callable[[str], List[str]]] = None) -> Tensor:
        r"""The (item, entity) links of every text, :obj:`[2, L]` (item ``k`` is
        :obj:`texts[k]`), for :func:`~torch_geometric_kgrec.mekb.mekb_scores`."""
        rows, cols = [], []
        for k, text in enumerate(texts):
            ents = self.link(text, ner=ner)
            rows += [k] * len(ents)
            cols += ents
        return torch.tensor([rows, cols], dtype=torch.long).view(2, -1)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({len(self)} mentions)'
