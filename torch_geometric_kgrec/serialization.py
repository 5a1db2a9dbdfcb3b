r"""Atomic writes of torch files (processed datasets, checkpoints, embedding and pair
caches): one implementation for every file the library writes with :func:`torch.save`."""
import os
import os.path as osp
import tempfile
from typing import Any


def atomic_torch_save(obj: Any, path: str) -> None:
    r"""Write :obj:`obj` to :obj:`path` with :func:`torch.save` atomically: into a
    temporary file in the same folder (created if needed), flushed to disk, then
    :func:`os.replace` d over :obj:`path`, so that a reader (or a process killed
    mid-write) sees the old file or the complete new one, never a partial one."""
    import torch
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp',
                               dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


__all__ = ['atomic_torch_save']
