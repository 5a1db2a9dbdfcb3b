r"""Scoring cold-start users (unseen in training) from their history only (the
Movie-KG cold-start protocol of CKMPN, Sec. 4.1 / 5.4)."""
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor
from torch.nn import Embedding, Module
from torch_geometric.utils import scatter

from torch_geometric_kgrec.nn.models.kmpn import KMPN
from torch_geometric_kgrec.nn.models.nrms_bert import NRMSBERT


@contextmanager
def cold_start_users(model: Module, train_edge_index: Tensor,
                     history_edge_index: Tensor) -> Iterator[Module]:
    r"""Within the context, :obj:`model` scores the users of
    :obj:`history_edge_index` (never trained on) from that history, without any
    parameter update; everything is restored on exit.

    * :class:`NRMSBERT`: the users attend over training + cold history
      (:meth:`NRMSBERT.set_history`); the user encoder is content-based, so nothing
      else is needed.
    * :class:`KMPN` (and subclasses that keep its embedding tables, e.g.
      :class:`CKMPN`): the cold users join the interaction graph the users aggregate
      over (eq. 5; items and entities propagate over the KG only, so no other
      representation changes), and their layer-0 embedding, untrained, is replaced by
      the mean layer-0 embedding of their history items (a fold-in).
    * :class:`MixtureOfExperts`: both of the above, expert by expert.

    Args:
        model (torch.nn.Module): A trained model.
        train_edge_index (torch.Tensor): The (user, item) pairs it was trained on.
        history_edge_index (torch.Tensor): Cold users' history pairs (model input only).
    """
    with torch.no_grad():
        if hasattr(model, 'experts'):
            from contextlib import ExitStack
            with ExitStack() as stack:
                for e in model.experts:
                    stack.enter_context(cold_start_users(e, train_edge_index,
                                                         history_edge_index))
                yield model
            return
        cold = torch.unique(history_edge_index[0])
        overlap = torch.isin(cold, train_edge_index[0].to(cold.device))
        if bool(overlap.any()):
            raise ValueError(f"cold-start users must not have training interactions "
                             f"(user {int(cold[overlap][0])} has)")
        both = torch.cat([train_edge_index, history_edge_index.to(train_edge_index.device)],
                         dim=1)
        if isinstance(model, NRMSBERT):
            old = (model.history_rowptr, model.history_col)
            model.set_history(both)
            try:
                yield model
            finally:
                model.history_rowptr, model.history_col = old
                model.clear_cache()
            return
        if not isinstance(model, KMPN) or not isinstance(model.user_emb, Embedding) \
                or hasattr(model, 'fuse'):
            raise TypeError(f"cold-start scoring is defined for NRMSBERT, KMPN (with its "
                            f"own embedding tables) and MixtureOfExperts (got "
                            f"{model.__class__.__name__})")
        old_ui, w = model.interaction_edge_index, model.user_emb.weight
        old_rows = w[cold].clone()
        hist = history_edge_index.to(w.device)
        x0 = model.entity_emb.weight[hist[1]]
        mean = scatter(x0, hist[0], dim=0, dim_size=model.num_users, reduce='mean')
        w[cold] = mean[cold]
        model.interaction_edge_index = both.to(old_ui.device)
        model.clear_cache()
        try:
            yield model
        finally:
            model.interaction_edge_index = old_ui
            w[cold] = old_rows
            model.clear_cache()


__all__ = ['cold_start_users']
