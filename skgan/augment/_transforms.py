"""Classic augmentation of image arrays in the user's layout: random affine copies."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._validation import check_image_array, infer_image_shape, to_nhwc
from ..nn.augmentation import random_affine as _random_affine_tensor

__all__ = ["check_image_shape", "random_affine", "transform_added"]

_CHUNK = 1024  # images transformed at a time: memory stays O(chunk)


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


def transform_added(images, augmentation, rng, image_shape=None):
    """``images`` transformed by a ``SyntheticAugmenter.added_augmentation``.

    ``augmentation`` is ``"affine"`` (:func:`random_affine` with its
    defaults), a callable
    ``f(images, random_state=seed)`` or None (no change); the seed is drawn
    from ``rng`` (a ``RandomState``).
    """
    if augmentation is None or len(images) == 0:
        return images
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if augmentation == "affine":
        return random_affine(images, image_shape=image_shape, random_state=seed)
    out = np.asarray(augmentation(images, random_state=seed))
    if out.shape != images.shape:
        raise ValueError(
            f"added_augmentation returned images of shape {out.shape} for "
            f"images of shape {images.shape}; it must keep the shape."
        )
    return out


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
