r"""Relation ids that survive PyG (issue 12, deliver 3): our inverse-relation helper
keeps edge_index / edge_type in sync, and the damage PyG's generic transforms do to
relation ids is detected, naming the transform."""
import copy

import pytest
import torch
import torch_geometric.transforms as T

from torch_geometric_kgrec.datasets import make_kgrec_data, validate_kgrec_data
from torch_geometric_kgrec.transforms import AddInverseRelations, add_inverse_relations

KG = ('entity', 'kg', 'entity')


def _data():
    # items 0, 1; entities 2, 3; the pair (0, 2) carries two relations (parallel triples)
    return make_kgrec_data(
        num_users=2, num_items=2, num_entities=4,
        kg_edge_index=[[0, 0, 1, 2], [2, 2, 3, 3]], kg_edge_type=[0, 1, 1, 2],
        relation_names=['genre', 'style', 'origin'], interactions=[[0, 1], [0, 1]])


def test_add_inverse_relations_values():
    ei = torch.tensor([[0, 0, 1], [2, 2, 3]])
    et = torch.tensor([0, 1, 1])
    out_ei, out_et = add_inverse_relations(ei, et, num_relations=2, self_loops=True,
                                           num_nodes=4)
    triples = sorted(zip(out_ei[0].tolist(), out_et.tolist(), out_ei[1].tolist()))
    expected = sorted([(0, 0, 2), (0, 1, 2), (1, 1, 3),            # originals
                       (2, 2, 0), (2, 3, 0), (3, 3, 1),            # inverses r + R
                       (0, 4, 0), (1, 4, 1), (2, 4, 2), (3, 4, 3)])  # self-loops, 2R
    assert triples == expected
    with pytest.raises(ValueError, match='edge_type'):
        add_inverse_relations(ei, et[:2], 2)


def test_transform_keeps_schema_valid():
    data = AddInverseRelations(self_loops=True)(_data())
    validate_kgrec_data(data)
    assert data.relation_names == ['genre', 'style', 'origin', 'genre^-1', 'style^-1',
                                   'origin^-1', 'self_loop']
    assert data[KG].edge_index.size(1) == data[KG].edge_type.numel() == 2 * 4 + 4
    assert str(AddInverseRelations(True)) == 'AddInverseRelations(self_loops=True)'
    with pytest.raises(ValueError, match='already'):
        AddInverseRelations()(data)


def test_to_undirected_damage_is_detected():
    data = T.ToUndirected()(copy.copy(_data()))
    with pytest.raises(ValueError, match=r'ToUndirected\(\)'):
        validate_kgrec_data(data)


def test_to_undirected_damage_on_real_lastfm(real_lastfm):
    kg = real_lastfm[KG]
    assert kg.edge_index.size(1) == 15_518
    damaged = T.ToUndirected()(copy.copy(real_lastfm))
    assert damaged[KG].edge_index.size(1) == 19_586  # the probe: coalesced and summed
    with pytest.raises(ValueError, match='ToUndirected'):
        validate_kgrec_data(damaged)
    fixed = AddInverseRelations(self_loops=True)(copy.copy(real_lastfm))
    validate_kgrec_data(fixed)
    assert fixed[KG].edge_index.size(1) == 2 * 15_518 + real_lastfm['entity'].num_nodes


def test_add_self_loops_damage_is_detected():
    data = T.AddSelfLoops()(copy.copy(_data()))
    assert data[KG].edge_index.size(1) != data[KG].edge_type.numel()  # desynchronised
    with pytest.raises(ValueError, match=r'out of sync.*AddSelfLoops'):
        validate_kgrec_data(data)


def test_to_homogeneous_damage_is_detected():
    homo = _data().to_homogeneous()
    with pytest.raises(ValueError, match='to_homogeneous'):
        validate_kgrec_data(homo)


def test_summed_ids_in_range_are_detected():
    data = _data()
    data[KG].edge_type = torch.tensor([0, 1, 1, 1])  # same length, in range, wrong
    with pytest.raises(ValueError, match="relation 1 .'style'. has 3 triples, 2 when"):
        validate_kgrec_data(data)
