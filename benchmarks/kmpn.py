r"""KMPN (CKMPN Sec. 3.2) against BPRMF, CKE, KGAT and KGIN, plus the two ablations of
CKMPN Table 2, under top-K full ranking.

Protocol: the dataset's positives split per user 8:1:1 at random (``ranking_split``;
Amazon-Book: its published train/test files, validation carved out of training);
BPR training with one negative per positive drawn from the user's non-*training* items
(uniform, or reciprocal-ratio eq. 9 with counts from the training split); model
selection / early stopping on validation Recall@20 (training items masked); test ranks
all items with training + validation items masked. Recall / NDCG / HitRatio @20/60/100,
mean ± std over seeds.

Equal conditions: one learning-rate schedule (``--lr-schedule``, constant by default)
for every model of the table, and one user-residual setting (``--user-residual``, the
released KGIN/KMPN code's residual form by default) for every model that has a user
update (KGIN and the KMPN variants); both are printed in the table header. Rows whose
early stopping did not trigger before ``--epochs`` are labelled "budget-limited".

    python benchmarks/kmpn.py --dataset movielens-100k --seeds 3
    python benchmarks/kmpn.py --dataset movielens-100k --lr 1e-2 --batch-size 4096 \
        --epochs 30 --epochs-mf 90 --eval-every 2 --patience 3 --seed S --seeds 1
    python benchmarks/kmpn.py --dataset lastfm --lr 5e-3 --batch-size 1024 --epochs 100 \
        --epochs-mf 300 --eval-every 2 --patience 5 --seed S --seeds 1
"""
import math
import time
from typing import Callable, Dict, List, Optional

import torch

from torch_geometric_kgrec.benchmark import (add_checkpoint_arguments, aggregate, base_parser,
                                             checkpoint_kwargs, format_table, load_dataset,
                                             setup_distributed, write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.distributed import current_env
from torch_geometric_kgrec.metrics import evaluate_ranking
from torch_geometric_kgrec.nn.models import BPRMF, KMPN
from torch_geometric_kgrec.protocols import (ReciprocalRatioNegativeSampler,
                                             UniformNegativeSampler, ranking_split)
from torch_geometric_kgrec.train import peak_memory_mb, run_training, seed_everything

KS = (20, 60, 100)
COLUMNS = [f'{m}@{k}' for m in ('recall', 'ndcg', 'hit_ratio') for k in KS]
PROTOCOL = ('top-K full ranking: per-user random 8:1:1 split of positives (Amazon-Book: '
            'published split, validation from training); one BPR negative per positive '
            'from the non-training items (uniform, or reciprocal-ratio eq. 9 on training '
            'counts); early stopping on validation recall@20; test ranks all items with '
            'training+validation items masked')
# CKMPN Table 2 (Amazon-Book-Extended = Amazon-Book interactions + KG, KGIN's split).
PAPER = {
    'BPRMF': [0.1352, 0.2433, 0.3088, 0.0696, 0.09568, 0.1089, 0.2376, 0.3984, 0.4816],
    'CKE': [0.1347, 0.2413, 0.3070, 0.0691, 0.09482, 0.1081, 0.2373, 0.3963, 0.4800],
    'KGAT': [0.1527, 0.2595, 0.3227, 0.0807, 0.10655, 0.1194, 0.2602, 0.4156, 0.4931],
    'KGIN': [0.1654, 0.2691, 0.3298, 0.0893, 0.1145, 0.1267, 0.2805, 0.4289, 0.5040],
    'KMPN': [0.1719, 0.2793, 0.3405, 0.0931, 0.1189, 0.1315, 0.2910, 0.4421, 0.5166],
    'KMPN w/o SoftDCorr': [0.1704, 0.2790, 0.3396, 0.0924, 0.1185, 0.1310, 0.2881, 0.4419,
                           0.5152],
    'KMPN w/o SoftDCorr+RRS': [0.1690, 0.2774, 0.3391, 0.0913, 0.1177, 0.1302, 0.2872,
                               0.4414, 0.5155],
}
PAPER = {k: dict(zip(COLUMNS, v)) for k, v in PAPER.items()}
KEYS = {
    'bprmf': 'BPRMF', 'cke': 'CKE', 'kgat': 'KGAT', 'kgin': 'KGIN', 'kmpn': 'KMPN',
    'kmpn-nosoft': 'KMPN w/o SoftDCorr', 'kmpn-nosoft-norrs': 'KMPN w/o SoftDCorr+RRS'
}


class Ctx:
    r"""Everything a model builder needs (one seed)."""
    def __init__(self, data, split, args, device):
        self.args, self.device = args, device
        self.num_users, self.num_items = data['user'].num_nodes, data.num_items
        self.num_entities = data['entity'].num_nodes
        self.num_relations = len(data.relation_names)
        store = data['entity', 'kg', 'entity']
        self.kg_edge_index = store.edge_index.to(device)
        self.kg_edge_type = store.edge_type.to(device)
        self.train = split.train.to(device)


# --------------------------------------------------------------------------- models
# A builder returns (model, loss_fn(users, pos, neg) -> Tensor, sampler kind,
# extra per-epoch step(optimizer, num_steps, generator) or None).

def build_bprmf(c: Ctx):
    model = BPRMF(c.num_users, c.num_items, c.args.dim)
    return model, lambda u, p, n: model.loss(u, p, n, reg_weight=c.args.l2), 'uniform', None


def build_cke(c: Ctx):
    from torch_geometric_kgrec.nn.models import CKE
    model = CKE(c.num_users, c.num_items, c.num_entities, c.num_relations, c.args.dim)
    T = c.kg_edge_index.size(1)

    def loss(u, p, n):  # joint CF + TransR step on a random batch of KG triples
        idx = torch.randint(0, T, (min(u.numel(), c.args.kg_batch_size), ), device=u.device)
        return (model.loss(u, p, n, reg_weight=c.args.l2) +
                model.kg_loss(c.kg_edge_index[0, idx], c.kg_edge_type[idx],
                              c.kg_edge_index[1, idx]))

    return model, loss, 'uniform', None


def build_kgin(c: Ctx):
    from torch_geometric_kgrec.nn.models import KGIN  # noqa: F401  (5b helper)
    model = KGIN(c.num_users, c.num_entities, c.num_items, c.num_relations,
                 c.kg_edge_index, c.kg_edge_type, c.train, embedding_dim=c.args.dim,
                 num_layers=c.args.layers, user_residual=c.args.user_residual == 'on')
    return model, model.loss, 'uniform', None


def build_kgat(c: Ctx):
    from torch_geometric_kgrec.nn.models import KGAT  # noqa: F401  (5b helper)
    model = KGAT(c.num_users, c.num_entities, c.num_items, c.num_relations,
                 c.kg_edge_index, c.kg_edge_type, c.train, embedding_dim=c.args.dim)

    def kg_phase(optimizer, num_steps: int, gen: torch.Generator) -> None:
        # KGAT's alternating schedule: as many TransR steps as CF steps, then the
        # attention is recomputed once per epoch.
        for _ in range(num_steps):
            optimizer.zero_grad()
            batch = current_env().shard(*model.sample_kg_batch(c.args.batch_size, gen))
            model.kg_loss(*batch).backward()
            optimizer.step()
        model.update_attention()

    return model, model.loss, 'uniform', kg_phase


def _kmpn(c: Ctx, eps: float, sampler: str):
    a = c.args
    model = KMPN(c.num_users, c.num_entities, c.num_items, c.num_relations, c.kg_edge_index,
                 c.kg_edge_type, c.train, embedding_dim=a.dim, num_layers=a.layers,
                 num_preferences=a.preferences, num_meta_preferences=a.meta_preferences,
                 dcorr_eps=eps, dcorr_weight=a.dcorr_weight, l2_weight=a.l2,
                 node_dropout=a.node_dropout, message_dropout=a.message_dropout,
                 user_residual=a.user_residual == 'on', dcorr_variant=a.dcorr_variant)
    return model, model.loss, sampler, None


BUILDERS: Dict[str, Callable] = {
    'BPRMF': build_bprmf,
    'CKE': build_cke,
    'KGAT': build_kgat,
    'KGIN': build_kgin,
    'KMPN': lambda c: _kmpn(c, c.args.eps, 'reciprocal'),
    # Table 2 ablations: the standard (eps = 1) DCorr instead of the soft one; and
    # additionally uniform instead of reciprocal-ratio negatives.
    'KMPN w/o SoftDCorr': lambda c: _kmpn(c, 1.0, 'reciprocal'),
    'KMPN w/o SoftDCorr+RRS': lambda c: _kmpn(c, 1.0, 'uniform'),
}


def add_model_arguments(p, lr: float = 1e-3, batch_size: int = 1024, eval_every: int = 2,
                        patience: int = 5):
    r"""The hyper-parameters of the models and of the shared training loop
    (:func:`fit`), also used by ``quickstart.py``."""
    p.add_argument('--dim', type=int, default=64, help='embedding size')
    p.add_argument('--layers', type=int, default=3, help='propagation layers')
    p.add_argument('--preferences', type=int, default=4,
                   help='user intents / preferences (KGIN, KMPN)')
    p.add_argument('--meta-preferences', type=int, default=64,
                   help='meta-preferences of KMPN')
    p.add_argument('--eps', type=float, default=0.5, help='soft DCorr ratio epsilon')
    p.add_argument('--dcorr-variant', default='subspace',
                   choices=['subspace', 'paper', 'released'],
                   help='reading of the soft DCorr PCA (nn/dcorr.py); KMPN default subspace')
    p.add_argument('--lr-schedule', default='constant', choices=['constant', 'linear'],
                   help='for EVERY model of the table: constant, or linear decay to 0 at '
                        'the model\'s max epochs')
    p.add_argument('--user-residual', default='on', choices=['on', 'off'],
                   help="residual user update (released code) for KGIN and every KMPN row")
    p.add_argument('--dcorr-weight', type=float, default=1e-4,
                   help='weight of the distance-correlation loss')
    p.add_argument('--l2', type=float, default=1e-5, help='L2 weight on the batch embeddings')
    p.add_argument('--lr', type=float, default=lr, help='Adam learning rate')
    p.add_argument('--node-dropout', type=float, default=0.5,
                   help='fraction of interaction edges dropped per step')
    p.add_argument('--message-dropout', type=float, default=0.1,
                   help='dropout on the propagated messages')
    p.add_argument('--batch-size', type=int, default=batch_size,
                   help='(user, positive, negative) triples per step')
    p.add_argument('--kg-batch-size', type=int, default=1024,
                   help='KG triples per step of the joint CKE loss')
    p.add_argument('--eval-every', type=int, default=eval_every, help='validate every this many epochs')
    p.add_argument('--patience', type=int, default=patience,
                   help='validations without improvement before stopping')
    return p


def make_train_epoch(ctx: Ctx, loss_fn: Callable, sampler, extra: Optional[Callable],
                     optimizer: torch.optim.Optimizer, gen: torch.Generator,
                     scheduler=None) -> Callable[[int], float]:
    r"""One training epoch of :func:`fit` (also timed by ``ours_speed.py``): a seeded
    permutation of the training pairs in batches of ``--batch-size``, one negative per
    positive from :obj:`sampler`, this rank's shard of every batch, then the model's
    extra per-epoch phase (KGAT's TransR steps) and the learning-rate schedule."""
    args, device, train = ctx.args, ctx.device, ctx.train
    env = current_env()
    bs = args.batch_size
    # Uniform negatives: one vectorised draw for the whole epoch, the very numbers of
    # per-batch draws (one uniform double per entry, in order). The reciprocal-ratio
    # sampler's rejection rounds would reorder its random stream, so it keeps one call
    # per batch (seeded results unchanged either way).
    per_epoch = isinstance(sampler, UniformNegativeSampler)

    def train_epoch(epoch: int) -> float:
        perm = torch.randperm(train.size(1), generator=gen).to(device)
        if per_epoch:
            negatives = sampler.sample(train[0, perm], generator=gen).view(-1).to(device)
        total = 0.0
        for start in range(0, perm.numel(), bs):
            idx = perm[start:start + bs]
            users, pos = train[0, idx], train[1, idx]
            neg = (negatives[start:start + bs] if per_epoch else
                   sampler.sample(users, generator=gen).view(-1).to(device))
            users, pos, neg = env.shard(users, pos, neg)  # this rank's slice
            optimizer.zero_grad()
            loss = loss_fn(users, pos, neg)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * idx.numel()
        if extra is not None:
            extra(optimizer, math.ceil(train.size(1) / bs), gen)
        if scheduler is not None:
            scheduler.step()
        return total / train.size(1)

    return train_epoch


def fit(name: str, ctx: Ctx, samplers: Dict[str, object], val: torch.Tensor, epochs: int,
        seed: int):
    r"""Train model :obj:`name` of :obj:`BUILDERS` on :obj:`ctx.train` under the shared
    conditions (Adam at ``--lr``, ``--lr-schedule``, one BPR negative per positive, early
    stopping on validation Recall@20, data-parallel under torchrun, ``--checkpoint``);
    returns :obj:`(model, TrainResult)` with the best weights loaded."""
    args, device, train = ctx.args, ctx.device, ctx.train
    env = current_env()
    seed_everything(seed)
    model, loss_fn, kind, extra = BUILDERS[name](ctx)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    env.attach(model, optimizer)  # data-parallel: gradient all-reduce
    scheduler = (torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: max(0.0, 1.0 - e / epochs))
        if args.lr_schedule == 'linear' else None)
    gen = torch.Generator().manual_seed(seed)
    train_epoch = make_train_epoch(ctx, loss_fn, samplers[kind], extra, optimizer, gen,
                                   scheduler)

    def validate() -> Dict[str, float]:
        return evaluate_ranking(model.score_all, val, train, ctx.num_users, ctx.num_items,
                                ks=(20, ), metrics=('recall', 'ndcg'), device=device)

    state = {'optimizer': optimizer, 'generator': gen}
    if scheduler is not None:
        state['scheduler'] = scheduler
    result = run_training(model, train_epoch, validate, epochs, monitor='recall@20',
                          patience=args.patience, eval_every=args.eval_every,
                          progress=not args.no_progress, desc=f'{name} seed {seed}',
                          state=state, **checkpoint_kwargs(args, f'{name} seed {seed}'))
    return model, result


def available(names: List[str]) -> Dict[str, Optional[str]]:
    r"""Which models can be imported now (KGIN/KGAT/CKE come from other modules)."""
    import torch_geometric_kgrec.nn.models as models
    need = {'CKE': 'CKE', 'KGAT': 'KGAT', 'KGIN': 'KGIN'}
    return {n: (None if n not in need or hasattr(models, need[n]) else
                f'torch_geometric_kgrec.nn.models.{need[n]} is not available yet')
            for n in names}


def main() -> None:
    p = base_parser(__doc__, default_dataset='movielens-100k',
                    default_epochs=40)
    p.add_argument('--models', default=','.join(KEYS),
                   help=f"comma-separated subset of {', '.join(KEYS)}")
    p.add_argument('--epochs-mf', type=int, default=None,
                   help='max epochs of the cheap BPRMF/CKE (unset: 3 x --epochs)')
    add_model_arguments(p)
    add_checkpoint_arguments(p)
    args = p.parse_args()
    env = setup_distributed(args)  # torchrun: one rank per process, else a no-op
    device = torch.device(args.device)
    wanted = [s.strip().lower() for s in args.models.split(',') if s.strip()]
    unknown = [w for w in wanted if w not in KEYS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {list(KEYS)}")
    names = [KEYS[w] for w in wanted]
    missing = {n: why for n, why in available(names).items() if why}
    for n, why in missing.items():
        print(f'skipping {n}: {why}')
    names = [n for n in names if n not in missing]

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    published = args.dataset.lower().replace('_', '-') in ('amazon-book', 'amazonbook')
    num_users, num_items = data['user'].num_nodes, data.num_items

    per_seed: Dict[str, List[Dict[str, float]]] = {n: [] for n in names}
    seconds: Dict[str, List[float]] = {n: [] for n in names}
    for seed in range(args.seed, args.seed + args.seeds):
        split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=seed, published=published)
        ctx = Ctx(data, split, args, device)
        train, val, test = ctx.train, split.val.to(device), split.test.to(device)
        train_val = torch.cat([train, val], dim=1)
        samplers = {
            'uniform': UniformNegativeSampler(train, num_users, num_items),
            'reciprocal': ReciprocalRatioNegativeSampler(train, num_users, num_items),
        }
        for name in names:
            cheap = name in ('BPRMF', 'CKE')
            epochs = (args.epochs_mf or 3 * args.epochs) if cheap else args.epochs
            t0 = time.perf_counter()
            model, result = fit(name, ctx, samplers, val, epochs, seed)
            model.eval()
            with torch.no_grad():
                metrics = evaluate_ranking(model.score_all, test, train_val, num_users,
                                           num_items, ks=KS, metrics=('recall', 'ndcg',
                                                                      'hit_ratio'),
                                           device=device, progress=not args.no_progress)
            metrics.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run,
                           max_epochs=epochs, stopped_early=float(result.stopped_early),
                           wall_seconds=time.perf_counter() - t0)
            per_seed[name].append(metrics)
            seconds[name].append(result.seconds_per_epoch)
            print(f"{name} seed {seed}: recall@20 {metrics['recall@20']:.4f} ndcg@20 "
                  f"{metrics['ndcg@20']:.4f} (best epoch {result.best_epoch}/"
                  f"{result.epochs_run}, {result.seconds_per_epoch:.2f} s/epoch"
                  f"{'' if result.stopped_early else ', budget-limited: no early stop'})",
                  flush=True)

    results = {n: {'per_seed': rows, 'mean_std': aggregate(rows),
                   'seconds_per_epoch': sum(seconds[n]) / len(seconds[n])}
               for n, rows in per_seed.items() if rows}
    print(f'\n{args.dataset} — {PROTOCOL}; seeds {args.seed}..{args.seed + args.seeds - 1}; '
          f'device {device}, {torch.get_num_threads()} torch threads, '
          f'{env.world_size} process(es)')
    if args.dataset == 'movielens-100k':
        print(f'movielens-100k item-KG link: {args.link}')
    print(f'equal conditions: lr {args.lr} {args.lr_schedule} for every model; user residual '
          f'{args.user_residual} for KGIN and KMPN; soft DCorr {args.dcorr_variant}, '
          f'eps {args.eps}; batch {args.batch_size}; patience {args.patience} x '
          f'eval every {args.eval_every}')
    for n, r in results.items():
        rows = per_seed[n]
        capped = sum(1 for m in rows if not m['stopped_early'])
        print(f"{n}: best epochs {[int(m['best_epoch']) for m in rows]} of "
              f"{[int(m['epochs_run']) for m in rows]} run"
              f"{f' ({capped} seed(s) budget-limited)' if capped else ''}")
    print(format_table({n: r['mean_std'] for n, r in results.items()}, COLUMNS,
                       paper=PAPER if published else None))
    if not published:
        print('\nCKMPN Table 2 (Amazon-Book-Extended, NOT this dataset; for reference):')
        print(format_table({n: {m: {'mean': v, 'std': 0.0, 'n': 1} for m, v in row.items()}
                            for n, row in PAPER.items()}, COLUMNS))
    for n, r in results.items():
        print(f"{n}: {r['seconds_per_epoch']:.2f} s per training epoch on {args.dataset} "
              f"({device})")
    if missing:
        print('not run (missing): ' + ', '.join(missing))
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 paper=PAPER, extra={'peak_memory_mb': peak_memory_mb(device),
                                     'missing_models': missing})


if __name__ == '__main__':
    main()
