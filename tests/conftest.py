import os

import pytest
import torch
from hypothesis import settings

from tests import _tiny

# Property tests explore new examples on every local run; under CI (CI set, as
# .ci/run is run) they draw a fixed sequence, so a submission never fails on an
# example that no change of its own brought. Examples found so far are kept as
# @example in the tests. HYPOTHESIS_PROFILE overrides the choice.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)

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
