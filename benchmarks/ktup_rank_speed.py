r"""KTUP / TUP full-ranking evaluation seconds: ``score_all`` before and after issue 13.

"before" re-implements the previous ``score_all`` in this script (per user chunk it
materialises :math:`\alpha\mathbf{P}`, :math:`\alpha\mathbf{W}` by one-hot / softmax
matmuls and both hyperplane projections, several :obj:`[B, I, d]` tensors); "after"
is the library's (one :obj:`[B, I, 2d]` gather or matmul and the projection algebra;
no :obj:`[B, I, d]` tensor at all for :obj:`p_norm=2`). Both rank every item for
every user with a test item of the same split (training items masked) through
:func:`~torch_geometric_kgrec.metrics.evaluate_ranking`, interleaved in one process;
the minimum over repeats is reported. Weights are the initial ones (the cost does not
depend on them); the two versions' metrics are printed to show they agree.

    python benchmarks/ktup_rank_speed.py --dataset lastfm --repeats 3
"""
import time

import torch
import torch.nn.functional as F

from torch_geometric_kgrec.benchmark import (base_parser, load_dataset, refuse_distributed,
                                             write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.metrics import evaluate_ranking
from torch_geometric_kgrec.nn.kge.transh import hyperplane_projection
from torch_geometric_kgrec.nn.models import KTUP
from torch_geometric_kgrec.protocols import ranking_split
from torch_geometric_kgrec.train import seed_everything


def score_all_before(model, users, max_elements=2**23):
    i = model.item_vectors()
    P, W = model.preference_tables()
    i_logits = i @ P.t()
    chunk = max(1, max_elements // max(1, i.size(0) * i.size(1)))
    out = []
    for us in users.split(chunk):
        u = model.user_vectors(us).unsqueeze(1)
        alpha = model.induce(u @ P.t() + i_logits.unsqueeze(0), stochastic=False)
        p = alpha @ P
        w = F.normalize(alpha @ W, p=2, dim=-1)
        diff = hyperplane_projection(u, w) + p - hyperplane_projection(i.unsqueeze(0), w)
        out.append(-diff.norm(p=model.p_norm, dim=-1))
    return torch.cat(out, dim=0)


def main() -> None:
    p = base_parser(__doc__, default_dataset='lastfm',
                    options=('dataset', 'root', 'seed', 'out'))
    p.add_argument('--dim', type=int, default=100, help='embedding size')
    p.add_argument('--batch-size', type=int, default=256, help='users per score_all call')
    p.add_argument('--repeats', type=int, default=3,
                   help='timed repetitions after a warm-up (the median is reported)')
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads')
    args = p.parse_args()
    refuse_distributed('benchmarks/ktup_rank_speed.py')  # times one process: not under torchrun
    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, args.root, link=args.link)
    split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=args.seed)
    U, I = data['user'].num_nodes, data.num_items
    E, R = data['entity'].num_nodes, len(data.relation_names)
    results, lines = {}, []
    for strategy in ('hard', 'soft'):
        for p_norm in (1.0, 2.0):
            seed_everything(args.seed)
            model = KTUP(U, I, E, R, args.dim, strategy=strategy, p_norm=p_norm).eval()
            fns = {'before': lambda us, m=model: score_all_before(m, us),
                   'after': model.score_all}
            times = {k: [] for k in fns}
            metrics = {}
            for _ in range(args.repeats):
                for name, fn in fns.items():
                    t0 = time.perf_counter()
                    with torch.no_grad():
                        metrics[name] = evaluate_ranking(fn, split.test, split.train, U, I,
                                                         ks=(20, ), metrics=('recall', 'ndcg'),
                                                         batch_size=args.batch_size)
                    times[name].append(time.perf_counter() - t0)
            key = f'KTUP-{strategy} p={p_norm:g}'
            best = {k: min(v) for k, v in times.items()}
            results[key] = {'seconds': times, 'min': best, 'metrics': metrics}
            lines.append(f"| {key} | {best['before']:.2f} | {best['after']:.2f} | "
                         f"{best['before'] / best['after']:.1f}x | "
                         f"{metrics['before']['recall@20']:.6f} / "
                         f"{metrics['after']['recall@20']:.6f} |")
            print(lines[-1], flush=True)
    print(f'{args.dataset}: {U} users x {I} items, dim {args.dim}, {R} preferences, batch '
          f'{args.batch_size} users, {torch.get_num_threads()} thread(s); min of '
          f'{args.repeats}')
    print('| model | before s | after s | speed-up | recall@20 before / after |')
    print('\n'.join(lines))
    write_result(args.out, args=args, data_stats=kgrec_stats(data), results=results,
                 protocol='seconds of one full-ranking evaluation (test split)')


if __name__ == '__main__':
    main()
