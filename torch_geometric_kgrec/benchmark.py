r"""The command-line contract shared by every script in ``benchmarks/``.

Every script accepts ``--dataset NAME --root DIR --device --seed --seeds --epochs --out``,
prints a table of what it measured beside the paper's numbers and writes one JSON
result document (config, data statistics, metrics per seed and aggregated, seconds per
epoch, peak memory, machine, command).
"""
import argparse
import json
import math
import os
import shlex
import sys
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np
import torch

from torch_geometric_kgrec.train import machine_info


def base_parser(description: str, default_dataset: str = 'lastfm',
                default_epochs: int = 100) -> argparse.ArgumentParser:
    r"""An :class:`argparse.ArgumentParser` with the shared arguments; scripts add
    their own hyper-parameters to it."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--dataset', default=default_dataset,
                   help="lastfm | book-crossing | movielens-100k | amazon-book | "
                   "movielens-1m | synthetic")
    p.add_argument('--root', default=None,
                   help='raw data folder laid out like shared/data (default: $KGREC_DATA, '
                   'else download into the cache)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--seed', type=int, default=0, help='first seed')
    p.add_argument('--seeds', type=int, default=1,
                   help='number of seeds (seed, seed+1, ...); mean and std are reported')
    p.add_argument('--epochs', type=int, default=default_epochs)
    p.add_argument('--out', default=None, help='write the JSON result document here')
    p.add_argument('--no-progress', action='store_true', help='hide progress bars')
    return p


def load_dataset(name: str, root: Optional[str] = None):
    r"""Load the dataset called :obj:`name` (see :func:`torch_geometric_kgrec.datasets.load_dataset`)."""
    from torch_geometric_kgrec.datasets import load_dataset as _load
    return _load(name, root=root)


def aggregate(per_seed: Sequence[Mapping[str, float]]) -> Dict[str, Dict[str, float]]:
    r"""Mean and (population) standard deviation of each metric over seeds."""
    keys = [k for k in per_seed[0] if isinstance(per_seed[0][k], (int, float))]
    out = {}
    for k in keys:
        vals = np.array([float(r[k]) for r in per_seed])
        out[k] = {'mean': float(vals.mean()), 'std': float(vals.std()), 'n': len(vals)}
    return out


def format_table(results: Mapping[str, Mapping[str, Mapping[str, float]]],
                 metrics: Iterable[str],
                 paper: Optional[Mapping[str, Mapping[str, float]]] = None) -> str:
    r"""A plain-text table: one row per model, one column per metric, ``mean ± std``,
    with the paper's value beneath when given.

    Args:
        results: ``{model: aggregate(...)}``.
        metrics: Metric names (columns).
        paper: ``{model: {metric: value}}`` reported by the paper.
    """
    metrics = list(metrics)
    head = ['model'] + metrics
    rows: List[List[str]] = []
    for model, agg in results.items():
        row = [model]
        for m in metrics:
            if m in agg:
                a = agg[m]
                row.append(f"{a['mean']:.4f}±{a['std']:.4f}" if a.get('n', 1) > 1 else
                           f"{a['mean']:.4f}")
            else:
                row.append('-')
        rows.append(row)
        if paper and model in paper:
            rows.append(['  (paper)'] + [
                f'{paper[model][m]:.4f}' if m in paper[model] else '-' for m in metrics
            ])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: '  '.join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return '\n'.join([line(head), line(['-' * w for w in widths])] + [line(r) for r in rows])


def command_line() -> str:
    return ' '.join(shlex.quote(a) for a in [os.path.basename(sys.executable)] + sys.argv)


def write_result(path: Optional[str], *, args: argparse.Namespace, data_stats: Mapping,
                 results: Mapping, protocol: str, paper: Optional[Mapping] = None,
                 extra: Optional[Mapping] = None) -> Dict:
    r"""Build the JSON result document and write it to :obj:`path` (if given).

    Args:
        args: Parsed command-line arguments (stored as the config).
        data_stats: Statistics of the dataset (:func:`kgrec_stats`).
        results: ``{model: {'per_seed': [...], 'mean_std': ..., 'seconds_per_epoch': ...,
            'peak_memory_mb': ..., ...}}``.
        protocol: Plain-words description of the evaluation protocol.
        paper: The paper's numbers printed beside ours.
    """
    doc = {
        'command': command_line(),
        'config': vars(args),
        'protocol': protocol,
        'data': dict(data_stats),
        'results': results,
        'paper': paper or {},
        'machine': machine_info(args.device),
    }
    if extra:
        doc.update(extra)
    if path:
        with open(path, 'w') as f:
            json.dump(doc, f, indent=2, default=_json_default)
        print(f'wrote {path}')
    return doc


def _json_default(o):
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, float) and math.isnan(o):
        return None
    return str(o)
