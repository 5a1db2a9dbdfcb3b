r"""Book-Crossing item metadata from a user's own ``BX-Books.csv`` (the original
Book-Crossing release, Ziegler et al. 2005; not redistributed here).

The file is ``;``-separated with ``"``-quoted fields, ISO-8859-1, one header line:
``"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher";...``. It has no
genres, so only the title part of the paper's title+genre template can be built from
it (the paper took genres and synopses from Goodreads and Google Books).
"""
import csv
from typing import Dict

__all__ = ['attach_bx_books']


def attach_bx_books(data, path: str, encoding: str = 'iso-8859-1') -> Dict[str, int]:
    r"""Sets :obj:`data.item_titles`, :obj:`data.item_years` and :obj:`data.item_text`
    (``"<title> (<year>). Author: <author>"``, :obj:`''` for books the file lacks) from
    :obj:`path`, matching :obj:`data.item_ids` (ISBNs) case-insensitively. Years
    ``0`` or outside 1000-2100 are treated as missing.

    Returns:
        :obj:`{'items': I, 'matched': m}`.

    Raises:
        ValueError: naming the file and line of a malformed row or header.
    """
    item_ids = [str(i).strip().upper() for i in data.item_ids[:int(data.num_items)]]
    where = {isbn: k for k, isbn in enumerate(item_ids)}
    titles = [''] * len(item_ids)
    years = [''] * len(item_ids)
    texts = [''] * len(item_ids)
    matched = 0
    with open(path, newline='', encoding=encoding) as f:
        reader = csv.reader(f, delimiter=';', quotechar='"')
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:4]] != [
                'ISBN', 'Book-Title', 'Book-Author', 'Year-Of-Publication']:
            raise ValueError(f'{path}, line 1: expected the BX-Books.csv header "ISBN";'
                             f'"Book-Title";"Book-Author";"Year-Of-Publication";... '
                             f'(got {header})')
        for row in reader:
            if len(row) < 4:
                raise ValueError(f'{path}, line {reader.line_num}: expected at least 4 '
                                 f'fields, got {len(row)}: {row}')
            k = where.get(row[0].strip().upper())
            if k is None:
                continue
            title, author, year = row[1].strip(), row[2].strip(), row[3].strip()
            if not (year.isdigit() and 1000 <= int(year) <= 2100):
                year = ''
            titles[k], years[k] = title, year
            texts[k] = title + (f' ({year})' if year else '') + '.' + (
                f' Author: {author}' if author else '')
            matched += 1
    data.item_titles, data.item_years, data.item_text = titles, years, texts
    return {'items': len(item_ids), 'matched': matched}
