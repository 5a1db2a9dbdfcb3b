r"""A deterministic synthetic cross-domain dataset with a planted, shared entity
vocabulary (for MeKB-Rec tests)."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.schema import make_kgrec_data

__all__ = ['generate_synthetic_cdr', 'SYNTHETIC_TOPIC_WORDS']

#: Default entity titles: common English words (single WordPiece tokens in BERT-style
#: vocabularies), so that a text encoder can tell the entities apart.
SYNTHETIC_TOPIC_WORDS = [
    'red', 'blue', 'green', 'black', 'white', 'music', 'paper', 'water', 'house',
    'river', 'light', 'night', 'money', 'story', 'power', 'world', 'school', 'family',
    'city', 'game', 'book', 'film', 'road', 'fire', 'stone', 'wood', 'glass', 'metal',
    'bird', 'horse', 'tree', 'flower', 'summer', 'winter', 'ocean', 'mountain',
]


def generate_synthetic_cdr(num_users: int = 300, num_items: Sequence[int] = (200, 200),
                           num_topics: int = 24, topics_per_item: int = 2,
                           prefs_per_user: int = 2,
                           interactions_per_user: Sequence[int] = (8, 8),
                           noise: float = 0.1, topic_names: Optional[List[str]] = None,
                           seed: int = 0) -> HeteroData:
    r"""A two-domain dataset in the schema of
    :class:`~torch_geometric_kgrec.datasets.AmazonArtOfficeCDR` with planted per-user
    entity interests that transfer across domains.

    * Items: domain 0 first (``num_items[0]``), then domain 1; entities after the items
      are :obj:`num_topics` **shared** topic entities with titles
      :obj:`topic_names` (default :obj:`SYNTHETIC_TOPIC_WORDS`); every item links to
      :obj:`topics_per_item` distinct topics (relation ``has_topic``), its first
      topic cycling over the topics so every topic has items in both domains.
    * Every user prefers :obj:`prefs_per_user` topics
      (:obj:`data['user'].preferred_entities`, entity indices). In domain :math:`d` a
      user has :obj:`interactions_per_user[d]` distinct items: with probability
      :math:`1 - \text{noise}` an item carrying a preferred topic, else a uniform item.
    * :obj:`time` is a random order of each user's interactions;
      :obj:`data.item_text` = the item's topic titles; :obj:`data.entity_names`,
      :obj:`data.entity_kind` (0 item, 1 topic), :obj:`data.item_domain`.

    Deterministic given the arguments.
    """
    rng = np.random.default_rng(seed)
    names = list(topic_names or SYNTHETIC_TOPIC_WORDS)
    if num_topics > len(names):
        raise ValueError(f'num_topics={num_topics} but only {len(names)} topic names')
    names = names[:num_topics]
    n_items = [int(n) for n in num_items]
    I = sum(n_items)
    offset = [0, n_items[0]]
    domain = np.repeat(np.arange(2), n_items)
    item_topics = np.zeros((I, topics_per_item), dtype=np.int64)
    for i in range(I):
        first = (i - offset[domain[i]]) % num_topics
        rest = rng.choice(np.delete(np.arange(num_topics), first), topics_per_item - 1,
                          replace=False)
        item_topics[i] = np.r_[first, rest]
    prefs = np.stack([rng.choice(num_topics, prefs_per_user, replace=False)
                      for _ in range(num_users)])
    users, items = [], []
    for u in range(num_users):
        for d in range(2):
            lo, hi = offset[d], offset[d] + n_items[d]
            liked = np.flatnonzero(np.isin(item_topics[lo:hi], prefs[u]).any(1)) + lo
            chosen: set = set()
            need = min(int(interactions_per_user[d]), n_items[d])
            while len(chosen) < need:
                if rng.random() >= noise and len(set(liked) - chosen) > 0:
                    it = int(rng.choice(liked))
                else:
                    it = int(rng.integers(lo, hi))
                chosen.add(it)
            users += [u] * len(chosen)
            items += sorted(chosen)
    users, items = np.asarray(users), np.asarray(items)
    time = np.zeros_like(users)
    for u in range(num_users):
        m = np.flatnonzero(users == u)
        time[m] = rng.permutation(m.size)
    head = np.repeat(np.arange(I), topics_per_item)
    tail = item_topics.reshape(-1) + I
    data = make_kgrec_data(
        num_users=num_users, num_items=I, num_entities=I + num_topics,
        kg_edge_index=np.stack([head, tail]), kg_edge_type=np.zeros_like(head),
        relation_names=['has_topic'], interactions=np.stack([users, items]),
        interaction_attrs={'time': time},
        item_text=[' '.join(names[t] for t in item_topics[i]) for i in range(I)],
        user_ids=[f'user_{u}' for u in range(num_users)],
        item_ids=[f'item_{i}' for i in range(I)])
    data.entity_names = [f'item {i}' for i in range(I)] + names
    data.entity_kind = torch.tensor([0] * I + [1] * num_topics)
    data.item_domain = torch.from_numpy(domain)
    data.domain_names = ['source', 'target']
    data['user'].preferred_entities = torch.from_numpy(prefs + I)
    return data
