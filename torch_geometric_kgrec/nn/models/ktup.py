r"""TUP and KTUP from `"Unifying Knowledge Graph Learning and Recommendation: Towards a
Better Understanding of User Preferences" <https://arxiv.org/abs/1902.06236>`_ (Cao et
al., WWW 2019)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Module
from torch.nn.utils import parametrize

from torch_geometric_kgrec.nn.kge.transh import TransH, hyperplane_projection
from torch_geometric_kgrec.nn.kge.translational import UnitNorm, max_norm
from torch_geometric_kgrec.nn.losses import bpr_loss
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


def st_gumbel_softmax(logits: Tensor, tau: float = 1.0,
                      generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Straight-through Gumbel softmax (eq. 5-7 of KTUP; Jang et al., 2017).

    Forward: the one-hot vector of :math:`\arg\max_j (\log\pi_j + g_j)` (eq. 6),
    :math:`g = -\log(-\log u)`, :math:`u \sim \mathcal{U}(0, 1)`. Backward: the
    gradient of :math:`y = \text{softmax}((\log\pi + g) / \tau)` (eq. 7).

    Args:
        logits (torch.Tensor): Unnormalised :math:`\log\pi`, shape :obj:`[..., P]`.
        tau (float, optional): Temperature :math:`\tau`. (default: :obj:`1.0`)
        generator (torch.Generator, optional): Source of the Gumbel noise.
    """
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype,
                   device=logits.device if generator is None else generator.device)
    u = u.to(logits.device).clamp(1e-10, 1.0 - 1e-7)
    gumbel = -torch.log(-torch.log(u))
    y = torch.softmax((logits + gumbel) / tau, dim=-1)
    hard = F.one_hot(y.argmax(dim=-1), y.size(-1)).to(y.dtype)
    return hard - y.detach() + y


SOFT_ATTENTIONS = ('softmax', 'proportional', 'raw')


def soft_attention(phi: Tensor, attention: str = 'softmax', eps: float = 1e-8) -> Tensor:
    r"""The soft preference attention :math:`\alpha_{p'} \propto \phi(u, i, p')` of
    KTUP's eq. 10 in one of its readings (see :class:`TUP`): :obj:`"softmax"`
    (:math:`\text{softmax}(\phi)`), :obj:`"proportional"` (:math:`\phi / \sum\phi`,
    the literal equation) or :obj:`"raw"` (:math:`\phi / 2`, the authors' code).

    Args:
        phi (torch.Tensor): Similarities :math:`\phi`, shape :obj:`[..., P]`.
        attention (str, optional): The reading. (default: :obj:`"softmax"`)
        eps (float, optional): Smallest magnitude of the :obj:`"proportional"`
            denominator (its sign is kept). (default: :obj:`1e-8`)
    """
    if attention == 'softmax':
        return torch.softmax(phi, dim=-1)
    if attention == 'proportional':
        total = phi.sum(dim=-1, keepdim=True)
        sign = torch.where(total < 0, -1.0, 1.0).to(phi.dtype)
        return phi / (sign * total.abs().clamp(min=eps))
    if attention == 'raw':
        return phi / 2
    raise ValueError(f'attention must be one of {SOFT_ATTENTIONS} (got {attention!r})')


class TUP(RecommenderMixin, Module):
    r"""The translation-based user preference model TUP (eq. 5-15 of KTUP).

    For a user-item pair a preference is induced from :math:`P` latent
    preferences (translation :math:`\mathbf{p}` and hyperplane normal
    :math:`\mathbf{w}_p`, unit length) by the similarity (eq. 8)

    .. math::
        \log \pi_p = \phi(u, i, p) = (\mathbf{u} + \mathbf{i})^{\top}\mathbf{p},

    either **hard** (one preference, straight-through Gumbel softmax with
    temperature :math:`\tau` during training, eq. 5-7, and the deterministic
    :math:`\arg\max` at evaluation) or **soft** (:math:`\mathbf{p} = \sum \alpha_{p'}
    \mathbf{p}'`, :math:`\mathbf{w}_p = \sum \alpha_{p'} \mathbf{w}_{p'}`, eq. 9, 14).
    The paper only says that the soft attention is *proportional* to the similarity,
    :math:`\alpha_{p'} \propto \phi(u, i, p')` (eq. 10); :obj:`attention` names the
    three readings:

    * :obj:`"softmax"` (default): :math:`\alpha = \text{softmax}(\phi)`, i.e.
      :math:`\alpha \propto \pi` with :math:`\phi = \log\pi` as in the hard strategy
      (eq. 5-8). An interpretation, not the paper's literal words; it is the default
      because it is the only reading whose weights stay on the simplex for any sign
      of the dot products (and the one the library's KTUP numbers were measured with).
    * :obj:`"proportional"`: the literal eq. 10, :math:`\alpha_{p'} = \phi(u, i, p')
      / \sum_{q} \phi(u, i, q)`. The weights sum to one but may be negative or
      explode when :math:`\sum_q \phi` is near zero (the denominator's magnitude is
      kept at least :math:`10^{-8}`, its sign preserved).
    * :obj:`"raw"`: the authors' released code (``jTransUP``, ``getPreferences``):
      :math:`\alpha_{p'} = \phi(u, i, p') / 2`, not normalised at all.

    The pair is scored by the hyperplane-based translation (eq. 11-13)

    .. math::
        g(u, i; p) = \| \mathbf{u}_{\perp} + \mathbf{p} - \mathbf{i}_{\perp} \|_1,
        \quad \mathbf{x}_{\perp} = \mathbf{x} - \mathbf{w}_p^{\top}\mathbf{x}\,
        \mathbf{w}_p,

    (:meth:`forward` returns :math:`-g`) and trained with BPR on distances (eq. 15).
    The combined normal is re-normalised to unit length so that eq. 12-13 stay
    projections; users and items are kept in the unit ball.

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_preferences (int): Number of preferences :math:`P`.
        embedding_dim (int, optional): Embedding size. (default: :obj:`100`)
        strategy (str, optional): :obj:`"hard"` or :obj:`"soft"`. (default: :obj:`"soft"`)
        tau (float, optional): Gumbel softmax temperature. (default: :obj:`1.0`)
        p_norm (float, optional): Distance norm. (default: :obj:`1.0`)
        attention (str, optional): Soft attention reading of eq. 10,
            :obj:`"softmax"`, :obj:`"proportional"` or :obj:`"raw"` (see above;
            ignored by the hard strategy). (default: :obj:`"softmax"`)

    Shapes:
        - **input:** users :math:`(n)`, items :math:`(n)`
        - **output:** :math:`(n)`; :meth:`score_all` :math:`(B, |\mathcal{I}|)`
    """
    def __init__(self, num_users: int, num_items: int, num_preferences: int,
                 embedding_dim: int = 100, strategy: str = 'soft', tau: float = 1.0,
                 p_norm: float = 1.0, attention: str = 'softmax') -> None:
        super().__init__()
        if strategy not in ('hard', 'soft'):
            raise ValueError(f"strategy must be 'hard' or 'soft' (got {strategy!r})")
        if attention not in SOFT_ATTENTIONS:
            raise ValueError(f'attention must be one of {SOFT_ATTENTIONS} (got {attention!r})')
        if tau <= 0:
            raise ValueError(f"tau must be positive (got {tau})")
        self.num_users = num_users
        self.num_items = num_items
        self.num_preferences = num_preferences
        self.embedding_dim = embedding_dim
        self.strategy = strategy
        self.tau = tau
        self.p_norm = p_norm
        self.attention = attention
        self.user_emb = Embedding(num_users, embedding_dim)
        self.item_emb = Embedding(num_items, embedding_dim)
        self.pref_emb = Embedding(num_preferences, embedding_dim)
        self.pref_normal_emb = Embedding(num_preferences, embedding_dim)
        parametrize.register_parametrization(self.pref_normal_emb, 'weight', UnitNorm())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in (self.user_emb, self.item_emb, self.pref_emb):
            torch.nn.init.xavier_uniform_(emb.weight)
        with torch.no_grad():
            torch.nn.init.xavier_uniform_(self.pref_normal_emb.parametrizations.weight.original)

    # The three views KTUP enhances with the KG (eq. 18-20).
    def user_vectors(self, users: Tensor) -> Tensor:
        return max_norm(self.user_emb(users))

    def item_vectors(self, items: Optional[Tensor] = None) -> Tensor:
        r"""Item embeddings (all items if :obj:`items` is :obj:`None`)."""
        return max_norm(self.item_emb.weight if items is None else self.item_emb(items))

    def preference_tables(self) -> Tuple[Tensor, Tensor]:
        r"""Translations :obj:`[P, d]` and unit normals :obj:`[P, d]` of the preferences."""
        return self.pref_emb.weight, self.pref_normal_emb.weight

    def _check(self, users: Tensor, items: Optional[Tensor] = None) -> None:
        if users.dtype != torch.long or (items is not None and items.dtype != torch.long):
            raise ValueError(f'{self.__class__.__name__}: users/items must be long tensors')
        if items is not None and users.shape != items.shape:
            raise ValueError(f'{self.__class__.__name__}: users {tuple(users.shape)} and '
                             f'items {tuple(items.shape)} must have the same shape')

    def induce(self, logits: Tensor, stochastic: bool) -> Tensor:
        r"""Preference weights :math:`\alpha` (:obj:`[..., P]`) from the logits:
        the soft attention of eq. 10 in the reading :obj:`self.attention` (soft), ST
        Gumbel one-hot if :obj:`stochastic` else the deterministic :math:`\arg\max`
        one-hot (hard)."""
        if self.strategy == 'soft':
            return soft_attention(logits, self.attention)
        if stochastic:
            return st_gumbel_softmax(logits, self.tau)
        return F.one_hot(logits.argmax(dim=-1), logits.size(-1)).to(logits.dtype)

    def _distance(self, u: Tensor, i: Tensor, alpha: Tensor, P: Tensor, W: Tensor) -> Tensor:
        p = alpha @ P  # eq. 9
        w = F.normalize(alpha @ W, p=2, dim=-1)  # eq. 14 (re-normalised)
        diff = hyperplane_projection(u, w) + p - hyperplane_projection(i, w)  # eq. 11-13
        return diff.norm(p=self.p_norm, dim=-1)

    def _pair(self, users: Tensor, items: Tensor, stochastic: bool) -> Tuple[Tensor, Tensor]:
        u, i = self.user_vectors(users), self.item_vectors(items)
        P, W = self.preference_tables()
        alpha = self.induce((u + i) @ P.t(), stochastic)  # eq. 8
        return self._distance(u, i, alpha, P, W), alpha

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Scores :math:`-g(u, i; p)` of the pairs (Gumbel noise only in training mode
        with the hard strategy)."""
        self._check(users, items)
        return -self._pair(users, items, self.training)[0]

    @torch.no_grad()
    def preference_weights(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Deterministic preference weights :math:`\alpha` of the pairs, :obj:`[n, P]`
        (attention for soft, arg-max one-hot for hard)."""
        self._check(users, items)
        return self._pair(users, items, False)[1]

    @torch.no_grad()
    def score_all(self, users: Tensor, max_elements: int = 2**19) -> Tensor:
        r"""Scores :math:`-g` of :obj:`users` against every item, :obj:`[B, num_items]`,
        without Gumbel noise.

        Computed per user chunk without the per-pair hyperplane projections of eq.
        11-13: with :math:`\mathbf{x} = \mathbf{u} - \mathbf{i}`,
        :math:`\mathbf{p} = \alpha\mathbf{P}` and :math:`\tilde{\mathbf{w}} =
        \alpha\mathbf{W}` (:math:`\mathbf{w} = \tilde{\mathbf{w}} /
        \|\tilde{\mathbf{w}}\|`),

        .. math::
            \mathbf{u}_\perp + \mathbf{p} - \mathbf{i}_\perp = \mathbf{x} + \mathbf{p}
            - \frac{\alpha^{\top}(\mathbf{W}\mathbf{u} - \mathbf{W}\mathbf{i})}
            {\|\tilde{\mathbf{w}}\|^2}\,\tilde{\mathbf{w}},

        where :math:`\mathbf{W}\mathbf{u}` :obj:`[B, P]` and :math:`\mathbf{W}\mathbf{i}`
        :obj:`[I, P]` are computed once (the hard strategy gathers
        :math:`\mathbf{P}_k, \mathbf{W}_k` of the arg-max preference instead of
        multiplying one-hot weights). For :obj:`p_norm=2` no :obj:`[B, I, d]` tensor is
        formed at all:

        .. math::
            \|\cdot\|^2 = \|\mathbf{x}\|^2 + \|\mathbf{p}\|^2 + 2\mathbf{p}^{\top}
            \mathbf{x} - (\mathbf{w}^{\top}\mathbf{x})^2
            - 2(\mathbf{w}^{\top}\mathbf{x})(\mathbf{w}^{\top}\mathbf{p})

        with every term from :obj:`[B, I]` / :obj:`[B, I, P]` products and the
        :math:`P \times P` Gram matrices of :math:`\mathbf{P}, \mathbf{W}`.

        Memory: users are scored in chunks whose largest intermediate holds at most
        :obj:`max_elements` floats (at least one user per chunk); for the other norms
        the hard strategy holds one :obj:`[b, I, 2d]` gather of
        :math:`(\mathbf{P}_k, \mathbf{W}_k)` and one :obj:`[b, I, d]` difference,
        updated in place, and the :obj:`[b, I, P]` logits only until their arg-max.
        Small chunks are both leaner and, on a CPU, faster (they stay in cache).
        """
        self._check(users)
        i = self.item_vectors()
        P, W = self.preference_tables()
        i_logits, Wi = i @ P.t(), i @ W.t()  # [I, P] each
        hard = self.strategy == 'hard'
        l2 = float(self.p_norm) == 2.0
        if l2:
            i_sq = i.pow(2).sum(-1)
            G_ww, G_wp, G_pp = W @ W.t(), W @ P.t(), P @ P.t()
        else:
            PW = torch.cat([P, W], dim=-1)  # [P, 2d]: one gather / matmul for both
            W_sq = W.pow(2).sum(-1)
        per_user = i.size(0) * max(P.size(0), 1 if l2 else 2 * i.size(1))
        chunk = max(1, max_elements // max(1, per_user))
        # The [B, P] (and [B, I]) products for all users at once: the same numbers
        # whatever the chunk size (a one-row product may round differently).
        u_all = self.user_vectors(users)  # [B, d]
        u_logits_all, Wu_all = u_all @ P.t(), u_all @ W.t()  # [B, P] each
        ui_all = u_all @ i.t() if l2 else None  # [B, I]
        out = i.new_empty(users.numel(), i.size(0))
        for start in range(0, users.numel(), chunk):
            rows = slice(start, start + chunk)
            u, u_logits, Wu = u_all[rows], u_logits_all[rows], Wu_all[rows]
            logits = u_logits.unsqueeze(1) + i_logits.unsqueeze(0)  # [b, I, P]
            if hard:  # W_k^T x = W_k^T u - W_k^T i, gathered (no [b, I, P] W^T x)
                k = logits.argmax(dim=-1, keepdim=True)  # [b, I, 1]
                del logits
                shape = (u.size(0), i.size(0), Wu.size(-1))
                wx = (Wu.unsqueeze(1).expand(shape).gather(-1, k)
                      - Wi.unsqueeze(0).expand(shape).gather(-1, k)).squeeze(-1)  # [b, I]
            else:
                alpha = self.induce(logits, stochastic=False)
                wx = (alpha * (Wu.unsqueeze(1) - Wi.unsqueeze(0))).sum(-1)  # W^T x
            if l2:
                Px = u_logits.unsqueeze(1) - i_logits.unsqueeze(0)  # [b, I, P]: P_p^T x
                x_sq = (u.pow(2).sum(-1, keepdim=True) + i_sq.unsqueeze(0)
                        - 2.0 * ui_all[rows])
                if hard:
                    kk = k.squeeze(-1)
                    px, w_sq = Px.gather(-1, k).squeeze(-1), G_ww.diagonal()[kk]
                    p_sq, wp = G_pp.diagonal()[kk], G_wp.diagonal()[kk]
                else:
                    px = (alpha * Px).sum(-1)
                    w_sq = (alpha @ G_ww * alpha).sum(-1)
                    p_sq = (alpha @ G_pp * alpha).sum(-1)
                    wp = (alpha @ G_wp * alpha).sum(-1)
                # unit w = w~ / |w~|: (w^T x)^2 = wx^2 / |w~|^2, w^T p = wp / |w~|
                sq = (x_sq + p_sq + 2.0 * px - (wx.pow(2) + 2.0 * wx * wp) / w_sq)
                torch.neg(sq.clamp_(min=0.0).sqrt_(), out=out[rows])
                continue
            pw = PW[k.squeeze(-1)] if hard else alpha @ PW  # [b, I, 2d]
            p, w = pw[..., :P.size(-1)], pw[..., P.size(-1):]
            w_sq = W_sq[k.squeeze(-1)] if hard else w.pow(2).sum(-1)
            # x + p - (w^T x / |w|^2) w, in place in two [b, I, d] buffers
            diff = u.unsqueeze(1) - i.unsqueeze(0)
            diff += p
            diff -= w.mul_((wx / w_sq.clamp(min=1e-24)).unsqueeze(-1))
            # L1 as abs + sum: 15x faster than torch's generic p-norm reduction here
            dist = (diff.abs_().sum(-1) if float(self.p_norm) == 1.0 else
                    diff.norm(p=self.p_norm, dim=-1))
            torch.neg(dist, out=out[rows])
        return out

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor) -> Tensor:
        r"""BPR on translation distances (eq. 15), averaged over the batch:
        :math:`-\ln\sigma(g(u, i'; p') - g(u, i; p))`."""
        return bpr_loss(self(users, pos_items), self(users, neg_items))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'num_preferences={self.num_preferences}, '
                f'embedding_dim={self.embedding_dim}, strategy={self.strategy!r}'
                f'{self._attention_repr()})')

    def _attention_repr(self) -> str:
        if self.strategy == 'soft' and self.attention != 'softmax':
            return f', attention={self.attention!r}'
        return ''


class KTUP(TUP):
    r"""KTUP: TUP jointly trained with TransH (eq. 16-21 of KTUP).

    Items aligned to entities and preferences mapped one-to-one to relations
    (:math:`P = |\mathcal{R}|`) are enhanced with the KG embeddings of the
    :class:`~torch_geometric_kgrec.nn.kge.TransH` component :obj:`self.kg`:

    .. math::
        g(u, i; p) = \| \mathbf{u}_{\perp} + \hat{\mathbf{p}} - \hat{\mathbf{i}}_{\perp}
        \| \ \text{(eq. 16-17)}, \quad
        \hat{\mathbf{i}} = \mathbf{i} + \mathbf{e} \ \text{(eq. 18)}, \quad
        \hat{\mathbf{p}} = \mathbf{p} + \mathbf{r} \ \text{(eq. 19)}, \quad
        \hat{\mathbf{w}}_p = \mathbf{w}_p + \mathbf{w}_r \ \text{(eq. 20)}

    (the preference logits of eq. 8 use :math:`\hat{\mathbf{i}}` and
    :math:`\hat{\mathbf{p}}`; :math:`\hat{\mathbf{w}}_p` is re-normalised before
    projecting). The joint objective is :math:`\lambda\mathcal{L}_p + (1-\lambda)
    \mathcal{L}_k` (eq. 21); :func:`is_recommendation_step` gives the paper's
    schedule (in every 10 steps, :math:`10\lambda` recommendation steps then KG steps).

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_entities (int): Number of KG entities.
        num_relations (int): Number of KG relations (= number of preferences).
        embedding_dim (int, optional): Embedding size. (default: :obj:`100`)
        strategy (str, optional): :obj:`"hard"` or :obj:`"soft"`. (default: :obj:`"soft"`)
        tau (float, optional): Gumbel temperature. (default: :obj:`1.0`)
        p_norm (float, optional): Distance norm of both tasks. (default: :obj:`1.0`)
        attention (str, optional): Soft attention reading of eq. 10,
            :obj:`"softmax"`, :obj:`"proportional"` or :obj:`"raw"` (see :class:`TUP`).
            (default: :obj:`"softmax"`)
        margin (float, optional): TransH margin. (default: :obj:`1.0`)
        item_to_entity (torch.Tensor, optional): Entity aligned with each item
            (:obj:`[num_items]`, :obj:`-1` = not aligned). Defaults to the library's
            schema, where item :obj:`i` is entity :obj:`i`.
        transfer_relations (bool, optional): Use eq. 19-20 (:obj:`False` keeps
            TUP's preferences). (default: :obj:`True`)
        sparse (bool, optional): Sparse gradients for the TransH entity and
            translation tables (use :class:`torch.optim.SparseAdam` for them).
            (default: :obj:`False`)
    """
    def __init__(self, num_users: int, num_items: int, num_entities: int, num_relations: int,
                 embedding_dim: int = 100, strategy: str = 'soft', tau: float = 1.0,
                 p_norm: float = 1.0, margin: float = 1.0,
                 item_to_entity: Optional[Tensor] = None,
                 transfer_relations: bool = True, sparse: bool = False,
                 attention: str = 'softmax') -> None:
        super().__init__(num_users, num_items, num_relations, embedding_dim, strategy, tau,
                         p_norm, attention)
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.transfer_relations = transfer_relations
        self.kg = TransH(num_entities, num_relations, embedding_dim, margin, p_norm,
                         sparse=sparse)
        if item_to_entity is None:
            if num_items > num_entities:
                raise ValueError(f'KTUP: num_items={num_items} > num_entities={num_entities}; '
                                 f'pass item_to_entity')
            item_to_entity = torch.arange(num_items)
        item_to_entity = torch.as_tensor(item_to_entity, dtype=torch.long).view(-1)
        if item_to_entity.numel() != num_items:
            raise ValueError(f"KTUP: 'item_to_entity' must have {num_items} entries "
                             f'(got {item_to_entity.numel()})')
        if item_to_entity.numel() and (int(item_to_entity.min()) < -1
                                       or int(item_to_entity.max()) >= num_entities):
            raise ValueError(f"KTUP: 'item_to_entity' values must lie in [-1, {num_entities})")
        self.register_buffer('item_to_entity', item_to_entity)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if hasattr(self, 'kg'):
            self.kg.reset_parameters()

    def item_vectors(self, items: Optional[Tensor] = None) -> Tensor:
        i = super().item_vectors(items)
        ent = self.item_to_entity if items is None else self.item_to_entity[items]
        aligned = (ent >= 0).unsqueeze(-1).to(i.dtype)
        return i + aligned * self.kg.entity(ent.clamp(min=0))  # eq. 18

    def preference_tables(self) -> Tuple[Tensor, Tensor]:
        P, W = super().preference_tables()
        if not self.transfer_relations:
            return P, W
        rel = self.kg.rel_emb(torch.arange(self.num_relations, device=P.device))
        return P + rel, W + self.kg.normal()  # eq. 19-20

    def kg_loss(self, head_index: Tensor, rel_type: Tensor, tail_index: Tensor,
                neg_head_index: Optional[Tensor] = None,
                neg_tail_index: Optional[Tensor] = None) -> Tensor:
        r"""TransH margin loss :math:`\mathcal{L}_k` (eq. 4)."""
        return self.kg.loss(head_index, rel_type, tail_index, neg_head_index, neg_tail_index)

    def joint_loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
                   head_index: Tensor, rel_type: Tensor, tail_index: Tensor,
                   neg_head_index: Optional[Tensor] = None,
                   neg_tail_index: Optional[Tensor] = None,
                   joint_ratio: float = 0.5) -> Tensor:
        r""":math:`\lambda\mathcal{L}_p + (1-\lambda)\mathcal{L}_k` (eq. 21) on one
        batch of each task. :math:`\mathcal{L}_p` is the batch *mean* of eq. 15 and
        :math:`\mathcal{L}_k` the *sum* of eq. 4 (as in the authors' code), so their
        scales differ by the batch size; the paper's schedule
        (:func:`is_recommendation_step`) alternates the two losses over steps instead."""
        if not 0.0 <= joint_ratio <= 1.0:
            raise ValueError(f'joint_ratio must lie in [0, 1] (got {joint_ratio})')
        out = 0.0
        if joint_ratio > 0:
            out = joint_ratio * self.loss(users, pos_items, neg_items)
        if joint_ratio < 1:
            out = out + (1 - joint_ratio) * self.kg_loss(head_index, rel_type, tail_index,
                                                         neg_head_index, neg_tail_index)
        return out

    @torch.no_grad()
    def load_pretrained(self, tup: Optional[TUP] = None, transh: Optional[TransH] = None) -> None:
        r"""Warm start from a trained :class:`TUP` (users, items, preferences) and/or a
        trained :class:`~torch_geometric_kgrec.nn.kge.TransH` (entities, relations),
        as the paper does."""
        if tup is not None:
            if (tup.num_users, tup.num_items, tup.num_preferences) != (
                    self.num_users, self.num_items, self.num_preferences):
                raise ValueError(f'load_pretrained: {tup} does not match {self}')
            own = {k: v for k, v in tup.state_dict().items()}
            missing = self.load_state_dict(own, strict=False)
            if missing.unexpected_keys:
                raise ValueError(f'unexpected TUP keys {missing.unexpected_keys}')
        if transh is not None:
            self.kg.load_state_dict(transh.state_dict())

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'num_entities={self.num_entities}, num_relations={self.num_relations}, '
                f'embedding_dim={self.embedding_dim}, strategy={self.strategy!r}'
                f'{self._attention_repr()})')


def is_recommendation_step(step: int, joint_ratio: float) -> bool:
    r"""KTUP's training schedule for eq. 21 (as in the authors' code): of every 10
    optimiser steps the first :math:`10\lambda` train :math:`\mathcal{L}_p` and the
    rest :math:`\mathcal{L}_k`."""
    return step % 10 < 10 * joint_ratio
