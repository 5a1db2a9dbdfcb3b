r"""Quick start: knowledge-graph-enhanced recommenders (KGIN, KMPN) against a plain
collaborative-filtering model (BPRMF) and popularity on Last.FM, offline, in about two
minutes on a laptop CPU.

All models get equal conditions: the same seeded per-user 8:1:1 split of the positives
(``ranking_split``), the same budget (``--epochs`` epochs, batch ``--batch-size``,
Adam with ``--lr``, embedding size ``--dim``), BPR training with one negative per
positive from the user's non-training items (uniform; KMPN: its reciprocal-ratio
sampler, eq. 9 of CKMPN), early stopping on validation Recall@20, and a test that ranks
all items with the user's training and validation items masked. Popularity ranks items
by their number of training positives. The papers' numbers printed beside ours are
CKMPN Table 2 on Amazon-Book-Extended, a different dataset: for orientation only. The
budget is far below the papers' (hundreds of epochs): a quick start, not a
reproduction (see ``benchmarks/kmpn.py`` for that).

    KGREC_DATA=../shared/data python benchmarks/quickstart.py
    KGREC_DATA=../shared/data torchrun --standalone --nproc_per_node 2 benchmarks/quickstart.py

(under ``torchrun`` data-parallel as ``kmpn.py``: every rank trains on its shard of each
global batch, evaluation is sharded, rank 0 prints and writes the JSON.)
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kmpn import PAPER, Ctx, add_model_arguments, fit  # noqa: E402  (shared with kmpn.py)

from torch_geometric_kgrec.benchmark import (add_checkpoint_arguments, aggregate,  # noqa
                                             base_parser, format_table, load_dataset,
                                             setup_distributed, write_result)
from torch_geometric_kgrec.datasets import kgrec_stats  # noqa: E402
from torch_geometric_kgrec.metrics import evaluate_ranking  # noqa: E402
from torch_geometric_kgrec.nn import Popularity  # noqa: E402
from torch_geometric_kgrec.protocols import (ReciprocalRatioNegativeSampler,  # noqa: E402
                                             UniformNegativeSampler, ranking_split)
from torch_geometric_kgrec.train import peak_memory_mb  # noqa: E402

KS = (20, 60, 100)
COLUMNS = [f'{m}@{k}' for m in ('recall', 'ndcg', 'hit_ratio') for k in KS]
MODELS = ['BPRMF', 'KGIN', 'KMPN']
PROTOCOL = ('top-K full ranking: per-user random 8:1:1 split of positives; one BPR negative '
            'per positive from the non-training items; equal budget for every model; early '
            'stopping on validation recall@20; test ranks all items with training+validation '
            'items masked')


def main() -> None:
    p = base_parser(__doc__, default_dataset='lastfm', default_epochs=30)
    add_model_arguments(p, lr=5e-3, batch_size=4096, eval_every=3, patience=2)
    add_checkpoint_arguments(p)
    args = p.parse_args()
    env = setup_distributed(args)  # torchrun: one rank per process, else a no-op
    device = torch.device(args.device)
    t_start = time.perf_counter()

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    num_users, num_items = data['user'].num_nodes, data.num_items

    per_seed = {n: [] for n in ['Popularity'] + MODELS}
    seconds = {n: [] for n in MODELS}
    for seed in range(args.seed, args.seed + args.seeds):
        split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=seed)
        ctx = Ctx(data, split, args, device)
        train, val, test = ctx.train, split.val.to(device), split.test.to(device)
        train_val = torch.cat([train, val], dim=1)

        def test_metrics(score_all):
            return evaluate_ranking(score_all, test, train_val, num_users, num_items, ks=KS,
                                    metrics=('recall', 'ndcg', 'hit_ratio'), device=device,
                                    progress=not args.no_progress)

        per_seed['Popularity'].append(test_metrics(Popularity(num_items, train).to(device)
                                                   .score_all))
        samplers = {
            'uniform': UniformNegativeSampler(train, num_users, num_items),
            'reciprocal': ReciprocalRatioNegativeSampler(train, num_users, num_items),
        }
        for name in MODELS:
            model, result = fit(name, ctx, samplers, val, args.epochs, seed)
            model.eval()
            with torch.no_grad():
                metrics = test_metrics(model.score_all)
            metrics.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run)
            per_seed[name].append(metrics)
            seconds[name].append(result.seconds_per_epoch)
            print(f"{name} seed {seed}: recall@20 {metrics['recall@20']:.4f} (best epoch "
                  f"{result.best_epoch}/{result.epochs_run}, {result.seconds_per_epoch:.2f} "
                  's/epoch)', flush=True)

    results = {n: {'per_seed': rows, 'mean_std': aggregate(rows),
                   'seconds_per_epoch': (sum(seconds[n]) / len(seconds[n])
                                         if seconds.get(n) else None)}
               for n, rows in per_seed.items()}
    wall = time.perf_counter() - t_start
    print(f'\n{args.dataset} — {PROTOCOL}; seeds {args.seed}..{args.seed + args.seeds - 1}; '
          f'{args.epochs} epochs max; {device}, {torch.get_num_threads()} torch threads, '
          f'{env.world_size} process(es); '
          f'{wall:.0f} s in all')
    print(format_table({n: r['mean_std'] for n, r in results.items()}, COLUMNS))
    print('\nCKMPN Table 2 (Amazon-Book-Extended, a DIFFERENT dataset, hundreds of epochs; '
          'for orientation only):')
    print(format_table({n: {m: {'mean': v, 'std': 0.0, 'n': 1} for m, v in PAPER[n].items()}
                        for n in MODELS}, COLUMNS))
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 paper={n: PAPER[n] for n in MODELS},
                 extra={'peak_memory_mb': peak_memory_mb(device), 'wall_seconds': wall})


if __name__ == '__main__':
    main()
