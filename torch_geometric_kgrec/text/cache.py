r"""An on-disk cache of text embeddings, keyed by everything that determines them."""
import hashlib
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_kgrec.serialization import atomic_torch_save

_FILE_HASHES: Dict[Tuple[str, int, int], str] = {}


def file_digest(path: Union[str, Path]) -> str:
    r"""SHA-256 of a file's content, memoised per process on (path, size, mtime)."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FILE_HASHES:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        _FILE_HASHES[key] = h.hexdigest()
    return _FILE_HASHES[key]


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


class EmbeddingCache:
    r"""Embeddings of single texts stored under :obj:`root/<key>.pt`.

    :obj:`key` is a digest of a JSON description of what determines an embedding
    (model identity with the digests of its config and weight files, pooling, maximum
    length, dtype, normalisation); inside a file each row is addressed by the SHA-256 of
    its text. Files hold only a list of strings and a float tensor, are loaded with
    :obj:`weights_only=True` and written atomically (temporary file + :func:`os.replace`),
    so an interrupted write never leaves a corrupt cache behind.

    Args:
        root (str): Cache directory (created on first write).
        spec (dict): JSON-serialisable description of the embedding function.
    """
    def __init__(self, root: Union[str, Path], spec: Dict[str, object]) -> None:
        self.root = Path(root)
        self.spec = dict(spec)
        blob = json.dumps(self.spec, sort_keys=True).encode('utf-8')
        self.key = hashlib.sha256(blob).hexdigest()[:32]
        self.path = self.root / f'{self.key}.pt'
        self._index: Optional[Dict[str, int]] = None
        self._emb: Optional[Tensor] = None

    def _load(self) -> None:
        if self._index is not None:
            return
        self._index, self._emb = {}, None
        if not self.path.exists():
            return
        try:
            obj = torch.load(self.path, map_location='cpu', weights_only=True)
            keys, emb = obj['keys'], obj['emb']
            if not isinstance(emb, Tensor) or emb.dim() != 2 or len(keys) != emb.size(0):
                raise ValueError('inconsistent keys/embeddings')
        except Exception as e:  # noqa: BLE001 - any unreadable cache is rebuilt
            import warnings
            warnings.warn(f"Ignoring unreadable embedding cache '{self.path}' ({e}); "
                          f"it will be rewritten", stacklevel=3)
            return
        self._index = {k: i for i, k in enumerate(keys)}
        self._emb = emb

    def lookup(self, digests: Sequence[str]) -> Tuple[List[int], Optional[Tensor]]:
        r"""Returns the positions of :obj:`digests` that are missing and a tensor with
        the cached rows (rows of missing texts are left at zero)."""
        self._load()
        missing = [i for i, d in enumerate(digests) if d not in self._index]
        if self._emb is None:
            return missing, None
        out = self._emb.new_zeros(len(digests), self._emb.size(1))
        hit = [(i, self._index[d]) for i, d in enumerate(digests) if d in self._index]
        if hit:
            dst, src = zip(*hit)
            out[list(dst)] = self._emb[list(src)]
        return missing, out

    def add(self, digests: Sequence[str], emb: Tensor) -> None:
        r"""Adds rows and writes the file atomically."""
        self._load()
        emb = emb.detach().float().cpu()
        new = [(d, i) for i, d in enumerate(digests) if d not in self._index]
        # A text repeated within one batch is stored once.
        seen: Dict[str, int] = {}
        for d, i in new:
            seen.setdefault(d, i)
        if not seen:
            return
        rows = emb[list(seen.values())]
        base = 0 if self._emb is None else self._emb.size(0)
        self._emb = rows if self._emb is None else torch.cat([self._emb, rows], 0)
        for j, d in enumerate(seen):
            self._index[d] = base + j
        keys = [None] * len(self._index)
        for d, i in self._index.items():
            keys[i] = d
        atomic_torch_save({'keys': keys, 'emb': self._emb, 'spec': json.dumps(self.spec)},
                          str(self.path))

    def __len__(self) -> int:
        self._load()
        return len(self._index)
