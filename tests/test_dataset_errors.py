r"""Bad input: every malformed file raises a ValueError naming the file and the line."""
import os.path as osp
import warnings

import numpy as np
import pytest
import torch

from kgrec_dataset_fixtures import AMAZON, BOOK, LASTFM, ML1M, ML100K, write
from torch_geometric_kgrec.datasets import (AmazonBookKG, BookCrossingKG, DataFormatError,
                                            LastFMKG, MovieLens1MKG, MovieLens100KKG,
                                            make_kgrec_data, validate_kgrec_data)
from torch_geometric_kgrec.datasets.io import (first_unique, read_adjacency_lists,
                                               read_atomic, read_table)

INTER = ('user', 'interacts', 'entity')
KG = ('entity', 'kg', 'entity')


def _build(cls, tmp_path, files, crlf=False, name='raw'):
    return cls(tmp_path / f'cache_{name}', raw_dir=write(tmp_path / name, files, crlf))[0]


def _fails(cls, tmp_path, files, file, line, *fragments):
    r"""Processing raises a DataFormatError naming ``file`` and ``line``."""
    with pytest.raises(ValueError) as info:
        _build(cls, tmp_path, files)
    msg = str(info.value)
    assert isinstance(info.value, DataFormatError)
    assert file in msg and f'line {line}:' in msg, msg
    assert info.value.line == line and osp.basename(info.value.path) == file
    for frag in fragments:
        assert frag in msg, msg
    return msg


def _edit(files, name, text):
    out = dict(files)
    out[name] = text
    return out


# ----------------------------------------------------------------------------------------
# Malformed / truncated lines, wrong column layout, non-numeric ids
# ----------------------------------------------------------------------------------------

def test_truncated_line(tmp_path):
    bad = LASTFM['user_artists.dat'].replace('3\t52\t10\n', '3\t52\n')  # line 5
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'user_artists.dat', bad), 'user_artists.dat',
           5, 'truncated line', 'expected 3')


def test_truncated_last_line_without_newline(tmp_path):
    bad = BOOK['ratings_final.txt'] + '7\t1'  # line 7, cut off by a partial download
    _fails(BookCrossingKG, tmp_path, _edit(BOOK, 'ratings_final.txt', bad),
           'ratings_final.txt', 7, 'truncated line')


def test_too_many_columns(tmp_path):
    bad = AMAZON['kg_final.txt'].replace('2 1 6\n', '2 1 6 7\n')  # line 3
    _fails(AmazonBookKG, tmp_path, _edit(AMAZON, 'kg_final.txt', bad), 'kg_final.txt', 3,
           'expected 3', 'found 4')


def test_wrong_header_layout(tmp_path):
    bad = LASTFM['user_artists.dat'].replace('userID\tartistID\tweight',
                                             'userID\tweight\tartistID')
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'user_artists.dat', bad), 'user_artists.dat',
           1, 'wrong column layout')


def test_recbole_missing_column(tmp_path):
    bad = ML100K['ml-100k.inter'].replace('rating:float', 'score:float')
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-100k.inter', bad), 'ml-100k.inter',
           1, "no column 'rating'")


def test_recbole_columns_are_selected_by_name(tmp_path):
    lines = [ln.split('\t') for ln in ML100K['ml-100k.inter'].strip().split('\n')]
    swapped = '\n'.join('\t'.join([c[1], c[0], c[3], c[2]]) for c in lines) + '\n'
    a = _build(MovieLens100KKG, tmp_path, ML100K, name='a')
    b = _build(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-100k.inter', swapped), name='b')
    assert torch.equal(a[INTER].edge_index, b[INTER].edge_index)
    assert torch.equal(a[INTER].time, b[INTER].time)


def test_non_numeric_id(tmp_path):
    bad = BOOK['ratings_final.txt'].replace('4\t2\t1\n', 'u4\t2\t1\n')  # line 3
    _fails(BookCrossingKG, tmp_path, _edit(BOOK, 'ratings_final.txt', bad),
           'ratings_final.txt', 3, "'u4'", 'integer')


def test_non_integer_id_in_adjacency_list(tmp_path):
    bad = AMAZON['train.txt'].replace('1 1 3\n', '1 1 3.5\n')  # line 2
    _fails(AmazonBookKG, tmp_path, _edit(AMAZON, 'train.txt', bad), 'train.txt', 2,
           "'3.5'")


def test_empty_field(tmp_path):
    bad = ML1M['ratings.dat'].replace('1::20::4::978302109', '1::::4::978302109')
    _fails(MovieLens1MKG, tmp_path, _edit(ML1M, 'ratings.dat', bad), 'ratings.dat', 2,
           'column 2', 'expected an integer')


def test_error_line_counts_blank_lines_and_header(tmp_path):
    bad = ('userID\tartistID\tweight\n\n2\t51\t100\n   \n2\tx52\t50\n')
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'user_artists.dat', bad), 'user_artists.dat',
           5, "'x52'")


@pytest.mark.parametrize('cls,files,name', [(LastFMKG, LASTFM, 'kg.txt'),
                                             (LastFMKG, LASTFM, 'user_artists.dat'),
                                             (MovieLens100KKG, ML100K, 'ml-100k.kg'),
                                             (AmazonBookKG, AMAZON, 'test.txt')])
def test_empty_file(tmp_path, cls, files, name):
    header = files[name].split('\n', 1)[0] + '\n' if name.endswith(('.dat', '.kg')) else ''
    expected = 'holds no data rows' if header else r'is empty \(0 bytes\)'
    with pytest.raises(DataFormatError, match=f'{name}: the file {expected}'):
        _build(cls, tmp_path, _edit(files, name, header))


@pytest.mark.parametrize('cls,files,name', [(LastFMKG, LASTFM, 'user_artists.dat'),
                                             (MovieLens100KKG, ML100K, 'ml-100k.inter')])
def test_zero_byte_file_is_called_empty_not_a_bad_header(tmp_path, cls, files, name):
    with pytest.raises(DataFormatError, match=rf'{name}: the file is empty \(0 bytes\)'):
        _build(cls, tmp_path, _edit(files, name, ''))


def test_invalid_utf8(tmp_path):
    raw = write(tmp_path / 'raw', LASTFM)
    with open(osp.join(raw, 'kg.txt'), 'ab') as f:
        f.write(b'2\tmusic.\xff\t6\n')  # line 6
    with pytest.raises(DataFormatError, match=r'kg\.txt, line 6: not valid UTF-8'):
        LastFMKG(tmp_path / 'cache', raw_dir=raw)


# ----------------------------------------------------------------------------------------
# Ids out of range, unknown items / entities
# ----------------------------------------------------------------------------------------

def test_item_out_of_range(tmp_path):
    bad = BOOK['ratings_final.txt'].replace('2\t3\t1\n', '2\t99\t1\n')  # line 5
    _fails(BookCrossingKG, tmp_path, _edit(BOOK, 'ratings_final.txt', bad),
           'ratings_final.txt', 5, 'item id 99 is out of range [1, 4)')


def test_negative_entity_in_triple(tmp_path):
    bad = BOOK['kg_final.txt'].replace('3\t2\t6\n', '3\t2\t-6\n')  # line 3
    _fails(BookCrossingKG, tmp_path, _edit(BOOK, 'kg_final.txt', bad), 'kg_final.txt', 3,
           'tail entity id -6')


def test_bad_label(tmp_path):
    bad = BOOK['ratings_final.txt'].replace('4\t1\t0\n', '4\t1\t2\n')  # line 4
    _fails(BookCrossingKG, tmp_path, _edit(BOOK, 'ratings_final.txt', bad),
           'ratings_final.txt', 4, 'label')


def test_triple_names_unknown_entity(tmp_path):
    bad = AMAZON['kg_final.txt'].replace('5 2 9\n', '5 2 12\n')  # line 4; 10 entities
    _fails(AmazonBookKG, tmp_path, _edit(AMAZON, 'kg_final.txt', bad), 'kg_final.txt', 4,
           'tail entity 12 is out of range [0, 10)')


def test_triple_names_unknown_relation(tmp_path):
    bad = AMAZON['kg_final.txt'].replace('3 1 6\n', '3 7 6\n')  # line 5; 3 relations
    _fails(AmazonBookKG, tmp_path, _edit(AMAZON, 'kg_final.txt', bad), 'kg_final.txt', 5,
           'relation 7 is out of range [0, 3)')


def test_interaction_names_unknown_item(tmp_path):
    bad = AMAZON['test.txt'].replace('1 4\n', '1 5\n')  # line 2; item_list has 5 items
    _fails(AmazonBookKG, tmp_path, _edit(AMAZON, 'test.txt', bad), 'test.txt', 2,
           'item id 5 is out of range [0, 5)', 'item_list.txt')


def test_recbole_unknown_item(tmp_path):
    bad = ML100K['ml-100k.inter'] + '22\t42\t4\t881251001\n'  # line 5
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-100k.inter', bad), 'ml-100k.inter',
           5, 'item 42 is not listed in ml-100k.item')
    bad = ML100K['ml-100k.link'] + '9\tm.nine\n'  # line 4
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-100k.link', bad), 'ml-100k.link',
           4, 'item 9 is not listed')


def test_ml1m_movies_without_year(tmp_path):
    bad = ML100K['ml-1m-movies.dat'].replace('GoldenEye (1995)', 'GoldenEye')  # line 2
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-1m-movies.dat', bad),
           'ml-1m-movies.dat', 2, 'expected "Title (Year)"')
    bad = ML100K['ml-1m-movies.dat'].replace('3::Four', 'x::Four')  # line 3
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-1m-movies.dat', bad),
           'ml-1m-movies.dat', 3, 'expected an integer')


def test_fb15k_names_malformed(tmp_path):
    bad = ML100K['fb15k-mid2name.txt'] + 'm.x\tX\n'  # line 3: not '/m/...'
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'fb15k-mid2name.txt', bad),
           'fb15k-mid2name.txt', 3, "expected a Freebase MID")


def test_hetrec_malformed(tmp_path):
    bad = LASTFM['tags.dat'].replace('2\thouse\n', '2\thouse\textra\n')  # line 3
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'tags.dat', bad), 'tags.dat', 3,
           'expected 2 tab-separated columns')
    bad = LASTFM['user_taggedartists.dat'] + '2\t52\t9\t1\t4\t2009\n'  # line 9
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'user_taggedartists.dat', bad),
           'user_taggedartists.dat', 9, 'tag 9 is not listed in tags.dat')
    bad = LASTFM['user_taggedartists.dat'].replace('4\t51\t3\t1\t5', '4\t51\tx\t1\t5')
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'user_taggedartists.dat', bad),
           'user_taggedartists.dat', 5, 'expected an integer')
    bad = LASTFM['artists.dat'].replace('52\tR.E.M.', '77\tR.E.M.')
    with pytest.raises(ValueError, match=r'artists\.dat: artist 52 .* has no name'):
        _build(LastFMKG, tmp_path, _edit(LASTFM, 'artists.dat', bad), name='noname')


def test_hetrec_tags_are_iso_8859_1_with_crlf(tmp_path):
    raw = write(tmp_path / 'raw', {k: v for k, v in LASTFM.items() if k != 'tags.dat'})
    with open(osp.join(raw, 'tags.dat'), 'wb') as f:  # as published: ISO-8859-1, CRLF
        f.write('tagID\ttagValue\r\n1\télectronique\r\n2\thouse\r\n3\tfrançais\r\n'
                '4\trock\r\n'.encode('iso-8859-1'))
    data = LastFMKG(tmp_path / 'cache', raw_dir=raw)[0]
    assert data.item_text[0] == 'Daft Punk. Tags: électronique, house, français'


def test_item_map_conflict(tmp_path):
    bad = LASTFM['item_index2entity_id.txt'] + '52\t7\n'  # line 4: 52 already -> '1'
    _fails(LastFMKG, tmp_path, _edit(LASTFM, 'item_index2entity_id.txt', bad),
           'item_index2entity_id.txt', 4, "item 52 is already mapped on line 2")


def test_entity_linked_to_two_items(tmp_path):
    bad = ML100K['ml-100k.link'] + '3\tm.toy\n'  # line 4
    _fails(MovieLens100KKG, tmp_path, _edit(ML100K, 'ml-100k.link', bad), 'ml-100k.link',
           4, 'already linked to item 1 on line 3')


def test_mkr_unknown_head_is_skipped_not_an_error(tmp_path):
    r"""MKR's convert_kg skips a triple whose head is unknown when met (documented)."""
    data = _build(LastFMKG, tmp_path, LASTFM)
    assert data[KG].edge_index.size(1) == 4  # of the 5 lines, line 4 ('7 ...') skipped
    assert '7' not in data.entity_ids


# ----------------------------------------------------------------------------------------
# NaN ratings
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('cls,files,name,old,new,line', [
    (MovieLens100KKG, ML100K, 'ml-100k.inter', '22\t1\t5\t', '22\t1\tnan\t', 3),
    (MovieLens1MKG, ML1M, 'ratings.dat', '3::30::4::', '3::30::NaN::', 6),
    (LastFMKG, LASTFM, 'user_artists.dat', '4\t51\t20', '4\t51\tnan', 7),
])
def test_nan_rating(tmp_path, cls, files, name, old, new, line):
    bad = files[name].replace(old, new)
    assert bad != files[name]
    _fails(cls, tmp_path, _edit(files, name, bad), name, line, 'rating is nan')


# ----------------------------------------------------------------------------------------
# Users without interactions
# ----------------------------------------------------------------------------------------

def test_kgat_user_without_items_warns_with_file_and_line(tmp_path):
    files = _edit(AMAZON, 'test.txt', AMAZON['test.txt'] + '3\n')  # line 4
    with pytest.warns(UserWarning, match=r'test\.txt: 1 lines with a user id and no items.*first: line 4'):
        data = _build(AmazonBookKG, tmp_path, files)
    assert data['user'].num_nodes == 4  # the user still exists (KGAT ids are dense)
    assert int(data[INTER].test_mask.sum()) == 3


def test_kgat_user_with_no_interaction_at_all_is_isolated(tmp_path):
    files = {k: AMAZON[k] for k in ('train.txt', 'test.txt', 'kg_final.txt')}
    files['train.txt'] += '5\n'  # user 5: only an id, user 4 never appears
    with pytest.warns(UserWarning, match=r'train\.txt: .*line 5'):
        data = _build(AmazonBookKG, tmp_path, files)
    assert data['user'].num_nodes == 6  # max id + 1, as KGAT's loader
    assert not bool((data[INTER].edge_index[0] >= 4).any())


def test_mkr_user_without_positive_is_dropped(tmp_path):
    data = _build(MovieLens1MKG, tmp_path, ML1M)
    assert '2' not in data.user_ids  # user 2 only rated below the threshold


# ----------------------------------------------------------------------------------------
# Duplicates (dedupe, keep first) and contradictions
# ----------------------------------------------------------------------------------------

def test_duplicate_rows_keep_first(tmp_path):
    dup = LASTFM['user_artists.dat'] + '2\t51\t999\n3\t52\t10\n'
    kg = LASTFM['kg.txt'] + '0\tmusic.genre\t3\n'
    a = _build(LastFMKG, tmp_path, LASTFM, name='a')
    b = _build(LastFMKG, tmp_path, _edit(_edit(LASTFM, 'user_artists.dat', dup), 'kg.txt',
                                         kg), name='b')
    assert torch.equal(a[INTER].edge_index, b[INTER].edge_index)
    assert torch.equal(a[INTER].rating, b[INTER].rating)  # first row's weight (100) kept
    assert torch.equal(a[KG].edge_index, b[KG].edge_index)


def test_duplicate_rows_book_crossing(tmp_path):
    dup = BOOK['ratings_final.txt'] + '1\t1\t1\n'
    a = _build(BookCrossingKG, tmp_path, BOOK, name='a')
    b = _build(BookCrossingKG, tmp_path, _edit(BOOK, 'ratings_final.txt', dup), name='b')
    assert torch.equal(a[INTER].edge_index, b[INTER].edge_index)
    conflict = BOOK['ratings_final.txt'] + '1\t1\t0\n'  # line 7 contradicts line 1
    _fails(BookCrossingKG, tmp_path, _edit(BOOK, 'ratings_final.txt', conflict),
           'ratings_final.txt', 7, 'label 1 on line 1')


def test_kgat_duplicates_merged_and_overlap_rejected(tmp_path):
    dup = AMAZON['train.txt'].replace('0 0 1 2\n', '0 0 1 2 1 0\n') + '1 3\n'
    a = _build(AmazonBookKG, tmp_path, AMAZON, name='a')
    b = _build(AmazonBookKG, tmp_path, _edit(AMAZON, 'train.txt', dup), name='b')
    assert torch.equal(a[INTER].edge_index, b[INTER].edge_index)
    assert torch.equal(a[INTER].train_mask, b[INTER].train_mask)
    leak = AMAZON['test.txt'].replace('2 1\n', '2 1 4\n')  # (2, 4) is in train line 3
    _fails(AmazonBookKG, tmp_path, _edit(AMAZON, 'test.txt', leak), 'test.txt', 3,
           'train.txt, line 3', 'disjoint')


# ----------------------------------------------------------------------------------------
# CRLF line endings: same result as LF
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('cls,files', [(LastFMKG, LASTFM), (BookCrossingKG, BOOK),
                                       (MovieLens100KKG, ML100K), (AmazonBookKG, AMAZON),
                                       (MovieLens1MKG, ML1M)])
def test_crlf_equals_lf(tmp_path, cls, files):
    a = _build(cls, tmp_path, files, name='lf')
    b = _build(cls, tmp_path, files, crlf=True, name='crlf')
    for et in a.edge_types:
        for key, value in a[et].items():
            assert torch.equal(value, b[et][key]), (et, key)
    for key in ('relation_names', 'user_ids', 'item_ids', 'entity_ids', 'item_text',
                'item_genres', 'entity_names'):
        if key in a:
            assert a[key] == b[key], key
    assert not any('\r' in s for s in b.entity_ids + b.relation_names)


def test_crlf_error_line_numbers(tmp_path):
    bad = BOOK['ratings_final.txt'].replace('4\t1\t0\n', '4\t1\n')  # line 4
    raw = write(tmp_path / 'raw', _edit(BOOK, 'ratings_final.txt', bad), crlf=True)
    with pytest.raises(DataFormatError, match=r'ratings_final\.txt, line 4: truncated'):
        BookCrossingKG(tmp_path / 'cache', raw_dir=raw)


# ----------------------------------------------------------------------------------------
# The readers themselves
# ----------------------------------------------------------------------------------------

def test_read_table_fast_and_slow_paths_agree(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 1000, (500, 3))
    text = ''.join(f'{a}\t{b}\t{c}\n' for a, b, c in rows)
    p = write(tmp_path, {'t.txt': text})
    fast = read_table(osp.join(p, 't.txt'), ['int', 'int', 'float'])
    slow = read_table(osp.join(p, 't.txt'), ['int', 'int', 'str'])  # str forces the scan
    assert fast[0].dtype == np.int64 and fast[2].dtype == np.float64
    assert np.array_equal(fast[0], rows[:, 0]) and np.array_equal(fast[1], slow[1])
    assert np.array_equal(fast[2], rows[:, 2].astype(float))
    assert slow[2].tolist() == [str(x) for x in rows[:, 2]]
    assert fast.lines.tolist() == slow.lines.tolist() == list(range(1, 501))


def test_read_table_errors_name_line(tmp_path):
    p = write(tmp_path, {'a.txt': '1 2\n3 4\n\n5 x\n', 'b.txt': '1 2\n3 4 5\n',
                         'c.txt': '1::2\n3::99999999999999999999\n'})
    with pytest.raises(DataFormatError, match=r'a\.txt, line 4: column 2'):
        read_table(osp.join(p, 'a.txt'), ['int', 'int'], sep=None)
    with pytest.raises(DataFormatError, match=r'b\.txt, line 2: expected 2'):
        read_table(osp.join(p, 'b.txt'), ['int', 'int'], sep=None)
    with pytest.raises(DataFormatError, match=r'c\.txt, line 2: .*64 bits'):
        read_table(osp.join(p, 'c.txt'), ['int', 'int'], sep='::')
    t = read_table(osp.join(p, 'a.txt'), ['int', 'str'], sep=None)
    assert t.lines.tolist() == [1, 2, 4] and t.line_of(2) == 4


def test_read_atomic_and_adjacency(tmp_path):
    p = write(tmp_path, {'x.inter': 'b:float\ta:token\n1.5\t7\n2\t8\n',
                         'adj.txt': '0 1 2\n\n1\n2 5 5 6\n'})
    t = read_atomic(osp.join(p, 'x.inter'), {'a': 'int', 'b': 'float'})
    assert t['a'].tolist() == [7, 8] and t['b'].tolist() == [1.5, 2.0]
    users, counts, items, lines = read_adjacency_lists(osp.join(p, 'adj.txt'))
    assert users.tolist() == [0, 1, 2] and counts.tolist() == [2, 0, 3]
    assert items.tolist() == [1, 2, 5, 5, 6] and lines.tolist() == [1, 3, 4]


def test_first_unique_keeps_first_in_order():
    a = np.array([3, 1, 3, 2, 1, 3])
    b = np.array([0, 0, 0, 0, 0, 1])
    assert first_unique(a, b).tolist() == [0, 1, 3, 5]
    s = np.array(['x', 'y', 'x'], dtype=object)
    assert first_unique(s).tolist() == [0, 1]


def test_large_file_is_fast_enough(tmp_path):
    r"""2.6M-line KG files go through the vectorised path (no per-line Python loop)."""
    n = 300_000
    rows = np.random.default_rng(0).integers(0, 90000, (n, 3))
    path = osp.join(tmp_path, 'kg_final.txt')
    np.savetxt(path, rows, fmt='%d', delimiter=' ')
    t = read_table(path, ['int', 'int', 'int'], sep=None)
    assert t._lines is None  # line numbers were not needed, hence not computed
    assert np.array_equal(np.stack(t.columns, 1), rows)


# ----------------------------------------------------------------------------------------
# Schema validation
# ----------------------------------------------------------------------------------------

def _tiny(**over):
    args = dict(num_users=2, num_items=3, num_entities=5,
                kg_edge_index=[[0, 1], [3, 4]], kg_edge_type=[0, 1], relation_names=['a', 'b'],
                interactions=[[1, 0, 0], [2, 1, 0]])
    args.update(over)
    return make_kgrec_data(**args)


def test_make_kgrec_data_sorts_and_validates():
    d = _tiny(interaction_attrs={'rating': [1, 2, 3]})
    assert d[INTER].edge_index.tolist() == [[0, 0, 1], [0, 1, 2]]
    assert d[INTER].rating.tolist() == [3.0, 2.0, 1.0]  # permuted with the pairs
    with pytest.raises(ValueError, match='appears more than once'):
        _tiny(interactions=[[0, 0], [1, 1]])


@pytest.mark.parametrize('mutate,message', [
    (lambda d: d[INTER].__setitem__('edge_index', torch.tensor([[1, 0], [0, 2]])),
     'not sorted'),
    (lambda d: d[INTER].__setitem__('edge_index', torch.tensor([[0, 0], [1, 1]])),
     'more than once'),
    (lambda d: d[INTER].__setitem__('edge_index', torch.tensor([[0], [3]])),
     'item index 3 outside [0, 3)'),
    (lambda d: d[INTER].__setitem__('edge_index', torch.tensor([[2], [0]])),
     'user index 2 outside [0, 2)'),
    (lambda d: d[INTER].__setitem__('edge_index', torch.tensor([[0.0], [1.0]])),
     'torch.long'),
    (lambda d: d[KG].__setitem__('edge_index', torch.tensor([[0], [5]])), 'entity index 5'),
    (lambda d: d[KG].__setitem__('edge_type', torch.tensor([0, 2])), 'relation 2'),
    (lambda d: d[KG].__setitem__('edge_type', torch.tensor([0])), '1 entries for 2'),
    (lambda d: setattr(d, 'num_items', 6), 'exceeds the number of entities'),
    (lambda d: d[INTER].__setitem__('rating', torch.tensor([1.0, float('nan'), 2.0])),
     'NaN'),
    (lambda d: d[INTER].__setitem__('rating', torch.tensor([1.0, 2.0])), '3 rows'),
    (lambda d: d[INTER].__setitem__('time', torch.tensor([1.0, 2.0, 3.0])), 'time'),
    (lambda d: d[INTER].__setitem__('train_mask', torch.tensor([1, 0, 1])), 'bool'),
    (lambda d: d[('user', 'negative', 'entity')].__setitem__(
        'edge_index', torch.tensor([[0], [1]])), 'both a positive and a labelled negative'),
    (lambda d: setattr(d, 'item_ids', ['a']), 'item_ids must be a list of 3'),
    (lambda d: setattr(d, 'relation_names', ['a', 2]), 'relation_names'),
])
def test_validate_rejects(mutate, message):
    d = _tiny(item_ids=['x', 'y', 'z'])
    validate_kgrec_data(d)
    mutate(d)
    with pytest.raises(ValueError, match='validate_kgrec_data') as info:
        validate_kgrec_data(d)
    assert message in str(info.value), str(info.value)


def test_no_warning_on_clean_files(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        # AMAZON's kg_final.txt repeats its first triple on its last line (a counted drop)
        kg = AMAZON['kg_final.txt'].rsplit('0 0 5\n', 1)[0]
        _build(AmazonBookKG, tmp_path, dict(AMAZON, **{'kg_final.txt': kg}))
