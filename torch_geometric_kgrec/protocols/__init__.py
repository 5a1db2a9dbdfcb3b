r"""Evaluation protocols (seeded splits, sampled-ranking negatives) and samplers
(training negatives, KGCN neighbours). See :mod:`.split` for which paper uses which
protocol."""
from .kg_corruption import KGCorruptionSampler
from .kg_split import kg_triple_split
from .rating_threshold import rating_threshold_labels
from .sampling import (KGNeighborSampler, PositiveIndex, ReciprocalRatioNegativeSampler,
                       UniformNegativeSampler)
from .split import (ColdStartSplit, CTRSplit, LabeledPairs, RankingSplit,
                    cold_start_split, ctr_split, published_split, ranking_split,
                    sampled_ranking_negatives)

__all__ = [
    'LabeledPairs',
    'CTRSplit',
    'RankingSplit',
    'ColdStartSplit',
    'ctr_split',
    'ranking_split',
    'published_split',
    'sampled_ranking_negatives',
    'cold_start_split',
    'PositiveIndex',
    'UniformNegativeSampler',
    'ReciprocalRatioNegativeSampler',
    'KGNeighborSampler',
    'KGCorruptionSampler',
    'kg_triple_split',
    'rating_threshold_labels',
]
