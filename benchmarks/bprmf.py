r"""BPRMF and popularity under the top-K full-ranking protocol.

Protocol: per-user random 8:1:1 split of the positives (``ranking_split``), training
negatives drawn uniformly from each user's non-*training* items, model selection on
validation Recall@20 (training items masked), test metrics over all items with the
user's training and validation items masked.

    python benchmarks/bprmf.py --dataset lastfm --out bprmf-lastfm.json
    torchrun --standalone --nproc_per_node 2 benchmarks/bprmf.py --dataset lastfm

Under ``torchrun`` every rank draws the same seeded permutation and negatives, trains on
its shard of each global batch of ``--batch-size`` (gradients all-reduced), the
evaluation is sharded, and rank 0 prints and writes the JSON (with the world size).
"""
import torch

from torch_geometric_kgrec.benchmark import (add_checkpoint_arguments, aggregate, base_parser,
                                             checkpoint_kwargs, format_table, load_dataset,
                                             setup_distributed, write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.metrics import evaluate_ranking
from torch_geometric_kgrec.nn import BPRMF, Popularity
from torch_geometric_kgrec.protocols import UniformNegativeSampler, ranking_split
from torch_geometric_kgrec.train import peak_memory_mb, run_training, seed_everything

KS = (10, 20, 50)
COLUMNS = [f'{m}@{k}' for k in (20, 50) for m in ('recall', 'ndcg', 'precision', 'hit_ratio')]
PROTOCOL = ('top-K full ranking: per-user random 8:1:1 split of positives; uniform training '
            'negatives from non-training items; early stopping on validation recall@20; '
            'test ranks all items with training+validation items masked')


def main() -> None:
    p = base_parser(__doc__, default_epochs=200)
    p.add_argument('--dim', type=int, default=64, help='embedding size')
    p.add_argument('--lr', type=float, default=1e-3, help='Adam learning rate')
    p.add_argument('--l2', type=float, default=1e-4,
                   help='weight of the L2 penalty on the batch embeddings')
    p.add_argument('--batch-size', type=int, default=1024,
                   help='(user, positive, negative) triples per step')
    p.add_argument('--patience', type=int, default=5,
                   help='validations without recall@20 improvement before stopping')
    p.add_argument('--eval-every', type=int, default=5,
                   help='validate every this many epochs')
    add_checkpoint_arguments(p)
    args = p.parse_args()
    env = setup_distributed(args)  # torchrun: one rank per process, else a no-op
    device = torch.device(args.device)

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    num_users, num_items = data['user'].num_nodes, data.num_items

    per_seed = {'Popularity': [], 'BPRMF': []}
    timing = {'Popularity': [], 'BPRMF': []}
    for seed in range(args.seed, args.seed + args.seeds):
        seed_everything(seed)
        split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=seed)
        train, val, test = (e.to(device) for e in (split.train, split.val, split.test))
        train_val = torch.cat([train, val], dim=1)

        def test_metrics(model):
            return evaluate_ranking(model.score_all, test, train_val, num_users, num_items,
                                    ks=KS, device=device, progress=not args.no_progress)

        pop = Popularity(num_items, train).to(device)
        per_seed['Popularity'].append(test_metrics(pop))

        model = BPRMF(num_users, num_items, args.dim).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        env.attach(model, optimizer)  # data-parallel: same start, gradient all-reduce
        sampler = UniformNegativeSampler(train, num_users, num_items)
        gen = torch.Generator(device='cpu').manual_seed(seed)

        def train_epoch(epoch: int) -> float:
            perm = torch.randperm(train.size(1), generator=gen).to(device)
            # one call per epoch (vectorised), sliced per batch
            negatives = sampler.sample(train[0], generator=gen).view(-1).to(device)
            total = 0.0
            for idx in perm.split(args.batch_size):
                users, pos, neg = env.shard(train[0, idx], train[1, idx], negatives[idx])
                optimizer.zero_grad()
                loss = model.loss(users, pos, neg, reg_weight=args.l2)
                loss.backward()
                optimizer.step()
                total += env.loss_share(loss.item()) * idx.numel()
            return total / train.size(1)

        def validate():
            return evaluate_ranking(model.score_all, val, train, num_users, num_items,
                                    ks=(20, ), device=device)

        result = run_training(model, train_epoch, validate, args.epochs, monitor='recall@20',
                              patience=args.patience, eval_every=args.eval_every,
                              progress=not args.no_progress, desc=f'BPRMF seed {seed}',
                              state={'optimizer': optimizer, 'generator': gen},
                              **checkpoint_kwargs(args, f'BPRMF seed {seed}'))
        metrics = test_metrics(model)
        metrics['best_epoch'] = result.best_epoch
        per_seed['BPRMF'].append(metrics)
        timing['BPRMF'].append(result.seconds_per_epoch)

    results = {}
    for name, rows in per_seed.items():
        results[name] = {
            'per_seed': rows,
            'mean_std': aggregate(rows),
            'seconds_per_epoch': (sum(timing[name]) / len(timing[name])) if timing[name] else None,
        }
    print(f'\n{args.dataset} — {PROTOCOL}; seeds {args.seed}..{args.seed + args.seeds - 1}; '
          f'{env.world_size} process(es)')
    print(format_table({n: r['mean_std'] for n, r in results.items()}, COLUMNS))
    if timing['BPRMF']:
        print(f"BPRMF seconds/epoch: {results['BPRMF']['seconds_per_epoch']:.3f} "
              f'on {device}; peak memory {peak_memory_mb(device):.0f} MiB')
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 extra={'peak_memory_mb': peak_memory_mb(device)})


if __name__ == '__main__':
    main()
