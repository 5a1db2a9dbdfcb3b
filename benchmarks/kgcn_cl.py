r"""KGCN with content-based semantic contrastive learning (Kim et al., LREC-COLING 2024).

Rows (paper Tables 2-4): L_base (KGCN, concat aggregator), +CL_genre and +CL_title+genre
(eq. 5 with pairs mined from the genre / title+genre sentences, Sec. 3.1), each without
and with semantic text (item nodes initialised from MLP(E(x_c)), Sec. 3.3, E = the
packaged all-MiniLM-L6-v2, frozen and cached). Every row uses the same seeds, splits,
neighbour draws, hyper-parameters and epochs.

Protocol: CTR 6:2:2 random split of labelled pairs (``ctr_split``); MovieLens: rating >= 4
is a positive and each user gets as many never-rated items as negatives (KGCN's
preprocessing, ``rating_threshold_labels``); Last.FM: every listened artist is a positive,
one never-listened artist per positive. Model selection on validation AUC. Test AUC / F1
over the whole test split; Recall / NDCG @ 5/10/20/50/100 ranking all items for every user
with a test positive, training positives masked (the shared ``evaluate_ctr_split``);
inter-list (eq. 6) and intra-list (eq. 7, on the trained content embeddings h_c) diversity
@20 of those users' top-20 lists; alignment of the title+genre positive pairs and
uniformity of all items' h_c (Wang & Isola; the same pair set for every row); NDCG@100 of
the test users in the bottom q % by number of training interactions (Figure 5); a paired
t-test over seeds (scipy ``ttest_rel``, same seed = same split) of every row against
L_base without text (Table 2's reference).

Pairs: the bi-encoder (MiniLM) ranks all items for every anchor; top-n positives,
bottom-n negatives. No cross-encoder is available offline, so the default ranks by the
bi-encoder (printed and stored in the JSON); ``--cross-encoder PATH`` re-ranks a
``--shortlist`` with any HF sequence-classification model.

    python benchmarks/kgcn_cl.py --dataset lastfm --seeds 5 --out kgcn-cl-lastfm.json
    python benchmarks/kgcn_cl.py --dataset movielens-100k --seeds 5 --plots plots/
    torchrun --standalone --nproc_per_node 2 benchmarks/kgcn_cl.py --dataset lastfm

Under ``torchrun`` every rank draws the same neighbours and permutations, each step trains
on this rank's shard of the CTR batch *and* of the batch of content pairs (the two means
of eq. 5 weighted by the ranks' shares, ``DistEnv.joint_weights``), the CTR metrics are
computed identically, the rankings sharded, and rank 0 prints and writes the JSON and
figures.
"""
import math
import os
import os.path as osp
import time

import torch

from torch_geometric_kgrec.benchmark import (add_ctr_arguments, aggregate, base_parser,
                                             evaluate_ctr_split, format_table, load_dataset,
                                             predict_pairs, setup_distributed, write_result)
from torch_geometric_kgrec.contrastive import (attach_bx_books, metadata_sentences,
                                               mine_content_pairs)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.metrics import (alignment, ctr_metrics, evaluate_ranking,
                                           inter_list_diversity, intra_list_diversity,
                                           topk_with_exclusion, uniformity)
from torch_geometric_kgrec.nn import KGCN
from torch_geometric_kgrec.protocols import (KGNeighborSampler, ctr_split,
                                             rating_threshold_labels)
from torch_geometric_kgrec.train import peak_memory_mb, run_training, seed_everything

KS = (5, 10, 20, 50, 100)
DIV_K = 20
ACTIVITY = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)
DEFAULTS = {  # concat aggregator everywhere, as the paper
    'lastfm': dict(neighbors=8, layers=1, dim=16, lr=5e-4, l2=1e-4, batch_size=128),
    # ML-100K: the paper's movie K, d; H = 1 (the paper: 2 on ML-20M) and a larger batch
    # to fit the CPU budget of 6 rows x 5 seeds
    'movielens-100k': dict(neighbors=4, layers=1, dim=32, lr=1e-2, l2=1e-5,
                           batch_size=1024),
    'book-crossing': dict(neighbors=4, layers=1, dim=64, lr=2e-4, l2=2e-5, batch_size=256),
}
DOMAIN = {'lastfm': 'artist', 'movielens-100k': 'movie', 'book-crossing': 'book'}
ROWS = ['L_base', '+CL_genre', '+CL_title+genre']
TEXT = ' (text)'
_P = {  # Tables 2-4 of Kim et al.: (AUC, F1, R@5..100, N@5..100, Inter@20, Intra@20)
    'movie': {
        'L_base': (0.9761, 0.9290, 0.0734, 0.1228, 0.1967, 0.3214, 0.4581, 0.0677, 0.0970,
                   0.1312, 0.1811, 0.2216, 0.7054, 0.1997),
        '+CL_genre': (0.9773, 0.9311, 0.0659, 0.1199, 0.1999, 0.3337, 0.4679, 0.0681,
                      0.0972, 0.1327, 0.1824, 0.2244, 0.7478, 0.3427),
        '+CL_title+genre': (0.9775, 0.9319, 0.0683, 0.1237, 0.1976, 0.3400, 0.4738, 0.0706,
                            0.1006, 0.1343, 0.1866, 0.2286, 0.7511, 0.2667),
        'L_base' + TEXT: (0.9763, 0.9284, 0.0754, 0.1222, 0.2016, 0.3260, 0.4599, 0.0753,
                          0.1036, 0.1363, 0.1834, 0.2265, 0.6952, 0.1970),
        '+CL_genre' + TEXT: (0.9777, 0.9320, 0.0755, 0.1312, 0.2082, 0.3357, 0.4727,
                             0.0810, 0.1097, 0.1405, 0.1911, 0.2324, 0.7615, 0.4407),
        '+CL_title+genre' + TEXT: (0.9780, 0.9324, 0.0754, 0.1325, 0.2136, 0.3418, 0.4714,
                                   0.0882, 0.1154, 0.1498, 0.1983, 0.2419, 0.7806, 0.4201),
    },
    'book': {
        'L_base': (0.6923, 0.6370, 0.0619, 0.0741, 0.0926, 0.1217, 0.1585, 0.0586, 0.0641,
                   0.0690, 0.0760, 0.0825, 0.2963, 0.0048),
        '+CL_genre': (0.6911, 0.6336, 0.0636, 0.0778, 0.0973, 0.1317, 0.1677, 0.0630,
                      0.0688, 0.0732, 0.0811, 0.0873, 0.3207, 0.0029),
        '+CL_title+genre': (0.6946, 0.6362, 0.0774, 0.0927, 0.1115, 0.1433, 0.1784, 0.0596,
                            0.0643, 0.0703, 0.0793, 0.0846, 0.3196, 0.0024),
        'L_base' + TEXT: (0.7019, 0.6362, 0.0425, 0.0645, 0.0808, 0.1245, 0.1685, 0.0679,
                          0.0742, 0.0794, 0.0871, 0.0938, 0.3374, 0.0168),
        '+CL_genre' + TEXT: (0.7010, 0.6360, 0.0730, 0.0865, 0.1032, 0.1468, 0.1823,
                             0.0684, 0.0756, 0.0809, 0.0904, 0.0968, 0.3494, 0.0135),
        '+CL_title+genre' + TEXT: (0.7009, 0.6354, 0.0675, 0.0856, 0.1041, 0.1431, 0.1933,
                                   0.0744, 0.0789, 0.0820, 0.0892, 0.0961, 0.3670, 0.0162),
    },
}
_KEYS = (['auc', 'f1'] + [f'recall@{k}' for k in KS] + [f'ndcg@{k}' for k in KS]
         + [f'inter@{DIV_K}', f'intra@{DIV_K}'])
PAPER = {
    'movielens-100k': ('Kim et al. 2024 Tables 2-4, MovieLens-20M with TMDB synopses '
                       '(different data: ML-20M, Satori KG, synopsis text)', 'movie'),
    'book-crossing': ('Kim et al. 2024 Tables 2-4, Book-Crossing with Goodreads/Google '
                      'Books genres and synopses (our Book-Crossing has no text)', 'book'),
}
PROTOCOL = __doc__.split('\n\n')[2].replace('\n', ' ')


def paper_rows(dataset):
    if dataset not in PAPER:
        return None, None
    source, key = PAPER[dataset]
    return {row: dict(zip(_KEYS, vals)) for row, vals in _P[key].items()}, source


def activity_groups(test_users, train_pos, num_users):
    r"""Test users in the bottom q % by number of training interactions, for every q
    of :obj:`ACTIVITY` (cumulative, as Figure 5's x-axis)."""
    count = torch.bincount(train_pos[0], minlength=num_users)[test_users]
    order = test_users[torch.argsort(count, stable=True)]
    return {q: order[:max(1, math.ceil(q * order.numel()))] for q in ACTIVITY}


def paired_p_values(rows, reference, metrics):
    from scipy.stats import ttest_rel
    out = {}
    base = rows[reference]['per_seed']
    for name, r in rows.items():
        if name == reference or len(base) < 2:
            continue
        out[name] = {}
        for m in metrics:
            a = [s[m] for s in r['per_seed']]
            b = [s[m] for s in base]
            same = all(x == y for x, y in zip(a, b))
            out[name][m] = 1.0 if same else float(ttest_rel(a, b).pvalue)
    return out


def main() -> None:
    p = base_parser(__doc__.splitlines()[0], default_dataset='lastfm', default_epochs=20)
    p.add_argument('--dim', type=int, default=None)
    p.add_argument('--neighbors', type=int, default=None)
    p.add_argument('--layers', type=int, default=None)
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--l2', type=float, default=None)
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--gamma', type=float, default=0.8, help='weight of L_base (eq. 5)')
    p.add_argument('--num-pairs', type=int, default=5,
                   help='n positives and n negatives per anchor')
    p.add_argument('--text-model', default=None,
                   help='HF id or folder of E (default: the packaged MiniLM)')
    p.add_argument('--text-cache', default=None, help='embedding / pair cache folder')
    p.add_argument('--cross-encoder', default=None,
                   help='HF id or folder of the cross-encoder (default: none, rank by the '
                   'bi-encoder)')
    p.add_argument('--shortlist', type=int, default=50)
    p.add_argument('--negatives', default='far', choices=['far', 'shortlist', 'random'])
    p.add_argument('--text-init', default='mlp', choices=['mlp', 'copy'],
                   help="semantic text: h_c = MLP(E(x_c)) in every pass ('mlp', eq. 5's α "
                   "layer) or content rows initialised from it, then free ('copy')")
    p.add_argument('--books-csv', default=None,
                   help='Book-Crossing: your BX-Books.csv (titles, years, authors) for the '
                   'title sentences and the semantic text')
    p.add_argument('--min-rating', type=float, default=4.0,
                   help='MovieLens: smallest positive rating (KGCN)')
    p.add_argument('--rows', default='all',
                   help="comma-separated subset of the rows, e.g. 'L_base,+CL_genre (text)'")
    p.add_argument('--gamma-sweep', default='0.2,0.5',
                   help='extra gammas for the Figure-6 scatter (with 0.8 = --gamma and 1.0 '
                   '= L_base from the main rows), seed --seed only; empty to skip')
    p.add_argument('--plots', default=None, help='folder for the PNG figures')
    add_ctr_arguments(p)
    p.set_defaults(patience=3)
    args = p.parse_args()
    env = setup_distributed(args)  # torchrun: one rank per process, else a no-op
    for key, value in DEFAULTS.get(args.dataset, DEFAULTS['lastfm']).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    device = torch.device(args.device)
    t_start = time.perf_counter()
    cache = args.text_cache or osp.join(
        os.environ.get('KGREC_CACHE') or osp.expanduser('~/.cache/torch_geometric_kgrec'),
        'text')

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    num_users, num_items = data['user'].num_nodes, data.num_items
    num_entities = data['entity'].num_nodes
    sampler = KGNeighborSampler.from_data(data, args.neighbors, device)
    movielens = args.dataset.startswith('movielens')
    if args.books_csv:
        print(f'{args.books_csv}: {attach_bx_books(data, args.books_csv)} (titles, years '
              'and authors; no genres)')

    # --- text and pairs (item metadata only) -------------------------------------
    from torch_geometric_kgrec.text import TextEncoder
    encoder = None
    item_features, pairs, pair_info = None, {}, {}
    has_text = getattr(data, 'item_text', None) is not None
    sentences = {}
    for t in ('genre', 'title+genre'):
        try:
            sent = metadata_sentences(data, t, DOMAIN.get(args.dataset, 'movie'))
        except ValueError as e:
            print(f'no item metadata for pairs ({e}): the CL rows are skipped')
            break
        if sum(x is not None for x in sent) >= 2:
            sentences[t] = sent
        else:
            print(f'no {t} sentences (metadata missing): +CL_{t} rows are skipped')
    feature_mask = None
    if has_text or sentences:
        encoder = TextEncoder(args.text_model, cache_dir=cache)
    if has_text:
        t0 = time.perf_counter()
        item_features = encoder.encode(list(data.item_text), progress=not args.no_progress)
        feature_mask = torch.tensor([bool(t and t.strip()) for t in data.item_text])
        print(f'{int(feature_mask.sum())} of {num_items} items have text; the others keep '
              'a random embedding')
        feature_mask = None if bool(feature_mask.all()) else feature_mask
        print(f'semantic text: {num_items} item texts encoded by {encoder.model_id} '
              f'({item_features.size(1)} dims, frozen) in {time.perf_counter() - t0:.1f} s')
    for t, sent in sentences.items():
        pairs[t] = mine_content_pairs(sent, encoder, args.cross_encoder,
                                      num_positives=args.num_pairs,
                                      num_negatives=args.num_pairs,
                                      shortlist=args.shortlist, negatives=args.negatives,
                                      cache_dir=cache, progress=not args.no_progress)
        pair_info[t] = pairs[t].info
        print(f"pairs[{t}]: {pairs[t].info['num_pairs']} pairs over "
              f"{pairs[t].info['items_with_sentence']} items; ranker: "
              f"{pairs[t].ranker} -- {pairs[t].info['note']}")
    eval_pos = pairs['title+genre'].positives() if 'title+genre' in pairs else None

    rows = []
    for text in (False, True):
        for row in ROWS:
            if text and item_features is None:
                continue
            if row != 'L_base' and row.split('_', 1)[1] not in pairs:
                continue
            rows.append(row + (TEXT if text else ''))
    if args.rows != 'all':
        wanted = [r.strip() for r in args.rows.split(',')]
        rows = [r for r in rows if r in wanted]
    print(f'config: K={args.neighbors} H={args.layers} d={args.dim} lr={args.lr} '
          f'l2={args.l2} batch={args.batch_size} aggregator=concat gamma={args.gamma} '
          f'n={args.num_pairs} epochs<={args.epochs} patience={args.patience}; rows: {rows}')

    def run(row: str, seed: int, gamma: float):
        text = row.endswith(TEXT)
        kind = row.replace(TEXT, '').split('_', 1)[1] if row.startswith('+CL') else None
        cl = pairs[kind] if kind else None
        seed_everything(seed)
        labelled = rating_threshold_labels(data, args.min_rating, seed) if movielens \
            else data
        split = ctr_split(labelled, seed=seed)
        train, val, test = (s.edge_index.to(device) for s in (split.train, split.val,
                                                              split.test))
        y_train, y_val, y_test = (s.label.to(device) for s in (split.train, split.val,
                                                               split.test))
        torch.manual_seed(seed)  # same initial user/entity/relation/layer weights per seed
        model = KGCN(num_users, num_entities, sampler.num_relations + 1, num_items,
                     embedding_dim=args.dim, num_neighbors=args.neighbors,
                     num_layers=args.layers, aggregator='concat',
                     item_features=item_features if text else None,
                     item_feature_mask=feature_mask if text else None,
                     text_init=args.text_init).to(device)
        decay = model.l2_parameters()
        rest = [q for q in model.parameters() if all(q is not r for r in decay)]
        optimizer = torch.optim.Adam([{'params': decay, 'weight_decay': args.l2},
                                      {'params': rest}], lr=args.lr)
        env.attach(model, optimizer)  # data-parallel: gradient all-reduce
        gen = torch.Generator().manual_seed(seed)
        eval_neighbors = sampler.sample(torch.Generator(device=device).manual_seed(
            10_000 + seed))
        state = {'nbrs': sampler.sample(torch.Generator(device=device).manual_seed(seed))}
        steps = math.ceil(train.size(1) / args.batch_size)
        if cl is not None:
            cl_index, cl_label = cl.edge_index.to(device), cl.label.to(device)
            cl_batch = math.ceil(cl_label.numel() / steps)

        def train_epoch(epoch: int) -> float:
            if epoch > 1:
                state['nbrs'] = sampler.sample(
                    torch.Generator(device=device).manual_seed(seed * 100_003 + epoch))
            model.set_neighbors(*state['nbrs'])
            perm = torch.randperm(train.size(1), generator=gen).to(device)
            cl_perm = (torch.randperm(cl_label.numel(), generator=gen).to(device)
                       if cl is not None else None)
            total = 0.0
            for step, idx in enumerate(perm.split(args.batch_size)):
                optimizer.zero_grad()
                # this rank's shard of the CTR batch (and of the batch of pairs)
                batch = env.shard(train[0, idx], train[1, idx], y_train[idx])
                if cl is not None:
                    j = cl_perm[step * cl_batch:(step + 1) * cl_batch]
                    pair_index, pair_label = env.shard(cl_index[:, j].t(), cl_label[j])
                    g, _ = env.joint_weights((gamma, 1.0 - gamma), (idx.numel(), j.numel()))
                    loss = model.joint_loss(*batch, pair_index.t(), pair_label,
                                            gamma=g, l2_weight=0)
                else:
                    loss = model.loss(*batch, l2_weight=0)
                loss.backward()
                optimizer.step()
                total += env.loss_share(loss.item()) * idx.numel()
            return total / train.size(1)

        def validate():
            model.set_neighbors(*eval_neighbors)
            return ctr_metrics(predict_pairs(model.score, val, 8192), y_val)

        result = run_training(model, train_epoch, validate, args.epochs, monitor='auc',
                              patience=args.patience, progress=not args.no_progress,
                              desc=f'{row} g={gamma} seed {seed}')
        model.eval()
        model.set_neighbors(*eval_neighbors)
        with torch.no_grad():
            all_users = torch.arange(num_users, device=device)
            scores = torch.cat([model.score_all(u) for u in all_users.split(256)])
        score_all = lambda users: scores[users]  # noqa: E731 (one pass for every metric)
        metrics, pop, _ = evaluate_ctr_split(model.score, score_all, train, y_train, test,
                                             y_test, num_users, num_items, KS, args, seed,
                                             train_result=result)
        train_pos, test_pos = train[:, y_train == 1], test[:, y_test == 1]
        users = test_pos[0].unique()
        with torch.no_grad():
            _, rec = topk_with_exclusion(scores[users], DIV_K, users, train_pos)
            h = model.item_embedding()
        metrics[f'inter@{DIV_K}'] = inter_list_diversity(rec)
        metrics[f'intra@{DIV_K}'] = intra_list_diversity(rec, h)
        metrics['uniformity'] = float(uniformity(h))
        if eval_pos is not None:
            metrics['alignment'] = float(alignment(h[eval_pos[0]], h[eval_pos[1]]))
        for q, group in activity_groups(users, train_pos, num_users).items():
            r = evaluate_ranking(score_all, test_pos, train_pos, num_users, num_items,
                                 ks=(100, ), metrics=('ndcg', ), users=group)
            metrics[f'ndcg@100_bottom{int(q * 100)}%'] = r['ndcg@100']
        metrics['seconds_per_epoch'] = result.seconds_per_epoch
        return metrics, pop

    results, pop_rows = {}, []
    for row in rows:
        per_seed = []
        for seed in range(args.seed, args.seed + args.seeds):
            m, pop = run(row, seed, args.gamma if row.startswith('+CL') else 1.0)
            per_seed.append(m)
            if row == rows[0]:
                pop_rows.append(pop)
        results[row] = {'per_seed': per_seed, 'mean_std': aggregate(per_seed)}
    columns = {
        'ctr': ['auc', 'f1', 'acc'],
        'recall': [f'recall@{k}' for k in KS],
        'ndcg': [f'ndcg@{k}' for k in KS],
        'quality': [f'inter@{DIV_K}', f'intra@{DIV_K}', 'alignment', 'uniformity'],
        'activity': [f'ndcg@100_bottom{int(q * 100)}%' for q in ACTIVITY],
    }
    p_values = paired_p_values(results, 'L_base', columns['ctr'] + columns['recall']
                               + columns['ndcg'] + columns['quality'][:2]) \
        if 'L_base' in results else {}
    for row, pv in p_values.items():
        results[row]['p_value_vs_L_base'] = pv

    sweep = []
    gammas = [float(g) for g in args.gamma_sweep.split(',') if g.strip()]
    for text in ('', TEXT):
        row = '+CL_title+genre' + text
        if row not in results:
            continue
        for g in gammas:
            m, _ = run(row, args.seed, g)
            sweep.append({'row': row, 'gamma': g, **m})
        for g, name in ((args.gamma, row), (1.0, 'L_base' + text)):
            if name in results:
                sweep.append({'row': row, 'gamma': g, **results[name]['per_seed'][0]})

    table = {r: v['mean_std'] for r, v in results.items()}
    if pop_rows:
        table['Popularity'] = aggregate(pop_rows)
    paper, source = paper_rows(args.dataset)
    seeds = f'seeds {args.seed}..{args.seed + args.seeds - 1}'
    print(f'\n{args.dataset}: {PROTOCOL}\n{seeds}; pairs ranked by '
          f"{next(iter(pair_info.values()))['ranker'] if pair_info else '-'}")
    for cols in columns.values():
        print(format_table(table, cols, paper))
    if p_values:
        print('\npaired t-test p-values vs L_base (no text), over seeds:')
        pv_cols = ['auc', 'f1', 'recall@20', 'ndcg@20', f'inter@{DIV_K}', f'intra@{DIV_K}']
        print('  '.join(f'{c:>10}' for c in ['row'.ljust(24)] + pv_cols))
        for r, v in p_values.items():
            print('  '.join([f'{r:<24}'] + [f'{v[c]:>10.2g}' for c in pv_cols]))
    if paper:
        print(f'paper: {source}')
    else:
        print('paper: Kim et al. 2024 report MovieLens-20M and Book-Crossing only')
    if sweep:
        print('\ngamma sweep (seed %d): row, gamma, alignment, uniformity, ndcg@20' % args.seed)
        for s in sweep:
            print(f"  {s['row']:<24} {s['gamma']:.1f}  {s.get('alignment', float('nan')):.4f}"
                  f"  {s['uniformity']:.4f}  {s['ndcg@20']:.4f}")
    if args.plots and env.is_main:
        plot(args, results, sweep)
    wall = time.perf_counter() - t_start
    print(f'wall time {wall / 60:.1f} min on {device} ({torch.get_num_threads()} threads); '
          f'peak memory {peak_memory_mb(device):.0f} MiB')
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 paper={'source': source, 'rows': paper} if paper else {},
                 extra={'pairs': pair_info, 'gamma_sweep': sweep, 'wall_seconds': wall,
                        'text_model': encoder.model_id if encoder else None,
                        'popularity': aggregate(pop_rows) if pop_rows else None})


def plot(args, results, sweep) -> None:
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: no figures')
        return
    os.makedirs(args.plots, exist_ok=True)
    if sweep and all('alignment' in s for s in sweep):
        fig, ax = plt.subplots(figsize=(5, 4))
        vals = [s['ndcg@20'] for s in sweep]
        for text, marker in (('', 'o'), (TEXT, '*')):
            pts = [s for s in sweep if s['row'].endswith(TEXT) == bool(text)]
            if not pts:
                continue
            sc = ax.scatter([s['uniformity'] for s in pts], [s['alignment'] for s in pts],
                            c=[s['ndcg@20'] for s in pts], marker=marker, s=120,
                            cmap='viridis', vmin=min(vals), vmax=max(vals),
                            label='with text' if text else 'without text')
            for s in pts:
                ax.annotate(f"γ={s['gamma']:.1f}", (s['uniformity'], s['alignment']),
                            fontsize=7, xytext=(4, 4), textcoords='offset points')
        fig.colorbar(sc, label='NDCG@20')
        ax.set_xlabel('uniformity (lower is better)')
        ax.set_ylabel('alignment of title+genre pairs (lower is better)')
        ax.set_title(f'{args.dataset}: alignment-uniformity by γ (Fig. 6-like)', fontsize=9)
        ax.legend(fontsize=8)
        path = osp.join(args.plots, f'kgcn_cl_{args.dataset}_align_uniform.png')
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        print(f'wrote {path}')
    fig, ax = plt.subplots(figsize=(5, 4))
    xs = [int(q * 100) for q in ACTIVITY]
    for row, r in results.items():
        agg = r['mean_std']
        ax.plot(range(len(xs)), [agg[f'ndcg@100_bottom{x}%']['mean'] for x in xs],
                marker='o', label=row)
    ax.set_xticks(range(len(xs)), [f'{x}%' for x in xs])
    ax.set_xlabel('test users with the fewest training interactions')
    ax.set_ylabel('NDCG@100')
    ax.set_title(f'{args.dataset}: NDCG@100 by user activity (Fig. 5-like)', fontsize=9)
    ax.legend(fontsize=7)
    path = osp.join(args.plots, f'kgcn_cl_{args.dataset}_activity.png')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
