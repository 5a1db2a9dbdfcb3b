r"""Evaluation protocols (seeded splits, sampled-ranking negatives) and samplers
(training negatives, KGCN neighbours). See :mod:`.split` for which paper uses which
protocol."""
from .kg_corruption import KGCorruptionSampler
from .kg_split import kg_triple_split
from .cdr import (BUCKETS, CDRSplit, activity_buckets, cdr_split, mekb_interactions,
                  sampled_ranking_cases)
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
    'CDRSplit',
    'cdr_split',
    'mekb_interactions',
    'sampled_ranking_cases',
    'activity_buckets',
    'BUCKETS',
    'rating_threshold_labels',
]
