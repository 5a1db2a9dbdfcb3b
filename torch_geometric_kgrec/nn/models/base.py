r"""Shared behaviour of every recommender model (top-k recommendation)."""
from typing import Optional

import torch
from torch import Tensor


def mask_scores(scores: Tensor, users: Tensor, exclude_edge_index: Optional[Tensor]) -> Tensor:
    r"""Return a copy of :obj:`scores` (:obj:`[B, num_items]`, row :obj:`b` belongs to
    :obj:`users[b]`) where every (user, item) pair of :obj:`exclude_edge_index`
    (:obj:`[2, n]`, e.g. the training interactions) is set to :obj:`-inf`."""
    if exclude_edge_index is None or exclude_edge_index.numel() == 0:
        return scores
    scores = scores.clone()
    num_users = int(max(users.max().item(), exclude_edge_index[0].max().item())) + 1
    row_of_user = torch.full((num_users, ), -1, dtype=torch.long, device=scores.device)
    row_of_user[users] = torch.arange(users.numel(), device=scores.device)
    rows = row_of_user[exclude_edge_index[0].to(scores.device)]
    keep = rows >= 0
    scores[rows[keep], exclude_edge_index[1].to(scores.device)[keep]] = float('-inf')
    return scores


class RecommenderMixin:
    r"""Gives a model with :meth:`score_all` a :meth:`recommend` method."""
    def score_all(self, users: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    @torch.no_grad()
    def recommend(self, users: Tensor, k: int,
                  exclude_edge_index: Optional[Tensor] = None) -> Tensor:
        r"""Top-:obj:`k` items for each user of :obj:`users`, never returning an item of
        :obj:`exclude_edge_index` (e.g. the user's training items).

        Returns:
            :obj:`LongTensor` of shape :obj:`[len(users), k]`.
        """
        scores = mask_scores(self.score_all(users), users, exclude_edge_index)
        return scores.topk(k, dim=-1).indices
