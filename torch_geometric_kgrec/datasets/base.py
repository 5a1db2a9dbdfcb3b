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
``~/.cache/torch_geometric_kgrec/<name>``. The processed file name carries a short
fingerprint of the raw files used (absolute paths and sizes), so that pointing the same
root at another raw copy re-processes instead of loading stale data.
"""
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

from torch_geometric.data import HeteroData, InMemoryDataset, download_url

from torch_geometric_kgrec.datasets.io import file_fingerprint

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
    ) -> None:
        if raw_dir is not None:
            raw_dir = osp.abspath(osp.expanduser(str(raw_dir)))
            if not osp.isdir(raw_dir):
                raise FileNotFoundError(f'{type(self).__name__}: raw_dir {raw_dir!r} is '
                                        'not a folder')
        elif self.subdir and self._required_files():
            raw_dir = local_raw_dir(self.subdir, self._required_files())
        self._local_raw_dir = raw_dir
        if root is None:
            root = default_cache_dir(self.name)
        super().__init__(str(root), transform, pre_transform, force_reload=force_reload)
        self.load(self.processed_paths[0], data_cls=HeteroData)

    def _required_files(self) -> List[str]:
        files = self.raw_file_names
        return [files] if isinstance(files, str) else list(files)

    @property
    def raw_dir(self) -> str:
        if self._local_raw_dir is not None:
            return self._local_raw_dir
        return osp.join(self.root, 'raw')

    @property
    def processed_file_names(self) -> str:
        return f'data_{file_fingerprint(self.raw_paths)}.pt'

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
        self.save([data], self.processed_paths[0])

    def raw(self, name: str) -> str:
        r"""Path of the raw file :obj:`name`."""
        return osp.join(self.raw_dir, name)

    @staticmethod
    def _download_all(urls: Dict[str, str], folder: str) -> None:
        for filename, url in urls.items():
            download_url(url, folder, filename=filename)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
