r"""KTUP (Cao et al., WWW 2019): item recommendation and KG completion, jointly.

Protocol (Section 6.3 of the paper): per-user random 7:1:2 split of the positives;
KG triples split 7:1:2 at random (triples between the same two entities, e.g. a fact
and its inverse, kept in one part); every model trains on training interactions /
training triples only (uniform negatives from each user's non-training items,
head/tail corruptions filtered against training triples only). Item recommendation:
full ranking of all items, training (+ validation at test time) items masked,
P/R/F1/Hit/NDCG@10. KG completion: rank all entities for head and tail prediction,
raw and filtered (train+val+test) Hits@10 / mean rank, by relation category
(categories from training triples). Model selection: early stopping on validation
NDCG@10 (recommenders and joint models) or filtered Hits@10 (KG-only models).

    python benchmarks/ktup.py --dataset movielens-100k
    python benchmarks/ktup.py --dataset movielens-100k --seeds 3 --out ktup-ml100k.json
"""
import math
import time
from typing import Callable, Dict, List, Optional

import torch

from torch_geometric_kgrec.benchmark import (aggregate, base_parser, format_table,
                                             load_dataset, write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.explain import KTUPExplainer
from torch_geometric_kgrec.metrics import (RELATION_CATEGORIES, evaluate_kg_completion,
                                           evaluate_ranking, relation_categories)
from torch_geometric_kgrec.nn.kge import TransH, kg_score_fn, margin_loss
from torch_geometric_kgrec.nn.models import (BPRMF, CFKG, CKE, KTUP, TUP,
                                             is_recommendation_step)
from torch_geometric_kgrec.protocols import UniformNegativeSampler, ranking_split
from torch_geometric_kgrec.protocols.kg_corruption import KGCorruptionSampler
from torch_geometric_kgrec.protocols.kg_split import kg_triple_split
from torch_geometric_kgrec.train import peak_memory_mb, run_training, seed_everything
from torch_geometric.nn.kge import TransE

ALL_MODELS = ['bprmf', 'transe', 'transh', 'tup-hard', 'tup-soft', 'cfkg', 'cke',
              'ktup-hard', 'ktup-soft']
REC_COLUMNS = ['precision@10', 'recall@10', 'f1@10', 'hit_ratio@10', 'ndcg@10']
KG_COLUMNS = ['filtered_avg_hits@10', 'filtered_avg_mr', 'raw_avg_hits@10', 'raw_avg_mr',
              'filtered_avg_mrr']
CAT_COLUMNS = [f'filtered_{side}_hits@10_{c}' for side in ('head', 'tail')
               for c in RELATION_CATEGORIES]
# MovieLens-1M numbers of the paper (Tables 2 and 4), as fractions; mean rank as is.
_P = ('precision@10', 'recall@10', 'f1@10', 'hit_ratio@10', 'ndcg@10')
PAPER_ML1M = {
    'bprmf': dict(zip(_P, (.3081, .1295, .1484, .8318, .6102))),
    'cfkg': {**dict(zip(_P, (.2945, .1249, .1423, .8224, .5897))), 'kg_hits@10': .4156,
             'kg_mr': 523},
    'cke': {**dict(zip(_P, (.3867, .1665, .1894, .8836, .6705))), 'kg_hits@10': .3437,
            'kg_mr': 585},
    'tup-hard': dict(zip(_P, (.3729, .1707, .1898, .8960, .6740))),
    'tup-soft': dict(zip(_P, (.3700, .1679, .1876, .8947, .6702))),
    'ktup-hard': {**dict(zip(_P, (.4087, .1724, .1979, .8897, .6965))), 'kg_hits@10': .4839,
                  'kg_mr': 525},
    'ktup-soft': {**dict(zip(_P, (.4103, .1725, .1982, .8903, .6992))), 'kg_hits@10': .4890,
                  'kg_mr': 527},
    'transe': {'kg_hits@10': .4695, 'kg_mr': 537},
    'transh': {'kg_hits@10': .4763, 'kg_mr': 537},
}
PROTOCOL = ('KTUP protocol: per-user random 7:1:2 split of positives, KG triples 7:1:2 '
            '(entity pairs kept together); full ranking of all items with training '
            '(+validation) items masked, @10; KG completion ranks all entities, head and '
            'tail, raw and filtered (train+val+test), on a seeded subsample of test '
            'triples (--kg-test-triples); early stopping on validation')


class _Optimizers:
    r"""Adam for dense parameters, SparseAdam for sparse embedding tables."""
    def __init__(self, model: torch.nn.Module, lr: float) -> None:
        sparse = [m.weight for m in model.modules()
                  if isinstance(m, torch.nn.Embedding) and m.sparse]
        ids = {id(p) for p in sparse}
        dense = [p for p in model.parameters() if id(p) not in ids]
        self.opts = [torch.optim.Adam(dense, lr=lr)] if dense else []
        if sparse:
            self.opts.append(torch.optim.SparseAdam(sparse, lr=lr))

    def zero_grad(self) -> None:
        for o in self.opts:
            o.zero_grad()

    def step(self) -> None:
        for o in self.opts:
            o.step()


def cycle_batches(n: int, batch_size: int, gen: torch.Generator):
    while True:
        yield from torch.randperm(n, generator=gen).split(batch_size)


def aligned_items(kg_tr: torch.Tensor, num_entities: int, num_items: int) -> torch.Tensor:
    r"""The entity of every item (item :obj:`i` is entity :obj:`i`) if that entity has
    a training triple, else :obj:`-1` (KTUP / CKE would only add noise), :obj:`[I]`
    on the CPU; :obj:`kg_tr` is :obj:`[3, T]` (head, relation, tail)."""
    in_kg = torch.zeros(num_entities, dtype=torch.bool)
    in_kg[kg_tr[[0, 2]].reshape(-1).cpu()] = True
    return torch.where(in_kg[:num_items], torch.arange(num_items),
                       torch.full((num_items, ), -1))


def batch_fns(train: torch.Tensor, kg_tr: torch.Tensor, rec_sampler, kg_sampler,
              gen: torch.Generator):
    r"""The batch makers of the two tasks: :obj:`rec_batch(idx)` gives (users,
    positives, uniform negatives from the users' non-training items) of the training
    interactions :obj:`idx`, :obj:`kg_batch(idx)` the training triples :obj:`idx` and
    their filtered head / tail corruptions."""
    device = train.device

    def rec_batch(idx):
        users, pos = train[0, idx], train[1, idx]
        neg = rec_sampler.sample(users.cpu(), generator=gen).view(-1).to(device)
        return users, pos, neg

    def kg_batch(idx):
        h, r, t = kg_tr[0, idx], kg_tr[1, idx], kg_tr[2, idx]
        nh, _, nt = kg_sampler.sample(h, r, t, generator=gen)
        return h, r, t, nh, nt

    return rec_batch, kg_batch


def make_train_epoch(opt, rec_loss: Optional[Callable], kg_loss: Optional[Callable],
                     rec_batch: Callable, kg_batch: Callable, n_rec: int, n_kg: int,
                     batch_size: int, joint_ratio: float, gen: torch.Generator,
                     device) -> Callable[[int], Dict[str, float]]:
    r"""One training epoch of this benchmark (also timed by ``ours_speed.py``). A
    joint model (both losses) follows KTUP's schedule of eq. 21
    (:func:`is_recommendation_step`) for as many steps as a pass over the larger task
    needs; a single-task model makes one pass over its data."""
    bs = batch_size
    if rec_loss is not None and kg_loss is not None:  # KTUP's schedule (eq. 21)
        lam = joint_ratio
        steps = max(math.ceil(n_rec / lam / bs), math.ceil(n_kg / (1 - lam) / bs))
    else:
        steps = math.ceil((n_rec if rec_loss is not None else n_kg) / bs)
    rec_it, kg_it = cycle_batches(n_rec, bs, gen), cycle_batches(n_kg, bs, gen)

    def train_epoch(epoch: int) -> Dict[str, float]:
        tot = {'rec_loss': 0.0, 'kg_loss': 0.0}
        for step in range(steps):
            rec = kg_loss is None or (rec_loss is not None and
                                      is_recommendation_step(step, joint_ratio))
            opt.zero_grad()
            if rec:
                loss = rec_loss(*rec_batch(next(rec_it).to(device)))
            else:
                loss = kg_loss(*kg_batch(next(kg_it).to(device)))
            loss.backward()
            opt.step()
            tot['rec_loss' if rec else 'kg_loss'] += loss.item()
        return {**tot, 'loss': tot['rec_loss'] + tot['kg_loss']}

    return train_epoch


def main() -> None:
    p = base_parser(__doc__, default_dataset='movielens-100k',
                    default_epochs=15)
    p.add_argument('--models', default=','.join(ALL_MODELS),
                   help='comma-separated subset of ' + ','.join(ALL_MODELS))
    p.add_argument('--dim', type=int, default=100, help='embedding size')
    p.add_argument('--batch-size', type=int, default=256, help='training examples per step')
    p.add_argument('--lr', type=float, default=5e-3, help='learning rate of BPRMF (the paper: 0.005)')
    p.add_argument('--tup-lr', type=float, default=1e-2, help='learning rate of TUP')
    p.add_argument('--kg-lr', type=float, default=1e-2, help='learning rate of TransE/TransH')
    p.add_argument('--joint-lr', type=float, default=1e-3,
                   help='learning rate of the warm-started joint models (the paper: 0.001)')
    p.add_argument('--l2', type=float, default=1e-5, help='BPRMF/CKE L2 on batch embeddings')
    p.add_argument('--margin', type=float, default=1.0, help='margin of the hinge losses')
    p.add_argument('--tau', type=float, default=1.0, help='Gumbel temperature (hard)')
    p.add_argument('--attention', default='softmax', choices=['softmax', 'proportional', 'raw'],
                   help="soft attention reading of eq. 10 (TUP docstring); 'raw' = authors' code")
    p.add_argument('--joint-ratio', type=float, default=0.5, help='lambda of eq. 21')
    p.add_argument('--tup-epochs', type=int, default=40,
                   help='TUP converges slower than BPRMF (early stopping still applies)')
    p.add_argument('--joint-epochs', type=int, default=5,
                   help='epochs of the (warm-started) joint models')
    p.add_argument('--no-warm-start', action='store_true',
                   help='train joint models from scratch instead of from TUP/TransH/'
                   'BPRMF/TransE of the same run')
    p.add_argument('--patience', type=int, default=2, help='validations without improvement before stopping')
    p.add_argument('--eval-every', type=int, default=3, help='validate every this many epochs')
    p.add_argument('--kg-val-triples', type=int, default=300,
                   help='seeded sample of validation triples for the KG-completion validation')
    p.add_argument('--kg-test-triples', type=int, default=1000, help='seeded sample of test triples for KG completion (0: all)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch.set_num_threads (1 is fastest on a shared, oversubscribed CPU)')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = [m.strip() for m in args.models.split(',') if m.strip()]
    unknown = set(models) - set(ALL_MODELS)
    if unknown:
        p.error(f'unknown models {sorted(unknown)}; choose from {ALL_MODELS}')
    models = [m for m in ALL_MODELS if m in models]  # bases before the joint models
    device = torch.device(args.device)
    joint_epochs = args.joint_epochs
    t_start = time.perf_counter()

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    U, I = data['user'].num_nodes, data.num_items
    E, R = data['entity'].num_nodes, len(data.relation_names)
    kg_store = data['entity', 'kg', 'entity']

    per_seed: Dict[str, List[Dict[str, float]]] = {m: [] for m in models}
    timing: Dict[str, List[float]] = {m: [] for m in models}
    case_study = None
    for seed in range(args.seed, args.seed + args.seeds):
        seed_everything(seed)
        split = ranking_split(data, ratios=(0.7, 0.1, 0.2), seed=seed)
        train, val, test = (e.to(device) for e in (split.train, split.val, split.test))
        kg_tr, kg_va, kg_te = kg_triple_split(kg_store.edge_index, kg_store.edge_type,
                                              (0.7, 0.1, 0.2), seed=seed)
        kg_filter = torch.cat([kg_tr, kg_va, kg_te], dim=1).to(device)
        sub = torch.Generator().manual_seed(seed)

        def subsample(t, n):
            return t if n <= 0 or t.size(1) <= n else t[:, torch.randperm(
                t.size(1), generator=sub)[:n]]

        def by_relation(t):  # batches then share a relation: one projection per batch
            return t[:, torch.argsort(t[1], stable=True)]

        kg_val_sub = by_relation(subsample(kg_va, args.kg_val_triples)).to(device)
        kg_test_sub = by_relation(subsample(kg_te, args.kg_test_triples)).to(device)
        rel_cat = relation_categories(kg_tr[[0, 2]], kg_tr[1], R)
        kg_tr = kg_tr.to(device)
        # items aligned to an entity that has training triples (else KTUP/CKE add noise)
        item_to_entity = aligned_items(kg_tr, E, I)
        rec_sampler = UniformNegativeSampler(split.train, U, I)  # training positives only
        kg_sampler = KGCorruptionSampler(kg_tr[[0, 2]], kg_tr[1], E, R, filtered=True)
        gen = torch.Generator().manual_seed(seed)
        n_rec, n_kg, bs = train.size(1), kg_tr.size(1), args.batch_size
        print(f'\nseed {seed}: {n_rec} training interactions, {n_kg} training triples, '
              f'{kg_val_sub.size(1)}/{kg_va.size(1)} val and {kg_test_sub.size(1)}/'
              f'{kg_te.size(1)} test triples evaluated; {int((item_to_entity >= 0).sum())}'
              f'/{I} items aligned')

        rec_batch, kg_batch = batch_fns(train, kg_tr, rec_sampler, kg_sampler, gen)

        def epoch_fn(opt, rec_loss: Optional[Callable], kg_loss: Optional[Callable]):
            return make_train_epoch(opt, rec_loss, kg_loss, rec_batch, kg_batch, n_rec, n_kg,
                                    bs, args.joint_ratio, gen, device)

        def rec_metrics(model, part='test'):
            target = test if part == 'test' else val
            return evaluate_ranking(model.score_all, target, split.exclude(part).to(device),
                                    U, I, ks=(10, ), metrics=('precision', 'recall', 'f1',
                                                              'hit_ratio', 'ndcg'),
                                    batch_size=256, device=device,
                                    progress=part == 'test' and not args.no_progress)

        def kg_metrics(kg_model, triples, num_candidates=None, categories=True):
            return evaluate_kg_completion(
                kg_score_fn(kg_model, num_candidates), tuple(triples), E,
                filter_triples=tuple(kg_filter), ks=(10, ), batch_size=64,
                relation_category=rel_cat if categories else None, device=device,
                progress=categories and not args.no_progress)

        trained = {}
        for name in models:
            seed_everything(seed)
            gen.manual_seed(seed)  # each model's batches/negatives independent of --models
            warm = not args.no_warm_start
            kg_part = None
            if name == 'bprmf':
                model = BPRMF(U, I, args.dim).to(device)
                rec_loss = lambda u, i, j: model.loss(u, i, j, reg_weight=args.l2)  # noqa
                kg_loss, lr, epochs = None, args.lr, args.epochs
            elif name in ('transe', 'transh'):
                if name == 'transe':
                    model = TransE(E, R, args.dim, margin=args.margin, p_norm=1.0,
                                   sparse=True).to(device)
                else:
                    model = TransH(E, R, args.dim, margin=args.margin, p_norm=1.0,
                                   sparse=True).to(device)
                kg_part = model
                kg_loss = lambda h, r, t, nh, nt: margin_loss(  # noqa: E731
                    model(h, r, t), model(nh, r, nt), args.margin, 'sum')
                rec_loss, lr, epochs = None, args.kg_lr, args.epochs
            elif name.startswith('tup'):
                model = TUP(U, I, R, args.dim, strategy=name.split('-')[1], tau=args.tau,
                            attention=args.attention).to(device)
                rec_loss, kg_loss, lr, epochs = model.loss, None, args.tup_lr, args.tup_epochs
            else:
                if name == 'cfkg':
                    model = CFKG(U, I, E, R, args.dim, margin=args.margin, sparse=True).to(device)
                    kg_part = model.kg
                    if warm and 'transe' in trained:
                        with torch.no_grad():
                            src = trained['transe']
                            model.kg.node_emb.weight[:E] = src.node_emb.weight
                            model.kg.rel_emb.weight[:R] = src.rel_emb.weight
                elif name == 'cke':
                    model = CKE(U, I, E, R, args.dim, margin=args.margin,
                                item_to_entity=item_to_entity, sparse=True).to(device)
                    kg_part = model.kg
                    if warm and 'bprmf' in trained:
                        with torch.no_grad():
                            model.user_emb.weight.copy_(trained['bprmf'].user_emb.weight)
                            model.item_emb.weight.copy_(trained['bprmf'].item_emb.weight)
                else:
                    strategy = name.split('-')[1]
                    model = KTUP(U, I, E, R, args.dim, strategy=strategy, tau=args.tau,
                                 attention=args.attention,
                                 margin=args.margin, item_to_entity=item_to_entity,
                                 sparse=True).to(device)
                    kg_part = model.kg
                    if warm:
                        model.load_pretrained(trained.get(f'tup-{strategy}'),
                                              trained.get('transh'))
                rec_loss = (lambda u, i, j: model.loss(u, i, j, reg_weight=args.l2)) \
                    if name == 'cke' else model.loss  # noqa: E731
                kg_loss = model.kg_loss
                lr, epochs = args.joint_lr, joint_epochs

            opt = _Optimizers(model, lr)
            if rec_loss is not None:
                monitor, validate = 'ndcg@10', (lambda: rec_metrics(model, 'val'))  # noqa
            else:
                monitor = 'filtered_avg_hits@10'
                validate = lambda: kg_metrics(model, kg_val_sub, categories=False)  # noqa
            t0 = time.perf_counter()
            result = run_training(model, epoch_fn(opt, rec_loss, kg_loss), validate, epochs,
                                  monitor=monitor, patience=args.patience,
                                  eval_every=args.eval_every, progress=not args.no_progress,
                                  desc=f'{name} seed {seed}')
            model.eval()
            with torch.no_grad():
                metrics = rec_metrics(model) if rec_loss is not None else {}
                if kg_part is not None:
                    metrics.update(kg_metrics(kg_part, kg_test_sub,
                                              E if name == 'cfkg' else None))
            metrics.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run,
                           stopped_early=float(result.stopped_early),
                           train_seconds=time.perf_counter() - t0)
            per_seed[name].append(metrics)
            timing[name].append(result.seconds_per_epoch)
            trained[name] = model
            shown = {k: round(v, 4) for k, v in metrics.items()
                     if k in REC_COLUMNS + KG_COLUMNS[:2] + ['best_epoch', 'epochs_run']}
            cap = '' if result.stopped_early else ' BUDGET-LIMITED (no early stop)'
            print(f'{name} seed {seed}: {shown} ({metrics["train_seconds"]:.0f} s){cap}')

        if case_study is None:
            for name in ('ktup-soft', 'ktup-hard'):
                if name in trained:
                    case_study = render_case_study(trained[name], name, data, split, kg_tr,
                                                   item_to_entity, device)
                    break

    results = {}
    for name in models:
        results[name] = {'per_seed': per_seed[name], 'mean_std': aggregate(per_seed[name]),
                         'seconds_per_epoch': sum(timing[name]) / len(timing[name])}
    seeds = f'seeds {args.seed}..{args.seed + args.seeds - 1}'
    paper_rec = {k: v for k, v in PAPER_ML1M.items()}
    print(f'\n{args.dataset}, {seeds} — {PROTOCOL}')
    print('\nItem recommendation (@10, fractions); "(paper)" rows are MovieLens-1M '
          '(Table 2), a different dataset and KG — for orientation only:')
    rec_models = {n: r['mean_std'] for n, r in results.items() if 'ndcg@10' in r['mean_std']}
    print(format_table(rec_models, REC_COLUMNS, paper=paper_rec))
    kg_models = {n: r['mean_std'] for n, r in results.items()
                 if 'filtered_avg_hits@10' in r['mean_std']}
    if kg_models:
        paper_kg = {n: {'filtered_avg_hits@10': v['kg_hits@10'], 'raw_avg_hits@10':
                        v['kg_hits@10'], 'raw_avg_mr': v['kg_mr'], 'filtered_avg_mr': v['kg_mr']}
                    for n, v in PAPER_ML1M.items() if 'kg_hits@10' in v}
        print('\nKG completion (head+tail averaged; paper: Table 4, MovieLens-1M, '
              'raw/filtered not stated — shown in both columns):')
        print(format_table(kg_models, KG_COLUMNS, paper=paper_kg))
        print('\nFiltered Hits@10 by relation category (from training triples):')
        print(format_table(kg_models, CAT_COLUMNS))
    elapsed = time.perf_counter() - t_start
    print('\nseconds per epoch: ' + ', '.join(f'{n} {r["seconds_per_epoch"]:.1f}'
                                              for n, r in results.items()))
    print(f'total wall time {elapsed / 60:.1f} min on {device} '
          f'({torch.get_num_threads()} threads, shared machine); peak memory '
          f'{peak_memory_mb(device):.0f} MiB')
    if case_study:
        print('\n' + case_study)
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 paper={'movielens-1m': PAPER_ML1M},
                 extra={'peak_memory_mb': peak_memory_mb(device), 'wall_seconds': elapsed,
                        'case_study': case_study})


def _titles(data, I):
    for attr in ('item_titles', 'item_names', 'item_text'):
        names = getattr(data, attr, None)
        if names is not None and len(names) >= I:  # 'Title (1995). Genres: ...' -> title
            return [str(n).split('. Genres:')[0] for n in names[:I]]
    return [f'item {i}' for i in range(I)]


@torch.no_grad()
def render_case_study(model, name, data, split, kg_tr, item_to_entity, device,
                      max_users: int = 300, show: int = 4, max_history: int = 30) -> str:
    r"""A Figure-6-like case study: a user's history, the preferences KTUP induces,
    and recommended items with the KG paths that connect them to the history."""
    I = data.num_items
    titles = _titles(data, I)
    ent_ids = list(getattr(data, 'entity_ids', []) or [])
    names = list(getattr(data, 'entity_names', []) or [])  # e.g. FB15k names, else None
    entity_names = [titles[e] if e < I else (
        names[e] if e < len(names) and names[e] else
        (ent_ids[e] if e < len(ent_ids) else f'entity {e}'))
        for e in range(data['entity'].num_nodes)]
    explainer = KTUPExplainer(model, split.train, kg_tr[[0, 2]].cpu(), kg_tr[1].cpu(),
                              relation_names=list(data.relation_names), item_names=titles,
                              entity_names=entity_names, item_to_entity=item_to_entity,
                              top_preferences=2, max_paths=3)
    test_items: Dict[int, set] = {}
    for u, i in split.test.t().tolist():
        test_items.setdefault(u, set()).add(i)
    model.eval()
    best = None
    # like Figure 6, a user with a short history (readable), among the first users
    users = [u for u in sorted(test_items) if len(explainer.history[u]) <= max_history]
    users = users[:max_users]
    for start in range(0, len(users), 64):
        us = torch.tensor(users[start:start + 64], device=device)
        top = model.recommend(us, 10, split.exclude('test').to(device)).cpu()
        for u, items in zip(us.tolist(), top.tolist()):
            exps = [explainer.explain(u, i) for i in items]
            with_path = [e for e in exps if e.paths]
            hits = sum(e.item in test_items[u] for e in with_path)
            key = (min(len(with_path), show), hits)
            if best is None or key > best[0]:
                best = (key, u, with_path[:show])
    if best is None or not best[2]:
        return f'Case study ({name}): no recommended item has a KG path to its user\'s history.'
    _, u, exps = best
    hist = explainer.history[u]
    lines = [f'Case study ({name}, like Figure 6 of the paper), user {u} with {len(hist)} '
             'training items; entities without names in the data are shown by their ids.']
    prefs = ', '.join(f'{p.name} ({p.weight:.2f})' for p in exps[0].user_preferences)
    lines.append(f'  induced preferences over the history: {prefs}')
    lines.append('  history: ' + '; '.join(titles[i] for i in hist[:12])
                 + (' ...' if len(hist) > 12 else ''))
    for e in exps:
        mark = ' [in the user\'s test set]' if e.item in test_items[u] else ''
        lines.append(f'- recommended: {titles[e.item]}{mark}')
        lines.extend('  ' + line for line in e.render().splitlines()[1:]
                     if 'user preferences' not in line)
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
