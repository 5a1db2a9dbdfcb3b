import os.path as osp

import numpy as np
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.io import first_unique, read_table
from torch_geometric_kgrec.datasets.report import DropReport
from torch_geometric_kgrec.datasets.schema import make_kgrec_data


class BookCrossingKG(KGRecDataset):
    r"""The Book-Crossing dataset with its Microsoft Satori knowledge graph, in the
    RippleNet/KGCN preprocessing distributed by ``Hank-Kuo/CKAN`` (``data/book/``) and
    used by `"Knowledge Graph Convolutional Networks for Recommender Systems"
    <https://arxiv.org/abs/1904.12575>`_ (KGCN) and by KG-based semantic contrastive
    learning (LREC-COLING 2024).

    Raw files (CRLF line endings): ``ratings_final.txt`` (``user<TAB>item<TAB>label``,
    positives and as many sampled negatives), ``kg_final.txt``
    (``head<TAB>relation<TAB>tail`` integer ids) and
    ``item_index2entity_id_rehashed.txt`` (``ISBN<TAB>entity``, item ``k`` is line ``k``).
    The CKAN copies number users, items, entities and relations from **1** (RippleNet's
    originals from 0; both are accepted: ids are 1-based unless an id 0 occurs). All are
    re-indexed from 0; entities are the items plus every id that occurs in a triple, so
    the unused id 0 of the 1-based files is not an entity (77,902 entities; "max id + 1"
    gives the 77,903 often quoted). Label-1 rows are the positives, label-0 rows the
    file's sampled negatives (``data['user', 'negative', 'entity']``). See
    ``datasets/book-crossing.md``.

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default:
            ``$KGREC_DATA/book-crossing`` when present, else download).
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS:**

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 17,860
        * - Items (books)
          - 14,967
        * - Positives
          - 69,873
        * - Labelled negatives
          - 69,873
        * - Entities (items included)
          - 77,902
        * - Relations
          - 25
        * - Triples
          - 151,500
    """
    name = 'book-crossing'
    subdir = 'book-crossing'
    url = 'https://raw.githubusercontent.com/Hank-Kuo/CKAN/HEAD/data/book'

    @property
    def raw_file_names(self):
        return ['ratings_final.txt', 'kg_final.txt', 'item_index2entity_id_rehashed.txt']

    def process_raw(self) -> HeteroData:
        return load_book_crossing(self.raw('ratings_final.txt'), self.raw('kg_final.txt'),
                                  self.raw('item_index2entity_id_rehashed.txt'))


def load_book_crossing(ratings_path: str, kg_path: str, item_map_path: str) -> HeteroData:
    r"""Process the RippleNet/KGCN Book-Crossing files (see :class:`BookCrossingKG`)."""
    m = read_table(item_map_path, ['str', 'int'], names=['isbn', 'entity'])
    num_items = len(m)
    m.check_range('entity', 0, num_items, 'entity index')
    first = first_unique(m['entity'])
    if first.size != num_items:
        r = int(np.setdiff1d(np.arange(num_items), first)[0])
        raise m.error(r, f"entity index {m['entity'][r]} is listed twice")
    isbn = np.empty(num_items, dtype=object)
    isbn[m['entity']] = m['isbn']

    r = read_table(ratings_path, ['int', 'int', 'int'], names=['user', 'item', 'label'])
    kg = read_table(kg_path, ['int', 'int', 'int'], names=['head', 'relation', 'tail'])
    # negative ids: errors through the range checks below (the one policy of report.py)
    has_zero = any(int(a.min()) == 0 for a in (r['item'], kg['head'], kg['tail'])
                   if a.size)
    base = 0 if has_zero else 1
    if has_zero and r['item'].size and int(r['item'].max()) == num_items:
        # ids 0 .. num_items: one too many for either base. The files are 1-based when
        # the largest item id is num_items, so the offending line is the one with a 0.
        big = r.line_of(int(np.argmax(r['item'])))
        for tbl, col in ((r, 'item'), (kg, 'head'), (kg, 'tail')):
            zero = np.flatnonzero(tbl[col] == 0)
            if zero.size:
                raise tbl.error(int(zero[0]), f'{col} id 0, but the item ids run up to '
                                f'{num_items} = the number of items (line {big} of '
                                f'{osp.basename(ratings_path)}): the ids are 1-based, so 0 '
                                'is out of range')
    r.check_range('user', 0, 2**62, 'user id')
    r.check_range('item', base, num_items + base, 'item id')
    r.check_range('label', 0, 2, 'label (0 or 1)')
    kg.check_range('head', base, 2**62, 'head entity id')
    kg.check_range('tail', base, 2**62, 'tail entity id')
    kg.check_range('relation', 0, 2**62, 'relation id')

    user, item, label = r['user'], r['item'] - base, r['label']
    keep = first_unique(user, item)
    report = DropReport(ratings_path)
    report.add_rows(r, np.setdiff1d(np.arange(len(r)), keep),
                    'exact duplicate (user, item, label) rows dropped (first kept)')
    if keep.size != len(r):  # duplicates: identical rows are dropped, conflicts raise
        key = user * num_items + item
        dropped = np.setdiff1d(np.arange(len(r)), keep)
        first_row = dict(zip(key[keep].tolist(), keep.tolist()))
        for d in dropped.tolist():
            f = first_row[int(key[d])]
            if label[f] != label[d]:
                raise r.error(d, f'(user {user[d]}, item {r["item"][d]}) has label '
                              f'{label[d]} but label {label[f]} on line {r.line_of(f)}')
    user, item, label = user[keep], item[keep], label[keep]
    user_orig, user_idx = np.unique(user, return_inverse=True)

    h, rel, t = kg['head'] - base, kg['relation'], kg['tail'] - base
    tk = first_unique(h, rel, t)
    kg_report = DropReport(kg_path)
    kg_report.add_rows(kg, np.setdiff1d(np.arange(len(kg)), tk),
                       'duplicate triples dropped (first kept)')
    h, rel, t = h[tk], rel[tk], t[tk]
    report.warn()
    kg_report.warn()
    ent_orig = np.union1d(np.arange(num_items), np.concatenate([h, t]))
    h, t = np.searchsorted(ent_orig, h), np.searchsorted(ent_orig, t)
    rel_orig, rel_idx = np.unique(rel, return_inverse=True)

    pos, neg = label == 1, label == 0
    return make_kgrec_data(
        num_users=user_orig.size, num_items=num_items, num_entities=ent_orig.size,
        kg_edge_index=np.stack([h, t]), kg_edge_type=rel_idx,
        relation_names=[str(x) for x in rel_orig.tolist()],
        interactions=np.stack([user_idx[pos], item[pos]]),
        negatives=np.stack([user_idx[neg], item[neg]]),
        user_ids=[str(x) for x in user_orig.tolist()],
        item_ids=[str(x) for x in isbn.tolist()],
        entity_ids=[str(x + base) for x in ent_orig.tolist()])
