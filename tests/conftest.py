import os

import pytest
import torch
from hypothesis import settings

from tests import _tiny

# Property tests draw a fixed sequence of examples by default, so the README's
# test command gives the same verdict on every machine and every run, whether
# or not CI is set. HYPOTHESIS_PROFILE=explore draws new examples on every run
# (the way to look for bugs; keep what it finds as @example in the tests).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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


@pytest.fixture
def tiny_gan():
    """Factory of DCGANEstimators small enough for unit tests (``tests/_tiny.py``).

    ``tiny_gan(**params)`` overrides the tiny defaults. Module-level helpers and
    spawned processes, which fixtures cannot reach, import it from
    ``tests._tiny`` instead.
    """
    return _tiny.tiny_gan
