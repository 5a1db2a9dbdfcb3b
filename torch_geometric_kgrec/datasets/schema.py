r"""The one data schema shared by every dataset of :mod:`torch_geometric_kgrec`.

Every dataset produces a single :class:`torch_geometric.data.HeteroData`:

=============================================================  ==========================
attribute                                                      meaning
=============================================================  ==========================
``data['user'].num_nodes``                                     number of users ``U``
                                                               (users are ``0 .. U-1``)
``data['entity'].num_nodes``                                   number of KG entities ``E``
``data.num_items``                                             number of items ``I``;
                                                               **items are the entities**
                                                               ``0 .. I-1``
``data.relation_names``                                        ``list[str]`` of length
                                                               ``R``
``data['entity', 'kg', 'entity'].edge_index``                  ``[2, T]`` long, head ->
                                                               tail (no inverse triples
                                                               are added)
``data['entity', 'kg', 'entity'].edge_type``                   ``[T]`` long in ``[0, R)``
``data.kg_relation_counts``                                    ``[R]`` long: triples per
                                                               relation when the data was
                                                               built (detects relation ids
                                                               mangled by PyG transforms)
``data['user', 'interacts', 'entity'].edge_index``             ``[2, N]`` observed
                                                               positives (user, item):
                                                               unique pairs, sorted by
                                                               (user, item)
``data['user', 'interacts', 'entity'].rating`` / ``.time``     ``[N]`` float / long, where
                                                               the source has them
``data['user', 'interacts', 'entity'].train_mask`` /           ``[N]`` bool, where the
``.test_mask``                                                 source ships a fixed split
``data['user', 'negative', 'entity'].edge_index``              ``[2, M]`` labelled
                                                               negatives, where the source
                                                               has them (unique, sorted,
                                                               disjoint from positives)
``data.item_text``                                             ``list[str]`` of length
                                                               ``I``, where the source has
                                                               text
``data.item_genres``                                           ``list[list[str]]`` of
                                                               length ``I``: genres (or
                                                               tags), where the source has
                                                               them
``data.user_ids`` / ``data.item_ids`` / ``data.entity_ids``     ``list[str]``: the original
                                                               id of every new index
``data.entity_names``                                          ``list[str | None]`` of
                                                               length ``E``: a readable
                                                               name, :obj:`None` where the
                                                               source has none
=============================================================  ==========================

:func:`make_kgrec_data` builds such an object from arrays (sorting the interactions and
checking everything), :func:`validate_kgrec_data` checks one and raises a
:class:`ValueError` naming the first violation, :func:`kgrec_stats` summarises one.
"""
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from torch_geometric.data import HeteroData

__all__ = ['KG', 'INTERACTS', 'NEGATIVE', 'make_kgrec_data', 'validate_kgrec_data',
           'kgrec_stats']

KG = ('entity', 'kg', 'entity')
INTERACTS = ('user', 'interacts', 'entity')
NEGATIVE = ('user', 'negative', 'entity')

ArrayLike = Union[Tensor, np.ndarray, Sequence]


def _long(x: ArrayLike, name: str) -> Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise ValueError(f'{name} must hold integers (got dtype {t.dtype})')
    return t.long()


def _sort_pairs(edge_index: Tensor, num_items: int, what: str) -> Tensor:
    r"""The permutation sorting (user, item) pairs; raises if a pair repeats."""
    if edge_index.numel() == 0:
        return torch.empty(0, dtype=torch.long)
    key = edge_index[0] * max(num_items, 1) + edge_index[1]
    perm = torch.from_numpy(np.argsort(key.numpy(), kind='stable'))
    sk = key[perm]
    dup = torch.nonzero(sk[1:] == sk[:-1]).view(-1)
    if dup.numel() > 0:
        k = int(sk[int(dup[0])])
        raise ValueError(f'{what}: the pair (user {k // num_items}, item {k % num_items}) '
                         f'appears more than once; remove duplicates first')
    return perm


def make_kgrec_data(
    num_users: int,
    num_items: int,
    num_entities: int,
    kg_edge_index: ArrayLike,
    kg_edge_type: ArrayLike,
    relation_names: Sequence[str],
    interactions: ArrayLike,
    interaction_attrs: Optional[Mapping[str, ArrayLike]] = None,
    negatives: Optional[ArrayLike] = None,
    item_text: Optional[Sequence[str]] = None,
    item_genres: Optional[Sequence[Sequence[str]]] = None,
    entity_names: Optional[Sequence[Optional[str]]] = None,
    user_ids: Optional[Sequence[str]] = None,
    item_ids: Optional[Sequence[str]] = None,
    entity_ids: Optional[Sequence[str]] = None,
) -> HeteroData:
    r"""Build a :class:`HeteroData` in the schema above (see the module docstring).

    Interactions (and their per-pair attributes such as ``rating``, ``time``,
    ``train_mask``) are sorted by (user, item); negatives are sorted too. Pairs must be
    unique (datasets remove duplicates with :func:`~torch_geometric_kgrec.datasets.io.first_unique`
    before, so that they can report file lines). The result is checked with
    :func:`validate_kgrec_data`.

    Args:
        num_users: ``U``.
        num_items: ``I`` (items are the entities ``0 .. I-1``).
        num_entities: ``E >= I``.
        kg_edge_index: ``[2, T]`` head/tail entity indices.
        kg_edge_type: ``[T]`` relation indices.
        relation_names: ``R`` relation names.
        interactions: ``[2, N]`` (user, item) positives.
        interaction_attrs: Per-interaction attributes, each of first dimension ``N``
            (``rating`` is stored as float, ``time`` as long, other values as given).
        negatives: ``[2, M]`` labelled negatives, if the source has them.
        item_text: ``I`` strings, if the source has item text.
        item_genres: ``I`` lists of genre (or tag) strings, if the source has them.
        entity_names: ``E`` human-readable names (:obj:`None` where unknown).
        user_ids, item_ids, entity_ids: Original ids of every user / item / entity.
    """
    data = HeteroData()
    data['user'].num_nodes = int(num_users)
    data['entity'].num_nodes = int(num_entities)
    data.num_items = int(num_items)
    data.relation_names = [str(r) for r in relation_names]

    kg_ei = _long(kg_edge_index, 'kg_edge_index').view(2, -1)
    data[KG].edge_index = kg_ei.contiguous()
    data[KG].edge_type = _long(kg_edge_type, 'kg_edge_type').view(-1)
    et = data[KG].edge_type
    if et.numel() and int(et.min()) >= 0:
        data.kg_relation_counts = torch.bincount(et, minlength=len(data.relation_names))

    ei = _long(interactions, 'interactions').view(2, -1)
    perm = _sort_pairs(ei, int(num_items), 'interactions')
    data[INTERACTS].edge_index = ei[:, perm].contiguous()
    for name, value in (interaction_attrs or {}).items():
        v = torch.as_tensor(np.asarray(value) if not isinstance(value, Tensor) else value)
        if v.size(0) != ei.size(1):
            raise ValueError(f"interaction attribute '{name}' has {v.size(0)} entries, "
                             f'expected {ei.size(1)}')
        if name == 'rating':
            v = v.float()
        elif name == 'time':
            v = v.long()
        data[INTERACTS][name] = v[perm].contiguous()

    if negatives is not None:
        neg = _long(negatives, 'negatives').view(2, -1)
        nperm = _sort_pairs(neg, int(num_items), 'negatives')
        data[NEGATIVE].edge_index = neg[:, nperm].contiguous()

    if item_text is not None:
        data.item_text = [str(t) for t in item_text]
    if item_genres is not None:
        data.item_genres = [[str(g) for g in gs] for gs in item_genres]
    if entity_names is not None:
        data.entity_names = [None if n is None else str(n) for n in entity_names]
    if user_ids is not None:
        data.user_ids = [str(x) for x in user_ids]
    if item_ids is not None:
        data.item_ids = [str(x) for x in item_ids]
    if entity_ids is not None:
        data.entity_ids = [str(x) for x in entity_ids]

    validate_kgrec_data(data)
    return data


def _fail(msg: str) -> None:
    raise ValueError(f'validate_kgrec_data: {msg}')


def _check_edge_index(ei: Any, name: str, src_n: int, dst_n: int, src: str,
                      dst: str) -> None:
    if not isinstance(ei, Tensor):
        _fail(f'{name} must be a Tensor (got {type(ei).__name__})')
    if ei.dtype != torch.long:
        _fail(f'{name} must have dtype torch.long (got {ei.dtype})')
    if ei.dim() != 2 or ei.size(0) != 2:
        _fail(f'{name} must have shape [2, num_edges] (got {list(ei.shape)})')
    if ei.numel() == 0:
        return
    for row, n, what in ((0, src_n, src), (1, dst_n, dst)):
        lo, hi = int(ei[row].min()), int(ei[row].max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            _fail(f'{name} holds {what} index {bad} outside [0, {n}) '
                  f'(num_{what}s={n})')


def _check_sorted_unique(ei: Tensor, num_items: int, name: str) -> Tensor:
    key = ei[0] * max(num_items, 1) + ei[1]
    if key.numel() > 1:
        d = key[1:] - key[:-1]
        if bool((d == 0).any()):
            i = int(torch.nonzero(d == 0)[0])
            _fail(f'{name} holds the pair (user {int(ei[0, i])}, item {int(ei[1, i])}) '
                  f'more than once (pairs must be unique)')
        if bool((d < 0).any()):
            i = int(torch.nonzero(d < 0)[0])
            _fail(f'{name} is not sorted by (user, item) (at position {i + 1})')
    return key


_MANGLED = ('; relation ids were probably changed by a PyG transform: '
            'T.ToUndirected() adds reversed triples with the *same* relation and coalesces '
            'parallel edges by *summing* their edge_type, T.AddSelfLoops() adds edges '
            'without relations; use torch_geometric_kgrec.transforms.AddInverseRelations '
            '(inverse relations r + R, self-loops with a padding relation) instead')


def validate_kgrec_data(data: HeteroData) -> None:
    r"""Check that :obj:`data` follows the schema of the module docstring: node counts,
    ``num_items <= E``, relation names, dtypes and shapes, index ranges, interactions
    unique and sorted by (user, item), per-interaction attributes of the right length
    (``rating`` finite float, ``time`` long, masks bool), negatives disjoint from
    positives, the lengths of ``item_text`` / ``item_genres`` / ``user_ids`` /
    ``item_ids`` / ``entity_ids`` / ``entity_names``, and that the KG's relation ids
    were not mangled by a PyG transform (``edge_type`` in sync with ``edge_index`` and,
    where the data records them, its per-relation counts equal to
    ``data.kg_relation_counts``; the error names the probable transform).

    Raises:
        ValueError: naming the first violation.
    """
    if not isinstance(data, HeteroData):
        hint = ''
        if getattr(data, 'node_type', None) is not None and \
                getattr(data, 'edge_type', None) is not None:
            hint = ('; this looks like the output of HeteroData.to_homogeneous(), whose '
                    'edge_type holds edge-store ids, not KG relations (use the KG edge '
                    "store data['entity', 'kg', 'entity'] directly)")
        _fail(f'expected a HeteroData object (got {type(data).__name__}){hint}')
    if 'user' not in data.node_types or 'entity' not in data.node_types:
        _fail("data needs the node types 'user' and 'entity'")
    U, E = data['user'].num_nodes, data['entity'].num_nodes
    if not isinstance(U, int) or U < 0:
        _fail(f"data['user'].num_nodes must be a non-negative int (got {U!r})")
    if not isinstance(E, int) or E < 0:
        _fail(f"data['entity'].num_nodes must be a non-negative int (got {E!r})")
    I = getattr(data, 'num_items', None)
    if not isinstance(I, int) or I < 0:
        _fail(f'data.num_items must be a non-negative int (got {I!r})')
    if I > E:
        _fail(f'num_items={I} exceeds the number of entities {E} '
              '(items are the entities 0 .. num_items-1)')
    names = getattr(data, 'relation_names', None)
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        _fail('data.relation_names must be a list of str')
    R = len(names)

    if KG not in data.edge_types:
        _fail(f'data has no KG edge type {KG}')
    kg = data[KG]
    _check_edge_index(kg.get('edge_index'), f'data{list(KG)}.edge_index', E, E, 'entity',
                      'entity')
    et = kg.get('edge_type')
    if not isinstance(et, Tensor) or et.dtype != torch.long or et.dim() != 1:
        _fail(f'data{list(KG)}.edge_type must be a 1-D torch.long Tensor')
    if et.numel() != kg.edge_index.size(1):
        _fail(f'data{list(KG)}.edge_type has {et.numel()} entries for '
              f'{kg.edge_index.size(1)} triples: edge_index and edge_type are out of '
              f'sync, probably after a transform that adds or merges edges without '
              'their relations (T.AddSelfLoops(), T.AddRemainingSelfLoops(), '
              'T.RemoveDuplicatedEdges(), torch_geometric.utils.add_self_loops); use '
              'torch_geometric_kgrec.transforms.AddInverseRelations(self_loops=True)')
    if et.numel() > 0 and (int(et.min()) < 0 or int(et.max()) >= R):
        bad = int(et.min()) if int(et.min()) < 0 else int(et.max())
        _fail(f'data{list(KG)}.edge_type holds relation {bad} outside [0, {R}) '
              f'(len(relation_names)={R}){_MANGLED}')
    counts = getattr(data, 'kg_relation_counts', None)
    if isinstance(counts, Tensor):
        now = torch.bincount(et, minlength=R) if et.numel() else torch.zeros(R, dtype=torch.long)
        if counts.numel() != R or not torch.equal(now.cpu(), counts.cpu().long()):
            T0, T = int(counts.sum()), et.numel()
            if counts.numel() == R:
                diff = torch.nonzero(now.cpu() != counts.cpu().long()).view(-1)
                r = int(diff[0])
                detail = (f'relation {r} ({names[r]!r}) has {int(now[r])} triples, '
                          f'{int(counts[r])} when the data was built')
            else:
                detail = f'{counts.numel()} relation counts for {R} relations'
            _fail(f'data{list(KG)}.edge_type no longer matches data.kg_relation_counts '
                  f'({T} triples now, {T0} when the data was built; {detail}){_MANGLED}. '
                  'If you changed the KG on purpose, set data.kg_relation_counts = '
                  f'torch.bincount(edge_type, minlength={R}) afterwards')

    if INTERACTS not in data.edge_types:
        _fail(f'data has no interaction edge type {INTERACTS}')
    st = data[INTERACTS]
    name = f'data{list(INTERACTS)}.edge_index'
    _check_edge_index(st.get('edge_index'), name, U, I, 'user', 'item')
    pos_key = _check_sorted_unique(st.edge_index, I, name)
    N = st.edge_index.size(1)
    for key, value in st.items():
        if key == 'edge_index':
            continue
        if not isinstance(value, Tensor) or value.dim() < 1 or value.size(0) != N:
            _fail(f"data{list(INTERACTS)}.{key} must be a Tensor with {N} rows "
                  '(one per interaction)')
        if key == 'rating':
            if not value.is_floating_point():
                _fail(f'data{list(INTERACTS)}.rating must be a float Tensor')
            if not bool(torch.isfinite(value).all()):
                _fail(f'data{list(INTERACTS)}.rating holds NaN or infinite values')
        if key == 'time' and value.dtype != torch.long:
            _fail(f'data{list(INTERACTS)}.time must be a torch.long Tensor')
        if key.endswith('_mask') and value.dtype != torch.bool:
            _fail(f'data{list(INTERACTS)}.{key} must be a torch.bool Tensor')

    if NEGATIVE in data.edge_types:
        nname = f'data{list(NEGATIVE)}.edge_index'
        nei = data[NEGATIVE].get('edge_index')
        _check_edge_index(nei, nname, U, I, 'user', 'item')
        neg_key = _check_sorted_unique(nei, I, nname)
        if neg_key.numel() > 0 and pos_key.numel() > 0:
            both = np.intersect1d(neg_key.numpy(), pos_key.numpy())
            if both.size > 0:
                k = int(both[0])
                _fail(f'the pair (user {k // I}, item {k % I}) is both a positive and a '
                      'labelled negative')

    for attr, n in (('item_text', I), ('item_ids', I), ('user_ids', U), ('entity_ids', E)):
        v = getattr(data, attr, None)
        if v is None:
            continue
        if not isinstance(v, (list, tuple)) or len(v) != n:
            _fail(f'data.{attr} must be a list of {n} str '
                  f'(got {type(v).__name__} of length {len(v) if hasattr(v, "__len__") else "?"})')
    v = getattr(data, 'item_genres', None)
    if v is not None and (not isinstance(v, (list, tuple)) or len(v) != I or not all(
            isinstance(g, (list, tuple)) and all(isinstance(x, str) for x in g) for g in v)):
        _fail(f'data.item_genres must be a list of {I} lists of str')
    v = getattr(data, 'entity_names', None)
    if v is not None and (not isinstance(v, (list, tuple)) or len(v) != E or not all(
            n is None or isinstance(n, str) for n in v)):
        _fail(f'data.entity_names must be a list of {E} str-or-None')


def kgrec_stats(data: HeteroData) -> Dict[str, Union[int, float]]:
    r"""Summary statistics of a dataset in the schema (JSON-serialisable).

    Returns:
        ``users``, ``items``, ``entities``, ``relations``, ``triples``,
        ``interactions`` (positives), ``negatives`` (labelled negatives, 0 if none),
        ``linked_items`` (items that occur in at least one triple), ``kg_entities``
        (entities that occur in at least one triple), ``density`` (positives /
        (users * items)), ``interactions_per_user``, and ``train_interactions`` /
        ``test_interactions`` when the source ships a split.
    """
    U, E, I = data['user'].num_nodes, data['entity'].num_nodes, data.num_items
    kg_ei = data[KG].edge_index
    N = data[INTERACTS].edge_index.size(1)
    in_kg = torch.zeros(E, dtype=torch.bool)
    if kg_ei.numel() > 0:
        in_kg[kg_ei.view(-1)] = True
    out: Dict[str, Union[int, float]] = {
        'users': int(U),
        'items': int(I),
        'entities': int(E),
        'relations': len(data.relation_names),
        'triples': int(kg_ei.size(1)),
        'interactions': int(N),
        'negatives': int(data[NEGATIVE].edge_index.size(1))
        if NEGATIVE in data.edge_types else 0,
        'linked_items': int(in_kg[:I].sum()),
        'kg_entities': int(in_kg.sum()),
        'density': float(N / max(U * I, 1)),
        'interactions_per_user': float(N / max(U, 1)),
    }
    st = data[INTERACTS]
    if 'train_mask' in st:
        out['train_interactions'] = int(st.train_mask.sum())
    if 'test_mask' in st:
        out['test_interactions'] = int(st.test_mask.sum())
    return out

