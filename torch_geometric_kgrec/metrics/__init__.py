r"""The one evaluator of the library: full and sampled ranking, CTR, KG completion,
diversity and embedding-quality metrics. Every function says which protocol it
implements."""
from .ranking import (
    RANKING_METRICS,
    mask_excluded,
    topk_with_exclusion,
    evaluate_ranking,
    sampled_ranking_metrics,
    rank_with_ties,
)
from .ctr import roc_auc, ctr_metrics
from .kg import (
    RELATION_CATEGORIES,
    relation_categories,
    kg_completion_ranks,
    evaluate_kg_completion,
)
from .diversity import inter_list_diversity, intra_list_diversity
from .embedding import alignment, uniformity

__all__ = [
    'RANKING_METRICS',
    'mask_excluded',
    'topk_with_exclusion',
    'evaluate_ranking',
    'sampled_ranking_metrics',
    'rank_with_ties',
    'roc_auc',
    'ctr_metrics',
    'RELATION_CATEGORIES',
    'relation_categories',
    'kg_completion_ranks',
    'evaluate_kg_completion',
    'inter_list_diversity',
    'intra_list_diversity',
    'alignment',
    'uniformity',
]
