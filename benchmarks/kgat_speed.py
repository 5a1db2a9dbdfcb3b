r"""KGAT seconds per training epoch: the TransR step before and after issue 13.

"before" re-implements the previous step in this script (two calls of the TransR
projection per step: two gathers of :math:`\mathbf{W}_r` ``[B, k, d]`` and four batched
matmuls, :math:`\mathbf{W}_r\mathbf{e}_h` computed twice, and the KG negatives drawn on
the CPU through :class:`KGCorruptionSampler`); "after" is the library's
:class:`~torch_geometric_kgrec.nn.models.KGAT` (one gather, one batched matmul for the
head and both tails, negatives on the model's device). Both run in the same process,
interleaved, on the same data, seeds and schedule (KGAT's: an epoch is the CF phase,
as many TransR steps, then the attention update); the minimum over repeats is
reported, for the whole epoch and for the KG phase alone.

    python benchmarks/kgat_speed.py --dataset lastfm --repeats 3
"""
import time
from typing import Dict

import torch

from torch_geometric_kgrec.benchmark import (base_parser, load_dataset, refuse_distributed,
                                             write_result)
from torch_geometric_kgrec.datasets import kgrec_stats
from torch_geometric_kgrec.nn.losses import bpr_loss, l2_reg
from torch_geometric_kgrec.nn.models import KGAT
from torch_geometric_kgrec.protocols import UniformNegativeSampler, ranking_split
from torch_geometric_kgrec.protocols.kg_corruption import KGCorruptionSampler
from torch_geometric_kgrec.train import seed_everything


class KGATBefore(KGAT):
    r"""KGAT with the TransR step as it was before issue 13 (reference only)."""
    def _kg_terms(self, head, rel, tail):
        w = self.kge.proj[rel]
        wh = torch.bmm(w, self.kge.node_emb(head).unsqueeze(-1)).squeeze(-1)
        wt = torch.bmm(w, self.kge.node_emb(tail).unsqueeze(-1)).squeeze(-1)
        r = self.kge.rel_emb(rel)
        return (wh + r - wt).pow(2).sum(-1), wh, r, wt

    def kg_loss(self, head, rel, pos_tail, neg_tail):
        pos, wh, r, wt = self._kg_terms(head, rel, pos_tail)
        neg, _, _, wt_neg = self._kg_terms(head, rel, neg_tail)
        return bpr_loss(-pos, -neg) + self.kg_reg_weight * l2_reg(wh, r, wt, wt_neg)

    def sample_kg_batch(self, batch_size, generator=None):
        if getattr(self, '_sampler', None) is None:
            ei, et = self.ckg_edge_index.cpu(), self.ckg_edge_type.cpu()
            self._sampler = (KGCorruptionSampler(ei, et, self.num_nodes,
                                                 self.num_ckg_relations), ei, et)
        sampler, ei, et = self._sampler
        idx = torch.randint(et.numel(), (batch_size, ), generator=generator)
        head, rel, tail = ei[0, idx], et[idx], ei[1, idx]
        neg = torch.randint(self.num_nodes, (batch_size, ), generator=generator)
        for _ in range(10):
            bad = sampler.is_known(head, rel, neg)
            if not bool(bad.any()):
                break
            neg[bad] = torch.randint(self.num_nodes, (int(bad.sum()), ), generator=generator)
        dev = self.ckg_edge_type.device
        return head.to(dev), rel.to(dev), tail.to(dev), neg.to(dev)


def main() -> None:
    p = base_parser(__doc__, default_dataset='lastfm',
                    options=('dataset', 'root', 'device', 'seed', 'out'))
    p.add_argument('--dim', type=int, default=64, help='embedding size')
    p.add_argument('--batch-size', type=int, default=2048, help='KG triples per TransR step')
    p.add_argument('--repeats', type=int, default=3,
                   help='timed repetitions after a warm-up (the median is reported)')
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads')
    args = p.parse_args()
    refuse_distributed('benchmarks/kgat_speed.py')  # times one process: not under torchrun
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = load_dataset(args.dataset, args.root, link=args.link)
    split = ranking_split(data, ratios=(0.8, 0.1, 0.1), seed=args.seed)
    train = split.train.to(device)
    store = data['entity', 'kg', 'entity']
    U, I = data['user'].num_nodes, data.num_items
    E, R = data['entity'].num_nodes, len(data.relation_names)
    sampler = UniformNegativeSampler(train, U, I)
    steps = -(-train.size(1) // args.batch_size)

    def epoch(cls) -> Dict[str, float]:
        seed_everything(args.seed)
        model = cls(U, E, I, R, store.edge_index.to(device), store.edge_type.to(device),
                    train, embedding_dim=args.dim).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(args.seed)
        model.train()
        sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
        t0 = time.perf_counter()
        for idx in torch.randperm(train.size(1), generator=gen).to(device).split(
                args.batch_size):
            users, pos = train[0, idx], train[1, idx]
            neg = sampler.sample(users, generator=gen).view(-1).to(device)
            opt.zero_grad()
            model.loss(users, pos, neg).backward()
            opt.step()
        sync()
        t1 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            model.kg_loss(*model.sample_kg_batch(args.batch_size, gen)).backward()
            opt.step()
        model.update_attention()
        sync()
        t2 = time.perf_counter()
        return {'epoch': t2 - t0, 'kg_phase': t2 - t1, 'cf_phase': t1 - t0}

    runs = {'before': [], 'after': []}
    epoch(KGAT)  # warm-up (allocator, first-call overheads), not timed
    for _ in range(args.repeats):  # interleaved: both see the same machine load
        runs['before'].append(epoch(KGATBefore))
        runs['after'].append(epoch(KGAT))
    best = {k: {m: min(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    print(f'{args.dataset}: KGAT dim {args.dim}, batch {args.batch_size}, {steps} CF + '
          f'{steps} TransR steps per epoch, {torch.get_num_threads()} thread(s), {device}; '
          f'min of {args.repeats}')
    print(f"{'':8s} {'epoch s':>9s} {'KG phase s':>11s} {'CF phase s':>11s}")
    for k, b in best.items():
        print(f"{k:8s} {b['epoch']:9.3f} {b['kg_phase']:11.3f} {b['cf_phase']:11.3f}")
    print(f"speed-up: epoch {best['before']['epoch'] / best['after']['epoch']:.2f}x, "
          f"KG phase {best['before']['kg_phase'] / best['after']['kg_phase']:.2f}x")
    write_result(args.out, args=args, data_stats=kgrec_stats(data),
                 results={'runs': runs, 'min': best}, protocol='seconds per KGAT epoch')


if __name__ == '__main__':
    main()
