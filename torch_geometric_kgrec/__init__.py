r"""torch_geometric_kgrec: knowledge-graph-enhanced recommendation for PyTorch Geometric."""
import torch_geometric_kgrec.datasets  # noqa: F401
import torch_geometric_kgrec.metrics  # noqa: F401
import torch_geometric_kgrec.nn  # noqa: F401
import torch_geometric_kgrec.protocols  # noqa: F401

__version__ = '0.1.0'

__all__ = ['__version__']
