r"""EmbedMe, the dual encoder of MeKB-Rec (Kuang et al., 2023, Sec. 3.2)."""
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Embedding, Module
from torch_geometric.nn import MLP

from torch_geometric_kgrec.nn.losses import full_softmax_loss
from torch_geometric_kgrec.nn.models.base import RecommenderMixin


class EmbedMe(RecommenderMixin, Module):
    r"""EmbedMe from `"MeKB-Rec: Personal Knowledge Graph Learning for Cross-Domain
    Recommendation" <https://arxiv.org/abs/2310.11088>`_: a pre-trained language model
    over the user's MeKB sequence (entity titles ordered by MeKB score,
    :func:`~torch_geometric_kgrec.mekb.mekb_sequences`), mean pooling over all tokens,
    then an MLP to :math:`K`, matched by dot product against an ID embedding of the
    target-domain items:

    .. math::
        s(u, i) = \phi(u)^\top \psi(i), \quad
        \phi(u) = \mathrm{MLP}\big(\mathrm{mean}(\mathrm{PLM}(\mathrm{MeKB}(u)))\big)
        \qquad \text{(eq. 8)}

    trained with the full-softmax loss over all :math:`I` target items (eq. 9,
    :func:`~torch_geometric_kgrec.nn.losses.full_softmax_loss`).

    Two modes:

    * **fine-tuning** (the paper): :obj:`text_encoder` with trainable layers; users'
      sequences are given as tokens (:meth:`set_user_tokens`) and the PLM runs in every
      step;
    * **frozen PLM** (CPU default): the PLM is not trained, so each sequence's pooled
      embedding is computed once (:meth:`TextEncoder.encode`, cached on disk with
      :obj:`cache_dir`) and stored with :meth:`set_user_features`; only the MLP and the
      item embeddings are trained. :obj:`text_encoder` may then be :obj:`None` and
      :obj:`in_channels` the PLM's hidden size.

    Args:
        num_items (int): Number of target-domain items :math:`I`.
        text_encoder (TextEncoder, optional): The PLM (any
            :class:`~torch_geometric_kgrec.text.TextEncoder`, mean pooling).
        in_channels (int, optional): PLM hidden size when :obj:`text_encoder` is
            :obj:`None`.
        out_channels (int): :math:`K`. (default: :obj:`256`)
        num_layers (int): Layers of the MLP (hidden width :math:`K`, ReLU).
            (default: :obj:`2`)
        dropout (float): Dropout of the MLP. (default: :obj:`0.0`)

    Shapes:
        - **user_embedding:** users :math:`(B)` -> :math:`(B, K)`
        - **score_all:** users :math:`(B)` -> :math:`(B, I)`
    """
    def __init__(self, num_items: int, text_encoder: Optional[Module] = None,
                 in_channels: Optional[int] = None, out_channels: int = 256,
                 num_layers: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        if text_encoder is None and in_channels is None:
            raise ValueError('EmbedMe needs a text_encoder or in_channels')
        self.num_items = num_items
        self.text_encoder = text_encoder
        self.in_channels = int(in_channels or text_encoder.hidden_size)
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.mlp = MLP(in_channels=self.in_channels, hidden_channels=out_channels,
                       out_channels=out_channels, num_layers=num_layers, dropout=dropout,
                       norm=None)
        self.item_emb = Embedding(num_items, out_channels)
        self.user_features: Optional[Tensor] = None
        self.user_tokens: Optional[dict] = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.mlp.reset_parameters()
        torch.nn.init.normal_(self.item_emb.weight, std=self.out_channels**-0.5)

    def set_user_features(self, features: Tensor, standardize: bool = True) -> 'EmbedMe':
        r"""Frozen mode: the pooled PLM embedding of every user's MeKB sequence,
        :obj:`[num_users, in_channels]`.

        With :obj:`standardize` (default), each dimension is centred and scaled by its
        mean and standard deviation over the given users: mean-pooled outputs of a
        frozen PLM share a large common component and differ little between sequences
        (a fine-tuned PLM learns to undo this; a frozen one cannot), which otherwise
        leaves the MLP with a nearly constant input. These statistics use the MeKB
        sequences only (model input, no labels)."""
        if features.dim() != 2 or features.size(1) != self.in_channels:
            raise ValueError(f'features must be [num_users, {self.in_channels}] '
                             f'(got {list(features.shape)})')
        if standardize:
            features = (features - features.mean(0)) / features.std(0).clamp_min(1e-6)
        self.user_features = features
        return self

    def set_user_tokens(self, input_ids: Tensor, attention_mask: Tensor) -> 'EmbedMe':
        r"""Fine-tuning mode: every user's tokenised MeKB sequence,
        :obj:`[num_users, T]` each (from :meth:`TextEncoder.tokenize`)."""
        if self.text_encoder is None:
            raise ValueError('set_user_tokens needs a text_encoder')
        self.user_tokens = {'input_ids': input_ids, 'attention_mask': attention_mask}
        return self

    def encode_users(self, users: Tensor) -> Tensor:
        r"""Pooled PLM output of :obj:`users`' sequences, :obj:`[B, in_channels]`."""
        if self.user_tokens is not None:
            ids = self.user_tokens['input_ids'][users]
            mask = self.user_tokens['attention_mask'][users]
            width = max(int(mask.sum(-1).max()), 1)  # drop all-padding columns
            device = self.item_emb.weight.device
            return self.text_encoder(ids[:, :width].to(device),
                                     mask[:, :width].to(device))
        if self.user_features is None:
            raise RuntimeError('call set_user_features() or set_user_tokens() first')
        return self.user_features[users.to(self.user_features.device)].to(
            self.item_emb.weight.device)

    def user_embedding(self, users: Tensor) -> Tensor:
        r""":math:`\phi(u)` (eq. 8), :obj:`[B, K]`."""
        return self.mlp(self.encode_users(users))

    def item_embedding(self) -> Tensor:
        r""":math:`\psi(i)` of every target item, :obj:`[I, K]`."""
        return self.item_emb.weight

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Scores :math:`s(u, i)` of the (user, item) pairs, :obj:`[n]`."""
        return (self.user_embedding(users) * self.item_emb(items)).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        return self.user_embedding(users) @ self.item_emb.weight.t()

    def loss(self, users: Tensor, pos_items: Tensor) -> Tensor:
        r"""Full-softmax loss of eq. (9) over all target items."""
        return full_softmax_loss(self.user_embedding(users), self.item_emb.weight,
                                 pos_items)

    def __repr__(self) -> str:
        mode = 'frozen' if self.text_encoder is None or getattr(
            self.text_encoder, 'is_frozen', False) else 'fine-tune'
        return (f'{type(self).__name__}({self.num_items}, in_channels={self.in_channels}, '
                f'out_channels={self.out_channels}, plm={mode})')
