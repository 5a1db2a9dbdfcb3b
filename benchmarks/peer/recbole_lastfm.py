r"""RecBole 1.2.1 on our exported Last.FM split: seconds per training epoch, seconds
per full-ranking evaluation, peak RSS (the peer side of ``speed_vs_recbole.py``).

Run by the Python of a *separate* environment that has RecBole installed; this
script never imports ``torch_geometric_kgrec`` and RecBole is never a dependency of
the library. ``benchmarks/speed_vs_recbole.py`` calls it once per model and repeat::

    /work/recbole-venv/bin/python benchmarks/peer/recbole_lastfm.py \
        --data EXPORT_DIR --model KGIN --layers 3 --out kgin.json

``--data`` is a folder written by ``speed_vs_recbole.py --export``: ``train.tsv``,
``val.tsv``, ``test.tsv`` (``user<TAB>item``, one header line), ``kg.tsv``
(``head<TAB>relation<TAB>tail``; item ``i`` is entity ``i``) and ``meta.json``. They
become RecBole atomic files (``lastfm.{train,valid,test}.inter`` read through
``benchmark_filename``, ``lastfm.kg``, ``lastfm.link``) in ``--workdir``, so RecBole
trains on exactly our training interactions and KG and evaluates on our test split
(its history mask: training + validation interactions, as ours).

Measured in this process, 1 torch thread, RecBole's own samplers and data loaders:

* ``train_epoch_s``: seconds of one ``trainer._train_epoch`` (for KGAT / MKR /
  KTUP their trainer's epoch: KGAT = CF pass + TransR pass + attention update), after
  ``--warmup`` untimed epochs, min over ``--repeats`` epochs;
* ``eval_s``: seconds of one ``trainer.evaluate(test_data)`` (full ranking, Recall /
  NDCG@20) for each ``--eval-users`` value: users per evaluation batch, RecBole's
  ``eval_batch_size`` being set to that many users times the number of items (``0``
  = RecBole's default ``eval_batch_size`` of 4,096 *scores*, i.e. one Last.FM user),
  in increasing order, after one untimed evaluation at the first value
  (``--eval-warmup``); the propagated embeddings that KGIN / KGAT cache in
  ``restore_user_e`` / ``restore_entity_e`` are dropped before each timed evaluation,
  so that it includes the propagation, as after a training epoch in RecBole (and as
  ours, whose propagation cache is cleared too);
* ``peak_rss_mib``: ``ru_maxrss`` after training and after each evaluation (the peak
  up to and including that batch, because batches run in increasing order).

Runtime patches (RecBole 1.2.1 predates numpy 2 and torch 2.6; no RecBole code is
copied, only module attributes are added or wrapped before RecBole is imported):

* numpy 2 removed ``np.float_``, ``np.complex_``, ``np.unicode_`` and ``np.bool8``;
  ``Config.compatibility_settings`` (``recbole/config/configurator.py``) reads the first
  three and would raise ``AttributeError``; they are set to ``np.float64``,
  ``np.complex128``, ``np.str_`` and ``np.bool_``.
* torch >= 2.6 defaults ``torch.load(weights_only=True)``, which refuses RecBole's
  checkpoints (they pickle its ``Config``). This script never loads a checkpoint
  (``evaluate(load_best_model=False)``, no saved datasets), so nothing is patched;
  ``--patch-torch-load`` wraps ``torch.load`` with ``weights_only=False`` for runs that do.
* ``recbole.quick_start`` imports ``ray``, whose 2.6 release needs ``pkg_resources``
  (setuptools < 81) and ``np.bool8``; this script does not import ``quick_start``.
"""
import argparse
import json
import os
import os.path as osp
import platform
import resource
import sys
import time


def patch_numpy() -> list:
    r"""Restore the numpy 1 aliases RecBole 1.2.1 reads (see the module docstring)."""
    import numpy as np
    patched = []
    for name, value in (('float_', np.float64), ('complex_', np.complex128),
                        ('unicode_', np.str_), ('bool8', np.bool_)):
        if not hasattr(np, name):
            setattr(np, name, value)
            patched.append(f'np.{name}')
    return patched


def patch_scipy() -> list:
    r"""scipy >= 1.12 keeps a ``dok_matrix``'s entries in ``_dict`` and dropped the
    private ``dok_matrix._update`` that RecBole's KGIN (``get_norm_inter_matrix``) calls;
    it is added back as an update of ``_dict`` (the bulk insert it was)."""
    import scipy.sparse as sp
    if hasattr(sp.dok_matrix, '_update'):
        return []

    def _update(self, data):
        self._dict.update(data)

    sp.dok_matrix._update = _update
    return ['scipy.sparse.dok_matrix._update']


def patch_dgl() -> list:
    r"""RecBole's KGAT builds its graph with the DGL API of 2021: ``dgl.edge_subgraph(
    g, edges, preserve_nodes=True)`` and ``g.adjacency_matrix(transpose=False,
    scipy_fmt='coo')``. DGL 1.x (1.1.3 here: the oldest wheel for Python 3.11, no
    ``graphbolt`` extension tied to a torch version) renamed them to
    ``relabel_nodes=False`` and ``g.adj_external(...)``; both old spellings are
    forwarded to the new ones."""
    import importlib.util
    if importlib.util.find_spec('dgl') is None:
        return []
    import functools

    import dgl
    patched = []
    inner = dgl.edge_subgraph
    if not getattr(inner, '_recbole_peer', False):
        @functools.wraps(inner)
        def edge_subgraph(graph, edges, *, preserve_nodes=None, **kwargs):
            if preserve_nodes is not None:
                kwargs.setdefault('relabel_nodes', not preserve_nodes)
            return inner(graph, edges, **kwargs)

        edge_subgraph._recbole_peer = True
        dgl.edge_subgraph = edge_subgraph
        patched.append('dgl.edge_subgraph(preserve_nodes=)')
    cls = dgl.DGLGraph
    adj = cls.adjacency_matrix
    if not getattr(adj, '_recbole_peer', False):
        def adjacency_matrix(self, *args, **kwargs):
            if args or {'transpose', 'scipy_fmt', 'ctx'} & set(kwargs):
                return self.adj_external(*args, **kwargs)
            return adj(self, **kwargs)

        adjacency_matrix._recbole_peer = True
        cls.adjacency_matrix = adjacency_matrix
        patched.append('DGLGraph.adjacency_matrix(transpose=, scipy_fmt=) -> adj_external')
    return patched


def patch_torch_scatter() -> list:
    r"""RecBole's KGIN imports ``scatter_mean`` from ``torch_scatter``, which has no
    wheel for torch 2.13 (a source build needs a compiler and tens of minutes). When it
    is not importable, a module ``torch_scatter`` with ``scatter_mean`` (dim 0, as KGIN
    calls it) on torch's own ``index_add_`` is registered: the sum over each index
    divided by its count clamped at 1, torch_scatter's definition."""
    import importlib.util
    import types
    if importlib.util.find_spec('torch_scatter') is not None:
        return []
    import torch

    def scatter_mean(src, index, dim=-1, out=None, dim_size=None):
        if dim not in (0, -src.dim()) or out is not None:
            raise NotImplementedError('this scatter_mean stub supports dim=0 only')
        size = int(index.max()) + 1 if dim_size is None else dim_size
        total = src.new_zeros((size, ) + src.shape[1:]).index_add_(0, index, src)
        count = torch.bincount(index, minlength=size).clamp_(min=1).to(src.dtype)
        return total / count.view((-1, ) + (1, ) * (src.dim() - 1))

    module = types.ModuleType('torch_scatter')
    module.scatter_mean = scatter_mean
    sys.modules['torch_scatter'] = module
    return ['torch_scatter.scatter_mean (stub on torch.index_add_)']


def patch_torch_load() -> str:
    import functools

    import torch
    torch.load = functools.partial(torch.load, weights_only=False)
    return 'torch.load(weights_only=False)'


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_tsv(path: str, columns: int) -> list:
    r"""Rows of integers of a TSV file with one header line; an error names the file
    and the line of a malformed row."""
    rows = []
    with open(path) as f:
        next(f, None)
        for lineno, line in enumerate(f, start=2):
            parts = line.rstrip('\n').split('\t')
            if len(parts) != columns or not all(p.lstrip('-').isdigit() for p in parts):
                raise ValueError(f'{path}, line {lineno}: expected {columns} '
                                 f'tab-separated integers, got {line.rstrip()!r}')
            rows.append([int(p) for p in parts])
    return rows


def write_atomic_files(data: str, workdir: str, name: str = 'lastfm',
                       with_kg: bool = True) -> dict:
    r"""Write our exported split as RecBole atomic files under :obj:`workdir/name/`:
    users ``u<id>``, items ``i<id>``, entities ``e<id>``, relations ``r<id>``; an item is
    linked to the entity of the same id (our schema: items are entities ``0 .. I-1``)
    when that entity occurs in the exported KG."""
    with open(osp.join(data, 'meta.json')) as f:
        meta = json.load(f)
    folder = osp.join(workdir, name)
    os.makedirs(folder, exist_ok=True)
    counts = {}
    for ours, theirs in (('train', 'train'), ('val', 'valid'), ('test', 'test')):
        rows = read_tsv(osp.join(data, f'{ours}.tsv'), 2)
        counts[theirs] = len(rows)
        with open(osp.join(folder, f'{name}.{theirs}.inter'), 'w') as f:
            f.write('user_id:token\titem_id:token\n')
            f.writelines(f'u{u}\ti{i}\n' for u, i in rows)
    if with_kg:
        rows = read_tsv(osp.join(data, 'kg.tsv'), 3)
        counts['kg'] = len(rows)
        with open(osp.join(folder, f'{name}.kg'), 'w') as f:
            f.write('head_id:token\trelation_id:token\ttail_id:token\n')
            f.writelines(f'e{h}\tr{r}\te{t}\n' for h, r, t in rows)
        # RecBole links an item only to an entity that occurs in the KG (an item whose
        # entity has no triple, e.g. KTUP's training part of the KG, stays unlinked, as
        # in ours: ``item_to_entity = -1``)
        in_kg = {h for h, _, _ in rows} | {t for _, _, t in rows}
        linked = [i for i in range(meta['num_items']) if i in in_kg]
        counts['link'] = len(linked)
        with open(osp.join(folder, f'{name}.link'), 'w') as f:
            f.write('item_id:token\tentity_id:token\n')
            f.writelines(f'i{i}\te{i}\n' for i in linked)
    return {'meta': meta, 'rows': counts}


#: attributes in which RecBole's graph models cache their propagated embeddings
CACHED = ('restore_user_e', 'restore_item_e', 'restore_entity_e')


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data', required=True, help='folder written by speed_vs_recbole.py --export')
    p.add_argument('--model', required=True, choices=['BPR', 'KGIN', 'KGAT', 'KGCN', 'KTUP', 'MKR'])
    p.add_argument('--workdir', default=None, help='folder for the atomic files and RecBole '
                   'logs (default: a fresh temporary folder)')
    p.add_argument('--dim', type=int, default=64, help='embedding_size (and kg_embedding_size)')
    p.add_argument('--batch-size', type=int, default=2048, help='train_batch_size')
    p.add_argument('--layers', type=int, default=None, help='KGIN context_hops, KGAT '
                   'len(layers), KGCN n_iter, MKR low_layers_num (default: RecBole\'s)')
    p.add_argument('--neighbors', type=int, default=None, help='KGCN neighbor_sample_size')
    p.add_argument('--param', action='append', default=[], metavar='KEY=VALUE',
                   help='any other RecBole config value (VALUE parsed as JSON when it can be)')
    p.add_argument('--warmup', type=int, default=1, help='untimed training epochs first')
    p.add_argument('--repeats', type=int, default=1, help='timed training epochs (min reported)')
    p.add_argument('--unit', type=int, default=1,
                   help='consecutive _train_epoch calls timed as one unit (MKR: its '
                   'kge_interval, so that one KGE pass is included; KTUP: 2 = one '
                   'recommendation epoch + one KG epoch)')
    p.add_argument('--divide', action='store_true',
                   help='report the unit\'s seconds divided by --unit (per epoch)')
    p.add_argument('--epoch-index', type=int, default=None,
                   help='epoch_idx passed to every _train_epoch (default: the running '
                   'count; KTUP/MKR trainers choose their phase from it)')
    p.add_argument('--eval-users', default='0,256,1024,4096',
                   help='users per full-ranking evaluation batch, comma separated, '
                   '0 = RecBole\'s default eval_batch_size (4,096 scores); empty: no evaluation')
    p.add_argument('--eval-warmup', type=int, default=1, choices=[0, 1],
                   help='one untimed evaluation at the first --eval-users value first')
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--patch-torch-load', action='store_true',
                   help='wrap torch.load with weights_only=False (not needed here)')
    p.add_argument('--out', default=None, help='write the JSON result here')
    args = p.parse_args()
    args.data = osp.abspath(args.data)
    args.out = osp.abspath(args.out) if args.out else None

    patches = patch_numpy() + patch_scipy() + patch_torch_scatter()
    import numpy as np
    import torch
    if args.patch_torch_load:
        patches.append(patch_torch_load())
    torch.set_num_threads(args.threads)
    patches += patch_dgl()
    import recbole
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    import tempfile
    workdir = args.workdir or tempfile.mkdtemp(prefix='recbole_lastfm_')
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)  # RecBole writes log/, log_tensorboard/ and saved/ under the cwd
    with_kg = args.model != 'BPR'
    t0 = time.perf_counter()
    written = write_atomic_files(args.data, workdir, with_kg=with_kg)

    load_col = {'inter': ['user_id', 'item_id']}
    if with_kg:
        load_col.update(kg=['head_id', 'relation_id', 'tail_id'],
                        link=['item_id', 'entity_id'])
    cfg = {
        'data_path': workdir, 'benchmark_filename': ['train', 'valid', 'test'],
        'load_col': load_col, 'USER_ID_FIELD': 'user_id', 'ITEM_ID_FIELD': 'item_id',
        'embedding_size': args.dim, 'train_batch_size': args.batch_size,
        'epochs': 1, 'seed': args.seed, 'reproducibility': True, 'use_gpu': False,
        'device': 'cpu', 'worker': 0, 'show_progress': False, 'state': 'WARNING',
        'save_dataset': False, 'save_dataloaders': False, 'log_wandb': False,
        'checkpoint_dir': osp.join(workdir, 'saved'),
        'metrics': ['Recall', 'NDCG'], 'topk': [20], 'valid_metric': 'Recall@20',
        'eval_args': {'group_by': 'user', 'order': 'RO', 'mode': 'full'},
    }
    if with_kg and args.model in ('KGAT', 'MKR'):
        cfg['kg_embedding_size'] = args.dim
    if args.layers is not None:
        key = {'KGIN': 'context_hops', 'KGAT': 'layers', 'KGCN': 'n_iter',
               'MKR': 'low_layers_num'}.get(args.model)
        if key is None:
            raise SystemExit(f'--layers has no meaning for {args.model}')
        cfg[key] = [args.dim] * args.layers if key == 'layers' else args.layers
    if args.neighbors is not None:
        cfg['neighbor_sample_size'] = args.neighbors
    for item in args.param:
        key, _, value = item.partition('=')
        cfg[key] = parse_value(value)

    argv, sys.argv = list(sys.argv), sys.argv[:1]  # RecBole's Config parses --key=value too
    config = Config(model=args.model, dataset='lastfm', config_dict=cfg)
    torch.set_num_threads(args.threads)  # after RecBole's own initialisation
    init_seed(config['seed'], config['reproducibility'])
    dataset = create_dataset(config)
    train_data, _, test_data = data_preparation(config, dataset)
    init_seed(config['seed'] + config['local_rank'], config['reproducibility'])
    model = get_model(config['model'])(config, train_data._dataset).to(config['device'])
    trainer = get_trainer(config['MODEL_TYPE'], config['model'])(config, model)
    setup_s = time.perf_counter() - t0
    num_items = test_data._dataset.item_num  # includes RecBole's padding item 0

    epochs, losses, batches, count = [], [], [], 0
    for e in range(args.warmup + args.repeats):
        t = time.perf_counter()
        for _ in range(args.unit):
            idx = count if args.epoch_index is None else args.epoch_index
            losses.append(trainer._train_epoch(train_data, idx, show_progress=False))
            batches.append(len(train_data))  # in the mode the trainer left it in
            count += 1
        dt = (time.perf_counter() - t) / (args.unit if args.divide else 1)
        if e >= args.warmup:
            epochs.append(dt)
    rss_train = peak_rss_mib()

    evals = []
    users = [int(u) for u in args.eval_users.split(',') if u.strip()]
    users.sort(key=lambda u: (u > 0, u))  # default (0) first, then increasing
    default_batch = config['eval_batch_size']

    def loader(u: int):
        config['eval_batch_size'] = default_batch if u == 0 else u * num_items
        trainer.test_batch_size = config['eval_batch_size']  # as if configured so
        return type(test_data)(config, test_data._dataset, test_data._sampler,
                               shuffle=False)

    def drop_cache(net) -> None:
        # KGIN / KGAT keep the propagated embeddings of their first full_sort_predict
        # (restore_*_e) until the next training step; RecBole evaluates after an epoch,
        # so its evaluation includes the propagation, as ours does (clear_cache)
        for name in CACHED:
            if getattr(net, name, None) is not None:
                setattr(net, name, None)

    for n, u in enumerate(users):
        data = loader(u)
        if n == 0 and args.eval_warmup:
            trainer.evaluate(data, load_best_model=False, show_progress=False)  # warm-up
        drop_cache(model)
        t = time.perf_counter()
        result = trainer.evaluate(data, load_best_model=False, show_progress=False)
        dt = time.perf_counter() - t
        evals.append({'eval_users': u, 'eval_batch_size': config['eval_batch_size'],
                      'users_per_batch': data.step, 'batches': len(data), 'seconds': dt,
                      'peak_rss_mib': peak_rss_mib(),
                      'metrics': {k: float(v) for k, v in dict(result).items()}})
        print(f'{args.model}: eval {u or "default"} users/batch '
              f'(eval_batch_size {config["eval_batch_size"]}, {data.step} users x '
              f'{num_items} items per batch): {dt:.3f} s, {dict(result)}', flush=True)

    best = min(evals, key=lambda r: r['seconds']) if evals else None
    doc = {
        'side': 'recbole',
        'model': args.model,
        'command': ' '.join([osp.basename(sys.executable)] + argv),
        'config': {k: cfg[k] for k in sorted(cfg) if k not in ('data_path', 'checkpoint_dir')},
        'recbole_config': {k: (config[k] if isinstance(config[k], (int, float, str, bool,
                                                                     list, type(None)))
                               else str(config[k]))
                           for k in ('embedding_size', 'train_batch_size', 'context_hops',
                                     'n_factors', 'ind', 'layers', 'n_iter',
                                     'neighbor_sample_size', 'aggregator',
                                     'low_layers_num', 'high_layers_num', 'kge_interval',
                                     'use_st_gumbel', 'L1_flag', 'train_rec_step',
                                     'train_kg_step', 'node_dropout_rate',
                                     'mess_dropout_rate', 'mess_dropout',
                                     'train_neg_sample_args', 'kg_reverse_r')
                           if k in config},
        'data': {**written['rows'], 'users': dataset.user_num - 1,
                 'items': dataset.item_num - 1,
                 'entities': getattr(dataset, 'entity_num', 1) - 1 if with_kg else None,
                 'relations': getattr(dataset, 'relation_num', 1) - 1 if with_kg else None,
                 'train_batches': len(train_data)},
        'threads': torch.get_num_threads(),
        'warmup': args.warmup,
        'unit': args.unit, 'divide': args.divide,
        'train_epoch_s_all': epochs,
        'train_epoch_s': min(epochs) if epochs else None,
        'train_batches_per_call': batches,
        'train_loss': [l if isinstance(l, (int, float)) else list(l) if l else None
                       for l in losses],
        'eval': evals,
        'eval_default_s': evals[0]['seconds'] if evals and users[0] == 0 else None,
        'eval_best_s': best['seconds'] if best else None,
        'eval_best_users': best['eval_users'] if best else None,
        'peak_rss_train_mib': rss_train,
        'peak_rss_best_eval_mib': best['peak_rss_mib'] if best else rss_train,
        'peak_rss_mib': peak_rss_mib(),
        'setup_s': setup_s,
        'patches': patches,
        'versions': {'recbole': recbole.__version__, 'torch': torch.__version__,
                     'numpy': np.__version__, 'python': platform.python_version()},
    }
    print(f'{args.model}: train epoch {doc["train_epoch_s"]:.3f} s (min of {len(epochs)}), '
          f'best eval {doc["eval_best_s"]} s at {doc["eval_best_users"]} users/batch, '
          f'peak RSS {doc["peak_rss_mib"]:.0f} MiB', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(doc, f, indent=2)


if __name__ == '__main__':
    main()
