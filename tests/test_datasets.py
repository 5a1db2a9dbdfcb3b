import os
import os.path as osp
import shutil
import zipfile

import pytest
import torch

from kgrec_dataset_fixtures import (AMAZON, BOOK, LASTFM, LASTFM_HETREC, ML1M, ML100K,
                                    real_dir, write)
from torch_geometric_kgrec.datasets import (DATASETS, AmazonBookKG, BookCrossingKG,
                                            LastFMKG, MovieLens1MKG, MovieLens100KKG,
                                            get_dataset, kgrec_stats, load_dataset,
                                            validate_kgrec_data)

KG = ('entity', 'kg', 'entity')
INTER = ('user', 'interacts', 'entity')
NEG = ('user', 'negative', 'entity')


def _tolist(t):
    return t.tolist()


def _pairs(data, et=INTER):
    return [tuple(p) for p in data[et].edge_index.t().tolist()]


def _snapshot(folder):
    return sorted((f, os.path.getsize(osp.join(folder, f)), os.path.getmtime(
        osp.join(folder, f))) for f in os.listdir(folder))


# ----------------------------------------------------------------------------------------
# Fixture files in the published layouts: exact, hand-computed results
# ----------------------------------------------------------------------------------------

def test_lastfm_fixture(tmp_path):
    raw = write(tmp_path / 'raw_lastfm', LASTFM)
    before = _snapshot(raw)
    ds = LastFMKG(tmp_path / 'cache', raw_dir=raw)
    data = ds[0]
    validate_kgrec_data(data)
    assert _snapshot(raw) == before  # the local raw folder is read-only
    assert data.user_ids == ['2', '3', '4']  # order of first positive (MKR)
    assert data.item_ids == ['51', '52', '53']
    assert data.entity_ids == ['0', '1', '2', '3', '4', '5']
    assert _pairs(data) == [(0, 0), (0, 1), (1, 1), (2, 0)]
    assert _tolist(data[INTER].rating) == [100.0, 50.0, 10.0, 20.0]
    # kg line 4 (head '7' unknown when met) is skipped as in MKR's preprocess.py
    assert data.relation_names == ['music.genre', 'genre.parent', 'music.origin']
    assert _tolist(data[KG].edge_index) == [[0, 1, 3, 2], [3, 3, 4, 5]]
    assert _tolist(data[KG].edge_type) == [0, 0, 1, 2]
    s = kgrec_stats(data)
    assert (s['users'], s['items'], s['entities'], s['relations'], s['triples'],
            s['interactions'], s['negatives']) == (3, 3, 6, 3, 4, 4, 0)
    assert str(ds) == 'LastFMKG()'
    # HetRec names and tags: most-used first, ties by tag id; 53 has no tag
    assert data.item_genres == [['electronic', 'house', 'french'], ['rock'], []]
    assert data.item_text == ['Daft Punk. Tags: electronic, house, french',
                              'R.E.M. Tags: rock', 'Nobody Tagged.']
    assert data.entity_names == ['Daft Punk', 'R.E.M.', 'Nobody Tagged', None, None, None]
    # A second instantiation loads the processed file.
    again = LastFMKG(tmp_path / 'cache', raw_dir=raw)[0]
    assert torch.equal(again[INTER].edge_index, data[INTER].edge_index)


def test_movielens_1m_fixture(tmp_path):
    raw = write(tmp_path / 'raw', ML1M)
    data = MovieLens1MKG(tmp_path / 'cache', raw_dir=raw)[0]
    # ratings >= 4 of linked movies; user 2 (only a rating of 3) is not a user
    assert data.user_ids == ['1', '3']
    assert data.item_ids == ['10', '20', '30']
    assert _pairs(data) == [(0, 0), (0, 1), (1, 2)]
    assert _tolist(data[INTER].rating) == [5.0, 4.0, 4.0]
    assert _tolist(data[INTER].time) == [978300760, 978302109, 978824330]
    assert data[INTER].time.dtype == torch.long
    assert data.relation_names == ['film.film.director', 'film.film.genre']
    assert _tolist(data[KG].edge_index) == [[0, 1, 2, 0], [3, 3, 4, 4]]
    s = kgrec_stats(data)
    assert (s['users'], s['items'], s['entities'], s['relations'], s['triples'],
            s['interactions']) == (2, 3, 5, 2, 4, 3)


def test_amazon_book_fixture(tmp_path):
    raw = write(tmp_path / 'raw', AMAZON)
    data = AmazonBookKG(tmp_path / 'cache', raw_dir=raw)[0]
    validate_kgrec_data(data)
    st = data[INTER]
    train = sorted(p for p, m in zip(_pairs(data), st.train_mask.tolist()) if m)
    test = sorted(p for p, m in zip(_pairs(data), st.test_mask.tolist()) if m)
    assert train == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 3), (2, 0), (2, 4), (3, 2)]
    assert test == [(0, 3), (1, 4), (2, 1)]
    assert bool((st.train_mask ^ st.test_mask).all())
    # entities: items 0..4 plus the KG entities 5, 6, 9 (7 and 8 are unused)
    assert data.entity_ids == ['m.b0', 'm.b1', 'm.b2', 'm.b3', 'm.b4', 'm.e5', 'm.e6',
                               'm.e9']
    assert data.user_ids == ['A1', 'A2', 'A3', 'A4']
    assert data.item_ids == ['B0', 'B1', 'B2', 'B3', 'B4']
    assert data.relation_names[2] == 'http://rdf.freebase.com/ns/genre.parent'
    # duplicate triple '0 0 5' dropped; entity 9 -> index 7
    assert _tolist(data[KG].edge_index) == [[0, 1, 2, 5, 3], [5, 5, 6, 7, 6]]
    s = kgrec_stats(data)
    assert (s['users'], s['items'], s['entities'], s['relations'], s['triples'],
            s['interactions'], s['train_interactions'], s['test_interactions']) == (
                4, 5, 8, 3, 5, 11, 8, 3)


def test_amazon_book_without_id_lists(tmp_path):
    files = {k: v for k, v in AMAZON.items() if k in ('train.txt', 'test.txt',
                                                       'kg_final.txt')}
    data = AmazonBookKG(tmp_path / 'cache', raw_dir=write(tmp_path / 'raw', files))[0]
    # counts as KGAT's loader (max id + 1), ids are the indices
    assert data['user'].num_nodes == 4 and data.num_items == 5
    assert data.entity_ids == ['0', '1', '2', '3', '4', '5', '6', '9']
    assert data.relation_names == ['0', '1', '2']


def test_book_crossing_fixture(tmp_path):
    data = BookCrossingKG(tmp_path / 'cache', raw_dir=write(tmp_path / 'raw', BOOK,
                                                            crlf=True))[0]
    validate_kgrec_data(data)
    assert data.user_ids == ['1', '2', '4']
    assert data.item_ids == ['ISBN-A', 'ISBN-B', 'ISBN-C']  # item k is line k
    assert _pairs(data) == [(0, 0), (1, 2), (2, 1)]
    assert _pairs(data, NEG) == [(0, 2), (1, 1), (2, 0)]
    # 1-based ids: entity id 5 is unused, so there are 5 entities, not max id + 1 = 7
    assert data.entity_ids == ['1', '2', '3', '4', '6']
    assert _tolist(data[KG].edge_index) == [[0, 1, 2, 3], [3, 3, 4, 4]]
    assert _tolist(data[KG].edge_type) == [0, 0, 1, 2]
    assert data.relation_names == ['1', '2', '3']


def test_movielens_100k_fixture(tmp_path):
    data = MovieLens100KKG(tmp_path / 'cache', raw_dir=write(tmp_path / 'raw', ML100K))[0]
    validate_kgrec_data(data)
    assert data.user_ids == ['22', '196'] and data.item_ids == ['1', '2', '3']
    assert _pairs(data) == [(0, 0), (1, 1), (1, 2)]
    assert _tolist(data[INTER].rating) == [5.0, 3.0, 1.0]
    assert _tolist(data[INTER].time) == [881251000, 881250949, 881250000]
    assert data.entity_ids == ['m.toy', 'm.gold', 'item:3', 'm.anim', 'm.dir']
    assert data.relation_names == ['film.film.genre', 'film.film_genre.films_in_this_genre',
                                   'film.film.directed_by']
    assert _tolist(data[KG].edge_index) == [[0, 3, 1], [3, 0, 4]]
    assert data.item_text == ["Toy Story (1995). Genres: Animation, Children's, Comedy",
                              'GoldenEye (1995). Genres: Action, Adventure, Thriller',
                              'Four Rooms (1995). Genres: Thriller']
    assert data.item_years == ['1995', '1995', '1995']
    assert data.item_genres == [['Animation', "Children's", 'Comedy'],
                                ['Action', 'Adventure', 'Thriller'], ['Thriller']]
    # item titles for items, FB15k names (underscores as spaces) or None for the others
    assert data.entity_names == ['Toy Story', 'GoldenEye', 'Four Rooms', 'Animation', None]


# ML-100K items (ids 1..10) and ML-1M movies whose ids differ: the published link file
# uses the ML-1M ids. Expected: Toy Story, Shawshank (exact), Chasing Amy (exact, listed
# twice by ML-100K: the lower id 4 is linked), Il Postino (parenthesised alternate
# title), What's Love... (trailing '?'), Contempt (accents + article, ISO-8859-1 file)
# are linked; Father of the Bride (not in ML-100K), Copycat (other year) and Crash (two
# ML-100K films with that title + year, different genres) are not.
RELINK_ITEMS = [('Toy Story', '1995', 'Animation'), ('Copycat', '1995', 'Crime'),
                ('Shawshank Redemption, The', '1994', 'Drama'),
                ('Chasing Amy', '1997', 'Drama Romance'),
                ('Chasing Amy', '1997', 'Drama Romance'), ('Postino, Il', '1994', 'Drama'),
                ('Crash', '1996', 'Drama'), ('Crash', '1996', 'Action'),
                ("What's Love Got to Do with It", '1993', 'Drama'),
                ('Contempt (Mépris, Le)', '1963', 'Drama')]
RELINK_ML1M = [(1, 'Toy Story (1995)'), (5, 'Father of the Bride Part II (1995)'),
               (318, 'Shawshank Redemption, The (1994)'), (1639, 'Chasing Amy (1997)'),
               (58, 'Postino, Il (The Postman) (1994)'),
               (477, "What's Love Got to Do with It? (1993)"), (1000, 'Crash (1996)'),
               (2, 'Copycat (1994)'), (1572, 'Contempt (Le Mépris) (1963)')]
RELINK_MIDS = ['m.toy', 'm.fob', 'm.shaw', 'm.amy', 'm.post', 'm.love', 'm.crash',
               'm.copy', 'm.contempt']


def _relink_raw(folder):
    files = dict(ML100K)
    files['ml-100k.item'] = ML100K['ml-100k.item'].split('\n')[0] + '\n' + ''.join(
        f'{k + 1}\t{t}\t{y}\t{g}\n' for k, (t, y, g) in enumerate(RELINK_ITEMS))
    files['ml-100k.inter'] = ML100K['ml-100k.inter'].split('\n')[0] + '\n' + ''.join(
        f'1\t{k + 1}\t4\t88125{k}\n' for k in range(len(RELINK_ITEMS)))
    files['ml-100k.link'] = 'item_id:token\tentity_id:token\n' + ''.join(
        f'{i}\t{m}\n' for (i, _), m in zip(RELINK_ML1M, RELINK_MIDS))
    files['ml-100k.kg'] = ('head_id:token\trelation_id:token\ttail_id:token\n' + ''.join(
        f'{m}\tfilm.film.genre\tm.drama\n' for m in RELINK_MIDS))
    files['fb15k-mid2name.txt'] = '/m/shaw\tThe_Shawshank_Redemption\n/m/fob\tFather_of_the_Bride\n'
    del files['ml-1m-movies.dat']
    raw = write(folder, files)
    with open(osp.join(raw, 'ml-1m-movies.dat'), 'wb') as f:  # ISO-8859-1, as GroupLens'
        f.write(''.join(f'{i}::{t}::Drama\n' for i, t in RELINK_ML1M).encode('iso-8859-1'))
    return raw


def test_movielens_100k_relink_fixture(tmp_path):
    from torch_geometric_kgrec.datasets.io import read_atomic
    from torch_geometric_kgrec.datasets.movielens_100k import (read_ml1m_movies,
                                                               relink_by_title)
    raw = _relink_raw(tmp_path / 'raw')
    data = MovieLens100KKG(tmp_path / 'cache', raw_dir=raw)[0]
    validate_kgrec_data(data)
    assert data.entity_ids[:10] == ['m.toy', 'item:2', 'm.shaw', 'm.amy', 'item:5', 'm.post',
                                    'item:7', 'item:8', 'm.love', 'm.contempt']
    # MIDs that lost their (wrong) item are ordinary entities; the KG is unchanged
    assert data.entity_ids[10:] == ['m.drama', 'm.fob', 'm.crash', 'm.copy']
    assert data[KG].edge_index.size(1) == 9
    assert data.entity_names[:3] == ['Toy Story', 'Copycat', 'Shawshank Redemption, The']
    assert data.entity_names[10:] == [None, 'Father of the Bride', None, None]
    lk = read_atomic(osp.join(raw, 'ml-100k.link'), {'item_id': 'int', 'entity_id': 'str'})
    item, counts = relink_by_title(lk, read_ml1m_movies(osp.join(raw, 'ml-1m-movies.dat')),
                                   *[list(c) for c in zip(*RELINK_ITEMS)])
    assert item.tolist() == [0, -1, 2, 3, 5, 8, -1, -1, 9]
    assert counts == dict(rows=9, exact=3, normalised=3, duplicates=1, ambiguous=1,
                          unlinked=3, items=6)


def test_movielens_100k_recbole_link_option(tmp_path):
    raw = write(tmp_path / 'raw', ML100K)
    with pytest.warns(UserWarning, match='OTHER films'):
        old = MovieLens100KKG(tmp_path / 'cache', raw_dir=raw, link='recbole-ml1m-ids')[0]
    new = MovieLens100KKG(tmp_path / 'cache', raw_dir=raw)[0]
    assert old.entity_ids == new.entity_ids  # this fixture's ids agree in both catalogues
    processed = sorted(os.listdir(tmp_path / 'cache' / 'processed'))
    assert [f for f in processed if f.startswith('data_recbole-ml1m-ids_')]
    assert [f for f in processed if f.startswith('data_title-year_')]
    # the published reading: ids are ML-100K ids (item 3 'Four Rooms' -> m.x)
    files = dict(ML100K, **{'ml-100k.link': ML100K['ml-100k.link'] + '3\tm.x\n',
                            'ml-1m-movies.dat': '1::Toy Story (1995)::A\n2::Jumanji '
                            '(1995)::A\n3::Grumpier Old Men (1995)::A\n'})
    raw2 = write(tmp_path / 'raw2', files)
    with pytest.warns(UserWarning):
        old = MovieLens100KKG(tmp_path / 'c2', raw_dir=raw2, link='recbole-ml1m-ids')[0]
    assert old.entity_ids[:3] == ['m.toy', 'm.gold', 'm.x']
    new = MovieLens100KKG(tmp_path / 'c2', raw_dir=raw2)[0]
    assert new.entity_ids[:3] == ['m.toy', 'item:2', 'item:3']
    with pytest.raises(ValueError, match='unknown link'):
        MovieLens100KKG(tmp_path / 'c3', raw_dir=raw, link='ids')


def test_missing_file_in_local_raw_dir_is_not_downloaded(tmp_path):
    files = dict(LASTFM)
    del files['kg.txt']
    raw = write(tmp_path / 'raw', files)
    with pytest.raises(FileNotFoundError, match='kg.txt'):
        LastFMKG(tmp_path / 'cache', raw_dir=raw)
    assert sorted(os.listdir(raw)) == sorted(files)  # nothing downloaded into it


def test_processed_file_depends_on_raw_copy(tmp_path):
    a = write(tmp_path / 'a', LASTFM)
    b = write(tmp_path / 'b', dict(LASTFM, **{'user_artists.dat':
                                               'userID\tartistID\tweight\n2\t51\t1\n'}))
    assert LastFMKG(tmp_path / 'cache', raw_dir=a)[0][INTER].edge_index.size(1) == 4
    assert LastFMKG(tmp_path / 'cache', raw_dir=b)[0][INTER].edge_index.size(1) == 1


def test_download_uses_public_sources(tmp_path, monkeypatch):
    r"""`download()` fetches the documented URLs (served here from local fixtures) and
    lays the raw folder out as the readers expect (renames, unzipping)."""
    import torch_geometric_kgrec.datasets.amazon_book as amazon_mod
    import torch_geometric_kgrec.datasets.base as base_mod
    import torch_geometric_kgrec.datasets.lastfm as lastfm_mod
    import torch_geometric_kgrec.datasets.movielens_100k as ml100k_mod
    import torch_geometric_kgrec.datasets.movielens_1m as ml1m_mod

    src = tmp_path / 'server'
    served = {}
    for name, files in (('music', LASTFM), ('movie100k', ML100K), ('amazon', AMAZON),
                        ('movie', ML1M), ('book', BOOK)):
        write(src / name, files)
    # zips as published: KGAT's kg_final.txt.zip and GroupLens' ml-1m.zip
    with zipfile.ZipFile(src / 'kg_final.txt.zip', 'w') as z:
        z.write(src / 'amazon' / 'kg_final.txt', 'kg_final.txt')
    with zipfile.ZipFile(src / 'ml-1m.zip', 'w') as z:
        z.write(src / 'movie' / 'ratings.dat', 'ml-1m/ratings.dat')
        z.write(src / 'movie100k' / 'ml-1m-movies.dat', 'ml-1m/movies.dat')
    with zipfile.ZipFile(src / 'hetrec2011-lastfm-2k.zip', 'w') as z:
        for f in LASTFM_HETREC:
            z.write(src / 'music' / f, f)

    mkr = 'https://raw.githubusercontent.com/hwwang55/MKR/HEAD/data'
    ckan = 'https://raw.githubusercontent.com/Hank-Kuo/CKAN/HEAD/data'
    kgat = ('https://raw.githubusercontent.com/xiangwang1223/'
            'knowledge_graph_attention_network/HEAD/Data/amazon-book')
    for f in set(LASTFM) - set(LASTFM_HETREC):
        served[f'{mkr}/music/{f}'] = src / 'music' / f
    served['https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip'] = (
        src / 'hetrec2011-lastfm-2k.zip')
    for f in BOOK:
        served[f'{ckan}/book/{f}'] = src / 'book' / f
    for f in ('ml-100k.inter', 'ml-100k.item', 'ml-100k.link', 'ml-100k.kg'):
        served[f"{ckan}/movie/movie.{f.split('.')[-1]}"] = src / 'movie100k' / f
    served['https://raw.githubusercontent.com/yao8839836/kg-bert/HEAD/data/FB15K/'
           'FB15k_mid2name.txt'] = src / 'movie100k' / 'fb15k-mid2name.txt'
    for f in AMAZON:
        if f != 'kg_final.txt':
            served[f'{kgat}/{f}'] = src / 'amazon' / f
    served[f'{kgat}/kg_final.txt.zip'] = src / 'kg_final.txt.zip'
    for f in ('item_index2entity_id.txt', 'kg.txt'):
        served[f'{mkr}/movie/{f}'] = src / 'movie' / f
    served['https://files.grouplens.org/datasets/movielens/ml-1m.zip'] = src / 'ml-1m.zip'
    requested = []

    def fake_download_url(url, folder, log=True, filename=None):
        requested.append(url)
        out = osp.join(folder, filename or url.rpartition('/')[2])
        os.makedirs(folder, exist_ok=True)
        shutil.copy(served[url], out)
        return out

    for mod in (base_mod, amazon_mod, ml1m_mod, ml100k_mod, lastfm_mod):
        monkeypatch.setattr(mod, 'download_url', fake_download_url)
    monkeypatch.delenv('KGREC_DATA', raising=False)

    for cls, n in ((LastFMKG, 4), (BookCrossingKG, 3), (MovieLens100KKG, 3),
                   (AmazonBookKG, 11), (MovieLens1MKG, 3)):
        data = cls(tmp_path / cls.name)[0]
        assert data[INTER].edge_index.size(1) == n, cls.__name__
        raw = tmp_path / cls.name / 'raw'
        assert set(cls(tmp_path / cls.name).raw_file_names) <= set(os.listdir(raw))
    assert not (tmp_path / 'amazon-book' / 'raw' / 'kg_final.txt.zip').exists()
    assert sorted(os.listdir(tmp_path / 'lastfm' / 'raw')) == sorted(LASTFM)  # zip removed
    assert LastFMKG(tmp_path / 'lastfm')[0].item_text[0].startswith('Daft Punk. Tags:')
    assert set(requested) == set(served)


def test_load_dataset_registry(tmp_path, monkeypatch):
    layout = tmp_path / 'data'
    write(layout / 'lastfm', LASTFM)
    write(layout / 'movielens-100k', ML100K)
    cache = tmp_path / 'cache'
    data = load_dataset('lastfm', root=str(layout), cache_dir=str(cache))
    assert data[INTER].edge_index.size(1) == 4
    assert (cache / 'lastfm' / 'processed').is_dir()
    assert sorted(os.listdir(layout / 'lastfm')) == sorted(LASTFM)  # nothing written
    # KGREC_DATA is the default raw root
    monkeypatch.setenv('KGREC_DATA', str(layout))
    monkeypatch.setenv('KGREC_CACHE', str(tmp_path / 'cache2'))
    data = load_dataset('movielens-100k')
    assert data.num_items == 3
    assert (tmp_path / 'cache2' / 'movielens-100k' / 'processed').is_dir()
    ds = get_dataset('synthetic', num_users=10, num_items=20, num_entities=40,
                     num_triples=40, num_interactions=30)
    assert ds[0][INTER].edge_index.size(1) == 30
    assert sorted(DATASETS) == ['amazon-art-office', 'amazon-book', 'book-crossing', 'lastfm',
                                'movielens-100k', 'movielens-1m', 'synthetic']
    with pytest.raises(ValueError, match='unknown dataset'):
        load_dataset('movielens-20m')


# ----------------------------------------------------------------------------------------
# The real benchmark files (../shared/data or $KGREC_DATA): published statistics
# ----------------------------------------------------------------------------------------

def _real(tmp_path_factory, cls, *files):
    d = real_dir(cls.subdir, *files)
    if not d:
        pytest.skip(f'real {cls.subdir} files not found (set KGREC_DATA to a folder laid '
                    'out like shared/data)')
    return cls(tmp_path_factory.mktemp(cls.name), raw_dir=d)[0]


@pytest.fixture(scope='module')
def lastfm(tmp_path_factory):
    return _real(tmp_path_factory, LastFMKG, 'user_artists.dat', 'kg.txt',
                 'item_index2entity_id.txt', *LASTFM_HETREC)


@pytest.fixture(scope='module')
def book(tmp_path_factory):
    return _real(tmp_path_factory, BookCrossingKG, 'ratings_final.txt', 'kg_final.txt',
                 'item_index2entity_id_rehashed.txt')


@pytest.fixture(scope='module')
def ml100k(tmp_path_factory):
    return _real(tmp_path_factory, MovieLens100KKG, 'ml-100k.inter', 'ml-100k.item',
                 'ml-100k.link', 'ml-100k.kg', 'ml-1m-movies.dat', 'fb15k-mid2name.txt')


def _core(s):
    return {k: s[k] for k in ('users', 'items', 'entities', 'relations', 'triples',
                              'interactions', 'negatives')}


def test_real_lastfm(lastfm):
    validate_kgrec_data(lastfm)
    assert _core(kgrec_stats(lastfm)) == dict(users=1872, items=3846, entities=9366,
                                             relations=60, triples=15518,
                                             interactions=21173, negatives=0)
    # user_artists.dat line 3: user 2 listened to artist 52 11,690 times (artist 51 on
    # line 2 is not a kept artist)
    assert '51' not in lastfm.item_ids
    u, i = lastfm.user_ids.index('2'), lastfm.item_ids.index('52')
    ei = lastfm[INTER].edge_index
    k = int(((ei[0] == u) & (ei[1] == i)).nonzero())
    assert lastfm[INTER].rating[k] == 11690
    assert lastfm.item_ids[:3] == ['2', '3', '4']  # item k is line k of the item map
    assert lastfm.relation_names[0] == 'music.artist.origin'
    # HetRec 2011 names and tags (artists.dat UTF-8, tags.dat ISO-8859-1 + CRLF)
    assert sum(n is not None for n in lastfm.entity_names[:3846]) == 3846
    assert all(n is None for n in lastfm.entity_names[3846:])
    assert sum(len(g) > 0 for g in lastfm.item_genres) == 3083
    assert max(len(g) for g in lastfm.item_genres) == 10
    assert lastfm.item_text[0] == ('Diary of Dreams. Tags: darkwave, german, gothic, '
                                   'seen live, ambient, electronic, industrial, gothic rock, '
                                   'dark, vocal')
    k = lastfm.entity_names.index('Röyksopp')
    assert lastfm.item_text[k].startswith('Röyksopp. Tags: electronic')
    assert not any('\r' in t or '\ufffd' in t for g in lastfm.item_genres for t in g)


def test_real_book_crossing(book):
    validate_kgrec_data(book)
    assert _core(kgrec_stats(book)) == dict(users=17860, items=14967, entities=77902,
                                           relations=25, triples=151500,
                                           interactions=69873, negatives=69873)
    # the CKAN files are 1-based: first kg line "14967 1 14968" is (last item) -> 14968
    assert book.entity_ids[14966] == '14967' and book.entity_ids[14967] == '14968'
    assert book.item_ids[14966] == '0525447644'  # ISBN on the last line of the item map
    h, t = book[KG].edge_index[:, 0].tolist()
    assert (h, t, int(book[KG].edge_type[0])) == (14966, 14967, 0)
    assert book.user_ids[0] == '1' and len(set(book.user_ids)) == 17860


def test_real_movielens_100k(ml100k):
    validate_kgrec_data(ml100k)
    s = kgrec_stats(ml100k)
    assert _core(s) == dict(users=943, items=1682, entities=34791, relations=24,
                            triples=91631, interactions=100000, negatives=0)
    assert s['linked_items'] == 1519  # relinked by title + year (link='title-year')
    assert ml100k.item_text[0] == "Toy Story (1995). Genres: Animation, Children's, Comedy"
    u, i = ml100k.user_ids.index('196'), ml100k.item_ids.index('242')
    ei = ml100k[INTER].edge_index
    k = int(((ei[0] == u) & (ei[1] == i)).nonzero())
    assert float(ml100k[INTER].rating[k]) == 3.0
    assert int(ml100k[INTER].time[k]) == 881250949
    assert 'film.film.directed_by' in ml100k.relation_names


def _fb15k_name_agreement(data, raw):
    r"""Of the linked items whose MID has an FB15k name: how many names are the item's
    title (normalised), and how many such items there are."""
    from torch_geometric_kgrec.datasets.movielens_100k import read_fb15k_names
    from torch_geometric_kgrec.datasets.title_match import same_title
    fb = read_fb15k_names(osp.join(raw, 'fb15k-mid2name.txt'))
    pairs = [(data.entity_names[e], fb[m]) for e, m in enumerate(data.entity_ids[:1682])
             if m in fb]
    return sum(same_title(t, n) for t, n in pairs), len(pairs)


def test_real_movielens_100k_links_each_item_to_its_own_film(ml100k, tmp_path):
    raw = real_dir('movielens-100k', 'fb15k-mid2name.txt')
    same, named = _fb15k_name_agreement(ml100k, raw)
    assert named == 297 and same / named >= 0.95, (same, named)  # measured: 291 / 297
    assert ml100k.entity_names[49] == 'Star Wars' and ml100k.entity_ids[49] != 'item:50'
    with pytest.warns(UserWarning):
        old = MovieLens100KKG(tmp_path, raw_dir=raw, link='recbole-ml1m-ids')[0]
    assert kgrec_stats(old)['linked_items'] == 1598 and old.num_nodes_dict == {
        'user': 943, 'entity': 34712}
    # item 5 "Copycat": the published link gives it the MID of ML-1M movie 5
    assert old.entity_ids[4] != ml100k.entity_ids[4]
    same, named = _fb15k_name_agreement(old, raw)
    assert (same, named) == (1, 297)  # the published link: other films
