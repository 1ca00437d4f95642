"""Small input checks shared by the metrics."""

import numbers

import numpy as np
from sklearn.utils.validation import check_array

from ..utils._validation import check_numeric_values

__all__ = [
    "SmallSampleWarning",
    "check_features",
    "check_int",
    "check_same_width",
    "fill_doc",
]


class SmallSampleWarning(UserWarning):
    """A metric was computed from fewer samples than it needs to be reliable.

    Raised for a Fréchet distance with fewer samples than feature dimensions (a
    rank-deficient covariance) or with a tiny sample, and when KID subsets are
    shrunk to the available samples. Filter it with
    ``warnings.simplefilter("ignore", SmallSampleWarning)``.
    """


def check_features(X, *, name, min_samples=1):
    """Return a finite 2-D float feature matrix (float32 stays float32)."""
    if isinstance(X, (str, bytes)) or not (
        hasattr(X, "__array__") or isinstance(X, (list, tuple))
    ):
        raise TypeError(
            f"{name} must be a 2-D array of features, got {type(X).__name__}."
        )
    X = check_numeric_values(X, name=name, what="features")
    arr = np.asarray(X) if not hasattr(X, "iloc") else X
    dtype = getattr(arr, "dtype", None)
    ndim = getattr(arr, "ndim", 2)
    if ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D feature matrix (n_samples, n_features), got "
            f"shape {getattr(arr, 'shape', None)}. To compute features from "
            "images, pass feature_extractor='inception' (or another extractor)."
        )
    keep32 = dtype == np.float32
    return check_array(
        X,
        dtype=np.float32 if keep32 else np.float64,
        ensure_min_samples=min_samples,
        input_name=name,
    )


def check_same_width(A, B, names):
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"{names[0]} has {A.shape[1]} features per sample but {names[1]} has "
            f"{B.shape[1]}; they must come from the same feature extractor."
        )


def check_int(value, name, *, minimum=1):
    """Return ``value`` as an int >= ``minimum`` or raise TypeError/ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


_COMMON_PARAMS = """\
feature_extractor : "inception", torch.nn.Module, callable, transformer or \
None, default="inception"
        How images become features (see :mod:`skgan.metrics`). ``None``: the
        inputs are 2-D feature matrices used as is.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)``, for flattened images that are not square
        single-channel images. Ignored when ``feature_extractor=None``.
    data_range : (float, float), default=None
        ``(min, max)`` value range of the images; default ``(0, 255)`` for integer
        and ``(0, 1)`` for float images. Values outside it raise ``ValueError``.
        Ignored when ``feature_extractor=None``.
    batch_size : int, default=64
        Images per forward pass of the extractor.
    device : str or torch.device, default="auto"
        Device of the Inception network (``"auto"``: CUDA, then MPS, then CPU).
    weights_path : str or path-like, default=None
        FID Inception weights; when None they are searched for (argument,
        ``SKGAN_INCEPTION_WEIGHTS``, torch hub cache) and downloaded if missing.
    verbose : int, default=0
        When > 0, print progress to standard output: a line every few
        seconds while features are extracted and neighbours searched (and one
        per phase of an audit), with the time elapsed and an estimate of the
        time left."""


def fill_doc(func):
    """Put the shared parameter descriptions where a docstring says {common}."""
    if func.__doc__:
        func.__doc__ = func.__doc__.replace("{common}", _COMMON_PARAMS)
    return func
