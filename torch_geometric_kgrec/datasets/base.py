r"""The :class:`~torch_geometric.data.InMemoryDataset` base shared by every dataset:
where raw files are read from, where processed files go, and downloading.

Raw files are looked up, in this order:

1. the :obj:`raw_dir` argument (a local, **read-only** folder holding the raw files);
2. ``$KGREC_DATA/<subdir>`` when the environment variable ``KGREC_DATA`` points at a
   folder laid out like ``shared/data`` (``lastfm/``, ``book-crossing/``,
   ``movielens-100k/``, ``amazon-book/``, ``movielens-1m/``) and that subfolder holds
   all raw files;
3. ``<root>/raw``, downloaded from the public source when missing.

Local folders (1, 2) are never written to: a missing file there raises
:class:`FileNotFoundError` instead of a download. Processed files always go to
``<root>/processed``; :obj:`root` defaults to ``$KGREC_CACHE/<name>`` or
``~/.cache/torch_geometric_kgrec/<name>``.

The processed cache (:mod:`torch_geometric_kgrec.datasets.cache`) cannot serve stale or
corrupt data:

* the processed file name carries a hash of the raw files' **contents** (and of
  :obj:`pre_transform`), so any edit of a raw file re-processes;
* processing and loading run under a file lock (``processed/.lock``, the
  :mod:`filelock` package), so concurrent processes on a fresh root process once, and
  files are written to a temporary file and renamed, so no reader sees a partial file;
* a loaded file is checked (format, fingerprint, a SHA-256 checksum over every stored
  tensor, and :func:`validate_kgrec_data` when there is no :obj:`pre_transform`); a
  file that fails is re-processed (once, with a warning naming the file and the
  reason), and the fresh data is validated before it is written;
* superseded ``data_*.pt`` files (other raw contents) are deleted;
* nothing in the data root is unpickled: processed files are read with
  ``torch.load(weights_only=True)`` and PyG's ``processed/pre_transform.pt`` /
  ``pre_filter.pt`` (which PyG reads with ``weights_only=False``) are neither read nor
  written (stale ones are deleted).
"""
import glob
import os
import os.path as osp
import sys
import warnings
from typing import Callable, Dict, List, Optional

from torch_geometric.data import HeteroData, InMemoryDataset, download_url
from torch_geometric.data.dataset import _repr

from torch_geometric_kgrec.datasets.cache import (CacheError, content_fingerprint,
                                                  load_processed, save_processed)

__all__ = ['KGRecDataset', 'default_cache_dir', 'local_raw_dir']


def default_cache_dir(name: str) -> str:
    r"""``$KGREC_CACHE/<name>`` or ``~/.cache/torch_geometric_kgrec/<name>``: a
    writable folder for raw downloads and processed files."""
    base = os.environ.get('KGREC_CACHE') or osp.join(
        osp.expanduser('~'), '.cache', 'torch_geometric_kgrec')
    return osp.join(base, name)


def local_raw_dir(subdir: str, files: List[str]) -> Optional[str]:
    r"""``$KGREC_DATA/<subdir>`` if ``KGREC_DATA`` is set and that folder holds all
    :obj:`files`, else :obj:`None`."""
    base = os.environ.get('KGREC_DATA')
    if not base:
        return None
    d = osp.join(osp.expanduser(base), subdir)
    if all(osp.isfile(osp.join(d, f)) for f in files):
        return d
    return None


class KGRecDataset(InMemoryDataset):
    r"""Base class of the knowledge-graph recommendation datasets (see the module
    docstring for where files are read from and written to).

    Subclasses set :obj:`name` (registry and cache name), :obj:`subdir` (folder name in
    a ``KGREC_DATA`` layout), :obj:`raw_file_names`, implement :meth:`fetch` (download
    into :obj:`self.raw_dir`) and :meth:`process_raw` (return the
    :class:`~torch_geometric.data.HeteroData`).

    Args:
        root: Folder for downloads (``root/raw``) and processed files
            (``root/processed``). (default: a per-user cache folder)
        raw_dir: A local folder holding the raw files (read-only; overrides
            ``KGREC_DATA`` and downloading).
        transform: Applied to the data object on every access.
        pre_transform: Applied to the data object before saving.
        force_reload: Re-process even if a processed file exists.
        log: Print "Processing..." while processing (as PyG datasets).
    """
    name: str = ''
    subdir: str = ''

    def __init__(
        self,
        root: Optional[str] = None,
        raw_dir: Optional[str] = None,
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        force_reload: bool = False,
        log: bool = True,
    ) -> None:
        if raw_dir is not None:
            raw_dir = osp.abspath(osp.expanduser(str(raw_dir)))
            if not osp.isdir(raw_dir):
                raise FileNotFoundError(f'{type(self).__name__}: raw_dir {raw_dir!r} is '
                                        'not a folder')
        elif self.subdir and self._required_files():
            raw_dir = local_raw_dir(self.subdir, self._required_files())
        self._local_raw_dir = raw_dir
        self._fingerprint: Optional[str] = None
        self._processed_data: Optional[HeteroData] = None
        if root is None:
            root = default_cache_dir(self.name)
        super().__init__(str(root), transform, pre_transform, force_reload=force_reload,
                         log=log)
        self.data, self.slices = self._processed_data, None
        self._processed_data = None

    def _required_files(self) -> List[str]:
        files = self.raw_file_names
        return [files] if isinstance(files, str) else list(files)

    @property
    def raw_dir(self) -> str:
        if self._local_raw_dir is not None:
            return self._local_raw_dir
        return osp.join(self.root, 'raw')

    @property
    def variant(self) -> str:
        r"""A name for the processing options of the dataset (e.g. MovieLens-100K's
        :obj:`link`), part of the processed file's name and fingerprint, so that two
        variants are cached side by side. (default: none)"""
        return ''

    @property
    def fingerprint(self) -> str:
        r"""Hash of the raw files' contents, of :obj:`variant` and of
        :obj:`pre_transform` (computed once, after the raw files are in place)."""
        if self._fingerprint is None:
            self._fingerprint = content_fingerprint(
                self.raw_paths,
                f'{type(self).__name__}|{self.variant}|{_repr(self.pre_transform)}')
        return self._fingerprint

    @property
    def processed_file_names(self) -> str:
        prefix = f'data_{self.variant}_' if self.variant else 'data_'
        return f'{prefix}{self.fingerprint}.pt'

    def download(self) -> None:
        if self._local_raw_dir is not None:
            missing = [f for f in self._required_files()
                       if not osp.isfile(osp.join(self._local_raw_dir, f))]
            raise FileNotFoundError(
                f'{type(self).__name__}: the raw folder {self._local_raw_dir!r} lacks '
                f'{missing}; local raw folders are read-only, so nothing is downloaded '
                'into them (pass another raw_dir, or none to download into root/raw)')
        self.fetch()

    def fetch(self) -> None:
        r"""Download the raw files into :obj:`self.raw_dir`: by default every file of
        :obj:`raw_file_names` from :obj:`<url>/<file name>`; datasets whose public
        files are named or packed differently override this."""
        url = getattr(self, 'url', None)
        if url is None:
            raise NotImplementedError(f'{type(self).__name__} has no download source')
        self._download_all({f: f'{url}/{f}' for f in self.raw_file_names}, self.raw_dir)

    def process_raw(self) -> HeteroData:
        r"""Read :obj:`self.raw_dir` and return the data object."""
        raise NotImplementedError

    def process(self) -> None:
        data = self.process_raw()
        if self.pre_transform is not None:
            data = self.pre_transform(data)
        self._check(data)
        save_processed(data, self.processed_paths[0], self.fingerprint)
        self._processed_data = data

    def _check(self, data: HeteroData) -> None:
        if self.pre_transform is None:  # a pre_transform may change the schema
            from torch_geometric_kgrec.datasets.schema import validate_kgrec_data
            validate_kgrec_data(data)

    def _process(self) -> None:
        # Replaces PyG's Dataset._process, which reads processed/pre_transform.pt with
        # torch.load(weights_only=False) and writes without a lock or a rename.
        from filelock import FileLock
        os.makedirs(self.processed_dir, exist_ok=True)
        path = self.processed_paths[0]
        with FileLock(osp.join(self.processed_dir, '.lock')):
            if not self.force_reload and osp.exists(path):
                try:
                    data = load_processed(path, self.fingerprint)
                    self._check(data)
                    self._processed_data = data
                except (CacheError, ValueError) as e:
                    warnings.warn(f'{type(self).__name__}: {e}; re-processing it', stacklevel=3)
            if self._processed_data is None:
                if self.log and 'PYTEST_CURRENT_TEST' not in os.environ:
                    print(f'Processing {type(self).__name__}...', file=sys.stderr)
                self.process()
            self._prune(path)

    def _prune(self, keep: str) -> None:
        r"""Delete processed files that :obj:`keep` supersedes: other ``data_*.pt``,
        PyG's ``pre_transform.pt`` / ``pre_filter.pt`` and orphaned temporary files."""
        folder = self.processed_dir
        stale = [osp.join(folder, f) for f in ('pre_transform.pt', 'pre_filter.pt')]
        stale += glob.glob(osp.join(folder, '.*.tmp'))
        name = osp.basename(keep)
        if name.startswith('data_'):  # the same variant, another fingerprint
            prefix = name[:name.rindex('_') + 1]
            stale += [f for f in glob.glob(osp.join(folder, f'{prefix}*.pt'))
                      if '_' not in osp.basename(f)[len(prefix):]]
        for f in stale:
            if osp.abspath(f) != osp.abspath(keep) and osp.isfile(f):
                try:
                    os.remove(f)
                except OSError:  # pragma: no cover - e.g. a read-only file
                    pass

    def raw(self, name: str) -> str:
        r"""Path of the raw file :obj:`name`."""
        return osp.join(self.raw_dir, name)

    @staticmethod
    def _download_all(urls: Dict[str, str], folder: str) -> None:
        for filename, url in urls.items():
            download_url(url, folder, filename=filename)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
