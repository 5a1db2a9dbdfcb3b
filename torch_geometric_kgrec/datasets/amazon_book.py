import os
import os.path as osp

from torch_geometric.data import HeteroData, download_url, extract_zip

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.formats import load_kgat_format


class AmazonBookKG(KGRecDataset):
    r"""The Amazon-Book dataset with its Freebase knowledge graph, as released with
    `"KGAT: Knowledge Graph Attention Network for Recommendation"
    <https://arxiv.org/abs/1905.07854>`_ (KDD 2019) and reused by KGIN and KMPN.

    Raw files (``xiangwang1223/knowledge_graph_attention_network``,
    ``Data/amazon-book/``): ``train.txt`` / ``test.txt`` (``user item item ...`` per
    line, the published split), ``kg_final.txt`` (``head relation tail``; zipped in the
    repository) and, optionally, ``user_list.txt``, ``item_list.txt``,
    ``entity_list.txt``, ``relation_list.txt`` (original ids and relation names). The
    published split is kept: interactions carry boolean :obj:`train_mask` /
    :obj:`test_mask`. Entities are the items plus every entity that occurs in a triple
    (re-indexed; :obj:`data.entity_ids` holds the original ids). See
    ``datasets/amazon-book.md`` (the paper's 847,733 interactions differ from the
    files' 652,514 + 193,920 = 846,434 reported by KGAT's own loader).

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default:
            ``$KGREC_DATA/amazon-book`` when present, else download).
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS** (published by KGAT/KGIN; not verified offline):

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 70,679
        * - Items
          - 24,915
        * - Interactions
          - 847,733 (paper); 846,434 in the files (KGAT log)
        * - Entities (items included)
          - 88,572
        * - Relations
          - 39
        * - Triples
          - 2,557,746
    """
    name = 'amazon-book'
    subdir = 'amazon-book'
    url = ('https://raw.githubusercontent.com/xiangwang1223/'
           'knowledge_graph_attention_network/HEAD/Data/amazon-book')
    optional_files = ['user_list.txt', 'item_list.txt', 'entity_list.txt',
                      'relation_list.txt']

    @property
    def raw_file_names(self):
        return ['train.txt', 'test.txt', 'kg_final.txt']

    def fetch(self) -> None:
        for f in ['train.txt', 'test.txt'] + self.optional_files:
            download_url(f'{self.url}/{f}', self.raw_dir)
        path = download_url(f'{self.url}/kg_final.txt.zip', self.raw_dir)
        extract_zip(path, self.raw_dir)
        os.unlink(path)

    def process_raw(self) -> HeteroData:
        opt = {f.split('.')[0]: self.raw(f) if osp.isfile(self.raw(f)) else None
               for f in self.optional_files}
        return load_kgat_format(self.raw('train.txt'), self.raw('test.txt'),
                                self.raw('kg_final.txt'), **opt)
