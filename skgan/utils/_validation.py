"""Image array layouts and value ranges: the one place where user arrays are read.

skgan accepts images the way scikit-learn users hold them:

* ``(n, H*W*C)`` flattened rows (``load_digits().data``),
* ``(n, H, W)`` grayscale,
* ``(n, H, W, C)`` channels-last.

:class:`ImageLayout` records which of these a user passed, with its dtype and value
range, so that generated images can be handed back exactly the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_array

__all__ = [
    "ImageLayout",
    "check_data_range",
    "check_image_array",
    "check_numeric_values",
    "check_sample_count",
    "infer_image_shape",
    "infer_layout",
    "precheck_images",
    "to_nhwc",
    "value_range",
]

#: Bytes of ``X`` that :func:`value_range` reads at a time.
SCAN_BYTES = 16 << 20


def check_numeric_values(X, *, name="X", what="images"):
    """Reject ragged lists and non-numeric or complex values, naming the fix.

    What NumPy and ``check_array`` would report obscurely. Returns ``X``
    (lists become arrays, object arrays of numbers float64).
    """
    if isinstance(X, (list, tuple)):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name} is a ragged nested sequence: its rows have different "
                f"lengths. Pass a rectangular array of {what}."
            ) from exc
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype):
        if dtype.kind == "c":
            raise ValueError(
                f"Complex data not supported: {name} has dtype {dtype}; {what} "
                "must be real-valued. Take the real part or np.abs first."
            )
        if dtype.kind in "USVmM":
            raise TypeError(
                f"{name} has non-numeric dtype {dtype}; {what} must be numbers. "
                f"Convert it with {name}.astype(float)."
            )
        if dtype.kind == "O":
            try:
                X = np.asarray(X).astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"{name} has dtype object with non-numeric entries ({exc}); "
                    f"{what} must be numbers. Convert them with {name}.astype(float)."
                ) from exc
    return X


def precheck_images(X, *, name="X"):
    """Reject, with a message naming the fix, what ``check_array`` reports obscurely.

    Sparse matrices, non-array objects, ragged lists, non-numeric or complex
    values, and arrays that are not 2-, 3- or 4-dimensional. Returns ``X``
    (lists become arrays).
    """
    if sparse.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; images must be dense. Convert it with "
            f"{name}.toarray()."
        )
    if not (
        isinstance(X, (list, tuple))
        or hasattr(X, "__array__")
        or hasattr(X, "__array_namespace__")
    ):
        raise TypeError(
            f"{name} must be an array-like of images, got {type(X).__name__}. "
            "Pass a NumPy array of shape (n_samples, n_features), "
            "(n_samples, height, width) or (n_samples, height, width, channels)."
        )
    X = check_numeric_values(X, name=name)
    ndim = len(np.shape(X))
    if ndim not in (2, 3, 4):
        raise ValueError(
            f"{name} must have 2, 3 or 4 dimensions: (n_samples, n_features), "
            "(n_samples, height, width) or (n_samples, height, width, channels); "
            f"got an array of shape {np.shape(X)}."
            + (f" Reshape a single image with {name}[None]." if ndim == 1 else "")
        )
    # (n, 0) is check_array's "0 feature(s)" case; here images without pixels.
    if ndim > 2 and 0 in np.shape(X)[1:]:
        raise ValueError(
            f"{name} holds images of shape {np.shape(X)[1:]} without pixels; every "
            "image dimension must be at least 1."
        )
    return X


def check_image_array(X, *, name="X", min_samples=1):
    """Return ``X`` as a finite, real, numeric ndarray of 2 to 4 dimensions.

    Integer and floating dtypes are preserved (``uint8`` stays ``uint8``); object
    arrays of numbers become float64. Raises ``ValueError``/``TypeError`` naming
    the problem otherwise.
    """
    X = precheck_images(X, name=name)
    return check_array(
        X,
        dtype="numeric",
        allow_nd=True,
        ensure_min_samples=min_samples,
        input_name=name,
    )


def check_sample_count(n_samples, *, name="n_samples", allow_zero=False):
    """Validate a requested number of images and return it as a Python ``int``."""
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(
        n_samples, (int, np.integer)
    ):
        raise TypeError(
            f"{name} must be an integer, got {n_samples!r} of type "
            f"{type(n_samples).__name__}."
        )
    lowest = 0 if allow_zero else 1
    if n_samples < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {n_samples}.")
    return int(n_samples)


def check_data_range(data_range):
    """A user's ``data_range`` as a ``(min, max)`` pair of floats, or None."""
    if data_range is None:
        return None
    try:
        low, high = (float(v) for v in data_range)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"data_range must be a (min, max) pair of numbers, got {data_range!r}."
        ) from exc
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"data_range must be finite with min < max, got {data_range!r}."
        )
    return low, high


def value_range(X, *, name="X"):
    """``(min, max)`` of ``X`` as floats, refusing NaN and infinite values.

    One pass over ``X``, a block of rows at a time, with no temporary array:
    a ``numpy.memmap`` larger than memory is read once, and nothing of the
    size of ``X`` is allocated. The errors are scikit-learn's (``"Input X
    contains NaN."``), with the fix.
    """
    n = X.shape[0]
    row_bytes = max(1, X[:1].nbytes)
    step = max(1, SCAN_BYTES // row_bytes)
    low, high = math.inf, -math.inf
    for start in range(0, n, step):
        block = X[start : start + step]
        block_low, block_high = float(np.min(block)), float(np.max(block))
        finite = math.isfinite(block_low) and math.isfinite(block_high)
        if X.dtype.kind == "f" and not finite:
            what = (
                "NaN"
                if math.isnan(block_low) or math.isnan(block_high)
                else f"infinity or a value too large for {X.dtype!r}"
            )
            raise ValueError(
                f"Input {name} contains {what}. Images must be finite: drop or "
                f"repair the images with missing or infinite values (rows "
                f"{start} to {min(n, start + step) - 1} hold at least one)."
            )
        low, high = min(low, block_low), max(high, block_high)
    return low, high


def _as_image_shape(image_shape):
    """Normalise a user's ``image_shape`` to ``(H, W, C)``; one entry may be -1."""
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    valid = (
        shape is not None
        and len(shape) in (2, 3)
        and all(
            isinstance(s, (int, np.integer))
            and not isinstance(s, bool)
            and (s >= 1 or s == -1)
            for s in shape
        )
        and sum(s == -1 for s in shape) <= 1
    )
    if not valid:
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) "
            "with positive integers (at most one -1, inferred as in numpy.reshape), "
            f"got {image_shape!r}."
        )
    return tuple(int(s) for s in shape) + ((1,) if len(shape) == 2 else ())


def _fill_unknown(shape, size, image_shape):
    """Resolve a -1 entry of ``shape`` so that it holds ``size`` values."""
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if size % known:
            raise ValueError(
                f"image_shape={image_shape!r} cannot hold {size} values per image: "
                f"{size} is not a multiple of {known}."
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    return shape


def infer_image_shape(sample_shape, image_shape=None):
    """Return ``(H, W, C)`` for arrays whose per-sample shape is ``sample_shape``.

    Parameters
    ----------
    sample_shape : tuple of int
        ``X.shape[1:]``.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` given by the user. Required for flattened
        input that is not a square single-channel image.

    Returns
    -------
    image_shape : tuple of int
        ``(height, width, channels)``.
    """
    sample_shape = tuple(int(s) for s in sample_shape)
    given = None if image_shape is None else _as_image_shape(image_shape)
    if len(sample_shape) == 1:
        n_features = sample_shape[0]
        if given is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"Cannot infer the image shape of flattened rows with "
                    f"{n_features} features: it is not a square single-channel "
                    "image. Pass image_shape=(height, width) or "
                    "(height, width, channels)."
                )
            return (side, side, 1)
        given = _fill_unknown(given, n_features, image_shape)
        if math.prod(given) != n_features:
            raise ValueError(
                f"image_shape={image_shape!r} holds {math.prod(given)} values per "
                f"image, but X has {n_features} features per row."
            )
        return given
    inferred = sample_shape + ((1,) if len(sample_shape) == 2 else ())
    if given is not None:
        given = _fill_unknown(given, math.prod(inferred), image_shape)
    if given is not None and given != inferred:
        raise ValueError(
            f"image_shape={image_shape!r} does not match X, whose images have "
            f"shape {sample_shape}. Leave image_shape=None for 3-D and 4-D input "
            "or make them agree."
        )
    return inferred


@dataclass(frozen=True)
class ImageLayout:
    """How a user's image array is laid out, so outputs can match it.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one sample in the user's array (``X.shape[1:]``).
    image_shape : tuple of int
        ``(height, width, channels)``.
    dtype : numpy.dtype
        Dtype of the user's array.
    data_min, data_max : float
        Value range the images are mapped from (to ``[-1, 1]`` for the networks).
    """

    sample_shape: tuple
    image_shape: tuple
    dtype: np.dtype
    data_min: float
    data_max: float

    @property
    def channels(self):
        return self.image_shape[2]

    def check(self, X, *, name="X"):
        """Raise ``ValueError`` unless ``X`` holds images of this layout's shape."""
        if tuple(X.shape[1:]) != tuple(self.sample_shape):
            raise ValueError(
                f"{name} has per-sample shape {tuple(X.shape[1:])}, but the model "
                f"was fitted on per-sample shape {tuple(self.sample_shape)} "
                f"(images of {self.image_shape}). Pass {name} in the same layout "
                "as at fit time."
            )

    def check_training_range(self, X, *, name="X", values=None):
        """Refuse images too far outside this layout's value range to train on.

        The networks see the fitted range as ``[-1, 1]``; continuing training
        accepts values up to one span beyond it on either side (``[-3, 3]``),
        and refuses more, which would only teach the discriminator the scale.
        ``values``, ``(min, max)`` of ``X`` when already known, saves reading
        ``X`` again.
        """
        span = self.data_max - self.data_min
        if span <= 0:
            return  # constant training images: every value maps to -1
        low, high = value_range(X, name=name) if values is None else values
        if low < self.data_min - span or high > self.data_max + span:
            raise ValueError(
                f"{name} has values from {low:g} to {high:g}, far outside the "
                f"range {self.data_min:g} to {self.data_max:g} the model was "
                f"fitted on. Scale {name} like the first training images, or "
                "start afresh with warm_start=False."
            )

    def to_model(self, X):
        """Map user images to float32 ``(n, C, H, W)`` in ``[-1, 1]``."""
        # float64 arithmetic: a small span far from zero (900 +- 0.01) would
        # lose its precision in float32 before the subtraction.
        nhwc = to_nhwc(X, self.image_shape).astype(np.float64)
        span = self.data_max - self.data_min
        scale = 2.0 / span if span > 0 else 0.0
        out = (nhwc - self.data_min) * scale - 1.0
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)

    def from_model(self, images):
        """Map float ``(n, C, H, W)`` in ``[-1, 1]`` back to the user's layout."""
        # One float64 copy of the chunk, transformed in place (the same
        # operations, in the same order, as out of place).
        values = np.array(images, dtype=np.float64)
        np.clip(values, -1.0, 1.0, out=values)
        values += 1.0
        values /= 2.0
        values *= self.data_max - self.data_min
        values += self.data_min
        values = values.transpose(0, 2, 3, 1).reshape((-1,) + tuple(self.sample_shape))
        if np.issubdtype(self.dtype, np.integer):
            info = np.iinfo(self.dtype)
            np.rint(values, out=values)
            np.clip(values, info.min, info.max, out=values)
        elif self.dtype == np.bool_:
            values = values > 0.5
        return values.astype(self.dtype)


def infer_layout(X, image_shape=None, *, values=None):
    """Build the :class:`ImageLayout` of a validated array ``X``.

    ``values``, ``(min, max)`` of ``X`` when already known (see
    :func:`value_range`), saves reading ``X`` again.
    """
    shape = infer_image_shape(X.shape[1:], image_shape)
    dtype = X.dtype if X.dtype.kind in "biuf" else np.dtype(np.float64)
    low, high = value_range(X) if values is None else values
    if max(abs(low), abs(high)) > np.finfo(np.float32).max / 4:
        raise ValueError(
            f"X has values from {low:g} to {high:g}, beyond the float32 range the "
            "networks compute in. Rescale X, e.g. to [0, 1]."
        )
    if high > low and not math.isfinite(2.0 / (high - low)):
        raise ValueError(
            f"X has values from {low:g} to {high:g}, a span too small to scale "
            "to the networks' [-1, 1] without overflow. Rescale X, e.g. to "
            "[0, 1]."
        )
    return ImageLayout(
        sample_shape=tuple(X.shape[1:]),
        image_shape=shape,
        dtype=np.dtype(dtype),
        data_min=low,
        data_max=high,
    )


def to_nhwc(X, image_shape):
    """Reshape images of any accepted layout to ``(n, H, W, C)``."""
    return np.asarray(X).reshape((-1,) + tuple(image_shape))
