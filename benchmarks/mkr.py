r"""MKR (Wang et al., WWW 2019) under the CTR protocol and full-ranking top-K.

Protocol (the paper's): labelled (user, item) pairs split 6:2:2 at random
(``ctr_split``; Book-Crossing uses the file's labelled negatives, Last.FM one sampled
never-listened artist per positive); alternating training of the recommendation task
(binary cross-entropy, optimiser 1, ``--lr-rs``) and the KGE task (optimiser 2,
``--lr-kge``) on the KG triples whose head is an item (MKR pairs each head with its item);
model selection and early stopping on *validation* AUC; test AUC / ACC / F1 over the whole
test split; then Precision / Recall / NDCG @ {1, 2, 5, 10, 20, 50, 100} ranking *all*
items for every user with a test positive (or a seeded sample of ``--eval-users``), the
user's training positives masked, test positives as ground truth.

Schedule (Algorithm 1, ``t = --kge-interval``): ``--schedule epoch`` (default) is the
authors' code: every epoch is one pass over the training pairs, and every ``t``-th epoch
(1st, (t+1)-th, ...) also one pass over the KG triples; ``--schedule step`` is Algorithm 1
read literally: one KGE minibatch after every ``t`` RS minibatches.

    python benchmarks/mkr.py --dataset lastfm --seeds 3 --out mkr-lastfm.json
    python benchmarks/mkr.py --dataset book-crossing --seeds 3 --out mkr-book.json
"""
from functools import partial
from typing import Callable, Dict

import torch
from torch import Tensor

from torch_geometric_kgrec.benchmark import (add_ctr_arguments, aggregate, base_parser,
                                             checkpoint_kwargs, evaluate_ctr_split,
                                             format_table, load_dataset, predict_pairs,
                                             write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.metrics import ctr_metrics
from torch_geometric_kgrec.nn import MKR
from torch_geometric_kgrec.protocols import ctr_split
from torch_geometric_kgrec.train import peak_memory_mb, run_training, seed_everything

KS = (1, 2, 5, 10, 20, 50, 100)
# The authors' settings (paper Table 1 + hwwang55/MKR src/main.py; K = H = 1,
# inner-product f_RS, lambda_2 = 1e-6 for every dataset).
DEFAULTS = {
    'lastfm': dict(dim=4, L=2, H=1, batch_size=256, lr_rs=1e-3, lr_kge=2e-4,
                   kge_interval=2, l2=1e-6),
    'book-crossing': dict(dim=8, L=1, H=1, batch_size=32, lr_rs=2e-4, lr_kge=2e-5,
                          kge_interval=2, l2=1e-6),
}
# Paper Table 2 (CTR, AUC / ACC, mean of 3 runs). Top-K values are only plotted
# (Figures 4-5), not legible in the text; none are printed.
PAPER = {
    'lastfm': {'MKR': {'auc': 0.797, 'acc': 0.752}, 'MKR-1L': {'auc': 0.795, 'acc': 0.749},
               'MKR-DCN': {'auc': 0.778, 'acc': 0.730},
               'MKR-stitch': {'auc': 0.772, 'acc': 0.725}},
    'book-crossing': {'MKR': {'auc': 0.734, 'acc': 0.704},
                      'MKR-DCN': {'auc': 0.705, 'acc': 0.676},
                      'MKR-stitch': {'auc': 0.721, 'acc': 0.682}},
}
NOTES = {
    'book-crossing': 'MKR used its own Satori book KG (19,793 triples); ours is the '
                     'RippleNet/KGCN file, whose item-head triples are used for the KGE task',
}
CTR_COLUMNS = ['auc', 'acc', 'f1']
RANK_COLUMNS = [f'{m}@{k}' for m in ('precision', 'recall', 'ndcg') for k in (1, 5, 10, 50)]
PROTOCOL = ('CTR 6:2:2 random split of labelled pairs (ctr_split); alternating RS (BCE) / '
            'KGE training with two Adam optimisers; model selection on validation AUC; test '
            'AUC/ACC/F1 over the whole test split (threshold 0.5); top-K full ranking of all '
            'items, training positives masked, test positives as ground truth')


def model_name(args) -> str:
    if args.variant != 'mkr':
        return f'MKR-{args.variant.upper() if args.variant == "dcn" else args.variant}'
    return 'MKR-1L' if args.L == 1 and args.dataset == 'lastfm' else 'MKR'


def make_train_epoch(model: MKR, opt_rs, opt_kge, train: Tensor, y_train: Tensor,
                     triples: Tensor, num_entities: int, args,
                     gen: torch.Generator) -> Callable[[int], Dict[str, float]]:
    r"""One training epoch of this benchmark (also timed by ``ours_speed.py``): the
    alternating RS / KGE steps of ``--schedule`` (``epoch``: a pass over the labelled
    training pairs, and on every ``--kge-interval``-th epoch a pass over the KG
    triples; ``step``: one KGE minibatch after every ``t`` RS minibatches)."""
    device = train.device

    def rs_step(idx):
        opt_rs.zero_grad()
        loss = model.recommendation_loss(train[0, idx], train[1, idx], y_train[idx],
                                         l2_weight=args.l2)
        loss.backward()
        opt_rs.step()
        return loss.item()

    def kge_step(idx):
        h, r, t = triples[:, idx]
        neg = (torch.randint(num_entities, t.shape, generator=gen).to(device)
               if args.kge_negatives else None)
        opt_kge.zero_grad()
        loss = model.kge_loss(h, r, t, neg, l2_weight=args.l2)
        loss.backward()
        opt_kge.step()
        return loss.item()

    def batches(n):
        return torch.randperm(n, generator=gen).to(device).split(args.batch_size)

    def train_epoch(epoch: int):
        rs_loss, kge_loss, n_kge = 0.0, 0.0, 0
        if args.schedule == 'epoch':
            for idx in batches(train.size(1)):
                rs_loss += rs_step(idx) * idx.numel()
            if (epoch - 1) % args.kge_interval == 0:
                for idx in batches(triples.size(1)):
                    kge_loss += kge_step(idx) * idx.numel()
                    n_kge += idx.numel()
        else:
            kg_batches = iter(())
            for step, idx in enumerate(batches(train.size(1)), start=1):
                rs_loss += rs_step(idx) * idx.numel()
                if step % args.kge_interval == 0:
                    kidx = next(kg_batches, None)
                    if kidx is None:
                        kg_batches = iter(batches(triples.size(1)))
                        kidx = next(kg_batches)
                    kge_loss += kge_step(kidx) * kidx.numel()
                    n_kge += kidx.numel()
        return {'loss': rs_loss / train.size(1),
                'kge_loss': kge_loss / n_kge if n_kge else float('nan')}

    return train_epoch


def item_head_triples(data) -> Tensor:
    r"""The KG triples :obj:`[3, T]` (head, relation, tail) whose head is an item: MKR
    pairs each head with its item (:math:`S(h) = \{h\}`)."""
    kg = data['entity', 'kg', 'entity']
    keep = kg.edge_index[0] < data.num_items
    return torch.stack([kg.edge_index[0, keep], kg.edge_type[keep], kg.edge_index[1, keep]])


def main() -> None:
    p = base_parser(__doc__, default_dataset='lastfm', default_epochs=50)
    p.add_argument('--dim', type=int, default=None,
                   help="embedding size d (unset: the paper's value for the dataset)")
    p.add_argument('--L', type=int, default=None, help="number of cross&compress units (unset: the paper's value)")
    p.add_argument('--H', type=int, default=None, help="layers of the high-level MLPs (unset: the paper's value)")
    p.add_argument('--predictor', default='inner_product', choices=['inner_product', 'mlp'],
                   help='CTR score: inner product of user and item vectors, or an MLP')
    p.add_argument('--variant', default='mkr', choices=['mkr', 'dcn', 'stitch'],
                   help='the cross unit: MKR cross&compress, or the DCN / cross-stitch '
                   'baselines of the paper')
    p.add_argument('--batch-size', type=int, default=None,
                   help="labelled pairs per step (unset: the paper's value)")
    p.add_argument('--lr-rs', type=float, default=None,
                   help="learning rate of the recommendation steps (unset: the paper's value)")
    p.add_argument('--lr-kge', type=float, default=None,
                   help="learning rate of the KGE steps (unset: the paper's value)")
    p.add_argument('--l2', type=float, default=None, help="L2 weight lambda_2 (unset: the paper's value)")
    p.add_argument('--kge-interval', type=int, default=None, help="KGE step every t recommendation steps, t of Algorithm 1 (unset: the paper's value)")
    p.add_argument('--schedule', default='epoch', choices=['epoch', 'step'],
                   help="alternate RS and KGE per epoch (the authors' code) or per step")
    p.add_argument('--kge-negatives', action='store_true',
                   help='add one corrupted tail per true triple to the KGE loss (eq. 9; '
                   "the authors' code uses true triples only)")
    add_ctr_arguments(p)
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads (MKR\'s layers are tiny: more threads only add '
                   'synchronisation overhead, badly so on a shared CPU)')
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    for key, value in DEFAULTS.get(args.dataset, DEFAULTS['lastfm']).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    device = torch.device(args.device)
    name = model_name(args)

    data = load_dataset(args.dataset, args.root, link=args.link)
    stats = kgrec_stats(data)
    print(f'{args.dataset}: {stats}')
    num_users, num_items = data['user'].num_nodes, data.num_items
    num_entities, num_relations = data['entity'].num_nodes, len(data.relation_names)
    kg = data['entity', 'kg', 'entity']
    triples = item_head_triples(data).to(device)
    print(f'{name}: d={args.dim} L={args.L} H={args.H} predictor={args.predictor} '
          f'batch={args.batch_size} lr_rs={args.lr_rs} lr_kge={args.lr_kge} l2={args.l2} '
          f't={args.kge_interval} schedule={args.schedule}; KGE on {triples.size(1)} of '
          f'{kg.edge_index.size(1)} triples (heads that are items)')

    rows, timing, eval_seconds, histories, pop_rows = [], [], [], [], []
    for seed in range(args.seed, args.seed + args.seeds):
        seed_everything(seed)
        split = ctr_split(data, seed=seed)
        train, val, test = (s.edge_index.to(device) for s in (split.train, split.val,
                                                              split.test))
        y_train, y_val, y_test = (s.label.to(device) for s in (split.train, split.val,
                                                               split.test))
        model = MKR(num_users, num_items, num_entities, num_relations, embedding_dim=args.dim,
                    num_low_layers=args.L, num_high_layers=args.H, predictor=args.predictor,
                    variant=args.variant).to(device)
        opt_rs = torch.optim.Adam(model.rs_parameters(), lr=args.lr_rs)
        opt_kge = torch.optim.Adam(model.kge_parameters(), lr=args.lr_kge)
        gen = torch.Generator(device='cpu').manual_seed(seed)

        train_epoch = make_train_epoch(model, opt_rs, opt_kge, train, y_train, triples,
                                       num_entities, args, gen)

        def ctr(pairs, labels):
            return ctr_metrics(predict_pairs(model.score, pairs), labels)

        result = run_training(model, train_epoch, lambda: ctr(val, y_val), args.epochs,
                              monitor='auc', patience=args.patience,
                              progress=not args.no_progress, desc=f'{name} seed {seed}',
                              state={'opt_rs': opt_rs, 'opt_kge': opt_kge, 'generator': gen},
                              **checkpoint_kwargs(args, f'{name} seed {seed}'))
        model.eval()
        with torch.no_grad():  # the item tower runs once for all items
            score_all = partial(model.score_all, item_vectors=model.item_vectors())
        metrics, pop_metrics, seconds = evaluate_ctr_split(
            model.score, score_all, train, y_train, test, y_test, num_users, num_items, KS,
            args, seed, ranking_batch_size=1024, train_result=result)
        if seconds is not None:
            eval_seconds.append(seconds)
        pop_rows.append(pop_metrics)
        rows.append(metrics)
        timing.append(result.seconds_per_epoch)
        histories.append(result.history)

    paper = PAPER.get(args.dataset, {})
    results = {name: {
        'per_seed': rows,
        'mean_std': aggregate(rows),
        'seconds_per_epoch': sum(timing) / len(timing),
        'ranking_seconds': (sum(eval_seconds) / len(eval_seconds)) if eval_seconds else None,
        'history': histories,
    }, 'Popularity': {'per_seed': pop_rows, 'mean_std': aggregate(pop_rows)}}
    seeds = f'seeds {args.seed}..{args.seed + args.seeds - 1}'
    print(f'\n{args.dataset} — {PROTOCOL}; {seeds}')
    paper_rows = {name: paper[name]} if name in paper else None
    tables = {n: r['mean_std'] for n, r in results.items()}
    print(format_table(tables, CTR_COLUMNS, paper_rows))
    if not args.no_ranking:
        print(format_table(tables, RANK_COLUMNS))
        print('paper top-K (Precision/Recall@K): only plotted in Figures 4-5, not legible')
    print('paper: Wang et al. (WWW 2019) Table 2, mean of 3 runs'
          + (f"; note: {NOTES[args.dataset]}" if args.dataset in NOTES else ''))
    print(f"seconds/epoch: {results[name]['seconds_per_epoch']:.2f} on {device} "
          f'({torch.get_num_threads()} threads); peak memory {peak_memory_mb(device):.0f} MiB')
    write_result(args.out, args=args, data_stats=stats, results=results, protocol=PROTOCOL,
                 paper={'source': 'Wang et al. (WWW 2019), Table 2', **paper},
                 extra={'peak_memory_mb': peak_memory_mb(device),
                        'kge_triples': int(triples.size(1)),
                        'note': NOTES.get(args.dataset, '')})


if __name__ == '__main__':
    main()
