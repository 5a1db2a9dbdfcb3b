r"""The processed cache cannot serve stale or corrupt data (issue 12, deliver 1): each
probe of the issue, rerun as a test."""
import os
import os.path as osp
import pickle
import warnings

import pytest
import torch
from kgrec_dataset_fixtures import LASTFM, write

from torch_geometric_kgrec.datasets import LastFMKG
from torch_geometric_kgrec.datasets.cache import (CacheError, data_checksum,
                                                  load_processed)

INTER = ('user', 'interacts', 'entity')


def _data_files(root):
    return sorted(f for f in os.listdir(osp.join(root, 'processed')) if f.endswith('.pt'))


def test_same_size_edit_with_same_mtime_is_not_stale(tmp_path):
    raw = write(tmp_path / 'raw', LASTFM)
    assert LastFMKG(tmp_path / 'c', raw_dir=raw)[0][INTER].rating.max() == 100
    path = osp.join(raw, 'user_artists.dat')
    st = os.stat(path)
    text = open(path).read().replace('2\t51\t100', '2\t51\t999')  # same size
    with open(path, 'w') as f:
        f.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
    assert os.stat(path).st_size == st.st_size
    ds = LastFMKG(tmp_path / 'c', raw_dir=raw)
    assert ds[0][INTER].rating.max() == 999
    assert len(_data_files(tmp_path / 'c')) == 1  # the superseded file is pruned


@pytest.mark.parametrize('damage', ['truncate', 'zero'])
def test_damaged_processed_file_is_detected_and_reprocessed(tmp_path, damage):
    raw = write(tmp_path / 'raw', LASTFM)
    ds = LastFMKG(tmp_path / 'c', raw_dir=raw)
    expected = data_checksum(ds[0])
    path = ds.processed_paths[0]
    blob = bytearray(open(path, 'rb').read())
    positions = [len(blob) * i // 6 for i in range(1, 6)]
    detected = 0
    for pos in positions:
        damaged = bytearray(blob)
        if damage == 'truncate':
            damaged = damaged[:pos]
        else:  # the probe: 64 zeroed bytes
            damaged[pos:pos + 64] = bytes(min(64, len(blob) - pos))
        with open(path, 'wb') as f:
            f.write(damaged)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            again = LastFMKG(tmp_path / 'c', raw_dir=raw)
        messages = [str(x.message) for x in w if 're-processing' in str(x.message)]
        if damaged != blob:
            # whatever was hit, the data served is the right one ...
            assert data_checksum(again[0]) == expected
            # ... and a change that reached the content is reported, naming the file
            if messages:
                detected += 1
                assert path in messages[0]
        assert open(path, 'rb').read() == bytes(blob) or not messages
    assert detected >= 4, detected  # the probe: 4 of 5 positions altered the data


def test_unreadable_file_error_names_the_file(tmp_path):
    path = tmp_path / 'data_x.pt'
    path.write_bytes(b'PK\x03\x04 not a zip')
    with pytest.raises(CacheError, match='data_x.pt: cannot be read safely'):
        load_processed(str(path))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_planted_pickles_do_not_execute(tmp_path):
    raw = write(tmp_path / 'raw', LASTFM)
    ds = LastFMKG(tmp_path / 'c', raw_dir=raw)
    marker = tmp_path / 'pwned'
    processed = osp.join(tmp_path, 'c', 'processed')
    for name in ('pre_transform.pt', 'pre_filter.pt'):  # read by PyG's Dataset._process
        with open(osp.join(processed, name), 'wb') as f:
            pickle.dump(_Evil(marker), f)
    LastFMKG(tmp_path / 'c', raw_dir=raw)
    assert not marker.exists()
    assert _data_files(tmp_path / 'c') == [osp.basename(ds.processed_paths[0])]  # pruned
    torch.save(_Evil(marker), ds.processed_paths[0])  # the processed file itself
    with pytest.warns(UserWarning, match='cannot be read safely'):
        again = LastFMKG(tmp_path / 'c', raw_dir=raw)
    assert not marker.exists()
    assert data_checksum(again[0]) == data_checksum(ds[0])


class _Counted(LastFMKG):
    log_path = None

    def process_raw(self):
        with open(self.log_path, 'a') as f:
            f.write('processed\n')
        return super().process_raw()


def _worker(root, raw, log, mode, n):
    warnings.filterwarnings('error', message='.*re-processing')  # = a torn read
    _Counted.log_path = str(log)
    for i in range(n):  # the first construction of both processes meets a fresh root
        ds = _Counted(root, raw_dir=raw, force_reload=mode == 'write' and i > 0)
        assert ds[0][INTER].edge_index.size(1) == 4


def test_concurrent_processes(tmp_path):
    import multiprocessing as mp
    raw = write(tmp_path / 'raw', LASTFM)
    log = tmp_path / 'log'
    ctx = mp.get_context('fork')  # forked from this process: no second import of torch
    # two processes start on a fresh root: one processes, the other waits and loads;
    # then the first re-writes the file 10 times while the second keeps reading it
    procs = [ctx.Process(target=_worker, args=(tmp_path / 'c', raw, log, 'write', 11)),
             ctx.Process(target=_worker, args=(tmp_path / 'c', raw, log, 'read', 30))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
    assert [p.exitcode for p in procs] == [0, 0]
    assert log.read_text().count('processed') == 1 + 10
    assert not [f for f in os.listdir(tmp_path / 'c' / 'processed') if f.endswith('.tmp')]


class _Scale:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, data):
        data[INTER].rating = data[INTER].rating * self.factor
        return data

    def __repr__(self):
        return f'_Scale({self.factor})'


def test_pre_transform_is_part_of_the_fingerprint(tmp_path):
    raw = write(tmp_path / 'raw', LASTFM)
    a = LastFMKG(tmp_path / 'c', raw_dir=raw, pre_transform=_Scale(2))
    b = LastFMKG(tmp_path / 'c', raw_dir=raw, pre_transform=_Scale(3))
    assert a.processed_paths[0] != b.processed_paths[0]
    assert b[0][INTER].rating.max() == 300  # not the cached x2 data
