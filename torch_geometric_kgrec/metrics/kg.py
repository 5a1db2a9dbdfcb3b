r"""Knowledge-graph completion (link prediction) evaluation: raw and filtered mean
rank, MRR and Hits@:math:`k` for head and tail prediction (TransE / TransH / KTUP
protocol), and the TransE relation categories 1-1, 1-N, N-1, N-N.

For a test triple :math:`(h, r, t)`, **tail prediction** scores every candidate
:math:`(h, r, e)`, :math:`e \in \mathcal{E}`, and ranks the true tail among them;
**head prediction** scores every :math:`(e, r, t)`. The rank is

.. math::
    \mathrm{rank} = 1 + |\{e \in C : s(e) > s^*\}| + \tau\,|\{e \in C : s(e) = s^*\}|

over the competing candidates :math:`C` (all entities but the true one), with
:math:`\tau = 1` (``ties='pessimistic'``, the default, as
``(score >= target).sum()``: a scorer that outputs constants gets the worst rank),
:math:`1/2` (``'average'``) or :math:`0` (``'optimistic'``). In the **filtered**
setting, every other candidate that forms a known true triple (any triple of
:obj:`filter_triples`, plus the test triples themselves) is removed from
:math:`C`, so it is never counted against the model. Mean rank (MR) is the mean of
the ranks, MRR the mean of :math:`1/\mathrm{rank}`, Hits@:math:`k` the fraction
with :math:`\mathrm{rank} \le k`. PyG's :meth:`KGEModel.test` only reports raw
tail prediction.
"""
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_kgrec.distributed import all_reduce_sum, resolve_group
from torch_geometric_kgrec.metrics.ranking import _TIE_FACTOR, rank_with_ties

__all__ = [
    'RELATION_CATEGORIES',
    'relation_categories',
    'kg_completion_ranks',
    'evaluate_kg_completion',
]

#: Names of the categories returned by :func:`relation_categories` (index = code).
RELATION_CATEGORIES = ('1-1', '1-N', 'N-1', 'N-N')

Triples = Union[Tensor, Sequence[Tensor]]


def _as_triples(triples: Triples, name: str, device: Optional[torch.device] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Accept :obj:`(head, rel, tail)` (three 1-D tensors) or a :obj:`[3, n]` tensor."""
    if isinstance(triples, Tensor):
        if triples.dim() != 2 or triples.size(0) != 3:
            raise ValueError(f"'{name}' must be (head, rel, tail) or a [3, n] tensor "
                             f"(got shape {list(triples.shape)})")
        triples = tuple(triples)
    if not isinstance(triples, (tuple, list)) or len(triples) != 3:
        raise ValueError(f"'{name}' must be (head, rel, tail) or a [3, n] tensor")
    out = []
    for part in triples:
        part = torch.as_tensor(part)
        if part.dim() != 1 or part.is_floating_point() or part.is_complex():
            raise ValueError(f"'{name}' must hold 1-D integer tensors")
        out.append(part.to(device=device if device is not None else part.device,
                           dtype=torch.long))
    h, r, t = out
    if not h.numel() == r.numel() == t.numel():
        raise ValueError(f"'{name}': head, rel and tail must have equal length")
    if h.numel() and min(int(h.min()), int(r.min()), int(t.min())) < 0:
        raise ValueError(f"'{name}' contains negative indices")
    return h, r, t


def relation_categories(edge_index: Tensor, edge_type: Tensor,
                        num_relations: Optional[int] = None,
                        threshold: float = 1.5) -> Tensor:
    r"""Mapping properties of relations (TransE, Bordes et al. 2013, Sec. 4.4;
    TransH, Wang et al. 2014): for relation :math:`r` with (unique) training
    triples :math:`T_r`,

    .. math::
        \mathrm{tph}_r = \frac{|T_r|}{|\{h : (h, r, \cdot) \in T_r\}|}, \qquad
        \mathrm{hpt}_r = \frac{|T_r|}{|\{t : (\cdot, r, t) \in T_r\}|},

    the average number of tails per head and heads per tail. A side is "1" if its
    average is below :obj:`threshold` (1.5) and "N" otherwise: 1-1 (code 0) if
    :math:`\mathrm{tph} < 1.5, \mathrm{hpt} < 1.5`; 1-N (1) if
    :math:`\mathrm{tph} \ge 1.5, \mathrm{hpt} < 1.5`; N-1 (2) if
    :math:`\mathrm{tph} < 1.5, \mathrm{hpt} \ge 1.5`; N-N (3) otherwise. Compute it
    from **training** triples only.

    Args:
        edge_index (torch.Tensor): Training (head, tail) pairs :obj:`[2, T]`.
        edge_type (torch.Tensor): Relation of every triple :obj:`[T]`.
        num_relations (int, optional): Number of relations :math:`R`.
            (default: :obj:`edge_type.max() + 1`)
        threshold (float): The 1-vs-N cut. (default: :obj:`1.5`)

    Returns:
        :obj:`LongTensor[R]` of codes in :obj:`RELATION_CATEGORIES` order; :obj:`-1`
        for a relation without training triples.
    """
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, T] (got {list(edge_index.shape)})")
    if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
        raise ValueError("'edge_type' must have shape [T] matching 'edge_index'")
    h, t, r = edge_index[0].long(), edge_index[1].long(), edge_type.long()
    if num_relations is None:
        num_relations = int(r.max()) + 1 if r.numel() else 0
    if r.numel() and (int(r.min()) < 0 or int(r.max()) >= num_relations):
        raise ValueError(f"'edge_type' must lie in [0, {num_relations})")
    num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 1
    trip = torch.unique(torch.stack([r, h, t], dim=1), dim=0)
    r, h, t = trip[:, 0], trip[:, 1], trip[:, 2]
    R = num_relations
    n_triples = torch.bincount(r, minlength=R).double()
    n_heads = torch.bincount(torch.unique(r * num_nodes + h) // num_nodes, minlength=R)
    n_tails = torch.bincount(torch.unique(r * num_nodes + t) // num_nodes, minlength=R)
    tph = n_triples / n_heads.clamp(min=1)
    hpt = n_triples / n_tails.clamp(min=1)
    cat = (tph >= threshold).long() + 2 * (hpt >= threshold).long()
    return cat.masked_fill(n_triples == 0, -1)


class _KnownTrue:
    r"""Known true triples grouped by the fixed (entity, relation) of one side, as a
    sorted key array, to gather the filtered candidates of a batch vectorised."""
    def __init__(self, fixed: Tensor, rel: Tensor, cand: Tensor, num_entities: int,
                 num_relations: int):
        self.E, self.R = num_entities, num_relations
        key = torch.unique((fixed * num_relations + rel) * num_entities + cand)
        self.group = key // num_entities
        self.cand = key % num_entities

    def gather(self, fixed: Tensor, rel: Tensor) -> Tuple[Tensor, Tensor]:
        query = fixed * self.R + rel
        lo = torch.searchsorted(self.group, query)
        hi = torch.searchsorted(self.group, query, right=True)
        count = hi - lo
        row = torch.repeat_interleave(torch.arange(query.numel(), device=query.device), count)
        offset = torch.arange(row.numel(), device=query.device)
        offset = offset - (count.cumsum(0) - count)[row]
        return row, self.cand[lo[row] + offset]


@torch.no_grad()
def kg_completion_ranks(
    score_fn: Callable[[Tensor, Tensor, Tensor], Tensor],
    test_triples: Triples,
    num_entities: int,
    filter_triples: Optional[Triples] = None,
    batch_size: Optional[int] = None,
    ties: str = 'pessimistic',
    device: Optional[Union[str, torch.device]] = None,
    progress: bool = False,
    distributed: Optional[bool] = None,
    group=None,
) -> Dict[str, Tensor]:
    r"""Rank of the true entity of every test triple (see the module docstring).

    Returns:
        :obj:`{'raw_head', 'raw_tail'[, 'filtered_head', 'filtered_tail']}`, each a
        float64 tensor :obj:`[n]` of 1-based ranks (filtered keys only when
        :obj:`filter_triples` is given). Arguments as in
        :func:`evaluate_kg_completion`.
    """
    if ties not in _TIE_FACTOR:
        raise ValueError(f"'ties' must be one of {sorted(_TIE_FACTOR)} (got {ties!r})")
    if num_entities <= 0:
        raise ValueError(f"'num_entities' must be positive (got {num_entities})")
    if isinstance(test_triples, Tensor):
        default_device = test_triples.device
    else:
        default_device = torch.as_tensor(test_triples[0]).device
    device = torch.device(device) if device is not None else default_device
    h, r, t = _as_triples(test_triples, 'test_triples', device)
    if h.numel() and max(int(h.max()), int(t.max())) >= num_entities:
        raise ValueError(f"'test_triples' contains an entity >= num_entities={num_entities}")
    if batch_size is None:
        batch_size = max(1, 2**20 // num_entities)
    if batch_size <= 0:
        raise ValueError(f"'batch_size' must be positive (got {batch_size})")

    known = None
    if filter_triples is not None:
        fh, fr, ft = _as_triples(filter_triples, 'filter_triples', device)
        if fh.numel() and max(int(fh.max()), int(ft.max())) >= num_entities:
            raise ValueError(f"'filter_triples' contains an entity >= num_entities="
                             f"{num_entities}")
        fh, fr, ft = torch.cat([fh, h]), torch.cat([fr, r]), torch.cat([ft, t])
        R = int(fr.max()) + 1 if fr.numel() else 1
        known = {  # side -> known true candidates given the other two
            'tail': _KnownTrue(fh, fr, ft, num_entities, R),
            'head': _KnownTrue(ft, fr, fh, num_entities, R),
        }

    # Sharded: rank r of W ranks batches r, r + W, ...; every other entry stays 0 here
    # and the ranks (exact small integers / halves in float64) are summed over ranks.
    group, rank_id, world_size = resolve_group(distributed, group)
    out = {key: torch.zeros(h.numel(), dtype=torch.double, device=device)
           for key in ['raw_head', 'raw_tail'] +
           (['filtered_head', 'filtered_tail'] if known else [])}
    entities = torch.arange(num_entities, device=device)
    starts = range(rank_id * batch_size, h.numel(), world_size * batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc='evaluate_kg_completion', unit='batch')
    for start in starts:
        hb, rb, tb = (x[start:start + batch_size] for x in (h, r, t))
        end = start + hb.numel()
        B = hb.numel()
        arange = torch.arange(B, device=device)
        for side in ('head', 'tail'):
            fixed, target = (tb, hb) if side == 'head' else (hb, tb)
            cand = entities.repeat(B)
            rel = rb.repeat_interleave(num_entities)
            other = fixed.repeat_interleave(num_entities)
            score = score_fn(cand, rel, other) if side == 'head' else score_fn(other, rel, cand)
            if not isinstance(score, Tensor) or score.numel() != B * num_entities:
                raise ValueError(f"'score_fn' must return a tensor with one score per "
                                 f"triple ({B * num_entities}), got "
                                 f"{getattr(score, 'shape', type(score).__name__)}")
            score = score.to(device).view(B, num_entities)
            if torch.isnan(score).any():
                raise ValueError("'score_fn' returned NaN scores; ranking is undefined")
            target_score = score[arange, target]
            valid = torch.ones_like(score, dtype=torch.bool)
            valid[arange, target] = False
            out[f'raw_{side}'][start:end] = rank_with_ties(target_score, score, valid, ties)
            if known:
                row, col = known[side].gather(fixed, rb)
                valid[row, col] = False
                out[f'filtered_{side}'][start:end] = rank_with_ties(
                    target_score, score, valid, ties)
    if world_size > 1:
        out = {key: all_reduce_sum(value, group) for key, value in out.items()}
    return out


@torch.no_grad()
def evaluate_kg_completion(
    score_fn: Callable[[Tensor, Tensor, Tensor], Tensor],
    test_triples: Triples,
    num_entities: int,
    filter_triples: Optional[Triples] = None,
    ks: Iterable[int] = (1, 3, 10),
    batch_size: Optional[int] = None,
    relation_category: Optional[Tensor] = None,
    ties: str = 'pessimistic',
    device: Optional[Union[str, torch.device]] = None,
    progress: bool = False,
    distributed: Optional[bool] = None,
    group=None,
) -> Dict[str, float]:
    r"""Raw and filtered KG completion metrics for head and tail prediction (see the
    module docstring for the ranking protocol).

    Args:
        score_fn (callable): :obj:`score_fn(head, rel, tail) -> Tensor[m]` for 1-D
            LongTensors of equal length :obj:`m`, higher = more plausible (as
            :meth:`torch_geometric.nn.kge.KGEModel.forward`).
        test_triples: :obj:`(head, rel, tail)` 1-D LongTensors or a :obj:`[3, n]`
            tensor.
        num_entities (int): Number of entities (all are candidates).
        filter_triples (optional): All known true triples (train + valid + test),
            same format; the test triples are always added. If :obj:`None`, only
            raw metrics are returned.
        ks (iterable of int): Cut-offs of Hits@:math:`k`. (default: :obj:`(1, 3, 10)`)
        batch_size (int, optional): Test triples per chunk; each chunk calls
            :obj:`score_fn` on :obj:`batch_size * num_entities` triples.
            (default: :obj:`max(1, 2**20 // num_entities)`)
        relation_category (torch.Tensor, optional): Output of
            :func:`relation_categories` on the training triples; adds Hits@:math:`k`
            per category.
        ties (str): :obj:`'pessimistic'` (default), :obj:`'average'` or
            :obj:`'optimistic'`.
        device (torch.device, optional): Device of the candidate tensors passed to
            :obj:`score_fn`. (default: device of :obj:`test_triples`)
        progress (bool): Show a :obj:`tqdm` progress bar. (default: :obj:`False`)
        distributed (bool, optional): Shard the test triples over the ranks of
            :obj:`group` (rank :math:`r` of :math:`W` scores batches :math:`r, r + W,
            \dots`; the ranks are all-reduced, so every rank returns exactly the
            single-process result). :obj:`None` (default): when
            :mod:`torch.distributed` is initialised; :obj:`False`: never. Every rank
            must call it with the same arguments.
        group (ProcessGroup, optional): Process group. (default: the whole world)

    Returns:
        A flat dict with, for :obj:`setting` in :obj:`raw`/:obj:`filtered` and
        :obj:`side` in :obj:`head`/:obj:`tail`/:obj:`avg` (mean of head and tail):
        :obj:`f'{setting}_{side}_mr'`, :obj:`f'{setting}_{side}_mrr'`,
        :obj:`f'{setting}_{side}_hits@{k}'`; with :obj:`relation_category`, also
        :obj:`f'{setting}_{side}_hits@{k}_{cat}'` for :obj:`side` in
        :obj:`head`/:obj:`tail` and :obj:`cat` in :obj:`'1-1', '1-N', 'N-1', 'N-N'`
        (NaN when a category has no test triple) and :obj:`f'num_triples_{cat}'`;
        and :obj:`'num_triples'`.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] <= 0:
        raise ValueError(f"'ks' must be positive integers (got {ks})")
    ranks = kg_completion_ranks(score_fn, test_triples, num_entities, filter_triples,
                                batch_size, ties, device, progress, distributed, group)
    _, rel, _ = _as_triples(test_triples, 'test_triples', ranks['raw_head'].device)
    if rel.numel() == 0:
        raise ValueError("'test_triples' is empty")

    cat = None
    if relation_category is not None:
        relation_category = torch.as_tensor(relation_category).to(rel.device).long()
        if relation_category.dim() != 1 or int(rel.max()) >= relation_category.numel():
            raise ValueError(f"'relation_category' must be a 1-D tensor with an entry for "
                             f"every relation (got shape {list(relation_category.shape)}, "
                             f"max test relation {int(rel.max())})")
        cat = relation_category[rel]

    out: Dict[str, float] = {'num_triples': int(rel.numel())}
    for setting in ('raw', 'filtered'):
        if f'{setting}_head' not in ranks:
            continue
        per_side = {side: ranks[f'{setting}_{side}'] for side in ('head', 'tail')}
        per_side['avg'] = torch.cat([per_side['head'], per_side['tail']])
        for side, rank in per_side.items():
            out[f'{setting}_{side}_mr'] = float(rank.mean())
            out[f'{setting}_{side}_mrr'] = float((1.0 / rank).mean())
            for k in ks:
                out[f'{setting}_{side}_hits@{k}'] = float((rank <= k).double().mean())
        if cat is None:
            continue
        for code, name in enumerate(RELATION_CATEGORIES):
            mask = cat == code
            out[f'num_triples_{name}'] = int(mask.sum())
            for side in ('head', 'tail'):
                rank = per_side[side][mask]
                for k in ks:
                    out[f'{setting}_{side}_hits@{k}_{name}'] = (
                        float((rank <= k).double().mean()) if rank.numel() else float('nan'))
    return out
