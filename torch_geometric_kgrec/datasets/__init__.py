r"""Datasets for knowledge-graph-enhanced recommendation, all in one schema
(:mod:`torch_geometric_kgrec.datasets.schema`), plus the robust readers they share
(:mod:`torch_geometric_kgrec.datasets.io`)."""
import os
import os.path as osp
from typing import Dict, Optional, Type

from torch_geometric.data import HeteroData

from torch_geometric_kgrec.datasets.schema import (kgrec_stats, make_kgrec_data,
                                                   validate_kgrec_data)
from torch_geometric_kgrec.datasets.io import DataFormatError
from torch_geometric_kgrec.datasets.base import KGRecDataset, default_cache_dir
from torch_geometric_kgrec.datasets.formats import load_kgat_format, load_mkr_format
from torch_geometric_kgrec.datasets.lastfm import LastFMKG
from torch_geometric_kgrec.datasets.book_crossing import BookCrossingKG
from torch_geometric_kgrec.datasets.movielens_100k import MovieLens100KKG
from torch_geometric_kgrec.datasets.amazon_book import AmazonBookKG
from torch_geometric_kgrec.datasets.movielens_1m import MovieLens1MKG
from torch_geometric_kgrec.datasets.synthetic import SyntheticKG, generate_synthetic_kg
from torch_geometric_kgrec.datasets.amazon_art_office import AmazonArtOfficeCDR
from torch_geometric_kgrec.datasets.synthetic_cdr import generate_synthetic_cdr

DATASETS: Dict[str, Type[KGRecDataset]] = {
    'lastfm': LastFMKG,
    'book-crossing': BookCrossingKG,
    'movielens-100k': MovieLens100KKG,
    'amazon-book': AmazonBookKG,
    'movielens-1m': MovieLens1MKG,
    'synthetic': SyntheticKG,
    'amazon-art-office': AmazonArtOfficeCDR,
}


def get_dataset(name: str, root: Optional[str] = None, cache_dir: Optional[str] = None,
                **kwargs) -> KGRecDataset:
    r"""The :class:`~torch_geometric.data.InMemoryDataset` called :obj:`name`.

    Args:
        name: One of :obj:`DATASETS` (``'lastfm'``, ``'book-crossing'``,
            ``'movielens-100k'``, ``'amazon-book'``, ``'movielens-1m'``,
            ``'synthetic'``).
        root: A raw-data folder laid out like ``shared/data`` (``root/<name>/`` holds
            the raw files), or the folder of the raw files itself. Read-only. (default:
            ``$KGREC_DATA``, else download)
        cache_dir: Writable folder for downloads and processed files; the dataset uses
            ``cache_dir/<name>``. (default: ``$KGREC_CACHE`` or
            ``~/.cache/torch_geometric_kgrec``)
        **kwargs: Passed to the dataset class (e.g. the sizes of ``'synthetic'``,
            ``transform``, ``force_reload``).
    """
    if name not in DATASETS:
        raise ValueError(f'unknown dataset {name!r}; choose one of {sorted(DATASETS)}')
    cls = DATASETS[name]
    ds_root = osp.join(cache_dir, name) if cache_dir else default_cache_dir(name)
    if cls is SyntheticKG:
        return cls(ds_root, **kwargs)
    base = root if root is not None else os.environ.get('KGREC_DATA')
    raw_dir = None
    if base:
        base = osp.expanduser(str(base))
        sub = osp.join(base, cls.subdir)
        if osp.isdir(sub):
            raw_dir = sub
        elif root is not None:
            raw_dir = base
    return cls(ds_root, raw_dir=raw_dir, **kwargs)


def load_dataset(name: str, root: Optional[str] = None, cache_dir: Optional[str] = None,
                 **kwargs) -> HeteroData:
    r"""The data object (:class:`~torch_geometric.data.HeteroData` in the shared schema)
    of the dataset called :obj:`name`; arguments as in :func:`get_dataset`."""
    return get_dataset(name, root=root, cache_dir=cache_dir, **kwargs)[0]


__all__ = [
    'validate_kgrec_data',
    'kgrec_stats',
    'make_kgrec_data',
    'DataFormatError',
    'KGRecDataset',
    'LastFMKG',
    'BookCrossingKG',
    'MovieLens100KKG',
    'AmazonBookKG',
    'MovieLens1MKG',
    'SyntheticKG',
    'generate_synthetic_kg',
    'load_mkr_format',
    'load_kgat_format',
    'DATASETS',
    'get_dataset',
    'load_dataset',
    'AmazonArtOfficeCDR',
    'generate_synthetic_cdr',
]
