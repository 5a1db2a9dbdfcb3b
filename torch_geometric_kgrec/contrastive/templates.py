r"""Metadata sentences of the `"Knowledge Graph-Based Semantic Contrastive Learning"`
paper (Kim et al., LREC-COLING 2024, Sec. 3.1, step (1) of Figure 3).

Item metadata (genres, title, year) is verbalised with a simple template before it is
encoded and ranked to mine content-content pairs:

* ``'genre'``: "The genre(s) of the (film|book) is/are [genre_list]."
* ``'title+genre'``: "A (movie|book) title is (title) (released_year). The genre(s) of
  the (film|book) is/are [genre_list]."

The paper writes "genre(s)" and "is/are" as a choice; we choose by the number of
genres ("The genre of the film is Drama." / "The genres of the film are Action,
Thriller."). Besides the paper's ``'movie'`` and ``'book'`` domains, ``'artist'``
(Last.FM: the artist's name as title, its tags as genres) reads "An artist name is
Daft Punk. The genres of the artist are electronic, house.".

A user-defined template is either a format string with the fields ``{title}``,
``{year}``, ``{genres}`` (comma separated), ``{noun}`` ("movie"), ``{kind}`` ("film"),
or a callable ``f(ItemMetadata) -> str | None``. An item for which the template has no
input (no genres for ``'genre'``) gets :obj:`None`: it has no sentence and takes part in
no pair (the paper likewise trains without the items whose metadata is missing).
"""
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Union

__all__ = ['ItemMetadata', 'DOMAINS', 'TEMPLATES', 'item_metadata', 'genre_sentence',
           'title_genre_sentence', 'metadata_sentences']

# domain -> (noun of the title sentence, noun of the genre sentence, title phrase)
DOMAINS = {
    'movie': ('movie', 'film', 'A movie title is'),
    'book': ('book', 'book', 'A book title is'),
    'artist': ('artist', 'artist', 'An artist name is'),
}


@dataclass
class ItemMetadata:
    r"""The metadata of one item that a template may use."""
    index: int
    title: Optional[str] = None
    year: Optional[str] = None
    genres: List[str] = field(default_factory=list)
    domain: str = 'movie'


def _domain(domain: str):
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose one of {sorted(DOMAINS)}")
    return DOMAINS[domain]


def genre_sentence(meta: ItemMetadata) -> Optional[str]:
    r"""The paper's genre template, "The genre(s) of the (film|book) is/are
    [genre_list]."; :obj:`None` without genres."""
    genres = [g for g in meta.genres if g and g.strip()]
    if not genres:
        return None
    kind = _domain(meta.domain)[1]
    if len(genres) == 1:
        return f'The genre of the {kind} is {genres[0].strip()}.'
    return f"The genres of the {kind} are {', '.join(g.strip() for g in genres)}."


def title_genre_sentence(meta: ItemMetadata) -> Optional[str]:
    r"""The paper's title-and-genre template, "A (movie|book) title is (title)
    (released_year). The genre(s) of the (film|book) is/are [genre_list]."; the year
    is left out when unknown, the genre sentence when there are no genres; :obj:`None`
    without title and genres."""
    phrase = _domain(meta.domain)[2]
    parts = []
    title = (meta.title or '').strip()
    if title:
        year = (meta.year or '').strip()
        parts.append(f'{phrase} {title}' + (f' ({year})' if year else '') + '.')
    genre = genre_sentence(meta)
    if genre is not None:
        parts.append(genre)
    return ' '.join(parts) if parts else None


TEMPLATES = {'genre': genre_sentence, 'title+genre': title_genre_sentence}


def _check_list(data, name: str, num_items: int) -> Optional[list]:
    value = getattr(data, name, None)
    if value is None:
        return None
    if len(value) < num_items:
        raise ValueError(f"data.{name} has {len(value)} entries, expected one per item "
                         f"({num_items})")
    return list(value[:num_items])


def item_metadata(data, domain: str = 'movie') -> List[ItemMetadata]:
    r"""The metadata of every item of a dataset in the library schema.

    Titles come from :obj:`data.item_titles`, else the item rows of
    :obj:`data.entity_names` (Last.FM artist names); years from :obj:`data.item_years`;
    genres from :obj:`data.item_genres` (a list of genres, or tags, per item).
    """
    _domain(domain)
    num_items = int(data.num_items)
    titles = _check_list(data, 'item_titles', num_items)
    if titles is None:
        titles = _check_list(data, 'entity_names', num_items)
    years = _check_list(data, 'item_years', num_items)
    genres = _check_list(data, 'item_genres', num_items)
    if titles is None and genres is None:
        raise ValueError("the data has no item metadata: it needs data.item_genres and/or "
                         "data.item_titles (or data.entity_names)")
    out = []
    for i in range(num_items):
        g = genres[i] if genres is not None else None
        if isinstance(g, str):
            raise ValueError(f"data.item_genres[{i}] is a string ({g!r}); expected a list "
                             "of genres")
        out.append(ItemMetadata(
            index=i, title=titles[i] if titles is not None else None,
            year=years[i] if years is not None else None,
            genres=[str(x) for x in g] if g else [], domain=domain))
    return out


def _format(template: str) -> Callable[[ItemMetadata], Optional[str]]:
    def fill(meta: ItemMetadata) -> Optional[str]:
        noun, kind, _ = _domain(meta.domain)
        try:
            return template.format(title=meta.title or '', year=meta.year or '',
                                   genres=', '.join(meta.genres), noun=noun, kind=kind)
        except (KeyError, IndexError) as e:
            raise ValueError(f"template {template!r} uses an unknown field {e}; known: "
                             "title, year, genres, noun, kind") from None
    return fill


def metadata_sentences(
    data_or_metadata,
    template: Union[str, Callable[[ItemMetadata], Optional[str]]] = 'genre',
    domain: str = 'movie',
) -> List[Optional[str]]:
    r"""One sentence per item (:obj:`None` where the template has no input).

    Args:
        data_or_metadata: A dataset object (:func:`item_metadata` is applied) or a list
            of :class:`ItemMetadata`.
        template: :obj:`'genre'` or :obj:`'title+genre'` (the paper's two templates),
            a format string with the fields :obj:`{title}`, :obj:`{year}`,
            :obj:`{genres}`, :obj:`{noun}`, :obj:`{kind}`, or a callable
            :obj:`f(ItemMetadata) -> str | None`. (default: :obj:`'genre'`)
        domain (str): :obj:`'movie'`, :obj:`'book'` or :obj:`'artist'`; ignored when
            metadata is given. (default: :obj:`'movie'`)
    """
    if isinstance(data_or_metadata, Sequence) and all(
            isinstance(m, ItemMetadata) for m in data_or_metadata):
        metadata = list(data_or_metadata)
    else:
        metadata = item_metadata(data_or_metadata, domain)
    if callable(template):
        fn = template
    elif template in TEMPLATES:
        fn = TEMPLATES[template]
    elif isinstance(template, str) and '{' in template:
        fn = _format(template)
    else:
        raise ValueError(f"unknown template {template!r}: use 'genre', 'title+genre', a "
                         "format string with {title}/{year}/{genres}/{noun}/{kind}, or a "
                         "callable")
    out = []
    for meta in metadata:
        s = fn(meta)
        if s is not None and not isinstance(s, str):
            raise ValueError(f'the template returned {type(s).__name__} for item '
                             f'{meta.index}; expected str or None')
        out.append(s if s and s.strip() else None)
    return out
