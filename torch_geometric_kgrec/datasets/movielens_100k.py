import os
import os.path as osp
import re
import shutil
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch_geometric.data import HeteroData, download_url, extract_zip

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.io import (Table, factorize, first_unique, read_atomic,
                                               read_table)
from torch_geometric_kgrec.datasets.report import check_non_negative, report_duplicates
from torch_geometric_kgrec.datasets.schema import make_kgrec_data
from torch_geometric_kgrec.datasets.title_match import match_titles

RECBOLE_LINK = 'recbole-ml1m-ids'
LINKS = ('title-year', RECBOLE_LINK)
_TITLE_YEAR = re.compile(r'^(.*?)\s*\((\d{4})\)\s*$')


class MovieLens100KKG(KGRecDataset):
    r"""MovieLens-100K linked to Freebase (KB4Rec), in the RecBole atomic-file format
    distributed by ``Hank-Kuo/CKAN`` (``data/movie/movie.*``, saved here as
    ``ml-100k.*``).

    Raw files (tab separated, a ``name:type`` header line each): ``ml-100k.inter``
    (user, item, rating, timestamp), ``ml-100k.item`` (item, title, release year,
    space-separated genres), ``ml-100k.link`` (movie id -> Freebase MID) and
    ``ml-100k.kg`` (head MID, relation name, tail MID; inverse relations are already in
    the file); plus GroupLens' MovieLens-1M ``movies.dat`` (saved as
    ``ml-1m-movies.dat``, from ``ml-1m.zip``) and ``fb15k-mid2name.txt`` (English names
    of FB15k entities, ``yao8839836/kg-bert``). Columns are selected by their header
    names. All 100,000 ratings are positives (with :obj:`rating` and :obj:`time`);
    items are the 1,682 movies of ``ml-100k.item`` (ordered by id).

    **The published link file is wrong** (RUCAIBox/RecSysDatasets issue 130): its ids
    are *MovieLens-1M* movie ids, not ML-100K ids, so read as ML-100K ids it links e.g.
    item 5 "Copycat (1995)" to "Father of the Bride Part II" (ML-1M movie 5); of the
    297 linked MIDs with an FB15k name, 1 names its ML-100K item. With
    :obj:`link='title-year'` (default) every link row is re-linked through its ML-1M
    title and year (:mod:`~torch_geometric_kgrec.datasets.title_match`: exact
    case-insensitive match, else a normalised one: articles, punctuation, accents,
    alternate-language titles in parentheses, ``": "`` segments; never across years).
    Of the 1,598 rows, **1,483 match exactly, 36 after normalisation, 0 are left
    ambiguous and 79 stay unlinked** (films that are not in ML-100K, or whose year
    differs); 17 exact matches reach a film that ML-100K lists twice (e.g. items 246
    and 268, "Chasing Amy (1997)", same genres): the MID is linked to the lower id, the
    copy stays unlinked. **1,519 items are linked**, each to its own film: for 291 of
    the 297 whose MID has an FB15k name (98 %), the name is the item's title (the other
    6 are the same film under another title, e.g. "Star Wars" / "Star Wars Episode
    IV: A New Hope"). :obj:`link='recbole-ml1m-ids'` keeps the published (wrong)
    reading, 1,598 items linked to mostly other films, only to compare with published
    numbers; it warns. The KG is the same under both; items without a link are
    isolated entities and MIDs that lose their item are ordinary entities.

    :obj:`data.item_text` is ``"<title> (<year>). Genres: <g1>, <g2>"``,
    :obj:`data.item_genres` the genre lists, :obj:`data.item_years` the release years
    (:obj:`''` when missing) and :obj:`data.entity_names` the item
    titles for items and the FB15k name (underscores as spaces) or :obj:`None` for
    other entities. See ``datasets/movielens-100k.md``.

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default:
            ``$KGREC_DATA/movielens-100k`` when present, else download).
        link: ``'title-year'`` (default: re-linked by ML-1M title and year) or
            ``'recbole-ml1m-ids'`` (the published, mislinked reading). The processed
            file name carries it.
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS** (``link='title-year'``; ``'recbole-ml1m-ids'``: 1,598 linked, 34,712
    entities):

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 943
        * - Items (movies)
          - 1,682 (1,519 linked)
        * - Ratings (positives)
          - 100,000
        * - Entities (items included)
          - 34,791
        * - Relations
          - 24
        * - Triples
          - 91,631
    """
    name = 'movielens-100k'
    subdir = 'movielens-100k'
    url = 'https://raw.githubusercontent.com/Hank-Kuo/CKAN/HEAD/data/movie'
    ml1m_url = 'https://files.grouplens.org/datasets/movielens/ml-1m.zip'
    fb15k_names_url = ('https://raw.githubusercontent.com/yao8839836/kg-bert/HEAD/data/'
                       'FB15K/FB15k_mid2name.txt')

    def __init__(
        self,
        root: Optional[str] = None,
        raw_dir: Optional[str] = None,
        link: str = 'title-year',
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        force_reload: bool = False,
    ) -> None:
        if link not in LINKS:
            raise ValueError(f'MovieLens100KKG: unknown link {link!r}; choose one of '
                             f'{list(LINKS)}')
        if link == RECBOLE_LINK:
            warnings.warn(
                "MovieLens100KKG(link='recbole-ml1m-ids') reads ml-100k.link as published: "
                'its ids are MovieLens-1M ids, so most ML-100K items are linked to the '
                'KG of OTHER films (RUCAIBox/RecSysDatasets issue 130). Use it only to '
                "compare with published numbers; the default link='title-year' is "
                'correct.', UserWarning, stacklevel=2)
        self.link = link
        super().__init__(root, raw_dir, transform, pre_transform, force_reload)

    @property
    def raw_file_names(self):
        return ['ml-100k.inter', 'ml-100k.item', 'ml-100k.link', 'ml-100k.kg',
                'ml-1m-movies.dat', 'fb15k-mid2name.txt']

    @property
    def variant(self) -> str:
        return self.link

    def fetch(self) -> None:
        self._download_all(
            {f: f"{self.url}/movie.{f.split('.')[-1]}" for f in self.raw_file_names[:4]},
            self.raw_dir)
        download_url(self.fb15k_names_url, self.raw_dir, filename='fb15k-mid2name.txt')
        path = download_url(self.ml1m_url, self.raw_dir)
        extract_zip(path, self.raw_dir)
        shutil.move(osp.join(self.raw_dir, 'ml-1m', 'movies.dat'),
                    self.raw('ml-1m-movies.dat'))
        shutil.rmtree(osp.join(self.raw_dir, 'ml-1m'))
        os.unlink(path)

    def process_raw(self) -> HeteroData:
        return load_movielens_100k(*(self.raw(f) for f in self.raw_file_names),
                                   link=self.link)


def item_text(title: str, year: str, genres: str) -> str:
    r"""``"Toy Story (1995). Genres: Animation, Children's, Comedy"``."""
    text = title.strip()
    if year.strip():
        text += f' ({year.strip()})'
    g = genres.split()
    return text + '.' + (f" Genres: {', '.join(g)}" if g else '')


def read_ml1m_movies(path: str) -> Table:
    r"""Read MovieLens-1M ``movies.dat`` (``MovieID::Title (Year)::Genres``,
    ISO-8859-1). Returns a table with the columns ``movie_id`` (int), ``title`` and
    ``year`` (str); a title without a ``(year)`` is an error naming the line."""
    t = read_table(path, ['int', 'str', 'str'], sep='::', encoding='iso-8859-1',
                   names=['movie_id', 'title_year', 'genres'])
    titles, years = [], []
    for k, ty in enumerate(t['title_year'].tolist()):
        m = _TITLE_YEAR.match(ty)
        if m is None:
            raise t.error(k, f'expected "Title (Year)", found {ty!r}')
        titles.append(m.group(1))
        years.append(m.group(2))
    return Table(path, [t['movie_id'], np.array(titles, dtype=object),
                        np.array(years, dtype=object)], t.lines,
                 ['movie_id', 'title', 'year'])


def read_fb15k_names(path: str) -> Dict[str, str]:
    r"""Read ``FB15k_mid2name.txt`` (``/m/xxx<TAB>Name_With_Underscores``) into
    ``{'m.xxx': 'Name With Underscores'}`` (the MID spelling of ``ml-100k.kg``)."""
    t = read_table(path, ['str', 'str'], sep='\t', names=['mid', 'name'])
    out: Dict[str, str] = {}
    for k, (mid, name) in enumerate(zip(t['mid'].tolist(), t['name'].tolist())):
        if not mid.startswith('/m/'):
            raise t.error(k, f"expected a Freebase MID '/m/...', found {mid!r}")
        out.setdefault('m.' + mid[3:], name.replace('_', ' ').strip())
    return out


def relink_by_title(link: Table, movies: Table, titles: Sequence[str],
                    years: Sequence[str], genres: Sequence[str]) -> Tuple[np.ndarray, Dict]:
    r"""The ML-100K item (position in :obj:`titles`) of every row of
    :obj:`link`, whose ids are MovieLens-1M movie ids (see :class:`MovieLens100KKG`).

    Returns:
        ``(item, counts)``: ``item[k]`` is the item of link row ``k`` or ``-1``;
        ``counts`` holds ``rows``, ``exact``, ``normalised`` (rows linked by each rule),
        ``duplicates`` (linked rows whose film ML-100K lists more than once; the
        lowest item id is linked), ``ambiguous`` (rows left unlinked because they reach
        different films or an item claimed by another row), ``unlinked`` (all rows
        left unlinked) and ``items`` (linked items).
    """
    pos = {int(m): k for k, m in enumerate(movies['movie_id'].tolist())}
    queries = []
    for k, mid in enumerate(link['item_id'].tolist()):
        if int(mid) not in pos:
            raise link.error(k, f'item {mid} is not listed in '
                             f'{osp.basename(movies.path)} (the ids of ml-100k.link are '
                             "MovieLens-1M movie ids; use link='recbole-ml1m-ids' to read "
                             'them as ML-100K ids)')
        j = pos[int(mid)]
        queries.append((movies['title'][j], movies['year'][j]))
    catalogue = []
    for t, y in zip(titles, years):
        m = _TITLE_YEAR.match(t)
        if not re.fullmatch(r'\d{4}', y.strip()) and m is not None:
            t, y = m.group(1), m.group(2)  # 'Land Before Time III: ... (1995)', year 'V'
        catalogue.append((t, y))
    matches = match_titles(queries, catalogue)
    item = np.full(len(queries), -1, dtype=np.int64)
    kind = [''] * len(queries)
    multi = np.zeros(len(queries), dtype=bool)
    counts = dict(rows=len(queries), exact=0, normalised=0, duplicates=0, ambiguous=0)
    for k, (how, entries) in enumerate(matches):
        if how in ('exact', 'normalised'):
            if len({genres[e] for e in entries}) > 1:  # same title + year, other film
                how = 'ambiguous'
            else:  # one film (ML-100K lists some twice): link the lowest id
                item[k], kind[k], multi[k] = min(entries), how, len(entries) > 1
        if how == 'ambiguous':
            counts['ambiguous'] += 1
    # An item claimed by several rows: an exact match wins over normalised ones; two
    # rows of the same kind leave the item unlinked (counted as ambiguous).
    for e in np.unique(item[item >= 0]).tolist():
        rows = np.flatnonzero(item == e).tolist()
        if len(rows) == 1:
            continue
        exact = [r for r in rows if kind[r] == 'exact']
        keep = exact if exact else rows
        for r in rows:
            if len(keep) != 1 or r != keep[0]:
                item[r] = -1
                counts['ambiguous'] += 1
    counts['exact'] = sum(1 for k in range(len(item)) if item[k] >= 0 and kind[k] == 'exact')
    counts['normalised'] = int((item >= 0).sum()) - counts['exact']
    counts['duplicates'] = int((multi & (item >= 0)).sum())
    counts['unlinked'] = int((item < 0).sum())
    counts['items'] = int((item >= 0).sum())
    return item, counts


def load_movielens_100k(inter_path: str, item_path: str, link_path: str, kg_path: str,
                        movies_path: str, names_path: str,
                        link: str = 'title-year') -> HeteroData:
    r"""Process the RecBole ML-100K files (see :class:`MovieLens100KKG`)."""
    if link not in LINKS:
        raise ValueError(f'unknown link {link!r}; choose one of {list(LINKS)}')
    it = read_atomic(item_path, {'item_id': 'int', 'movie_title': 'str',
                                 'release_year': 'str', 'class': 'str'})
    ik = first_unique(it['item_id'])
    order = ik[np.argsort(it['item_id'][ik], kind='stable')]
    item_orig = it['item_id'][order]
    num_items = item_orig.size
    titles = [t.strip() for t in it['movie_title'][order].tolist()]
    years = it['release_year'][order].tolist()
    genres = it['class'][order].tolist()

    def item_index(table, col):
        pos = np.searchsorted(item_orig, table[col])
        pos = np.minimum(pos, max(num_items - 1, 0))
        bad = np.flatnonzero(item_orig[pos] != table[col]) if num_items else np.arange(
            len(table))
        if bad.size:
            b = int(bad[0])
            raise table.error(b, f'item {table[col][b]} is not listed in '
                              f'{item_path.split("/")[-1]}')
        return pos

    inter = read_atomic(inter_path, {'user_id': 'int', 'item_id': 'int', 'rating': 'float',
                                     'timestamp': 'float'})
    inter.check_finite('rating', 'rating')
    inter.check_finite('timestamp', 'timestamp')
    check_non_negative(inter, 'user_id', 'item_id')
    items = item_index(inter, 'item_id')
    keep = first_unique(inter['user_id'], items)
    report_duplicates(inter, keep, 'rating', 'user_id', 'item_id')
    user_orig, user_idx = np.unique(inter['user_id'][keep], return_inverse=True)

    lt = read_atomic(link_path, {'item_id': 'int', 'entity_id': 'str'})
    lk = first_unique(lt['item_id'])
    mids = lt['entity_id'][lk].astype(str)
    mk = first_unique(mids)
    if mk.size != lk.size:
        d = int(np.setdiff1d(np.arange(lk.size), mk)[0])
        f = int(np.flatnonzero(mids == mids[d])[0])
        raise lt.error(int(lk[d]), f'entity {mids[d]} is already linked to item '
                       f'{lt["item_id"][lk[f]]} on line {lt.line_of(int(lk[f]))}')
    rows = Table(lt.path, [lt['item_id'][lk], mids], lt.lines[lk], ['item_id', 'entity_id'])
    if link == RECBOLE_LINK:
        link_items = item_index(rows, 'item_id')
    else:
        link_items, _ = relink_by_title(rows, read_ml1m_movies(movies_path), titles, years,
                                        genres)
    ok = link_items >= 0
    entity_of_mid = dict(zip(mids[ok].tolist(), link_items[ok].tolist()))

    kg = read_atomic(kg_path, {'head_id': 'str', 'relation_id': 'str', 'tail_id': 'str'})
    heads, rels, tails = (kg[c].astype(str) for c in ('head_id', 'relation_id', 'tail_id'))
    tk = first_unique(heads, rels, tails)
    report_duplicates(kg, tk)
    heads, rels, tails = heads[tk], rels[tk], tails[tk]
    both = np.stack([heads, tails], axis=1).reshape(-1)  # appearance order: h, t, h, ...
    codes, uniq = factorize(both, order='appearance')
    new_of_code = np.empty(uniq.size, dtype=np.int64)
    is_item = np.array([u in entity_of_mid for u in uniq.tolist()], dtype=bool)
    new_of_code[is_item] = [entity_of_mid[u] for u in uniq[is_item].tolist()]
    new_of_code[~is_item] = num_items + np.arange(int((~is_item).sum()))
    ent = new_of_code[codes].reshape(-1, 2)
    rel_idx, rel_names = factorize(rels, order='appearance')

    entity_ids = [''] * (num_items + int((~is_item).sum()))
    for mid, e in entity_of_mid.items():
        entity_ids[e] = mid
    for k, mid in enumerate(uniq[~is_item].tolist()):
        entity_ids[num_items + k] = mid
    for e in range(num_items):
        if not entity_ids[e]:
            entity_ids[e] = f'item:{item_orig[e]}'  # unlinked item (no MID)

    fb15k = read_fb15k_names(names_path)
    entity_names: List[Optional[str]] = list(titles) + [
        fb15k.get(m) for m in entity_ids[num_items:]]
    texts = [item_text(t, y, g) for t, y, g in zip(titles, years, genres)]
    data = make_kgrec_data(
        num_users=user_orig.size, num_items=num_items, num_entities=len(entity_ids),
        kg_edge_index=ent.T, kg_edge_type=rel_idx, relation_names=list(rel_names),
        interactions=np.stack([user_idx, items[keep]]),
        interaction_attrs={'rating': inter['rating'][keep],
                           'time': inter['timestamp'][keep].astype(np.int64)},
        item_text=texts, item_genres=[g.split() for g in genres],
        user_ids=[str(u) for u in user_orig.tolist()],
        item_ids=[str(i) for i in item_orig.tolist()], entity_ids=entity_ids,
        entity_names=entity_names)
    # release years ('' when missing): the title sentence of semantic contrastive
    # learning reads "A movie title is <title> (<year>)."
    data.item_years = [str(y).strip() for y in years]
    return data
