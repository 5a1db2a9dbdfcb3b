r"""Shared behaviour of every recommender model (top-k recommendation)."""
from typing import Optional

import torch
from torch import Tensor

from torch_geometric_kgrec.metrics.ranking import topk_with_exclusion


class RecommenderMixin:
    r"""Gives a model with :meth:`score_all` a :meth:`recommend` method."""
    def score_all(self, users: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    @torch.no_grad()
    def recommend(self, users: Tensor, k: int,
                  exclude_edge_index: Optional[Tensor] = None) -> Tensor:
        r"""Top-:obj:`k` items for each user of :obj:`users`, never returning an item of
        :obj:`exclude_edge_index` (e.g. the user's training items), via the evaluator's
        :func:`~torch_geometric_kgrec.metrics.topk_with_exclusion`.

        Returns:
            :obj:`LongTensor` of shape :obj:`[len(users), k]` (:obj:`-1` where a user has
            fewer than :obj:`k` admissible items).
        """
        return topk_with_exclusion(self.score_all(users), k, users, exclude_edge_index)[1]
