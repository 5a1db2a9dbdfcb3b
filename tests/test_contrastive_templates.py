import pytest
from torch_geometric.data import HeteroData

from torch_geometric_kgrec.contrastive import (ItemMetadata, item_metadata,
                                               metadata_sentences)


def _data(**attrs):
    data = HeteroData()
    data.num_items = 3
    for k, v in attrs.items():
        setattr(data, k, v)
    return data


def test_paper_templates_on_hand_made_metadata():
    data = _data(item_titles=['Toy Story', 'GoldenEye', 'Nameless'],
                 item_years=['1995', '', '1990'],
                 item_genres=[['Animation', "Children's", 'Comedy'], ['Action'], []])
    assert metadata_sentences(data, 'genre') == [
        "The genres of the film are Animation, Children's, Comedy.",
        'The genre of the film is Action.',
        None,  # no genres: no sentence, no pair
    ]
    assert metadata_sentences(data, 'title+genre') == [
        "A movie title is Toy Story (1995). The genres of the film are Animation, "
        "Children's, Comedy.",
        'A movie title is GoldenEye. The genre of the film is Action.',  # no year
        'A movie title is Nameless (1990).',
    ]
    assert metadata_sentences(data, 'title+genre', domain='book')[1] == (
        'A book title is GoldenEye. The genre of the book is Action.')


def test_artist_domain_uses_entity_names_as_titles():
    data = _data(entity_names=['Daft Punk', 'Björk', 'X', 'not an item'],
                 item_genres=[['electronic', 'house'], ['icelandic'], []])
    assert metadata_sentences(data, 'title+genre', domain='artist') == [
        'An artist name is Daft Punk. The genres of the artist are electronic, house.',
        'An artist name is Björk. The genre of the artist is icelandic.',
        'An artist name is X.',
    ]


def test_user_defined_templates():
    data = _data(item_titles=['A', 'B', 'C'], item_genres=[['g1', 'g2'], ['g3'], []])
    assert metadata_sentences(data, '{title}: {genres} ({kind})') == [
        'A: g1, g2 (film)', 'B: g3 (film)', 'C:  (film)']
    fn = lambda m: f'{m.title}!' if m.genres else None  # noqa: E731
    assert metadata_sentences(data, fn) == ['A!', 'B!', None]
    meta = [ItemMetadata(0, title='Z', genres=['x'], domain='book')]
    assert metadata_sentences(meta, 'genre') == ['The genre of the book is x.']


def test_template_errors():
    data = _data(item_genres=[['a'], ['b'], ['c']])
    with pytest.raises(ValueError, match='unknown field'):
        metadata_sentences(data, '{plot}')
    with pytest.raises(ValueError, match='unknown template'):
        metadata_sentences(data, 'synopsis')
    with pytest.raises(ValueError, match='unknown domain'):
        metadata_sentences(data, 'genre', domain='podcast')
    with pytest.raises(ValueError, match='one per item'):
        item_metadata(_data(item_genres=[['a']]))
    with pytest.raises(ValueError, match='no item metadata'):
        item_metadata(_data())
    with pytest.raises(ValueError, match='is a string'):
        item_metadata(_data(item_genres=['a b', 'c', 'd']))


def test_real_movielens_100k_sentences(tmp_path):
    from kgrec_dataset_fixtures import real_dir

    from torch_geometric_kgrec.datasets import MovieLens100KKG
    raw = real_dir('movielens-100k', 'ml-100k.inter', 'ml-100k.item', 'ml-100k.link',
                   'ml-100k.kg')
    if not raw:
        pytest.skip('real MovieLens-100K files not found (set KGREC_DATA or ../shared/data)')
    data = MovieLens100KKG(root=str(tmp_path), raw_dir=raw)[0]
    s = metadata_sentences(data, 'title+genre')
    assert len(s) == 1682 and all(x is not None for x in s)
    assert s[0] == ("A movie title is Toy Story (1995). The genres of the film are "
                    "Animation, Children's, Comedy.")


def test_bx_books_titles_and_title_sentences(tmp_path):
    from torch_geometric_kgrec.contrastive import attach_bx_books
    csv = tmp_path / 'BX-Books.csv'
    csv.write_bytes(
        '"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher"\n'
        '"0195153448";"Classical Mythology";"Mark P. O. Morford";"2002";"OUP"\n'
        '"0002005018";"Clara Callan";"Richard Bruce Wright";"0";"HarperFlamingo"\n'
        '"999";"Not in the data";"X";"1999";"Y"\n'.encode('iso-8859-1'))
    data = _data(item_ids=['0002005018', '0195153448', '0000000000'])
    assert attach_bx_books(data, str(csv)) == {'items': 3, 'matched': 2}
    assert data.item_titles == ['Clara Callan', 'Classical Mythology', '']
    assert data.item_years == ['', '2002', '']  # year 0 is missing
    assert data.item_text[1] == 'Classical Mythology (2002). Author: Mark P. O. Morford'
    assert metadata_sentences(data, 'title+genre', domain='book') == [
        'A book title is Clara Callan.', 'A book title is Classical Mythology (2002).', None]
    bad = tmp_path / 'bad.csv'
    bad.write_text('"ISBN";"Title"\n')
    with pytest.raises(ValueError, match='bad.csv, line 1'):
        attach_bx_books(data, str(bad))
