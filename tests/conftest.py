import os

import pytest
import torch

# Two cores: one torch thread per test process keeps timings stable under xdist.
torch.set_num_threads(int(os.environ.get("SKGAN_TEST_THREADS", "1")))

SHARED_DATA = os.path.join(
    os.path.dirname(__file__),
    os.pardir,
    os.pardir,
    "shared",
    "data",
    "pneumoniamnist.npz",
)


@pytest.fixture
def pneumonia_path():
    """Path of the real PneumoniaMNIST file beside the checkout, or skip."""
    path = os.path.abspath(SHARED_DATA)
    if not os.path.exists(path):
        pytest.skip("../shared/data/pneumoniamnist.npz is not present")
    return path
