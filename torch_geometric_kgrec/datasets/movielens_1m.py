import os
import os.path as osp
import shutil

from torch_geometric.data import HeteroData, download_url, extract_zip

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.formats import load_mkr_format


class MovieLens1MKG(KGRecDataset):
    r"""MovieLens-1M with its Microsoft Satori knowledge graph, as used by
    `"Multi-Task Feature Learning for Knowledge Graph Enhanced Recommendation"
    <https://arxiv.org/abs/1901.08907>`_ (MKR, WWW 2019).

    Raw files: ``ratings.dat`` (``user::movie::rating::time``, from GroupLens'
    ``ml-1m.zip``) and ``item_index2entity_id.txt`` / ``kg.txt`` (``hwwang55/MKR``,
    ``data/movie/``). Processing follows MKR's ``preprocess.py`` (threshold 4): ratings
    ``>= 4`` of a linked movie are the positives (with :obj:`rating` and :obj:`time`);
    lower ratings are dropped, negatives are sampled by the protocols; a ``kg.txt``
    triple whose head is not yet known is skipped, as in MKR. See
    ``datasets/movielens-1m.md``.

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default:
            ``$KGREC_DATA/movielens-1m`` when present, else download).
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS** (published by MKR; not verified offline):

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 6,036
        * - Items
          - 2,347
        * - Positives
          - 376,886 (MKR's 753,772 labelled pairs / 2)
        * - Triples
          - 20,195
    """
    name = 'movielens-1m'
    subdir = 'movielens-1m'
    ratings_url = 'https://files.grouplens.org/datasets/movielens/ml-1m.zip'
    kg_url = 'https://raw.githubusercontent.com/hwwang55/MKR/HEAD/data/movie'

    @property
    def raw_file_names(self):
        return ['ratings.dat', 'item_index2entity_id.txt', 'kg.txt']

    def fetch(self) -> None:
        for f in ('item_index2entity_id.txt', 'kg.txt'):
            download_url(f'{self.kg_url}/{f}', self.raw_dir)
        path = download_url(self.ratings_url, self.raw_dir)
        extract_zip(path, self.raw_dir)
        shutil.move(osp.join(self.raw_dir, 'ml-1m', 'ratings.dat'), self.raw('ratings.dat'))
        shutil.rmtree(osp.join(self.raw_dir, 'ml-1m'))
        os.unlink(path)

    def process_raw(self) -> HeteroData:
        return load_mkr_format(
            self.raw('ratings.dat'), self.raw('item_index2entity_id.txt'),
            self.raw('kg.txt'), rating_sep='::', rating_header=0, with_time=True,
            threshold=4.0)
