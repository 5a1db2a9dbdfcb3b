import os

import pytest
import torch
from text_fixtures import tiny_bert_path, tiny_cross_encoder_path  # noqa: F401


def pytest_configure(config):
    # The suite runs as `pytest -n 2` on 2 cores: one intra-op thread per worker avoids
    # oversubscription (which slows small CPU kernels down by an order of magnitude).
    if os.environ.get('PYTEST_XDIST_WORKER') is not None or os.environ.get('KGREC_TEST_THREADS'):
        torch.set_num_threads(int(os.environ.get('KGREC_TEST_THREADS', 1)))


@pytest.fixture
def one_thread():
    r"""Run the test with one torch thread (tiny kernels: more threads only add
    synchronisation, badly so on a busy CPU), restoring the setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def real_lastfm(tmp_path):
    r"""The real Last.FM data (MKR/KGCN) processed into :obj:`tmp_path`; skips with a
    reason when the raw files are absent."""
    from kgrec_dataset_fixtures import real_dir

    from torch_geometric_kgrec.datasets import LastFMKG
    raw = real_dir('lastfm', 'user_artists.dat', 'item_index2entity_id.txt', 'kg.txt',
                   'artists.dat', 'tags.dat', 'user_taggedartists.dat')
    if not raw:
        pytest.skip('real Last.FM files not found (set KGREC_DATA or ../shared/data)')
    return LastFMKG(root=str(tmp_path), raw_dir=raw)[0]
