r"""Mixture of experts over two recommenders' scores (CKMPN Table 2)."""
from typing import Sequence

import torch
from torch import Tensor
from torch.nn import Module, ModuleList
from torch_geometric.nn import MLP

from torch_geometric_kgrec.nn.losses import bpr_loss
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


class MixtureOfExperts(RecommenderMixin, Module):
    r"""The Mixture-of-Experts baseline of the `"Transformer-Empowered Content-Aware
    Collaborative Filtering" <https://arxiv.org/abs/2204.00849>`_ paper (Table 2):
    the scores of trained experts (KMPN and NRMS-BERT) pass through a 3-layer MLP to
    give the final rating,

    .. math::
        \hat{y}_{ui} = \text{MLP}_3\big(\tilde{y}^{(1)}_{ui}, \dots,
        \tilde{y}^{(E)}_{ui}\big),

    trained with BPR while the experts stay frozen (they are trained first; the
    paper does not say more). Each expert's scores are standardised per user over all
    items (:math:`\tilde{y}_{ui} = (y_{ui} - \mu_u) / \sigma_u`, one full row per
    user, as :meth:`score_all` computes anyway), so the MLP sees comparable scales.

    Args:
        experts (list of torch.nn.Module): Models with :meth:`score_all`.
        hidden_channels (int, optional): MLP width. (default: :obj:`16`)
        num_layers (int, optional): MLP layers. (default: :obj:`3`)
    """
    def __init__(self, experts: Sequence[Module], hidden_channels: int = 16,
                 num_layers: int = 3) -> None:
        super().__init__()
        if len(experts) < 2:
            raise ValueError(f"a mixture needs at least two experts (got {len(experts)})")
        self.experts = ModuleList(experts)
        for p in self.experts.parameters():
            p.requires_grad_(False)
        # no bias on the output: a constant shift of every score cancels in BPR/ranking
        self.mlp = MLP([len(experts)] + [hidden_channels] * (num_layers - 1) + [1],
                       norm=None, bias=[True] * (num_layers - 1) + [False])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.mlp.reset_parameters()

    def train(self, mode: bool = True) -> 'MixtureOfExperts':
        super().train(mode)
        self.experts.eval()  # frozen experts: no dropout, cached propagation
        return self

    def expert_scores(self, users: Tensor) -> Tensor:
        r"""Per-user standardised expert scores, :obj:`[B, I, E]`."""
        with torch.no_grad():
            out = []
            for e in self.experts:
                s = e.score_all(users)
                s = (s - s.mean(-1, keepdim=True)) / s.std(-1, keepdim=True).clamp_min(1e-8)
                out.append(s)
        return torch.stack(out, dim=-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.mlp(self.expert_scores(users)).squeeze(-1)

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        r"""BPR on the mixed scores (:obj:`neg_items` :obj:`[B]` or :obj:`[B, N]`)."""
        s = self.expert_scores(users)
        rows = torch.arange(users.numel(), device=s.device)
        pos = self.mlp(s[rows, pos_items]).squeeze(-1)
        if neg_items.dim() == 2:
            neg = self.mlp(s[rows.unsqueeze(-1), neg_items]).squeeze(-1)
        else:
            neg = self.mlp(s[rows, neg_items]).squeeze(-1)
        return bpr_loss(pos, neg)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(' +
                ', '.join(e.__class__.__name__ for e in self.experts) + ')')


__all__ = ['MixtureOfExperts']
