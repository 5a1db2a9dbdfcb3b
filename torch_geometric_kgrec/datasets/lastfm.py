import os
import os.path as osp
import shutil
from typing import List, Sequence, Tuple

import numpy as np
from torch_geometric.data import HeteroData, download_url, extract_zip

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.formats import load_mkr_format
from torch_geometric_kgrec.datasets.io import first_unique, read_table
from torch_geometric_kgrec.datasets.schema import validate_kgrec_data

MAX_TAGS = 10
HETREC_FILES = ['artists.dat', 'tags.dat', 'user_taggedartists.dat']


class LastFMKG(KGRecDataset):
    r"""The Last.FM music dataset with its Microsoft Satori knowledge graph, as used by
    `"Multi-Task Feature Learning for Knowledge Graph Enhanced Recommendation"
    <https://arxiv.org/abs/1901.08907>`_ (MKR, WWW 2019) and
    `"Knowledge Graph Convolutional Networks for Recommender Systems"
    <https://arxiv.org/abs/1904.12575>`_ (KGCN, WWW 2019).

    Raw files (``hwwang55/MKR``, ``data/music/``): ``user_artists.dat`` (HetRec 2011
    listening counts, one header line), ``item_index2entity_id.txt`` (the 3,846 kept
    artists) and ``kg.txt`` (``head<TAB>relation<TAB>tail``). Processing follows MKR's
    ``preprocess.py`` (threshold 0): every listened (user, artist) pair of a kept artist
    is a positive; the listening count is kept as :obj:`rating`. Negatives are *not*
    stored: MKR/KGCN sample one never-listened artist per positive, which
    :func:`torch_geometric_kgrec.protocols.ctr_split` does (seeded).

    Item text from the HetRec 2011 release (``hetrec2011-lastfm-2k.zip``):
    ``artists.dat`` (names, UTF-8), ``tags.dat`` (tag values, ISO-8859-1, CRLF) and
    ``user_taggedartists.dat`` (user tag assignments). :obj:`data.item_genres` holds
    each artist's most-used tags: at most :obj:`MAX_TAGS` = 10, by number of
    assignments (ties: lower tag id first); 3,083 of the 3,846 artists have at least one.
    :obj:`data.item_text` is ``"<name>. Tags: <t1>, <t2>, ..."`` (e.g. ``"Daft Punk.
    Tags: electronic, house, french, dance, ..."``; ``"<name>."`` without tags) and
    :obj:`data.entity_names` the artist names for the item entities (:obj:`None` for
    the other, unnamed Satori entities). See ``datasets/lastfm.md`` for details.

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default: ``$KGREC_DATA/lastfm``
            when present, else download).
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS:**

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 1,872
        * - Items (artists)
          - 3,846
        * - Positives (user, artist)
          - 21,173
        * - Entities (items included)
          - 9,366
        * - Relations
          - 60
        * - Triples
          - 15,518
    """
    name = 'lastfm'
    subdir = 'lastfm'
    url = 'https://raw.githubusercontent.com/hwwang55/MKR/HEAD/data/music'
    hetrec_url = ('https://files.grouplens.org/datasets/hetrec2011/'
                  'hetrec2011-lastfm-2k.zip')

    @property
    def raw_file_names(self):
        return ['user_artists.dat', 'item_index2entity_id.txt', 'kg.txt'] + HETREC_FILES

    def fetch(self) -> None:
        self._download_all({f: f'{self.url}/{f}' for f in self.raw_file_names[:3]},
                           self.raw_dir)
        path = download_url(self.hetrec_url, self.raw_dir)
        tmp = osp.join(self.raw_dir, 'hetrec2011')
        extract_zip(path, tmp)
        for root, _, files in os.walk(tmp):  # the files may sit in a sub-folder
            for f in set(files) & set(HETREC_FILES):
                shutil.move(osp.join(root, f), self.raw(f))
        shutil.rmtree(tmp)
        os.unlink(path)

    def process_raw(self) -> HeteroData:
        data = load_mkr_format(
            self.raw('user_artists.dat'), self.raw('item_index2entity_id.txt'),
            self.raw('kg.txt'), rating_sep='\t',
            rating_header=['userID', 'artistID', 'weight'], threshold=0.0)
        names, tags = read_hetrec_artists(data.item_ids, *(self.raw(f) for f in HETREC_FILES))
        data.item_text = [artist_text(n, t) for n, t in zip(names, tags)]
        data.item_genres = tags
        data.entity_names = list(names) + [None] * (data['entity'].num_nodes - len(names))
        validate_kgrec_data(data)
        return data


def artist_text(name: str, tags: Sequence[str]) -> str:
    r"""``"Daft Punk. Tags: electronic, house, french"`` (``"Daft Punk."`` without
    tags; no second full stop after a name that ends in one, e.g. ``"R.E.M."``)."""
    text = name if name[-1:] in ('.', '!', '?') else name + '.'
    return text + (f" Tags: {', '.join(tags)}" if tags else '')


def read_hetrec_artists(artist_ids: Sequence[str], artists_path: str, tags_path: str,
                        tagged_path: str,
                        max_tags: int = MAX_TAGS) -> Tuple[List[str], List[List[str]]]:
    r"""The name and the most-used tags of every artist of :obj:`artist_ids`, from the
    HetRec 2011 Last.FM files (see :class:`LastFMKG`).

    Tags are ranked by the number of (user, tag) assignments to the artist, ties by
    tag id; the first :obj:`max_tags` are kept. A kept artist without a name, or an
    assignment naming a tag that ``tags.dat`` lacks, is an error naming file and line;
    repeated ids in ``artists.dat`` / ``tags.dat`` keep their first row.
    """
    art = read_table(artists_path, ['int', 'str', 'str', 'str'], sep='\t',
                     header=['id', 'name', 'url', 'pictureURL'])
    tag = read_table(tags_path, ['int', 'str'], sep='\t', header=['tagID', 'tagValue'],
                     encoding='iso-8859-1')
    ut = read_table(tagged_path, ['int'] * 6, sep='\t',
                    header=['userID', 'artistID', 'tagID', 'day', 'month', 'year'])
    ids = np.array([int(a) for a in artist_ids], dtype=np.int64)
    ak = first_unique(art['id'])
    name_of = dict(zip(art['id'][ak].tolist(), art['name'][ak].tolist()))
    missing = [a for a in ids.tolist() if not name_of.get(a)]
    if missing:
        raise ValueError(f'{artists_path}: artist {missing[0]} (of item_index2entity_id.txt) '
                         f'has no name ({len(missing)} kept artists lack one)')
    names = [name_of[a] for a in ids.tolist()]

    tk = first_unique(tag['tagID'])
    tag_ids = tag['tagID'][tk]
    t_order = np.argsort(tag_ids, kind='stable')
    sorted_tags = tag_ids[t_order]
    t_pos = np.minimum(np.searchsorted(sorted_tags, ut['tagID']), len(sorted_tags) - 1)
    bad = np.flatnonzero(sorted_tags[t_pos] != ut['tagID'])
    if bad.size:
        b = int(bad[0])
        raise ut.error(b, f"tag {ut['tagID'][b]} is not listed in {osp.basename(tags_path)}")
    values = tag['tagValue'][tk][t_order]

    a_order = np.argsort(ids, kind='stable')
    a_pos = np.minimum(np.searchsorted(ids[a_order], ut['artistID']), len(ids) - 1)
    kept = ids[a_order][a_pos] == ut['artistID']
    item = a_order[a_pos[kept]]  # item index of every assignment to a kept artist
    tpos = t_pos[kept]
    key = item * len(sorted_tags) + tpos
    uk, count = np.unique(key, return_counts=True)
    it, tp = uk // len(sorted_tags), uk % len(sorted_tags)
    order = np.lexsort((sorted_tags[tp], -count, it))  # by item, count desc, tag id
    it, tp = it[order], tp[order]
    start = np.searchsorted(it, it, side='left')
    top = (np.arange(it.size) - start) < max_tags
    tags: List[List[str]] = [[] for _ in range(len(ids))]
    for i, t in zip(it[top].tolist(), tp[top].tolist()):
        v = values[t].strip()
        if v:
            tags[i].append(v)
    return names, tags
