from typing import Callable, List, Optional

import numpy as np
import torch
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.io import first_unique
from torch_geometric_kgrec.datasets.schema import make_kgrec_data

RELATION_NAMES = ['genre', 'director', 'actor', 'writer', 'producer', 'country',
                  'language', 'studio', 'composer', 'cinematographer', 'editor', 'series']


def _relation_names(num_relations: int) -> List[str]:
    return [RELATION_NAMES[r] if r < len(RELATION_NAMES) else f'relation_{r}'
            for r in range(num_relations)]


def _unique_fill(draw: Callable[[int, int, np.ndarray], np.ndarray], need: int,
                 first: Optional[np.ndarray] = None) -> np.ndarray:
    r"""Draw integer keys with :obj:`draw(n, round, keys_so_far)` until :obj:`need`
    distinct keys exist; return them in the order they were first drawn."""
    keys = first if first is not None else np.empty(0, dtype=np.int64)
    keys = keys[first_unique(keys)] if keys.size else keys
    rnd = 0
    while keys.size < need:
        missing = need - keys.size
        cand = draw(int(missing * 1.25) + 64, rnd, keys)
        keys = np.concatenate([keys, cand])
        keys = keys[first_unique(keys)]
        rnd += 1
    return keys[:need]


def _interactions_per_user(rng: np.random.Generator, pool: np.ndarray, total: int,
                           noise: float) -> np.ndarray:
    r"""Interactions per user: 1 + a log-normal share of the remaining ``total - U``,
    capped (by water-filling) at half of what the user's preferred pool can supply,
    ``0.5 * pool / (1 - noise)``, so that users keep following their preferences."""
    U = pool.size
    extra = total - U
    want = rng.lognormal(0.0, 0.8, U)
    cap = np.full(U, np.inf) if noise >= 1 else np.maximum(
        0.5 * pool / (1.0 - noise) - 1.0, 0.0)
    if extra <= 0:
        return np.ones(U, dtype=np.int64)
    if cap.sum() >= extra:  # find s with sum(min(s * want, cap)) == extra
        lo, hi = 0.0, float(extra / want.min())
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if np.minimum(mid * want, cap).sum() < extra:
                lo = mid
            else:
                hi = mid
        quota = np.minimum(hi * want, cap)
    else:  # the pools are too small: spill the rest over in proportion to activity
        quota = cap + (extra - cap.sum()) * want / want.sum()
    base = np.floor(quota).astype(np.int64)
    rest = int(extra - base.sum())
    if rest > 0:
        frac = quota - base + 1e-12
        base[rng.choice(U, rest, replace=False, p=frac / frac.sum())] += 1
    return 1 + base


def generate_synthetic_kg(num_users: int = 1000, num_items: int = 2000,
                          num_entities: int = 6000, num_relations: int = 8,
                          num_triples: int = 20000, num_interactions: int = 20000,
                          prefs_per_user: int = 3, noise: float = 0.2,
                          seed: int = 0) -> HeteroData:
    r"""Generate a recommendation dataset with a *planted* knowledge-graph structure
    (see :class:`SyntheticKG`). Deterministic given the arguments; fully vectorised."""
    U, I, E, R = int(num_users), int(num_items), int(num_entities), int(num_relations)
    T, N, P = int(num_triples), int(num_interactions), int(prefs_per_user)
    A = E - I
    if U < 1 or I < 1 or R < 1 or P < 1:
        raise ValueError('num_users, num_items, num_relations and prefs_per_user must be '
                         'positive')
    if A < R:
        raise ValueError(f'num_entities={E} leaves {A} attribute entities for '
                         f'{R} relations (need num_entities >= num_items + num_relations)')
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f'noise must be in [0, 1] (got {noise})')
    if not I <= T <= I * A // 2:
        raise ValueError(f'num_triples={T} must be in [num_items, num_items * '
                         f'num_attribute_entities / 2] = [{I}, {I * A // 2}]')
    if not U <= N <= U * I // 2:
        raise ValueError(f'num_interactions={N} must be in [num_users, num_users * '
                         f'num_items / 2] = [{U}, {U * I // 2}]')
    rng = np.random.default_rng(seed)

    # Attribute entities I .. E-1 in one block per relation; block r has ~(r+1) shares,
    # so early relations (genre) have few, popular values and late ones many.
    w = np.arange(1, R + 1, dtype=np.float64)
    sizes = 1 + np.floor((A - R) * w / w.sum()).astype(np.int64)
    sizes[-1] += A - sizes.sum()
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # within attribute range
    rel_of_attr = np.repeat(np.arange(R), sizes)
    rel_p = np.sqrt(sizes) / np.sqrt(sizes).sum()

    def draw_triples(n: int, rnd: int, keys: Optional[np.ndarray] = None) -> np.ndarray:
        heads = rng.integers(0, I, n)
        if rnd < 2:  # relation first, then a skewed (Zipf-like) value within its block
            r = rng.choice(R, n, p=rel_p)
            local = np.floor(sizes[r] * rng.random(n) ** 2).astype(np.int64)
            attr = offsets[r] + local
        else:  # uniform over all attribute entities: always makes progress
            attr = rng.integers(0, A, n)
        return heads * A + attr

    first = rng.permutation(I) * A + draw_triples(I, 0) % A  # every item gets a triple
    keys = np.sort(_unique_fill(draw_triples, T, first))
    head, attr = keys // A, keys % A
    rel = rel_of_attr[attr]
    tail = attr + I

    # Items carrying each attribute (CSR over attributes).
    order = np.argsort(attr, kind='stable')
    attr_items = head[order]
    deg = np.bincount(attr, minlength=A)
    start = np.concatenate([[0], np.cumsum(deg)[:-1]])

    # Planted preferences: each user likes P attribute values, drawn proportionally to
    # their degree among the *specific* values (carried by at most max(10, I / 20) items:
    # directors and actors rather than the most common genres).
    cap = max(10, I // 20)
    weight = np.where(deg <= cap, deg, 0).astype(np.float64)
    if weight.sum() == 0:
        weight = deg.astype(np.float64)
    prefs = rng.choice(A, (U, P), p=weight / weight.sum())
    target = _interactions_per_user(rng, deg[prefs].sum(1), N, noise)
    pop_rank = rng.permutation(I)  # item popularity order for noise interactions

    def draw_pairs(u: np.ndarray, rnd: int) -> np.ndarray:
        n = u.size
        a = prefs[u, rng.integers(0, P, n)]
        item = attr_items[start[a] + np.floor(rng.random(n) * deg[a]).astype(np.int64)]
        p_noise = noise if rnd < 3 else 1.0  # later top-up rounds: always make progress
        is_noise = rng.random(n) < p_noise
        k = int(is_noise.sum())
        item[is_noise] = pop_rank[np.floor(I * rng.random(k) ** 2).astype(np.int64)]
        return u * I + item

    def draw_more(n: int, rnd: int, keys: np.ndarray) -> np.ndarray:
        deficit = np.maximum(target - np.bincount(keys // I, minlength=U), 0)
        users = np.repeat(np.arange(U), deficit)
        if users.size == 0 or n > users.size:  # oversample in proportion to the deficit
            p = deficit + 1e-9
            users = np.concatenate([users, rng.choice(U, n - users.size, p=p / p.sum())])
        return draw_pairs(rng.permutation(users), rnd)

    # every user interacts at least once: the first U draws are one per user
    first_pairs = draw_pairs(np.arange(U), 0)
    pair_keys = _unique_fill(draw_more, N, first_pairs)
    users, items = pair_keys // I, pair_keys % I

    names = _relation_names(R)
    entity_ids = [f'item_{i}' for i in range(I)] + [
        f'{names[r]}_{k}' for r in range(R) for k in range(int(sizes[r]))]
    data = make_kgrec_data(
        num_users=U, num_items=I, num_entities=E, kg_edge_index=np.stack([head, tail]),
        kg_edge_type=rel, relation_names=names, interactions=np.stack([users, items]),
        user_ids=[f'user_{u}' for u in range(U)], item_ids=entity_ids[:I],
        entity_ids=entity_ids)
    data['user'].preferred_entities = torch.from_numpy(prefs + I)
    return data


class SyntheticKG(KGRecDataset):
    r"""A synthetic knowledge-graph recommendation dataset with a **planted** structure
    that a KG-aware recommender can exploit and a popularity baseline cannot.

    * Entities ``num_items .. num_entities-1`` are attribute values, split into one block
      per relation (``genre``, ``director``, ``actor``, ...; block ``r`` has a share
      proportional to ``r + 1``, so the first relations have few, popular values).
    * ``num_triples`` unique item -> attribute triples ``(item, r, value)``: every item
      gets at least one; the relation of a triple is drawn with probability proportional
      to the square root of its block size, the value with a skew towards the first
      values of the block.
    * Every user prefers ``prefs_per_user`` attribute values
      (:obj:`data['user'].preferred_entities`, entity indices), drawn proportionally to
      their number of items among the values carried by at most
      ``max(10, num_items // 20)`` items. Each interaction is, with
      probability ``1 - noise``, an item carrying one of the user's preferred values,
      else an item drawn from a skewed popularity distribution (once a user's preferred
      items are used up, further draws are noise). Every user has at least one
      interaction; activity is log-normal, capped by water-filling at half of what the
      user's preferred items can supply; pairs are unique.

    Generation is deterministic given the arguments (which the processed file name
    encodes) and fully vectorised: 125k users, 50k items, 250k entities, 12M triples and
    4M interactions take about 15 s of CPU time and 2 GB of memory to generate (see
    ``datasets/synthetic.md``).

    Args:
        root: Folder for the processed file (default: a cache folder).
        num_users, num_items, num_entities, num_relations, num_triples,
            num_interactions: Sizes (``num_entities >= num_items + num_relations``;
            ``num_items <= num_triples <= num_items * (num_entities - num_items) / 2``;
            ``num_users <= num_interactions <= num_users * num_items / 2``).
        prefs_per_user: Planted preferred attribute values per user. (default: 3)
        noise: Fraction of interactions that ignore the preferences. (default: 0.2)
        seed: Random seed. (default: 0)
        transform, pre_transform, force_reload: As in
            :class:`~torch_geometric.data.InMemoryDataset`.
    """
    name = 'synthetic'
    subdir = ''

    def __init__(self, root: Optional[str] = None, num_users: int = 1000,
                 num_items: int = 2000, num_entities: int = 6000, num_relations: int = 8,
                 num_triples: int = 20000, num_interactions: int = 20000,
                 prefs_per_user: int = 3, noise: float = 0.2, seed: int = 0,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        self.kwargs = dict(num_users=num_users, num_items=num_items,
                           num_entities=num_entities, num_relations=num_relations,
                           num_triples=num_triples, num_interactions=num_interactions,
                           prefs_per_user=prefs_per_user, noise=float(noise), seed=seed)
        super().__init__(root, None, transform, pre_transform, force_reload)

    @property
    def raw_file_names(self) -> List[str]:
        return []

    @property
    def processed_file_names(self) -> str:
        k = self.kwargs
        return (f"synthetic_u{k['num_users']}_i{k['num_items']}_e{k['num_entities']}"
                f"_r{k['num_relations']}_t{k['num_triples']}_n{k['num_interactions']}"
                f"_p{k['prefs_per_user']}_noise{k['noise']:g}_s{k['seed']}.pt")

    def fetch(self) -> None:
        pass  # nothing to download

    def process_raw(self) -> HeteroData:
        return generate_synthetic_kg(**self.kwargs)

    def __repr__(self) -> str:
        k = self.kwargs
        return (f"SyntheticKG(num_users={k['num_users']}, num_items={k['num_items']}, "
                f"num_entities={k['num_entities']}, num_triples={k['num_triples']}, "
                f"num_interactions={k['num_interactions']})")
