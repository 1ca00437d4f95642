"""Mean/covariance statistics of a feature set, reusable as a FID reference."""

import os
from dataclasses import dataclass

import numpy as np

from ._common import check_features, check_int

__all__ = ["FeatureStatistics", "check_magnitude", "feature_statistics"]

_FORMAT_VERSION = 1


def _frozen_float64(value, name, ndim):
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class FeatureStatistics:
    """Mean and covariance of a feature set: what the Fréchet distance needs.

    Compute them once for a reference (real) set with
    :func:`compute_reference_statistics` or :func:`feature_statistics`, save them
    with :meth:`save`, and pass them instead of ``real`` to
    :func:`frechet_inception_distance` or :func:`frechet_distance`.

    Parameters
    ----------
    mean : array-like of shape (n_features,)
        Mean feature vector.
    cov : array-like of shape (n_features, n_features)
        Covariance matrix (unbiased, ``ddof=1``). It must be symmetric up to
        rounding (it is symmetrised) and positive semi-definite.
    n_samples : int, default=None
        Number of samples the statistics were computed from, if known; used to
        warn when it is smaller than ``n_features``.

    Attributes
    ----------
    n_features : int
        Dimension of the features.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import FeatureStatistics, frechet_distance
    >>> a = FeatureStatistics(np.zeros(2), np.eye(2))
    >>> b = FeatureStatistics(np.ones(2), 4 * np.eye(2))
    >>> round(frechet_distance(a, b), 6)  # |1|^2*2 + (1 - 2)^2 * 2
    4.0
    """

    mean: np.ndarray
    cov: np.ndarray
    n_samples: int | None = None

    def __post_init__(self):
        mean = _frozen_float64(self.mean, "mean", 1)
        cov = _frozen_float64(self.cov, "cov", 2)
        d = mean.shape[0]
        if cov.shape != (d, d):
            raise ValueError(
                f"cov must have shape ({d}, {d}) to match mean, got {cov.shape}."
            )
        scale = float(np.max(np.abs(cov)))
        if not np.allclose(cov, cov.T, rtol=1e-6, atol=1e-9 * scale):
            raise ValueError("cov is not symmetric.")
        cov = (cov + cov.T) / 2
        cov.setflags(write=False)
        n = self.n_samples
        if n is not None:
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"n_samples must be an int or None, got {n!r}.")
            if n < 2:
                raise ValueError(f"n_samples must be >= 2, got {n}.")
            n = int(n)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "n_samples", n)

    @property
    def n_features(self):
        return self.mean.shape[0]

    def __repr__(self):
        return (
            f"FeatureStatistics(n_features={self.n_features}, "
            f"n_samples={self.n_samples})"
        )

    def save(self, path):
        """Save to a NumPy ``.npz`` file (no pickle).

        Parameters
        ----------
        path : str or path-like
            Destination; NumPy appends ``.npz`` if it is missing.
        """
        arrays = {
            "mean": self.mean,
            "cov": self.cov,
            "format_version": np.array(_FORMAT_VERSION),
        }
        if self.n_samples is not None:
            arrays["n_samples"] = np.array(self.n_samples, dtype=np.int64)
        np.savez(os.fspath(path), **arrays)

    @classmethod
    def load(cls, path):
        """Load statistics written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            An ``.npz`` file with arrays ``mean`` and ``cov`` (and optionally
            ``n_samples``), e.g. from :meth:`save`.

        Returns
        -------
        stats : FeatureStatistics
        """
        try:
            archive = np.load(os.fspath(path), allow_pickle=False)
        except (ValueError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(
                f"Cannot read {path} as FeatureStatistics (an .npz file written by "
                f"FeatureStatistics.save): {type(exc).__name__}."
            ) from exc
        with archive as data:
            missing = {"mean", "cov"} - set(data.files)
            if missing:
                raise ValueError(
                    f"{path} is not a FeatureStatistics file: it lacks "
                    f"{sorted(missing)} (it has {sorted(data.files)})."
                )
            n = int(data["n_samples"]) if "n_samples" in data.files else None
            return cls(data["mean"], data["cov"], n)


def check_magnitude(X, name):
    """Refuse features so large that their covariance overflows float64.

    Every centred value is at most ``2 * max|x|``, so the sums of products
    behind the covariance stay finite when ``n * (2 * max|x|)**2`` does.
    """
    largest = float(np.max(np.abs(X))) if X.size else 0.0
    limit = np.sqrt(np.finfo(np.float64).max / (4.0 * max(X.shape[0], 1)))
    if largest > limit:
        raise ValueError(
            f"{name} are too large: their covariance overflows float64 (largest "
            f"absolute value {largest:.3g}; at most {limit:.3g} is safe for "
            f"{X.shape[0]} samples). Rescale them, e.g. divide by {largest:.3g}."
        )
    return X


def feature_statistics(features, *, block_size=4096):
    """Mean and unbiased covariance of a feature matrix, accumulated in float64.

    The matrix is read in blocks of rows, so a float32 matrix is never copied to
    float64 whole.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        At least two samples.
    block_size : int, default=4096
        Rows converted to float64 at a time.

    Returns
    -------
    stats : FeatureStatistics
    """
    block_size = check_int(block_size, "block_size")
    X = check_magnitude(
        check_features(features, name="features", min_samples=2), "features"
    )
    n, d = X.shape
    total = np.zeros(d)
    for start in range(0, n, block_size):
        total += X[start : start + block_size].sum(axis=0, dtype=np.float64)
    mean = total / n
    cov = np.zeros((d, d))
    for start in range(0, n, block_size):
        block = X[start : start + block_size].astype(np.float64) - mean
        cov += block.T @ block
    cov /= n - 1
    return FeatureStatistics(mean, cov, n)
