r"""MeKB-Rec (MeKB + EmbedMe) against popularity, an ID-only dual encoder (YoutubeDNN
spirit), CMF and EMCDR on a real cross-domain dataset, overall and per user-activity
bucket (MeKB-Rec Table 1 and Table 5), plus an ablation of the MeKB score and a case
study of one zero-shot user.

Protocol (MeKB-Rec Sec. 4.2, ``torch_geometric_kgrec.protocols.cdr_split``): 20% of the
overlapped users put entirely into the target-domain test set (zero-shot users), the
other target-domain records split 8:1:1 at random; per test (validation) user one held-
out positive ranked against 999 sampled target items the user never interacted with
(HR@10, NDCG@10, ties pessimistic); buckets by the user's number of target-domain
training records: zero-shot [0], few-shot [1, 10), multi-shot [10, inf) (Table 5).
Model selection on validation NDCG@10 (warm users). MeKBs are built from the source
domain only by default (``--mekb-domains source``; ``both`` adds the target training
records, the paper's Appendix A setting), never from validation/test records.

EmbedMe on CPU runs in **frozen-PLM mode**: the packaged all-MiniLM-L6-v2 encodes every
user's MeKB sequence once (mean pooling, 256 tokens, cached on disk with
``--plm-cache``), and only the MLP and the item tower are trained.

    python benchmarks/mekb.py --dataset amazon-art-office --seeds 5
    python benchmarks/mekb.py --directions art-office --models embedme,id --seeds 1
    torchrun --standalone --nproc_per_node 2 benchmarks/mekb.py --directions art-office

Under ``torchrun`` every model trains data-parallel (``train_full_softmax`` /
``train_bpr`` of ``torch_geometric_kgrec.mekb``: same seeded permutations and negatives
on every rank, this rank's shard of each batch, gradients all-reduced; EMCDR's mapping
stage is full-batch, the same on every rank), the sampled-ranking evaluation is sharded
over the cases, and rank 0 prints and writes the JSON.
"""
import time
from typing import Dict, List, Optional

import torch

from torch_geometric_kgrec.benchmark import (aggregate, base_parser, format_table,
                                             load_dataset, setup_distributed, write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.mekb import (evaluate_cases, mekb_scores, mekb_sequences,
                                        train_bpr, train_emcdr_mapping, train_full_softmax)
from torch_geometric_kgrec.nn.models import CMF, EMCDR, EmbedMe, IDDualEncoder, Popularity
from torch_geometric_kgrec.protocols import (activity_buckets, cdr_split, mekb_interactions,
                                             sampled_ranking_cases)
from torch_geometric_kgrec.train import seed_everything

BUCKET_NAMES = ('zero-shot', 'few-shot', 'multi-shot')
COLUMNS = ['hr@10', 'ndcg@10'] + [f'{b}/{m}' for b in BUCKET_NAMES
                                   for m in ('hr@10', 'ndcg@10')]
PROTOCOL = ('MeKB-Rec Sec. 4.2: 20% of overlapped users -> target test (zero-shot), other '
            'target records 8:1:1 at random; one test positive per user vs 999 sampled '
            'never-interacted target items; HR@10/NDCG@10 (ties pessimistic); buckets by '
            'target training records: zero [0], few [1,10), multi [10,inf)')
NAMES = {'popularity': 'Popularity', 'id': 'ID dual encoder', 'cmf': 'CMF',
         'emcdr-linear': 'EMCDR (linear)', 'emcdr-mlp': 'EMCDR (MLP)',
         'embedme': 'MeKB-Rec (EmbedMe)'}
# MeKB-Rec Table 5 (Amazon Books -> Movies; "All" = Table 1) -- DIFFERENT DATA.
PAPER_B2M = {
    'ID dual encoder': [0.1271, 0.0762, 0.0041, 0.0003, 0.1225, 0.0784, 0.2512, 0.1402],
    'CMF': [0.1726, 0.0995, 0.0642, 0.0315, 0.1433, 0.0696, 0.1912, 0.0907],
    'EMCDR (linear)': [0.1755, 0.1103, 0.0782, 0.0589, 0.1545, 0.0815, 0.2008, 0.0945],
    'MeKB-Rec (EmbedMe)': [0.2471, 0.1370, 0.1724, 0.0936, 0.2563, 0.1655, 0.2554, 0.1411],
}
PAPER_B2M = {k: dict(zip(COLUMNS, v)) for k, v in PAPER_B2M.items()}
# MeKB-Rec Table 1, HR@10 / NDCG@10 (Amazon, DIFFERENT DATA).
PAPER_TABLE1 = {
    'YouTubeDNN': {'Books->Movies': (0.1271, 0.0762), 'Books->Music': (0.1655, 0.1134),
                   'Movies->Music': (0.1707, 0.1185)},
    'CMF': {'Books->Movies': (0.1726, 0.0995), 'Books->Music': (0.2510, 0.1659),
            'Movies->Music': (0.2615, 0.1529)},
    'EMCDR': {'Books->Movies': (0.1755, 0.1103), 'Books->Music': (0.2815, 0.1819),
              'Movies->Music': (0.2683, 0.1605)},
    'MeKB-Rec': {'Books->Movies': (0.2471, 0.1370), 'Books->Music': (0.4884, 0.3298),
                 'Movies->Music': (0.5035, 0.3444)},
}
# MeKB score variants of the ablation: (k_star or None, idf)
VARIANTS = {'freq': (False, False), 'freq+log': (True, False), 'freq+log+idf': (True, True)}


def parse_args():
    p = base_parser(__doc__.split('\n\n')[0], default_dataset='amazon-art-office',
                    default_epochs=15)
    p.add_argument('--directions', default='art-office,office-art',
                   help='comma-separated source-target pairs of data.domain_names')
    p.add_argument('--models', default='popularity,id,cmf,emcdr-linear,emcdr-mlp,embedme')
    p.add_argument('--ablation', default='freq,freq+log',
                   help='extra EmbedMe runs with these MeKB scores (first seed of the '
                   "first direction only; '' to skip); the main run uses freq+log+idf")
    p.add_argument('--plm', default=None, help='text model (default: packaged MiniLM)')
    p.add_argument('--plm-cache', default=None, help='embedding cache folder')
    p.add_argument('--max-tokens', type=int, default=256, help='N of Sec. 3.2.2')
    p.add_argument('--mekb-domains', default='source', choices=['source', 'both'])
    p.add_argument('--k-star', type=float, default=5.0, help='k* of eq. 4')
    p.add_argument('--dim', type=int, default=256, help='K of the dual encoders')
    p.add_argument('--mf-dim', type=int, default=64, help='factor size of CMF / EMCDR')
    p.add_argument('--batch-size', type=int, default=1024)
    p.add_argument('--lr', type=float, default=5e-4, help='EmbedMe / ID dual encoder')
    p.add_argument('--weight-decay', type=float, default=5e-4)
    p.add_argument('--mf-lr', type=float, default=1e-3)
    p.add_argument('--mf-epochs', type=int, default=30)
    p.add_argument('--l2', type=float, default=1e-5, help='BPR L2 on batch embeddings')
    p.add_argument('--patience', type=int, default=3)
    p.add_argument('--num-negatives', type=int, default=999)
    p.add_argument('--no-case-study', dest='case_study', action='store_false',
                   help='skip the zero-shot case study')
    p.add_argument('--encode-only', action='store_true',
                   help='only build and encode the MeKB sequences (fills --plm-cache)')
    return p.parse_args()


class Direction:
    r"""One source -> target scenario: MeKB sequences and their PLM embeddings."""
    def __init__(self, data, source: str, target: str, args, encoder):
        self.source, self.target = source, target
        self.data, self.args, self.encoder = data, args, encoder
        self.kg = data['entity', 'kg', 'entity'].edge_index
        self._feats: Dict = {}

    def sequences(self, split, variant: str) -> List[str]:
        smooth, idf = VARIANTS[variant]
        mekb = mekb_scores(mekb_interactions(split, self.args.mekb_domains), self.kg,
                           split.num_users, self.data['entity'].num_nodes,
                           k_star=self.args.k_star if smooth else None, idf=idf)
        # N tokens in the PLM's own WordPiece tokens, minus [CLS] and the final [SEP]
        return mekb_sequences(mekb, self.data.entity_names,
                              max_tokens=self.args.max_tokens - 2,
                              tokenize=self.encoder.tokenizer.tokenize)

    def features(self, split, variant: str):
        seqs = self.sequences(split, variant)
        key = (variant, hash(tuple(seqs)))
        if key not in self._feats:
            t0 = time.perf_counter()
            self._feats[key] = self.encoder.encode(seqs, progress=not self.args.no_progress)
            print(f'  encoded {len(seqs)} MeKB sequences ({variant}) in '
                  f'{time.perf_counter() - t0:.0f} s')
        return seqs, self._feats[key]


def run_seed(d: Direction, seed: int, models: List[str], variants: List[str], args,
             device) -> Dict[str, Dict[str, float]]:
    seed_everything(seed)
    data = d.data
    split = cdr_split(data, source=d.source, target=d.target, seed=seed)
    U, I_t = split.num_users, split.num_target_items
    users, pos, neg = sampled_ranking_cases(split, 'test', args.num_negatives, seed=seed)
    vu, vp, vn = sampled_ranking_cases(split, 'val', args.num_negatives, seed=seed + 10**6)
    groups = activity_buckets(split, users)
    train = split.train.to(device)
    local = torch.full((data.num_items, ), -1, dtype=torch.long)
    local[split.source_items] = torch.arange(split.source_items.numel())
    source = torch.stack([split.source[0], local[split.source[1]]]).to(device)
    I_s = int(split.source_items.numel())
    out: Dict[str, Dict[str, float]] = {}

    def val(model):
        return lambda: evaluate_cases(model, vu, vp, vn)

    def record(name, model, result=None, seconds=None):
        m = evaluate_cases(model, users, pos, neg, groups)
        if result is not None:
            m.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run,
                     seconds_per_epoch=result.seconds_per_epoch)
        if seconds is not None:
            m['seconds'] = seconds
        out[name] = m
        print(f"  seed {seed} {name:<22} HR@10 {m['hr@10']:.4f} NDCG@10 {m['ndcg@10']:.4f}"
              + ''.join(f" | {b} {m[f'{b}/hr@10']:.4f}" for b in BUCKET_NAMES)
              + (f' ({result.best_epoch}/{result.epochs_run} ep, '
                 f'{result.seconds_per_epoch:.1f} s/ep)' if result is not None else ''))

    if 'popularity' in models:
        record('popularity', Popularity(I_t, split.train))
    if 'id' in models:
        model = IDDualEncoder(U, I_t, args.dim, fallback='mean').to(device)
        model.set_warm_users(train)
        r = train_full_softmax(model, train, args.epochs, args.batch_size, args.lr,
                               args.weight_decay, evaluate=val(model),
                               patience=args.patience, seed=seed, desc='id')
        record('id', model, r)
    if 'cmf' in models:
        model = CMF(U, I_t, I_s, args.mf_dim).to(device)
        r = train_bpr(model, [(train, I_t), (source, I_s)],
                      lambda b: model.domain_loss(b[0], b[1], reg_weight=args.l2), U,
                      args.mf_epochs, lr=args.mf_lr, evaluate=val(model),
                      patience=args.patience, seed=seed, desc='cmf')
        record('cmf', model, r)
    emcdr_kinds = [m for m in models if m.startswith('emcdr-')]
    if emcdr_kinds:
        t0 = time.perf_counter()
        base = EMCDR(U, I_s, I_t, args.mf_dim).to(device)
        base.set_warm_users(train)
        # stage 1 and 2: BPR factors per domain (the target one selected on validation)
        train_bpr(base.source, [(source, I_s)],
                  lambda b: base.source.loss(*b[0], reg_weight=args.l2), U,
                  args.mf_epochs, lr=args.mf_lr, evaluate=None, seed=seed,
                  desc='emcdr-source')
        r = train_bpr(base.target, [(train, I_t)],
                      lambda b: base.target.loss(*b[0], reg_weight=args.l2), U,
                      args.mf_epochs, lr=args.mf_lr, evaluate=val(base.target),
                      patience=args.patience, seed=seed, desc='emcdr-target')
        overlap = train[0].unique()
        for kind in emcdr_kinds:
            model = EMCDR(U, I_s, I_t, args.mf_dim, mapping=kind.split('-')[1]).to(device)
            model.source.load_state_dict(base.source.state_dict())
            model.target.load_state_dict(base.target.state_dict())
            model.set_warm_users(train)
            train_emcdr_mapping(model, overlap)  # stage 3, on overlapping users
            record(kind, model, r, seconds=time.perf_counter() - t0)
    seen: Dict[int, str] = {}
    for variant in variants:
        seqs, feats = d.features(split, variant)
        name = 'embedme' if variant == 'freq+log+idf' else f'embedme [{variant}]'
        h = hash(tuple(seqs))
        if h in seen:  # e.g. log smoothing is monotone: same order as plain frequency
            out[name] = dict(out[seen[h]], same_sequences_as=seen[h])
            print(f'  seed {seed} {name:<22} identical MeKB sequences to {seen[h]}: same result')
            continue
        seen[h] = name
        model = EmbedMe(I_t, in_channels=feats.size(1), out_channels=args.dim).to(device)
        model.set_user_features(feats.to(device))
        r = train_full_softmax(model, train, args.epochs, args.batch_size, args.lr,
                               args.weight_decay, evaluate=val(model),
                               patience=args.patience, seed=seed, desc='embedme')
        record(name, model, r)
        if variant == 'freq+log+idf' and seed == args.seed and args.case_study:
            case_study(d, split, seqs, model, users, pos)
    return out


@torch.no_grad()
def case_study(d: Direction, split, seqs, model, users, pos) -> None:
    data = d.data
    zero = split.zero_shot_users
    u = int(zero[0])
    src = split.source[1, split.source[0] == u]
    print(f'\n  case study ({d.source} -> {d.target}, seed {d.args.seed}): zero-shot user {u} '
          f'({data.user_ids[u]}), {src.numel()} source items, e.g.:')
    for i in src[:3].tolist():
        print(f'    - {data.item_text[i][:90]}')
    print(f'  MeKB sequence: {seqs[u][:400]}{" ..." if len(seqs[u]) > 400 else ""}')
    held = set(split.test[1, split.test[0] == u].tolist())
    top = model.score_all(torch.tensor([u]))[0].topk(10).indices.tolist()
    print('  top-10 target items (* = a held-out test item of the user):')
    for rank, i in enumerate(top, 1):
        g = int(split.target_items[i])
        print(f"    {rank:2d}. {'*' if i in held else ' '} {data.item_text[g][:90]}")
    print('  held-out test items: ' + '; '.join(
        data.item_text[int(split.target_items[i])][:50] for i in sorted(held)[:5]) + '\n')


def _agg(per_seed):
    return {NAMES.get(n, 'MeKB-Rec ' + n[len('embedme '):]): aggregate(v)
            for n, v in per_seed.items()}


def report(title: str, per_seed, args, seconds: float) -> None:
    n = len(next(iter(per_seed.values())))
    print(f'\n{title}: mean ± std over {n} seed(s) ({seconds:.0f} s); (paper) rows = '
          'MeKB-Rec Table 5, Amazon Books -> Movies, DIFFERENT DATA')
    print(format_table(_agg(per_seed), COLUMNS, paper=PAPER_B2M))
    sizes = per_seed[next(iter(per_seed))][0]
    print('test users per bucket (first seed): ' + ', '.join(
        f"{b} {sizes[f'{b}/num_cases']}" for b in BUCKET_NAMES)
        + f", all {sizes['num_cases']}", flush=True)


def main():
    args = parse_args()
    setup_distributed(args)  # torchrun: one rank per process, else a no-op
    device = torch.device(args.device)
    from torch_geometric_kgrec.text import TextEncoder
    data = load_dataset(args.dataset, args.root, link=args.link)
    encoder = TextEncoder(args.plm, pooling='mean', max_length=args.max_tokens,
                          batch_size=64, cache_dir=args.plm_cache)
    models = [m for m in args.models.split(',') if m]
    unknown = set(models) - set(NAMES)
    if unknown:
        raise SystemExit(f'unknown models {sorted(unknown)}; choose from {sorted(NAMES)}')
    ablation = [v for v in args.ablation.split(',') if v]
    print(f'data: {kgrec_stats(data)}\nencoder: {encoder}')
    doc_results = {}
    directions = []
    for direction in args.directions.split(','):
        source, target = direction.split('-')
        d = Direction(data, source, target, args, encoder)
        directions.append((direction, d))
        if args.encode_only:
            split = cdr_split(data, source=source, target=target, seed=args.seed)
            for v in ['freq+log+idf'] + (ablation if len(directions) == 1 else []):
                d.features(split, v)
            continue
        print(f'\n=== {source} -> {target} ===')
        per_seed: Dict[str, List[Dict[str, float]]] = {}
        t0 = time.perf_counter()
        for seed in range(args.seed, args.seed + args.seeds):
            variants = ['freq+log+idf'] if 'embedme' in models else []
            res = run_seed(d, seed, models, variants, args, device)
            for name, m in res.items():
                per_seed.setdefault(name, []).append(m)
        report(direction, per_seed, args, time.perf_counter() - t0)
        doc_results[direction] = {'per_seed': per_seed, 'mean_std': _agg(per_seed)}
    if ablation and not args.encode_only:
        # MeKB-score ablation: EmbedMe with other scores, first direction, first seed
        direction, d = directions[0]
        print(f'\n=== ablation of the MeKB score ({d.source} -> {d.target}, seed '
              f'{args.seed}) ===')
        t0 = time.perf_counter()
        res = run_seed(d, args.seed, [], ablation, args, device)
        main_run = doc_results[direction]['per_seed'].get('embedme', [None])[0]
        if main_run is not None:
            res['embedme'] = main_run
        per_seed = {n: [m] for n, m in res.items()}
        report(direction + ' ablation', per_seed, args, time.perf_counter() - t0)
        doc_results[direction + ' ablation'] = {'per_seed': per_seed}
    if args.encode_only:
        return
    print('\nMeKB-Rec Table 1 (Amazon, DIFFERENT DATA), HR@10 / NDCG@10:')
    for model, row in PAPER_TABLE1.items():
        print(f'  {model:<12} ' + '  '.join(f'{k} {v[0]:.4f}/{v[1]:.4f}'
                                            for k, v in row.items()))
    write_result(args.out, args=args, data_stats=kgrec_stats(data), results=doc_results,
                 protocol=PROTOCOL, paper={'table5_books_movies': PAPER_B2M,
                                           'table1': PAPER_TABLE1})


if __name__ == '__main__':
    main()
