r"""Content-based semantic contrastive learning (Kim et al., LREC-COLING 2024):
metadata sentences (Sec. 3.1 step 1) and positive / negative content pairs mined with a
bi-encoder and a cross-encoder (Sec. 3.1 steps 2-3). The loss (eq. 4-5) lives on
:class:`~torch_geometric_kgrec.nn.KGCN`."""
from .templates import (DOMAINS, TEMPLATES, ItemMetadata, genre_sentence, item_metadata,
                        metadata_sentences, title_genre_sentence)
from .pair_mining import ContentPairs, CrossEncoderRanker, mine_content_pairs
from .bx_books import attach_bx_books

__all__ = [
    'DOMAINS',
    'TEMPLATES',
    'ItemMetadata',
    'item_metadata',
    'genre_sentence',
    'title_genre_sentence',
    'metadata_sentences',
    'ContentPairs',
    'CrossEncoderRanker',
    'mine_content_pairs',
    'attach_bx_books',
]
