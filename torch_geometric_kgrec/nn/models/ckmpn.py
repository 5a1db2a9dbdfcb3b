r"""CKMPN: KMPN trained with a frozen NRMS-BERT through the cross-system contrastive
loss (CKMPN Sec. 3.4, eq. 17-18), and the Cos-Sim auxiliary-loss baseline (Sec. 5.3)."""
from typing import Dict, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_kgrec.nn.models.kmpn import KMPN


def teacher_projection(user_emb: Tensor, item_emb: Tensor, out_dim: int) -> Tensor:
    r"""A fixed :obj:`[h_T, out_dim]` map with orthonormal columns onto the top
    :obj:`out_dim` right-singular directions of the stacked (uncentred) teacher
    embeddings: the rank-:obj:`out_dim` map that best keeps the teacher's dot products
    (Eckart-Young). With :obj:`out_dim >= h_T` it is the identity padded with zeros."""
    h = user_emb.size(1)
    if out_dim >= h:
        return torch.eye(h, out_dim, dtype=user_emb.dtype, device=user_emb.device)
    x = torch.cat([user_emb, item_emb], dim=0).double()
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    return vh[:out_dim].t().to(user_emb.dtype)


class TeacherKMPN(KMPN):
    r"""KMPN plus an auxiliary loss against a frozen teacher's (NRMS-BERT's) user and
    item embeddings on the batch's (user, positive, negative) triples:
    :math:`\mathcal{L} = \mathcal{L}_{\text{KMPN}} + \lambda\, \mathcal{L}_{\text{aux}}`.
    The KMPN part is :meth:`KMPN.loss` itself, run once; the auxiliary term reuses the
    embeddings of that same forward pass (same node/message dropout). Subclasses define
    :meth:`auxiliary_loss`.

    When the teacher's size :math:`h_T` differs from KMPN's :math:`h`, the **teacher**
    side is mapped (KMPN's embeddings are what the model recommends with, so they are
    left untouched): :obj:`teacher_map="pca"` (default) multiplies the teacher
    embeddings by the fixed :func:`teacher_projection` (no parameter the auxiliary loss
    could grow to satisfy itself without changing KMPN); :obj:`"linear"` learns a
    bias-free :math:`h_T \to h` linear map jointly.

    Args:
        *args, **kwargs: Those of :class:`KMPN`.
        teacher_user_emb (torch.Tensor): Teacher user embeddings :obj:`[U, h_T]`.
        teacher_item_emb (torch.Tensor): Teacher item embeddings :obj:`[I, h_T]`.
        aux_weight (float, optional): :math:`\lambda`. (default: :obj:`0.1`)
        teacher_map (str, optional): :obj:`"pca"` or :obj:`"linear"`.
            (default: :obj:`"pca"`)
    """
    aux_name = 'aux'

    def __init__(self, *args, teacher_user_emb: Tensor, teacher_item_emb: Tensor,
                 aux_weight: float = 0.1, teacher_map: str = 'pca', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if teacher_map not in ('pca', 'linear'):
            raise ValueError(f"'teacher_map' must be 'pca' or 'linear' (got "
                             f"{teacher_map!r})")
        if aux_weight < 0:
            raise ValueError(f"the auxiliary loss weight must be >= 0 (got {aux_weight})")
        if teacher_user_emb.size(0) != self.num_users or \
                teacher_item_emb.size(0) != self.num_items or \
                teacher_user_emb.size(1) != teacher_item_emb.size(1):
            raise ValueError(f"teacher embeddings must have shapes [{self.num_users}, h] "
                             f"and [{self.num_items}, h] (got "
                             f"{list(teacher_user_emb.shape)} and "
                             f"{list(teacher_item_emb.shape)})")
        self.aux_weight = aux_weight
        self.teacher_map = teacher_map
        self.teacher_dim = teacher_user_emb.size(1)
        tu, ti = teacher_user_emb.detach().float(), teacher_item_emb.detach().float()
        self.teacher_linear = None
        if self.teacher_dim != self.embedding_dim:
            if teacher_map == 'pca':
                proj = teacher_projection(tu, ti, self.embedding_dim)
                tu, ti = tu @ proj, ti @ proj
            else:
                self.teacher_linear = torch.nn.Linear(self.teacher_dim,
                                                      self.embedding_dim, bias=False)
        self.register_buffer('teacher_user_emb', tu, persistent=False)
        self.register_buffer('teacher_item_emb', ti, persistent=False)
        self._capture = False

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if getattr(self, 'teacher_linear', None) is not None:
            self.teacher_linear.reset_parameters()

    def teacher(self) -> Tuple[Tensor, Tensor]:
        r"""Teacher user and item embeddings in KMPN's size."""
        tu, ti = self.teacher_user_emb, self.teacher_item_emb
        if self.teacher_linear is not None:
            tu, ti = self.teacher_linear(tu), self.teacher_linear(ti)
        return tu, ti

    def forward(self) -> Tuple[Tensor, Tensor]:
        out = super().forward()
        if self._capture:
            self.__dict__['_captured'] = out
        return out

    def auxiliary_loss(self, u: Tensor, i: Tensor, j: Tensor, users: Tensor,
                       pos_items: Tensor, neg_items: Tensor) -> Tensor:
        raise NotImplementedError

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
             return_terms: bool = False) -> Union[Tensor, Tuple[Tensor, Dict[str, float]]]:
        r""":meth:`KMPN.loss` :math:`+ \lambda\, \mathcal{L}_{\text{aux}}` (eq. 18)."""
        self._capture = True
        try:
            total, terms = super().loss(users, pos_items, neg_items, return_terms=True)
        finally:
            self._capture = False
        u_all, x_all = self.__dict__.pop('_captured')
        aux = torch.zeros((), device=total.device)
        if self.aux_weight > 0:
            aux = self.auxiliary_loss(u_all[users], x_all[pos_items], x_all[neg_items],
                                      users, pos_items, neg_items)
            total = total + self.aux_weight * aux
        terms[self.aux_name] = float(aux.detach())
        return (total, terms) if return_terms else total


class CKMPN(TeacherKMPN):
    r"""Content-aware KMPN from the `"Transformer-Empowered Content-Aware Collaborative
    Filtering" <https://arxiv.org/abs/2204.00849>`_ paper (Lin et al., Sec. 3.4): KMPN
    trained with the cross-system contrastive loss against a trained, frozen
    :class:`NRMSBERT` (eq. 17-18),

    .. math::
        \mathcal{L}_{CS} = \sum_{(u, i^+, i^-)} -\ln\sigma\big(
        \mathbf{e}^{KMPN\top}_u (\mathbf{e}^{NRMS}_{i^+} - \mathbf{e}^{NRMS}_{i^-})\big)
        - \ln\sigma\big(\mathbf{e}^{NRMS\top}_u (\mathbf{e}^{KMPN}_{i^+} -
        \mathbf{e}^{KMPN}_{i^-})\big) \quad (17)

        \mathcal{L}_{CKMPN} = \mathcal{L}_{KMPN} + \lambda_{CS}\,\mathcal{L}_{CS}
        \quad (18)

    (averaged over the batch, as the BPR term). With :obj:`cross_system_weight=0` it is
    :class:`KMPN` exactly. Teacher-size mapping: see :class:`TeacherKMPN`.

    Args:
        *args, **kwargs: Those of :class:`KMPN`.
        teacher_user_emb (torch.Tensor): NRMS-BERT user embeddings :obj:`[U, h_T]`
            (from the training history only).
        teacher_item_emb (torch.Tensor): NRMS-BERT item embeddings :obj:`[I, h_T]`.
        cross_system_weight (float, optional): :math:`\lambda_{CS}`.
            (default: :obj:`0.1`)
        teacher_map (str, optional): See :class:`TeacherKMPN`. (default: :obj:`"pca"`)
    """
    aux_name = 'cross_system'

    def __init__(self, *args, teacher_user_emb: Tensor, teacher_item_emb: Tensor,
                 cross_system_weight: float = 0.1, teacher_map: str = 'pca',
                 **kwargs) -> None:
        super().__init__(*args, teacher_user_emb=teacher_user_emb,
                         teacher_item_emb=teacher_item_emb, aux_weight=cross_system_weight,
                         teacher_map=teacher_map, **kwargs)

    @property
    def cross_system_weight(self) -> float:
        return self.aux_weight

    def auxiliary_loss(self, u: Tensor, i: Tensor, j: Tensor, users: Tensor,
                       pos_items: Tensor, neg_items: Tensor) -> Tensor:
        r"""Eq. 17 on the batch (mean over triples)."""
        tu, ti = self.teacher()
        tu, tp, tn = tu[users], ti[pos_items], ti[neg_items]
        if j.dim() == 3:  # [B, N, h] negatives
            u, tu = u.unsqueeze(1), tu.unsqueeze(1)
            i, tp = i.unsqueeze(1), tp.unsqueeze(1)
        a = F.logsigmoid((u * (tp - tn)).sum(-1))
        b = F.logsigmoid((tu * (i - j)).sum(-1))
        return -(a + b).mean()

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', cross_system_weight={self.aux_weight})'


class CosSimKMPN(TeacherKMPN):
    r"""The Cos-Sim fusion baseline of CKMPN (Sec. 5.3, Table 3): KMPN plus an
    auxiliary loss that pulls KMPN's batch user/item embeddings towards NRMS-BERT's by
    cosine similarity,

    .. math::
        \mathcal{L}_{\cos} = \operatorname{mean}_{v \in \{u, i^+, i^-\}}
        \big(1 - \cos(\mathbf{e}^{KMPN}_v, \mathbf{e}^{NRMS}_v)\big),

    :math:`\mathcal{L} = \mathcal{L}_{KMPN} + \lambda\,\mathcal{L}_{\cos}`.

    Args:
        *args, **kwargs: Those of :class:`TeacherKMPN` (:obj:`aux_weight` =
            :math:`\lambda`).
    """
    aux_name = 'cos_sim'

    def auxiliary_loss(self, u: Tensor, i: Tensor, j: Tensor, users: Tensor,
                       pos_items: Tensor, neg_items: Tensor) -> Tensor:
        tu, ti = self.teacher()
        cos = torch.cat([F.cosine_similarity(u, tu[users], dim=-1).view(-1),
                         F.cosine_similarity(i, ti[pos_items], dim=-1).view(-1),
                         F.cosine_similarity(j, ti[neg_items], dim=-1).view(-1)])
        return (1.0 - cos).mean()


__all__ = ['CKMPN', 'CosSimKMPN', 'TeacherKMPN', 'teacher_projection']
