"""Classic augmentation of image arrays in the user's layout: random affine
transformations and random brightness and contrast."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_random_state

from ..nn.augmentation import random_affine as _random_affine_tensor
from ..utils._validation import (
    check_data_range,
    check_image_array,
    infer_image_shape,
    to_nhwc,
    value_range,
)

__all__ = [
    "check_image_shape",
    "describe_added",
    "fill_added",
    "random_affine",
    "random_intensity",
    "transform_added",
]

_CHUNK = 1024  # images transformed at a time: memory stays O(chunk)
_FILL_CHUNK = 4096  # added images drawn and written at a time


def _check_range(name, value, low, high, *, include_high=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    if not (low <= value <= high if include_high else low <= value < high):
        closing = "]" if include_high else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{closing}, got {value!r}.")
    return float(value)


def random_affine(
    X,
    *,
    rotation=10.0,
    shift=0.07,
    zoom=(0.9, 1.1),
    probability=1.0,
    interpolation="bilinear",
    image_shape=None,
    random_state=None,
):
    """Randomly rotated, shifted and zoomed copies of images.

    Each image gets its own random rotation, shift and magnification, with
    interpolation and the image's border repeated where the
    transformed image reaches outside it. The defaults (±10 degrees, ±7% of
    the side, i.e. ±2 pixels at 28 pixels, magnification 0.9 to 1.1) are the
    classic augmentation medical-imaging classifiers are trained with. No
    flips: anatomy has laterality.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
            (n_samples, H, W, C)
        Images, in any numeric dtype and value range.
    rotation : float, default=10.0
        Largest rotation in degrees, in [0, 180).
    shift : float, default=0.07
        Largest shift along each axis as a fraction of the image's side, in
        [0, 1).
    zoom : tuple of two floats, default=(0.9, 1.1)
        Range of the magnification (above 1 enlarges the content); both
        positive, the first no larger than the second.
    probability : float, default=1.0
        Chance that an image is transformed, in [0, 1]; the others are
        returned unchanged.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        How pixel values between pixel centres are read: bilinear blends
        the four nearest pixels (smoother, slightly blurred), nearest takes
        the closest pixel (sharp, slightly jagged).
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flattened rows
        that are not square single-channel images.
    random_state : int, RandomState instance or None, default=None
        Seeds the transformations: equal seeds give equal copies on the CPU.

    Returns
    -------
    X_transformed : ndarray of the shape and dtype of ``X``
        The transformed copies, rounded and clipped for integer dtypes.

    See Also
    --------
    random_intensity : Copies with random brightness and contrast.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan.augment import random_affine
    >>> X = load_digits().data[:4]
    >>> random_affine(X, random_state=0).shape
    (4, 64)
    """
    X = check_image_array(X)
    rotation = _check_range("rotation", rotation, 0, 180)
    shift = _check_range("shift", shift, 0, 1)
    try:
        low, high = (float(z) for z in zoom)
    except (TypeError, ValueError):
        raise TypeError(
            f"zoom must be a pair of numbers (low, high), got {zoom!r}."
        ) from None
    if not 0 < low <= high < np.inf:
        raise ValueError(
            f"zoom must be (low, high) with 0 < low <= high, got {zoom!r}."
        )
    probability = _check_range("probability", probability, 0, 1, include_high=True)
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(
            f'interpolation must be "bilinear" or "nearest", got {interpolation!r}.'
        )
    shape = infer_image_shape(X.shape[1:], image_shape)
    rng = check_random_state(random_state)
    seed = rng.randint(np.iinfo(np.int32).max)
    generator = torch.Generator().manual_seed(int(seed))
    unchanged = np.flatnonzero(rng.random_sample(len(X)) >= probability)
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    out = np.empty_like(X)
    for start in range(0, len(X), _CHUNK):
        chunk = to_nhwc(X[start : start + _CHUNK], shape)
        images = torch.from_numpy(np.ascontiguousarray(chunk)).to(dtype)
        moved = _random_affine_tensor(
            images.permute(0, 3, 1, 2),
            rotation=rotation,
            shift=shift,
            zoom=(low, high),
            generator=generator,
            mode=interpolation,
        ).permute(0, 2, 3, 1)
        values = moved.numpy()
        if np.issubdtype(X.dtype, np.integer):
            info = np.iinfo(X.dtype)
            values = np.clip(np.rint(values), info.min, info.max)
        out[start : start + _CHUNK] = values.reshape((-1,) + X.shape[1:])
    out[unchanged] = X[unchanged]
    return out


def random_intensity(
    X,
    *,
    brightness=0.1,
    contrast=0.2,
    probability=1.0,
    data_range=None,
    random_state=None,
):
    """Copies of images with randomly changed brightness and contrast.

    Each image gets its own contrast factor, applied about the image's mean
    value, and its own brightness offset; values are then clipped to the data
    range. Images of the same anatomy from other scanners, sites and
    settings often differ in exposure and contrast; copies that vary them
    teach a classifier not to rely on them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
            (n_samples, H, W, C)
        Images, in any numeric dtype and value range.
    brightness : float, default=0.1
        Largest brightness offset, as a fraction of the data range, in
        [0, 1]: offsets are uniform in ``[-brightness, brightness]`` times
        ``max - min``.
    contrast : float, default=0.2
        Largest relative change of contrast, in [0, 1): factors are uniform
        in ``[1 - contrast, 1 + contrast]``.
    probability : float, default=1.0
        Chance that an image is changed, in [0, 1]; the others are returned
        unchanged.
    data_range : (float, float), default=None
        ``(min, max)`` of the values the images are defined on, e.g.
        ``(0, 255)``; offsets scale with it and values are clipped to it.
        None takes the smallest and largest value in ``X``.
    random_state : int, RandomState instance or None, default=None
        Seeds the changes: equal seeds give equal copies.

    Returns
    -------
    X_changed : ndarray of the shape and dtype of ``X``
        The changed copies, rounded for integer dtypes.

    See Also
    --------
    random_affine : Randomly rotated, shifted and zoomed copies.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.augment import random_intensity
    >>> X = np.full((2, 4, 4), 100, dtype=np.uint8)
    >>> X[:, 0] = 200
    >>> random_intensity(X, data_range=(0, 255), random_state=0).shape
    (2, 4, 4)
    """
    X = check_image_array(X)
    brightness = _check_range("brightness", brightness, 0, 1, include_high=True)
    contrast = _check_range("contrast", contrast, 0, 1)
    probability = _check_range("probability", probability, 0, 1, include_high=True)
    low, high = check_data_range(data_range) or value_range(X)
    rng = check_random_state(random_state)
    n = len(X)
    factors = rng.uniform(1 - contrast, 1 + contrast, size=n)
    offsets = rng.uniform(-brightness, brightness, size=n) * (high - low)
    unchanged = np.flatnonzero(rng.random_sample(n) >= probability)
    out = np.empty_like(X)
    axes = tuple(range(1, X.ndim))
    shape = (-1,) + (1,) * (X.ndim - 1)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        images = X[start:stop].astype(np.float64)
        mean = images.mean(axis=axes, keepdims=True)
        values = (images - mean) * factors[start:stop].reshape(shape) + mean
        values += offsets[start:stop].reshape(shape)
        np.clip(values, low, high, out=values)
        if np.issubdtype(X.dtype, np.integer):
            np.rint(values, out=values)
        out[start:stop] = values
    out[unchanged] = X[unchanged]
    return out


#: Chance that ``added_augmentation="classic"`` transforms an added image.
CLASSIC_PROBABILITY = 0.5


def transform_added(images, augmentation, rng, image_shape=None, data_range=None):
    """``images`` transformed by a ``SyntheticAugmenter.added_augmentation``.

    ``augmentation`` is ``"classic"`` (with probability 0.5, an image goes
    through :func:`random_affine` and then :func:`random_intensity` on
    ``data_range``, both with their defaults; the others stay exact copies),
    ``"affine"`` (:func:`random_affine` on every image), a callable
    ``f(images, random_state=seed)`` or None (no change); the seed is drawn
    from ``rng`` (a ``RandomState``).
    """
    if augmentation is None or len(images) == 0:
        return images
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if augmentation == "affine":
        return random_affine(images, image_shape=image_shape, random_state=seed)
    if augmentation == "classic":
        draws = np.random.RandomState(seed)
        chosen = np.flatnonzero(draws.random_sample(len(images)) < CLASSIC_PROBABILITY)
        out = np.array(images, copy=True)
        if len(chosen):
            moved = random_affine(
                images[chosen], image_shape=image_shape, random_state=draws
            )
            out[chosen] = random_intensity(
                moved, data_range=data_range, random_state=draws
            )
        return out
    out = np.asarray(augmentation(images, random_state=seed))
    if out.shape != images.shape:
        raise ValueError(
            f"added_augmentation returned images of shape {out.shape} for "
            f"images of shape {images.shape}; it must keep the shape."
        )
    return out


def describe_added(augmentation):
    """How the added images were changed, for a progress line."""
    if augmentation is None:
        return "as they are"
    if isinstance(augmentation, str) and augmentation == "classic":
        return "about half of them transformed"
    return "transformed"


def fill_added(X_out, y_out, blocks, augmentation, rng, image_shape, X):
    """Write the added images into ``X_out`` and their labels into ``y_out``.

    ``blocks`` lists ``(source, rows, label)``: the images ``source[rows]``
    are transformed (:func:`transform_added`) and written in order, a chunk
    at a time, so that memory beyond the output stays small. ``"classic"``
    changes intensity within the value range of the training images ``X``,
    read once here.
    """
    data_range = None
    if isinstance(augmentation, str) and augmentation == "classic" and len(X_out):
        data_range = value_range(X)
    start = 0
    for source, rows, label in blocks:
        for chunk in np.array_split(rows, max(1, -(-len(rows) // _FILL_CHUNK))):
            end = start + len(chunk)
            X_out[start:end] = transform_added(
                source[chunk], augmentation, rng, image_shape, data_range
            )
            y_out[start:end] = label
            start = end


def check_image_shape(X, image_shape=None):
    """Refuse flattened rows whose image shape cannot be inferred, naming the
    fixes open to a ``SyntheticAugmenter`` user."""
    try:
        infer_image_shape(X.shape[1:], image_shape)
    except ValueError as exc:
        raise ValueError(
            f"{exc} For SyntheticAugmenter, pass X as (n, H, W) or (n, H, W, C) "
            "images, or an estimator=DCGANEstimator(image_shape=...); "
            "added_augmentation=None needs no shape."
        ) from None
