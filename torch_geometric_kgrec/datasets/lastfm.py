from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.formats import load_mkr_format


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
    :func:`torch_geometric_kgrec.protocols.ctr_split` does (seeded). See
    ``datasets/lastfm.md`` for details.

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

    @property
    def raw_file_names(self):
        return ['user_artists.dat', 'item_index2entity_id.txt', 'kg.txt']

    def process_raw(self) -> HeteroData:
        return load_mkr_format(
            self.raw('user_artists.dat'), self.raw('item_index2entity_id.txt'),
            self.raw('kg.txt'), rating_sep='\t',
            rating_header=['userID', 'artistID', 'weight'], threshold=0.0)
