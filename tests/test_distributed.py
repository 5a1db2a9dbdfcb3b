r"""Data-parallel training and sharded evaluation with 2 gloo processes on the CPU.

The tests start 2 processes with :func:`torch.multiprocessing.start_processes`
(:obj:`fork` by default, :obj:`KGREC_TEST_START_METHOD=spawn` to re-import in each) on
a free local port and waits for them with a deadline, so a broken
collective fails the test instead of hanging it. The single-process references are
computed in the pytest process and handed to the workers through a file; the workers
assert, and an assertion in a worker fails the test with its traceback.
"""
import os
import socket
import time

import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.distributed import DistEnv, shard_bounds

WORLD_SIZE = 2
DEADLINE = 90.0  # seconds for a whole 2-process test (they take a few seconds)
# fork: the children inherit the imported library (spawn re-imports torch and PyG in
# every child, ~10 s on a busy 2-core machine); torch runs one thread in them.
START_METHOD = os.environ.get('KGREC_TEST_START_METHOD', 'fork')

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason='this PyTorch build has no torch.distributed')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def join_env(rank: int, port: int) -> DistEnv:
    r"""What torchrun sets, then the library's own initialisation."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE),
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from torch_geometric_kgrec.distributed import init_distributed
    return init_distributed('cpu', timeout=DEADLINE)


def launch(fn, *args):
    r"""Run :obj:`fn(rank, port, *args)` on 2 spawned ranks; raise what a rank raised
    (:class:`torch.multiprocessing.ProcessRaisedException`), or fail on the deadline."""
    import torch.multiprocessing as mp
    ctx = mp.start_processes(fn, args=(free_port(), ) + args, nprocs=WORLD_SIZE,
                             join=False, start_method=START_METHOD)
    t0 = time.monotonic()
    while not ctx.join(timeout=1.0):
        if time.monotonic() - t0 > DEADLINE:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f'2-process run did not finish within {DEADLINE} s (hang)')
    return time.monotonic() - t0


# --------------------------------------------------------------------------- problem
def problem():
    g = torch.Generator().manual_seed(0)
    U, E, I, R = 30, 50, 20, 3
    edge_index = torch.randint(0, E, (2, 160), generator=g)
    edge_type = torch.randint(0, R, (160, ), generator=g)
    pairs = torch.stack([torch.randint(0, U, (220, ), generator=g),
                         torch.randint(0, I, (220, ), generator=g)]).unique(dim=1)
    pick = torch.randperm(pairs.size(1), generator=g)
    n_val = pairs.size(1) // 5
    val, train = pairs[:, pick[:n_val]], pairs[:, pick[n_val:]]
    return U, E, I, R, edge_index, edge_type, train, val


def evaluations():
    r"""Full ranking, sampled ranking and KG completion on fixed random scores."""
    from torch_geometric_kgrec.metrics import (evaluate_kg_completion, evaluate_ranking,
                                               sampled_ranking_metrics)
    U, E, I, R, edge_index, edge_type, train, val = problem()
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(U, I, generator=g)
    scores[:, :3] = 0.5  # ties
    out = {'full': evaluate_ranking(lambda u: scores[u], val, train, U, I, ks=(3, 10),
                                    metrics=('precision', 'recall', 'f1', 'ndcg',
                                             'hit_ratio', 'map', 'mrr'), batch_size=4)}
    pos = torch.randn(23, generator=g)
    neg = torch.randn(23, 50, generator=g).round()
    env = _env()
    start, end = shard_bounds(pos.numel(), env.rank, env.world_size)
    out['sampled'] = sampled_ranking_metrics(pos[start:end], neg[start:end], ks=(1, 10))
    emb = torch.randn(E, 4, generator=g).round(decimals=1)
    rel = torch.randn(R, 4, generator=g).round(decimals=1)

    def transe(h, r, t):
        return -(emb[h] + rel[r] - emb[t]).norm(p=1, dim=-1)

    triples = torch.stack([edge_index[0], edge_type, edge_index[1]])
    out['kg'] = evaluate_kg_completion(transe, triples[:, :37], E, filter_triples=triples,
                                       batch_size=5)
    return out


def _env() -> DistEnv:
    from torch_geometric_kgrec.distributed import current_env
    return current_env()


def train_kgin(epochs: int = 3, batch_size: int = 7):
    r"""KGIN (dropout on, replicated propagation) trained by ``run_training`` with a
    sharded global batch of 7 (uneven shards 4 + 3), sharded validation and early
    stopping; returns the final state and the history."""
    from torch_geometric_kgrec.metrics import evaluate_ranking
    from torch_geometric_kgrec.nn.models import KGIN
    from torch_geometric_kgrec.protocols import UniformNegativeSampler
    from torch_geometric_kgrec.train import run_training, seed_everything
    env = _env()
    U, E, I, R, edge_index, edge_type, train, val = problem()
    seed_everything(0)
    model = KGIN(U, E, I, R, edge_index, edge_type, train, embedding_dim=8, num_layers=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    env.attach(model, optimizer)
    sampler = UniformNegativeSampler(train, U, I)
    gen = torch.Generator().manual_seed(0)

    def train_epoch(epoch):
        perm = torch.randperm(train.size(1), generator=gen)
        total = 0.0
        for idx in perm.split(batch_size):
            users, pos = train[0, idx], train[1, idx]
            neg = sampler.sample(users, generator=gen).view(-1)
            users, pos, neg = env.shard(users, pos, neg)
            optimizer.zero_grad()
            loss = model.loss(users, pos, neg)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * idx.numel()
        return total / train.size(1)

    def validate():
        return evaluate_ranking(model.score_all, val, train, U, I, ks=(5, ),
                                metrics=('recall', 'ndcg'), batch_size=4)

    result = run_training(model, train_epoch, validate, epochs, monitor='recall@5',
                          patience=epochs, progress=False)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return state, result


# --------------------------------------------------------------------------- workers
FAILURE = 'rank 1 failed on purpose'


def _worker(rank, port, ref_path):
    env = join_env(rank, port)
    try:
        ref = torch.load(ref_path, weights_only=False)
        assert env.world_size == 2 and env.rank == rank and env.backend == 'gloo'
        got = evaluations()
        for key in ('full', 'sampled', 'kg'):  # bit-identical, on every rank
            assert got[key] == ref['eval'][key], (key, got[key], ref['eval'][key])
        state, result = train_kgin()
        assert result.world_size == 2
        for name, value in ref['state'].items():
            torch.testing.assert_close(state[name], value, rtol=1e-5, atol=1e-6,
                                       msg=f'{name} differs from the 1-process run')
        for mine, theirs in zip(result.history, ref['history']):
            for key in ('val_recall@5', 'val_ndcg@5'):
                assert abs(mine[key] - theirs[key]) <= 1e-6, (key, mine, theirs)
            # The logged loss is the mean over ranks of each rank's shard losses: with
            # shards of 4 and 3 it weights them 1/2 : 1/2, not 4/7 : 3/7.
            assert abs(mine['loss'] - theirs['loss']) <= 0.02 * theirs['loss']
        assert result.best_epoch == ref['best_epoch']
        # Sparse gradients (sparse=True embeddings) are averaged and stay sparse.
        emb = torch.nn.Embedding(4, 2, sparse=True)
        emb(torch.tensor([rank, 2])).sum().backward()
        env.all_reduce_gradients([emb.weight])
        assert emb.weight.grad.is_sparse
        expected = torch.tensor([[.5, .5], [.5, .5], [1., 1.], [0., 0.]])
        assert torch.equal(emb.weight.grad.to_dense(), expected)
        open(f'{ref_path}.rank{rank}.ok', 'w').close()
        # Last: rank 1 dies while rank 0 waits for it in a collective.
        from torch_geometric_kgrec.distributed import all_reduce_sum
        if rank == 1:
            raise RuntimeError(FAILURE)
        all_reduce_sum(torch.ones(1))
        time.sleep(DEADLINE)
    finally:
        from torch_geometric_kgrec.distributed import destroy
        destroy()


# --------------------------------------------------------------------------- tests
@pytest.fixture(scope='module')
def two_process_run(tmp_path_factory):
    r"""One 2-process run (process start-up dominates the cost): the workers check
    equality with the 1-process references, then rank 1 raises :obj:`FAILURE` while
    rank 0 waits in an all-reduce. Returns :obj:`(exception or None, seconds, [rank
    passed its checks])`."""
    import torch.multiprocessing as mp
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = {'eval': evaluations()}
        ref['state'], result = train_kgin()
    finally:
        torch.set_num_threads(threads)
    ref['history'], ref['best_epoch'] = result.history, result.best_epoch
    assert result.world_size == 1
    path = tmp_path_factory.mktemp('ddp') / 'ref.pt'
    torch.save(ref, path)
    t0 = time.monotonic()
    error = None
    try:
        launch(_worker, str(path))
    except mp.ProcessRaisedException as e:
        error = e
    passed = [os.path.exists(f'{path}.rank{r}.ok') for r in range(WORLD_SIZE)]
    return error, time.monotonic() - t0, passed


def test_two_processes_equal_one_process(two_process_run):
    r"""Sharded full / sampled / KG-completion evaluation equals the single-process
    result exactly; after 3 epochs (18 Adam steps, global batch 7 split 4 + 3) of
    seeded data-parallel KGIN training (dropout on) the parameters equal the
    single-process run on the same global batches within rtol 1e-5 / atol 1e-6
    (float32 gradients summed in another order), and so do the validation metrics
    (1e-6) and hence the selected epoch; the logged epoch loss (a mean over ranks)
    within 2%."""
    error, _, passed = two_process_run
    if not all(passed) and error is not None:
        raise error  # an equality check failed in a worker: show its traceback
    assert all(passed)


def test_failing_rank_brings_the_group_down(two_process_run):
    r"""Rank 1 raises while rank 0 waits in a collective: the run ends, well before
    the deadline, with rank 1's error (rank 0 then terminated) or with rank 0's
    collective failing because its peer is gone, instead of hanging."""
    error, seconds, passed = two_process_run
    assert all(passed), 'the workers failed before the deliberate failure'
    assert error is not None and seconds < DEADLINE
    if error.error_index == 1:
        assert FAILURE in str(error)
    else:  # gloo: 'Connection closed by peer' / 'remote worker crashing'
        assert error.error_index == 0 and 'all_reduce' in str(error), str(error)


def test_single_process_env_is_a_no_op():
    env = DistEnv()
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert env.attach(model, optimizer) is None and not env.is_distributed
    x = torch.arange(5)
    assert torch.equal(env.shard(x), x)
    assert env.mean({'loss': 2.0}) == {'loss': 2.0} and env.broadcast(3) == 3
    assert [shard_bounds(7, r, 2) for r in range(2)] == [(0, 4), (4, 7)]
    assert [shard_bounds(2, r, 3) for r in range(3)] == [(0, 1), (1, 2), (2, 2)]
    with pytest.raises(ValueError, match='same length'):
        env.shard(x, x[:2])


# ------------------------------------------------- the benchmarks' loops (issue 13)
def benchmark_loops():
    r"""Tiny seeded runs of loops the benchmarks use under ``torchrun``: MeKB's
    ``train_bpr`` (BPRMF, uneven shards 6 + 5 of a batch of 11) with the sharded
    ``evaluate_cases``; MKR's alternating RS / KGE steps (two attached optimisers,
    ``batch_fraction`` for its summed batch L2); a TransH margin loss summed over the
    batch (``reduction='sum'``) with Adam + SparseAdam stepping together (sparse
    gradients over the union of the ranks' rows); KGCN-CL's eq. 5 with two batches of
    different sizes (``joint_weights``). Returns states and metrics."""
    from torch_geometric_kgrec.mekb import evaluate_cases, train_bpr
    from torch_geometric_kgrec.nn import MKR, BPRMF
    from torch_geometric_kgrec.nn.kge import TransH, margin_loss
    from torch_geometric_kgrec.train import seed_everything
    env = _env()
    U, E, I, R, edge_index, edge_type, train, val = problem()
    out = {}

    seed_everything(0)
    bpr = BPRMF(U, I, 8)
    result = train_bpr(bpr, [(train, I)], lambda b: bpr.loss(*b[0], reg_weight=1e-3), U,
                       epochs=3, batch_size=11, lr=0.05, seed=0)
    g = torch.Generator().manual_seed(3)
    cases = (val[0], val[1], torch.randint(0, I, (val.size(1), 9), generator=g))
    out['bpr'] = {k: v.clone() for k, v in bpr.state_dict().items()}
    out['bpr_loss'] = [r['loss'] for r in result.history]
    out['cases'] = evaluate_cases(bpr, *cases, groups={'even': val[0] % 2 == 0},
                                  ks=(1, 5), chunk_size=4)

    seed_everything(0)
    mkr = MKR(U, I, E, R, embedding_dim=4)
    opt_rs = torch.optim.Adam(mkr.rs_parameters(), lr=0.01)
    opt_kge = torch.optim.Adam(mkr.kge_parameters(), lr=0.01)
    env.attach(mkr, opt_rs, opt_kge)
    labels = (train[1] % 2).float()
    keep = edge_index[0] < I
    triples = torch.stack([edge_index[0, keep], edge_type[keep], edge_index[1, keep]])
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):
        for idx in torch.randperm(train.size(1), generator=gen).split(13):
            batch = env.shard(train[0, idx], train[1, idx], labels[idx])
            opt_rs.zero_grad()
            mkr.recommendation_loss(*batch, l2_weight=0.1,
                                    batch_fraction=env.fraction(idx.numel())).backward()
            opt_rs.step()
        for idx in torch.randperm(triples.size(1), generator=gen).split(9):
            h, r, t = env.shard(*triples[:, idx])
            opt_kge.zero_grad()
            mkr.kge_loss(h, r, t, l2_weight=0.1,
                         batch_fraction=env.fraction(idx.numel())).backward()
            opt_kge.step()
    out['mkr'] = {k: v.clone() for k, v in mkr.state_dict().items()}

    seed_everything(0)
    transh = TransH(E, R, 6, sparse=True)
    opts = [torch.optim.Adam([transh.normal_emb.parametrizations.weight.original], lr=0.01),
            torch.optim.SparseAdam([transh.node_emb.weight, transh.rel_emb.weight], lr=0.01)]
    env.attach(transh, *opts)
    for idx in torch.randperm(edge_index.size(1), generator=gen).split(15):
        nt = torch.randint(0, E, (idx.numel(), ), generator=gen)
        h, r, t, nt = env.shard(edge_index[0, idx], edge_type[idx], edge_index[1, idx], nt,
                                reduction='sum')
        for o in opts:
            o.zero_grad()
        margin_loss(transh(h, r, t), transh(h, r, nt), 1.0, 'sum').backward()
        for o in opts:
            o.step()
    out['transh'] = {k: v.clone() for k, v in transh.state_dict().items()}

    seed_everything(0)
    emb = torch.nn.Embedding(U + I, 4)  # users, then items
    opt = torch.optim.Adam(emb.parameters(), lr=0.01)
    env.attach(emb, opt)
    pairs = U + torch.randint(0, I, (2, 40), generator=gen)
    for step, idx in enumerate(torch.randperm(train.size(1), generator=gen).split(17)):
        j = torch.arange(step * 5, min(step * 5 + 5, 40))  # 5, 5, ..., then empty
        u, i, y = env.shard(train[0, idx], train[1, idx], labels[idx])
        p, y_p = env.shard(pairs[:, j].t(), (j % 2).float())
        g_base, g_cl = env.joint_weights((0.8, 0.2), (idx.numel(), j.numel()))
        loss = g_base * F.binary_cross_entropy_with_logits((emb(u) * emb(U + i)).sum(-1), y)
        if g_cl > 0 and p.numel():
            loss = loss + g_cl * F.binary_cross_entropy_with_logits(
                (emb(p[:, 0]) * emb(p[:, 1])).sum(-1), y_p)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out['joint'] = {k: v.clone() for k, v in emb.state_dict().items()}
    return out


def _loops_worker(rank, port, ref_path):
    join_env(rank, port)
    try:
        ref = torch.load(ref_path, weights_only=False)
        got = benchmark_loops()
        for key in ('bpr', 'mkr', 'transh', 'joint'):
            for name, value in ref[key].items():
                torch.testing.assert_close(got[key][name], value, rtol=1e-5, atol=1e-6,
                                           msg=f'{key}.{name} differs from 1 process')
        for mine, theirs in zip(got['bpr_loss'], ref['bpr_loss']):  # global-batch loss
            assert abs(mine - theirs) <= 1e-6 * abs(theirs), (mine, theirs)
        for k, v in ref['cases'].items():
            assert abs(got['cases'][k] - v) <= 1e-12, (k, got['cases'][k], v)
    finally:
        from torch_geometric_kgrec.distributed import destroy
        destroy()


def test_benchmark_loops_two_processes_equal_one_process(tmp_path):
    r"""The loops of the wired benchmarks (MeKB ``train_bpr`` + sharded
    ``evaluate_cases``; MKR's alternating phases with two optimisers; a summed TransH
    margin loss with Adam + SparseAdam; KGCN-CL's two-batch joint loss) on 2 gloo
    processes give the parameters of 1 process (rtol 1e-5 / atol 1e-6: float32
    gradients summed in another order), the same logged global-batch losses (1e-6
    relative) and the same sampled-ranking metrics."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = benchmark_loops()
    finally:
        torch.set_num_threads(threads)
    path = tmp_path / 'loops.pt'
    torch.save(ref, path)
    launch(_loops_worker, str(path))
