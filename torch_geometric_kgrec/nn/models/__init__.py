from .base import RecommenderMixin, mask_scores
from .bprmf import BPRMF, Popularity

__all__ = ['RecommenderMixin', 'mask_scores', 'BPRMF', 'Popularity']
from .kgcn import KGCN  # noqa: E402
__all__ += ["KGCN"]
