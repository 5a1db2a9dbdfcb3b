r"""The Amazon "Arts, Crafts & Sewing" / "Office Products" cross-domain dataset
(MeKB-Rec-style cross-domain recommendation with shared users and item text)."""
import json
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.io import DataFormatError, read_lines
from torch_geometric_kgrec.datasets.schema import make_kgrec_data

__all__ = ['AmazonArtOfficeCDR', 'parse_attribute_paths']

DOMAINS = ('art', 'office')
ROOTS = {'art': ('arts', 'crafts', 'sewing'), 'office': ('office', 'products')}
ITEM_FILES = {'art': 'item_listA_F.csv', 'office': 'item_listO_AA_F.csv'}
SEQ_FILES = ['train_F2.txt', 'valid_F2.txt', 'test_F2.txt']
ITEM_HEADER = ['idBefore', 'item_title', 'idAfter', 'item_attribute']


def parse_attribute_paths(
    attributes: Sequence[Sequence[str]],
    root_len: Sequence[int],
    min_branching: int = 3,
) -> Tuple[List[List[Tuple[str, ...]]], List[Tuple[str, ...]]]:
    r"""Split token sequences "category path + brand" whose level boundaries were lost
    (``"arts crafts sewing sewing quilting rotary cutters omnigrid"``) into category
    levels and a brand, with a token trie over all items of one domain.

    * The **root** category is the first :obj:`root_len[i]` tokens (the domain name).
    * The **category path** of an item is its longest proper prefix :math:`P` (at least
      the root) that is followed, over all items, by at least :obj:`min_branching`
      distinct next tokens (end of string counts as one): category nodes fan out to
      many brands and sub-categories, tokens inside a brand name rarely do.
      The remaining tokens are the **brand** (empty when nothing remains).
    * **Levels** inside the path: a boundary after every prefix that is followed by at
      least two distinct next tokens (a compressed trie), so ``"rotary cutters"`` is one
      level when no other ``"rotary ..."`` category exists.

    Returns:
        :obj:`(paths, brands)`: per item the list of category-path prefixes (tuples of
        tokens, one per level, root first) and the brand token tuple.
    """
    nxt: Dict[Tuple[str, ...], set] = defaultdict(set)
    for toks in attributes:
        toks = tuple(toks)
        for p in range(len(toks)):
            nxt[toks[:p]].add(toks[p])
        nxt[toks].add(None)
    paths, brands = [], []
    for toks, r in zip(attributes, root_len):
        toks = tuple(toks)
        cut = r
        for p in range(len(toks) - 1, r, -1):
            if len(nxt[toks[:p]]) >= min_branching:
                cut = p
                break
        cut = min(cut, len(toks))
        levels = [toks[:r]] if r > 0 else []
        for p in range(r + 1, cut + 1):
            if p == cut or len(nxt[toks[:p]]) >= 2:
                levels.append(toks[:p])
        paths.append(levels)
        brands.append(toks[cut:])
    return paths, brands


class AmazonArtOfficeCDR(KGRecDataset):
    r"""Amazon "Arts, Crafts & Sewing" (domain ``art``) and "Office Products" (domain
    ``office``), 9,577 users active in both, with item titles and category + brand
    attributes, as processed by `URLLM <https://github.com/TingJShen/URLLM>`_ (Shen et
    al., 2024, folder ``DG_Final/AO``), for the cross-domain protocol of
    `"MeKB-Rec: Personal Knowledge Graph Learning for Cross-Domain Recommendation"
    <https://arxiv.org/abs/2310.11088>`_.

    One :class:`~torch_geometric.data.HeteroData` in the shared schema:

    * entities ``0 .. I-1`` are the items of **both** domains (item ``k`` is URLLM's
      ``idAfter`` ``k``: art ``0 .. 18,638``, office ``18,639 .. 38,395``), then the
      category and brand entities; :obj:`data.entity_names` (``list[str]``, length
      ``E``: item titles, category level names, brand names),
      :obj:`data.entity_kind` (``[E]``: 0 item, 1 category, 2 brand),
      :obj:`data.item_domain` (``[I]``: 0 art, 1 office), :obj:`data.domain_names`;
    * interactions ``('user', 'interacts', 'entity')`` of both domains with
      :obj:`time` = the position in the user's sequence (the two URLLM lines of a user
      share the history and differ in the final item, which both get the last
      position); a (user, item) pair repeated in a sequence keeps its first position;
    * the domain KG: ``item -> category`` with one relation per path level
      (``category_level_0`` = the domain root, ...) and ``item -> brand``
      (``has_brand``); brands are global entities shared by both domains
      (``avery``, ``sharpie``, ``fiskars``, ...), category nodes are identified by their
      full path (so ``storage`` under two parents are two entities with one name);
    * :obj:`data.item_text` = the item titles.

    How the attribute string is split into category levels and a brand is documented in
    :func:`parse_attribute_paths` and ``datasets/amazon-art-office.md``; the split is a
    heuristic (the source removed the delimiters).

    Args:
        root: Folder for downloads and processed files (default: a cache folder).
        raw_dir: Local read-only folder with the raw files (default:
            ``$KGREC_DATA/amazon-art-office`` when present, else download).
        min_branching (int): See :func:`parse_attribute_paths`. (default: :obj:`3`)
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS:**

    .. list-table::
        :widths: 20 10
        :header-rows: 1

        * - Statistic
          - Value
        * - Users
          - 9,577
        * - Items (art / office)
          - 38,396 (18,639 / 19,757)
        * - Interactions (art / office)
          - 206,661 (110,016 / 96,645)
        * - Entities (items included)
          - see ``datasets/amazon-art-office.md``
    """
    name = 'amazon-art-office'
    subdir = 'amazon-art-office'
    url = 'https://raw.githubusercontent.com/TingJShen/URLLM/HEAD/DG_Final/AO'

    def __init__(self, root=None, raw_dir=None, min_branching: int = 3, transform=None,
                 pre_transform=None, force_reload: bool = False) -> None:
        self.min_branching = int(min_branching)
        super().__init__(root, raw_dir, transform, pre_transform, force_reload)

    @property
    def raw_file_names(self) -> List[str]:
        return list(ITEM_FILES.values()) + SEQ_FILES + ['Dualuser_dict.json']

    @property
    def processed_file_names(self) -> str:
        name = super().processed_file_names
        return name.replace('.pt', f'_b{self.min_branching}.pt')

    def _read_items(self, domain: str):
        path = self.raw(ITEM_FILES[domain])
        lines = read_lines(path)
        if not lines or lines[0].strip().split(',') != ITEM_HEADER:
            raise DataFormatError(path, 1, f'expected the header {",".join(ITEM_HEADER)}')
        ids, titles, attrs, where = [], [], [], []
        for i, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            f = line.split(',')
            if len(f) != 4:
                raise DataFormatError(path, i, f'expected 4 comma-separated columns '
                                      f'({",".join(ITEM_HEADER)}), found {len(f)}')
            try:
                ids.append(int(f[2]))
            except ValueError:
                raise DataFormatError(path, i, f'idAfter {f[2]!r} is not an integer') \
                    from None
            titles.append(f[1].strip())
            attrs.append(f[3].split())
            where.append(i)
        return path, ids, titles, attrs, where

    def _read_sequences(self, num_items: int):
        users, items, pos = [], [], []
        for name in SEQ_FILES:
            path = self.raw(name)
            for i, line in enumerate(read_lines(path), start=1):
                if not line.strip():
                    continue
                f = line.rstrip('\t').split('\t')
                try:
                    u, n = int(f[0]), int(f[1])
                    recs = [tuple(int(x) for x in r.split('|')) for r in f[2:]]
                except ValueError:
                    raise DataFormatError(path, i, 'expected user<TAB>length<TAB>'
                                          'item|pos|pos<TAB>... with integers') from None
                if any(len(r) != 3 for r in recs):
                    raise DataFormatError(path, i, 'a record is not item|pos|pos')
                if len(recs) != n + 1:
                    raise DataFormatError(path, i, f'length field {n} but {len(recs)} '
                                          'records (expected length + 1)')
                for it, p, _ in recs:
                    if not 0 <= it < num_items:
                        raise DataFormatError(path, i, f'item {it} is not an idAfter of '
                                              'the item lists')
                    users.append(u)
                    items.append(it)
                    pos.append(p)
        return (np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64),
                np.asarray(pos, dtype=np.int64))

    def process_raw(self) -> HeteroData:
        per_domain = {d: self._read_items(d) for d in DOMAINS}
        num_items = sum(len(v[1]) for v in per_domain.values())
        titles: List[str] = [''] * num_items
        domain = np.full(num_items, -1, dtype=np.int64)
        for d_idx, d in enumerate(DOMAINS):
            path, ids, tit, _, where = per_domain[d]
            for k, (it, t, w) in enumerate(zip(ids, tit, where)):
                if not 0 <= it < num_items:
                    raise DataFormatError(path, w, f'idAfter {it} is outside [0, '
                                          f'{num_items})')
                if domain[it] >= 0:
                    raise DataFormatError(path, w, f'idAfter {it} occurs twice')
                titles[it], domain[it] = t, d_idx

        # domain KG: categories per level and brands
        names: List[str] = list(titles)
        kind: List[int] = [0] * num_items
        ent: Dict[Tuple, int] = {}
        heads, tails, rels = [], [], []
        rel_index: Dict[str, int] = {}

        def entity(key: Tuple, name: str, k: int) -> int:
            if key not in ent:
                ent[key] = len(names)
                names.append(name)
                kind.append(k)
            return ent[key]

        def relation(name: str) -> int:
            return rel_index.setdefault(name, len(rel_index))

        for d in DOMAINS:
            path, ids, _, attrs, where = per_domain[d]
            root = ROOTS[d]
            # 826 art items carry only "arts": a prefix of the root is the root itself
            attrs = [list(root) if a and tuple(a) == root[:len(a)] else a for a in attrs]
            root_len = [len(root) if tuple(a[:len(root)]) == root else 0 for a in attrs]
            paths, brands = parse_attribute_paths(attrs, root_len, self.min_branching)
            for it, levels, brand in zip(ids, paths, brands):
                prev = 0
                for lvl, prefix in enumerate(levels):
                    e = entity(('cat', d) + prefix, ' '.join(prefix[prev:]), 1)
                    prev = len(prefix)
                    heads.append(it)
                    tails.append(e)
                    rels.append(relation(f'category_level_{lvl}'))
                if brand:
                    b = ' '.join(brand)
                    heads.append(it)
                    tails.append(entity(('brand', b), b, 2))
                    rels.append(relation('has_brand'))
        # stable relation ids: levels in order, then has_brand
        rel_names = sorted(rel_index, key=lambda r: (r == 'has_brand',
                                                     int(r.rsplit('_', 1)[1])
                                                     if r != 'has_brand' else 0))
        remap = np.array([rel_names.index(r) for r in rel_index], dtype=np.int64)

        users, items, pos = self._read_sequences(num_items)
        with open(self.raw('Dualuser_dict.json'), encoding='utf-8') as f:
            user_ids = json.load(f)
        num_users = len(user_ids)
        if users.size and int(users.max()) >= num_users:
            raise DataFormatError(self.raw('Dualuser_dict.json'), None,
                                  f'{num_users} user ids but user {int(users.max())} '
                                  'occurs in the sequences')
        # unique (user, item), first (smallest) position kept
        key = users * num_items + items
        order = np.lexsort((pos, key))
        key_sorted = key[order]
        first = order[np.r_[True, key_sorted[1:] != key_sorted[:-1]]]
        data = make_kgrec_data(
            num_users=num_users, num_items=num_items, num_entities=len(names),
            kg_edge_index=np.stack([np.asarray(heads), np.asarray(tails)]),
            kg_edge_type=remap[np.asarray(rels)], relation_names=rel_names,
            interactions=np.stack([users[first], items[first]]),
            interaction_attrs={'time': pos[first]}, item_text=titles,
            user_ids=user_ids, item_ids=[str(i) for i in range(num_items)])
        data.entity_names = names
        data.entity_kind = torch.tensor(kind, dtype=torch.long)
        data.item_domain = torch.from_numpy(domain)
        data.domain_names = list(DOMAINS)
        return data

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
