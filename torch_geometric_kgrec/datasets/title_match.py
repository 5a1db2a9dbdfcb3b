r"""Matching film titles between two catalogues (MovieLens-1M and MovieLens-100K), used
to rebuild the item -> Freebase link of :class:`MovieLens100KKG`.

Two titles of the **same release year** match

1. **exactly** when they are equal ignoring case (``str.casefold``); else
2. **normalised** when one of their *variants* (below) has the same *key*.

Variants of a title: the title itself; the title without its parenthesised parts; each
parenthesised part (a leading ``a.k.a.`` dropped), e.g. ``"Postino, Il (The Postman)"``
gives ``"Postino, Il"`` and ``"The Postman"``; and, when nothing else matched, the
segments around ``": "`` and ``" - "`` (``"Star Wars: Episode IV - A New Hope"`` gives
``"Star Wars"``, ``"Episode IV"``, ``"A New Hope"``).

Key of a variant (:func:`title_key`): Unicode NFKD with accents dropped (``"Mépris"`` ->
``"mepris"``, ``"Alien³"`` -> ``"alien3"``), case-folded, a trailing article moved to the
front (``"Shawshank Redemption, The"`` -> ``"the shawshank redemption"``; English,
French, Italian, Spanish, Portuguese and German articles), ``&`` read as ``and``, and
every character that is not a letter or digit removed (punctuation, spaces, a
trailing ``?``).

A normalised match is accepted only when it is **unique**: all catalogue entries it
reaches share one case-folded title and year (one film, or duplicate entries of one
film); otherwise it is reported as ambiguous.
Titles are never matched across different years.
"""
import re
import unicodedata
from typing import Dict, List, Sequence, Tuple

__all__ = ['title_key', 'title_variants', 'match_titles', 'same_title']

_ARTICLES = ('the', 'a', 'an', 'il', 'la', 'le', 'les', "l'", 'lo', 'gli', 'i', 'el',
             'los', 'las', 'un', 'una', 'une', 'o', 'os', 'as', 'das', 'der', 'die',
             'den', 'ein', 'eine')
_TRAILING_ARTICLE = re.compile(r'^(.*\S),\s*(' + '|'.join(re.escape(a) for a in _ARTICLES)
                               + r')\s*$', re.IGNORECASE)
_PARENS = re.compile(r'\(([^()]*)\)')
_NOT_ALNUM = re.compile(r'[\W_]+')


def title_key(title: str) -> str:
    r"""The normalised key of one title variant (see the module docstring)."""
    t = unicodedata.normalize('NFKD', title)
    t = ''.join(c for c in t if not unicodedata.combining(c)).casefold().strip()
    m = _TRAILING_ARTICLE.match(t)
    if m is not None:
        t = f'{m.group(2)} {m.group(1)}'
    t = t.replace('&', ' and ')
    return _NOT_ALNUM.sub('', t)


def title_variants(title: str, segments: bool = False) -> List[str]:
    r"""The variants of :obj:`title` (see the module docstring); with
    :obj:`segments`, the ``": "`` / ``" - "`` segments of each variant instead."""
    out = [title, _PARENS.sub(' ', title)]
    for inner in _PARENS.findall(title):
        out.append(re.sub(r'^\s*a\.k\.a\.\s*', '', inner, flags=re.IGNORECASE))
    if segments:
        out = [s for v in out for s in re.split(r':\s+|\s+-\s+', v)]
    return [v for v in (' '.join(v.split()) for v in out) if v]


def match_titles(
    queries: Sequence[Tuple[str, str]],
    catalogue: Sequence[Tuple[str, str]],
) -> List[Tuple[str, List[int]]]:
    r"""Match every ``(title, year)`` of :obj:`queries` to the entries of
    :obj:`catalogue` (see the module docstring).

    Returns:
        One ``(kind, entries)`` per query: ``kind`` is ``'exact'``, ``'normalised'``,
        ``'ambiguous'`` (a normalised key reaches different films: not a match) or
        ``'none'``; ``entries`` are the catalogue positions reached (several for a
        film that the catalogue lists more than once; empty for ``'none'``).
    """
    exact: Dict[Tuple[str, str], List[int]] = {}
    for k, (t, y) in enumerate(catalogue):
        exact.setdefault((t.casefold().strip(), y.strip()), []).append(k)
    norm: List[Dict[Tuple[str, str], set]] = [{}, {}]
    for tier, seg in ((0, False), (1, True)):
        for k, (t, y) in enumerate(catalogue):
            for v in title_variants(t, segments=seg):
                norm[tier].setdefault((title_key(v), y.strip()), set()).add(k)

    def film(entries) -> bool:  # one case-folded title + year
        return len({(catalogue[k][0].casefold().strip(), catalogue[k][1].strip())
                    for k in entries}) == 1

    out: List[Tuple[str, List[int]]] = []
    for t, y in queries:
        y = y.strip()
        hit = exact.get((t.casefold().strip(), y))
        if hit:
            out.append(('exact', hit))
            continue
        found: List[int] = []
        for tier, seg in ((0, False), (1, True)):
            cand = set()
            for v in title_variants(t, segments=seg):
                cand |= norm[tier].get((title_key(v), y), set())
            if cand:
                found = sorted(cand)
                break
        if not found:
            out.append(('none', []))
        else:
            out.append(('normalised' if film(found) else 'ambiguous', found))
    return out


def same_title(a: str, b: str) -> bool:
    r"""Whether two titles share a normalised variant key (segments included), e.g.
    ``same_title('Postino, Il', 'Il Postino: The Postman')``. Used to check that a
    linked entity's name is its item's title."""
    def keys(t):
        return {title_key(v) for seg in (False, True) for v in title_variants(t, seg)}
    return bool(keys(a) & keys(b))
