r"""The cross & compress unit of MKR (Wang et al., WWW 2019) and its two ablations."""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.nn import Module, Parameter

from torch_geometric.nn.inits import glorot, zeros

VARIANTS = ('mkr', 'dcn', 'stitch')


class CrossCompressUnit(Module):
    r"""The cross & compress unit from the `"Multi-Task Feature Learning for Knowledge
    Graph Enhanced Recommendation" <https://arxiv.org/abs/1901.08907>`_ paper (MKR),
    which shares latent features between an item :math:`\mathbf{v}` and its entity
    :math:`\mathbf{e}`.

    **Cross** (eq. 3) builds all :math:`d \times d` pairwise feature interactions, and
    **compress** (eq. 4) projects them back with weight vectors
    :math:`\mathbf{w}^{\cdot\cdot} \in \mathbb{R}^d` and *vector* biases
    :math:`\mathbf{b}^{\cdot} \in \mathbb{R}^d` (as in the authors' code):

    .. math::
        \mathbf{C}_l &= \mathbf{v}_l \mathbf{e}_l^{\top} \in \mathbb{R}^{d \times d}

        \mathbf{v}_{l+1} &= \mathbf{C}_l \mathbf{w}_l^{VV} + \mathbf{C}_l^{\top}
        \mathbf{w}_l^{EV} + \mathbf{b}_l^{V}

        \mathbf{e}_{l+1} &= \mathbf{C}_l \mathbf{w}_l^{VE} + \mathbf{C}_l^{\top}
        \mathbf{w}_l^{EE} + \mathbf{b}_l^{E}

    :math:`\mathbf{C}_l` is never materialised: since :math:`\mathbf{C}\mathbf{w} =
    \mathbf{v}(\mathbf{e}^{\top}\mathbf{w})` and :math:`\mathbf{C}^{\top}\mathbf{w} =
    \mathbf{e}(\mathbf{v}^{\top}\mathbf{w})`, a unit costs :math:`O(d)` per pair instead
    of :math:`O(d^2)` time and memory (identical values).

    The ablations of the paper's section "Comparison with MKR variants" are available via
    :obj:`variant` (MKR-1L is simply MKR with one unit):

    * :obj:`"dcn"` (MKR-DCN, Proposition 2): a deep & cross layer across the two tasks,
      with the unit's first inputs :math:`\mathbf{v}_0, \mathbf{e}_0`:

      .. math::
          \mathbf{v}_{l+1} = \mathbf{e}_0 \mathbf{v}_l^{\top} \mathbf{w}_l^{EV} +
          \mathbf{v}_l + \mathbf{b}_l^{V}, \qquad
          \mathbf{e}_{l+1} = \mathbf{v}_0 \mathbf{e}_l^{\top} \mathbf{w}_l^{VE} +
          \mathbf{e}_l + \mathbf{b}_l^{E}

    * :obj:`"stitch"` (MKR-stitch, Proposition 3): the transfer weights
      :math:`\mathbf{e}^{\top}\mathbf{w}^{VV}, \mathbf{v}^{\top}\mathbf{w}^{EV}, \ldots`
      are replaced by four trainable scalars (a cross-stitch unit):

      .. math::
          \mathbf{v}_{l+1} = \alpha^{VV} \mathbf{v}_l + \alpha^{EV} \mathbf{e}_l +
          \mathbf{b}_l^{V}, \qquad
          \mathbf{e}_{l+1} = \alpha^{VE} \mathbf{v}_l + \alpha^{EE} \mathbf{e}_l +
          \mathbf{b}_l^{E}

    Args:
        channels (int): Size :math:`d` of the item and entity vectors.
        variant (str, optional): :obj:`"mkr"` (the cross & compress unit),
            :obj:`"dcn"` or :obj:`"stitch"`. (default: :obj:`"mkr"`)
        bias (bool, optional): If set to :obj:`False`, the unit does not learn the
            biases :math:`\mathbf{b}^{V}, \mathbf{b}^{E}`. (default: :obj:`True`)

    Shapes:
        - **input:** item vectors :math:`(*, d)`, entity vectors :math:`(*, d)`
          (same shape); for :obj:`"dcn"` optionally :math:`\mathbf{v}_0,
          \mathbf{e}_0` of the same shape (default: the inputs, i.e. the first layer)
        - **output:** item vectors :math:`(*, d)`, entity vectors :math:`(*, d)`
    """
    def __init__(self, channels: int, variant: str = 'mkr', bias: bool = True) -> None:
        super().__init__()
        if channels <= 0:
            raise ValueError(f"'channels' must be positive (got {channels})")
        if variant not in VARIANTS:
            raise ValueError(f"'variant' must be one of {VARIANTS} (got {variant!r})")
        self.channels = channels
        self.variant = variant

        if variant == 'mkr':
            self.weight_vv = Parameter(torch.empty(channels, 1))
            self.weight_ev = Parameter(torch.empty(channels, 1))
            self.weight_ve = Parameter(torch.empty(channels, 1))
            self.weight_ee = Parameter(torch.empty(channels, 1))
        elif variant == 'dcn':
            self.weight_ev = Parameter(torch.empty(channels, 1))
            self.weight_ve = Parameter(torch.empty(channels, 1))
        else:  # stitch: [[alpha_vv, alpha_ev], [alpha_ve, alpha_ee]]
            self.alpha = Parameter(torch.empty(2, 2))

        if bias:
            self.bias_v = Parameter(torch.empty(channels))
            self.bias_e = Parameter(torch.empty(channels))
        else:
            self.register_parameter('bias_v', None)
            self.register_parameter('bias_e', None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module: Glorot-uniform weights and
        zero biases as in the authors' TensorFlow code; the cross-stitch scalars start
        at :math:`[[0.9, 0.1], [0.1, 0.9]]` as recommended by Misra et al. (2016)."""
        for name in ('weight_vv', 'weight_ev', 'weight_ve', 'weight_ee'):
            if hasattr(self, name):
                glorot(getattr(self, name))
        if self.variant == 'stitch':
            with torch.no_grad():
                self.alpha.copy_(torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
        zeros(self.bias_v)
        zeros(self.bias_e)

    def forward(self, v: Tensor, e: Tensor, v0: Optional[Tensor] = None,
                e0: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        r"""Returns the item and entity vectors of the next layer.

        Args:
            v (torch.Tensor): Item vectors :math:`\mathbf{v}_l`.
            e (torch.Tensor): Entity vectors :math:`\mathbf{e}_l`.
            v0 (torch.Tensor, optional): First-layer item vectors (:obj:`"dcn"` only).
            e0 (torch.Tensor, optional): First-layer entity vectors (:obj:`"dcn"` only).
        """
        self._check(v, e, v0, e0)
        if self.variant == 'mkr':
            # C w = v (e^T w), C^T w = e (v^T w): no [*, d, d] tensor is built.
            v_out = v * (e @ self.weight_vv) + e * (v @ self.weight_ev)
            e_out = v * (e @ self.weight_ve) + e * (v @ self.weight_ee)
        elif self.variant == 'dcn':
            v0 = v if v0 is None else v0
            e0 = e if e0 is None else e0
            v_out = e0 * (v @ self.weight_ev) + v
            e_out = v0 * (e @ self.weight_ve) + e
        else:
            a = self.alpha
            v_out = a[0, 0] * v + a[0, 1] * e
            e_out = a[1, 0] * v + a[1, 1] * e
        if self.bias_v is not None:
            v_out = v_out + self.bias_v
            e_out = e_out + self.bias_e
        return v_out, e_out

    def _check(self, v: Tensor, e: Tensor, v0: Optional[Tensor],
               e0: Optional[Tensor]) -> None:
        if v.shape != e.shape:
            raise ValueError(f"item and entity vectors must have the same shape "
                             f"(got {tuple(v.shape)} and {tuple(e.shape)})")
        if v.dim() == 0 or v.size(-1) != self.channels:
            raise ValueError(f"expected vectors with {self.channels} channels in the last "
                             f"dimension (got shape {tuple(v.shape)})")
        for name, x in (('v0', v0), ('e0', e0)):
            if x is None:
                continue
            if self.variant != 'dcn':
                raise ValueError(f"'{name}' is only used by variant='dcn' "
                                 f"(this unit is variant={self.variant!r})")
            if x.shape != v.shape:
                raise ValueError(f"'{name}' must have the shape of the inputs "
                                 f"{tuple(v.shape)} (got {tuple(x.shape)})")

    def __repr__(self) -> str:
        extra = '' if self.variant == 'mkr' else f', variant={self.variant!r}'
        return f'{self.__class__.__name__}({self.channels}{extra})'
