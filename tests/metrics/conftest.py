import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

DATA = Path(__file__).resolve().parents[1] / "data"


def oracle_keys():
    with open(DATA / "inception_state_dict_keys.json") as f:
        return json.load(f)


def oracle_state_dict():
    """State dict drawn with the oracle's weight rule (see tests/data/README.md)."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for name, shape, _ in oracle_keys():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.zeros(shape, dtype=torch.int64)
        elif name.endswith(("running_var", "bn.weight")):
            state[name] = torch.rand(shape, generator=g) + 0.5
        elif name.endswith(("running_mean", "bn.bias")):
            state[name] = torch.randn(shape, generator=g) * 0.1
        elif name == "fc.weight":
            state[name] = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        elif name == "fc.bias":
            state[name] = torch.zeros(shape)
        elif name.endswith("weight") and len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            state[name] = torch.randn(shape, generator=g) * math.sqrt(2 / fan_in)
        else:
            raise KeyError(name)
    return state


@pytest.fixture(scope="session")
def oracle_weights_file(tmp_path_factory):
    """The oracle-rule state dict saved like the published checkpoint."""
    path = tmp_path_factory.mktemp("weights") / "oracle_inception.pth"
    torch.save(oracle_state_dict(), path)
    return path


@pytest.fixture(scope="session")
def parity():
    with np.load(DATA / "inception_parity.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """No weights anywhere and no network: the hub cache is empty, offline."""
    import urllib.error

    from skgan.metrics import _weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(_weights.ENV_VAR, raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_weights, "_urlopen", offline)
    return tmp_path / "torch_home" / "hub" / "checkpoints"
