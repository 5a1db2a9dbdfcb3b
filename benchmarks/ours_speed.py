r"""Our side of the RecBole speed comparison (issue 13): seconds per training epoch,
seconds per full-ranking evaluation and peak memory of BPRMF, KGIN, KGAT, KGCN, MKR and
KTUP on one dataset (Last.FM by default), through the same code paths as the
benchmarks.

Settings (the issue-13 table): embedding size ``--dim`` 64, batch ``--batch-size`` 2048
for every model, 1 torch thread (``--threads``). Depth as our benchmarks' defaults:
KGIN 3 layers (``--layers``, 4 intents, node dropout 0.5, message dropout 0.1); KGAT
its default layer sizes 64, 32, 16 (bi-interaction, 3 layers); KGCN H = 1 hop (``--kgcn-hops``)
with K = 8 sampled neighbours (``--kgcn-neighbors``, the Last.FM setting of
``kgcn.py``, sum aggregator); MKR L = 2 cross & compress units, H = 1 (``--mkr-L``,
``--mkr-H``) and a KGE pass every ``--kge-interval`` 2 epochs; KTUP ``--ktup-strategy``
hard, L1 distance, the eq. 21 schedule with lambda 0.5.

Training epoch: the epoch function of the model's benchmark (``kmpn.py``
``make_train_epoch`` for BPRMF / KGIN / KGAT: seeded permutation, one uniform negative
per positive, KGAT's CF phase plus as many TransR steps and the attention update;
``kgcn.py``: the epoch's neighbour resample and BCE steps on the CTR training pairs;
``mkr.py``: RS pass plus the KGE pass of every ``t``-th epoch, timed over ``t`` epochs and
divided by ``t``; ``ktup.py``: the joint schedule over interactions and KG triples). One
warm-up epoch, then the minimum over ``--repeats`` epochs.

Evaluation: :func:`~torch_geometric_kgrec.metrics.evaluate_ranking` over every item for
every user with a test item, the user's training items masked (ranking splits: training
and validation), Recall / NDCG @ ``--ks``, in the evaluation batch of the model's
benchmark (``--eval-batch-size`` overrides it); the full-graph propagation (KGIN / KGAT)
and MKR's item tower are recomputed inside every timed evaluation. Minimum over
``--repeats`` after one warm-up.

Splits: BPRMF / KGIN / KGAT per-user 8:1:1 (``ranking_split``), KGCN / MKR the CTR
6:2:2 split (``ctr_split``, Last.FM one sampled negative per positive), KTUP per-user
7:1:2 and KG triples 7:1:2, all with ``--seed``. Every model runs in its own
subprocess (``--model X --child``), whose peak resident set size
(``getrusage(RUSAGE_SELF).ru_maxrss``, data loading included) is reported.

    python benchmarks/ours_speed.py --models bprmf,kgin,kgat,kgcn,ktup,mkr --out speed.json
    python benchmarks/ours_speed.py --models kgat --repeats 1 --out f.json
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from functools import partial
from typing import Callable, Dict, List, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import kgcn as kgcn_bench  # noqa: E402  (the benchmarks' own epoch functions)
import kmpn as kmpn_bench  # noqa: E402
import ktup as ktup_bench  # noqa: E402
import mkr as mkr_bench  # noqa: E402

from torch_geometric_kgrec.benchmark import (base_parser, load_dataset,  # noqa: E402
                                             write_result)
from torch_geometric_kgrec.datasets import kgrec_stats  # noqa: E402
from torch_geometric_kgrec.metrics import evaluate_ranking  # noqa: E402
from torch_geometric_kgrec.nn import KGCN, MKR  # noqa: E402
from torch_geometric_kgrec.nn.models import KTUP  # noqa: E402
from torch_geometric_kgrec.protocols import (KGNeighborSampler,  # noqa: E402
                                             UniformNegativeSampler, ctr_split,
                                             ranking_split)
from torch_geometric_kgrec.protocols.kg_corruption import KGCorruptionSampler  # noqa: E402
from torch_geometric_kgrec.protocols.kg_split import kg_triple_split  # noqa: E402
from torch_geometric_kgrec.train import seed_everything  # noqa: E402

MODELS = ('bprmf', 'kgin', 'kgat', 'kgcn', 'mkr', 'ktup')
NAMES = {'bprmf': 'BPRMF', 'kgin': 'KGIN', 'kgat': 'KGAT', 'kgcn': 'KGCN', 'mkr': 'MKR',
         'ktup': 'KTUP'}
#: evaluation batch (users per ``score_all`` call) of each model's benchmark
EVAL_BATCH = {'bprmf': 1024, 'kgin': 1024, 'kgat': 1024, 'kgcn': 256, 'mkr': 1024,
              'ktup': 256}
PROTOCOL = ('speed only: seconds of one training epoch (the benchmarks\' epoch functions, '
            'min over repeats after a warm-up epoch), seconds of one full-ranking '
            'evaluation of the test split (all items, training items masked, min over '
            'repeats after a warm-up), peak RSS of a subprocess per model')


# --------------------------------------------------------------------------- setups
# Each returns (train_epoch(epoch), epochs per timed unit, evaluate() -> metrics).

def _ranking_eval(args, score_fn: Callable, test, exclude, num_users: int,
                  num_items: int, model: str) -> Callable[[], Dict[str, float]]:
    batch = args.eval_batch_size or EVAL_BATCH[model]
    return partial(evaluate_ranking, score_fn, test, exclude, num_users, num_items,
                   ks=args.ks, metrics=('recall', 'ndcg'), batch_size=batch,
                   device=test.device)


def setup_kmpn_family(model: str, data, args, device):
    r"""BPRMF / KGIN / KGAT through ``kmpn.py``'s builders and epoch function."""
    split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=args.seed)
    ctx = kmpn_bench.Ctx(data, split, args, device)
    seed_everything(args.seed)
    net, loss_fn, kind, extra = kmpn_bench.BUILDERS[NAMES[model]](ctx)
    net = net.to(device)
    sampler = UniformNegativeSampler(ctx.train, ctx.num_users, ctx.num_items)
    assert kind == 'uniform'
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    train_epoch = kmpn_bench.make_train_epoch(ctx, loss_fn, sampler, extra, optimizer, gen)
    test = split.test.to(device)
    exclude = torch.cat([ctx.train, split.val.to(device)], dim=1)
    evaluate = _ranking_eval(args, net.score_all, test, exclude, ctx.num_users,
                             ctx.num_items, model)
    return net, train_epoch, 1, evaluate


def setup_kgcn(model: str, data, args, device):
    num_users, num_items = data['user'].num_nodes, data.num_items
    num_entities = data['entity'].num_nodes
    sampler = KGNeighborSampler.from_data(data, args.kgcn_neighbors, device)
    seed_everything(args.seed)
    split = ctr_split(data, seed=args.seed)
    train, y_train = split.train.edge_index.to(device), split.train.label.to(device)
    test, y_test = split.test.edge_index.to(device), split.test.label.to(device)
    net = KGCN(num_users, num_entities, sampler.num_relations + 1, num_items,
               embedding_dim=args.dim, num_neighbors=args.kgcn_neighbors,
               num_layers=args.kgcn_hops, aggregator='sum').to(device)
    optimizer = kgcn_bench.make_optimizer(net, args.lr, args.l2)
    gen = torch.Generator().manual_seed(args.seed)
    train_epoch = kgcn_bench.make_train_epoch(net, sampler, optimizer, train, y_train,
                                              args.batch_size, gen, args.seed)
    eval_neighbors = sampler.sample(torch.Generator(device=device).manual_seed(
        10_000 + args.seed))

    evaluate = _ranking_eval(args, net.score_all, test[:, y_test == 1],
                             train[:, y_train == 1], num_users, num_items, model)

    def evaluate_with_neighbors():
        net.set_neighbors(*eval_neighbors)  # the fixed evaluation sample, as kgcn.py
        return evaluate()

    return net, train_epoch, 1, evaluate_with_neighbors


def setup_mkr(model: str, data, args, device):
    num_users, num_items = data['user'].num_nodes, data.num_items
    num_entities, num_relations = data['entity'].num_nodes, len(data.relation_names)
    triples = mkr_bench.item_head_triples(data).to(device)
    seed_everything(args.seed)
    split = ctr_split(data, seed=args.seed)
    train, y_train = split.train.edge_index.to(device), split.train.label.to(device)
    test, y_test = split.test.edge_index.to(device), split.test.label.to(device)
    net = MKR(num_users, num_items, num_entities, num_relations, embedding_dim=args.dim,
              num_low_layers=args.mkr_L, num_high_layers=args.mkr_H).to(device)
    opt_rs = torch.optim.Adam(net.rs_parameters(), lr=args.lr)
    opt_kge = torch.optim.Adam(net.kge_parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    options = argparse.Namespace(l2=args.l2, kge_negatives=False, batch_size=args.batch_size,
                                 schedule='epoch', kge_interval=args.kge_interval)
    train_epoch = mkr_bench.make_train_epoch(net, opt_rs, opt_kge, train, y_train, triples,
                                             num_entities, options, gen)

    item_vectors = {}

    def score_all(users):
        return net.score_all(users, item_vectors=item_vectors['all'])

    inner = _ranking_eval(args, score_all, test[:, y_test == 1], train[:, y_train == 1],
                          num_users, num_items, model)

    def evaluate():  # the item tower once per evaluation, as mkr.py
        item_vectors['all'] = net.item_vectors()
        return inner()

    return net, train_epoch, args.kge_interval, evaluate


def setup_ktup(model: str, data, args, device):
    U, I = data['user'].num_nodes, data.num_items
    E, R = data['entity'].num_nodes, len(data.relation_names)
    kg = data['entity', 'kg', 'entity']
    seed_everything(args.seed)
    split = ranking_split(data, ratios=(0.7, 0.1, 0.2), seed=args.seed)
    train, test = split.train.to(device), split.test.to(device)
    kg_tr, _, _ = kg_triple_split(kg.edge_index, kg.edge_type, (0.7, 0.1, 0.2),
                                  seed=args.seed)
    kg_tr = kg_tr.to(device)
    rec_sampler = UniformNegativeSampler(split.train, U, I)
    kg_sampler = KGCorruptionSampler(kg_tr[[0, 2]], kg_tr[1], E, R, filtered=True)
    net = KTUP(U, I, E, R, args.dim, strategy=args.ktup_strategy,
               item_to_entity=ktup_bench.aligned_items(kg_tr, E, I), sparse=True).to(device)
    opt = ktup_bench._Optimizers(net, args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    rec_batch, kg_batch = ktup_bench.batch_fns(train, kg_tr, rec_sampler, kg_sampler, gen)
    train_epoch = ktup_bench.make_train_epoch(opt, net.loss, net.kg_loss, rec_batch,
                                              kg_batch, train.size(1), kg_tr.size(1),
                                              args.batch_size, 0.5, gen, device)
    evaluate = _ranking_eval(args, net.score_all, test, split.exclude('test').to(device),
                             U, I, model)
    return net, train_epoch, 1, evaluate


SETUPS = {'bprmf': setup_kmpn_family, 'kgin': setup_kmpn_family,
          'kgat': setup_kmpn_family, 'kgcn': setup_kgcn, 'mkr': setup_mkr,
          'ktup': setup_ktup}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def time_model(model: str, args) -> Dict[str, object]:
    r"""The measurements of one model in this process."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = load_dataset(args.dataset, args.root)
    t0 = time.perf_counter()
    net, train_epoch, per_unit, evaluate = SETUPS[model](model, data, args, device)
    setup_seconds = time.perf_counter() - t0

    epoch = 0

    def unit() -> float:  # `per_unit` consecutive epochs, seconds per epoch
        nonlocal epoch
        net.train()
        t = time.perf_counter()
        for _ in range(per_unit):
            epoch += 1
            train_epoch(epoch)
        return (time.perf_counter() - t) / per_unit

    warmup_epoch = unit()
    epochs = [unit() for _ in range(args.repeats)]

    def timed_eval() -> Tuple[float, Dict[str, float]]:
        net.eval()
        if hasattr(net, 'clear_cache'):
            net.clear_cache()  # the propagation is part of every evaluation
        t = time.perf_counter()
        with torch.no_grad():
            metrics = evaluate()
        return time.perf_counter() - t, metrics

    warmup_eval, metrics = timed_eval()
    evals = []
    for _ in range(args.repeats):
        seconds, metrics = timed_eval()
        evals.append(seconds)
    return {
        'model': NAMES[model],
        'train_seconds_per_epoch': min(epochs),
        'train_epoch_seconds': epochs,
        'warmup_epoch_seconds': warmup_epoch,
        'epochs_per_timed_unit': per_unit,
        'eval_seconds': min(evals),
        'eval_seconds_all': evals,
        'warmup_eval_seconds': warmup_eval,
        'eval_batch_size': args.eval_batch_size or EVAL_BATCH[model],
        'eval_metrics': metrics,
        'setup_seconds': setup_seconds,
        'peak_rss_mib': peak_rss_mib(),
        'torch_threads': torch.get_num_threads(),
    }


def child_command(model: str, args) -> List[str]:
    cmd = [sys.executable, osp.abspath(__file__), '--model', model, '--child',
           '--dataset', args.dataset, '--device', args.device, '--seed', str(args.seed),
           '--repeats', str(args.repeats), '--threads', str(args.threads)]
    if args.root:
        cmd += ['--root', args.root]
    for opt in ('dim', 'batch_size', 'layers', 'lr', 'l2', 'kgcn_hops',
                'kgcn_neighbors', 'mkr_L', 'mkr_H', 'kge_interval', 'ktup_strategy',
                'eval_batch_size'):
        cmd += ['--' + opt.replace('_', '-'), str(getattr(args, opt))]
    cmd += ['--ks', ','.join(str(k) for k in args.ks)]
    return cmd


def format_rows(results: Dict[str, Dict]) -> str:
    head = ['model', 'train s/epoch', 'eval s', 'peak RSS MiB', 'eval batch',
            'recall@20', 'ndcg@20']
    rows = []
    for r in results.values():
        m = r['eval_metrics']
        rows.append([r['model'], f"{r['train_seconds_per_epoch']:.4f}",
                     f"{r['eval_seconds']:.4f}", f"{r['peak_rss_mib']:.0f}",
                     str(r['eval_batch_size']), f"{m.get('recall@20', float('nan')):.4f}",
                     f"{m.get('ndcg@20', float('nan')):.4f}"])
    widths = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    line = lambda r: '  '.join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return '\n'.join([line(head), line(['-' * w for w in widths])] + [line(r) for r in rows])


def build_parser() -> argparse.ArgumentParser:
    p = base_parser(__doc__, default_dataset='lastfm',
                    options=('dataset', 'root', 'device', 'seed', 'out'))
    p.add_argument('--models', default=','.join(MODELS),
                   help=f"comma-separated subset of {','.join(MODELS)}")
    p.add_argument('--repeats', type=int, default=3,
                   help='timed epochs / evaluations after one warm-up (the minimum is '
                   'reported)')
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads')
    kmpn_bench.add_model_arguments(p, batch_size=2048)  # --dim 64, --layers 3, --lr, ...
    p.add_argument('--kgcn-hops', type=int, default=1, help='KGCN receptive-field depth H')
    p.add_argument('--kgcn-neighbors', type=int, default=8,
                   help='KGCN sampled neighbours K (kgcn.py on Last.FM: 8)')
    p.add_argument('--mkr-L', type=int, default=2, help='MKR cross & compress units L')
    p.add_argument('--mkr-H', type=int, default=1, help='MKR high-level layers H')
    p.add_argument('--kge-interval', type=int, default=2,
                   help='MKR: a KGE pass every this many epochs')
    p.add_argument('--ktup-strategy', default='hard', choices=['hard', 'soft'],
                   help='KTUP preference induction')
    p.add_argument('--eval-batch-size', type=int, default=0,
                   help='users per score_all call (0: the model benchmark\'s: '
                   + ', '.join(f'{NAMES[m]} {b}' for m, b in EVAL_BATCH.items()) + ')')
    p.add_argument('--ks', type=lambda s: tuple(int(k) for k in s.split(',')),
                   default=(20, ), help='cut-offs of Recall / NDCG')
    p.add_argument('--model', default=None, help=argparse.SUPPRESS)
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    p.set_defaults(no_progress=True)
    return p


def main() -> None:
    p = build_parser()
    args = p.parse_args()

    if args.child:  # one model, result as JSON on the last stdout line
        print(json.dumps(time_model(args.model, args)))
        return

    wanted = [m.strip().lower() for m in args.models.split(',') if m.strip()]
    unknown = [m for m in wanted if m not in MODELS]
    if unknown:
        p.error(f'unknown model(s) {unknown}; choose from {list(MODELS)}')
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    results, load = {}, os.getloadavg()
    for model in wanted:
        run = subprocess.run(child_command(model, args), capture_output=True, text=True,
                             env=env)
        if run.returncode != 0:
            sys.stderr.write(run.stderr)
            raise SystemExit(f'{model}: child process failed ({run.returncode})')
        results[NAMES[model]] = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"{NAMES[model]}: {results[NAMES[model]]['train_seconds_per_epoch']:.4f} "
              f"s/epoch, eval {results[NAMES[model]]['eval_seconds']:.4f} s", flush=True)
    load_after = os.getloadavg()
    data = load_dataset(args.dataset, args.root)
    print(f'\n{args.dataset}: dim {args.dim}, batch {args.batch_size}, {args.threads} '
          f'thread(s), min of {args.repeats} after a warm-up; load average '
          f'{load[0]:.2f} before, {load_after[0]:.2f} after')
    print(format_rows(results))
    write_result(args.out, args=args, data_stats=kgrec_stats(data), results=results,
                 protocol=PROTOCOL, extra={'load_average_before': load,
                                           'load_average_after': load_after})


if __name__ == '__main__':
    main()
