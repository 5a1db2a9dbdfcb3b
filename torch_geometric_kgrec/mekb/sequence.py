r"""MeKB -> text: the score-ordered, ``[SEP]``-joined entity-title sequence that
EmbedMe encodes (MeKB-Rec, Sec. 3.2.2)."""
from typing import Callable, List, Optional, Sequence

import torch

from torch_geometric_kgrec.mekb.score import MeKB

__all__ = ['mekb_sequences']


def mekb_sequences(mekb: MeKB, entity_names: Sequence[str], sep: str = '[SEP]',
                   max_tokens: Optional[int] = 256,
                   tokenize: Optional[Callable[[str], List[str]]] = None) -> List[str]:
    r"""Every user's MeKB as text: entity titles :math:`\mathrm{Title}(e)` in
    decreasing :math:`\mathrm{MeKBScore}(u, e)` (the order of :obj:`mekb`), separated by
    :obj:`sep`, truncated to :obj:`max_tokens` tokens (:math:`N = 256`).

    Truncation drops whole entities: the first entity that would make the sequence
    longer than :obj:`max_tokens` tokens (counted with :obj:`tokenize`, e.g. a
    WordPiece tokenizer's ``tokenize``; default: whitespace words, the separator counting
    one) and all after it are left out. The text encoder still truncates at its own
    ``max_length`` (which also counts ``[CLS]`` and the final ``[SEP]``).
    A user with an empty MeKB gets ``''``.

    Returns:
        :obj:`list[str]` of length :obj:`mekb.num_users`.
    """
    if tokenize is None:
        tokenize = str.split
    ei = mekb.edge_index
    counts = torch.bincount(ei[0], minlength=mekb.num_users).tolist()
    ents = ei[1].tolist()
    cost_cache: dict = {}
    out: List[str] = []
    pos = 0
    sep_cost = len(tokenize(sep)) if sep.strip() else 0
    for u in range(mekb.num_users):
        titles: List[str] = []
        used = 0
        for e in ents[pos:pos + counts[u]]:
            name = entity_names[e]
            if max_tokens is not None:
                c = cost_cache.get(e)
                if c is None:
                    c = cost_cache[e] = len(tokenize(name))
                add = c + (sep_cost if titles else 0)
                if used + add > max_tokens:
                    break
                used += add
            titles.append(name)
        pos += counts[u]
        out.append(f' {sep} '.join(titles))
    return out
