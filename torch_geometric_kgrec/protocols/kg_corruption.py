r"""Negative triples for margin-based KG embedding training (corrupted heads / tails)."""
from typing import Optional, Tuple

import torch
from torch import Tensor


class KGCorruptionSampler:
    r"""Corrupts the head or the tail of each positive triple to build the set
    :math:`\mathcal{KG}^-` of the margin ranking loss (TransE; TransH, eq. 4 of KTUP).

    The sampler is built from the **training** triples only, so it can neither
    filter with nor leak validation/test triples. With :obj:`filtered=True` a
    corruption that happens to be a known training triple is redrawn (up to
    :obj:`max_tries` rounds, then drawn exactly among the free candidates of that
    side, or of the other side if that one has none).

    Args:
        edge_index (torch.Tensor): Training triples' heads and tails :obj:`[2, T]`.
        edge_type (torch.Tensor): Training triples' relations :obj:`[T]`.
        num_nodes (int): Number of entities (candidates for the corruption).
        num_relations (int, optional): Number of relations (default: inferred).
        strategy (str, optional): :obj:`"unif"` (head or tail with probability 1/2)
            or :obj:`"bern"` (TransH's Bernoulli trick: replace the head with
            probability :math:`\text{tph}_r / (\text{tph}_r + \text{hpt}_r)`).
            (default: :obj:`"unif"`)
        filtered (bool, optional): Redraw corruptions that are training triples.
            (default: :obj:`True`)
        max_tries (int, optional): Redraw rounds when :obj:`filtered`. (default: :obj:`10`)
    """
    def __init__(self, edge_index: Tensor, edge_type: Tensor, num_nodes: int,
                 num_relations: Optional[int] = None, strategy: str = 'unif',
                 filtered: bool = True, max_tries: int = 10) -> None:
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"'edge_index' must have shape [2, T] (got {tuple(edge_index.shape)})")
        if edge_type.numel() != edge_index.size(1):
            raise ValueError(f"'edge_type' must have {edge_index.size(1)} entries "
                             f"(got {edge_type.numel()})")
        if strategy not in ('unif', 'bern'):
            raise ValueError(f"strategy must be 'unif' or 'bern' (got {strategy!r})")
        if edge_index.numel() > 0 and int(edge_index.max()) >= num_nodes:
            raise ValueError(f"entity index {int(edge_index.max())} >= num_nodes={num_nodes}")
        self.num_nodes = int(num_nodes)
        self.num_relations = int(num_relations if num_relations is not None else
                                 (int(edge_type.max()) + 1 if edge_type.numel() else 1))
        self.strategy = strategy
        self.filtered = filtered
        self.max_tries = max_tries
        edge_index, edge_type = edge_index.cpu().long(), edge_type.cpu().long()
        self._keys = torch.unique(self._encode(edge_index[0], edge_type, edge_index[1]))
        # Bernoulli trick: tails per head (tph) and heads per tail (hpt) per relation.
        R, N = self.num_relations, self.num_nodes
        pairs_hr = torch.unique(edge_type * N + edge_index[0])
        pairs_rt = torch.unique(edge_type * N + edge_index[1])
        n_triples = torch.bincount(edge_type, minlength=R).float()
        tph = n_triples / torch.bincount(pairs_hr // N, minlength=R).clamp(min=1).float()
        hpt = n_triples / torch.bincount(pairs_rt // N, minlength=R).clamp(min=1).float()
        prob = tph / (tph + hpt)
        self.head_prob = torch.where(n_triples > 0, prob, torch.full_like(prob, 0.5))

    def _encode(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        return (h * self.num_relations + r) * self.num_nodes + t

    def is_known(self, head: Tensor, rel: Tensor, tail: Tensor) -> Tensor:
        r"""Boolean mask: which triples are training triples."""
        keys = self._encode(head.cpu().long(), rel.cpu().long(), tail.cpu().long())
        if self._keys.numel() == 0:
            return torch.zeros_like(keys, dtype=torch.bool)
        pos = torch.searchsorted(self._keys, keys).clamp(max=self._keys.numel() - 1)
        return self._keys[pos] == keys

    def sample(self, head: Tensor, rel: Tensor, tail: Tensor,
               generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor, Tensor]:
        r"""One corrupted triple per input triple: :obj:`(head', rel, tail')`."""
        device = head.device
        h, r, t = head.cpu().long(), rel.cpu().long(), tail.cpu().long()
        n = h.numel()
        if self.strategy == 'bern':
            corrupt_head = torch.rand(n, generator=generator) < self.head_prob[r]
        else:
            corrupt_head = torch.rand(n, generator=generator) < 0.5
        new_h, new_t = h.clone(), t.clone()
        todo = torch.arange(n)
        for it in range(self.max_tries if self.filtered else 1):
            rnd = torch.randint(self.num_nodes, (todo.numel(), ), generator=generator)
            ch = corrupt_head[todo]
            new_h[todo] = torch.where(ch, rnd, h[todo])
            new_t[todo] = torch.where(ch, t[todo], rnd)
            if not self.filtered:
                break
            bad = self.is_known(new_h[todo], r[todo], new_t[todo])
            todo = todo[bad]
            if todo.numel() == 0:
                break
        if self.filtered and todo.numel() > 0:  # rare: draw exactly among the free ones
            cand = torch.arange(self.num_nodes)
            for j in todo.tolist():
                for head_side in (bool(corrupt_head[j]), not bool(corrupt_head[j])):
                    hh = cand if head_side else h[j].expand_as(cand)
                    tt = t[j].expand_as(cand) if head_side else cand
                    free = (~self.is_known(hh, r[j].expand_as(cand), tt)).nonzero().view(-1)
                    if free.numel() > 0:
                        k = free[torch.randint(free.numel(), (1, ), generator=generator)]
                        new_h[j], new_t[j] = hh[k], tt[k]
                        break
        return new_h.to(device), rel, new_t.to(device)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_triples={self._keys.numel()}, '
                f'num_nodes={self.num_nodes}, strategy={self.strategy!r}, '
                f'filtered={self.filtered})')
