r"""Per-user MeKBs (personal knowledge graphs) of MeKB-Rec (Sec. 3.1.3): frequency
aggregation, log smoothing (eq. 4), interest IDF (eq. 5) and the MeKB score (eq. 6-7)."""
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import scatter

__all__ = ['MeKB', 'log_smoothing', 'interest_idf', 'mekb_scores']


@dataclass
class MeKB:
    r"""The MeKBs of all users as a sparse (user, entity, score) edge set.

    Attributes:
        edge_index (torch.Tensor): :obj:`[2, P]` (user, entity), sorted by user, then
            by decreasing :obj:`score`, decreasing :obj:`freq`, increasing entity.
        freq (torch.Tensor): :math:`k_{ij}`, the user's interactions with items linked to
            the entity, :obj:`[P]`.
        score (torch.Tensor): The interest score used to order the entities, :obj:`[P]`.
        num_users (int), num_entities (int): Sizes.
    """
    edge_index: Tensor
    freq: Tensor
    score: Tensor
    num_users: int
    num_entities: int

    def user_slice(self, user: int) -> slice:
        ptr = torch.searchsorted(self.edge_index[0], torch.tensor([user, user + 1]))
        return slice(int(ptr[0]), int(ptr[1]))


def log_smoothing(k: Tensor, k_star: float) -> Tensor:
    r"""Frequency aggregation with log smoothing above the threshold :math:`k^*`:

    .. math::
        s(k) = \begin{cases} k & k \le k^* \\
        k^* \left(1 + \log \frac{k}{k^*}\right) & k > k^* \end{cases}
        \qquad \text{(eq. 4)}

    (continuous at :math:`k^*`, natural logarithm)."""
    k = k.to(torch.get_default_dtype()) if not k.is_floating_point() else k
    if k_star <= 0:
        raise ValueError(f"'k_star' must be positive (got {k_star})")
    return torch.where(k > k_star, k_star * (1.0 + torch.log(k.clamp_min(1e-12) / k_star)),
                       k)


def interest_idf(edge_index: Tensor, num_users: int, num_entities: int) -> Tensor:
    r"""Interest IDF of every entity over the users' MeKBs :obj:`edge_index`
    (unique (user, entity) pairs):

    .. math::
        \mathrm{idf}(e_j) = \log \frac{N}{\sum_i \mathbb{I}(u_i, e_j)}
        \qquad \text{(eq. 5)}

    with :math:`N` = :obj:`num_users`; entities in no MeKB get :obj:`0` (unused).
    Returns :obj:`[num_entities]`."""
    df = torch.bincount(edge_index[1], minlength=num_entities).to(torch.get_default_dtype())
    return torch.where(df > 0, torch.log(num_users / df.clamp_min(1)), torch.zeros_like(df))


def mekb_scores(interactions: Tensor, item_entity: Tensor, num_users: int,
                num_entities: int, k_star: Optional[float] = 5.0, idf: bool = True,
                normalize: bool = True) -> MeKB:
    r"""Build every user's MeKB from (user, item) interactions and (item, entity)
    links, vectorised (scatter/unique, no Python loop over users):

    1. frequency aggregation: :math:`k_{ij}` = number of the user's interactions whose
       item links to entity :math:`j` (an item linked twice to an entity counts once);
    2. :math:`\mathrm{tf}(u_i, e_j) = s(k_{ij})` (eq. 6) with the log smoothing of
       eq. (4) (:obj:`k_star=None`: no smoothing, :math:`s(k) = k`);
    3. :math:`\mathrm{idf}(e_j)` of eq. (5) when :obj:`idf`;
    4. the MeKB score

       .. math::
           \mathrm{MeKBScore}(u_i, e_j) = \frac{\mathrm{tf}(u_i, e_j)\,
           \mathrm{idf}(e_j)}{\sum_k \mathrm{tf}(u_i, e_k)\, \mathrm{idf}(e_k)}
           \qquad \text{(eq. 7)}

       (:obj:`normalize=False` drops the per-user denominator, which does not change
       the order of a user's entities).

    **Pass training interactions only** (source domain, and target-domain training
    records of warm users): nothing of validation or test may enter a MeKB.

    Args:
        interactions (torch.Tensor): :obj:`[2, n]` (user, item); repeated pairs count
            repeatedly.
        item_entity (torch.Tensor): :obj:`[2, m]` (item, entity) links (KG edges or
            :meth:`AliasTable.link_items`).
        num_users (int): :math:`N`.
        num_entities (int): Number of entities.
        k_star (float, optional): :math:`k^*` of eq. (4) (the paper gives no value;
            default :obj:`5`, about half the per-domain activity of an Amazon user).
        idf (bool): Multiply by the interest IDF. (default: :obj:`True`)
        normalize (bool): Divide by the user's total (eq. 7). (default: :obj:`True`)
    """
    if interactions.dim() != 2 or interactions.size(0) != 2:
        raise ValueError("'interactions' must be a [2, n] (user, item) edge index")
    if item_entity.dim() != 2 or item_entity.size(0) != 2:
        raise ValueError("'item_entity' must be a [2, m] (item, entity) edge index")
    interactions, item_entity = interactions.long().cpu(), item_entity.long().cpu()
    if item_entity.numel() and (int(item_entity[1].min()) < 0
                                or int(item_entity[1].max()) >= num_entities):
        raise ValueError(f"'item_entity' holds an entity outside [0, {num_entities})")
    if interactions.numel() and (int(interactions[0].min()) < 0
                                 or int(interactions[0].max()) >= num_users):
        raise ValueError(f"'interactions' holds a user outside [0, {num_users})")
    num_items = max(int(item_entity[0].max()) + 1 if item_entity.numel() else 0,
                    int(interactions[1].max()) + 1 if interactions.numel() else 0)
    links = torch.unique(item_entity[0] * num_entities + item_entity[1])
    link_item, link_ent = links // num_entities, links % num_entities
    ptr = torch.zeros(num_items + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(torch.bincount(link_item, minlength=num_items), 0)
    user, item = interactions
    deg = ptr[item + 1] - ptr[item]
    rep_user = user.repeat_interleave(deg)
    start = ptr[item].repeat_interleave(deg)
    offset = torch.arange(rep_user.numel()) - (torch.cumsum(deg, 0) - deg).repeat_interleave(deg)
    rep_ent = link_ent[start + offset]
    key, freq = torch.unique(rep_user * num_entities + rep_ent, return_counts=True)
    edge_index = torch.stack([key // num_entities, key % num_entities])
    freq = freq.to(torch.get_default_dtype())
    tf = log_smoothing(freq, k_star) if k_star is not None else freq
    score = tf
    if idf:
        score = tf * interest_idf(edge_index, num_users, num_entities)[edge_index[1]]
    if normalize:
        total = scatter(score, edge_index[0], dim=0, dim_size=num_users, reduce='sum')
        denom = total[edge_index[0]]
        score = torch.where(denom > 0, score / denom.clamp_min(1e-300), torch.zeros_like(score))
    # order: user, score desc, freq desc, entity asc (stable sorts, last key first)
    perm = torch.argsort(edge_index[1], stable=True)
    perm = perm[torch.argsort(-freq[perm], stable=True)]
    perm = perm[torch.argsort(-score[perm], stable=True)]
    perm = perm[torch.argsort(edge_index[0][perm], stable=True)]
    return MeKB(edge_index[:, perm], freq[perm], score[perm], num_users, num_entities)
