"""Array layouts and value ranges (skgan.utils._validation)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from skgan.utils._validation import (
    check_image_array,
    check_sample_count,
    infer_image_shape,
    infer_layout,
)


@pytest.mark.parametrize(
    "sample_shape, image_shape, expected",
    [
        ((64,), None, (8, 8, 1)),
        ((784,), None, (28, 28, 1)),
        ((1,), None, (1, 1, 1)),
        ((5,), (1, 5), (1, 5, 1)),
        ((5,), (1, -1), (1, 5, 1)),
        ((3072,), (32, 32, 3), (32, 32, 3)),
        ((3072,), (32, -1, 3), (32, 32, 3)),
        ((28, 28), None, (28, 28, 1)),
        ((28, 28), (28, -1), (28, 28, 1)),
        ((32, 32, 3), None, (32, 32, 3)),
        ((7, 5, 3), (7, 5, 3), (7, 5, 3)),
    ],
)
def test_infer_image_shape(sample_shape, image_shape, expected):
    assert infer_image_shape(sample_shape, image_shape) == expected


@pytest.mark.parametrize(
    "sample_shape, image_shape, match",
    [
        ((10,), None, "Pass image_shape"),
        ((10,), (3, 3), "holds 9 values"),
        ((10,), (3, -1), "not a multiple of 3"),
        ((28, 28), (28, 27), "does not match"),
        ((8,), (2, -1, -1), "at most one -1"),
        ((8,), (0, 8), "positive integers"),
        ((8,), "8x1", "positive integers"),
        ((8,), 8, "positive integers"),
    ],
)
def test_infer_image_shape_errors(sample_shape, image_shape, match):
    with pytest.raises(ValueError, match=match):
        infer_image_shape(sample_shape, image_shape)


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.zeros(5), ValueError, "Reshape a single image"),
        (np.zeros((2, 2, 2, 2, 2)), ValueError, "2, 3 or 4 dimensions"),
        (np.array([[1, np.nan]]), ValueError, "NaN"),
        (np.array([[1, np.inf]]), ValueError, "infinity"),
        (np.zeros((2, 2), dtype=complex), ValueError, "Complex data not supported"),
        (np.array([["a", "b"]]), TypeError, "non-numeric dtype"),
        (sparse.csr_matrix(np.eye(3)), TypeError, "sparse"),
        ("images", TypeError, "array-like of images"),
        (np.zeros((0, 4)), ValueError, "0 sample"),
    ],
)
def test_check_image_array_rejects(X, error, match):
    with pytest.raises(error, match=match):
        check_image_array(X)


def test_check_image_array_keeps_dtype_and_converts_objects():
    assert check_image_array(np.zeros((2, 4), np.uint8)).dtype == np.uint8
    assert check_image_array(np.zeros((2, 4), object)).dtype == np.float64


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None])
def test_check_sample_count(bad):
    with pytest.raises((TypeError, ValueError), match="n_samples"):
        check_sample_count(bad)
    assert check_sample_count(np.int64(3)) == 3


layouts = st.sampled_from(["flat", "gray", "channels_last"])


@settings(max_examples=60, deadline=None)
@given(
    layout=layouts,
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    channels=st.sampled_from([1, 3]),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64, np.int16]),
    low=st.floats(-1e3, 1e3),
    span=st.floats(1e-2, 1e3),
    seed=st.integers(0, 2**16),
)
def test_layout_round_trip(layout, height, width, channels, dtype, low, span, seed):
    """to_model then from_model returns the user's array (exactly for integers)."""
    rng = np.random.default_rng(seed)
    if layout == "gray":
        channels = 1
    shape = {
        "flat": (5, height * width * channels),
        "gray": (5, height, width),
        "channels_last": (5, height, width, channels),
    }[layout]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        lo = int(np.clip(low, info.min, info.max - 1))
        hi = int(np.clip(lo + max(1, span), lo + 1, info.max))
        X = rng.integers(lo, hi + 1, size=shape).astype(dtype)
    else:
        X = (low + span * rng.random(shape)).astype(dtype)
    image_shape = (height, width, channels) if layout == "flat" else None
    info = infer_layout(X, image_shape)
    model = info.to_model(X)
    assert model.shape == (5, channels, height, width)
    assert model.dtype == np.float32
    assert model.min() >= -1 - 1e-5 and model.max() <= 1 + 1e-5
    back = info.from_model(model)
    assert back.shape == X.shape and back.dtype == X.dtype
    if np.issubdtype(dtype, np.integer):
        np.testing.assert_array_equal(back, X)
    else:
        span_seen = float(X.max()) - float(X.min())
        np.testing.assert_allclose(back, X, atol=1e-5 * max(span_seen, abs(low), 1))


def test_from_model_clips_to_training_range():
    X = np.array([[0.0, 16.0, 4.0, 8.0]])
    X = np.vstack([X, X])
    info = infer_layout(X)
    out = info.from_model(np.full((1, 1, 2, 2), 3.0))
    assert out.max() == 16.0
    out = info.from_model(np.full((1, 1, 2, 2), -3.0))
    assert out.min() == 0.0


def test_constant_images_round_trip():
    X = np.full((3, 4), 7, np.uint8)
    info = infer_layout(X)
    np.testing.assert_array_equal(info.from_model(info.to_model(X)), X)
