r"""Diversity of top-:math:`k` recommendation lists (Kim et al., LREC-COLING 2024,
"Semantic contrastive learning for diversity and cold-start users", eq. 6-7; the
paper computes them with Fidelity's Jurity).

Both are computed exactly over **all** users (Jurity subsamples users) in
:math:`O(NK)` / :math:`O(NKd)` time via the identity
:math:`\sum_{i<j} \langle a_i, a_j\rangle = (\|\sum_i a_i\|^2 - \sum_i\|a_i\|^2)/2`
for the unit-normalised vectors :math:`a_i`, never forming the :math:`N \times N`
matrix.

Recommendation lists are :obj:`LongTensor[N, K]` of item indices (e.g. the
:obj:`index` of :func:`~torch_geometric_kgrec.metrics.topk_with_exclusion`);
entries :obj:`-1` are padding (shorter lists). Items must be unique within a list.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['inter_list_diversity', 'intra_list_diversity']


def _check_lists(rec: Tensor, name: str = 'rec') -> Tuple[Tensor, Tensor]:
    if not isinstance(rec, Tensor) or rec.dim() != 2 or rec.is_floating_point():
        raise ValueError(f"'{name}' must be a LongTensor of shape [num_users, k]")
    rec = rec.long()
    valid = rec >= 0
    if (rec < -1).any():
        raise ValueError(f"'{name}' contains indices < -1 (-1 is the only padding value)")
    srt = rec.sort(dim=1).values
    if ((srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)).any():
        raise ValueError(f"'{name}' contains an item twice in the same list")
    return rec, valid


def inter_list_diversity(rec: Tensor) -> float:
    r"""Inter-list diversity@:math:`k`, eq. (6): the mean cosine distance between
    the binary indicator vectors :math:`R_{u_i}` of the recommendation lists of all
    unique user pairs :math:`\mathcal{I} = \{(u_i, u_j) : i < j\}`,

    .. math::
        \frac{1}{|\mathcal{I}|} \sum_{(u_i, u_j) \in \mathcal{I}}
        \left(1 - \frac{\langle R_{u_i}, R_{u_j}\rangle}
        {\|R_{u_i}\|\,\|R_{u_j}\|}\right)
        = 1 - \frac{1}{|\mathcal{I}|} \sum_{i<j}
        \frac{|L_i \cap L_j|}{\sqrt{|L_i|\,|L_j|}},

    i.e. one minus the mean overlap :math:`|L_i \cap L_j| / k` for lists of equal
    length :math:`k` (PyG's :class:`LinkPredPersonalization` without subsampling).
    Empty lists are skipped.

    Args:
        rec (torch.Tensor): Recommended items :obj:`[N, k]` (:obj:`-1` = padding).
    """
    rec, valid = _check_lists(rec)
    length = valid.sum(dim=1)
    keep = length > 0
    rec, valid, length = rec[keep], valid[keep], length[keep]
    n = rec.size(0)
    if n < 2:
        raise ValueError('Inter-list diversity needs at least two non-empty lists')
    weight = (1.0 / length.double().sqrt()).view(-1, 1).expand_as(rec)[valid]
    items = rec[valid]
    s = torch.zeros(int(items.max()) + 1, dtype=torch.double, device=rec.device)
    s.index_add_(0, items, weight)
    sum_cos = (s.pow(2).sum() - n) / 2
    return float(1.0 - sum_cos / (n * (n - 1) / 2))


def intra_list_diversity(rec: Tensor, item_emb: Tensor, batch_size: int = 1024) -> float:
    r"""Intra-list diversity@:math:`k`, eq. (7): for each user, the mean cosine
    distance between the content features of all unique pairs
    :math:`\mathcal{I}_u = \{(p, q) : p < q\}` of its recommended items, averaged
    over the :math:`N` users,

    .. math::
        \frac{1}{N} \sum_{i=1}^{N} \frac{1}{|\mathcal{I}_{u_i}|}
        \sum_{(p, q) \in \mathcal{I}_{u_i}}
        \left(1 - \cos(v^{u_i}_p, v^{u_i}_q)\right).

    Users with fewer than two items are skipped. A zero feature vector has cosine
    similarity 0 with everything.

    Args:
        rec (torch.Tensor): Recommended items :obj:`[N, k]` (:obj:`-1` = padding).
        item_emb (torch.Tensor): Item features :obj:`[num_items, d]` (e.g. the
            trained model's item embeddings).
        batch_size (int): Users per chunk. (default: :obj:`1024`)
    """
    rec, valid = _check_lists(rec)
    if item_emb.dim() != 2:
        raise ValueError(f"'item_emb' must have shape [num_items, d] "
                         f"(got {list(item_emb.shape)})")
    if rec.numel() and int(rec.max()) >= item_emb.size(0):
        raise ValueError(f"'rec' contains item {int(rec.max())} but 'item_emb' has "
                         f"{item_emb.size(0)} rows")
    emb = F.normalize(item_emb.detach().double(), dim=-1).to(rec.device)
    total, count = 0.0, 0
    for start in range(0, rec.size(0), batch_size):
        r, v = rec[start:start + batch_size], valid[start:start + batch_size]
        length = v.sum(dim=1)
        x = emb[r.clamp(min=0)] * v.unsqueeze(-1)  # [B, k, d], padding -> 0
        sum_cos = (x.sum(dim=1).pow(2).sum(-1) - x.pow(2).sum((1, 2))) / 2
        pairs = length * (length - 1) / 2
        keep = length >= 2
        total += float((1.0 - sum_cos[keep] / pairs[keep]).sum())
        count += int(keep.sum())
    if count == 0:
        raise ValueError('Intra-list diversity needs a list with at least two items')
    return total / count
