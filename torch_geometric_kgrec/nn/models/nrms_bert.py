r"""NRMS-BERT: the content-based recommender of CKMPN (Sec. 3.3, eq. 12-16)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Identity, Module
from torch_geometric.nn import Linear

from torch_geometric_kgrec.nn.additive_attention import AdditiveAttention
from torch_geometric_kgrec.nn.models.base import RecommenderMixin
from torch_geometric_kgrec.nn.models.propagation_cache import PropagationCacheMixin


class NRMSBERT(PropagationCacheMixin, RecommenderMixin, Module):
    r"""NRMS-BERT from the `"Transformer-Empowered Content-Aware Collaborative
    Filtering" <https://arxiv.org/abs/2204.00849>`_ paper (Lin et al., Sec. 3.3), a
    variant of NRMS (Wu et al., EMNLP 2019) whose item encoder is a pre-trained
    language model (PLM).

    * **Item encoder** (eq. 12): :math:`\mathbf{e}_i = \text{BERT}(x_i) \in
      \mathbb{R}^h`, the last layer's ``[CLS]`` embedding of the item's text (a
      :class:`~torch_geometric_kgrec.text.TextEncoder` with :obj:`pooling='cls'`).
    * **User encoder** (eq. 13-15): :class:`AdditiveAttention` over the embeddings of
      :math:`B` items sampled from the user's browsed (*training*) items.
    * **Loss** (eq. 16): softmax over one positive and :math:`K` negatives,

      .. math::
          \mathcal{L}_{\text{NRMS}} = -\frac{1}{|S|}\sum_{i \in S} \log
          \frac{\exp(y^+)}{\exp(y^+) + \sum_{k=1}^{K} \exp(y^-_k)}, \qquad
          y_{ui} = \mathbf{e}_u^\top \mathbf{e}_i

      (averaged over the batch where the paper sums, as :func:`bpr_loss` does).

    Two item-encoder modes:

    * **fine-tuning** (the paper; the default on GPU): pass :obj:`text_encoder` and
      :obj:`item_text`; the texts are tokenised once and every training step runs the
      encoder on the batch's unique positive, negative and browsed items (gradients
      reach the layers the encoder leaves trainable).
    * **frozen** (the CPU mode): pass :obj:`item_features`, the PLM's cached item
      embeddings (e.g. ``TextEncoder(pooling='cls').encode(item_text)``); only the user
      attention and a linear projection :math:`\mathbf{e}_i = \mathbf{W}
      \text{BERT}(x_i) + \mathbf{b}` are trained. Fine-tuning a PLM on a 2-core CPU
      would take hours per epoch; the projection gives the frozen features a trainable
      item side, which eq. 12 has through the PLM's weights.

    When training, the positive item is removed from the user's browsed sample (it
    would otherwise be its own evidence, which a held-out item never is). At
    evaluation, a user attends over *all* its browsed items (:obj:`history_edge_index`,
    the training interactions only), so scores are deterministic.

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        history_edge_index (torch.Tensor): Browsed (user, item) pairs :obj:`[2, N]`:
            the **training** interactions. Replace with :meth:`set_history` (e.g. to
            add cold-start users' history at evaluation).
        item_features (torch.Tensor, optional): Frozen PLM item embeddings
            :obj:`[num_items, h_PLM]` (frozen mode).
        text_encoder (torch.nn.Module, optional): A
            :class:`~torch_geometric_kgrec.text.TextEncoder` (fine-tuning mode).
        item_text (list of str, optional): One text per item (fine-tuning mode).
        embedding_dim (int, optional): Size of the projection on top of the PLM;
            :obj:`None` keeps the PLM's size (a square projection in frozen mode, no
            projection when fine-tuning, as eq. 12). (default: :obj:`None`)
        num_browsed (int, optional): :math:`B`. (default: :obj:`50`)

    Shapes:
        - **score_all:** users :math:`(B,)` -> :math:`(B, I)`
    """
    def __init__(
        self,
        num_users: int,
        num_items: int,
        history_edge_index: Tensor,
        item_features: Optional[Tensor] = None,
        text_encoder: Optional[Module] = None,
        item_text: Optional[Sequence[str]] = None,
        embedding_dim: Optional[int] = None,
        num_browsed: int = 50,
    ) -> None:
        super().__init__()
        if (item_features is None) == (text_encoder is None):
            raise ValueError("pass exactly one of 'item_features' (frozen mode) and "
                             "'text_encoder' (fine-tuning mode)")
        if num_browsed < 1:
            raise ValueError(f"'num_browsed' must be positive (got {num_browsed})")
        self.num_users = num_users
        self.num_items = num_items
        self.num_browsed = num_browsed
        self.frozen = item_features is not None
        if self.frozen:
            if item_features.dim() != 2 or item_features.size(0) != num_items:
                raise ValueError(f"'item_features' must have shape [{num_items}, h] (got "
                                 f"{list(item_features.shape)})")
            plm_dim = item_features.size(1)
            self.register_buffer('item_features', item_features.detach().float(),
                                 persistent=False)
            self.text_encoder = None
            out_dim = embedding_dim or plm_dim
            self.proj = Linear(plm_dim, out_dim)
        else:
            if item_text is None or len(item_text) != num_items:
                raise ValueError(f"fine-tuning mode needs 'item_text' with one text per "
                                 f"item ({num_items}, got "
                                 f"{None if item_text is None else len(item_text)})")
            self.text_encoder = text_encoder
            plm_dim = int(text_encoder.hidden_size)
            tok = text_encoder.tokenize(list(item_text))
            self.register_buffer('item_input_ids', tok['input_ids'].cpu(),
                                 persistent=False)
            self.register_buffer('item_attention_mask', tok['attention_mask'].cpu(),
                                 persistent=False)
            out_dim = embedding_dim or plm_dim
            self.proj = Linear(plm_dim, out_dim) if embedding_dim else Identity()
        self.embedding_dim = out_dim
        self.user_encoder = AdditiveAttention(out_dim)
        self.set_history(history_edge_index)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if hasattr(self.proj, 'reset_parameters'):
            self.proj.reset_parameters()
        self.user_encoder.reset_parameters()

    # ------------------------------------------------------------------ history
    def set_history(self, edge_index: Tensor) -> None:
        r"""Use :obj:`edge_index` (user, item) as the users' browsed items."""
        ei = edge_index.long()
        if ei.dim() != 2 or ei.size(0) != 2:
            raise ValueError(f"'history_edge_index' must have shape [2, N] (got "
                             f"{list(ei.shape)})")
        if ei.numel() and (int(ei.min()) < 0 or int(ei[0].max()) >= self.num_users or
                           int(ei[1].max()) >= self.num_items):
            raise ValueError(f"'history_edge_index' must hold users in [0, "
                             f"{self.num_users}) and items in [0, {self.num_items})")
        perm = torch.argsort(ei[0] * self.num_items + ei[1])
        ei = ei[:, perm]
        rowptr = torch.zeros(self.num_users + 1, dtype=torch.long, device=ei.device)
        torch.cumsum(torch.bincount(ei[0], minlength=self.num_users), 0, out=rowptr[1:])
        dev = self.user_encoder.fc1.weight.device if hasattr(self, 'user_encoder') \
            else ei.device
        self.register_buffer('history_rowptr', rowptr.to(dev), persistent=False)
        self.register_buffer('history_col', ei[1].to(dev), persistent=False)
        self.clear_cache()

    def browsed(self, users: Tensor, num_browsed: Optional[int] = None,
                exclude: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
        r"""The browsed items of every row of :obj:`users`: all of them
        (:obj:`num_browsed=None`) or :math:`\min(B, n_u)` drawn without replacement,
        never the row's :obj:`exclude` item. Returns flat (row, item) tensors."""
        rowptr, col = self.history_rowptr, self.history_col
        users = users.to(rowptr.device)
        start = rowptr[users]
        deg = rowptr[users + 1] - start
        row = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), deg)
        offset = torch.arange(row.numel(), device=row.device) - \
            torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
        item = col[start[row] + offset]
        if exclude is not None:
            keep = item != exclude.to(item.device)[row]
            row, item = row[keep], item[keep]
        if num_browsed is not None:
            key = torch.rand(row.numel(), generator=generator,
                             device='cpu' if generator is not None else row.device)
            order = torch.argsort(row.to(key.device).double() + key.double()).to(row.device)
            row, item = row[order], item[order]
            n = torch.bincount(row, minlength=users.numel())
            rank = torch.arange(row.numel(), device=row.device) - \
                torch.repeat_interleave(torch.cumsum(n, 0) - n, n)
            keep = rank < num_browsed
            row, item = row[keep], item[keep]
        return row, item

    # ------------------------------------------------------------------ encoders
    def item_embedding(self, items: Optional[Tensor] = None) -> Tensor:
        r"""Item embeddings :math:`\mathbf{e}_i` (eq. 12 [+ projection]) of
        :obj:`items` (default: all), :obj:`[n, h]`."""
        if self.frozen:
            x = self.item_features if items is None else self.item_features[items]
            return self.proj(x)
        if items is None:
            items = torch.arange(self.num_items, device=self.item_input_ids.device)
        uniq, inv = torch.unique(items, return_inverse=True)
        ids, mask = self.item_input_ids[uniq], self.item_attention_mask[uniq]
        length = int(mask.sum(-1).max()) if mask.numel() else 1
        dev = next(self.text_encoder.parameters()).device
        # one differentiable call when training; batches of the encoder's size otherwise
        bs = (uniq.numel() if torch.is_grad_enabled() else
              int(getattr(self.text_encoder, 'batch_size', 64)))
        chunks = [self.text_encoder(ids[a:a + bs, :length].to(dev),
                                    mask[a:a + bs, :length].to(dev))
                  for a in range(0, max(uniq.numel(), 1), max(bs, 1))]
        return self.proj(torch.cat(chunks, 0))[inv.to(dev)]

    def user_embedding(self, users: Tensor, num_browsed: Optional[int] = None,
                       exclude: Optional[Tensor] = None,
                       generator: Optional[torch.Generator] = None,
                       item_emb: Optional[Tensor] = None) -> Tensor:
        r"""User embeddings (eq. 13-15) of every row of :obj:`users`, :obj:`[n, h]`;
        a user without browsed items gets the zero vector."""
        row, item = self.browsed(users, num_browsed, exclude, generator)
        x = item_emb[item] if item_emb is not None else self.item_embedding(item)
        return self.user_encoder(x, row.to(x.device), num_sets=users.numel())

    def forward(self) -> Tuple[Tensor, Tensor]:
        r"""All users' (from their whole history) and all items' embeddings,
        :obj:`[U, h]` and :obj:`[I, h]`."""
        x = self.item_embedding()
        users = torch.arange(self.num_users, device=self.history_rowptr.device)
        return self.user_embedding(users, item_emb=x), x

    def score_all(self, users: Tensor) -> Tensor:
        r"""Scores of :obj:`users` against every item, :obj:`[B, I]` (item and user
        embeddings computed once per parameter state in evaluation mode)."""
        u, x = self.cached(self.forward)
        return u[users.to(u.device)] @ x.t()

    def loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
             generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Eq. 16 for (user, positive) rows with :obj:`neg_items` :obj:`[n, K]` (or
        :obj:`[n]`, :math:`K = 1`)."""
        if neg_items.dim() == 1:
            neg_items = neg_items.unsqueeze(-1)
        if self.frozen:
            x_all = self.item_embedding()
            x_pos, x_neg = x_all[pos_items], x_all[neg_items]
            u = self.user_embedding(users, self.num_browsed, exclude=pos_items,
                                    generator=generator, item_emb=x_all)
        else:
            x_pos = self.item_embedding(pos_items)
            x_neg = self.item_embedding(neg_items.reshape(-1)).view(
                *neg_items.shape, -1)
            u = self.user_embedding(users, self.num_browsed, exclude=pos_items,
                                    generator=generator)
        logits = torch.cat([(u * x_pos).sum(-1, keepdim=True),
                            (u.unsqueeze(1) * x_neg).sum(-1)], dim=-1)
        return -F.log_softmax(logits, dim=-1)[:, 0].mean()

    def __repr__(self) -> str:
        mode = 'frozen' if self.frozen else 'fine-tuning'
        return (f'{self.__class__.__name__}({self.num_users}, {self.num_items}, '
                f'embedding_dim={self.embedding_dim}, num_browsed={self.num_browsed}, '
                f'mode={mode})')


__all__ = ['NRMSBERT']
