"""Random affine copies: skgan.nn.augmentation.random_affine against scipy.ndimage,
skgan.augment.random_affine on user arrays, and the augmenter's added_augmentation."""

import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import ndimage
from sklearn.datasets import load_digits

from skgan import SyntheticAugmenter
from skgan.augment import random_affine, random_intensity
from skgan.nn.augmentation import random_affine as random_affine_tensor
from tests._tiny import tiny_gan


def ndimage_reference(image, draws, rotation, shift, zoom):
    """The same transformation of one (H, W) image with scipy.ndimage."""
    h, w = image.shape
    angle = math.radians((2 * draws[0] - 1) * rotation)
    scale = zoom[0] + draws[1] * (zoom[1] - zoom[0])
    matrix = np.array(
        [[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]]
    )
    matrix = matrix / scale  # (row, col) coordinates: the rotation transposes
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    offset = centre - matrix @ centre
    offset += np.array([(2 * draws[3] - 1) * shift * h, (2 * draws[2] - 1) * shift * w])
    return ndimage.affine_transform(image, matrix, offset, order=1, mode="nearest")


@pytest.mark.parametrize("shape", [(28, 28), (20, 32)])
def test_tensor_transform_matches_scipy_ndimage(shape):
    rng = np.random.default_rng(0)
    images = rng.random((6, 1) + shape)
    params = dict(rotation=25.0, shift=0.1, zoom=(0.8, 1.2))
    out = random_affine_tensor(
        torch.from_numpy(images), generator=torch.Generator().manual_seed(3), **params
    )
    draws = torch.rand(
        6, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    for image, moved, draw in zip(images, out.numpy(), draws.numpy()):
        expected = ndimage_reference(image[0], draw, **params)
        np.testing.assert_allclose(moved[0], expected, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    channels=st.sampled_from([None, 1, 3]),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64, np.int16]),
    seed=st.integers(0, 2**31 - 2),
)
def test_shape_dtype_range_and_seed(n, h, w, channels, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (n, h, w) if channels is None else (n, h, w, channels)
    X = (rng.random(shape) * 200).astype(dtype)
    out = random_affine(X, random_state=seed)
    assert out.shape == X.shape and out.dtype == X.dtype
    # Bilinear interpolation with border fill never leaves the input's range.
    assert out.min() >= X.min() - 1e-6 and out.max() <= X.max() + 1e-6
    np.testing.assert_array_equal(out, random_affine(X, random_state=seed))
    identity = random_affine(X, rotation=0, shift=0, zoom=(1, 1), random_state=seed)
    np.testing.assert_allclose(identity, X, rtol=1e-6, atol=1e-6 * 200)


def test_probability_and_nearest_interpolation():
    X = np.random.default_rng(0).integers(0, 256, size=(400, 9, 9), dtype=np.uint8)
    half = random_affine(X, probability=0.5, random_state=0)
    every = random_affine(X, random_state=0)
    same = np.all(half == X, axis=(1, 2))
    assert 150 < same.sum() < 250  # about half left as they were
    np.testing.assert_array_equal(half[~same], every[~same])  # the rest as p=1
    assert np.all(random_affine(X, probability=0, random_state=0) == X)
    # Nearest interpolation only moves pixels: every value is one of the image's.
    nearest = random_affine(X, interpolation="nearest", random_state=0)
    assert all(set(np.unique(n)) <= set(np.unique(x)) for n, x in zip(nearest, X))
    assert not np.array_equal(nearest, X)


def test_flattened_rows_and_image_shape():
    X = load_digits().data[:10]
    square = random_affine(X, random_state=0)
    as_images = random_affine(X.reshape(10, 8, 8), random_state=0)
    np.testing.assert_array_equal(square, as_images.reshape(10, 64))
    rgb = np.random.default_rng(0).random((4, 6 * 5 * 3))
    with pytest.raises(ValueError, match="image_shape"):
        random_affine(rgb)
    out = random_affine(rgb, image_shape=(6, 5, 3), random_state=0)
    reference = random_affine(rgb.reshape(4, 6, 5, 3), random_state=0)
    np.testing.assert_array_equal(out, reference.reshape(4, -1))


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"rotation": -1}, ValueError, "rotation"),
        ({"rotation": "10"}, TypeError, "rotation"),
        ({"shift": 1.0}, ValueError, "shift"),
        ({"zoom": (1.1, 0.9)}, ValueError, "zoom"),
        ({"zoom": (0, 1)}, ValueError, "zoom"),
        ({"zoom": 1.0}, TypeError, "zoom"),
        ({"probability": 1.5}, ValueError, "probability"),
        ({"interpolation": "bicubic"}, ValueError, "interpolation"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        random_affine(np.zeros((2, 4, 4)), **params)


# ------------------------------------------------------------ random_intensity


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    contrast=st.floats(0, 0.9),
    brightness=st.floats(0, 0.5),
    seed=st.integers(0, 2**16),
)
# Found by hypothesis: an offset near +10 pushes the whole image past the top
# of the range, and every pixel is clipped to 10.
@example(n=1, contrast=0.0, brightness=0.4921875, seed=199)
def test_intensity_is_a_per_image_linear_map(n, contrast, brightness, seed):
    """Each image is a·(x − mean) + mean + b, clipped to the data range, with
    a in [1 − contrast, 1 + contrast] and b within brightness of the span."""
    low, high = -10.0, 10.0
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.4, 0.6, size=(n, 5, 4))
    out = random_intensity(
        X,
        contrast=contrast,
        brightness=brightness,
        data_range=(low, high),
        random_state=seed,
    )
    largest_offset = brightness * (high - low) + 1e-9
    for image, changed in zip(X, out):
        mean = image.mean()
        centred = image - mean
        assert low <= changed.min() and changed.max() <= high
        inside = (changed > low) & (changed < high)
        if inside.sum() >= 2:
            # The unclipped pixels give the map: a line through (centred, changed).
            factor, intercept = np.polyfit(centred[inside], changed[inside], 1)
            offset = intercept - mean
            linear = factor * centred + mean + offset
            np.testing.assert_allclose(changed, np.clip(linear, low, high), atol=1e-9)
            assert 1 - contrast - 1e-9 <= factor <= 1 + contrast + 1e-9
            assert abs(offset) <= largest_offset
        else:
            # (Nearly) every pixel clipped to one end: some allowed map must
            # reach past that end for all the clipped pixels.
            clipped = ~inside
            at_top = changed[clipped] == high
            assert at_top.all() or not at_top.any()
            if at_top.all():
                lowest = mean + (1 - contrast) * centred[clipped].min()
                assert lowest + largest_offset >= high - 1e-9
            else:
                highest = mean + (1 - contrast) * centred[clipped].max()
                assert highest - largest_offset <= low + 1e-9
    again = random_intensity(
        X,
        contrast=contrast,
        brightness=brightness,
        data_range=(low, high),
        random_state=seed,
    )
    np.testing.assert_array_equal(out, again)


def test_intensity_range_dtype_and_probability():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(400, 6, 6), dtype=np.uint8)
    out = random_intensity(X, brightness=0.5, contrast=0.5, random_state=0)
    assert out.dtype == np.uint8 and out.shape == X.shape
    # Offsets up to half of the range (0 to 255, taken from X) reach both ends.
    assert out.min() == 0 and out.max() == 255
    floats = X / 255.0
    clipped = random_intensity(
        floats, brightness=0.5, data_range=(0, 1), random_state=0
    )
    assert clipped.min() >= 0 and clipped.max() <= 1
    half = random_intensity(X, probability=0.5, random_state=0)
    same = np.all(half == X, axis=(1, 2)).mean()
    assert 0.4 < same < 0.6
    np.testing.assert_array_equal(
        random_intensity(X, brightness=0, contrast=0, random_state=0), X
    )
    # The layout does not matter: flattened rows change as the images do.
    rows = random_intensity(X.reshape(400, -1), random_state=0)
    np.testing.assert_array_equal(
        rows.reshape(X.shape), random_intensity(X, random_state=0)
    )


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"brightness": -0.1}, ValueError, "brightness"),
        ({"brightness": "0.1"}, TypeError, "brightness"),
        ({"contrast": 1.0}, ValueError, "contrast"),
        ({"probability": -1}, ValueError, "probability"),
        ({"data_range": (1, 0)}, ValueError, "data_range"),
        ({"data_range": 255}, TypeError, "data_range"),
    ],
)
def test_intensity_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        random_intensity(np.zeros((2, 4, 4)), **params)


# ------------------------------------------------------- inside the augmenter


@pytest.fixture(scope="module")
def imbalanced():
    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:20]])
    return X[np.sort(keep)], y[np.sort(keep)]


def test_share_zero_is_affine_copies_of_the_class(imbalanced):
    X, y = imbalanced
    sampler = SyntheticAugmenter(
        synthetic_share=0, added_augmentation="affine", random_state=0
    )
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    added = X_res[len(X) :]
    assert np.all(y_res[len(X) :] == 1) and len(added) == 178 - 20
    real = {row.tobytes() for row in X}
    assert sum(row.tobytes() in real for row in added) < len(added) // 10
    # Each copy stays nearest (by correlation) to an image of its own class.
    corr = np.corrcoef(added, X)[: len(added), len(added) :]
    assert np.mean(y[corr.argmax(axis=1)] == 1) > 0.9
    # The identity transformation gives exact duplicates, as without augmentation.
    identity = functools.partial(random_affine, rotation=0, shift=0, zoom=(1, 1))
    plain = SyntheticAugmenter(
        synthetic_share=0, added_augmentation=None, random_state=0
    )
    same = SyntheticAugmenter(
        synthetic_share=0, added_augmentation=identity, random_state=0
    )
    np.testing.assert_array_equal(
        plain.fit_resample(X, y)[0], same.fit_resample(X, y)[0]
    )


def test_classic_default_transforms_half_in_geometry_and_intensity(imbalanced):
    X, y = imbalanced
    X_res, y_res = SyntheticAugmenter(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    added = X_res[len(X) :]
    real = {row.tobytes(): row for row in X[y == 1]}
    exact = np.array([row.tobytes() in real for row in added])
    assert 0.3 * len(added) < exact.sum() < 0.7 * len(added)
    changed = added[~exact]
    # Values stay in the range of X (0 to 16 for the digits).
    assert changed.min() >= X.min() and changed.max() <= X.max()
    # Brightness and contrast change too: the transformed images' means and
    # spreads vary more than those of geometric copies alone.
    affine = SyntheticAugmenter(added_augmentation="affine", random_state=0)
    geometric = affine.fit_resample(X, y)[0][len(X) :]
    assert changed.std(axis=1).std() > geometric.std(axis=1).std()
    assert changed.mean(axis=1).std() > geometric.mean(axis=1).std()
    # Each transformed image stays nearest (by correlation) to its own class.
    corr = np.corrcoef(changed, X)[: len(changed), len(changed) :]
    assert np.mean(y[corr.argmax(axis=1)] == 1) > 0.9
    # uint8 images keep their dtype.
    X_uint8 = (X * 15).astype(np.uint8)
    resampled = SyntheticAugmenter(random_state=0).fit_resample(X_uint8, y)[0]
    assert resampled.dtype == np.uint8


def test_every_added_image_goes_through_a_callable(imbalanced):
    X, y = imbalanced
    calls = []

    def mark(images, random_state):
        calls.append((len(images), random_state))
        return np.full_like(images, -1.0)

    sampler = SyntheticAugmenter(
        estimator=tiny_gan(),
        synthetic_share=0.5,
        added_augmentation=mark,
        near_copy_quantile=None,
        class_check=None,  # tiny GANs draw no recognisable digit
        random_state=0,
    )
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    assert np.all(X_res[len(X) :] == -1.0)
    assert sum(n for n, _ in calls) == 158 and sampler.n_synthetic_ == {1: 79}
    assert all(isinstance(seed, int) for _, seed in calls)

    def wrong(images, random_state):
        return images[:, :10]

    with pytest.raises(ValueError, match="keep the shape"):
        SyntheticAugmenter(
            synthetic_share=0, added_augmentation=wrong, random_state=0
        ).fit_resample(X, y)


def test_bad_added_augmentation_is_refused_before_work(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="added_augmentation"):
        SyntheticAugmenter(added_augmentation="rotate").fit_resample(X, y)


def test_flattened_rows_of_unknown_shape_are_refused_before_work():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 6 * 5 * 3)), np.array([0] * 24 + [1] * 6)
    with pytest.raises(ValueError, match=r"\(n, H, W, C\) images, or an estimator"):
        SyntheticAugmenter(random_state=0).fit_resample(X, y)
    X_res, _ = SyntheticAugmenter(added_augmentation=None).fit_resample(X, y)
    assert X_res.shape == (48, 90)
    images = X.reshape(30, 6, 5, 3)
    shaped = SyntheticAugmenter(random_state=0).fit_resample(images, y)[0]
    told = SyntheticAugmenter(
        estimator=tiny_gan(image_shape=(6, 5, 3)), random_state=0
    ).fit_resample(X, y)[0]
    np.testing.assert_array_equal(shaped.reshape(48, -1), told)
