r"""Caching of full-graph propagation results at evaluation time.

Graph models such as KGIN and KGAT propagate over the whole graph to score any user;
the shared evaluator calls :meth:`score_all` once per batch of users, so without a
cache every batch would redo the propagation. The cache is used only in
:meth:`~torch.nn.Module.eval` mode with gradients disabled, and is keyed on the
identity *and version counter* of every parameter and buffer, so an optimiser step,
:meth:`~torch.nn.Module.load_state_dict` or :meth:`reset_parameters` invalidates it.
"""
from typing import Any, Callable, Tuple

import torch


class PropagationCacheMixin:
    r"""Gives a :class:`torch.nn.Module` :meth:`cached`, which memoises one
    computation (e.g. the final user and entity embeddings) in evaluation mode."""
    def _cache_key(self) -> Tuple:
        tensors = list(self.parameters()) + list(self.buffers())  # type: ignore
        return tuple((t.device, t.data_ptr(), t._version) for t in tensors)

    def cached(self, compute: Callable[[], Any]) -> Any:
        r"""Returns :obj:`compute()`, reusing the previous result when the module is in
        evaluation mode, gradients are disabled and no parameter or buffer changed."""
        if self.training or torch.is_grad_enabled():  # type: ignore
            self.__dict__.pop('_propagation_cache', None)
            return compute()
        key = self._cache_key()
        hit = self.__dict__.get('_propagation_cache')
        if hit is not None and hit[0] == key:
            return hit[1]
        value = compute()
        self.__dict__['_propagation_cache'] = (key, value)
        return value

    def clear_cache(self) -> None:
        self.__dict__.pop('_propagation_cache', None)
