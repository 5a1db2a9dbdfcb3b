r"""Seeded train/validation/test split of KG triples for KG completion (KTUP, 7:1:2)."""
from typing import Sequence, Tuple

import torch
from torch import Tensor


def kg_triple_split(edge_index: Tensor, edge_type: Tensor,
                    ratios: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0,
                    group_inverse: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Randomly splits KG triples into train / validation / test parts.

    With :obj:`group_inverse=True` (default), all triples between the same two
    entities (in either direction, e.g. :obj:`(m, directed_by, d)` and its inverse
    :obj:`(d, director_of, m)`) land in the *same* part, so that a test triple is
    never answered by its own inverse seen in training (the FB15k leakage).

    Args:
        edge_index (torch.Tensor): Heads and tails :obj:`[2, T]`.
        edge_type (torch.Tensor): Relations :obj:`[T]`.
        ratios (tuple): (train, val, test) fractions. (default: :obj:`(0.7, 0.1, 0.2)`)
        seed (int): Random seed. (default: :obj:`0`)
        group_inverse (bool): Keep entity pairs together. (default: :obj:`True`)

    Returns:
        Three :obj:`[3, n]` long tensors of (head, relation, tail) rows.
    """
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, T] (got {tuple(edge_index.shape)})")
    if edge_type.numel() != edge_index.size(1):
        raise ValueError("'edge_type' must have one entry per triple")
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"'ratios' must be three non-negative fractions summing to 1 "
                         f"(got {tuple(ratios)})")
    h, t, r = edge_index[0].long().cpu(), edge_index[1].long().cpu(), edge_type.long().cpu()
    gen = torch.Generator().manual_seed(seed)
    if group_inverse:
        n = int(edge_index.max()) + 1 if edge_index.numel() else 1
        key = torch.minimum(h, t) * n + torch.maximum(h, t)
        _, group = torch.unique(key, return_inverse=True)
    else:
        group = torch.arange(h.numel())
    num_groups = int(group.max()) + 1 if group.numel() else 0
    order = torch.randperm(num_groups, generator=gen)
    # cut the shuffled groups where the cumulative number of triples reaches each ratio
    sizes = torch.bincount(group, minlength=num_groups)[order]
    cum = sizes.cumsum(0).double() / max(1, h.numel())
    n_train = int((cum <= ratios[0] + 1e-12).sum())
    n_val = int((cum <= ratios[0] + ratios[1] + 1e-12).sum()) - n_train
    part = torch.full((num_groups, ), 2, dtype=torch.long)
    part[order[:n_train]] = 0
    part[order[n_train:n_train + n_val]] = 1
    triple_part = part[group]
    rows = torch.stack([h, r, t])
    return tuple(rows[:, triple_part == k] for k in range(3))
