r"""Readers for the two published file layouts that several datasets share.

* :func:`load_mkr_format` — the MKR / KGCN / RippleNet *raw* layout (a rating file,
  ``item_index2entity_id.txt`` and ``kg.txt`` with relation names), processed exactly as
  ``hwwang55/MKR/src/preprocess.py`` does (used by :class:`LastFMKG` and
  :class:`MovieLens1MKG`).
* :func:`load_kgat_format` — the KGAT / KGIN layout (``train.txt`` / ``test.txt`` with
  one ``user item item ...`` line per user, ``kg_final.txt`` with integer triples and
  optional ``*_list.txt`` id maps; used by :class:`AmazonBookKG`).

Both return a :class:`~torch_geometric.data.HeteroData` in the schema of
:mod:`torch_geometric_kgrec.datasets.schema`.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.io import (DataFormatError, Table, factorize,
                                               first_unique, read_adjacency_lists,
                                               read_lines, read_table)
from torch_geometric_kgrec.datasets.report import DropReport, check_non_negative
from torch_geometric_kgrec.datasets.schema import make_kgrec_data

__all__ = ['load_mkr_format', 'load_kgat_format', 'read_item_entity_map']


def read_item_entity_map(path: str) -> Tuple[np.ndarray, np.ndarray]:
    r"""Read an MKR ``item_index2entity_id.txt`` (``item<TAB>entity``, no header).

    Returns ``(item_ids, entity_tokens)`` in file order (row ``k`` is item ``k``). An
    exact duplicate row is dropped (first kept); an item mapped to two entities or an
    entity claimed by two items raises :class:`DataFormatError` naming both lines.
    """
    t = read_table(path, ['int', 'str'], names=['item', 'entity'])
    keep = first_unique(t[0], t[1])  # exact duplicate rows: first kept
    items, ents = t[0][keep], t[1][keep].astype(str)
    for col, other, what in ((items, ents, 'item'), (ents, items, 'entity')):
        first = first_unique(col)
        if first.size != col.size:
            r = int(np.setdiff1d(np.arange(col.size), first)[0])
            f = int(np.flatnonzero(col == col[r])[0])
            raise t.error(int(keep[r]), f'{what} {col[r]} is already mapped on line '
                          f'{t.line_of(int(keep[f]))} (to {other[f]}, here to '
                          f'{other[r]})')
    return items, ents


def _mkr_kg(kg: Table, entity_index: Dict[str, int],
            report: Optional[DropReport] = None) -> Tuple[np.ndarray, np.ndarray,
                                                          np.ndarray, List[str], int]:
    r"""MKR's ``convert_kg``: a triple whose head is not yet known (neither an item nor
    a tail seen on an earlier line) is skipped; unseen tails become new entities in order
    of appearance; relations are indexed in order of appearance. Skipped and duplicate
    triples are counted in :obj:`report`."""
    heads, rels, tails = kg[0].tolist(), kg[1].tolist(), kg[2].tolist()
    relation_index: Dict[str, int] = {}
    h_out: List[int] = []
    r_out: List[int] = []
    t_out: List[int] = []
    row_out: List[int] = []
    skipped: List[int] = []
    for row, (h, r, t) in enumerate(zip(heads, rels, tails)):
        hi = entity_index.get(h)
        if hi is None:
            skipped.append(row)
            continue
        ti = entity_index.setdefault(t, len(entity_index))
        ri = relation_index.setdefault(r, len(relation_index))
        h_out.append(hi)
        r_out.append(ri)
        t_out.append(ti)
        row_out.append(row)
    h_arr = np.asarray(h_out, dtype=np.int64)
    r_arr = np.asarray(r_out, dtype=np.int64)
    t_arr = np.asarray(t_out, dtype=np.int64)
    keep = first_unique(h_arr, r_arr, t_arr)
    if report is not None:
        report.add_rows(kg, np.asarray(skipped, dtype=np.int64),
                        'triples skipped: head neither an item nor a tail of an earlier '
                        "line (as MKR's preprocess.py)")
        report.add_rows(kg, np.setdiff1d(np.asarray(row_out, dtype=np.int64),
                                         np.asarray(row_out, dtype=np.int64)[keep]),
                        'duplicate triples dropped (first kept)')
    return h_arr[keep], r_arr[keep], t_arr[keep], list(relation_index), len(skipped)


def _duplicates(table: Table, rows: np.ndarray, value: np.ndarray, *keys: np.ndarray,
                report: DropReport, what: str) -> None:
    r"""Count the rows of :obj:`rows` whose :obj:`keys` repeat an earlier row: exact
    duplicates (same :obj:`value`) and conflicting ones (another value)."""
    if rows.size < 2:
        return
    _, first, inv = np.unique(np.stack(keys, axis=1), axis=0, return_index=True,
                              return_inverse=True)
    first_of = first[inv.reshape(-1)]
    dup = first_of != np.arange(rows.size)
    conflict = dup & (value != value[first_of])
    report.add_rows(table, rows[dup & ~conflict], f'exact duplicate {what} rows dropped '
                    '(first kept)')
    report.add_rows(table, rows[conflict], f'conflicting duplicate {what} rows dropped '
                    '(the first row is kept)')


def _check_kg_plausible(kg: Table, rel_tokens: np.ndarray, h: np.ndarray, t: np.ndarray,
                        num_items: int) -> None:
    r"""MKR's ``kg.txt`` names its relations and links most items: integer relation
    tokens (a ``kg_final.txt`` of another layout) or under half of the items occurring
    in a kept triple are errors, with the reason."""
    if rel_tokens.size and all(str(x).lstrip('-').isdigit() for x in rel_tokens[:1000]) \
            and all(str(x).lstrip('-').isdigit() for x in rel_tokens):
        raise kg.error(0, f'the relation column holds integer ids (here {rel_tokens[0]!r}), '
                       "but an MKR kg.txt names its relations (e.g. 'music.artist.genre'): "
                       'is this a kg_final.txt of the KGAT / RippleNet layout?')
    ents = np.concatenate([h, t])
    linked = np.unique(ents[ents < num_items]).size
    if num_items and linked < 0.5 * num_items:
        raise DataFormatError(kg.path, None, f'only {linked:,} of the {num_items:,} items '
                              'occur in a kept triple (under half): the KG does not match '
                              'the item list (wrong kg.txt, or triples whose heads are '
                              'unknown when met?)')


def load_mkr_format(rating_path: str, item_map_path: str, kg_path: str, *,
                    rating_sep: str = '\t', rating_header=0, with_time: bool = False,
                    threshold: float = 0.0) -> HeteroData:
    r"""Build a dataset from the MKR raw layout, following ``MKR/src/preprocess.py``.

    * Items are the rows of ``item_index2entity_id.txt`` in file order (item ``k`` is
      entity ``k``); rating rows of other items are dropped.
    * A rating row with ``rating >= threshold`` is a positive; rows below the threshold
      are dropped (MKR only uses them to exclude items from its negative sampling; our
      negatives are drawn by the protocols).
    * Users are the users with at least one positive, indexed in order of first
      appearance (as MKR's dict).
    * Duplicate (user, item) rows: the first row is kept (its rating decides).
    * ``kg.txt``: see :func:`_mkr_kg` (MKR skips triples whose head is unknown when
      met); duplicate triples are dropped (first kept).

    Args:
        rating_path: ``user<sep>item<sep>rating[<sep>time]`` per line.
        item_map_path: ``item_index2entity_id.txt``.
        kg_path: ``kg.txt``: ``head<TAB>relation<TAB>tail`` (tokens as strings).
        rating_sep: The rating file separator (``'::'`` for MovieLens ``ratings.dat``).
        rating_header: Header of the rating file (number of lines or column names).
        with_time: Whether the rating file has a fourth (timestamp) column.
        threshold: Minimum rating of a positive.
    """
    item_ids, item_ents = read_item_entity_map(item_map_path)
    num_items = len(item_ids)

    names = ['user', 'item', 'rating'] + (['time'] if with_time else [])
    dtypes = ['int', 'int', 'float'] + (['int'] if with_time else [])
    r = read_table(rating_path, dtypes, sep=rating_sep, header=rating_header, names=names)
    r.check_finite('rating', 'rating')
    check_non_negative(r, 'user', 'item')
    user, item, rating = r['user'], r['item'], r['rating']
    report = DropReport(rating_path)
    order = np.argsort(item_ids, kind='stable')
    pos_in_sorted = np.searchsorted(item_ids[order], item)
    pos_in_sorted = np.minimum(pos_in_sorted, max(num_items - 1, 0))
    known = (item_ids[order][pos_in_sorted] == item) if num_items else np.zeros_like(
        item, dtype=bool)
    report.add_rows(r, np.flatnonzero(~known), 'rows of items not in '
                    f'{osp.basename(item_map_path)} dropped')
    rows = np.flatnonzero(known)
    _duplicates(r, rows, rating[rows], user[rows], item[rows], report=report,
                what='(user, item)')
    rows = rows[first_unique(user[rows], item[rows])]
    report.add_rows(r, rows[rating[rows] < threshold],
                    f'rows with rating below the threshold {threshold:g} dropped')
    rows = rows[rating[rows] >= threshold]
    lost = np.setdiff1d(np.unique(user), np.unique(user[rows]))
    if lost.size:
        report.add(lost.size, 'users left without interactions (not kept)',
                   r.line_of(int(np.flatnonzero(np.isin(user, lost))[0])))
    item_index = order[pos_in_sorted[rows]]
    user_code, user_uniq = factorize(user[rows], order='appearance')

    entity_index: Dict[str, int] = {e: i for i, e in enumerate(item_ents.tolist())}
    kg = read_table(kg_path, ['str', 'str', 'str'], names=['head', 'relation', 'tail'])
    kg_report = DropReport(kg_path)
    h, rel, t, rel_names, _ = _mkr_kg(kg, entity_index, kg_report)
    _check_kg_plausible(kg, kg[1], h, t, num_items)
    report.warn()
    kg_report.warn()
    attrs = {'rating': rating[rows]}
    if with_time:
        attrs['time'] = r['time'][rows]
    return make_kgrec_data(
        num_users=len(user_uniq), num_items=num_items, num_entities=len(entity_index),
        kg_edge_index=np.stack([h, t]), kg_edge_type=rel, relation_names=rel_names,
        interactions=np.stack([user_code, item_index]), interaction_attrs=attrs,
        user_ids=[str(u) for u in user_uniq.tolist()],
        item_ids=[str(i) for i in item_ids.tolist()],
        entity_ids=list(entity_index))


def _read_id_list(path: str, num_cols: int) -> List[List[str]]:
    r"""A KGAT ``*_list.txt`` (header ``org_id remap_id [freebase_id]``): returns the
    rows ordered by ``remap_id``, which must be ``0 .. n-1``. The org id may contain
    spaces (Amazon-Book's entity list does), so the last ``num_cols - 1`` tokens are the
    remaining columns."""
    lines = read_lines(path)
    out: Dict[int, List[str]] = {}
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.rstrip().rsplit(None, num_cols - 1)
        if len(parts) != num_cols:
            raise DataFormatError(path, i, f'expected {num_cols} columns, found '
                                  f'{len(parts)}: {line[:80]!r}')
        if not parts[1].isdigit():
            raise DataFormatError(path, i, f'remap_id must be a non-negative integer, '
                                  f'found {parts[1]!r}')
        k = int(parts[1])
        if k in out:
            raise DataFormatError(path, i, f'remap_id {k} is listed twice')
        out[k] = parts
    n = len(out)
    if n and (min(out) != 0 or max(out) != n - 1):
        raise DataFormatError(path, None, f'remap_id values must be 0 .. {n - 1}')
    return [out[k] for k in range(n)]


def load_kgat_format(train_path: str, test_path: str, kg_path: str, *,
                     user_list: Optional[str] = None, item_list: Optional[str] = None,
                     entity_list: Optional[str] = None,
                     relation_list: Optional[str] = None,
                     compact_entities: bool = True) -> HeteroData:
    r"""Build a dataset from the KGAT layout, keeping the published train/test split.

    * ``train.txt`` / ``test.txt``: ``user item item ...`` per line (whitespace
      separated). Repeated items on a line or repeated lines are merged (first kept).
      A line holding only a user id contributes no interaction (as in KGAT's loader)
      and triggers a :class:`UserWarning` naming file and line. A (user, item) pair in
      both files raises (train/test must be disjoint).
    * ``kg_final.txt``: ``head relation tail`` integer ids; duplicate triples are
      dropped (KGAT applies ``np.unique``).
    * Counts: from the ``*_list.txt`` files when given (ids must then be in range),
      else ``max id + 1`` as KGAT's loader. Items are the entities ``0 .. I-1``.
    * ``compact_entities``: keep only the entities that are items or occur in a triple
      (re-indexed in increasing original id; the original id is kept in
      :obj:`data.entity_ids`). This is the entity count KGAT/KGIN publish (KGAT's
      loader reports ``max id + 1``).

    The split is stored as :obj:`train_mask` / :obj:`test_mask` on the interaction edge
    store.
    """
    users_l = _read_id_list(user_list, 2) if user_list else None
    items_l = _read_id_list(item_list, 3) if item_list else None
    ents_l = _read_id_list(entity_list, 2) if entity_list else None
    rels_l = _read_id_list(relation_list, 2) if relation_list else None

    parts = []
    reports = {}
    for path in (train_path, test_path):
        users, counts, items, lines = read_adjacency_lists(path)
        reports[path] = report = DropReport(path)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            report.add(empty.size, 'lines with a user id and no items (they contribute no '
                       'interaction, as in KGAT)', int(lines[empty[0]]))
        u = np.repeat(users, counts)
        line_of = np.repeat(lines, counts)
        parts.append((path, u, items, line_of, users, lines))

    def _max(*arrays) -> int:
        return max([int(a.max()) for a in arrays if a.size] + [-1])

    num_users = len(users_l) if users_l is not None else _max(
        *(p[4] for p in parts)) + 1
    num_items = len(items_l) if items_l is not None else _max(*(p[2] for p in parts)) + 1

    kg = read_table(kg_path, ['int', 'int', 'int'], sep=None,
                    names=['head', 'relation', 'tail'])
    h, r, t = kg[0], kg[1], kg[2]
    num_rel = len(rels_l) if rels_l is not None else _max(r) + 1
    num_ent = len(ents_l) if ents_l is not None else max(_max(h, t) + 1, num_items)

    for path, u, i, line_of, users, lines in parts:
        for arr, n, what, ln, id_list in ((users, num_users, 'user id', lines, user_list),
                                          (i, num_items, 'item id', line_of, item_list)):
            bad = np.flatnonzero((arr < 0) | (arr >= n))
            if bad.size:
                b = int(bad[0])
                src = f' (ids come from {osp.basename(id_list)})' if id_list else ''
                raise DataFormatError(path, int(ln[b]), f'{what} {arr[b]} is out of range '
                                      f'[0, {n}){src}')
    kg.check_range('head', 0, num_ent, 'head entity')
    kg.check_range('tail', 0, num_ent, 'tail entity')
    kg.check_range('relation', 0, num_rel, 'relation')
    if num_items > num_ent:
        raise DataFormatError(kg_path, None, f'{num_items} items but only {num_ent} '
                              'entities (items must be the entities 0 .. I-1)')

    keep = first_unique(h, r, t)
    kg_report = DropReport(kg_path)
    kg_report.add_rows(kg, np.setdiff1d(np.arange(len(kg)), keep),
                       'duplicate triples dropped (first kept)')
    h, r, t = h[keep], r[keep], t[keep]

    (trp, tru, tri, trl, _, _), (tep, teu, tei, tel, _, _) = parts
    tr_keep = first_unique(tru, tri)
    te_keep = first_unique(teu, tei)
    for path, n, kept, ln in ((trp, tru.size, tr_keep, trl), (tep, teu.size, te_keep, tel)):
        merged = np.setdiff1d(np.arange(n), kept)
        if merged.size:
            reports[path].add(merged.size, 'repeated (user, item) pairs merged (first kept)',
                              int(ln[merged].min()))
    for report in list(reports.values()) + [kg_report]:
        report.warn()
    tru, tri, trl = tru[tr_keep], tri[tr_keep], trl[tr_keep]
    teu, tei, tel = teu[te_keep], tei[te_keep], tel[te_keep]
    tr_key = tru * num_items + tri
    te_key = teu * num_items + tei
    sorted_tr = np.sort(tr_key)
    pos = np.minimum(np.searchsorted(sorted_tr, te_key), max(sorted_tr.size - 1, 0))
    both = sorted_tr[pos] == te_key if sorted_tr.size else np.zeros(te_key.size, bool)
    if both.any():
        j = int(np.flatnonzero(both)[0])
        k = int(np.flatnonzero(tr_key == te_key[j])[0])
        raise DataFormatError(tep, int(tel[j]), f'(user {teu[j]}, item {tei[j]}) is also '
                              f'in {trp}, line {int(trl[k])} (train and test must be '
                              'disjoint)')
    users = np.concatenate([tru, teu])
    items = np.concatenate([tri, tei])
    train_mask = np.concatenate([np.ones(tru.size, bool), np.zeros(teu.size, bool)])

    ent_orig = np.arange(num_ent)
    if compact_entities:
        used = np.zeros(num_ent, dtype=bool)
        used[:num_items] = True
        used[h] = True
        used[t] = True
        ent_orig = np.flatnonzero(used)
        new_of = np.full(num_ent, -1, dtype=np.int64)
        new_of[ent_orig] = np.arange(ent_orig.size)
        h, t = new_of[h], new_of[t]

    def _ids(lst, col, n) -> List[str]:
        return [row[col] for row in lst] if lst is not None else [str(x) for x in range(n)]

    all_ent_ids = _ids(ents_l, 0, num_ent)
    return make_kgrec_data(
        num_users=num_users, num_items=num_items, num_entities=int(ent_orig.size),
        kg_edge_index=np.stack([h, t]), kg_edge_type=r,
        relation_names=_ids(rels_l, 0, num_rel),
        interactions=np.stack([users, items]),
        interaction_attrs={'train_mask': train_mask, 'test_mask': ~train_mask},
        user_ids=_ids(users_l, 0, num_users), item_ids=_ids(items_l, 0, num_items),
        entity_ids=[all_ent_ids[k] for k in ent_orig.tolist()])
