r"""Speed of the samplers at Amazon-Book scale (one epoch of training negatives, the KGCN
receptive field over a 2.5M-triple KG, the splits).

Data: by default synthetic and seeded, with the statistics of Amazon-Book as used by
KGAT / KGIN / CKMPN (70,679 users, 24,915 items, 847,733 interactions; KG with 88,572
entities, 39 relations, 2,557,746 triples), power-law (Zipf) item popularity, log-normal
user activity and power-law KG degrees. ``--dataset amazon-book`` uses the real data
through ``load_dataset`` instead (when its files are available).

    nice python benchmarks/sampling_speed.py --epochs 5 --out sampling-speed.json

Reports seconds per epoch (median over ``--epochs`` timed repetitions after one warm-up)
and samples per second, with the machine it ran on.
"""
import os
import statistics
import time
from typing import Callable, Dict

import torch

from torch_geometric_kgrec.benchmark import base_parser, refuse_distributed, write_result
from torch_geometric_kgrec.protocols import (KGNeighborSampler,
                                             ReciprocalRatioNegativeSampler,
                                             UniformNegativeSampler, ranking_split,
                                             sampled_ranking_negatives)
from torch_geometric_kgrec.train import machine_info

AMAZON_BOOK = dict(num_users=70_679, num_items=24_915, num_interactions=847_733,
                   num_entities=88_572, num_relations=39, num_triples=2_557_746)


def zipf_probs(n: int, alpha: float, gen: torch.Generator) -> torch.Tensor:
    p = torch.arange(1, n + 1, dtype=torch.float64).pow(-alpha)
    return (p / p.sum())[torch.randperm(n, generator=gen)]


def synthetic_interactions(num_users: int, num_items: int, target: int, seed: int,
                           alpha: float = 1.0) -> torch.Tensor:
    r"""Unique (user, item) pairs: log-normal user activity (at least 1), Zipf item
    popularity; a few vectorised top-up rounds reach ``target`` pairs."""
    gen = torch.Generator().manual_seed(seed)
    activity = torch.exp(torch.randn(num_users, generator=gen, dtype=torch.float64))
    item_p = zipf_probs(num_items, alpha, gen)
    keys = torch.empty(0, dtype=torch.long)
    for _ in range(20):  # top-up rounds, each vectorised
        missing = target - keys.numel()
        if missing <= 0:
            break
        n = int(missing * 1.15) + 1000
        users = torch.multinomial(activity, n, replacement=True, generator=gen)
        items = torch.multinomial(item_p, n, replacement=True, generator=gen)
        keys = torch.unique(torch.cat([keys, users * num_items + items]))
    keys = keys[torch.randperm(keys.numel(), generator=gen)[:target]].sort()[0]
    return torch.stack([keys // num_items, keys % num_items])


def synthetic_kg(num_entities: int, num_relations: int, num_triples: int, seed: int,
                 alpha: float = 0.8):
    gen = torch.Generator().manual_seed(seed)
    p = zipf_probs(num_entities, alpha, gen)
    head = torch.multinomial(p, num_triples, replacement=True, generator=gen)
    tail = torch.multinomial(p, num_triples, replacement=True, generator=gen)
    rel = torch.randint(0, num_relations, (num_triples, ), generator=gen)
    return torch.stack([head, tail]), rel


def timeit(fn: Callable[[], object], repeats: int, device: torch.device) -> Dict[str, float]:
    def run():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        return time.perf_counter() - t

    run()  # warm-up
    times = [run() for _ in range(repeats)]
    return {'median_s': statistics.median(times), 'min_s': min(times), 'max_s': max(times),
            'repeats': repeats}


def main() -> None:
    p = base_parser(__doc__, default_dataset='synthetic', default_epochs=5,
                    options=('dataset', 'root', 'device', 'seed', 'epochs', 'out'))
    p.add_argument('--num-neighbors', type=int, default=4, help='K of the KG sampler')
    p.add_argument('--num-negatives-sampled', type=int, default=999,
                   help='N of the sampled-ranking protocol (MeKB-Rec)')
    p.add_argument('--batch-size', type=int, default=1024,
                   help='also time the epoch drawn batch by batch, as a training loop does')
    p.add_argument('--sampled-rows', type=int, default=10_000,
                   help='held-out positives for the sampled-ranking timing')
    p.add_argument('--threads', type=int, default=None,
                   help='torch.set_num_threads (default: torch default); on a busy shared '
                   'machine 1 thread avoids OpenMP oversubscription stalls')
    args = p.parse_args()
    refuse_distributed('benchmarks/sampling_speed.py')  # times one process: not under torchrun
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    if args.dataset == 'synthetic':
        s = AMAZON_BOOK
        U, I = s['num_users'], s['num_items']
        pos = synthetic_interactions(U, I, s['num_interactions'], args.seed)
        kg_index, kg_type = synthetic_kg(s['num_entities'], s['num_relations'],
                                         s['num_triples'], args.seed + 1)
        num_entities = s['num_entities']
        source = ('synthetic, Amazon-Book statistics (Zipf alpha=1.0 items, log-normal '
                  'users, Zipf alpha=0.8 KG degrees), seed ' + str(args.seed))
    else:
        from torch_geometric_kgrec.benchmark import load_dataset
        data = load_dataset(args.dataset, args.root, link=args.link)
        U, I = data['user'].num_nodes, data.num_items
        pos = data['user', 'interacts', 'entity'].edge_index
        kg_index = data['entity', 'kg', 'entity'].edge_index
        kg_type = data['entity', 'kg', 'entity'].edge_type
        num_entities = data['entity'].num_nodes
        source = f'{args.dataset} from {args.root}'
    gen_s = time.perf_counter() - t0
    item_deg = torch.bincount(pos[1], minlength=I)
    stats = {
        'source': source, 'num_users': U, 'num_items': I,
        'num_interactions': pos.size(1), 'num_entities': num_entities,
        'num_triples': kg_index.size(1),
        'item_degree_max': int(item_deg.max()), 'item_degree_median': float(
            item_deg.double().median()), 'items_without_interaction': int((item_deg == 0).sum()),
    }
    print(f'data ({gen_s:.1f}s to build): {stats}')
    info = machine_info(device)
    info['load_average_1_5_15min'] = os.getloadavg()  # other processes sharing the CPU
    print(f'machine: {info}')

    pos = pos.to(device)
    users = pos[0]  # one negative per positive = one epoch of BPR negatives
    gen = torch.Generator(device=device).manual_seed(args.seed)
    results = {}

    def report(name, n_samples, res, build_s=None):
        res['samples'] = n_samples
        res['samples_per_s'] = n_samples / res['median_s']
        if build_s is not None:
            res['build_s'] = build_s
        results[name] = res
        extra = f', built in {build_s:.3f}s' if build_s is not None else ''
        print(f"{name:<42s} {res['median_s']:8.3f}s/epoch (min {res['min_s']:.3f}, max "
              f"{res['max_s']:.3f})  {res['samples_per_s'] / 1e6:7.2f}M samples/s{extra}")

    t = time.perf_counter()
    uniform = UniformNegativeSampler(pos, U, I)
    build = time.perf_counter() - t
    report('uniform negatives (1 per positive)', users.numel(),
           timeit(lambda: uniform.sample(users, 1, generator=gen), args.epochs, device), build)

    t = time.perf_counter()
    recip = ReciprocalRatioNegativeSampler(pos, U, I)
    build = time.perf_counter() - t
    report('reciprocal-ratio negatives (1 per positive)', users.numel(),
           timeit(lambda: recip.sample(users, 1, generator=gen), args.epochs, device), build)

    batches = users[torch.randperm(users.numel(), generator=torch.Generator().manual_seed(
        args.seed)).to(device)].split(args.batch_size)
    for name, sampler in (('uniform', uniform), ('reciprocal-ratio', recip)):
        report(f'{name} negatives, batches of {args.batch_size}', users.numel(),
               timeit(lambda: [sampler.sample(b, 1, generator=gen) for b in batches],
                      args.epochs, device))

    t = time.perf_counter()
    kg = KGNeighborSampler(kg_index.to(device), kg_type.to(device), num_entities,
                           args.num_neighbors)
    build = time.perf_counter() - t
    report(f'KG neighbours (K={args.num_neighbors}, all entities)',
           num_entities * args.num_neighbors,
           timeit(lambda: kg.sample(generator=gen), args.epochs, device), build)

    # protocols (run once per experiment; CPU)
    pos_cpu = pos.cpu()
    split_res = timeit(lambda: ranking_split(pos_cpu, seed=args.seed, num_users=U,
                                             num_items=I), args.epochs, torch.device('cpu'))
    report('ranking_split 8:1:1 (per experiment)', pos.size(1), split_res)
    rows = pos_cpu[0, torch.randperm(pos.size(1),
                                     generator=torch.Generator().manual_seed(args.seed))
                   [:args.sampled_rows]]
    n_neg = args.num_negatives_sampled
    report(f'sampled-ranking negatives ({args.sampled_rows} x {n_neg})',
           rows.numel() * n_neg,
           timeit(lambda: sampled_ranking_negatives(pos_cpu, rows, I, n_neg, seed=args.seed),
                  args.epochs, torch.device('cpu')))

    print(f'load average at the end: {os.getloadavg()}')
    write_result(args.out, args=args, data_stats=stats, results=results,
                 protocol='timing of samplers/protocols; median of --epochs repetitions '
                 'after one warm-up', extra={'machine_at_start': info})


if __name__ == '__main__':
    main()
