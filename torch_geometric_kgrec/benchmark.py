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
import time
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
    p.add_argument('--link', default='title-year', choices=['title-year', 'recbole-ml1m-ids'],
                   help="movielens-100k only: 'title-year' (items re-linked to their own "
                   "films) or 'recbole-ml1m-ids' (the published ml-100k.link, which links "
                   'most items to OTHER films; only to compare with published numbers)')
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


def load_dataset(name: str, root: Optional[str] = None, link: Optional[str] = None):
    r"""Load the dataset called :obj:`name` (see
    :func:`torch_geometric_kgrec.datasets.load_dataset`); :obj:`link` is the ``--link``
    option of ``movielens-100k`` (ignored for the other datasets)."""
    from torch_geometric_kgrec.datasets import load_dataset as _load
    if name == 'movielens-100k' and link is not None:
        return _load(name, root=root, link=link)
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


# --- shared by the CTR benchmarks (MKR, KGCN) ------------------------------------------

def add_ctr_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    r"""Arguments of every CTR benchmark (early stopping and the top-K evaluation)."""
    p.add_argument('--patience', type=int, default=5,
                   help='epochs without validation-AUC improvement before stopping')
    p.add_argument('--eval-users', type=int, default=0,
                   help='top-K on a seeded sample of this many users with a test positive '
                   '(0: all of them)')
    p.add_argument('--no-ranking', action='store_true', help='skip the top-K evaluation')
    return p


@torch.no_grad()
def predict_pairs(score, pairs: torch.Tensor, chunk_size: int = 65536) -> torch.Tensor:
    r""":obj:`score(users, items)` over every (user, item) column of :obj:`pairs`,
    in chunks; returns one value per pair (the whole split, no dropped batch)."""
    idx = torch.arange(pairs.size(1), device=pairs.device)
    return torch.cat([score(pairs[0, i], pairs[1, i]) for i in idx.split(chunk_size)])


def sample_eval_users(test_pos: torch.Tensor, num_users: int, seed: int):
    r"""All users with a test positive (:obj:`None`) or a seeded sample of
    :obj:`num_users` of them (the papers' 100-user protocol)."""
    if num_users <= 0:
        return None
    candidates = test_pos[0].unique()
    pick = torch.randperm(candidates.numel(), generator=torch.Generator().manual_seed(seed))
    return candidates[pick[:num_users].to(candidates.device)]


def evaluate_ctr_split(score, score_all, train, y_train, test, y_test, num_users: int,
                       num_items: int, ks: Sequence[int], args: argparse.Namespace,
                       seed: int, ranking_batch_size: int = 256, train_result=None):
    r"""Test metrics of a CTR model and of the popularity reference.

    CTR: AUC / accuracy / F1 of :obj:`score(users, items)` (probabilities) over the whole
    test split. Top-K (unless :obj:`args.no_ranking`): :obj:`score_all` ranks all items
    for every user with a test positive (or :obj:`args.eval_users` sampled users), the
    user's training positives masked, test positives as ground truth. Popularity
    (training positives) gets AUC and the same top-K.

    With :obj:`train_result` (a :class:`~torch_geometric_kgrec.train.TrainResult`),
    the validation metrics of the selected epoch, the epoch and the number of epochs
    run are added to the metrics, and a one-line summary of the seed is printed.

    Returns:
        :obj:`(metrics, popularity_metrics, ranking_seconds or None)`
    """
    from torch_geometric_kgrec.metrics import ctr_metrics, evaluate_ranking, roc_auc
    from torch_geometric_kgrec.nn import Popularity
    metrics = ctr_metrics(predict_pairs(score, test), y_test)
    train_pos, test_pos = train[:, y_train == 1], test[:, y_test == 1]
    pop = Popularity(num_items, train_pos).to(test.device)
    pop_metrics = {'auc': roc_auc(pop.count[test[1]], y_test)}
    seconds = None
    if not args.no_ranking:
        kw = dict(ks=ks, metrics=('precision', 'recall', 'ndcg'), device=test.device,
                  users=sample_eval_users(test_pos, args.eval_users, seed))
        t0 = time.perf_counter()
        with torch.no_grad():
            metrics.update(evaluate_ranking(score_all, test_pos, train_pos, num_users,
                                            num_items, batch_size=ranking_batch_size, **kw))
        seconds = time.perf_counter() - t0
        pop_metrics.update(evaluate_ranking(pop.score_all, test_pos, train_pos, num_users,
                                            num_items, **kw))
    if train_result is not None:
        r = train_result
        metrics.update({f'val_{k}': v for k, v in r.best_metrics.items()})
        metrics.update(best_epoch=r.best_epoch, epochs_run=r.epochs_run)
        print(f"seed {seed}: test AUC {metrics['auc']:.4f} ACC {metrics['acc']:.4f} "
              f"F1 {metrics['f1']:.4f} (best epoch {r.best_epoch}/{r.epochs_run}, "
              f"{r.seconds_per_epoch:.2f} s/epoch"
              + (f", top-K over {metrics['num_users']} users in {seconds:.1f} s)"
                 if seconds is not None else ')'))
    return metrics, pop_metrics, seconds
