r"""Data-parallel training and sharded evaluation on :mod:`torch.distributed`.

Everything multi-process lives here, so that a model, a benchmark or the evaluator never
calls :mod:`torch.distributed` directly:

.. code-block:: python

    env = init_distributed(device)          # torchrun's RANK / WORLD_SIZE / LOCAL_RANK
    env.attach(model, optimizer)            # same start weights, gradient all-reduce
    for idx in perm.split(global_batch):    # one seeded permutation on every rank
        users, pos, neg = ...               # the global batch (same on every rank)
        users, pos, neg = env.shard(users, pos, neg)   # this rank's slice
        optimizer.zero_grad(); loss_fn(users, pos, neg).backward(); optimizer.step()

**Gradients.** :meth:`DistEnv.attach` registers a pre-step hook on the optimizer that
all-reduces the gradients before every :meth:`~torch.optim.Optimizer.step`, weighted by
this rank's share :math:`n_r / n` of the global batch (set by :meth:`DistEnv.shard`):

.. math::
    g = \sum_r \frac{n_r}{n} \nabla \mathcal{L}_r

which is the gradient of the global-batch loss for every loss that is a per-example mean
plus terms that do not depend on the batch (L2 of the batch embeddings divided by the
batch size, KGIN's / KMPN's independence losses on the full embedding tables), also
when :math:`n` is not a multiple of the world size. A loss that *sums* over the batch
(e.g. the margin losses of TransE / TransH, eq. 4 of KTUP) is sharded with
:obj:`shard(..., reduction='sum')`, which gives every rank weight 1. A step without a
preceding :meth:`~DistEnv.shard` (a replicated step) averages. Every optimizer attached
to the same :class:`DistEnv` uses the weight of the last :meth:`~DistEnv.shard` once
(e.g. KTUP's Adam + SparseAdam pair stepping together). A loss that mixes terms of
different batches (a joint loss over a batch of pairs and a batch of content pairs) sets
the weight itself with :meth:`~DistEnv.set_gradient_weight`. This works for any step, also one
that is not a single :meth:`forward` (KGAT's alternating CF / TransR steps, MKR's
alternating phases, losses computed by ``model.loss(...)``), which is why this is an
explicit all-reduce and not :class:`~torch.nn.parallel.DistributedDataParallel` (whose
hooks only fire for a forward through the wrapper). The KG propagation is replicated on
every rank, as in the multi-GPU KMPN of the CKMPN paper.

**Evaluation.** :func:`~torch_geometric_kgrec.metrics.evaluate_ranking` and the KG
completion evaluator call :func:`resolve_group` and, when a group of more than one
process is active, score every :obj:`world_size`-th batch and all-reduce the results so
that every rank returns exactly the single-process numbers.

**Failure.** A rank that raises exits non-zero; :command:`torchrun` (and
:func:`torch.multiprocessing.spawn`) then terminates the others, and the collectives have
a finite :obj:`timeout` as a second line of defence.
"""
import datetime
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

__all__ = [
    'DistEnv',
    'init_distributed',
    'current_env',
    'resolve_group',
    'all_reduce_sum',
    'all_gather_cat',
    'broadcast_object',
    'shard_bounds',
    'destroy',
]


def _dist():
    import torch.distributed as dist
    return dist


def _is_initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def resolve_group(distributed: Optional[bool] = None, group: Any = None
                  ) -> Tuple[Any, int, int]:
    r"""The process group an evaluator shards over, as :obj:`(group, rank,
    world_size)`.

    Args:
        distributed (bool, optional): :obj:`None` (default): shard when
            :mod:`torch.distributed` is initialised (or :obj:`group` is given);
            :obj:`False`: evaluate everything in this process; :obj:`True`: require an
            initialised process group.
        group (ProcessGroup, optional): The group (default: the whole world).
    """
    if distributed is False:
        return None, 0, 1
    if not _is_initialized():
        if distributed or group is not None:
            raise RuntimeError('torch.distributed is not initialised; call '
                               'torch_geometric_kgrec.distributed.init_distributed() first '
                               'or pass distributed=False')
        return None, 0, 1
    dist = _dist()
    return group, dist.get_rank(group), dist.get_world_size(group)


def _comm_device(group: Any = None) -> torch.device:
    r"""NCCL reduces CUDA tensors, gloo CPU ones."""
    if _dist().get_backend(group) == 'nccl':
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def all_reduce_sum(tensor: Tensor, group: Any = None) -> Tensor:
    r"""Sum of :obj:`tensor` over the ranks of :obj:`group` (a new tensor on the
    device and dtype of :obj:`tensor`; moved to the backend's device for the
    reduction). Without an initialised process group, returns :obj:`tensor`."""
    if not _is_initialized():
        return tensor
    buf = tensor.detach().to(_comm_device(group), copy=True).contiguous()
    _dist().all_reduce(buf, group=group)
    return buf.to(tensor.device)


def all_gather_cat(tensor: Tensor, group: Any = None) -> Tensor:
    r"""The concatenation, in rank order, of every rank's :obj:`tensor` along dim 0
    (lengths may differ between ranks; trailing dims and dtype must agree)."""
    if not _is_initialized() or _dist().get_world_size(group) == 1:
        return tensor
    dist, dev = _dist(), _comm_device(group)
    world_size = dist.get_world_size(group)
    size = torch.tensor([tensor.size(0)], dtype=torch.long, device=dev)
    sizes = [torch.zeros_like(size) for _ in range(world_size)]
    dist.all_gather(sizes, size, group=group)
    sizes = [int(s) for s in sizes]
    longest = max(sizes)
    buf = tensor.detach().to(dev)
    if buf.size(0) < longest:
        pad = buf.new_zeros((longest - buf.size(0), ) + tuple(buf.shape[1:]))
        buf = torch.cat([buf, pad])
    parts = [torch.empty_like(buf) for _ in range(world_size)]
    dist.all_gather(parts, buf.contiguous(), group=group)
    return torch.cat([p[:n] for p, n in zip(parts, sizes)]).to(tensor.device)


def broadcast_object(obj: Any, src: int = 0, group: Any = None) -> Any:
    r""":obj:`obj` of rank :obj:`src` on every rank (e.g. rank 0's early-stopping
    decision). Without an initialised process group, returns :obj:`obj`."""
    if not _is_initialized() or _dist().get_world_size(group) == 1:
        return obj
    box = [obj]
    _dist().broadcast_object_list(box, src=src, group=group,
                                  device=_comm_device(group))
    return box[0]


def shard_bounds(n: int, rank: int, world_size: int) -> Tuple[int, int]:
    r"""Contiguous slice :obj:`[start, end)` of :obj:`n` examples held by :obj:`rank`
    (sizes differ by at most one, as :func:`torch.tensor_split`)."""
    q, r = divmod(n, world_size)
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


@dataclass
class DistEnv:
    r"""Where this process stands in a (possibly single-process) data-parallel run.

    Attributes:
        rank (int): Global rank (0 in a single process).
        world_size (int): Number of processes.
        local_rank (int): Rank on this machine (selects the GPU).
        device (torch.device): The device this rank computes on.
        backend (str, optional): :obj:`'gloo'` or :obj:`'nccl'` (:obj:`None` when
            single-process).
        group (ProcessGroup, optional): The process group (default: the world).
    """
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device('cpu'))
    backend: Optional[str] = None
    group: Any = None
    _weight: Optional[float] = field(default=None, repr=False)
    _generation: int = field(default=0, repr=False)
    _consumed: Dict[Any, int] = field(default_factory=dict, repr=False)

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        r""":obj:`True` on rank 0: logging, checkpoints, result files."""
        return self.rank == 0

    def shard(self, *tensors: Tensor, reduction: str = 'mean'
              ) -> Union[Tensor, Tuple[Tensor, ...]]:
        r"""This rank's contiguous slice (along dim 0) of a global batch: every
        tensor must have the same length :math:`n`. Records the weight of this rank's
        gradient in the next optimizer step: :math:`n_r / n` for a loss that is a
        mean over the batch (:obj:`reduction='mean'`), :math:`1` for one that is a
        sum (:obj:`reduction='sum'`; :math:`0` for an empty shard either way)."""
        if reduction not in ('mean', 'sum'):
            raise ValueError(f"reduction must be 'mean' or 'sum' (got {reduction!r})")
        if not tensors:
            raise ValueError('shard() needs at least one tensor')
        n = tensors[0].size(0)
        if any(t.size(0) != n for t in tensors):
            raise ValueError(f'shard(): all tensors must have the same length (got '
                             f'{[t.size(0) for t in tensors]})')
        start, end = shard_bounds(n, self.rank, self.world_size)
        if reduction == 'sum':
            self.set_gradient_weight(1.0 if end > start else 0.0)
        else:
            self.set_gradient_weight((end - start) / n if n else 0.0)
        out = tuple(t[start:end] for t in tensors)
        return out[0] if len(out) == 1 else out

    def fraction(self, n: int) -> float:
        r"""The share :math:`n_r / n` of a global batch of :obj:`n` examples that
        :meth:`shard` gives this rank (:obj:`1.0` in a single process)."""
        if not self.is_distributed:
            return 1.0
        start, end = shard_bounds(n, self.rank, self.world_size)
        return (end - start) / n if n else 0.0

    def joint_weights(self, coefficients: Sequence[float], sizes: Sequence[int]
                      ) -> Tuple[float, ...]:
        r"""For a loss :math:`\sum_k c_k \bar{\ell}_k` whose terms are means over
        different global batches of sizes :math:`n_k` (e.g. KGCN's CTR batch and the
        batch of content pairs, eq. 5 of Kim et al.), each sharded with
        :meth:`shard`: returns the coefficients :math:`c'_k = c_k f_k / w` to compute
        this rank's loss with (:math:`f_k` = this rank's share of batch :math:`k`)
        and sets the gradient weight to :math:`w = \sum_k c_k f_k`, so that the
        all-reduced gradient is exactly the global loss's. Returns
        :obj:`coefficients` unchanged in a single process."""
        coefficients = tuple(float(c) for c in coefficients)
        if len(coefficients) != len(sizes):
            raise ValueError('joint_weights() needs one size per coefficient')
        if not self.is_distributed:
            return coefficients
        scaled = [c * self.fraction(n) for c, n in zip(coefficients, sizes)]
        weight = sum(scaled)
        self.set_gradient_weight(weight)
        return tuple(c / weight for c in scaled) if weight else coefficients

    def set_gradient_weight(self, weight: float) -> None:
        r"""The weight :math:`w_r` of this rank's gradients in the next step of every
        attached optimizer (:meth:`shard` sets it); the all-reduced gradient is
        :math:`\sum_r w_r g_r`."""
        self._weight = float(weight)
        self._generation += 1

    def _take_weight(self, key: Any) -> float:
        # The last shard's weight, once per optimizer; a replicated step averages.
        if self._weight is None or self._consumed.get(key) == self._generation:
            return 1.0 / self.world_size
        self._consumed[key] = self._generation
        return self._weight

    def loss_share(self, value: float) -> float:
        r"""This rank's loss :obj:`value` of the last :meth:`shard`, scaled so that
        its mean over the ranks (what :func:`~torch_geometric_kgrec.train.run_training`
        logs) is the loss of the global batch: :math:`W w_r \ell_r`. Returns
        :obj:`value` itself in a single process."""
        if not self.is_distributed:
            return value
        weight = self._weight if self._weight is not None else 1.0 / self.world_size
        return value * weight * self.world_size if weight else 0.0  # empty shard: NaN

    def rank_generator(self, generator: torch.Generator) -> torch.Generator:
        r"""A generator for random draws *inside* a sharded step whose number
        depends on the shard (e.g. NRMS-BERT's sampled browsing histories of the
        shard's users): :obj:`generator` itself in a single process; with several
        processes a new one seeded from a draw of a copy of :obj:`generator` (so
        :obj:`generator` is not advanced and the permutations and negatives drawn from
        it afterwards agree across ranks and with a single process) plus the rank (so
        that the ranks' draws differ). Such a step then equals the single-process one
        in distribution, not draw for draw."""
        if not self.is_distributed:
            return generator
        copy = torch.Generator(device=generator.device)
        copy.set_state(generator.get_state())
        seed = int(torch.randint(0, 2**62, (1, ), generator=copy, device=copy.device))
        return torch.Generator(device=generator.device).manual_seed(seed + self.rank)

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        r"""Copy rank 0's parameters and buffers to every rank."""
        if not self.is_distributed:
            return
        dist = _dist()
        with torch.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                buf = t.detach().to(_comm_device(self.group), copy=True)
                dist.broadcast(buf, src=0, group=self.group)
                t.copy_(buf.to(t.device))

    def all_reduce_gradients(self, params: Sequence[torch.nn.Parameter],
                             key: Any = None) -> None:
        r"""Replace every gradient by :math:`\sum_r w_r g_r` (:math:`w_r` from the
        last :meth:`shard` or :meth:`set_gradient_weight`, used once per :obj:`key`,
        e.g. per attached optimizer; else :math:`1 / W`), in one coalesced
        all-reduce. A parameter without a gradient on some rank counts as zero there;
        one without a gradient on every rank keeps :obj:`grad = None` (as in a single
        process, so that e.g. Adam skips it). Sparse gradients (:obj:`sparse=True`
        embeddings) are reduced densely and handed back sparse over the rows that any
        rank's gradient holds, so that :class:`torch.optim.SparseAdam` updates the
        same rows as in a single process (also rows whose gradient is zero). Gradient
        clipping must come after this, i.e. not between :meth:`backward` and
        :meth:`step` of an attached optimizer (it would see this rank's gradients
        only)."""
        weight = self._take_weight(key)
        if not self.is_distributed:
            return
        params = [p for p in params if p.requires_grad]
        if not params:
            return
        dev = _comm_device(self.group)
        flags = torch.tensor([[p.grad is not None, p.grad is not None and p.grad.is_sparse]
                              for p in params], dtype=torch.int32, device=dev)
        _dist().all_reduce(flags, group=self.group)
        flags = flags.tolist()
        keep = [i for i, (has, _) in enumerate(flags) if has > 0]
        params = [params[i] for i in keep]
        sparse = [flags[i][1] > 0 for i in keep]
        if not params:
            return

        def dense(p):
            if p.grad is None:
                return torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
            g = p.grad.detach()
            return (g.to_dense() if g.is_sparse else g).reshape(-1)

        def rows(p):  # rows of a sparse gradient held by this rank (1 = held)
            out = torch.zeros(p.size(0), dtype=p.dtype, device=p.device)
            if p.grad is not None and p.grad.is_sparse:
                out[p.grad.coalesce().indices()[0]] = 1.0
            return out

        flat = torch.cat([dense(p).to(dev) for p in params])  # a copy
        if weight == 0.0:  # empty shard: contribute nothing (its loss may be NaN)
            flat.zero_()
        elif weight != 1.0:
            flat.mul_(weight)
        if any(sparse):
            flat = torch.cat([flat] + [rows(p).to(dev) for p, s in zip(params, sparse) if s])
        _dist().all_reduce(flat, group=self.group)
        offset = 0
        grads = []
        for p in params:
            grads.append(flat[offset:offset + p.numel()].view_as(p).to(p.device, p.dtype))
            offset += p.numel()
        for p, g, s in zip(params, grads, sparse):
            if s:  # e.g. for SparseAdam: the union of the ranks' rows
                held = flat[offset:offset + p.size(0)].nonzero().view(-1).to(p.device)
                offset += p.size(0)
                p.grad = torch.sparse_coo_tensor(held.view(1, -1), g[held], p.shape,
                                                 is_coalesced=True,
                                                 check_invariants=False)
            elif p.grad is None:
                p.grad = g
            else:
                p.grad.copy_(g)

    def attach(self, model: torch.nn.Module, *optimizers: torch.optim.Optimizer):
        r"""Start every rank from rank 0's weights and all-reduce the gradients of
        each optimizer's parameters before each of its steps (several optimizers,
        e.g. MKR's two or KTUP's Adam + SparseAdam, each use the last
        :meth:`shard`'s weight once). Returns the hook handle (a list of them for
        several optimizers; :obj:`None` in a single process)."""
        if not self.is_distributed:
            return None
        if not optimizers:
            raise ValueError('attach() needs at least one optimizer')
        self.broadcast_parameters(model)
        handles = []
        for optimizer in optimizers:
            params = [p for g in optimizer.param_groups for p in g['params']]
            handles.append(optimizer.register_step_pre_hook(
                lambda opt, args, kwargs, params=params: self.all_reduce_gradients(
                    params, key=id(opt))))
        return handles[0] if len(handles) == 1 else handles

    def mean(self, values: Dict[str, float]) -> Dict[str, float]:
        r"""Mean over ranks of a dict of floats (e.g. an epoch's losses)."""
        if not self.is_distributed or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        t = all_reduce_sum(t, self.group) / self.world_size
        return dict(zip(keys, t.tolist()))

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        r"""Rank :obj:`src`'s :obj:`obj` on every rank."""
        return broadcast_object(obj, src, self.group) if self.is_distributed else obj

    def info(self) -> Dict[str, object]:
        r"""What a result document records."""
        return {'world_size': self.world_size, 'backend': self.backend}


_ENV: Optional[DistEnv] = None


def init_distributed(device: Union[str, torch.device, None] = None,
                     backend: Optional[str] = None,
                     timeout: float = 600.0) -> DistEnv:
    r"""Join the process group described by :command:`torchrun`'s environment
    (:obj:`RANK`, :obj:`WORLD_SIZE`, :obj:`LOCAL_RANK`, :obj:`MASTER_ADDR`,
    :obj:`MASTER_PORT`); a plain single-process run (no :obj:`WORLD_SIZE`, or 1)
    gets a :class:`DistEnv` of world size 1 and initialises nothing.

    Args:
        device (torch.device, optional): :obj:`'cuda'` runs rank :math:`r` on
            :obj:`cuda:LOCAL_RANK` with NCCL; a CPU device uses gloo.
            (default: CPU)
        backend (str, optional): Override the backend (:obj:`'gloo'` /
            :obj:`'nccl'`).
        timeout (float): Seconds a collective may wait for a missing rank before
            it raises (so a dead rank cannot hang the others forever).
            (default: :obj:`600`)
    """
    global _ENV
    device = torch.device(device) if device is not None else torch.device('cpu')
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', str(rank)))
    if device.type == 'cuda' and device.index is None:
        device = torch.device('cuda', local_rank if world_size > 1 else 0)
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    if world_size <= 1:
        _ENV = DistEnv(device=device)
        return _ENV
    if not torch.distributed.is_available():
        raise RuntimeError('WORLD_SIZE > 1 but this PyTorch build has no torch.distributed')
    dist = _dist()
    backend = backend or ('nccl' if device.type == 'cuda' else 'gloo')
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout))
    _ENV = DistEnv(rank=dist.get_rank(), world_size=dist.get_world_size(),
                   local_rank=local_rank, device=device, backend=dist.get_backend())
    return _ENV


def current_env() -> DistEnv:
    r"""The :class:`DistEnv` of this process: the one :func:`init_distributed`
    returned, one built from an already initialised default process group, or a
    single-process one."""
    global _ENV
    if _ENV is not None and _ENV.is_distributed == _is_initialized():
        return _ENV
    if _is_initialized():
        dist = _dist()
        _ENV = DistEnv(rank=dist.get_rank(), world_size=dist.get_world_size(),
                       local_rank=int(os.environ.get('LOCAL_RANK', dist.get_rank())),
                       backend=dist.get_backend())
        return _ENV
    return DistEnv()


def destroy() -> None:
    r"""Leave the process group (end of a run)."""
    global _ENV
    if _is_initialized():
        _dist().destroy_process_group()
    _ENV = None

