r"""Row-wise dot products of gathered rows, :math:`o_k = \mathbf{a}_{i_k}^{\top}
\mathbf{b}_{j_k}`, in memory linear in the number of pairs.

The gates of :class:`~torch_geometric_kgrec.nn.conv.GatedPathConv`
(:math:`\gamma_{hr} = \sigma(\mathbf{e}_h^{\top}\mathbf{e}_r)`) are such dot products,
one per (head, relation) pair or per edge. Two common ways to compute them grow with
the wrong quantity:

* the table :math:`\mathbf{X}\mathbf{E}_R^{\top}` (:obj:`[N, R]`) grows with the
  number of relations, most of whose entries (relations a head does not have) are
  never read;
* :obj:`(a[i] * b[j]).sum(-1)` materialises, and autograd keeps, two :obj:`[K, d]`
  gathers.

:func:`gather_dot` computes the :obj:`[K]` output in chunks of
:obj:`chunk_size` rows and recomputes the gathers in the backward pass, so it keeps
only the inputs and the indices: :math:`O(K)` memory beyond :obj:`a` and :obj:`b`
(plus one :obj:`[chunk_size, d]` work buffer). While :func:`torch.compile` traces, it
is the plain expression, which the compiler fuses without materialising the gathers.
"""
import torch
from torch import Tensor

__all__ = ['gather_dot']


def _chunks(n: int, size: int):
    return ((s, min(s + size, n)) for s in range(0, n, size))


class _GatherDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, index_a: Tensor, index_b: Tensor,
                chunk_size: int) -> Tensor:
        out = a.new_empty(index_a.numel())
        for s, e in _chunks(index_a.numel(), chunk_size):
            rows = a.index_select(0, index_a[s:e])
            out[s:e] = (rows.mul_(b.index_select(0, index_b[s:e]))).sum(-1)
        ctx.save_for_backward(a, b, index_a, index_b)
        ctx.chunk_size = chunk_size
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b, index_a, index_b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[:2]
        grad_a = torch.zeros_like(a) if need_a else None
        grad_b = torch.zeros_like(b) if need_b else None
        for s, e in _chunks(index_a.numel(), ctx.chunk_size):
            g = grad[s:e].unsqueeze(-1)
            ia, ib = index_a[s:e], index_b[s:e]
            if need_a:
                grad_a.index_add_(0, ia, b.index_select(0, ib).mul_(g))
            if need_b:
                grad_b.index_add_(0, ib, a.index_select(0, ia).mul_(g))
        return grad_a, grad_b, None, None, None


def gather_dot(a: Tensor, b: Tensor, index_a: Tensor, index_b: Tensor,
               chunk_size: int = 65536) -> Tensor:
    r""":math:`o_k = \mathbf{a}_{\text{index\_a}[k]}^{\top}
    \mathbf{b}_{\text{index\_b}[k]}`, shape :obj:`[K]`, differentiable in :obj:`a` and
    :obj:`b`, with :math:`O(K)` extra memory (see the module docstring).

    Args:
        a (torch.Tensor): :obj:`[N, d]`.
        b (torch.Tensor): :obj:`[M, d]`.
        index_a (torch.Tensor): Row of :obj:`a` of every output, :obj:`[K]`.
        index_b (torch.Tensor): Row of :obj:`b` of every output, :obj:`[K]`.
        chunk_size (int, optional): Rows gathered at once. (default: :obj:`65536`)
    """
    if a.dim() != 2 or b.dim() != 2 or a.size(-1) != b.size(-1):
        raise ValueError(f"'a' and 'b' must be [N, d] and [M, d] (got {list(a.shape)} "
                         f"and {list(b.shape)})")
    if index_a.shape != index_b.shape or index_a.dim() != 1:
        raise ValueError(f"'index_a' and 'index_b' must be [K] (got "
                         f"{list(index_a.shape)} and {list(index_b.shape)})")
    if chunk_size <= 0:
        raise ValueError(f"'chunk_size' must be positive (got {chunk_size})")
    if torch.compiler.is_compiling():
        return (a[index_a] * b[index_b]).sum(-1)
    if a.dtype != b.dtype:
        raise ValueError(f"'a' and 'b' must have one dtype (got {a.dtype} and {b.dtype})")
    return _GatherDot.apply(a, b, index_a, index_b, int(chunk_size))
