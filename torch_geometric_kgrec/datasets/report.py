r"""Counting what a reader drops or normalises, reported in one warning per file.

Every reader of :mod:`torch_geometric_kgrec.datasets` follows the same policy:

* rows the protocol drops (unknown items, ratings below a threshold, KG triples whose
  head is unknown, duplicates, users left without interactions) are **counted** and
  reported in one :class:`DataLossWarning` per file naming the file, each count and the
  first line concerned;
* a negative id is an **error** (:class:`~torch_geometric_kgrec.datasets.io.DataFormatError`
  naming file and line) in every dataset: no reader maps it to a new user or item.
"""
import warnings
from typing import List, Optional, Tuple

import numpy as np

__all__ = ['DataLossWarning', 'DropReport', 'check_non_negative', 'report_duplicates']


class DataLossWarning(UserWarning):
    r"""Rows of an input file were dropped or merged while reading it."""


class DropReport:
    r"""Collects ``(count, what, first line)`` for one file; :meth:`warn` emits them as
    one :class:`DataLossWarning`.

    Args:
        path (str): The file the counts refer to.
    """
    def __init__(self, path: str) -> None:
        self.path = str(path)
        self.entries: List[Tuple[int, str, Optional[int]]] = []

    def add(self, count: int, what: str, first_line: Optional[int] = None) -> None:
        r"""Record :obj:`count` rows of kind :obj:`what` (nothing if zero)."""
        if int(count) > 0:
            self.entries.append((int(count), what, None if first_line is None
                                 else int(first_line)))

    def add_rows(self, table, rows: np.ndarray, what: str) -> None:
        r"""Record the 0-based data rows :obj:`rows` of :obj:`table`
        (a :class:`~torch_geometric_kgrec.datasets.io.Table`)."""
        rows = np.asarray(rows)
        if rows.size:
            self.add(rows.size, what, table.line_of(int(rows.min())))

    def message(self) -> str:
        parts = [f'{n:,} {what}' + (f' (first: line {line})' if line is not None else '')
                 for n, what, line in self.entries]
        return f'{self.path}: ' + '; '.join(parts)

    def warn(self, stacklevel: int = 3) -> None:
        if self.entries:
            warnings.warn(self.message(), DataLossWarning, stacklevel=stacklevel)


def check_non_negative(table, *cols: str) -> None:
    r"""The one negative-id policy: raise a
    :class:`~torch_geometric_kgrec.datasets.io.DataFormatError` naming the file and
    line of the first negative value in any of :obj:`cols` of :obj:`table`."""
    for col in cols:
        x = table[col]
        bad = np.flatnonzero(x < 0)
        if bad.size:
            r = int(bad[0])
            raise table.error(r, f'{col} id {x[r]} is negative (ids must be >= 0; no '
                              'reader maps a negative id to a new user or item)')


def report_duplicates(table, keep: np.ndarray, value: Optional[str] = None,
                      *keys: str) -> None:
    r"""Warn (one :class:`DataLossWarning`) about the rows of :obj:`table` that are not
    in :obj:`keep` (the first occurrences of each key): with :obj:`value` and
    :obj:`keys` (column names), duplicates whose :obj:`value` differs from the kept
    row's are counted apart as conflicting."""
    report = DropReport(table.path)
    dropped = np.setdiff1d(np.arange(len(table)), keep)
    if dropped.size and value is not None and keys:
        _, first, inv = np.unique(np.stack([table[k] for k in keys], axis=1), axis=0,
                                  return_index=True, return_inverse=True)
        first_of = first[inv.reshape(-1)]
        v = table[value]
        conflict = dropped[v[dropped] != v[first_of[dropped]]]
        report.add_rows(table, np.setdiff1d(dropped, conflict),
                        'exact duplicate rows dropped (first kept)')
        report.add_rows(table, conflict, f'conflicting duplicate rows dropped (another '
                        f'{value}; the first row is kept)')
    else:
        report.add_rows(table, dropped, 'duplicate rows dropped (first kept)')
    report.warn(stacklevel=4)
