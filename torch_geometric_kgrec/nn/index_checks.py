r"""Data-dependent input checks that can be switched off.

Checking that indices lie in range (:obj:`edge_type < num_relations`, user ids
:obj:`< num_users`) reads the tensor's minimum and maximum on the host: a device
synchronisation per layer call on a GPU, and a graph break that makes
:func:`torch.compile` with :obj:`fullgraph=True` fail. The layers route such checks
through :func:`check_index_range`, which

* runs in eager mode by default (a clear :class:`ValueError` instead of an
  out-of-bounds gather or a silent wrong relation),
* is skipped while :func:`torch.compile` traces (so the compiled graph has no host
  sync; validate the graph once before, e.g. at model construction as the models of
  this library do),
* and can be switched off for a hot loop once the graph has been validated:

.. code-block:: python

    from torch_geometric_kgrec.nn import index_checks
    with index_checks(False):
        for step in ...:
            out = conv(x, edge_index, edge_type)
"""
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor

_ENABLED = True


def index_checks_enabled() -> bool:
    r""":obj:`True` when data-dependent index checks run: enabled (the default) and
    not being traced by :func:`torch.compile`."""
    return _ENABLED and not torch.compiler.is_compiling()


def set_index_checks(enabled: bool) -> bool:
    r"""Switch the checks on or off globally; returns the previous setting."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, bool(enabled)
    return previous


@contextmanager
def index_checks(enabled: bool = True) -> Iterator[None]:
    r"""Context manager that sets the checks for its body."""
    previous = set_index_checks(enabled)
    try:
        yield
    finally:
        set_index_checks(previous)


def index_out_of_range(index: Tensor, high: int, low: int = 0) -> bool:
    r""":obj:`True` if some entry of :obj:`index` lies outside :obj:`[low, high)` (one
    host read of :func:`torch.aminmax`); always :obj:`False` when the checks are off
    (see :func:`index_checks_enabled`) or :obj:`index` is empty."""
    if not index_checks_enabled() or index.numel() == 0:
        return False
    lo, hi = torch.aminmax(index)
    lo, hi = torch.stack([lo, hi]).tolist()
    return lo < low or hi >= high


__all__ = ['index_checks', 'index_checks_enabled', 'set_index_checks',
           'index_out_of_range']
