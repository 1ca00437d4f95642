"""How a DCGANEstimator reads image arrays: validation and batches, without copies.

Training data is kept as the user gave it (uint8, float, a ``numpy.memmap``
larger than memory). Validation reads it a block of rows at a time
(:func:`skgan.utils._validation.value_range`), and training converts one batch at a
time (:class:`skgan.nn.data.ScaledImages`), so memory grows with the batch
size, not with the data.
"""

from __future__ import annotations

from sklearn.utils.validation import validate_data

from ..nn.data import ScaledImages
from ..utils._validation import infer_layout, precheck_images, value_range

__all__ = ["training_images", "validate_images"]


def validate_images(est, X, *, reset):
    """Validate ``X`` for ``est`` without copying it.

    scikit-learn's checks (``n_features_in_``, at least two samples, numeric
    dtype) run on ``X`` as it is; the finiteness check that would allocate is
    left to :func:`value_range`, which also finds the value range in the same
    pass.

    Returns
    -------
    X : ndarray
        ``X`` as an array (a memmap's data is not read or copied).
    layout : ImageLayout
        Inferred from ``X`` when ``reset``, else the fitted one (checked).
    values : tuple of float
        ``(min, max)`` of ``X``.
    """
    X = precheck_images(X)
    X = validate_data(
        est,
        X,
        reset=reset,
        dtype="numeric",
        allow_nd=True,
        ensure_min_samples=2,
        ensure_all_finite=False,
    )
    values = value_range(X)
    if reset:
        layout = infer_layout(X, est.image_shape, values=values)
    else:
        layout = est.image_layout_
        layout.check(X)
    return X, layout, values


def training_images(est, X, memory_format):
    """``X`` as the batches the torch loop trains on, in ``est``'s fitted range."""
    layout = est.image_layout_
    return ScaledImages(
        X,
        image_shape=layout.image_shape,
        low=layout.data_min,
        high=layout.data_max,
        device=est.device_,
        memory_format=memory_format,
    )
