r"""Side by side with RecBole 1.2.1 on Last.FM (issue 13): seconds per training epoch,
seconds per full-ranking evaluation and peak memory of BPRMF, KGIN, KGAT, KGCN, KTUP
and MKR, both sides' runs interleaved in one invocation.

RecBole is never a dependency of this library: it runs in a separate environment
(``--recbole-python``), through ``benchmarks/peer/recbole_lastfm.py``; our side runs
through ``benchmarks/ours_speed.py``. For every model and repeat one RecBole
subprocess and one of ours run one after the other (so both see the same machine
load), and the minimum over ``--repeats`` is taken on each side. Both sides train on
exactly the same interactions and KG: this script first writes our split of each
model (``--export DIR``, the splits of ``ours_speed.py``) as TSV files, which the peer
script turns into RecBole atomic files (``.inter`` / ``.kg`` / ``.link``).

Settings (the issue's): embedding size 64, batch 2048, 1 torch thread
(``OMP_NUM_THREADS=1`` too), each side's own samplers, the same depths: KGIN 3 hops
(4 intents, node dropout 0.5, message dropout 0.1, distance-correlation independence),
KGAT layers 64-32-16 (bi-interaction, message dropout 0.1), KGCN 1 hop with 8 sampled
neighbours (sum), MKR 2 low / 1 high layers and a KGE pass every 2nd epoch (timed over
2 epochs, divided by 2), KTUP hard (straight-through Gumbel) preferences with the L1
distance and one pass over both tasks per epoch (RecBole: one recommendation epoch
then one KG epoch, ``train_rec_step = train_kg_step = 1``). RecBole's evaluation is
timed at its default ``eval_batch_size`` and at several larger batches (``EVAL_USERS``;
the pair-by-pair KGCN / KTUP / MKR in the first repeat only, ``SLOW_EVAL``); the table
uses its best. Install RecBole (see ``benchmarks/README.md``, "Issue 13: side by side
with RecBole 1.2.1")::

    python3 -m venv /work/recbole-venv
    /work/recbole-venv/bin/pip install -c constraints.txt torch==2.13.0
    /work/recbole-venv/bin/pip install recbole==1.2.1
    /work/recbole-venv/bin/pip install "setuptools>=77.0.3,<81" "pandas<3" dgl==1.1.3

then::

    python benchmarks/speed_vs_recbole.py --recbole-python /work/recbole-venv/bin/python \
        --models bprmf,kgin,kgat,kgcn,ktup,mkr --repeats 3 --out speed-vs-recbole.json
"""
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import torch

from torch_geometric_kgrec.benchmark import (base_parser, command_line, load_dataset,
                                             write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.protocols import ctr_split, ranking_split
from torch_geometric_kgrec.protocols.kg_split import kg_triple_split

HERE = osp.dirname(osp.abspath(__file__))
PEER_SCRIPT = osp.join(HERE, 'peer', 'recbole_lastfm.py')
OURS_SCRIPT = osp.join(HERE, 'ours_speed.py')

MODELS = ('bprmf', 'kgin', 'kgat', 'kgcn', 'ktup', 'mkr')
NAMES = {'bprmf': 'BPRMF', 'kgin': 'KGIN', 'kgat': 'KGAT', 'kgcn': 'KGCN', 'ktup': 'KTUP',
         'mkr': 'MKR'}
RECBOLE_MODEL = {'bprmf': 'BPR', 'kgin': 'KGIN', 'kgat': 'KGAT', 'kgcn': 'KGCN',
                 'ktup': 'KTUP', 'mkr': 'MKR'}
#: users per RecBole evaluation batch that are tried (0: RecBole's default
#: eval_batch_size, 4,096 scores = one Last.FM user). KGCN / KTUP / MKR score pair by
#: pair (RecBole repeats every user over all items), so their batches stay small:
#: MKR's cross & compress units hold a d x d matrix per pair (16 users x 3,847 items
#: would be 1 GiB per layer) and one MKR evaluation takes minutes (~9 min contended).
#: (Measured on Last.FM, contended: KGCN took 151 s at the default batch, 222 s at 16
#: and 225 s at 64 users per batch, and 7 GiB at 256: a bigger batch leaves the cache.)
EVAL_USERS = {'bprmf': '0,256,1024,4096', 'kgin': '0,256,1024,4096',
              'kgat': '0,256,1024,4096', 'kgcn': '0,4', 'ktup': '0,4', 'mkr': '0'}
#: models whose RecBole evaluation scores pair by pair (tens of seconds to minutes on
#: Last.FM): evaluated in the first repeat only (its batch sweep, no warm-up
#: evaluation); later repeats time their training epoch only
SLOW_EVAL = ('kgcn', 'ktup', 'mkr')
TARGETS = {'train': 3.0, 'eval': 5.0}
PROTOCOL = ('speed: seconds per training epoch and per full-ranking evaluation of the test '
            'split, peak RSS; RecBole 1.2.1 vs ours, interleaved subprocesses, min over '
            'repeats')
INSTALL_HELP = """RecBole is not available at {python!r} ({why}).
It runs in its own environment, never as a dependency of this library:

    python3 -m venv /work/recbole-venv
    /work/recbole-venv/bin/pip install -c constraints.txt torch==2.13.0
    /work/recbole-venv/bin/pip install recbole==1.2.1
    /work/recbole-venv/bin/pip install "setuptools>=77.0.3,<81" "pandas<3" dgl==1.1.3

(DGL for KGAT; benchmarks/peer/recbole_lastfm.py patches the rest at run time),
then pass --recbole-python /work/recbole-venv/bin/python. Nothing was measured."""


# ------------------------------------------------------------------------ export
def model_split(model: str, data, seed: int) -> Dict[str, torch.Tensor]:
    r"""The training / validation / test interactions and the training KG triples of
    :obj:`model` as ``ours_speed.py`` builds them: ``{'train', 'val', 'test'}`` as
    ``[2, n]`` (user, item) positives and ``'kg'`` as ``[3, T]`` (head, relation, tail).

    BPRMF / KGIN / KGAT: per-user 8:1:1 (``ranking_split``), the whole KG; KGCN / MKR:
    the positives of the CTR 6:2:2 split (``ctr_split``: RecBole draws its own
    negatives, one per positive, as many as our labelled training negatives), the
    whole KG for KGCN and the triples whose head is an item for MKR (its KGE task);
    KTUP: per-user 7:1:2 and the training part of the 7:1:2 KG triple split."""
    kg = data['entity', 'kg', 'entity']
    triples = torch.stack([kg.edge_index[0], kg.edge_type, kg.edge_index[1]])
    if model in ('bprmf', 'kgin', 'kgat', 'ktup'):
        ratios = (0.7, 0.1, 0.2) if model == 'ktup' else (0.8, 0.1, 0.1)
        split = ranking_split(data, ratios=ratios, seed=seed)
        out = {'train': split.train, 'val': split.val, 'test': split.test}
        if model == 'ktup':
            kg_tr, _, _ = kg_triple_split(kg.edge_index, kg.edge_type, (0.7, 0.1, 0.2),
                                          seed=seed)
            triples = kg_tr
    elif model in ('kgcn', 'mkr'):
        split = ctr_split(data, seed=seed)
        out = {name: part.edge_index[:, part.label == 1]
               for name, part in (('train', split.train), ('val', split.val),
                                  ('test', split.test))}
        if model == 'mkr':
            triples = triples[:, triples[0] < data.num_items]
    else:
        raise ValueError(f'unknown model {model!r}')
    out['kg'] = triples
    return {k: v.cpu() for k, v in out.items()}


def export(folder: str, data, models, seed: int = 0) -> Dict[str, str]:
    r"""Write each model's split (:func:`model_split`) under :obj:`folder/<model>/`:
    ``train.tsv``, ``val.tsv``, ``test.tsv`` (``user<TAB>item``), ``kg.tsv``
    (``head<TAB>relation<TAB>tail``), each with one header line, and ``meta.json``
    (sizes; item ``i`` is entity ``i``). Returns ``{model: folder}``."""
    out = {}
    for model in models:
        parts = model_split(model, data, seed)
        path = osp.join(folder, model)
        os.makedirs(path, exist_ok=True)
        for name in ('train', 'val', 'test'):
            with open(osp.join(path, f'{name}.tsv'), 'w') as f:
                f.write('user\titem\n')
                f.writelines(f'{u}\t{i}\n' for u, i in parts[name].t().tolist())
        with open(osp.join(path, 'kg.tsv'), 'w') as f:
            f.write('head\trelation\ttail\n')
            f.writelines(f'{h}\t{r}\t{t}\n' for h, r, t in parts['kg'].t().tolist())
        meta = {'model': model, 'seed': seed,
                'num_users': int(data['user'].num_nodes), 'num_items': int(data.num_items),
                'num_entities': int(data['entity'].num_nodes),
                'num_relations': len(data.relation_names),
                'rows': {k: int(v.size(1)) for k, v in parts.items()}}
        with open(osp.join(path, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=2)
        out[model] = path
    return out


# ------------------------------------------------------------------ the two sides
def recbole_version(python: Optional[str]) -> Tuple[Optional[str], str]:
    r"""RecBole's version in :obj:`python` (imported with the peer script's numpy
    patches), or :obj:`None` and the reason."""
    if not python:
        return None, 'no --recbole-python given'
    if not osp.exists(python):
        return None, 'no such file'
    code = ('import sys; sys.path.insert(0, sys.argv[1]); import recbole_lastfm as r; '
            'r.patch_numpy(); import recbole, torch; print(recbole.__version__)')
    try:
        run = subprocess.run([python, '-c', code, osp.dirname(PEER_SCRIPT)],
                             capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        return None, str(e)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ['import failed'])[-1]
        return None, last
    return run.stdout.strip().splitlines()[-1], ''


def recbole_arguments(model: str, args) -> List[str]:
    r"""The peer script's options that give RecBole our settings for :obj:`model`."""
    param = lambda k, v: ['--param', f'{k}={json.dumps(v)}']  # noqa: E731
    if model == 'bprmf':
        return []
    if model == 'kgin':
        return (['--layers', str(args.layers)] + param('n_factors', 4)
                + param('ind', 'distance') + param('node_dropout_rate', 0.5)
                + param('mess_dropout_rate', 0.1))
    if model == 'kgat':
        return param('layers', [64, 32, 16]) + param('mess_dropout', 0.1) + param(
            'aggregator_type', 'bi')
    if model == 'kgcn':
        return ['--layers', str(args.kgcn_hops), '--neighbors',
                str(args.kgcn_neighbors)] + param('aggregator', 'sum')
    if model == 'mkr':
        return (['--layers', str(args.mkr_L), '--unit', str(args.kge_interval), '--divide']
                + param('high_layers_num', args.mkr_H)
                + param('kge_interval', args.kge_interval)
                + param('use_inner_product', True))
    if model == 'ktup':
        return (['--unit', '2'] + param('use_st_gumbel', True) + param('L1_flag', True)
                + param('train_rec_step', 1) + param('train_kg_step', 1))
    raise ValueError(model)


def ours_arguments(args) -> List[str]:
    return ['--dim', str(args.dim), '--batch-size', str(args.batch_size), '--threads',
            str(args.threads), '--seed', str(args.seed), '--layers', str(args.layers),
            '--kgcn-hops', str(args.kgcn_hops), '--kgcn-neighbors',
            str(args.kgcn_neighbors), '--mkr-L', str(args.mkr_L), '--mkr-H',
            str(args.mkr_H), '--kge-interval', str(args.kge_interval)]


def run_json(cmd: List[str], env: Dict[str, str], out: str, label: str,
             timeout: float) -> Dict:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if run.returncode != 0 or not osp.exists(out):
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-8000:])
        raise SystemExit(f'{label}: subprocess failed ({run.returncode}): '
                         + ' '.join(cmd))
    with open(out) as f:
        doc = json.load(f)
    doc['wall_s'] = time.perf_counter() - t0
    return doc


def ours_result(doc: Dict, model: str) -> Dict:
    r"""The one model's entry of an ``ours_speed.py`` result document."""
    results = doc['results']
    return results.get(NAMES[model]) or next(iter(results.values()))


def ranking_floor(num_users: int, num_items: int, dim: int, exclude: torch.Tensor,
                  batch_size: int = 1024, k: int = 20, repeats: int = 5) -> float:
    r"""Seconds of the bare full ranking of :obj:`num_users` x :obj:`num_items` at
    embedding size :obj:`dim` (random embeddings): per user batch one matmul, the
    training pairs :obj:`exclude` set to ``-inf``, one top-:obj:`k`; min of
    :obj:`repeats`, in this process (1 thread). No evaluator can beat it by much: it
    bounds the evaluation ratio of the dot-product models (BPRMF, KGIN, KGAT)."""
    gen = torch.Generator().manual_seed(0)
    users = torch.randn(num_users, dim, generator=gen)
    items = torch.randn(num_items, dim, generator=gen)
    flat = exclude[0] * num_items + exclude[1]
    best = float('inf')
    for _ in range(repeats):
        t = time.perf_counter()
        for start in range(0, num_users, batch_size):
            scores = users[start:start + batch_size] @ items.t()
            sel = flat[(flat >= start * num_items) & (flat < (start + batch_size) * num_items)]
            scores.view(-1).index_fill_(0, sel - start * num_items, float('-inf'))
            scores.topk(k, dim=1)
        best = min(best, time.perf_counter() - t)
    return best


# ------------------------------------------------------------------------- table
def earlier_recbole_evaluations(paths: List[str]) -> Dict[str, List[Dict]]:
    r"""RecBole evaluations of earlier runs, ``{model: [peer result, ...]}``, from result
    documents of this script (their ``runs``) or of ``peer/recbole_lastfm.py``; each
    keeps its file as ``source``."""
    by_name = {v: k for k, v in RECBOLE_MODEL.items()}
    out: Dict[str, List[Dict]] = {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        if doc.get('side') == 'recbole':
            found = [(by_name[doc['model']], doc)]
        else:
            found = [(m, r) for m, sides in doc.get('runs', {}).items()
                     for r in sides.get('recbole', [])]
        for model, r in found:
            if r.get('eval_best_s') is not None:
                out.setdefault(model, []).append(dict(r, source=osp.abspath(path)))
    return out


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def summarise(runs: Dict[str, Dict[str, List[Dict]]]) -> Dict[str, Dict]:
    r"""Min over repeats of each side's seconds and peak RSS, and the ratios."""
    rows = {}
    for model, sides in runs.items():
        rb, ours = sides['recbole'], sides['ours']
        rb_train = min(r['train_epoch_s'] for r in rb)
        evaluated = [r for r in rb if r.get('eval_best_s') is not None]
        earlier = not evaluated and bool(sides.get('recbole_eval_from'))
        if earlier:  # RecBole's evaluation measured in an earlier run (--recbole-eval-from)
            evaluated = sides['recbole_eval_from']
        rb_eval = [r['eval_best_s'] for r in evaluated]
        rb_eval_runs = len(rb_eval)
        rb_default = [r['eval_default_s'] for r in evaluated
                      if r.get('eval_default_s') is not None]
        best = min(evaluated, key=lambda r: r['eval_best_s'], default=None)
        o_train = min(r['train_seconds_per_epoch'] for r in ours)
        o_eval = min(r['eval_seconds'] for r in ours)
        rows[NAMES[model]] = {
            'recbole_train_s': rb_train, 'ours_train_s': o_train,
            'train_ratio': ratio(rb_train, o_train),
            'recbole_eval_s': min(rb_eval) if rb_eval else None,
            'recbole_eval_users_per_batch': best['eval_best_users'] if best else None,
            'recbole_eval_default_s': min(rb_default) if rb_default else None,
            'ours_eval_s': o_eval,
            'ours_eval_batch': ours[0].get('eval_batch_size'),
            'eval_ratio': ratio(min(rb_eval) if rb_eval else None, o_eval),
            # training + evaluation at the best batch, as ours (repeats without an
            # evaluation only know the training peak)
            'recbole_peak_rss_mib': min(r['peak_rss_best_eval_mib']
                                        for r in (evaluated or rb)),
            'recbole_eval_from': sorted({r['source'] for r in evaluated}) if earlier else None,
            'ours_peak_rss_mib': min(r['peak_rss_mib'] for r in ours),
            'repeats': len(rb), 'recbole_eval_repeats': rb_eval_runs,
        }
        r = rows[NAMES[model]]
        r['meets_train'] = r['train_ratio'] is not None and r['train_ratio'] >= TARGETS['train']
        r['meets_eval'] = r['eval_ratio'] is not None and r['eval_ratio'] >= TARGETS['eval']
        r['meets_memory'] = r['ours_peak_rss_mib'] <= r['recbole_peak_rss_mib']
    return rows


def format_table(rows: Dict[str, Dict]) -> str:
    def num(x, fmt='{:.3f}'):
        return '-' if x is None else fmt.format(x)

    def rat(x, target):
        if x is None:
            return '-'
        text = f'{x:.1f}x' if x < 100 else f'{x:,.0f}x'
        return text if x >= target else f'**{text}**'

    head = ('| model | RecBole s/epoch | ours s/epoch | ratio (>= 3x) | RecBole full-ranking '
            'eval s (its best eval batch) | ours eval s | ratio (>= 5x) | peak RSS RecBole '
            '/ ours (MiB, ours <= RecBole) |')
    lines = [head, '|' + '---|' * 8]
    for name, r in rows.items():
        users = r['recbole_eval_users_per_batch']
        users = 'default' if users == 0 else f'{users} users'
        if r.get('recbole_eval_from'):
            users += ', earlier run'
        mem = f"{r['recbole_peak_rss_mib']:.0f} / {r['ours_peak_rss_mib']:.0f}"
        lines.append(
            f"| {name} | {num(r['recbole_train_s'])} | {num(r['ours_train_s'])} | "
            f"{rat(r['train_ratio'], TARGETS['train'])} | {num(r['recbole_eval_s'])} "
            f"({users}) | {num(r['ours_eval_s'])} | {rat(r['eval_ratio'], TARGETS['eval'])} "
            f"| {mem if r['meets_memory'] else '**' + mem + '**'} |")
    return '\n'.join(lines)


def load_average() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main() -> None:
    p = base_parser(__doc__, default_dataset='lastfm',
                    options=('dataset', 'root', 'seed', 'out'))
    p.add_argument('--recbole-python', default=None,
                   help='Python of the environment where RecBole 1.2.1 is installed')
    p.add_argument('--models', default=','.join(MODELS),
                   help=f"comma-separated subset of {','.join(MODELS)}")
    p.add_argument('--repeats', type=int, default=3,
                   help='interleaved RecBole / ours subprocess pairs per model (the '
                   'minimum of each side is reported)')
    p.add_argument('--export', default=None, metavar='DIR',
                   help='write the splits (TSV) here and keep them (default: a '
                   'temporary folder); with --export-only nothing is measured')
    p.add_argument('--export-only', action='store_true',
                   help='only write --export DIR')
    p.add_argument('--threads', type=int, default=1, help='torch threads on both sides')
    p.add_argument('--dim', type=int, default=64, help='embedding size (both sides)')
    p.add_argument('--batch-size', type=int, default=2048, help='training batch (both sides)')
    p.add_argument('--layers', type=int, default=3, help='KGIN hops')
    p.add_argument('--kgcn-hops', type=int, default=1, help='KGCN receptive-field depth')
    p.add_argument('--kgcn-neighbors', type=int, default=8, help='KGCN sampled neighbours')
    p.add_argument('--mkr-L', type=int, default=2, help='MKR low (cross & compress) layers')
    p.add_argument('--mkr-H', type=int, default=1, help='MKR high layers')
    p.add_argument('--kge-interval', type=int, default=2,
                   help='MKR: a KGE pass every this many epochs (both sides)')
    p.add_argument('--recbole-eval-users', action='append', default=[],
                   metavar='MODEL=U1,U2', help='users per RecBole evaluation batch to try '
                   f'for MODEL (defaults: {EVAL_USERS})')
    p.add_argument('--recbole-eval-every-repeat', action='store_true',
                   help=f"evaluate {', '.join(NAMES[m] for m in SLOW_EVAL)} in RecBole in "
                   'every repeat with a warm-up evaluation (default: the first repeat '
                   'only, no warm-up: these evaluations take minutes)')
    p.add_argument('--recbole-eval-from', action='append', default=[], metavar='FILE',
                   help='for a model whose RecBole evaluation is not run here (e.g. '
                   '--recbole-eval-users mkr=), take it from this earlier result document '
                   '(of this script or of peer/recbole_lastfm.py); marked in the table')
    p.add_argument('--recbole-warmup', type=int, default=1,
                   help='untimed RecBole epochs before the timed one')
    p.add_argument('--timeout', type=float, default=3600,
                   help='seconds allowed to one subprocess')
    args = p.parse_args()

    wanted = [m.strip().lower() for m in args.models.split(',') if m.strip()]
    unknown = [m for m in wanted if m not in MODELS]
    if unknown:
        p.error(f'unknown model(s) {unknown}; choose from {list(MODELS)}')
    eval_users = dict(EVAL_USERS)
    for item in args.recbole_eval_users:
        key, _, value = item.partition('=')
        eval_users[key.strip().lower()] = value

    if args.export_only:
        if not args.export:
            p.error('--export-only needs --export DIR')
        data = load_dataset(args.dataset, args.root)
        for model, path in export(args.export, data, wanted, args.seed).items():
            print(f'{NAMES[model]}: {path}')
        return

    version, why = recbole_version(args.recbole_python)
    if version is None:
        print(INSTALL_HELP.format(python=args.recbole_python, why=why))
        return
    data = load_dataset(args.dataset, args.root)
    earlier = earlier_recbole_evaluations(args.recbole_eval_from)

    folder = args.export or tempfile.mkdtemp(prefix='speed_vs_recbole_')
    paths = export(folder, data, wanted, args.seed)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    env_ours = dict(env, PYTHONPATH=os.pathsep.join(
        [osp.dirname(HERE)] + [x for x in [os.environ.get('PYTHONPATH')] if x]))
    env_peer = {k: v for k, v in env.items() if k != 'PYTHONPATH'}  # never our package
    work = tempfile.mkdtemp(prefix='speed_vs_recbole_runs_')
    load_before, t_start = load_average(), time.time()
    print(f'RecBole {version} at {args.recbole_python}; splits in {folder}; load average '
          f'{load_before}', flush=True)

    runs: Dict[str, Dict[str, List[Dict]]] = {}
    floors: List[float] = []
    commands: Dict[str, Dict[str, List[str]]] = {}
    for model in wanted:
        runs[model] = {'recbole': [], 'ours': []}
        if earlier.get(model):
            runs[model]['recbole_eval_from'] = earlier[model]
        for rep in range(args.repeats):
            rb_out = osp.join(work, f'{model}-recbole-{rep}.json')
            slow = model in SLOW_EVAL and not args.recbole_eval_every_repeat
            users = '' if slow and rep > 0 else eval_users[model]
            rb_cmd = [args.recbole_python, PEER_SCRIPT, '--data', paths[model],
                      '--model', RECBOLE_MODEL[model], '--workdir',
                      osp.join(work, f'{model}-recbole-{rep}'), '--dim', str(args.dim),
                      '--batch-size', str(args.batch_size), '--threads',
                      str(args.threads), '--seed', str(args.seed), '--warmup',
                      str(args.recbole_warmup), '--repeats', '1', '--eval-users', users,
                      '--eval-warmup', '0' if slow else '1', '--out', rb_out]
            rb_cmd += recbole_arguments(model, args)
            ours_out = osp.join(work, f'{model}-ours-{rep}.json')
            ours_cmd = [sys.executable, OURS_SCRIPT, '--models', model, '--repeats', '1',
                        '--dataset', args.dataset, '--out', ours_out] + ours_arguments(args)
            if args.root:
                ours_cmd += ['--root', args.root]
            commands.setdefault(model, {'recbole': [], 'ours': []})
            commands[model]['recbole'].append(rb_cmd)
            commands[model]['ours'].append(ours_cmd)
            rb = run_json(rb_cmd, env_peer, rb_out, f'{NAMES[model]} RecBole', args.timeout)
            ours_doc = run_json(ours_cmd, env_ours, ours_out, f'{NAMES[model]} ours',
                                args.timeout)
            ours = dict(ours_result(ours_doc, model), wall_s=ours_doc['wall_s'])
            runs[model]['recbole'].append(rb)
            runs[model]['ours'].append(ours)
            if model in ('bprmf', 'kgin', 'kgat'):  # the dot-product models' floor
                split = model_split(model, data, args.seed)
                exclude = torch.cat([split['train'], split['val']], dim=1)
                torch.set_num_threads(args.threads)
                floors.append(ranking_floor(data['user'].num_nodes, data.num_items,
                                            args.dim, exclude))
            print(f"{NAMES[model]} repeat {rep + 1}: RecBole {rb['train_epoch_s']:.3f} s/epoch, "
                  f"eval {rb.get('eval_best_s')} s (of "
                  f"{[(e['eval_users'], round(e['seconds'], 3)) for e in rb['eval']]}), "
                  f"{rb['peak_rss_best_eval_mib']:.0f} MiB | ours "
                  f"{ours['train_seconds_per_epoch']:.3f} s/epoch, eval "
                  f"{ours['eval_seconds']:.3f} s, {ours['peak_rss_mib']:.0f} MiB; load "
                  f"{load_average()}", flush=True)

        if args.out:  # the models finished so far, in case the run is cut short
            write_result(args.out + '.partial', args=args, data_stats=kgrec_stats(data),
                         results=summarise(runs), protocol='partial: ' + PROTOCOL,
                         extra={'runs': runs, 'commands': commands})

    rows = summarise(runs)
    load_after = load_average()
    table = format_table(rows)
    versions = {'recbole': version, 'recbole_python': args.recbole_python,
                'recbole_side': runs[wanted[0]]['recbole'][0].get('versions'),
                'torch': torch.__version__, 'python': platform.python_version()}
    print(f'\n{args.dataset}: dim {args.dim}, batch {args.batch_size}, {args.threads} '
          f'thread(s), min of {args.repeats} interleaved runs per side; load average '
          f'{load_before} before, {load_after} after; {time.time() - t_start:.0f} s wall; '
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs')
    print(table)
    floor = min(floors) if floors else None
    if floor is not None:
        print(f'floor of a full ranking here (one {data["user"].num_nodes} x {args.dim} x '
              f'{data.num_items} matmul in user batches of 1024, training items masked, '
              f'top-20; random embeddings, min over {len(floors)} x 5): {floor:.3f} s')
    print(f"targets: train >= {TARGETS['train']:.0f}x, eval >= {TARGETS['eval']:.0f}x "
          f"(against RecBole's best eval batch), memory <= RecBole; **bold** = missed")
    print(f'versions: {versions}')
    print(f'command: {command_line()}')
    write_result(args.out, args=args, data_stats=kgrec_stats(data), results=rows,
                 protocol=PROTOCOL,
                 extra={'runs': runs, 'commands': commands, 'targets': TARGETS,
                        'ranking_floor_s': floor, 'ranking_floor_all_s': floors,
                        'load_average_before': load_before, 'load_average_after': load_after,
                        'versions': versions, 'export': folder, 'table': table})


if __name__ == '__main__':
    main()
