r"""The one small training harness shared by every benchmark.

It owns only what every model needs: seeding, the epoch loop with a tqdm progress bar,
early stopping on a *validation* metric (never the test set), restoring the best
weights, and timing / memory bookkeeping. What happens inside an epoch belongs to the
caller (``train_epoch``), so models keep their own schedules (e.g. MKR's alternating
steps, KTUP's joint loss).
"""
import copy
import math
import os
import platform
import random
import resource
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from torch_geometric_kgrec.distributed import current_env


def seed_everything(seed: int) -> None:
    r"""Seed :mod:`random`, NumPy and PyTorch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


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
) -> TrainResult:
    r"""Run :obj:`train_epoch(epoch)` for up to :obj:`epochs` epochs, evaluate on the
    validation split every :obj:`eval_every` epochs, stop after :obj:`patience`
    evaluations without improvement of :obj:`monitor`, and load the best weights
    back into :obj:`model`.

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

    Under :command:`torchrun` (see :mod:`torch_geometric_kgrec.distributed`) every
    rank runs this loop: :obj:`train_epoch` trains on its shard, :obj:`evaluate` runs
    on every rank (the library's evaluators shard and all-reduce), losses are averaged
    over ranks, the progress bar is on rank 0, and rank 0's validation metrics (hence
    its model-selection and early-stopping decisions) are broadcast to every rank.
    """
    if mode not in ('max', 'min'):
        raise ValueError(f"mode must be 'max' or 'min' (got {mode!r})")
    sign = 1.0 if mode == 'max' else -1.0
    best, best_epoch, best_state, best_metrics = -math.inf, 0, None, {}
    history: List[Dict[str, float]] = []
    seconds: List[float] = []
    bad, stopped = 0, False
    env = current_env()
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress or not env.is_main,
               dynamic_ncols=True)
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        out = train_epoch(epoch)
        seconds.append(time.perf_counter() - t0)
        row: Dict[str, float] = {'epoch': epoch, 'seconds': seconds[-1]}
        row.update(env.mean(out if isinstance(out, dict) else {'loss': float(out)}))
        if evaluate is not None and (epoch % eval_every == 0 or epoch == epochs):
            model.eval()
            with torch.no_grad():
                metrics = env.broadcast(evaluate())  # rank 0 decides for every rank
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
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    return TrainResult(best_epoch=best_epoch, best_metrics=best_metrics, history=history,
                       seconds_per_epoch=float(np.mean(seconds)) if seconds else float('nan'),
                       epochs_run=len(history), stopped_early=stopped,
                       world_size=env.world_size)
