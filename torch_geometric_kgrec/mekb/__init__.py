r"""MeKB construction of MeKB-Rec (Kuang et al., 2023, Sec. 3.1): entity linking with
an alias table (AT@1), per-user personal knowledge graphs scored by frequency
aggregation and interest IDF, and their entity-title sequences for EmbedMe."""
from torch_geometric_kgrec.mekb.alias_table import (AliasTable, normalize_mention,
                                                    spacy_mentions)
from torch_geometric_kgrec.mekb.score import MeKB, interest_idf, log_smoothing, mekb_scores
from torch_geometric_kgrec.mekb.sequence import mekb_sequences
from torch_geometric_kgrec.mekb.experiment import (evaluate_cases, train_bpr,
                                                   train_emcdr_mapping, train_full_softmax,
                                                   warmup_cosine)

__all__ = [
    'AliasTable',
    'normalize_mention',
    'spacy_mentions',
    'MeKB',
    'log_smoothing',
    'interest_idf',
    'mekb_scores',
    'mekb_sequences',
    'warmup_cosine',
    'train_full_softmax',
    'train_bpr',
    'train_emcdr_mapping',
    'evaluate_cases',
]
