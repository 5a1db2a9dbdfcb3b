r"""Transforms for the shared :class:`~torch_geometric.data.HeteroData` schema that keep
KG relation ids intact (see ``docs/ARCHITECTURE.md``, "PyG transforms and relation
ids")."""
from torch_geometric_kgrec.transforms.add_inverse_relations import (AddInverseRelations,
                                                                    add_inverse_relations)

__all__ = [
    'add_inverse_relations',
    'AddInverseRelations',
]
