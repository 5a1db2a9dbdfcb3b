r"""Robust readers for the text tables that knowledge-graph recommendation datasets
ship in (tab/space separated ids, RecBole atomic files, KGAT adjacency lists).

Every reader follows the same rules, so that every dataset behaves the same:

* **Line endings.** ``\r\n`` (Windows) is normalised to ``\n``; the parsed result is
  identical to the one of the same file with ``\n`` endings.
* **Blank lines** (empty or whitespace only) are skipped wherever they occur; they
  still count for line numbers.
* **Header lines** are skipped when the format has them (``header=``) and, where the
  column names are known, checked (a wrong column layout is reported).
* **Every line is checked**: the number of columns, and that integer columns hold
  integers and float columns hold numbers. A malformed or truncated line, a
  non-numeric id, an empty field, ... raise a :class:`DataFormatError` (a
  :class:`ValueError`) whose message names the file and the 1-based line number, as
  an editor shows it: ``path/to/file.txt, line 17: expected 3 columns, found 2``.
* Checks made after parsing (ids out of range, NaN ratings, unknown entities) report
  the line of the offending row through :meth:`Table.error`.
* **Duplicates** are not removed by the readers themselves; datasets call
  :func:`first_unique` on their keys, which keeps the *first* occurrence of each key
  and drops later repeats (the documented normalisation of every dataset).

Numeric tables are parsed with :func:`numpy.loadtxt` (a C parser: a 2.6M-line file
takes well under a second); only when that fails does a line-by-line scan run to find
and report the first offending line.
"""
import io
import re
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'DataFormatError',
    'Table',
    'read_lines',
    'read_table',
    'read_atomic',
    'read_adjacency_lists',
    'first_unique',
    'factorize',
]

_INT_RE = re.compile(r'[+-]?\d+\Z')
_DTYPES = {'int': np.int64, 'float': np.float64, 'str': object}


class DataFormatError(ValueError):
    r"""A malformed input file. The message names the file and (when known) the
    1-based line number; both are also kept as :obj:`path` and :obj:`line`."""
    def __init__(self, path: str, line: Optional[int], message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f'{self.path}, line {line}' if line is not None else self.path
        super().__init__(f'{where}: {message}')


def read_lines(path: str, encoding: str = 'utf-8') -> List[str]:
    r"""Read a text file (UTF-8 unless :obj:`encoding` says otherwise, e.g.
    ``'iso-8859-1'``) into a list of lines (without line terminators).

    ``\r\n`` endings are normalised to ``\n``. A file that is not valid text in that
    encoding raises a :class:`DataFormatError` naming the line of the first bad byte.
    """
    return _read_text(path, encoding).split('\n')


def _read_text(path: str, encoding: str = 'utf-8') -> str:
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b'\n') + 1
        raise DataFormatError(path, line, f'not valid {encoding.upper()} text '
                              f'({e.reason})') from None
    if '\r' in text:
        text = text.replace('\r\n', '\n')
    if text.startswith('\ufeff'):  # byte-order mark
        text = text[1:]
    return text


class Table:
    r"""The parsed columns of a text table, with the line number of every row.

    Args:
        path: The file that was read.
        columns: One array per column (:obj:`int64`, :obj:`float64` or :obj:`object`
            holding :obj:`str`).
        lines: The 1-based line number of every row, or :obj:`None` to derive them
            lazily (only needed when an error is reported).
        names: Optional column names; columns are then also accessible by name.
    """
    def __init__(self, path: str, columns: List[np.ndarray],
                 lines: Optional[np.ndarray] = None, names: Optional[Sequence[str]] = None,
                 text_lines: Optional[List[str]] = None, header: int = 0) -> None:
        self.path = str(path)
        self.columns = columns
        self.names = list(names) if names is not None else None
        self._lines = lines
        self._text_lines = text_lines
        self._header = header

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __getitem__(self, key: Union[int, str]) -> np.ndarray:
        if isinstance(key, str):
            if self.names is None or key not in self.names:
                raise KeyError(key)
            key = self.names.index(key)
        return self.columns[key]

    @property
    def lines(self) -> np.ndarray:
        r"""The 1-based line number of every row."""
        if self._lines is None:
            text_lines = self._text_lines
            if text_lines is None:
                text_lines = read_lines(self.path)
            idx = [i for i in range(self._header, len(text_lines)) if text_lines[i].strip()]
            self._lines = np.asarray(idx, dtype=np.int64) + 1
            self._text_lines = None
        return self._lines

    def line_of(self, row: int) -> int:
        return int(self.lines[int(row)])

    def error(self, row: int, message: str) -> DataFormatError:
        r"""A :class:`DataFormatError` for the row :obj:`row` (0-based data row),
        naming its line in the file. Use as ``raise table.error(row, msg)``."""
        return DataFormatError(self.path, self.line_of(row), message)

    def check_range(self, col: Union[int, str], low: int, high: int, what: str) -> None:
        r"""Raise for the first row whose :obj:`col` is outside ``[low, high)``."""
        x = self[col]
        bad = np.flatnonzero((x < low) | (x >= high))
        if bad.size > 0:
            r = int(bad[0])
            raise self.error(r, f'{what} {x[r]} is out of range [{low}, {high})')

    def check_finite(self, col: Union[int, str], what: str) -> None:
        r"""Raise for the first row whose :obj:`col` is NaN or infinite."""
        x = self[col]
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size > 0:
            r = int(bad[0])
            raise self.error(r, f'{what} is {x[r]} (expected a finite number)')


def _parse_field(tok: str, dtype: str):
    if dtype == 'int':
        s = tok.strip()
        if not _INT_RE.match(s):
            raise ValueError(f'expected an integer, found {tok!r}')
        v = int(s)
        if not -2**63 <= v < 2**63:
            raise ValueError(f'integer {s} does not fit in 64 bits')
        return v
    if dtype == 'float':
        s = tok.strip()
        try:
            if '_' in s:
                raise ValueError
            return float(s)
        except ValueError:
            raise ValueError(f'expected a number, found {tok!r}') from None
    return tok.strip()


def _split(line: str, sep: Optional[str]) -> List[str]:
    return line.split(sep) if sep is not None else line.split()


def _slow_parse(path: str, text_lines: List[str], dtypes: Sequence[str],
                sep: Optional[str], header: int, names: Optional[Sequence[str]]) -> Table:
    n = len(dtypes)
    cols: List[list] = [[] for _ in range(n)]
    lines: List[int] = []
    sep_name = {None: 'whitespace', '\t': 'tab'}.get(sep, repr(sep))
    for i in range(header, len(text_lines)):
        line = text_lines[i]
        if not line.strip():
            continue
        fields = _split(line, sep)
        if len(fields) != n:
            what = 'truncated line: ' if len(fields) < n else ''
            layout = f' ({", ".join(names)})' if names else ''
            raise DataFormatError(
                path, i + 1, f'{what}expected {n} {sep_name}-separated columns{layout}, '
                f'found {len(fields)}: {line[:80]!r}')
        for j, (tok, dt) in enumerate(zip(fields, dtypes)):
            try:
                cols[j].append(_parse_field(tok, dt))
            except ValueError as e:
                col = f'column {j + 1}' + (f' ({names[j]})' if names else '')
                raise DataFormatError(path, i + 1, f'{col}: {e}') from None
        lines.append(i + 1)
    arrays = []
    for c, dt in zip(cols, dtypes):
        if dt == 'str':
            a = np.empty(len(c), dtype=object)
            a[:] = c
        else:
            a = np.asarray(c, dtype=_DTYPES[dt]).reshape(-1)
        arrays.append(a)
    return Table(path, arrays, np.asarray(lines, dtype=np.int64), names)


def _check_header(path: str, header_line: str, sep: Optional[str],
                  expected: Sequence[str]) -> None:
    found = [f.strip() for f in _split(header_line, sep)]
    if [f.lower() for f in found] != [e.lower() for e in expected]:
        raise DataFormatError(
            path, 1, f'unexpected header (wrong column layout?): expected columns '
            f'{list(expected)}, found {found}')


def _empty_file(path: str, text: str) -> 'DataFormatError':
    what = 'is empty (0 bytes)' if not text else 'holds only whitespace'
    return DataFormatError(path, None, f'the file {what}: an empty or truncated download? '
                           'Replace it with the published file')


def read_table(path: str, dtypes: Sequence[str], *, sep: Optional[str] = '\t',
               header: Union[int, Sequence[str]] = 0,
               names: Optional[Sequence[str]] = None, allow_empty: bool = False,
               encoding: str = 'utf-8') -> Table:
    r"""Read a delimited text table with a fixed number of columns.

    Args:
        path: The file.
        dtypes: The type of every column: ``'int'``, ``'float'`` or ``'str'``.
        sep: The column separator (:obj:`None` for any run of whitespace).
        header: The number of header lines to skip, or the expected column names of
            the single header line (checked case-insensitively; a mismatch is
            reported as a wrong column layout).
        names: Optional column names (used in messages and for ``table['name']``).
        allow_empty: Accept a file without data rows (else an error: an empty or
            truncated download).
        encoding: The text encoding of the file (e.g. ``'iso-8859-1'``).

    Returns:
        A :class:`Table`. Raises :class:`DataFormatError` (naming file and line) on a
        line with the wrong number of columns, an unparsable number or an empty field.
    """
    dtypes = list(dtypes)
    for dt in dtypes:
        if dt not in _DTYPES:
            raise ValueError(f"unknown column type {dt!r} (use 'int', 'float' or 'str')")
    if not isinstance(header, int):
        expected = list(header)
        if names is None:
            names = expected
        header = 1
    else:
        expected = None
    text = _read_text(path, encoding)
    if not text.strip() and not allow_empty:
        raise _empty_file(path, text)
    if expected is not None:
        first = text.split('\n', 1)[0]
        _check_header(path, first, sep, expected)

    table = None
    if all(dt != 'str' for dt in dtypes):
        table = _fast_parse(path, text, dtypes, sep, header, names)
    if table is None:
        table = _slow_parse(path, text.split('\n'), dtypes, sep, header, names)
    if len(table) == 0 and not allow_empty:
        raise DataFormatError(path, None, 'the file holds no data rows (empty or truncated '
                              'download?)')
    return table


def _fast_parse(path: str, text: str, dtypes: Sequence[str], sep: Optional[str],
                header: int, names: Optional[Sequence[str]]) -> Optional[Table]:
    rest = text.split('\n', header)
    if len(rest) <= header or not rest[-1].strip():  # no data rows
        return Table(path, [np.empty(0, dtype=_DTYPES[dt]) for dt in dtypes],
                     np.empty(0, dtype=np.int64), names)
    if sep is not None and len(sep) > 1:  # loadtxt takes one-character delimiters
        if '\t' in text:
            return None
        text, sep = text.replace(sep, '\t'), '\t'
    if len(set(dtypes)) == 1:
        dtype = _DTYPES[dtypes[0]]
    else:
        dtype = np.dtype([(f'f{j}', _DTYPES[dt]) for j, dt in enumerate(dtypes)])
    try:
        arr = np.loadtxt(io.StringIO(text), dtype=dtype, delimiter=sep, skiprows=header,
                         comments=None, ndmin=2 if len(set(dtypes)) == 1 else 1,
                         quotechar=None)
    except (ValueError, IndexError):
        return None  # the line-by-line scan finds and reports the offending line
    if arr.dtype.names is None:
        if arr.ndim != 2 or arr.shape[1] != len(dtypes):
            return None
        cols = [np.ascontiguousarray(arr[:, j]) for j in range(len(dtypes))]
    else:
        cols = [np.ascontiguousarray(arr[f'f{j}']).reshape(-1) for j in range(len(dtypes))]
    return Table(path, cols, None, names, text_lines=None, header=header)


def read_atomic(path: str, fields: Mapping[str, str]) -> Table:
    r"""Read a RecBole *atomic file* (``.inter``, ``.item``, ``.kg``, ``.link``, ...).

    The first line names the tab-separated columns as ``name:type``
    (e.g. ``user_id:token``). Columns are selected **by name**, so any column order is
    accepted; a missing column is reported as a wrong layout (line 1).

    Args:
        path: The file.
        fields: ``{name: dtype}`` of the columns to return (``'int'``, ``'float'``,
            ``'str'``), in the order they should appear in the returned table.
    """
    text = _read_text(path)
    if not text.strip():
        raise _empty_file(path, text)
    first = text.split('\n', 1)[0]
    header = [h.strip() for h in first.split('\t')]
    col_names = [h.split(':', 1)[0] for h in header]
    pos = {}
    for name in fields:
        if name not in col_names:
            raise DataFormatError(path, 1, f'header has no column {name!r} (wrong column '
                                  f'layout?): found columns {header}')
        pos[name] = col_names.index(name)
    dtypes = ['str'] * len(header)
    for name, dt in fields.items():
        dtypes[pos[name]] = dt
    table = None
    if all(dt != 'str' for dt in dtypes):
        table = _fast_parse(path, text, dtypes, '\t', 1, col_names)
    if table is None:
        table = _slow_parse(path, text.split('\n'), dtypes, '\t', 1, col_names)
    if len(table) == 0:
        raise DataFormatError(path, None, 'the file holds no data rows (empty or truncated '
                              'download?)')
    return Table(path, [table.columns[pos[n]] for n in fields], table._lines, list(fields),
                 text_lines=None, header=1)


def read_adjacency_lists(path: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray,
                                             np.ndarray]:
    r"""Read a KGAT/LightGCN-style interaction file: one line per user,
    ``user item item ...`` separated by whitespace.

    Returns:
        ``(users, counts, items, lines)``: the user of every non-blank line, the number
        of items on it, the concatenated item ids, and the 1-based line number of every
        non-blank line. A line may hold only the user id (``counts == 0``); the caller
        decides what that means. Non-integer tokens raise :class:`DataFormatError`.
    """
    text = _read_text(path)
    if not text.strip():
        raise _empty_file(path, text)
    values = None
    if text.isascii() and '_' not in text:  # int() would accept '1_000'
        # Tokens per line, vectorised over the bytes: a token starts at a non-space
        # byte that follows a space, a newline or the start of the file.
        raw = np.frombuffer(text.encode('ascii'), dtype=np.uint8)
        is_nl = raw == 10
        is_sep = is_nl | (raw == 32) | ((raw >= 9) & (raw <= 13))
        start = ~is_sep
        start[1:] &= is_sep[:-1]
        line_of_token = np.cumsum(is_nl)[start]
        per_line = np.bincount(line_of_token, minlength=int(is_nl.sum()) + 1)
        tokens = text.split()
        if len(tokens) == int(per_line.sum()):
            try:
                values = np.array(tokens, dtype=np.int64) if tokens else np.empty(
                    0, np.int64)
            except (ValueError, OverflowError):
                values = None
    if values is None:  # slow path: find and report the first bad token
        parts = [ln.split() for ln in text.split('\n')]
        for i, p in enumerate(parts):
            for tok in p:
                if not _INT_RE.match(tok):
                    raise DataFormatError(path, i + 1, f'expected integer ids, found {tok!r}')
                if abs(int(tok)) >= 2**63:
                    raise DataFormatError(path, i + 1, f'id {tok} is too large')
        per_line = np.array([len(p) for p in parts], dtype=np.int64)
        values = np.array([t for p in parts for t in p], dtype=np.int64)
    keep = np.flatnonzero(per_line > 0)
    if keep.size == 0:
        raise DataFormatError(path, None, 'the file holds no data rows (empty or truncated '
                              'download?)')
    counts = per_line[keep] - 1
    starts = np.concatenate([[0], np.cumsum(counts + 1)[:-1]]).astype(np.int64)
    users = values[starts] if keep.size else np.empty(0, dtype=np.int64)
    mask = np.ones(values.size, dtype=bool)
    mask[starts] = False
    return users, counts.astype(np.int64), values[mask], keep.astype(np.int64) + 1


def first_unique(*keys: np.ndarray) -> np.ndarray:
    r"""Indices of the first occurrence of every distinct key tuple, in file order.

    This is the duplicate normalisation used by every dataset: a row whose key repeats
    an earlier row is dropped, the first one is kept.

    Args:
        *keys: Equal-length 1-D arrays (integers or strings) forming the key.
    """
    n = len(keys[0])
    if n == 0:
        return np.empty(0, dtype=np.int64)
    codes = []
    for k in keys:
        k = np.asarray(k)
        if k.dtype.kind not in 'iu':
            k = factorize(k)[0]
        codes.append(k.astype(np.int64))
    if len(codes) == 1:
        combined = codes[0]
    else:
        combined = None
        span = 1
        shifted = []
        for c in reversed(codes):
            lo, hi = int(c.min()), int(c.max())
            shifted.append((c - lo, span))
            span *= (hi - lo + 1)
            if span > 2**62:
                break
        else:
            combined = np.zeros(n, dtype=np.int64)
            for c, mult in shifted:
                combined += c * mult
    if combined is not None:
        s = np.sort(combined)
        if not bool((s[1:] == s[:-1]).any()):  # common case: no duplicates at all
            return np.arange(n, dtype=np.int64)
        _, idx = np.unique(combined, return_index=True)
    else:
        _, idx = np.unique(np.stack(codes, axis=1), axis=0, return_index=True)
    return np.sort(idx)


def factorize(values: np.ndarray, order: str = 'appearance') -> Tuple[np.ndarray, np.ndarray]:
    r"""Map values to dense codes ``0 .. K-1``.

    Args:
        values: A 1-D array.
        order: ``'appearance'`` (code ``k`` is the ``k``-th distinct value met) or
            ``'sorted'`` (codes follow the sorted order of the values).

    Returns:
        ``(codes, uniques)`` with ``uniques[codes] == values``.
    """
    values = np.asarray(values)
    if values.dtype == object:
        values = values.astype(str)
    if values.size == 0:
        return np.empty(0, dtype=np.int64), values
    uniq, first, inv = np.unique(values, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if order == 'sorted':
        return inv.astype(np.int64), uniq
    if order != 'appearance':
        raise ValueError(f"order must be 'appearance' or 'sorted' (got {order!r})")
    perm = np.argsort(first, kind='stable')
    rank = np.empty_like(perm)
    rank[perm] = np.arange(perm.size)
    return rank[inv].astype(np.int64), uniq[perm]
