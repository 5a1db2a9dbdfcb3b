r"""The processed-data cache of :class:`~torch_geometric_kgrec.datasets.KGRecDataset`:
content fingerprints of the raw files, atomic writes, a checksum over every stored
tensor, and loading that never unpickles arbitrary objects.

A processed file is a plain :obj:`dict` saved with :func:`torch.save`::

    {'format': 'torch_geometric_kgrec.processed', 'version': 1,
     'fingerprint': <hash of the raw files' contents and the pre_transform>,
     'data': HeteroData.to_dict(), 'checksum': data_checksum(data)}

It is read back with ``torch.load(weights_only=True)`` only (tensors, containers, str
and numbers; no fallback to full unpickling), so a file planted in the data root cannot
run code.
"""
import hashlib
import os.path as osp
from typing import Any, Mapping, Optional, Sequence

import torch
from torch import Tensor

from torch_geometric.data import HeteroData

from torch_geometric_kgrec.serialization import atomic_torch_save

__all__ = ['CacheError', 'content_fingerprint', 'data_checksum', 'save_processed',
           'load_processed']

FORMAT = 'torch_geometric_kgrec.processed'
VERSION = 1


class CacheError(RuntimeError):
    r"""A processed file that cannot be used (unreadable, wrong format or checksum)."""


def content_fingerprint(paths: Sequence[str], extra: str = '') -> str:
    r"""A short hash of the **contents** (and base names) of :obj:`paths` and of
    :obj:`extra`: any edit of a raw file, even one that keeps its size and
    modification time, gives another fingerprint. Missing files hash as absent."""
    h = hashlib.blake2b(digest_size=8)
    h.update(f'v{VERSION}\0{extra}\0'.encode())
    for p in paths:
        h.update(osp.basename(p).encode() + b'\0')
        if not osp.isfile(p):
            h.update(b'<missing>\0')
            continue
        with open(p, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        h.update(b'\0')
    return h.hexdigest()


def _update(h, value: Any) -> None:
    if isinstance(value, Tensor):
        t = value.detach().cpu()
        h.update(f'T{t.dtype}{list(t.shape)}'.encode())
        if t.is_sparse:
            t = t.coalesce()
            _update(h, t.indices())
            _update(h, t.values())
        elif t.numel():
            h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, Mapping):
        h.update(f'D{len(value)}'.encode())
        for k in sorted(value, key=repr):
            h.update(repr(k).encode())
            _update(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f'L{len(value)}'.encode())
        for v in value:
            _update(h, v)
    else:
        h.update(f'{type(value).__name__}:{value!r}'.encode())


def data_checksum(data: HeteroData) -> str:
    r"""SHA-256 over every attribute of :obj:`data` (tensor bytes, dtypes, shapes and
    all other values), independent of attribute order."""
    h = hashlib.sha256()
    _update(h, data.to_dict())
    return h.hexdigest()


def save_processed(data: HeteroData, path: str, fingerprint: str) -> None:
    r"""Write :obj:`data` to :obj:`path` atomically: into a temporary file in the
    same folder, flushed to disk, then :func:`os.replace` d over :obj:`path`, so that
    a reader sees the old file or the complete new one, never a partial one."""
    doc = {'format': FORMAT, 'version': VERSION, 'fingerprint': fingerprint,
           'data': data.to_dict(), 'checksum': data_checksum(data)}
    atomic_torch_save(doc, path)


def load_processed(path: str, fingerprint: Optional[str] = None) -> HeteroData:
    r"""Read a file written by :func:`save_processed` with
    ``torch.load(weights_only=True)`` and check its format, fingerprint and checksum.

    Raises:
        CacheError: naming :obj:`path` and the reason.
    """
    try:
        doc = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated zip, planted pickle, unknown globals, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else ''
        raise CacheError(f'{path}: cannot be read safely ({type(e).__name__}: '
                         f'{first[:200]})') from e
    if not isinstance(doc, dict) or doc.get('format') != FORMAT:
        raise CacheError(f'{path}: not a torch_geometric_kgrec processed file')
    if doc.get('version') != VERSION:
        raise CacheError(f"{path}: written by format version {doc.get('version')!r} "
                         f'(this version reads {VERSION})')
    if fingerprint is not None and doc.get('fingerprint') != fingerprint:
        raise CacheError(f'{path}: made from other raw files (fingerprint '
                         f"{doc.get('fingerprint')!r}, expected {fingerprint!r})")
    try:
        data = HeteroData.from_dict(doc['data'])
    except Exception as e:
        raise CacheError(f'{path}: malformed data ({type(e).__name__}: {e})') from e
    if data_checksum(data) != doc.get('checksum'):
        raise CacheError(f'{path}: checksum mismatch (the file was altered or '
                         'corrupted after it was written)')
    return data

