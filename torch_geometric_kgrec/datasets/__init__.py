r"""Datasets for knowledge-graph-enhanced recommendation, all in one schema
(:mod:`torch_geometric_kgrec.datasets.schema`)."""
from torch_geometric_kgrec.datasets.schema import (kgrec_stats, make_kgrec_data,
                                                   validate_kgrec_data)
from torch_geometric_kgrec.datasets.io import DataFormatError
from torch_geometric_kgrec.datasets.base import KGRecDataset
from torch_geometric_kgrec.datasets.lastfm import LastFMKG

__all__ = [
    'validate_kgrec_data',
    'kgrec_stats',
    'make_kgrec_data',
    'DataFormatError',
    'KGRecDataset',
    'LastFMKG',
]
