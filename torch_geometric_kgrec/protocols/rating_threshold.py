r"""Explicit ratings to CTR labels as KGCN's MovieLens preprocessing does (Wang et al.,
WWW 2019, ``preprocess.py``; used for MovieLens by the semantic contrastive learning
paper, Kim et al., LREC-COLING 2024)."""
import copy

import torch

from torch_geometric_kgrec.protocols.sampling import (PositiveIndex,
                                                      sample_distinct_non_positives)

__all__ = ['rating_threshold_labels']

INTERACTS = ('user', 'interacts', 'entity')
NEGATIVE = ('user', 'negative', 'entity')


def rating_threshold_labels(data, threshold: float = 4.0, seed: int = 0):
    r"""A copy of :obj:`data` whose positives are the ratings :math:`\ge`
    :obj:`threshold` and whose labelled negatives (``('user', 'negative', 'entity')``,
    which :func:`~torch_geometric_kgrec.protocols.ctr_split` then uses) are, per user, as
    many items as it has positives, drawn uniformly without replacement among the items
    it **never rated** (a low rating is neither a positive nor a negative, as in KGCN's
    code). Users left without a positive keep no pair.

    Args:
        data (HeteroData): Dataset with :obj:`data['user', 'interacts', 'entity'].rating`.
        threshold (float): Smallest positive rating. (default: :obj:`4.0`)
        seed (int): Seed of the negative draw. (default: :obj:`0`)
    """
    store = data[INTERACTS]
    if 'rating' not in store:
        raise ValueError("rating_threshold_labels needs data['user', 'interacts', "
                         "'entity'].rating")
    num_users, num_items = data['user'].num_nodes, int(data.num_items)
    rated = store.edge_index
    keep = store.rating >= threshold
    out = copy.copy(data)
    out[INTERACTS].edge_index = rated[:, keep]
    for key in list(store.keys()):
        if key != 'edge_index' and torch.is_tensor(store[key]) and \
                store[key].size(0) == keep.numel():
            out[INTERACTS][key] = store[key][keep]
    rated_index = PositiveIndex(rated, num_users, num_items, name='interacts edge_index')
    pos_count = torch.bincount(rated[0, keep], minlength=num_users)
    k = torch.minimum(pos_count, rated_index.num_available)
    rows = (k > 0).nonzero().view(-1)
    gen = torch.Generator().manual_seed(seed)
    row, item = sample_distinct_non_positives(rated_index, rows, k[rows], gen)
    out[NEGATIVE].edge_index = torch.stack([rows[row], item])
    return out
