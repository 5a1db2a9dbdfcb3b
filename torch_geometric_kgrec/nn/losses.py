r"""Losses shared by every model of the library (defined once, imported everywhere)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def bpr_loss(pos_score: Tensor, neg_score: Tensor) -> Tensor:
    r"""Bayesian personalised ranking loss (Rendle et al., 2009), averaged over the batch.

    .. math::
        \mathcal{L}_{\text{BPR}} = -\frac{1}{|B|} \sum_{(u, i, j) \in B}
        \ln \sigma(\hat{y}_{ui} - \hat{y}_{uj})

    Args:
        pos_score (torch.Tensor): Scores of the observed items, shape :obj:`[B]`.
        neg_score (torch.Tensor): Scores of the sampled negatives, shape :obj:`[B]`
            or :obj:`[B, N]` (then every negative is paired with its positive).
    """
    if neg_score.dim() == pos_score.dim() + 1:
        pos_score = pos_score.unsqueeze(-1)
    return -F.logsigmoid(pos_score - neg_score).mean()


def l2_reg(*embeddings: Tensor, batch_size: Optional[int] = None) -> Tensor:
    r"""L2 penalty on the embeddings *of the batch* (not on the whole table), as in
    BPRMF, KGAT, KGIN and KMPN (eq. 11 of CKMPN):

    .. math::
        \frac{1}{2|B|} \sum_{\mathbf{e} \in \text{batch}} \|\mathbf{e}\|_2^2

    Args:
        *embeddings (torch.Tensor): Embedding rows used in the batch.
        batch_size (int, optional): :math:`|B|`; defaults to the number of rows of the
            first tensor.
    """
    if len(embeddings) == 0:
        raise ValueError("l2_reg() needs at least one tensor")
    if batch_size is None:
        batch_size = embeddings[0].size(0)
    total = sum(e.pow(2).sum() for e in embeddings)
    return total / (2 * max(batch_size, 1))


def full_softmax_loss(user_emb: Tensor, item_emb: Tensor, pos_items: Tensor) -> Tensor:
    r"""Full-softmax (sampled-free) retrieval loss over **all** items, averaged over the
    batch (MeKB-Rec eq. 9; YoutubeDNN's extreme classification):

    .. math::
        \ell(u, i) = -\log \frac{\exp(s(u, i))}{\sum_{j=0}^{I-1} \exp(s(u, j))},
        \qquad s(u, i) = \phi(u)^\top \psi(i)

    Args:
        user_emb (torch.Tensor): User embeddings :math:`\phi(u)`, :obj:`[B, K]`.
        item_emb (torch.Tensor): Every item embedding :math:`\psi(j)`, :obj:`[I, K]`.
        pos_items (torch.Tensor): The positive item of each row, :obj:`[B]`.
    """
    return F.cross_entropy(user_emb @ item_emb.t(), pos_items)
