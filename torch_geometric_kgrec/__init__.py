r"""torch_geometric_kgrec: knowledge-graph-enhanced recommendation for PyTorch Geometric."""
import torch_geometric_kgrec.datasets  # noqa: F401
import torch_geometric_kgrec.metrics  # noqa: F401
import torch_geometric_kgrec.nn  # noqa: F401
import torch_geometric_kgrec.protocols  # noqa: F401
import torch_geometric_kgrec.transforms  # noqa: F401
from torch_geometric_kgrec.datasets import (DataFormatError, get_dataset, kgrec_stats,
                                            load_dataset, validate_kgrec_data)

__version__ = '0.1.0'

__all__ = [
    'load_dataset',
    'get_dataset',
    'kgrec_stats',
    'validate_kgrec_data',
    'DataFormatError',
    '__version__',
]
