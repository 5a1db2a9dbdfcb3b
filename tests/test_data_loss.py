r"""No silent data loss (issue 12, deliver 2): every reader counts what it drops in one
warning naming file, count and first line; implausible KGs and negative ids are errors;
each probe of the issue as a test."""
import warnings

import pytest
from kgrec_dataset_fixtures import BOOK, LASTFM, ML100K, write

from torch_geometric_kgrec.datasets import (BookCrossingKG, DataFormatError, LastFMKG,
                                            MovieLens100KKG)
from torch_geometric_kgrec.datasets.report import DataLossWarning


def _load(cls, tmp_path, files):
    raw = write(tmp_path / 'raw', files)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        data = cls(tmp_path / 'cache', raw_dir=raw)[0]
    return data, [str(x.message) for x in w if issubclass(x.category, DataLossWarning)]


def _one(messages, file):
    hits = [m for m in messages if m.split(':')[0].endswith(file)]
    assert len(hits) == 1, messages  # one warning per file
    return hits[0]


def test_lastfm_counts_every_drop(tmp_path):
    files = dict(LASTFM)
    files['user_artists.dat'] += '2\t51\t7\n2\t52\t50\n'  # a conflicting + an exact duplicate
    data, msgs = _load(LastFMKG, tmp_path, files)
    r = _one(msgs, 'user_artists.dat')
    assert '2 rows of items not in item_index2entity_id.txt dropped (first: line 4)' in r
    assert '1 exact duplicate (user, item) rows dropped (first kept) (first: line 9)' in r
    assert '1 conflicting duplicate (user, item) rows dropped' in r and 'line 8' in r
    assert '1 users left without interactions (not kept) (first: line 6)' in r
    kg = _one(msgs, 'kg.txt')
    assert '1 triples skipped: head neither an item nor a tail' in kg and 'line 4' in kg
    assert data['user', 'interacts', 'entity'].rating.tolist()[:2] == [100.0, 50.0]


def test_integer_relations_in_mkr_kg_are_an_error(tmp_path):
    # Book-Crossing's kg_final.txt given as Last.FM's kg.txt (was: a silent 36,780-triple KG)
    files = dict(LASTFM, **{'kg.txt': '0\t1\t3\n1\t1\t4\n2\t2\t5\n'})
    with pytest.raises(DataFormatError, match=r'kg\.txt, line 1: the relation column holds '
                       'integer ids'):
        _load(LastFMKG, tmp_path, files)


def test_kg_linking_under_half_of_the_items_is_an_error(tmp_path):
    files = dict(LASTFM, **{'kg.txt': '0\tmusic.genre\t3\n9\tmusic.genre\t4\n'})
    with pytest.raises(DataFormatError, match=r'only 1 of the 3 items occur in a kept triple'):
        _load(LastFMKG, tmp_path, files)


@pytest.mark.parametrize('cls,files,name,text,line', [
    (LastFMKG, LASTFM, 'user_artists.dat', 'userID\tartistID\tweight\n2\t51\t1\n-1\t52\t3\n', 3),
    (MovieLens100KKG, ML100K, 'ml-100k.inter',
     'user_id:token\titem_id:token\trating:float\ttimestamp:float\n-3\t1\t5\t1\n', 2),
    (BookCrossingKG, BOOK, 'ratings_final.txt', '1\t1\t1\n-2\t2\t1\n', 2),
])
def test_negative_ids_are_an_error_everywhere(tmp_path, cls, files, name, text, line):
    with pytest.raises(DataFormatError, match=rf'{name}, line {line}: .*-\d'):
        _load(cls, tmp_path, dict(files, **{name: text}))


def test_book_crossing_base_error_names_the_offending_line(tmp_path):
    # 1-based ids (item 3 = the number of items); an appended line holds item 0
    files = dict(BOOK, **{'ratings_final.txt': BOOK['ratings_final.txt'] + '5\t0\t1\n'})
    with pytest.raises(DataFormatError, match=r'ratings_final\.txt, line 7: item id 0, but '
                       r'the item ids run up to 3'):
        _load(BookCrossingKG, tmp_path, files)


def test_book_crossing_and_ml100k_count_duplicates(tmp_path):
    files = dict(BOOK, **{'ratings_final.txt': BOOK['ratings_final.txt'] + '1\t1\t1\n',
                          'kg_final.txt': BOOK['kg_final.txt'] + '1\t1\t4\n'})
    _, msgs = _load(BookCrossingKG, tmp_path / 'b', files)
    assert 'line 7' in _one(msgs, 'ratings_final.txt')
    assert '1 duplicate triples dropped (first kept) (first: line 5)' in _one(msgs,
                                                                             'kg_final.txt')
    inter = ML100K['ml-100k.inter'] + '22\t1\t4\t881251001\n'
    _, msgs = _load(MovieLens100KKG, tmp_path / 'm', dict(ML100K, **{'ml-100k.inter': inter}))
    assert '1 conflicting duplicate rows dropped (another rating' in _one(msgs, 'ml-100k.inter')


def test_real_book_crossing_kg_given_as_lastfm_kg_is_an_error(tmp_path):
    import shutil

    from kgrec_dataset_fixtures import real_dir
    text_files = ('artists.dat', 'tags.dat', 'user_taggedartists.dat')
    fm = real_dir('lastfm', 'user_artists.dat', 'item_index2entity_id.txt', *text_files)
    bx = real_dir('book-crossing', 'kg_final.txt')
    if not (fm and bx):
        pytest.skip('real Last.FM / Book-Crossing files not found (set KGREC_DATA)')
    raw = tmp_path / 'raw'
    raw.mkdir()
    for f in ('user_artists.dat', 'item_index2entity_id.txt') + text_files:
        shutil.copy(f'{fm}/{f}', raw / f)
    shutil.copy(f'{bx}/kg_final.txt', raw / 'kg.txt')  # was: a silent 36,780-triple KG
    with pytest.raises(DataFormatError, match='relation column holds integer ids'):
        LastFMKG(tmp_path / 'cache', raw_dir=str(raw))
