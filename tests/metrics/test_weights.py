"""Where the FID weights come from: path, env var, hub cache, verified download."""

import hashlib
import io
import urllib.error

import numpy as np
import pytest
import torch

from skgan.metrics import (
    FIDInceptionV3,
    _weights,
    find_inception_weights,
    frechet_inception_distance,
    kernel_inception_distance,
    load_fid_inception,
    memorization,
)


def _touch(path, content=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_explicit_path_wins_over_everything(no_weights, tmp_path, monkeypatch):
    explicit = _touch(tmp_path / "mine.pth")
    env = _touch(tmp_path / "env.pth")
    monkeypatch.setenv(_weights.ENV_VAR, str(env))
    _touch(no_weights / _weights.FILE_NAME)
    assert find_inception_weights(explicit) == explicit


def test_env_var_comes_second(no_weights, tmp_path, monkeypatch):
    env = _touch(tmp_path / "env.pth")
    monkeypatch.setenv(_weights.ENV_VAR, str(env))
    _touch(no_weights / _weights.FILE_NAME)
    assert find_inception_weights() == env


@pytest.mark.parametrize("name", _weights.CACHE_NAMES)
def test_hub_cache_under_pytorch_fid_and_torch_fidelity_names(no_weights, name):
    cached = _touch(no_weights / name)
    assert find_inception_weights() == cached


def test_pytorch_fid_name_is_preferred_in_cache(no_weights):
    first = _touch(no_weights / "pt_inception-2015-12-05-6726825d.pth")
    _touch(no_weights / "weights-inception-2015-12-05-6726825d.pth")
    assert find_inception_weights() == first


def test_missing_explicit_path_raises(no_weights, tmp_path):
    with pytest.raises(FileNotFoundError, match="weights_path="):
        find_inception_weights(tmp_path / "nope.pth")


def test_env_var_naming_a_missing_file_raises(no_weights, tmp_path, monkeypatch):
    monkeypatch.setenv(_weights.ENV_VAR, str(tmp_path / "nope.pth"))
    with pytest.raises(FileNotFoundError, match=_weights.ENV_VAR):
        find_inception_weights()


def _check_offline_message(message, cache_dir):
    assert _weights.FILE_NAME in message
    assert _weights.URL in message
    assert "weights_path=" in message
    assert _weights.ENV_VAR in message
    assert str(cache_dir / _weights.FILE_NAME) in message


def test_offline_error_names_file_url_and_three_ways(no_weights):
    with pytest.raises(FileNotFoundError) as info:
        find_inception_weights()
    _check_offline_message(str(info.value), no_weights)
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    assert not no_weights.exists() or not any(no_weights.iterdir())


def test_download_false_does_not_touch_network(no_weights, monkeypatch):
    def fail(url, timeout):  # pragma: no cover - must not be called
        raise AssertionError("network used")

    monkeypatch.setattr(_weights, "_urlopen", fail)
    with pytest.raises(FileNotFoundError, match="download=False"):
        find_inception_weights(download=False)


def test_offline_fid_call_raises_before_extracting(no_weights):
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    with pytest.raises(FileNotFoundError) as info:
        frechet_inception_distance(images, images)
    _check_offline_message(str(info.value), no_weights)


class _Served(io.BytesIO):
    """What urlopen returns: a readable context manager."""


def _serve(monkeypatch, payload, *, size=None, sha=None):
    digest = hashlib.sha256(payload).hexdigest()
    monkeypatch.setattr(_weights, "FILE_SIZE", len(payload) if size is None else size)
    monkeypatch.setattr(_weights, "SHA256_PREFIX", digest[:8] if sha is None else sha)
    monkeypatch.setattr(_weights, "_CHUNK", 7)  # many chunks
    calls = []

    def urlopen(url, timeout):
        calls.append(url)
        return _Served(payload)

    monkeypatch.setattr(_weights, "_urlopen", urlopen)
    return calls


def test_download_is_verified_and_written_to_hub_cache(no_weights, monkeypatch):
    payload = bytes(range(256)) * 5
    calls = _serve(monkeypatch, payload)
    path = find_inception_weights()
    assert calls == [_weights.URL]
    assert path == no_weights / _weights.FILE_NAME
    assert path.read_bytes() == payload
    assert [p.name for p in no_weights.iterdir()] == [_weights.FILE_NAME]
    # Second call: found in the cache, no download.
    assert find_inception_weights() == path
    assert len(calls) == 1


@pytest.mark.parametrize("bad", ["size", "sha"])
def test_corrupt_download_raises_and_leaves_nothing(no_weights, monkeypatch, bad):
    payload = b"not the inception weights"
    if bad == "size":
        _serve(monkeypatch, payload, size=len(payload) + 1)
    else:
        _serve(monkeypatch, payload, sha="00000000")
    with pytest.raises(OSError, match="corrupt") as info:
        find_inception_weights()
    assert not isinstance(info.value, FileNotFoundError)
    assert list(no_weights.iterdir()) == []


def test_interrupted_download_leaves_nothing(no_weights, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 10:
                raise ConnectionResetError("connection reset")
            return super().read(n)

    _serve(monkeypatch, b"y" * 100)
    monkeypatch.setattr(_weights, "_urlopen", lambda url, timeout: Broken(b"y" * 100))
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        find_inception_weights()
    assert list(no_weights.iterdir()) == []


def test_local_weights_path_loads_strictly(oracle_weights_file, no_weights):
    net = load_fid_inception(oracle_weights_file)
    expected = torch.load(oracle_weights_file, weights_only=True)
    for key, value in net.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_weights_from_env_var_and_hub_cache_load(
    oracle_weights_file, no_weights, monkeypatch
):
    monkeypatch.setenv(_weights.ENV_VAR, str(oracle_weights_file))
    assert isinstance(load_fid_inception(), FIDInceptionV3)
    monkeypatch.delenv(_weights.ENV_VAR)
    no_weights.mkdir(parents=True)
    (no_weights / _weights.FILE_NAME).symlink_to(oracle_weights_file)
    assert isinstance(load_fid_inception(download=False), FIDInceptionV3)


def test_local_weights_path_works_end_to_end(oracle_weights_file, no_weights):
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, size=(3, 16, 16), dtype=np.uint8)
    fake = rng.integers(0, 256, size=(3, 16, 16), dtype=np.uint8)
    with pytest.warns(UserWarning, match="samples for 2048"):
        fid = frechet_inception_distance(real, fake, weights_path=oracle_weights_file)
    assert np.isfinite(fid) and fid > 0


def test_wrong_state_dict_is_rejected(tmp_path, no_weights):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="566|missing"):
        load_fid_inception(path)


def test_pickled_objects_are_not_loaded(tmp_path, no_weights):
    path = tmp_path / "evil.pth"
    torch.save({"obj": _Served(b"")}, path)  # needs unpickling of a class
    with pytest.raises(ValueError, match="Cannot read"):
        load_fid_inception(path)


def test_state_dict_without_batch_counters_loads(
    oracle_weights_file, tmp_path, no_weights
):
    state = torch.load(oracle_weights_file, weights_only=True)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "no_counters.pth"
    torch.save(state, path)
    net = load_fid_inception(path)
    assert torch.equal(net.fc.weight, state["fc.weight"])


@pytest.mark.parametrize(
    "metric", [frechet_inception_distance, memorization, kernel_inception_distance]
)
def test_offline_metrics_raise_the_same_error_naming_offline_routes(
    no_weights, metric
):
    # The trial that motivated this: memorization() offline. Every metric that
    # loads the Inception weights says how to provide them, and how to do
    # without them.
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    with pytest.raises(FileNotFoundError) as info:
        metric(images, images)
    message = str(info.value)
    _check_offline_message(message, no_weights)
    assert "feature_extractor=None" in message
    assert "PCA" in message and "torch.nn.Module" in message
