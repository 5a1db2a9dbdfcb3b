import os

import torch


def pytest_configure(config):
    # The suite runs as `pytest -n 2` on 2 cores: one intra-op thread per worker avoids
    # oversubscription (which slows small CPU kernels down by an order of magnitude).
    if os.environ.get('PYTEST_XDIST_WORKER') is not None or os.environ.get('KGREC_TEST_THREADS'):
        torch.set_num_threads(int(os.environ.get('KGREC_TEST_THREADS', 1)))
