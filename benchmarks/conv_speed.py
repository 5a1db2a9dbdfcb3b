r"""Speed and memory of one forward + backward pass of the relational KG convolutions
(KMPN issue, item 8): :class:`GatedPathConv` (KMPN eq. 1-2) and :class:`KGINConv`
(KGIN), each through

* ``fused``: the :class:`RelationalAdj` path (triples grouped by (head, relation): one
  CSR matmul + a :math:`P \times d` scatter, no :math:`|E| \times d` intermediate),
  and for KGIN's user update the row-normalised CSR interaction matrix (what
  :class:`KGIN` runs),
* ``pyg``: the layer's :class:`MessagePassing` path on a ``[2, E]`` ``edge_index``
  (gather - multiply - ``torch_geometric.utils.scatter``; users: ``scatter`` mean over
  the ``[2, N]`` interactions),
* ``naive``: a plain-PyTorch reference, ``x[tail] * rel[type]`` -> ``index_add_`` ->
  divide by the degree (plus the gate for KMPN), as KGIN's released code does it with
  ``scatter_mean``,

on SyntheticKG graphs (``generate_synthetic_kg``, planted item -> attribute triples,
Movie-KG-like proportions: 125k users, 50k items, 250k entities and 4M interactions at
12M triples, scaled down linearly) or, with ``--graph powerlaw``, random triples with
seeded power-law (Zipf) head and tail degrees. The triples are used as they are (no
inverse edges), dimension 64, float32.

Every (size, variant) runs in its own subprocess so that the peak memory is its own:
on CPU the growth of the peak RSS (VmHWM, reset before the passes) over the RSS with
the graph and inputs loaded, and the process' peak RSS; on GPU
``torch.cuda.max_memory_allocated`` (growth over the allocated inputs, and total).
Times are the median of ``--repeats`` timed passes after one warm-up: wall seconds
(edges per second are computed from them) and the process' CPU seconds, which on a
shared machine with ``--threads 1`` is the better estimate of the compute time.
torch-scatter / torch-sparse are optional in PyG; if installed, ``--backends`` also
runs every variant with PyG told not to use them.

    nice python benchmarks/conv_speed.py --sizes 100k 1M 3M 12M --out conv-speed.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import torch

from torch_geometric_kgrec.benchmark import base_parser, refuse_distributed, write_result

MOVIE_KG = dict(num_users=125_000, num_items=50_000, num_entities=250_000,
                num_triples=12_000_000, num_interactions=4_000_000)
VARIANTS = ['kgin-fused', 'kgin-pyg', 'kgin-naive', 'gated-fused', 'gated-pyg',
            'gated-naive']
MODEL_STEPS = ['step-kgin', 'step-kgat', 'step-kmpn']
AMAZON_BOOK = dict(num_users=70_679, num_items=24_915, num_entities=88_572,
                   num_relations=39, num_triples=2_557_746, num_interactions=847_733)


def run_model_step(g: Dict, variant: str, repeats: int, dev: torch.device) -> Dict:
    r"""One training step (full-graph loss on a 1024 batch, backward, Adam) of a model
    at the graph's size; KGAT also times a 2048-triple KG step and the attention
    update. Projected epoch time = steps per epoch (80% training interactions / 1024)
    x step time, the quantity KGIN's authors report as 800+ s on Amazon-Book."""
    from torch_geometric_kgrec.nn.models import KGAT, KGIN, KMPN
    gen = torch.Generator().manual_seed(0)
    inter = g['inter']
    train = inter[:, torch.randperm(inter.size(1), generator=gen)[:int(0.8 * inter.size(1))]]
    args = (int(g['num_users']), int(g['num_entities']), int(g['num_items']),
            int(g['num_relations']), g['edge_index'], g['edge_type'], train)
    t0 = time.perf_counter()
    cls = {'step-kgin': KGIN, 'step-kgat': KGAT, 'step-kmpn': KMPN}[variant]
    model = cls(*args).to(dev)
    build = time.perf_counter() - t0
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    train = train.to(dev)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    times, cpu, extra = [], [], {}
    for it in range(repeats + 1):
        idx = torch.randint(0, train.size(1), (1024, ), generator=gen).to(dev)
        neg = torch.randint(0, int(g['num_items']), (1024, ), generator=gen).to(dev)
        sync()
        t, c = time.perf_counter(), time.process_time()
        opt.zero_grad()
        model.loss(train[0, idx], train[1, idx], neg).backward()
        opt.step()
        sync()
        if it > 0:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    if variant == 'step-kgat':
        t = time.perf_counter()
        for _ in range(repeats):
            opt.zero_grad()
            model.kg_loss(*model.sample_kg_batch(2048, gen)).backward()
            opt.step()
        sync()
        extra['kg_step_seconds'] = (time.perf_counter() - t) / repeats
        t = time.perf_counter()
        model.update_attention()
        sync()
        extra['attention_update_seconds'] = time.perf_counter() - t
        extra['kg_steps_per_epoch'] = model.ckg_edge_type.numel() // 2048 + 1
    sec = statistics.median(times)
    steps = train.size(1) // 1024 + 1
    return dict(variant=variant, seconds=sec, cpu_seconds=statistics.median(cpu),
                times=times, build_seconds=build, steps_per_epoch=steps,
                projected_cf_epoch_seconds=steps * sec,
                projected_cf_epoch_cpu_seconds=steps * statistics.median(cpu), **extra)


def parse_size(s: str) -> int:
    s = s.lower().replace('_', '')
    mult = {'k': 1_000, 'm': 1_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if s[-1] in 'km' else s) * mult)


def make_graph(num_triples: int, num_relations: int, kind: str, seed: int) -> Dict:
    scale = num_triples / MOVIE_KG['num_triples']
    U = max(200, int(MOVIE_KG['num_users'] * scale))
    I = max(100, int(MOVIE_KG['num_items'] * scale))
    E = max(I + 4 * num_relations, int(MOVIE_KG['num_entities'] * scale))
    N = min(max(U, int(MOVIE_KG['num_interactions'] * scale)), U * I // 2)
    if kind == 'synthetic':
        from torch_geometric_kgrec.datasets.synthetic import generate_synthetic_kg
        E = max(E, I + 2 * num_triples // I + num_relations)  # the generator's bound
        data = generate_synthetic_kg(num_users=U, num_items=I, num_entities=E,
                                     num_relations=num_relations, num_triples=num_triples,
                                     num_interactions=N, seed=seed)
        kg = data['entity', 'kg', 'entity']
        return dict(edge_index=kg.edge_index, edge_type=kg.edge_type,
                    inter=data['user', 'interacts', 'entity'].edge_index,
                    num_users=U, num_items=I, num_entities=E)
    g = torch.Generator().manual_seed(seed)

    def zipf(n, size, alpha=0.8):
        p = torch.arange(1, n + 1, dtype=torch.float).pow(-alpha)
        idx = torch.multinomial(p, size, replacement=True, generator=g)
        return torch.randperm(n, generator=g)[idx]

    return dict(edge_index=torch.stack([zipf(E, num_triples), zipf(E, num_triples)]),
                edge_type=zipf(num_relations, num_triples, 1.0),
                inter=torch.stack([torch.randint(0, U, (N, ), generator=g),
                                   zipf(I, N)]),
                num_users=U, num_items=I, num_entities=E)


def status_mb(field: str) -> float:
    r"""A memory field of /proc/self/status (VmRSS: resident now, VmHWM: peak)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    return float('nan')


def reset_peak_rss() -> None:
    r"""Reset VmHWM to the current RSS (Linux >= 4.0), so that the peak measured next
    belongs to the forward/backward passes only."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass


def run_worker(path: str, variant: str, dim: int, repeats: int, device: str,
               no_extensions: bool, threads: int = None) -> Dict:
    if threads:
        torch.set_num_threads(threads)
    import torch_geometric.typing as pyg_typing
    if no_extensions:
        pyg_typing.WITH_TORCH_SCATTER = False
        pyg_typing.WITH_TORCH_SPARSE = False
    from torch_geometric_kgrec.nn.conv import GatedPathConv, KGINConv, RelationalAdj

    g = torch.load(path)
    dev = torch.device(device)
    R, E = int(g['num_relations']), int(g['num_entities'])
    edge_index, edge_type = g['edge_index'].to(dev), g['edge_type'].to(dev)
    inter = g['inter'].to(dev)
    torch.manual_seed(0)
    x = torch.randn(E, dim, device=dev, requires_grad=True)
    x_user = torch.randn(int(g['num_users']), dim, device=dev, requires_grad=True)
    rel = torch.randn(R, dim, device=dev, requires_grad=True)
    if variant.startswith('step-'):
        out = run_model_step(g, variant, repeats, dev)
        out['peak_total_mb'] = (torch.cuda.max_memory_allocated(dev) / 2**20
                                if dev.type == 'cuda' else status_mb('VmHWM'))
        return out
    model, path_kind = variant.split('-')

    t0 = time.perf_counter()
    graph = edge_index
    if path_kind == 'fused':
        graph = RelationalAdj.from_edge_index(edge_index, edge_type, E, R)
        graph.perm = None
        graph.csr()
    user_graph = inter
    if path_kind == 'fused':  # as KGIN does: row-normalised CSR interaction matrix
        from torch_geometric_kgrec.nn.conv.relational_adj import csr_tensor
        U = x_user.size(0)
        order = torch.argsort(inter[0] * E + inter[1])
        user, item = inter[0, order], inter[1, order]
        count = torch.bincount(user, minlength=U)
        crow = torch.zeros(U + 1, dtype=torch.long, device=dev)
        torch.cumsum(count, 0, out=crow[1:])
        user_graph = csr_tensor(crow, item, count.clamp(min=1)[user].float().reciprocal(),
                                (U, int(g['num_items'])))
    build = time.perf_counter() - t0
    deg = torch.bincount(edge_index[0], minlength=E).clamp(min=1).float().unsqueeze(1)
    head, tail = edge_index
    conv_kgin = KGINConv(dim, R).to(dev)
    conv_gated = GatedPathConv(dim).to(dev)

    def step():
        if model == 'kgin':
            if path_kind == 'naive':
                msg = x[tail] * conv_kgin.relation_emb[edge_type]
                out = torch.zeros_like(x).index_add_(0, head, msg)
                out = out / deg
                user, item = inter
                mean = torch.zeros_like(x_user).index_add_(0, user, x[item])
                count = torch.bincount(user, minlength=x_user.size(0)).clamp(min=1)
                mean = mean / count.unsqueeze(1)
                intent = torch.softmax(conv_kgin.intent_weight, -1) @ conv_kgin.relation_emb
                out_user = mean * (torch.softmax(x_user @ intent.t(), -1) @ intent)
            else:
                out, out_user = conv_kgin(x, x_user, graph, edge_type, user_graph)
            loss = out.pow(2).sum() + out_user.pow(2).sum()
        else:
            if path_kind == 'naive':
                r = rel[edge_type]
                gate = torch.sigmoid((x[head] * r).sum(-1, keepdim=True))
                out = torch.zeros_like(x).index_add_(0, head, gate * r * x[tail]) / deg
            else:
                out = conv_gated(x, graph, edge_type, relation_emb=rel)
            loss = out.pow(2).sum()
        loss.backward()
        for p in (x, x_user, rel, *conv_kgin.parameters()):
            p.grad = None
        return out

    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev) / 2**20
    else:
        reset_peak_rss()
        base = status_mb('VmRSS')
    step()  # warm-up
    sync()
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        step()
        sync()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if dev.type == 'cuda':
        total = torch.cuda.max_memory_allocated(dev) / 2**20
    else:
        total = status_mb('VmHWM')
    sec = statistics.median(times)
    return dict(variant=variant, seconds=sec, edges_per_second=edge_type.numel() / sec,
                cpu_seconds=statistics.median(cpu), times=times, peak_extra_mb=total - base,
                peak_total_mb=total, build_seconds=build,
                num_pairs=graph.num_pairs if path_kind == 'fused' else None,
                no_extensions=no_extensions, threads=torch.get_num_threads())


def main() -> None:
    p = base_parser(
        'Speed and memory of one forward + backward pass of GatedPathConv (KMPN eq. 1-2) '
        'and KGINConv (KGIN): fused, PyG and naive implementations on synthetic graphs '
        '(see the module docstring).', options=('device', 'seed', 'out'))
    p.add_argument('--sizes', nargs='+', default=['100k', '1M', '3M', '12M'],
                   help='numbers of KG triples (e.g. 100k 1M 12M)')
    p.add_argument('--graph', choices=['synthetic', 'powerlaw'], default='synthetic',
                   help='SyntheticKG (planted item -> attribute triples) or random '
                   'triples with power-law head and tail degrees')
    p.add_argument('--num-relations', type=int, default=12, help='relations of the graph')
    p.add_argument('--dim', type=int, default=64, help='embedding size')
    p.add_argument('--repeats', type=int, default=3,
                   help='timed passes after one warm-up (the median is reported)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch intra-op threads in the workers (default: torch default)')
    p.add_argument('--variants', nargs='+', default=VARIANTS, choices=VARIANTS + MODEL_STEPS,
                   help='implementations to time (see the module docstring)')
    p.add_argument('--amazon-book-steps', nargs='*', default=None, choices=MODEL_STEPS,
                   help='instead of the conv sweep: time training steps of these models '
                   'on a SyntheticKG with the statistics of Amazon-Book (KGIN/KGAT/KMPN)')
    p.add_argument('--backends', action='store_true',
                   help='also run without torch-scatter / torch-sparse (if installed)')
    p.add_argument('--max-naive', default='100M',
                   help='skip the naive/pyg variants above this many triples')
    p.add_argument('--worker', nargs=2, metavar=('GRAPH', 'VARIANT'),
                   help=argparse.SUPPRESS)  # internal: one measurement
    p.add_argument('--no-extensions', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args()
    refuse_distributed('benchmarks/conv_speed.py')  # times one process: not under torchrun
    if args.worker:
        print(json.dumps(run_worker(args.worker[0], args.worker[1], args.dim, args.repeats,
                                    args.device, args.no_extensions, args.threads)))
        return

    import torch_geometric.typing as pyg_typing
    ext = {'torch_scatter': pyg_typing.WITH_TORCH_SCATTER,
           'torch_sparse': pyg_typing.WITH_TORCH_SPARSE}
    backends = [False] + ([True] if args.backends and any(ext.values()) else [])
    print(f"torch {torch.__version__}, threads {args.threads or torch.get_num_threads()}, "
          f"device {args.device}, load average {os.getloadavg()}, extensions {ext}")
    if args.backends and not any(ext.values()):
        print('torch-scatter / torch-sparse are not installed: only the native PyTorch '
              'kernels were measured')
    rows: List[Dict] = []
    tmp = tempfile.mkdtemp(prefix='conv_speed_')
    if args.amazon_book_steps is not None:
        from torch_geometric_kgrec.datasets.synthetic import generate_synthetic_kg
        data = generate_synthetic_kg(**AMAZON_BOOK, seed=args.seed)
        kg = data['entity', 'kg', 'entity']
        path = os.path.join(tmp, 'amazon_book_like.pt')
        torch.save(dict(edge_index=kg.edge_index, edge_type=kg.edge_type,
                        inter=data['user', 'interacts', 'entity'].edge_index,
                        **{k: v for k, v in AMAZON_BOOK.items()
                           if k not in ('num_triples', 'num_interactions')}), path)
        print(f'SyntheticKG with Amazon-Book statistics {AMAZON_BOOK}')
        for variant in args.amazon_book_steps or MODEL_STEPS:
            cmd = [sys.executable, os.path.abspath(__file__), '--worker', path, variant,
                   '--repeats', str(args.repeats), '--device', args.device] + \
                (['--threads', str(args.threads)] if args.threads else [])
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                row = dict(variant=variant, error=(res.stderr.strip().splitlines() or
                                                   ['killed'])[-1])
                print(f"  {variant}: FAILED {row['error']}")
            else:
                row = json.loads(res.stdout.strip().splitlines()[-1])
                print(f"  {variant}: {row['seconds']:.2f} s (CPU {row['cpu_seconds']:.2f} s) "
                      f"per CF step (1024 pairs, full graph), {row['steps_per_epoch']} "
                      f"steps -> {row['projected_cf_epoch_seconds']:.0f} s (CPU "
                      f"{row['projected_cf_epoch_cpu_seconds']:.0f} s) per CF epoch; process "
                      f"peak {row['peak_total_mb']:.0f} MiB"
                      + (f"; KG step {row['kg_step_seconds']:.3f} s x "
                         f"{row['kg_steps_per_epoch']}, attention update "
                         f"{row['attention_update_seconds']:.1f} s"
                         if 'kg_step_seconds' in row else ''))
            rows.append(row)
        os.remove(path)
        os.rmdir(tmp)
        write_result(args.out, args=args, data_stats=dict(AMAZON_BOOK, graph='synthetic'),
                     results={'rows': rows}, protocol='training steps (batch 1024, '
                     f'median of {args.repeats} after a warm-up)',
                     extra={'load_average': os.getloadavg()})
        return
    for size in args.sizes:
        T = parse_size(size)
        t0 = time.perf_counter()
        g = make_graph(T, args.num_relations, args.graph, args.seed)
        g['num_relations'] = args.num_relations
        gen = time.perf_counter() - t0
        path = os.path.join(tmp, f'g{T}.pt')
        torch.save(g, path)
        print(f"\n{T:,} triples ({args.graph}, {g['num_entities']:,} entities, "
              f"{g['num_users']:,} users, {g['inter'].size(1):,} interactions; "
              f"generated in {gen:.1f} s)")
        del g
        for no_ext in backends:
            for variant in args.variants:
                if not variant.endswith('fused') and T > parse_size(args.max_naive):
                    continue
                cmd = [sys.executable, os.path.abspath(__file__), '--worker', path, variant,
                       '--dim', str(args.dim), '--repeats', str(args.repeats),
                       '--device', args.device] + (['--no-extensions'] if no_ext else []) + \
                    (['--threads', str(args.threads)] if args.threads else [])
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    msg = (res.stderr.strip().splitlines() or ['killed'])[-1]
                    row = dict(variant=variant, error=f'rc={res.returncode}: {msg}')
                else:
                    row = json.loads(res.stdout.strip().splitlines()[-1])
                row.update(num_triples=T, graph=args.graph)
                rows.append(row)
                if 'error' in row:
                    print(f"  {variant:12s} FAILED {row['error']}")
                else:
                    print(f"  {variant:12s}{' (no ext)' if no_ext else ''} "
                          f"{row['seconds']:8.3f} s (CPU {row['cpu_seconds']:7.3f} s)  "
                          f"{row['edges_per_second'] / 1e6:6.2f} M edges/s  "
                          f"peak +{row['peak_extra_mb']:7.0f} MiB "
                          f"(process {row['peak_total_mb']:7.0f} MiB)"
                          + (f"  (build {row['build_seconds']:.2f} s, "
                             f"{row['num_pairs']:,} pairs)" if row['num_pairs'] else ''))
        os.remove(path)
    os.rmdir(tmp)
    write_result(args.out, args=args, data_stats={'graph': args.graph,
                                                  'sizes': args.sizes},
                 results={'rows': rows}, protocol='one forward + backward pass, median of '
                 f'{args.repeats} after a warm-up, dim {args.dim}, float32',
                 extra={'load_average': os.getloadavg(), 'extensions': ext})


if __name__ == '__main__':
    main()
