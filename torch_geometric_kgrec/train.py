r"""The one small training harness shared by every benchmark.

It owns only what every model needs: seeding, the epoch loop with a tqdm progress bar,
early stopping on a *validation* metric (never the test set), restoring the best
weights, checkpoints that resume bit for bit, and timing / memory bookkeeping. What happens inside an epoch belongs to the
caller (``train_epoch``), so models keep their own schedules (e.g. MKR's alternating
steps, KTUP's joint loss).
"""
import copy
import math
import os
import os.path as osp
import platform
import random
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import numpy as np
import torch
from torch_geometric import seed_everything  # noqa: F401  (re-exported)
from tqdm.auto import tqdm

from torch_geometric_kgrec.distributed import current_env
from torch_geometric_kgrec.serialization import atomic_torch_save


def peak_memory_mb(device: Union[str, torch.device, None] = None) -> float:
    r"""Peak memory of this run in MiB: CUDA's peak allocation on a GPU device, the
    process' peak resident set size otherwise."""
    device = torch.device(device) if device is not None else torch.device('cpu')
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if platform.system() != 'Darwin' else rss / 2**20


def machine_info(device: Union[str, torch.device, None] = None) -> Dict[str, object]:
    r"""What the numbers were measured on."""
    import torch_geometric
    info: Dict[str, object] = {
        'platform': platform.platform(),
        'processor': platform.processor() or platform.machine(),
        'cpu_count': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'torch_geometric': torch_geometric.__version__,
        'device': str(device or 'cpu'),
    }
    if device is not None and torch.device(device).type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(torch.device(device))
    info.update(current_env().info())  # world_size / backend of a torchrun job
    return info


_TRAININGS: List[Dict[str, object]] = []


def recorded_trainings() -> List[Dict[str, object]]:
    r"""Summary and per-epoch history of every :func:`run_training` call of this process
    so far, in call order (the benchmarks write it into their result JSON)."""
    return [dict(r) for r in _TRAININGS]


@dataclass
class TrainResult:
    r"""What :func:`run_training` returns."""
    best_epoch: int
    best_metrics: Dict[str, float]
    history: List[Dict[str, float]] = field(default_factory=list)
    seconds_per_epoch: float = float('nan')
    epochs_run: int = 0
    stopped_early: bool = False
    world_size: int = 1


def _rng_state() -> Dict[str, Any]:
    st = np.random.get_state()
    out: Dict[str, Any] = {
        'torch': torch.get_rng_state(),
        'numpy': [st[0], torch.from_numpy(np.asarray(st[1], dtype=np.int64)), int(st[2]),
                  int(st[3]), float(st[4])],
        'random': random.getstate(),
    }
    if torch.cuda.is_available():
        out['cuda'] = torch.cuda.get_rng_state_all()
    return out


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state['torch'])
    n = state['numpy']
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    r = state['random']
    random.setstate((r[0], tuple(r[1]), r[2]))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _state_of(obj: Any) -> Any:
    if isinstance(obj, torch.Generator):
        return obj.get_state()
    return obj.state_dict()


def _load_state(obj: Any, state: Any) -> None:
    if isinstance(obj, torch.Generator):
        obj.set_state(state)
    else:
        obj.load_state_dict(state)


def save_checkpoint(path: str, state: Mapping[str, Any]) -> None:
    r"""Write :obj:`state` to :obj:`path` atomically (temporary file in the same
    folder, then :func:`os.replace`): an interruption leaves the previous checkpoint."""
    atomic_torch_save(dict(state), path)


def load_checkpoint(path: str) -> Dict[str, Any]:
    r"""Read a checkpoint written by :func:`save_checkpoint` with
    ``torch.load(weights_only=True)`` (tensors, containers, numbers and strings only)."""
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise RuntimeError(f'{path}: cannot read the checkpoint ({type(e).__name__}: '
                           f'{str(e).splitlines()[0] if str(e) else ""}); delete it to '
                           'start over') from e


def run_training(
    model: torch.nn.Module,
    train_epoch: Callable[[int], Union[float, Dict[str, float]]],
    evaluate: Optional[Callable[[], Dict[str, float]]],
    epochs: int,
    monitor: str = 'ndcg@20',
    patience: int = 10,
    eval_every: int = 1,
    mode: str = 'max',
    progress: bool = True,
    desc: str = 'train',
    checkpoint: Optional[str] = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    state: Optional[Mapping[str, Any]] = None,
) -> TrainResult:
    r"""Run :obj:`train_epoch(epoch)` for up to :obj:`epochs` epochs, evaluate on the
    validation split every :obj:`eval_every` epochs, stop after :obj:`patience`
    evaluations without improvement of :obj:`monitor`, and load the best weights
    back into :obj:`model`.

    With :obj:`checkpoint` (a folder), everything needed to continue is written to
    ``checkpoint/checkpoint.pt`` every :obj:`checkpoint_every` epochs and at the end,
    atomically: the model, every object of :obj:`state` (optimisers, schedulers:
    :meth:`state_dict`; :class:`torch.Generator`: :meth:`get_state`), the global
    torch / NumPy / :mod:`random` generators, the epoch, the best weights and metrics,
    the early-stopping counter and the history. With :obj:`resume=True`, an existing
    checkpoint is loaded (``weights_only=True``) and training continues after its
    epoch, so that the result equals the uninterrupted run's bit for bit (given a
    deterministic :obj:`train_epoch`); a finished run returns its result at once.

    Args:
        model (torch.nn.Module): The model (its best :obj:`state_dict` is restored).
        train_epoch (callable): Runs one epoch, returns the loss (or a dict of losses).
        evaluate (callable, optional): Returns validation metrics, e.g.
            :obj:`{'ndcg@20': 0.1}`. If :obj:`None`, the last epoch is kept.
        epochs (int): Maximum number of epochs.
        monitor (str): Validation metric used for early stopping and model selection.
        patience (int): Evaluations without improvement before stopping.
        eval_every (int): Evaluate every this many epochs (and after the last).
        mode (str): :obj:`"max"` or :obj:`"min"` for :obj:`monitor`.
        progress (bool): Show a tqdm progress bar.
        desc (str): Label of the progress bar.
        checkpoint (str, optional): Folder of the checkpoint. (default: :obj:`None`)
        checkpoint_every (int): Save every this many epochs. (default: :obj:`1`)
        resume (bool): Continue from the checkpoint if there is one.
            (default: :obj:`False`)
        state (dict, optional): Named objects whose state a resumed run needs besides
            the model: optimisers, schedulers, samplers' :class:`torch.Generator`.

    Under :command:`torchrun` (see :mod:`torch_geometric_kgrec.distributed`) every
    rank runs this loop: :obj:`train_epoch` trains on its shard, :obj:`evaluate` runs
    on every rank (the library's evaluators shard and all-reduce), losses are averaged
    over ranks, the progress bar is on rank 0, and rank 0's validation metrics (hence
    its model-selection and early-stopping decisions) are broadcast to every rank.
    """
    if mode not in ('max', 'min'):
        raise ValueError(f"mode must be 'max' or 'min' (got {mode!r})")
    if checkpoint_every < 1:
        raise ValueError(f'checkpoint_every must be positive (got {checkpoint_every})')
    state = dict(state or {})
    path = osp.join(checkpoint, 'checkpoint.pt') if checkpoint else None
    sign = 1.0 if mode == 'max' else -1.0
    best, best_epoch, best_state, best_metrics = -math.inf, 0, None, {}
    history: List[Dict[str, float]] = []
    seconds: List[float] = []
    bad, stopped, start, finished = 0, False, 1, False

    if resume and path and osp.exists(path):
        ckpt = load_checkpoint(path)
        if ckpt.get('monitor') != monitor or ckpt.get('mode') != mode:
            raise ValueError(f"{path}: written by a run monitoring {ckpt.get('monitor')!r} "
                             f"({ckpt.get('mode')}), not {monitor!r} ({mode})")
        missing = sorted(set(ckpt['state']) ^ set(state))
        if missing:
            raise ValueError(f'{path}: the checkpoint and this run hold different state '
                             f'objects ({missing})')
        model.load_state_dict(ckpt['model'])
        for name, obj in state.items():
            _load_state(obj, ckpt['state'][name])
        _set_rng_state(ckpt['rng'])
        best, best_epoch, best_metrics = ckpt['best'], ckpt['best_epoch'], ckpt['best_metrics']
        best_state, bad, stopped = ckpt['best_state'], ckpt['bad'], ckpt['stopped']
        history, seconds = list(ckpt['history']), list(ckpt['seconds'])
        start, finished = ckpt['epoch'] + 1, ckpt['finished']

    def save(epoch: int, done: bool) -> None:
        save_checkpoint(path, {
            'epoch': epoch, 'finished': done, 'monitor': monitor, 'mode': mode,
            'model': {k: v.detach().cpu() for k, v in model.state_dict().items()},
            'state': {name: _state_of(obj) for name, obj in state.items()},
            'rng': _rng_state(), 'best': best, 'best_epoch': best_epoch,
            'best_metrics': best_metrics, 'best_state': best_state, 'bad': bad,
            'stopped': stopped, 'history': history, 'seconds': seconds})

    epoch = start - 1
    env = current_env()
    bar = tqdm(range(start, epochs + 1), desc=desc,
               disable=not progress or finished or not env.is_main,
               dynamic_ncols=True, initial=start - 1, total=epochs)
    for epoch in bar:
        if finished:
            break
        model.train()
        if progress:  # a long epoch shows what is running instead of a frozen bar
            bar.set_postfix_str(f'training epoch {epoch}', refresh=True)
        t0, c0 = time.perf_counter(), time.process_time()
        out = train_epoch(epoch)
        seconds.append(time.perf_counter() - t0)
        # CPU seconds of this process as well: on a shared machine the wall time
        # includes waiting for the CPU, the CPU time does not.
        row: Dict[str, float] = {'epoch': epoch, 'seconds': seconds[-1],
                                 'cpu_seconds': time.process_time() - c0}
        row.update(env.mean(out if isinstance(out, dict) else {'loss': float(out)}))
        if evaluate is not None and (epoch % eval_every == 0 or epoch == epochs):
            model.eval()
            if progress:
                bar.set_postfix_str(f'validating after epoch {epoch}', refresh=True)
            t0, c0 = time.perf_counter(), time.process_time()
            with torch.no_grad():
                metrics = env.broadcast(evaluate())  # rank 0 decides for every rank
            row.update(eval_seconds=time.perf_counter() - t0,
                       eval_cpu_seconds=time.process_time() - c0)
            if monitor not in metrics:
                raise KeyError(f"monitored metric {monitor!r} is not among the validation "
                               f"metrics {sorted(metrics)}")
            row.update({f'val_{k}': v for k, v in metrics.items()})
            value = sign * float(metrics[monitor])
            if value > best:
                best, best_epoch, best_metrics, bad = value, epoch, dict(metrics), 0
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in
                                            model.state_dict().items()})
            else:
                bad += 1
            bar.set_postfix(loss=f"{row.get('loss', float('nan')):.4f}",
                            **{monitor: f'{metrics[monitor]:.4f}'})
        history.append(row)
        if bad >= patience:
            stopped = True
        if path and env.is_main and (stopped or epoch == epochs
                                     or epoch % checkpoint_every == 0):
            save(epoch, stopped or epoch == epochs)
        if stopped:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    result = TrainResult(best_epoch=best_epoch, best_metrics=best_metrics, history=history,
                         seconds_per_epoch=float(np.mean(seconds)) if seconds else float('nan'),
                         epochs_run=len(history), stopped_early=stopped,
                         world_size=env.world_size)
    _TRAININGS.append({'desc': desc, 'monitor': monitor, 'best_epoch': result.best_epoch,
                       'epochs_run': result.epochs_run, 'stopped_early': stopped,
                       'seconds_per_epoch': result.seconds_per_epoch,
                       'best_metrics': dict(best_metrics), 'history': list(history)})
    return result
