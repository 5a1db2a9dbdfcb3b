from typing import Optional, Tuple

import torch
from torch import Tensor

from torch_geometric.data import HeteroData
from torch_geometric.transforms import BaseTransform

from torch_geometric_kgrec.datasets.schema import KG

__all__ = ['add_inverse_relations', 'AddInverseRelations']


def add_inverse_relations(
    edge_index: Tensor,
    edge_type: Tensor,
    num_relations: int,
    self_loops: bool = False,
    num_nodes: Optional[int] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Makes a typed knowledge graph undirected **without** mangling relation ids:
    every triple :math:`(h, r, t)` gets the inverse triple :math:`(t, r + R, h)`, and
    with :obj:`self_loops=True` every node :math:`v` gets :math:`(v, 2R, v)` with a
    padding relation :math:`2R` (as KGAT / KGIN do). Nothing is coalesced, so
    :obj:`edge_index` and :obj:`edge_type` stay in sync and parallel triples keep their
    own relations.

    Use this instead of :class:`torch_geometric.transforms.ToUndirected` (which gives
    the reverse triple the *same* relation and sums the :obj:`edge_type` of coalesced
    parallel edges) and :class:`torch_geometric.transforms.AddSelfLoops` (which adds
    edges without a relation).

    Args:
        edge_index (torch.Tensor): :obj:`[2, T]` head -> tail.
        edge_type (torch.Tensor): :obj:`[T]` relations in :obj:`[0, R)`.
        num_relations (int): :math:`R`.
        self_loops (bool): Also add one self-loop per node with relation :math:`2R`.
            (default: :obj:`False`)
        num_nodes (int, optional): Number of nodes (for the self-loops).
            (default: :obj:`edge_index.max() + 1`)

    Returns:
        :obj:`(edge_index [2, 2T (+ N)], edge_type [2T (+ N)])`: the original triples
        first, then their inverses, then the self-loops; relations in
        :obj:`[0, 2R (+ 1))`.
    """
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"'edge_index' must have shape [2, T] (got {list(edge_index.shape)})")
    if edge_type.dim() != 1 or edge_type.numel() != edge_index.size(1):
        raise ValueError(f"'edge_type' must have shape [T] with T = {edge_index.size(1)} "
                         f'(got {list(edge_type.shape)})')
    if edge_type.numel() and (int(edge_type.min()) < 0
                              or int(edge_type.max()) >= num_relations):
        raise ValueError(f"'edge_type' must lie in [0, {num_relations})")
    ei = [edge_index, edge_index.flip(0)]
    et = [edge_type, edge_type + num_relations]
    if self_loops:
        if num_nodes is None:
            num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
        loop = torch.arange(num_nodes, device=edge_index.device)
        ei.append(torch.stack([loop, loop]))
        et.append(torch.full((num_nodes, ), 2 * num_relations, dtype=edge_type.dtype,
                             device=edge_type.device))
    return torch.cat(ei, dim=1), torch.cat(et)


class AddInverseRelations(BaseTransform):
    r"""The transform form of :func:`add_inverse_relations` for the shared
    :class:`~torch_geometric.data.HeteroData` schema: rewrites the KG edge store
    :obj:`data['entity', 'kg', 'entity']` (triples, then inverses with relation
    :math:`r + R`, then optionally one self-loop per entity with relation :math:`2R`),
    extends :obj:`data.relation_names` with ``'<name>^-1'`` (and ``'self_loop'``) and
    updates :obj:`data.kg_relation_counts`, so that
    :func:`~torch_geometric_kgrec.datasets.validate_kgrec_data` still passes. Layers then
    take :obj:`num_relations=2R (+ 1)`. Other edge attributes of the KG store are
    dropped (they would no longer line up). Applying it twice raises an error.

    Args:
        self_loops (bool): Add one self-loop per entity with a padding relation.
            (default: :obj:`False`)
    """
    def __init__(self, self_loops: bool = False) -> None:
        self.self_loops = self_loops

    def forward(self, data: HeteroData) -> HeteroData:
        if getattr(data, 'kg_inverse_relations', False):
            raise ValueError('AddInverseRelations: the KG already holds inverse relations')
        kg = data[KG]
        names = list(data.relation_names)
        R = len(names)
        ei, et = add_inverse_relations(kg.edge_index, kg.edge_type, R, self.self_loops,
                                       data['entity'].num_nodes)
        for key in list(kg.keys()):
            del kg[key]
        kg.edge_index, kg.edge_type = ei, et
        names = names + [f'{n}^-1' for n in names] + (['self_loop'] if self.self_loops
                                                     else [])
        data.relation_names = names
        data.kg_relation_counts = torch.bincount(et, minlength=len(names))
        data.kg_inverse_relations = True
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(self_loops={self.self_loops})'
