r"""The command-line contract shared by every script in ``benchmarks/``.

Every script accepts ``--dataset NAME --root DIR --device --seed --seeds --epochs --out``,
prints a table of what it measured beside the paper's numbers and writes one JSON
result document (config, data statistics, metrics per seed and aggregated, seconds per
epoch, peak memory, machine, command) that is strict JSON (non-finite numbers are
written as ``null``) and records where it came from: the library version and git
commit, the UTC date, the numpy / scipy / torch / PyG versions, the data folders that
were read and the per-epoch history of every :func:`~torch_geometric_kgrec.train.run_training`
call of the run.
"""
import argparse
import datetime
import json
import math
import os
import os.path as osp
import shlex
import subprocess
import time
import sys
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np
import torch

from torch_geometric_kgrec.train import machine_info


SHARED_OPTIONS = ('dataset', 'root', 'device', 'seed', 'seeds', 'epochs', 'out',
                  'no-progress')


def first_paragraph(text: Optional[str]) -> str:
    r"""The first paragraph of a docstring as one line (so that a description is never
    cut mid-sentence at a line break)."""
    if not text:
        return ''
    return ' '.join(text.strip().split('\n\n')[0].split())


def base_parser(description: str, default_dataset: str = 'lastfm',
                default_epochs: int = 100,
                options: Sequence[str] = SHARED_OPTIONS) -> argparse.ArgumentParser:
    r"""An :class:`argparse.ArgumentParser` with the shared arguments; scripts add
    their own hyper-parameters to it.

    Args:
        description (str): The script's docstring (its first paragraph is shown).
        default_dataset (str): Default of ``--dataset``.
        default_epochs (int): Default of ``--epochs``.
        options (sequence of str): The shared options the script uses (a subset of
            :obj:`SHARED_OPTIONS`); a script never accepts an option it ignores.
    """
    unknown = set(options) - set(SHARED_OPTIONS)
    if unknown:
        raise ValueError(f'unknown shared options {sorted(unknown)}')
    p = argparse.ArgumentParser(description=first_paragraph(description),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    if 'dataset' in options:
        p.add_argument('--dataset', default=default_dataset,
                       help='dataset: lastfm | book-crossing | movielens-100k | '
                       'amazon-book | movielens-1m | synthetic | amazon-art-office | '
                       'synthetic-amazon-book | synthetic-movie-kg (SyntheticKG at those sizes)')
        p.add_argument('--link', default='title-year',
                       choices=['title-year', 'recbole-ml1m-ids'],
                       help="movielens-100k only: 'title-year' (items re-linked to their own "
                       "films) or 'recbole-ml1m-ids' (the published ml-100k.link, which links "
                       'most items to OTHER films; only to compare with published numbers)')
    if 'root' in options:
        p.add_argument('--root', default=None,
                       help='raw data folder laid out like shared/data; when not given, '
                       '$KGREC_DATA, else the files are downloaded into the cache')
    if 'device' in options:
        p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                       help='torch device to train and evaluate on')
    if 'seed' in options:
        p.add_argument('--seed', type=int, default=0, help='first seed')
    if 'seeds' in options:
        p.add_argument('--seeds', type=int, default=1,
                       help='number of seeds (seed, seed+1, ...); mean and std are reported')
    if 'epochs' in options:
        p.add_argument('--epochs', type=int, default=default_epochs,
                       help='maximum number of training epochs (early stopping on the '
                       'validation split may stop sooner)')
    if 'out' in options:
        p.add_argument('--out', default=None,
                       help='write the JSON result document to this path')
    if 'no-progress' in options:
        p.add_argument('--no-progress', action='store_true', help='hide progress bars')
    return p


def setup_distributed(args: argparse.Namespace):
    r"""Join the :command:`torchrun` job this script runs in, if any (a no-op for a
    plain :command:`python` run): :obj:`args.device` becomes this rank's device
    (:obj:`cuda:LOCAL_RANK` under NCCL, gloo on CPU) and the other ranks' stdout is
    silenced, so tables and result files come once, from rank 0 (errors still show).
    Returns the :class:`~torch_geometric_kgrec.distributed.DistEnv`."""
    from torch_geometric_kgrec.distributed import init_distributed
    env = init_distributed(args.device)
    if env.is_distributed:
        import atexit
        from torch_geometric_kgrec.distributed import destroy
        atexit.register(destroy)
    args.device = str(env.device)
    if not env.is_main:
        sys.stdout = open(os.devnull, 'w')
    return env


def refuse_distributed(script: str, what: str = 'times one process') -> None:
    r"""Exit with a clear message when :obj:`script` (one that :obj:`what`, e.g. a
    timing script) runs under :command:`torchrun` with more than one process, instead
    of silently running :obj:`WORLD_SIZE` identical copies that contend for the same
    cores."""
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    if world_size > 1:
        raise SystemExit(f'{script} {what} and does not train data-parallel; run it with '
                         f'python, not torchrun (got WORLD_SIZE={world_size})')


def add_checkpoint_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    r"""``--checkpoint DIR``, ``--checkpoint-every N`` and ``--resume`` for scripts whose
    :func:`~torch_geometric_kgrec.train.run_training` calls pass
    :func:`checkpoint_kwargs`."""
    p.add_argument('--checkpoint', default=None, metavar='DIR',
                   help='save a checkpoint of every training run under DIR/<run name>/ '
                   '(model, optimiser, samplers, RNG states, best weights, history)')
    p.add_argument('--checkpoint-every', type=int, default=1, metavar='N',
                   help='save the checkpoint every N epochs (and at the end)')
    p.add_argument('--resume', action='store_true',
                   help='continue every run from its checkpoint in --checkpoint DIR '
                   '(finished runs are not trained again); the result equals an '
                   'uninterrupted run')
    return p


def checkpoint_kwargs(args: argparse.Namespace, run: str) -> Dict[str, Any]:
    r"""The checkpoint arguments of :func:`~torch_geometric_kgrec.train.run_training`
    for the run called :obj:`run` (e.g. ``'BPRMF seed 0'``)."""
    folder = getattr(args, 'checkpoint', None)
    if not folder:
        return {}
    name = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in run)
    return {'checkpoint': osp.join(folder, name), 'resume': bool(args.resume),
            'checkpoint_every': args.checkpoint_every}


#: The datasets loaded through :func:`load_dataset` in this process (written into the
#: result document).
LOADED_DATA: List[Dict[str, Any]] = []


#: ``--dataset synthetic-<preset>``: :class:`~torch_geometric_kgrec.datasets.SyntheticKG`
#: at the sizes of a published dataset (users, items, entities, relations, triples and
#: interactions as reported; the structure is synthetic).
SYNTHETIC_PRESETS: Dict[str, Dict[str, int]] = {
    # CKMPN Table 1 (KGIN's Amazon-Book)
    'amazon-book': dict(num_users=70679, num_items=24915, num_entities=88572,
                        num_relations=39, num_triples=2557746, num_interactions=847733),
    # CKMPN Table 1, Movie-KG-Dataset
    'movie-kg': dict(num_users=125218, num_items=50000, num_entities=250327,
                     num_relations=12, num_triples=12055581, num_interactions=4095146),
}


def load_dataset(name: str, root: Optional[str] = None, link: Optional[str] = None):
    r"""Load the dataset called :obj:`name` (see
    :func:`torch_geometric_kgrec.datasets.load_dataset`, plus ``synthetic-<preset>``
    for :obj:`SYNTHETIC_PRESETS`) and remember where its raw and processed files were
    (for :func:`write_result`); :obj:`link` is the ``--link`` option of
    ``movielens-100k`` (ignored for the other datasets)."""
    from torch_geometric_kgrec.datasets import get_dataset
    t0 = time.perf_counter()
    kwargs = {'link': link} if name == 'movielens-100k' and link is not None else {}
    preset = name[len('synthetic-'):] if name.startswith('synthetic-') else None
    if preset is not None:
        if preset not in SYNTHETIC_PRESETS:
            raise ValueError(f"unknown synthetic preset {preset!r}; choose one of "
                             f"{sorted(SYNTHETIC_PRESETS)}")
        kwargs = dict(SYNTHETIC_PRESETS[preset])
    ds = get_dataset('synthetic' if preset else name, root=root, **kwargs)
    entry = {'name': name, 'root_argument': root, **kwargs,
             'KGREC_DATA': os.environ.get('KGREC_DATA'),
             'seconds': round(time.perf_counter() - t0, 3)}
    if getattr(ds, 'raw_file_names', None):
        entry['raw_dir'] = osp.abspath(ds.raw_dir)
    entry['processed_file'] = osp.abspath(ds.processed_paths[0])
    if hasattr(ds, 'fingerprint') and getattr(ds, 'raw_file_names', None):
        entry['raw_fingerprint'] = ds.fingerprint
    LOADED_DATA.append(entry)
    return ds[0]


def git_commit(path: Optional[str] = None) -> Dict[str, Any]:
    r"""The git commit of the checkout holding :obj:`path` (default: this package) and
    whether its tracked files differ from it; :obj:`None` values outside a checkout."""
    path = path or osp.dirname(osp.abspath(__file__))
    out: Dict[str, Any] = {'commit': None, 'dirty': None}
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ['git', '-C', path, *a], capture_output=True, text=True, timeout=10)
        head = run('rev-parse', 'HEAD')
        if head.returncode == 0:
            out['commit'] = head.stdout.strip()
            out['dirty'] = bool(run('status', '--porcelain').stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def provenance() -> Dict[str, Any]:
    r"""Where a result came from: library version, git commit, UTC date, versions of
    the numeric libraries, and the data loaded by :func:`load_dataset`."""
    import torch_geometric
    import torch_geometric_kgrec
    try:
        import scipy
        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = None
    return {
        'torch_geometric_kgrec': torch_geometric_kgrec.__version__,
        'git': git_commit(),
        'date_utc': datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        'numpy': np.__version__,
        'scipy': scipy_version,
        'torch': torch.__version__,
        'torch_geometric': torch_geometric.__version__,
        'data': list(LOADED_DATA),
    }


def to_strict_json(o: Any) -> Any:
    r"""A copy of :obj:`o` that :func:`json.dumps` writes as strict JSON: tensors and
    numpy values become lists / numbers, NaN and infinities become :obj:`None`,
    dataclasses dicts, tuples lists, other objects their :obj:`str`."""
    import dataclasses
    if isinstance(o, torch.Tensor):
        o = o.detach().cpu()
        return to_strict_json(o.item() if o.dim() == 0 else o.tolist())
    if isinstance(o, np.ndarray):
        return to_strict_json(o.tolist())
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return to_strict_json(o.item())
    if isinstance(o, bool) or o is None or isinstance(o, (int, str)):
        return o
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, Mapping):
        return {str(k): to_strict_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set)):
        return [to_strict_json(v) for v in o]
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return to_strict_json(dataclasses.asdict(o))
    return str(o)


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
    from torch_geometric_kgrec.train import recorded_trainings
    doc = {
        'command': command_line(),
        'config': vars(args),
        'protocol': protocol,
        'data': dict(data_stats),
        'results': results,
        'paper': paper or {},
        'machine': machine_info(getattr(args, 'device', None)),
        'provenance': provenance(),
        'training_history': recorded_trainings(),
    }
    if extra:
        doc.update(extra)
    doc = to_strict_json(doc)
    from torch_geometric_kgrec.distributed import current_env
    if path and current_env().is_main:  # one file per torchrun job
        text = json.dumps(doc, indent=2, allow_nan=False)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            f.write(text + '\n')
        os.replace(tmp, path)
        print(f'wrote {path}')
    return doc


# --- shared by the CTR benchmarks (MKR, KGCN) ------------------------------------------

def add_ctr_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    r"""Arguments of every CTR benchmark (early stopping, the top-K evaluation and
    :func:`add_checkpoint_arguments`)."""
    p.add_argument('--patience', type=int, default=5,
                   help='epochs without validation-AUC improvement before stopping')
    p.add_argument('--eval-users', type=int, default=0,
                   help='top-K on a seeded sample of this many users with a test positive '
                   '(0: all of them)')
    p.add_argument('--no-ranking', action='store_true', help='skip the top-K evaluation')
    add_checkpoint_arguments(p)
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
                                            num_items, batch_size=ranking_batch_size,
                                            progress=not getattr(args, 'no_progress', True),
                                            **kw))
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
