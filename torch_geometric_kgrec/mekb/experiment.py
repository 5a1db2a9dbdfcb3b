r"""Training and evaluation routines of the MeKB-Rec cross-domain protocol, shared by
EmbedMe, its baselines, the tests and ``benchmarks/mekb.py`` (models hold no loop)."""
import math
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.optim.lr_scheduler import LambdaLR

from torch_geometric_kgrec.distributed import current_env, shard_bounds
from torch_geometric_kgrec.metrics import sampled_ranking_metrics
from torch_geometric_kgrec.protocols import UniformNegativeSampler
from torch_geometric_kgrec.train import TrainResult, run_training

__all__ = ['warmup_cosine', 'train_full_softmax', 'train_bpr', 'evaluate_cases']


def warmup_cosine(optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
                  warmup_epochs: int = 1) -> LambdaLR:
    r"""Linear warm-up over the first :obj:`warmup_epochs` epochs, then a cosine decay
    to 0 at the end of training (MeKB-Rec Sec. 4.2: "cosine learning rate schedule
    with first epoch for warm-up"); stepped once per mini-batch."""
    warm = max(1, warmup_epochs * steps_per_epoch)
    total = max(warm + 1, epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warm) / (total - warm))))

    return LambdaLR(optimizer, factor)


def train_full_softmax(model: torch.nn.Module, train: Tensor, epochs: int = 15,
                       batch_size: int = 1024, lr: float = 5e-4, weight_decay: float = 5e-4,
                       warmup_epochs: int = 1,
                       evaluate: Optional[Callable[[], Dict[str, float]]] = None,
                       monitor: str = 'ndcg@10', patience: int = 3, seed: int = 0,
                       progress: bool = False, desc: str = 'train') -> TrainResult:
    r"""Train a dual encoder with a :obj:`loss(users, pos_items)` (full softmax, eq. 9)
    on the target-domain training records :obj:`train` (:obj:`[2, n]`, local items)
    with AdamW (weight decay :obj:`5e-4`; the paper's LAMB has no maintained
    implementation in the environment) and :func:`warmup_cosine`, selecting the epoch
    by :obj:`monitor` on :obj:`evaluate` (validation cases) through
    :func:`~torch_geometric_kgrec.train.run_training`. Under :command:`torchrun` every
    rank draws the same permutation and trains on its shard of each batch (gradients
    all-reduced, :mod:`torch_geometric_kgrec.distributed`)."""
    env = current_env()
    gen = torch.Generator().manual_seed(int(seed))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    env.attach(model, opt)  # data-parallel: same start, gradient all-reduce
    steps = max(1, math.ceil(train.size(1) / batch_size))
    sched = warmup_cosine(opt, steps, epochs, warmup_epochs)
    device = next(model.parameters()).device

    def epoch(_: int) -> float:
        perm = torch.randperm(train.size(1), generator=gen)
        total = 0.0
        for s in range(0, perm.numel(), batch_size):
            idx = perm[s:s + batch_size]
            users, items = env.shard(train[0, idx].to(device), train[1, idx].to(device))
            loss = model.loss(users, items)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += env.loss_share(loss.item()) * idx.numel()
        return total / max(train.size(1), 1)

    return run_training(model, epoch, evaluate, epochs, monitor=monitor, patience=patience,
                        progress=progress, desc=desc)


def train_bpr(model: torch.nn.Module, domains: Sequence[Tuple[Tensor, int]],
              loss: Callable[[List[Tuple[Tensor, Tensor, Tensor]]], Tensor],
              num_users: int, epochs: int = 50, batch_size: int = 2048, lr: float = 1e-3,
              parameters=None, evaluate: Optional[Callable[[], Dict[str, float]]] = None,
              monitor: str = 'ndcg@10', patience: int = 5, seed: int = 0,
              progress: bool = False, desc: str = 'bpr') -> TrainResult:
    r"""BPR training over one or more domains with Adam: every epoch passes once over
    the pairs of :obj:`domains[0]` (``(edge_index [2, n], num_items)``) in batches of
    :obj:`batch_size`, the other domains in as many batches (so each domain is seen
    once per epoch); negatives are drawn uniformly per domain among the user's
    non-positive items (:class:`~torch_geometric_kgrec.protocols.UniformNegativeSampler`,
    built from these training pairs only). :obj:`loss` maps the per-domain
    :obj:`(users, pos, neg)` batches to the loss.

    Under :command:`torchrun` every rank draws the same permutations and negatives and
    trains on its shard of every domain's batch, gradients all-reduced with the share
    of the first domain's batch: exactly the single-process gradient for one domain
    (or when every domain's batch splits in the same proportions); with several
    domains a domain whose batch splits otherwise (e.g. 167 + 166 beside 512 + 512) has
    its rank shares weighted up to :math:`1 / n_d` off."""
    env = current_env()
    gen = torch.Generator().manual_seed(int(seed))
    samplers = [UniformNegativeSampler(e, num_users, n) for e, n in domains]
    params = parameters if parameters is not None else model.parameters()
    opt = torch.optim.Adam([p for p in params if p.requires_grad], lr=lr)
    env.attach(model, opt)  # data-parallel: same start, gradient all-reduce
    n0 = domains[0][0].size(1)
    num_batches = max(1, math.ceil(n0 / batch_size))

    def epoch(_: int) -> float:
        perms, negs = [], []
        for (e, _n), sampler in zip(domains, samplers):
            p = torch.randperm(e.size(1), generator=gen)
            perms.append(p)
            negs.append(sampler.sample(e[0, p], 1, generator=gen).view(-1))
        total = 0.0
        for b in range(num_batches):
            batches, sizes = [], []
            for (e, _n), p, neg in zip(domains, perms, negs):
                size = math.ceil(p.numel() / num_batches)
                sl = slice(b * size, (b + 1) * size)
                batches.append(env.shard(e[0, p[sl]], e[1, p[sl]], neg[sl]))
                sizes.append(p[sl].numel())
            if env.is_distributed and len(batches) > 1:  # the first domain's share
                env.set_gradient_weight(env.fraction(sizes[0]))
            out = loss(batches)
            opt.zero_grad()
            out.backward()
            opt.step()
            total += env.loss_share(out.item())
        return total / num_batches

    return run_training(model, epoch, evaluate, epochs, monitor=monitor, patience=patience,
                        progress=progress, desc=desc)


@torch.no_grad()
def evaluate_cases(model: torch.nn.Module, users: Tensor, pos: Tensor, neg: Tensor,
                   groups: Optional[Mapping[str, Tensor]] = None, ks=(10, ),
                   chunk_size: int = 1024) -> Dict[str, float]:
    r"""HR@k / NDCG@k of the sampled ranking cases (one positive against its sampled
    negatives, :func:`~torch_geometric_kgrec.metrics.sampled_ranking_metrics`, ties
    pessimistic), overall and per group (``'zero-shot/hr@10'``, ...; NaN for an empty
    group) from :obj:`model.score_all`. Returns also ``num_cases`` per group."""
    was = model.training
    model.eval()
    env = current_env()  # under torchrun: this rank's slice of the cases
    start, end = shard_bounds(users.numel(), env.rank, env.world_size)
    pos_s, neg_s = [neg.new_zeros(0).float()], [neg.new_zeros(0, neg.size(1)).float()]
    for s in range(start, end, chunk_size):
        e = min(s + chunk_size, end)
        sc = model.score_all(users[s:e]).float().cpu()
        pos_s.append(sc.gather(1, pos[s:e].view(-1, 1)).view(-1))
        neg_s.append(sc.gather(1, neg[s:e]))
    model.train(was)
    pos_score, neg_score = torch.cat(pos_s), torch.cat(neg_s)
    out = sampled_ranking_metrics(pos_score, neg_score, ks=ks)  # gathers the slices
    out['num_cases'] = int(users.numel())
    for name, mask in (groups or {}).items():
        if bool(mask.any()):  # decided on the whole mask: the same on every rank
            m = sampled_ranking_metrics(pos_score[mask[start:end]],
                                        neg_score[mask[start:end]], ks=ks)
        else:
            m = {f'{x}@{k}': float('nan') for x in ('hr', 'ndcg') for k in ks}
        out.update({f'{name}/{k}': v for k, v in m.items()})
        out[f'{name}/num_cases'] = int(mask.sum())
    return out


def train_emcdr_mapping(model: torch.nn.Module, users: Tensor, steps: int = 300,
                        lr: float = 1e-2, weight_decay: float = 0.0) -> float:
    r"""Fit EMCDR's mapping (:meth:`EMCDR.mapping_loss`, the domain factors fixed) on
    the overlapping users :obj:`users` with full-batch Adam; returns the final loss."""
    opt = torch.optim.Adam(model.mapping.parameters(), lr=lr, weight_decay=weight_decay)
    loss = torch.tensor(float('nan'))
    for _ in range(steps):
        loss = model.mapping_loss(users)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()
