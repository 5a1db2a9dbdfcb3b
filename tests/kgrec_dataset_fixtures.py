r"""Small raw files in the published layouts, written by the dataset tests into tmp
folders (shared by tests/test_datasets.py and tests/test_dataset_errors.py)."""
import os
import os.path as osp
from typing import Dict

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
REAL_DATA = os.environ.get('KGREC_DATA') or osp.join(REPO, '..', 'shared', 'data')


def real_dir(sub: str, *files: str) -> str:
    r"""The real raw folder ``<KGREC_DATA or ../shared/data>/<sub>``, or ``''`` when it
    (or one of :obj:`files`) is absent."""
    d = osp.abspath(osp.join(REAL_DATA, sub))
    if all(osp.isfile(osp.join(d, f)) for f in files):
        return d
    return ''


def write(folder, files: Dict[str, str], crlf: bool = False) -> str:
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        data = text.replace('\n', '\r\n') if crlf else text
        with open(osp.join(folder, name), 'w', encoding='utf-8', newline='') as f:
            f.write(data)
    return str(folder)


# --- MKR layout (Last.FM) ------------------------------------------------------------
# Users in order of first positive: 2, 3, 4 (user 5 only listened to an artist that is not
# kept). Items 51, 52, 53 (entities '0', '1', '2'). kg line 4 has an unknown head ('7')
# and is skipped as in MKR's preprocess.py; new entities '3', '4', '5'.
# HetRec names/tags: artist 51 has electronic (2 uses, tag 1), house (2, tag 2), french
# (1); 52 has rock; 53 has no tag; artist 99 (not kept) is ignored.
LASTFM = {
    'user_artists.dat': ('userID\tartistID\tweight\n'
                         '2\t51\t100\n'
                         '2\t52\t50\n'
                         '2\t99\t7\n'
                         '3\t52\t10\n'
                         '5\t99\t3\n'
                         '4\t51\t20\n'),
    'item_index2entity_id.txt': '51\t0\n52\t1\n53\t2\n',
    'kg.txt': ('0\tmusic.genre\t3\n'
               '1\tmusic.genre\t3\n'
               '3\tgenre.parent\t4\n'
               '7\tmusic.x\t1\n'
               '2\tmusic.origin\t5\n'),
    'artists.dat': ('id\tname\turl\tpictureURL\n'
                    '51\tDaft Punk\thttp://www.last.fm/music/Daft+Punk\thttp://x/1.png\n'
                    '52\tR.E.M.\thttp://www.last.fm/music/R.E.M.\thttp://x/2.png\n'
                    '53\tNobody Tagged\thttp://www.last.fm/music/Nobody\thttp://x/3.png\n'
                    '99\tOther\thttp://www.last.fm/music/Other\thttp://x/4.png\n'),
    'tags.dat': 'tagID\ttagValue\n1\telectronic\n2\thouse\n3\tfrench\n4\trock\n',
    'user_taggedartists.dat': ('userID\tartistID\ttagID\tday\tmonth\tyear\n'
                               '2\t51\t2\t1\t4\t2009\n'
                               '3\t51\t2\t1\t4\t2009\n'
                               '2\t51\t1\t1\t4\t2009\n'
                               '4\t51\t3\t1\t5\t2009\n'
                               '3\t51\t1\t1\t4\t2009\n'
                               '2\t52\t4\t1\t4\t2009\n'
                               '2\t99\t1\t1\t4\t2009\n'),
}
LASTFM_HETREC = ('artists.dat', 'tags.dat', 'user_taggedartists.dat')

# --- MKR layout (MovieLens-1M): ratings.dat without header, threshold 4 ----------------
# user 1: movie 10 (5) and 20 (4) are positives, movie 30 (2) is dropped; user 2: only a
# rating below 4 -> not a user; user 3: movie 30 (4); movie 99 is not linked (dropped).
ML1M = {
    'ratings.dat': ('1::10::5::978300760\n'
                    '1::20::4::978302109\n'
                    '1::30::2::978301968\n'
                    '2::10::3::978300275\n'
                    '3::99::5::978824291\n'
                    '3::30::4::978824330\n'),
    'item_index2entity_id.txt': '10\t0\n20\t1\n30\t2\n',
    'kg.txt': ('0\tfilm.film.director\t3\n'
               '1\tfilm.film.director\t3\n'
               '2\tfilm.film.genre\t4\n'
               '0\tfilm.film.genre\t4\n'),
}

# --- KGAT layout (Amazon-Book) -----------------------------------------------------------
# 4 users, 5 items (entities 0..4), entities up to 9 with 7 and 8 unused by the KG.
AMAZON = {
    'train.txt': '0 0 1 2\n1 1 3\n2 4 0\n3 2\n',
    'test.txt': '0 3\n1 4\n2 1\n',
    'kg_final.txt': '0 0 5\n1 0 5\n2 1 6\n5 2 9\n3 1 6\n0 0 5\n',
    'user_list.txt': 'org_id remap_id\nA1 0\nA2 1\nA3 2\nA4 3\n',
    'item_list.txt': ('org_id remap_id freebase_id\nB0 0 m.b0\nB1 1 m.b1\nB2 2 m.b2\n'
                      'B3 3 m.b3\nB4 4 m.b4\n'),
    'entity_list.txt': ('org_id remap_id\nm.b0 0\nm.b1 1\nm.b2 2\nm.b3 3\nm.b4 4\n'
                        'm.e5 5\nm.e6 6\nm.e7 7\nm.e8 8\nm.e9 9\n'),
    'relation_list.txt': ('org_id remap_id\nhttp://rdf.freebase.com/ns/book.author 0\n'
                          'http://rdf.freebase.com/ns/book.genre 1\n'
                          'http://rdf.freebase.com/ns/genre.parent 2\n'),
}

# --- CKAN Book-Crossing layout (1-based ids) ----------------------------------------------
BOOK = {
    'ratings_final.txt': ('1\t1\t1\n1\t3\t0\n4\t2\t1\n4\t1\t0\n2\t3\t1\n2\t2\t0\n'),
    'kg_final.txt': '1\t1\t4\n2\t1\t4\n3\t2\t6\n4\t3\t6\n',
    'item_index2entity_id_rehashed.txt': 'ISBN-A\t0\nISBN-B\t1\nISBN-C\t2\n',
}

# --- RecBole ML-100K layout ----------------------------------------------------------------
ML100K = {
    'ml-100k.inter': ('user_id:token\titem_id:token\trating:float\ttimestamp:float\n'
                      '196\t2\t3\t881250949\n'
                      '22\t1\t5\t881251000\n'
                      '196\t3\t1\t881250000\n'),
    'ml-100k.item': ('item_id:token\tmovie_title:token_seq\trelease_year:token\t'
                     'class:token_seq\n'
                     '1\tToy Story\t1995\tAnimation Children\'s Comedy\n'
                     '2\tGoldenEye\t1995\tAction Adventure Thriller\n'
                     '3\tFour Rooms\t1995\tThriller\n'),
    'ml-100k.link': 'item_id:token\tentity_id:token\n2\tm.gold\n1\tm.toy\n',
    'ml-100k.kg': ('head_id:token\trelation_id:token\ttail_id:token\n'
                   'm.toy\tfilm.film.genre\tm.anim\n'
                   'm.anim\tfilm.film_genre.films_in_this_genre\tm.toy\n'
                   'm.gold\tfilm.film.directed_by\tm.dir\n'),
    # MovieLens-1M ids 1-3 are the same films as ML-100K ids 1-3, so that both links
    # agree on this fixture (the relinking has its own fixture in test_datasets.py)
    'ml-1m-movies.dat': ('1::Toy Story (1995)::Animation|Comedy\n'
                         '2::GoldenEye (1995)::Action\n'
                         '3::Four Rooms (1995)::Thriller\n'),
    'fb15k-mid2name.txt': '/m/toy\tToy_Story\n/m/anim\tAnimation\n',
}
