import numpy as np
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.io import factorize, first_unique, read_atomic
from torch_geometric_kgrec.datasets.schema import make_kgrec_data


class MovieLens100KKG(KGRecDataset):
    r"""MovieLens-100K linked to Freebase (KB4Rec), in the RecBole atomic-file format
    distributed by ``Hank-Kuo/CKAN`` (``data/movie/movie.*``, saved here as
    ``ml-100k.*``).

    Raw files (tab separated, a ``name:type`` header line each): ``ml-100k.inter``
    (user, item, rating, timestamp), ``ml-100k.item`` (item, title, release year,
    space-separated genres), ``ml-100k.link`` (item -> Freebase MID) and ``ml-100k.kg``
    (head MID, relation name, tail MID; inverse relations are already in the file).
    Columns are selected by their header names. All 100,000 ratings are positives (with
    :obj:`rating` and :obj:`time`); items are the 1,682 movies of ``ml-100k.item``
    (ordered by id), of which 1,598 are linked to a MID; unlinked items stay isolated
    entities. :obj:`data.item_text` is ``"<title> (<year>). Genres: <g1>, <g2>"``;
    :obj:`data.item_titles`, :obj:`data.item_years` (:obj:`''` when missing) and
    :obj:`data.item_genres` (a list of genres per item) hold the same metadata. See
    ``datasets/movielens-100k.md``.

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default:
            ``$KGREC_DATA/movielens-100k`` when present, else download).
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS:**

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 943
        * - Items (movies)
          - 1,682 (1,598 linked)
        * - Ratings (positives)
          - 100,000
        * - Entities (items included)
          - 34,712
        * - Relations
          - 24
        * - Triples
          - 91,631
    """
    name = 'movielens-100k'
    subdir = 'movielens-100k'
    url = 'https://raw.githubusercontent.com/Hank-Kuo/CKAN/HEAD/data/movie'

    @property
    def raw_file_names(self):
        return ['ml-100k.inter', 'ml-100k.item', 'ml-100k.link', 'ml-100k.kg']

    def fetch(self) -> None:
        self._download_all(
            {f: f"{self.url}/movie.{f.split('.')[-1]}" for f in self.raw_file_names},
            self.raw_dir)

    def process_raw(self) -> HeteroData:
        return load_movielens_100k(*(self.raw(f) for f in self.raw_file_names))


def item_text(title: str, year: str, genres: str) -> str:
    r"""``"Toy Story (1995). Genres: Animation, Children's, Comedy"``."""
    text = title.strip()
    if year.strip():
        text += f' ({year.strip()})'
    g = genres.split()
    return text + '.' + (f" Genres: {', '.join(g)}" if g else '')


def load_movielens_100k(inter_path: str, item_path: str, link_path: str,
                        kg_path: str) -> HeteroData:
    r"""Process the RecBole ML-100K files (see :class:`MovieLens100KKG`)."""
    it = read_atomic(item_path, {'item_id': 'int', 'movie_title': 'str',
                                 'release_year': 'str', 'class': 'str'})
    ik = first_unique(it['item_id'])
    order = ik[np.argsort(it['item_id'][ik], kind='stable')]
    item_orig = it['item_id'][order]
    num_items = item_orig.size

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
    items = item_index(inter, 'item_id')
    keep = first_unique(inter['user_id'], items)
    user_orig, user_idx = np.unique(inter['user_id'][keep], return_inverse=True)

    link = read_atomic(link_path, {'item_id': 'int', 'entity_id': 'str'})
    link_items = item_index(link, 'item_id')
    lk = first_unique(link_items)
    mids = link['entity_id'][lk].astype(str)
    mk = first_unique(mids)
    if mk.size != lk.size:
        d = int(np.setdiff1d(np.arange(lk.size), mk)[0])
        f = int(np.flatnonzero(mids == mids[d])[0])
        raise link.error(int(lk[d]), f'entity {mids[d]} is already linked to item '
                         f'{link["item_id"][lk[f]]} on line {link.line_of(int(lk[f]))}')
    entity_of_mid = dict(zip(mids.tolist(), link_items[lk].tolist()))

    kg = read_atomic(kg_path, {'head_id': 'str', 'relation_id': 'str', 'tail_id': 'str'})
    heads, rels, tails = (kg[c].astype(str) for c in ('head_id', 'relation_id', 'tail_id'))
    tk = first_unique(heads, rels, tails)
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

    titles = it['movie_title'][order].tolist()
    years = it['release_year'][order].tolist()
    genres = it['class'][order].tolist()
    texts = [item_text(t, y, g) for t, y, g in zip(titles, years, genres)]
    data = make_kgrec_data(
        num_users=user_orig.size, num_items=num_items, num_entities=len(entity_ids),
        kg_edge_index=ent.T, kg_edge_type=rel_idx, relation_names=list(rel_names),
        interactions=np.stack([user_idx, items[keep]]),
        interaction_attrs={'rating': inter['rating'][keep],
                           'time': inter['timestamp'][keep].astype(np.int64)},
        item_text=texts, user_ids=[str(u) for u in user_orig.tolist()],
        item_ids=[str(i) for i in item_orig.tolist()], entity_ids=entity_ids)
    # Structured item metadata (semantic contrastive learning builds its sentences
    # from these): titles, release years ('' when missing) and genre lists.
    data.item_titles = [str(t).strip() for t in titles]
    data.item_years = [str(y).strip() for y in years]
    data.item_genres = [str(g).split() for g in genres]
    return data
