r"""Early fusion of content-based features into KMPN (CKMPN Sec. 5.3, Table 3)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Module
from torch_geometric.nn.inits import glorot

from torch_geometric_kgrec.nn.models.kmpn import KMPN


class FusedEmbedding(Module):
    r"""An embedding table whose rows are a trainable part concatenated with a fixed
    feature part: :obj:`weight = [E_trainable | F]`, :obj:`[N, h + c]`. Rows beyond
    :obj:`features.size(0)` get zero features."""
    def __init__(self, num_embeddings: int, embedding_dim: int, features: Tensor) -> None:
        super().__init__()
        if features.size(0) > num_embeddings:
            raise ValueError(f"'features' has more rows ({features.size(0)}) than the "
                             f"table ({num_embeddings})")
        self.trainable = Embedding(num_embeddings, embedding_dim)
        fixed = features.new_zeros(num_embeddings, features.size(1))
        fixed[:features.size(0)] = features.detach()
        self.register_buffer('features', fixed.float(), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot(self.trainable.weight)

    @property
    def weight(self) -> Tensor:
        return torch.cat([self.trainable.weight, self.features], dim=-1)


class EarlyFusionKMPN(KMPN):
    r"""The early-fusion baseline of the `"Transformer-Empowered Content-Aware
    Collaborative Filtering" <https://arxiv.org/abs/2204.00849>`_ paper (Sec. 5.3,
    Table 3): the content-based (NRMS-BERT) features are concatenated to KMPN's
    trainable user/item embeddings *before* the graph convolutions,

    .. math::
        \mathbf{e}^{(0)}_u = [\mathbf{e}_u \,\|\, \mathbf{e}^{NRMS}_u], \qquad
        \mathbf{e}^{(0)}_v = [\mathbf{e}_v \,\|\, \mathbf{e}^{NRMS}_v]

    so KMPN runs at width :math:`h + c` (non-item KG entities get zero features). The
    features are L2-normalised per row (:obj:`normalize=True`), so their scale matches
    the hop outputs that KMPN normalises; they stay fixed.

    Args:
        *args, **kwargs: Those of :class:`KMPN`; :obj:`embedding_dim` is the trainable
            part :math:`h`.
        user_features (torch.Tensor): :obj:`[U, c]`.
        item_features (torch.Tensor): :obj:`[I, c]`.
        normalize (bool, optional): L2-normalise the features. (default: :obj:`True`)
    """
    def __init__(self, *args, user_features: Tensor, item_features: Tensor,
                 embedding_dim: int = 64, normalize: bool = True, **kwargs) -> None:
        if user_features.size(1) != item_features.size(1):
            raise ValueError(f"user and item features must have the same size (got "
                             f"{user_features.size(1)} and {item_features.size(1)})")
        c = user_features.size(1)
        super().__init__(*args, embedding_dim=embedding_dim + c, **kwargs)
        if user_features.size(0) != self.num_users or item_features.size(0) != self.num_items:
            raise ValueError(f"features must have shapes [{self.num_users}, c] and "
                             f"[{self.num_items}, c] (got {list(user_features.shape)} and "
                             f"{list(item_features.shape)})")
        if normalize:
            user_features = F.normalize(user_features.float(), dim=-1)
            item_features = F.normalize(item_features.float(), dim=-1)
        self.trainable_dim, self.feature_dim = embedding_dim, c
        self.user_emb = FusedEmbedding(self.num_users, embedding_dim, user_features)
        self.entity_emb = FusedEmbedding(self.num_entities, embedding_dim, item_features)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for emb in (self.user_emb, self.entity_emb):
            if isinstance(emb, FusedEmbedding):
                emb.reset_parameters()


__all__ = ['EarlyFusionKMPN', 'FusedEmbedding']
