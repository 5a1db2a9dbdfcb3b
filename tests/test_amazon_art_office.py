r"""AmazonArtOfficeCDR on hand-made raw files (CRLF, idAfter join, attribute parsing,
errors with file and line), on the real files (published statistics) and the synthetic
cross-domain generator."""
import json

import pytest
import torch

from kgrec_dataset_fixtures import real_dir, write
from torch_geometric_kgrec.datasets import (DATASETS, AmazonArtOfficeCDR, DataFormatError,
                                            generate_synthetic_cdr)
from torch_geometric_kgrec.datasets.amazon_art_office import parse_attribute_paths

INTER = ('user', 'interacts', 'entity')
KG = ('entity', 'kg', 'entity')
HEADER = 'idBefore,item_title,idAfter,item_attribute\n'
# art: idAfter 0..3 (rows shuffled: idBefore != idAfter), office: 4..6.
FILES = {
    'item_listA_F.csv': (HEADER +
                         '0,omnigrid rotary cutter,1,arts crafts sewing sewing quilting omnigrid\n'
                         '1,clover clips,0,arts crafts sewing sewing notions clover\n'
                         '2,avery labels art,2,arts crafts sewing sewing notions avery\n'
                         '3,plain sheets,3,arts\n'),
    'item_listO_AA_F.csv': (HEADER +
                            '0,avery office labels,4,office products labels avery\n'
                            '1,sharpie pens,5,office products pens sharpie\n'
                            '2,sharpie labels,6,office products labels sharpie\n'),
    'train_F2.txt': '0\t2\t1|0|0\t4|1|1\t0|2|2\t\n0\t2\t1|0|0\t4|1|1\t5|2|2\t\n',
    'valid_F2.txt': '1\t1\t2|0|0\t2|1|1\t\n1\t1\t2|0|0\t3|1|1\t\n',
    'test_F2.txt': '',
    'Dualuser_dict.json': json.dumps(['A1', 'A2']),
}


def _load(tmp_path, files, crlf=False, name='raw'):
    return AmazonArtOfficeCDR(tmp_path / f'c_{name}',
                              raw_dir=write(tmp_path / name, files, crlf),
                              min_branching=2)[0]


def test_parse_attribute_paths():
    attrs = [s.split() for s in ['r a b x', 'r a b y', 'r a c z', 'r d brand one']]
    paths, brands = parse_attribute_paths(attrs, [1, 1, 1, 1], min_branching=2)
    # 'r' -> {a, d}; 'r a' -> {b, c}; 'r a b' -> {x, y}; 'r d' -> {brand} only
    assert paths[0] == [('r', ), ('r', 'a'), ('r', 'a', 'b')] and brands[0] == ('x', )
    assert paths[2] == [('r', ), ('r', 'a')] and brands[2] == ('c', 'z')
    assert paths[3] == [('r', )] and brands[3] == ('d', 'brand', 'one')


def test_hand_made_files_and_crlf(tmp_path):
    d = _load(tmp_path, FILES)
    assert d['user'].num_nodes == 2 and d.num_items == 7
    assert d.item_text[:2] == ['clover clips', 'omnigrid rotary cutter']  # joined on idAfter
    assert d.item_domain.tolist() == [0, 0, 0, 0, 1, 1, 1]
    ei, t = d[INTER].edge_index, d[INTER].time
    pairs = {(u, i): p for (u, i), p in zip(ei.t().tolist(), t.tolist())}
    # user 1 saw item 2 twice (positions 0 and 1): first position kept
    assert pairs == {(0, 1): 0, (0, 4): 1, (0, 0): 2, (0, 5): 2, (1, 2): 0, (1, 3): 1}
    names = d.entity_names
    kg = d[KG].edge_index
    brand = d.relation_names.index('has_brand')
    brand_of = {h: names[tl] for h, tl, r in zip(kg[0].tolist(), kg[1].tolist(),
                                                  d[KG].edge_type.tolist()) if r == brand}
    assert brand_of[2] == 'avery' and brand_of[4] == 'avery'
    avery = [e for e, n in enumerate(names) if n == 'avery']
    assert len(avery) == 1  # one brand entity shared by both domains
    assert 3 not in brand_of  # 'arts' only: root category, no brand
    roots = {names[tl] for h, tl, r in zip(kg[0].tolist(), kg[1].tolist(),
                                           d[KG].edge_type.tolist()) if r == 0}
    assert roots == {'arts crafts sewing', 'office products'}
    crlf = _load(tmp_path, FILES, crlf=True, name='crlf')
    assert torch.equal(crlf[INTER].edge_index, ei) and crlf.entity_names == names
    assert torch.equal(crlf[KG].edge_index, kg)


@pytest.mark.parametrize('file,text,line,frag', [
    ('item_listA_F.csv', HEADER + '0,a,0,arts\n1,b,x,arts\n', 3, 'idAfter'),
    ('item_listA_F.csv', HEADER + '0,a,0,arts\n1,b,c,0,arts\n', 3, '4 comma-separated'),
    ('item_listA_F.csv', HEADER + '0,a,0,arts\n1,b,0,arts\n', 3, 'twice'),
    ('train_F2.txt', '0\t2\t1|0|0\t4|1|1\t\n', 1, 'length field'),
    ('train_F2.txt', '0\t1\t1|0|0\t4|1|1\t\n0\t1\t1|0|0\t99|1|1\t\n', 2, 'item 99'),
    ('valid_F2.txt', '1\t1\t2|0\t3|1|1\t\n', 1, 'item|pos|pos'),
])
def test_errors_name_file_and_line(tmp_path, file, text, line, frag):
    files = dict(FILES)
    files[file] = text
    if file == 'item_listA_F.csv':
        files['train_F2.txt'] = files['valid_F2.txt'] = ''
    with pytest.raises(DataFormatError) as info:
        _load(tmp_path, files)
    msg = str(info.value)
    assert file in msg and f'line {line}:' in msg and frag in msg, msg


def test_registered():
    assert DATASETS['amazon-art-office'] is AmazonArtOfficeCDR


def test_real_statistics(tmp_path):
    raw = real_dir('amazon-art-office', 'item_listA_F.csv', 'train_F2.txt')
    if not raw:
        pytest.skip('real Amazon Art/Office files not found (set KGREC_DATA or ../shared/data)')
    d = AmazonArtOfficeCDR(tmp_path, raw_dir=raw)[0]
    dom = d.item_domain
    assert d['user'].num_nodes == 9577 and d.num_items == 38396
    assert torch.bincount(dom).tolist() == [18639, 19757]
    ei = d[INTER].edge_index
    assert torch.bincount(dom[ei[1]]).tolist() == [110016, 96645]
    for k in (0, 1):  # every user active in both domains
        assert ei[0, dom[ei[1]] == k].unique().numel() == 9577
    assert len(d.entity_names) == d['entity'].num_nodes == 46532
    assert d.relation_names[-1] == 'has_brand'
    assert d.item_text[0].startswith('fletcher terry co framers')


def test_synthetic_cdr_is_deterministic_and_planted():
    a = generate_synthetic_cdr(num_users=40, num_items=(80, 80), seed=3)
    b = generate_synthetic_cdr(num_users=40, num_items=(80, 80), seed=3)
    assert torch.equal(a[INTER].edge_index, b[INTER].edge_index)
    assert torch.equal(a[KG].edge_index, b[KG].edge_index)
    ei, kg = a[INTER].edge_index, a[KG].edge_index
    dom = a.item_domain
    prefs = a['user'].preferred_entities
    topics = torch.zeros(a.num_items, a['entity'].num_nodes, dtype=torch.bool)
    topics[kg[0], kg[1]] = True
    for k in (0, 1):  # in both domains most interactions carry a preferred topic
        m = dom[ei[1]] == k
        hit = topics[ei[1, m]].gather(1, prefs[ei[0, m]]).any(1)
        assert hit.float().mean() > 0.8
    # every topic has items in both domains (shared entity vocabulary)
    for k in (0, 1):
        assert kg[1, dom[kg[0]] == k].unique().numel() == len(a.entity_names) - a.num_items
