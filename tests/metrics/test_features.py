"""Image layouts, value ranges, extractor kinds, validation before any work."""

import re

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from skgan.metrics import (
    FIDInceptionV3,
    compute_reference_statistics,
    density_coverage,
    extract_features,
    frechet_inception_distance,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)
from skgan.metrics._features import _inception_batch, _prepare


def _flat(batch):
    return batch.reshape(len(batch), -1)


def test_all_layouts_give_the_same_features():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 6, 4), dtype=np.uint8)  # (n, H, W)
    expected = extract_features(images, feature_extractor=_flat)
    for layout, shape in [
        (images.reshape(5, 24), (6, 4)),
        (images.reshape(5, 24), (6, 4, 1)),
        (images[..., None], None),
    ]:
        got = extract_features(layout, feature_extractor=_flat, image_shape=shape)
        np.testing.assert_array_equal(got, expected)


def test_rgb_flattened_layout_needs_image_shape():
    X = np.zeros((3, 4 * 4 * 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="image_shape"):
        extract_features(X, feature_extractor=_flat)
    got = extract_features(
        X,
        feature_extractor=lambda b: b.reshape(len(b), -1)[:, :2],
        image_shape=(4, 4, 3),
    )
    assert got.shape == (3, 2)


def test_callable_gets_nhwc_float32_in_unit_range():
    seen = {}

    def grab(batch):
        seen["batch"] = batch
        return batch.reshape(len(batch), -1)

    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    extract_features(images, feature_extractor=grab)
    assert seen["batch"].dtype == np.float32
    assert seen["batch"].shape == (1, 2, 2, 1)
    np.testing.assert_allclose(seen["batch"][0, :, :, 0], [[0, 1], [0.2, 0.4]])


@pytest.mark.parametrize(
    ("images", "data_range"),
    [
        (np.array([[[0.0, 1.0]]]), None),
        (np.array([[[-1.0, 1.0]]]), (-1, 1)),
        (np.array([[[0, 4095]]], dtype=np.uint16), (0, 4095)),
        (np.array([[[0.0, 255.0]]]), (0, 255)),
    ],
)
def test_data_range_maps_to_unit_interval(images, data_range):
    got = extract_features(images, feature_extractor=_flat, data_range=data_range)
    np.testing.assert_allclose(got, [[0.0, 1.0]])


@pytest.mark.parametrize(
    ("images", "data_range", "match"),
    [
        (np.array([[[0.0, 2.0]]]), None, "assumed for float64"),
        (np.array([[[-1.0, 1.0]]]), None, "pass data_range|Pass data_range"),
        (np.array([[[0, 300]]], dtype=np.int64), None, "int64"),
        (np.array([[[0.0, 1.5]]]), (0, 1), "was given"),
    ],
)
def test_values_outside_data_range_raise(images, data_range, match):
    with pytest.raises(ValueError, match=match):
        extract_features(images, feature_extractor=_flat, data_range=data_range)


def test_tiny_overshoot_from_float_rounding_is_tolerated():
    images = np.array([[[1.0 + 1e-7, -1e-7]]])
    got = extract_features(images, feature_extractor=_flat)
    np.testing.assert_array_equal(got, [[1.0, 0.0]])


@pytest.mark.parametrize("data_range", [(1, 1), (2, 0), (0, np.inf), "ab", 3])
def test_bad_data_range(data_range):
    with pytest.raises((ValueError, TypeError), match="data_range"):
        extract_features(
            np.zeros((1, 2, 2)), feature_extractor=_flat, data_range=data_range
        )


def test_inception_input_quantises_floats_like_uint8():
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, size=(3, 5, 5, 3), dtype=np.uint8)
    exact = _inception_batch(
        _prepare(
            u8,
            name="x",
            kind="inception",
            image_shape=None,
            data_range=None,
            min_samples=1,
        ),
        0,
        3,
    )
    jitter = rng.uniform(-0.45, 0.45, size=u8.shape)
    for floats, data_range in [
        (u8 / 255.0, None),
        (np.clip(u8 + jitter, 0, 255) / 255, None),
        (u8 / 127.5 - 1, (-1, 1)),
        (u8.astype(np.float32) / np.float32(255), None),
    ]:
        prepared = _prepare(
            floats,
            name="x",
            kind="inception",
            image_shape=None,
            data_range=data_range,
            min_samples=1,
        )
        assert torch.equal(_inception_batch(prepared, 0, 3), exact)
    assert exact.shape == (3, 3, 5, 5) and exact.dtype == torch.float32


def test_inception_rejects_other_channel_counts():
    with pytest.raises(ValueError, match="2 channels"):
        extract_features(
            np.zeros((2, 8, 8, 2), dtype=np.uint8), feature_extractor=FIDInceptionV3()
        )


class _Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.bn = torch.nn.BatchNorm1d(1)
        self.calls = []

    def forward(self, x):
        self.calls.append(
            (
                x.dtype,
                tuple(x.shape),
                self.training,
                torch.is_inference_mode_enabled(),
                x.device.type,
            )
        )
        return x.flatten(1) * self.scale


def test_module_gets_nchw_in_eval_and_inference_mode_and_mode_is_restored():
    module = _Recorder().train()
    module.bn.eval()  # a mixed-mode module keeps its per-layer flags
    images = np.random.default_rng(2).random((5, 4, 3, 2))
    got = extract_features(images, feature_extractor=module, batch_size=2)
    assert got.shape == (5, 24) and got.dtype == np.float32
    np.testing.assert_allclose(
        got, images.transpose(0, 3, 1, 2).reshape(5, -1), rtol=1e-6
    )
    assert module.calls == [(torch.float32, (2, 2, 4, 3), False, True, "cpu")] * 2 + [
        (torch.float32, (1, 2, 4, 3), False, True, "cpu")
    ]
    assert module.training and not module.bn.training


def test_fitted_sklearn_transformer_gets_flattened_original_values():
    rng = np.random.default_rng(3)
    images = rng.random((20, 4, 4)) * 16  # load_digits-like range
    pca = PCA(n_components=3).fit(images.reshape(20, -1))
    got = extract_features(images, feature_extractor=pca, data_range=(0, 16))
    np.testing.assert_allclose(got, pca.transform(images.reshape(20, -1)))


def test_unfitted_transformer_raises_before_work():
    with pytest.raises(NotFittedError):
        extract_features(np.zeros((3, 4, 4)), feature_extractor=PCA())


@pytest.mark.parametrize(
    ("extractor", "error", "match"),
    [
        ("vgg", ValueError, "not known"),
        (42, TypeError, "feature_extractor must be"),
        (lambda b: np.zeros((len(b), 2, 3)), ValueError, "2-D array"),
        (lambda b: np.zeros((len(b) + 1, 2)), ValueError, "shape"),
        (lambda b: np.full((len(b), 2), np.nan), ValueError, "NaN"),
    ],
)
def test_bad_extractors(extractor, error, match):
    with pytest.raises(error, match=match):
        extract_features(np.zeros((3, 4, 4)), feature_extractor=extractor)


def test_inconsistent_feature_width_across_batches():
    sizes = iter([2, 3])
    with pytest.raises(ValueError, match="one batch"):
        extract_features(
            np.zeros((4, 2, 2)),
            batch_size=2,
            feature_extractor=lambda b: np.zeros((len(b), next(sizes))),
        )


def test_progress_is_printed_when_verbose(capsys):
    extract_features(
        np.zeros((5, 2, 2)), feature_extractor=_flat, batch_size=2, verbose=1
    )
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1  # a line at most every 2 s, and the last one
    assert re.match(
        r"\[_flat features of images\] 5/5 images, elapsed \d+\.\ds, done$", out[0]
    )
    extract_features(np.zeros((5, 2, 2)), feature_extractor=_flat)
    assert capsys.readouterr() == ("", "")


def test_bad_device_raises_before_work():
    with pytest.raises(ValueError, match="device"):
        extract_features(
            np.zeros((2, 4, 4)), feature_extractor=FIDInceptionV3(), device="tpu"
        )


class _NeverCalled:
    def __call__(self, batch):  # pragma: no cover - must not run
        raise AssertionError("feature extraction ran before validation")


GOOD = np.zeros((12, 4, 4), dtype=np.uint8)
BAD_INPUTS = [
    (np.full((12, 4, 4), np.nan), ValueError, "NaN"),
    (np.full((12, 4, 4), np.inf), ValueError, "infinity|inf"),
    (np.zeros((0, 4, 4)), ValueError, "0 sample"),
    (np.zeros(16), ValueError, "dimensions"),
    (np.zeros((1, 2, 2, 2, 2)), ValueError, "dimensions"),
    (np.array([["a", "b"]]), TypeError, "non-numeric"),
    ("images", TypeError, "array-like"),
    (np.zeros((12, 4, 4)) + 1j, ValueError, "complex"),
    (np.full((12, 4, 4), 2.0), ValueError, "data_range"),
]


@pytest.mark.parametrize(("bad", "error", "match"), BAD_INPUTS)
@pytest.mark.parametrize(
    "metric",
    [
        frechet_inception_distance,
        kernel_inception_distance,
        precision_recall,
        density_coverage,
    ],
)
def test_bad_fake_images_raise_before_real_images_are_processed(
    metric, bad, error, match
):
    with pytest.raises(error, match=match):
        metric(GOOD, bad, feature_extractor=_NeverCalled())


@pytest.mark.parametrize(("bad", "error", "match"), BAD_INPUTS[:6])
def test_bad_images_raise_for_single_input_functions(bad, error, match):
    for func in (inception_score, compute_reference_statistics, extract_features):
        with pytest.raises(error, match=match):
            func(bad, feature_extractor=_NeverCalled())


@pytest.mark.parametrize(
    "metric",
    [
        frechet_inception_distance,
        kernel_inception_distance,
        precision_recall,
        density_coverage,
    ],
)
def test_feature_matrix_checks(metric):
    good = np.random.default_rng(4).normal(size=(12, 3))
    with pytest.raises(ValueError, match="same feature extractor"):
        metric(good, good[:, :2], feature_extractor=None)
    with pytest.raises(ValueError, match="2-D feature matrix"):
        metric(good, good.reshape(12, 3, 1), feature_extractor=None)
    with pytest.raises(ValueError, match="NaN"):
        metric(good, np.where(good > 1, np.nan, good), feature_extractor=None)
    with pytest.raises(ValueError, match="0 sample"):
        metric(good, good[:0], feature_extractor=None)
    if metric is not density_coverage:  # one fake sample is enough for it
        with pytest.raises(ValueError, match="sample"):
            metric(good, good[:1], feature_extractor=None)


@pytest.mark.parametrize("name", ["batch_size", "verbose"])
def test_bad_common_integers(name):
    value = 0 if name == "batch_size" else -1
    with pytest.raises(ValueError, match=name):
        frechet_inception_distance(
            GOOD, GOOD, feature_extractor=_NeverCalled(), **{name: value}
        )
