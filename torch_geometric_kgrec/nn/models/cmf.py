r"""Collective matrix factorisation across two domains (a CDR baseline of MeKB-Rec)."""
from torch import Tensor

from torch_geometric_kgrec.nn.models.bprmf import BPRMF


class CMF(BPRMF):
    r"""Collective Matrix Factorization (Singh & Gordon, KDD 2008) as a cross-domain
    baseline: the source- and target-domain interaction matrices are factorised
    together with **shared user factors** and per-domain item factors,

    .. math::
        \mathcal{L} = \mathcal{L}_{\text{BPR}}(\mathbf{R}^{t}) +
        \alpha\, \mathcal{L}_{\text{BPR}}(\mathbf{R}^{s}),

    i.e. a :class:`BPRMF` over the concatenated items (target items ``0 .. I_t - 1``,
    source items ``I_t .. I_t + I_s - 1``) with negatives drawn within the positive's
    domain. Implicit feedback replaces CMF's squared loss on ratings by BPR (as the
    rest of the library). Users without target records are still placed by their
    source interactions, which is how CMF serves zero-shot users.

    Args:
        num_users (int), num_target_items (int), num_source_items (int): Sizes.
        embedding_dim (int): Factor size. (default: :obj:`64`)
        alpha (float): Weight of the source domain. (default: :obj:`1.0`)
    """
    def __init__(self, num_users: int, num_target_items: int, num_source_items: int,
                 embedding_dim: int = 64, alpha: float = 1.0) -> None:
        self.num_target_items = num_target_items
        self.num_source_items = num_source_items
        self.alpha = alpha
        super().__init__(num_users, num_target_items + num_source_items, embedding_dim)

    def score_all(self, users: Tensor) -> Tensor:
        r"""Scores of :obj:`users` against every **target** item, :obj:`[B, I_t]`."""
        return self.user_emb(users) @ self.item_emb.weight[:self.num_target_items].t()

    def domain_loss(self, target: tuple, source: tuple, reg_weight: float = 1e-5) -> Tensor:
        r"""BPR on a target batch plus :math:`\alpha` times BPR on a source batch, each
        :obj:`(users, pos_items, neg_items)` with items in their domain's local index."""
        loss = self.loss(*target, reg_weight=reg_weight)
        if source[0].numel() > 0:
            off = self.num_target_items
            u, i, j = source
            loss = loss + self.alpha * self.loss(u, i + off, j + off, reg_weight=reg_weight)
        return loss

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.num_users}, target={self.num_target_items}, '
                f'source={self.num_source_items}, embedding_dim={self.embedding_dim})')
