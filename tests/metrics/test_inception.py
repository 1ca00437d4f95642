"""The FID InceptionV3: state-dict layout, TF-exact preprocessing, oracle parity."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skgan.metrics import (
    FIDInceptionV3,
    extract_features,
    inception_score,
    load_fid_inception,
)
from skgan.metrics._inception import tf1_resize_bilinear

DATA = Path(__file__).resolve().parents[1] / "data"


def _rel_close(actual, expected, rtol=1e-4):
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def test_state_dict_has_exactly_the_checkpoint_keys_and_shapes():
    with open(DATA / "inception_state_dict_keys.json") as f:
        expected = json.load(f)
    state = FIDInceptionV3().state_dict()
    assert len(state) == len(expected) == 566
    assert [
        [name, list(tensor.shape), str(tensor.dtype).replace("torch.", "")]
        for name, tensor in state.items()
    ] == expected


def test_network_is_frozen_and_in_eval_mode():
    net = FIDInceptionV3()
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


@pytest.fixture(scope="module")
def oracle_net(oracle_weights_file):
    return load_fid_inception(oracle_weights_file, download=False)


@pytest.fixture(scope="module")
def layerwise_net(oracle_weights_file):
    """The oracle weights in the layer-by-layer (unfused) network."""
    net = FIDInceptionV3(fuse=False)
    net.load_state_dict(torch.load(oracle_weights_file, weights_only=True))
    return net


@pytest.fixture(scope="module", params=["64", "299"])
def parity_outputs(request, oracle_net, layerwise_net, oracle_weights_file, parity):
    """One forward per resolution path: through the public API and both paths."""
    size = request.param
    images = parity[f"images_{size}"]
    nhwc = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
    features = extract_features(
        nhwc, weights_path=oracle_weights_file, device="cpu", batch_size=3
    )
    outs = {}
    with torch.inference_mode():
        for name, net in [("fused", oracle_net), ("layerwise", layerwise_net)]:
            out = net.forward_all(torch.from_numpy(images))
            outs[name] = {k: v.numpy() for k, v in out.items()}
    return size, features, outs


def test_oracle_net_takes_the_fused_path(oracle_net, layerwise_net):
    assert oracle_net.fuse and oracle_net._fused_weights() is not None
    assert not layerwise_net.fuse


@pytest.mark.recorded
@pytest.mark.parametrize("path", ["fused", "layerwise"])
def test_parity_with_reference_port(parity_outputs, parity, path):
    size, features, outs = parity_outputs
    out = outs[path]
    assert features.shape == parity[f"features_{size}"].shape
    _rel_close(features, parity[f"features_{size}"])
    _rel_close(out["pool"], parity[f"features_{size}"])
    _rel_close(out["logits_unbiased"], parity[f"logits_unbiased_{size}"])
    _rel_close(out["logits"], parity[f"logits_{size}"])


@pytest.fixture(scope="module")
def oracle_state(oracle_weights_file):
    return torch.load(oracle_weights_file, weights_only=True)


def _nets(state):
    fused, layerwise = FIDInceptionV3(), FIDInceptionV3(fuse=False)
    fused.load_state_dict(state)
    layerwise.load_state_dict(state)
    return fused, layerwise


def _small_images(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (n, 3, 8, 8), dtype=np.uint8))


def test_fused_weights_follow_in_place_changes_and_reloads(oracle_state):
    fused, layerwise = _nets(oracle_state)
    x = _small_images()
    with torch.inference_mode():
        before = fused(x)
        for net in (fused, layerwise):  # a merged pool branch, the first conv
            net.Mixed_6b.branch_pool.bn.running_mean.add_(0.5)
            net.Conv2d_1a_3x3.conv.weight.mul_(1.5)
        after = fused(x)
        _rel_close(after.numpy(), layerwise(x).numpy())
        assert not torch.allclose(before, after, rtol=1e-3)
        fused.load_state_dict(oracle_state)
        _rel_close(fused(x).numpy(), before.numpy())


def test_training_mode_and_trainable_parameters_run_layer_by_layer(oracle_state):
    fused, layerwise = _nets(oracle_state)
    x = _small_images()
    fused.train()
    layerwise.train()
    with torch.no_grad():  # batch statistics, and the running stats move
        torch.testing.assert_close(fused(x), layerwise(x), rtol=0, atol=0)
    fused.eval()
    layerwise.eval()
    with torch.inference_mode():
        _rel_close(fused(x).numpy(), layerwise(x).numpy())
    weight = fused.Mixed_7c.branch_pool.conv.weight
    weight.requires_grad_(True)
    assert fused._fused_weights() is None
    fused(x).sum().backward()
    assert weight.grad is not None and torch.any(weight.grad != 0)


def test_state_dict_and_copies_are_unaffected_by_the_fused_cache(oracle_state):
    import copy

    fused, _ = _nets(oracle_state)
    x = _small_images()
    with torch.inference_mode():
        expected = fused(x)
    state = fused.state_dict()
    assert list(state) == list(oracle_state)
    assert all(torch.equal(state[k], oracle_state[k]) for k in state)
    clone = copy.deepcopy(fused)
    assert clone._fused is None
    with torch.no_grad():
        clone.fc.bias.zero_()
        clone.Mixed_5b.branch1x1.bn.bias.add_(1.0)
    fresh = FIDInceptionV3()
    fresh.load_state_dict(state, strict=True)
    with torch.inference_mode():
        assert not torch.allclose(clone(x), expected, rtol=1e-3)
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=0)
        _rel_close(fresh(x).numpy(), expected.numpy())


def test_fused_path_gradients_reach_the_images(oracle_state):
    fused, layerwise = _nets(oracle_state)
    grads = []
    for net in (fused, layerwise):
        x = _small_images(n=1).float().requires_grad_(True)
        net(x).square().sum().backward()
        grads.append(x.grad.numpy())
    _rel_close(grads[0], grads[1], rtol=1e-3)


def test_network_built_in_inference_mode(oracle_state):
    x = _small_images()
    with torch.inference_mode():
        fused, layerwise = _nets(oracle_state)
        _rel_close(fused(x).numpy(), layerwise(x).numpy())
        fused.Mixed_7b.branch_pool.bn.bias.add_(1.0)  # no cache to go stale
        layerwise.Mixed_7b.branch_pool.bn.bias.add_(1.0)
        _rel_close(fused(x).numpy(), layerwise(x).numpy())


def test_resize_layouts_agree():
    img = torch.rand(2, 3, 7, 5) * 255
    a = tf1_resize_bilinear(img, (11, 13))
    b = tf1_resize_bilinear(img.contiguous(memory_format=torch.channels_last), (11, 13))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_inception_score_uses_unbiased_logits(oracle_net, parity):
    images = parity["images_64"]
    with torch.inference_mode():
        logits = oracle_net.forward_all(torch.from_numpy(images))["logits_unbiased"]
    expected = inception_score(
        logits.numpy().astype(np.float64), n_splits=2, feature_extractor=None
    )
    got = inception_score(
        images.transpose(0, 2, 3, 1), n_splits=2, feature_extractor=oracle_net
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_grayscale_is_replicated_to_rgb(oracle_net):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, size=(2, 20, 20), dtype=np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=3)
    a = extract_features(gray, feature_extractor=oracle_net)
    b = extract_features(rgb, feature_extractor=oracle_net)
    np.testing.assert_array_equal(a, b)


def _tf1_resize_reference(img, out_h, out_w):
    """Direct loop transcription of TF 1.x ResizeBilinear (align_corners=False)."""
    in_h, in_w = img.shape
    out = np.empty((out_h, out_w), dtype=np.float64)
    sy, sx = np.float32(in_h / out_h), np.float32(in_w / out_w)
    for y in range(out_h):
        fy = np.float32(y) * sy
        y0 = int(np.floor(fy))
        y1 = min(y0 + 1, in_h - 1)
        wy = float(fy - y0)
        for x in range(out_w):
            fx = np.float32(x) * sx
            x0 = int(np.floor(fx))
            x1 = min(x0 + 1, in_w - 1)
            wx = float(fx - x0)
            top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * wx
            bottom = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * wx
            out[y, x] = top + (bottom - top) * wy
    return out


@settings(max_examples=25, deadline=None)
@given(
    in_h=st.integers(1, 9),
    in_w=st.integers(1, 9),
    out_h=st.integers(1, 13),
    out_w=st.integers(1, 13),
    seed=st.integers(0, 2**16),
)
def test_tf1_resize_matches_loop_reference(in_h, in_w, out_h, out_w, seed):
    img = np.random.default_rng(seed).integers(0, 256, (in_h, in_w)).astype(np.float32)
    got = tf1_resize_bilinear(torch.from_numpy(img)[None, None], (out_h, out_w))
    np.testing.assert_allclose(
        got[0, 0].numpy(), _tf1_resize_reference(img, out_h, out_w), rtol=0, atol=1e-3
    )


def test_tf1_resize_is_not_torch_interpolate():
    # TF1 has no half-pixel centres: output pixel 0 copies input pixel 0 exactly.
    img = torch.arange(16.0).view(1, 1, 4, 4)
    tf = tf1_resize_bilinear(img, (8, 8))
    assert tf[0, 0, 0, 0] == 0 and tf[0, 0, 0, 1] == 0.5 and tf[0, 0, 0, 7] == 3
    torch_out = torch.nn.functional.interpolate(
        img, size=(8, 8), mode="bilinear", align_corners=False
    )
    assert not torch.allclose(tf, torch_out)


def test_preprocess_maps_uint8_range_to_unit_interval():
    x = torch.zeros(1, 3, 299, 299)
    x[..., 0, :3] = torch.tensor([0.0, 128.0, 255.0])
    out = FIDInceptionV3().preprocess(x)
    assert out.shape == (1, 3, 299, 299)
    assert out[0, 0, 0, :3].tolist() == [-1.0, 0.0, 127 / 128]


def test_preprocess_rejects_non_rgb():
    with pytest.raises(ValueError, match="RGB"):
        FIDInceptionV3().preprocess(torch.zeros(1, 1, 299, 299))
