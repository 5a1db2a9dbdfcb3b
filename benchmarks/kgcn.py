r"""KGCN (Wang et al., WWW 2019) under the CTR protocol and full-ranking top-K.

Protocol: labelled (user, item) pairs split 6:2:2 at random (``ctr_split``; Book-Crossing
uses the file's labelled negatives, Last.FM one sampled never-listened artist per
positive), binary cross-entropy, model selection on *validation* AUC, test AUC / ACC /
F1 over the whole test split (no dropped partial batch, no per-batch averaging), then
Precision / Recall / NDCG @ {1, 2, 5, 10, 20, 50, 100} ranking *all* items for every user
with a test positive (or a seeded sample of ``--eval-users`` users), the user's training
positives masked, test positives as ground truth.

Neighbours: a fresh ``KGNeighborSampler`` draw every epoch for training (``--resample
once`` keeps the first draw, as the reference code), and one fixed seeded draw for every
evaluation (validation and test). An item-popularity row (training positives) is printed
as a reference point (AUC and top-K only: its scores are counts, not probabilities).

Full ranking uses ``KGCN.score_all``: for H = 1 the item side (neighbours, W e) is computed
once and only the [users, items, K] attention and a [users, items, d] tanh depend on the
user, i.e. O(U I K d) in chunks, never a users x items x K^H x d tensor. On a shared CPU,
``OMP_NUM_THREADS=1`` is much faster than oversubscribed threads.

    python benchmarks/kgcn.py --dataset book-crossing --seeds 3 --out kgcn-book.json
    python benchmarks/kgcn.py --dataset lastfm --seeds 3 --out kgcn-lastfm.json
    torchrun --standalone --nproc_per_node 2 benchmarks/kgcn.py --dataset lastfm

Under ``torchrun`` every rank draws the same neighbour samples and permutation, trains on
its shard of each global batch (gradients all-reduced), computes the CTR metrics
identically, shards the top-K evaluation, and rank 0 prints and writes the JSON.
"""

from typing import Callable

import torch
from torch import Tensor

from torch_geometric_kgrec.benchmark import (add_ctr_arguments, aggregate, base_parser,
                                             checkpoint_kwargs, evaluate_ctr_split,
                                             format_table, load_dataset, predict_pairs,
                                             setup_distributed, write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.distributed import current_env
from torch_geometric_kgrec.metrics import ctr_metrics
from torch_geometric_kgrec.nn import KGCN
from torch_geometric_kgrec.protocols import KGNeighborSampler, ctr_split
from torch_geometric_kgrec.train import peak_memory_mb, run_training, seed_everything

KS = (1, 2, 5, 10, 20, 50, 100)
# Hyper-parameters per dataset: Book-Crossing as the KGCN baseline of the semantic
# contrastive-learning paper (Kim et al., 2024, Table 1); Last.FM as the KGCN paper.
DEFAULTS = {
    'book-crossing': dict(neighbors=4, layers=1, dim=64, lr=2e-4, l2=2e-5, batch_size=256,
                          aggregator='concat'),
    'lastfm': dict(neighbors=8, layers=1, dim=16, lr=5e-4, l2=1e-4, batch_size=128,
                   aggregator='sum'),
}
PAPER = {
    'book-crossing': {
        'source': 'Kim et al. (LREC-COLING 2024), KGCN baseline without text: Table 2 '
                  '(AUC, F1) and Table 3 (Recall/NDCG@K); mean of 10 runs',
        'KGCN': {'auc': 0.6923, 'f1': 0.6370,
                 'recall@5': 0.0619, 'recall@10': 0.0741, 'recall@20': 0.0926,
                 'recall@50': 0.1217, 'recall@100': 0.1585,
                 'ndcg@5': 0.0586, 'ndcg@10': 0.0641, 'ndcg@20': 0.0690,
                 'ndcg@50': 0.0760, 'ndcg@100': 0.0825},
    },
    'lastfm': {
        'source': 'Wang et al. (WWW 2019), KGCN-sum on Last.FM (for orientation)',
        'KGCN': {'auc': 0.796, 'acc': 0.721},
    },
}
CTR_COLUMNS = ['auc', 'acc', 'f1']
RANK_TABLES = [[f'{m}@{k}' for k in KS] for m in ('precision', 'recall', 'ndcg')]
PROTOCOL = ('CTR 6:2:2 random split of labelled pairs (ctr_split); BCE; model selection on '
            'validation AUC; test AUC/ACC/F1 over the whole test split (threshold 0.5); '
            'top-K full ranking of all items, training positives masked, test positives as '
            'ground truth; evaluation uses one fixed seeded neighbour sample')


def make_train_epoch(model: KGCN, sampler: KGNeighborSampler, optimizer, train: Tensor,
                     y_train: Tensor, batch_size: int, gen: torch.Generator, seed: int,
                     resample: str = 'epoch') -> Callable[[int], float]:
    r"""One training epoch of this benchmark (also timed by ``ours_speed.py``): the
    epoch's neighbour sample (a fresh seeded draw from epoch 2 on with
    :obj:`resample='epoch'`), then BCE steps over a seeded permutation of the
    labelled training pairs; under torchrun each step trains on this rank's shard of
    the global batch."""
    device = train.device
    env = current_env()
    neighbors = [sampler.sample(torch.Generator(device=device).manual_seed(seed))]

    def train_epoch(epoch: int) -> float:
        if resample == 'epoch' and epoch > 1:
            neighbors[0] = sampler.sample(
                torch.Generator(device=device).manual_seed(seed * 100_003 + epoch))
        model.set_neighbors(*neighbors[0])
        perm = torch.randperm(train.size(1), generator=gen).to(device)
        total = 0.0
        for idx in perm.split(batch_size):
            batch = env.shard(train[0, idx], train[1, idx], y_train[idx])
            optimizer.zero_grad()
            loss = model.loss(*batch, l2_weight=0)
            loss.backward()
            optimizer.step()
            total += env.loss_share(loss.item()) * idx.numel()
        return total / train.size(1)

    return train_epoch


def make_optimizer(model: KGCN, lr: float, l2: float) -> torch.optim.Optimizer:
    r"""Adam with L2 as (coupled) weight decay on :meth:`KGCN.l2_parameters`: the
    gradient of :math:`l_2/2 \cdot \|\Theta\|^2` exactly, without a pass over the
    whole tables in the loss."""
    decay = model.l2_parameters()
    rest = [p for p in model.parameters() if all(p is not q for q in decay)]
    groups = [{'params': decay, 'weight_decay': l2}, {'params': rest}]
    try:
        return torch.optim.Adam(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(groups, lr=lr)


def main() -> None:
    p = base_parser(__doc__, default_dataset='book-crossing',
                    default_epochs=50)
    p.add_argument('--dim', type=int, default=None, help="embedding size d (unset: the paper's value for the dataset)")
    p.add_argument('--neighbors', type=int, default=None, help="sampled neighbours K (unset: the paper's value)")
    p.add_argument('--layers', type=int, default=None, help="receptive-field depth H (unset: the paper's value)")
    p.add_argument('--aggregator', default=None, choices=['sum', 'concat', 'neighbor'],
                   help="KGCN aggregator (unset: the paper's choice for the dataset)")
    p.add_argument('--lr', type=float, default=None,
                   help="Adam learning rate (unset: the paper's value)")
    p.add_argument('--l2', type=float, default=None, help="weight of the L2 penalty (unset: the paper's value)")
    p.add_argument('--batch-size', type=int, default=None,
                   help="labelled pairs per step (unset: the paper's value)")
    p.add_argument('--scaling', default='sum', choices=['sum', 'mean'],
                   help="sum = the paper's equations; mean = the reference code's "
                        "u.r / d and sum(pi e) / K (KGCNConv docstring)")
    p.add_argument('--resample', default='epoch', choices=['epoch', 'once'],
                   help='training neighbours: fresh draw every epoch, or one draw')
    add_ctr_arguments(p)
    args = p.parse_args()
    env = setup_distributed(args)  # torchrun: one rank per process, else a no-op
    for key, value in DEFAULTS.get(args.dataset, DEFAULTS['lastfm']).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    device = torch.device(args.device)

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    num_users, num_items = data['user'].num_nodes, data.num_items
    num_entities = data['entity'].num_nodes
    sampler = KGNeighborSampler.from_data(data, args.neighbors, device)
    print(f'config: K={args.neighbors} H={args.layers} d={args.dim} lr={args.lr} '
          f'l2={args.l2} batch={args.batch_size} aggregator={args.aggregator} '
          f'resample={args.resample} scaling={args.scaling}; '
          f'{sampler.isolated_nodes.numel()} isolated entities '
          'get a self-loop with a padding relation')

    rows, pop_rows, timing, eval_seconds = [], [], [], []
    for seed in range(args.seed, args.seed + args.seeds):
        seed_everything(seed)
        split = ctr_split(data, seed=seed)
        train, val, test = (s.edge_index.to(device) for s in (split.train, split.val,
                                                              split.test))
        y_train, y_val, y_test = (s.label.to(device) for s in (split.train, split.val,
                                                               split.test))
        model = KGCN(num_users, num_entities, sampler.num_relations + 1, num_items,
                     embedding_dim=args.dim, num_neighbors=args.neighbors,
                     num_layers=args.layers, aggregator=args.aggregator,
                     scaling=args.scaling).to(device)
        optimizer = make_optimizer(model, args.lr, args.l2)
        env.attach(model, optimizer)  # data-parallel: gradient all-reduce
        gen = torch.Generator(device='cpu').manual_seed(seed)
        eval_neighbors = sampler.sample(torch.Generator(device=device).manual_seed(
            10_000 + seed))
        train_epoch = make_train_epoch(model, sampler, optimizer, train, y_train,
                                       args.batch_size, gen, seed, args.resample)

        def ctr(pairs, labels):
            model.set_neighbors(*eval_neighbors)
            return ctr_metrics(predict_pairs(model.score, pairs, 8192), labels)

        result = run_training(model, train_epoch, lambda: ctr(val, y_val), args.epochs,
                              monitor='auc', patience=args.patience,
                              progress=not args.no_progress, desc=f'KGCN seed {seed}',
                              state={'optimizer': optimizer, 'generator': gen},
                              **checkpoint_kwargs(args, f'KGCN seed {seed}'))
        model.eval()
        model.set_neighbors(*eval_neighbors)
        metrics, pop_metrics, seconds = evaluate_ctr_split(
            model.score, model.score_all, train, y_train, test, y_test, num_users,
            num_items, KS, args, seed, train_result=result)
        if seconds is not None:
            eval_seconds.append(seconds)
        rows.append(metrics)
        pop_rows.append(pop_metrics)
        timing.append(result.seconds_per_epoch)

    paper = PAPER.get(args.dataset, {})
    results = {'KGCN': {
        'per_seed': rows,
        'mean_std': aggregate(rows),
        'seconds_per_epoch': sum(timing) / len(timing),
        'ranking_seconds': (sum(eval_seconds) / len(eval_seconds)) if eval_seconds else None,
    }, 'Popularity': {'per_seed': pop_rows, 'mean_std': aggregate(pop_rows)}}
    table = {name: r['mean_std'] for name, r in results.items()}
    seeds = f'seeds {args.seed}..{args.seed + args.seeds - 1}'
    print(f'\n{args.dataset} — {PROTOCOL}; {seeds}; {env.world_size} process(es)')
    paper_rows = {'KGCN': paper['KGCN']} if paper else None
    print(format_table(table, CTR_COLUMNS, paper_rows))
    if not args.no_ranking:
        for columns in RANK_TABLES:
            print(format_table(table, columns, paper_rows))
    if paper:
        print(f"paper: {paper['source']}")
    print(f"seconds/epoch: {results['KGCN']['seconds_per_epoch']:.2f} on {device} "
          f'({torch.get_num_threads()} threads); peak memory {peak_memory_mb(device):.0f} MiB')
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 paper=paper, extra={'peak_memory_mb': peak_memory_mb(device)})


if __name__ == '__main__':
    main()
