"""Fréchet distance (FID) in float64, without ``scipy.linalg.sqrtm``.

For Gaussians ``N(mu1, S1)`` and ``N(mu2, S2)``::

    FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))

No complex matrix square root is formed. Two ways to get the trace term:

* fast path, for two comfortably positive-definite covariances: with the
  Cholesky factor ``S1 = L L^T``, the eigenvalues of ``S1 S2`` are those of the
  symmetric positive-definite ``L^T S2 L`` (real, positive); used when they all
  exceed ``1e-8`` times the largest, where their square roots are accurate;
* otherwise, write each covariance as ``S = R^T R`` with a factor ``R`` of shape
  ``(r, d)``: the eigenvalues of ``S1 S2`` are the squared singular values of
  ``R1 R2^T``, so the trace term is the nuclear norm (sum of singular values) of
  that small matrix, which is real and non-negative by construction and does not
  amplify rounding errors by a square root. The factor is
  ``(X - mean) / sqrt(n - 1)`` for a feature matrix with ``n <= d`` samples (the
  nuclear-norm form for rank-deficient sets), the transposed Cholesky factor for
  a positive-definite covariance, and ``sqrt(w) V^T`` from ``S = V diag(w) V^T``
  for a singular one, keeping the eigenvalues above the numerical-rank cut-off
  ``d * eps * max(w)`` (those below it, including rounding-level negative ones,
  are zero to working precision).

Statistics are accumulated in float64.
"""

import warnings

import numpy as np
import scipy.linalg

from ._common import SmallSampleWarning, check_features
from ._features import with_extractor
from ._statistics import FeatureStatistics, check_magnitude, feature_statistics

__all__ = [
    "compute_reference_statistics",
    "frechet_distance",
    "frechet_inception_distance",
]

TINY_SAMPLE = 10
_NOT_PSD_RTOL = 1e-6
_FAST_PATH_MIN_RATIO = 1e-8


def _warn_sample_size(n, d, name):
    if n is None:
        return
    if n <= d:
        warnings.warn(
            f"{name} has {n} samples for {d} feature dimensions: its covariance "
            f"has rank at most {n - 1}, and the Fréchet distance is strongly "
            "biased and not comparable with values from more samples (FID is "
            "usually reported with >= 10,000 samples).",
            SmallSampleWarning,
            stacklevel=4,
        )
    elif n < TINY_SAMPLE:
        warnings.warn(
            f"{name} has only {n} samples: the Fréchet distance is very noisy.",
            SmallSampleWarning,
            stacklevel=4,
        )


def _check_side(value, name):
    if isinstance(value, FeatureStatistics):
        return value
    return check_magnitude(check_features(value, name=name, min_samples=2), name)


class _Side:
    """Mean, trace and covariance factor of one feature set."""

    def __init__(self, value, name):
        if isinstance(value, FeatureStatistics):
            self.mean, self.n = value.mean, value.n_samples
            self.cov, self.rows = value.cov, None
        else:
            n, d = value.shape
            self.n = n
            if n <= d:
                self.mean = value.mean(axis=0, dtype=np.float64)
                self.rows = (value.astype(np.float64) - self.mean) / np.sqrt(n - 1)
                self.cov = None
            else:
                stats = feature_statistics(value)
                self.mean, self.cov, self.rows = stats.mean, stats.cov, None
        self.name = name

    @property
    def trace(self):
        if self.rows is not None:
            return float(np.einsum("ij,ij->", self.rows, self.rows))
        return float(np.trace(self.cov))

    def cholesky(self):
        """Lower Cholesky factor of the covariance if it is comfortably positive
        definite (smallest pivot far above rounding noise), else None."""
        if not hasattr(self, "_chol"):
            self._chol = None
            if self.cov is not None:
                try:
                    L = scipy.linalg.cholesky(self.cov, lower=True, check_finite=False)
                except np.linalg.LinAlgError:
                    L = None
                d = self.cov.shape[0]
                noise = d * np.finfo(np.float64).eps * np.max(np.diag(self.cov))
                if L is not None and np.min(np.diag(L)) ** 2 > 1e3 * noise:
                    self._chol = L
        return self._chol

    def factor(self):
        """``R`` with ``cov = R.T @ R``."""
        if self.rows is not None:
            return self.rows
        L = self.cholesky()
        if L is not None:
            return L.T
        d = self.cov.shape[0]
        w, V = scipy.linalg.eigh(self.cov, driver="evd", check_finite=False)
        top = max(float(w[-1]), 0.0)
        if w[0] < -_NOT_PSD_RTOL * top or (top == 0.0 and w[0] < 0):
            raise ValueError(
                f"The covariance of {self.name} is not positive semi-definite: "
                f"its smallest eigenvalue is {w[0]:.3g} (largest {w[-1]:.3g})."
            )
        keep = w > d * np.finfo(np.float64).eps * top
        return (V[:, keep] * np.sqrt(w[keep])).T


def _nuclear_norm(M):
    if M.size == 0:
        return 0.0
    try:
        s = scipy.linalg.svdvals(M, check_finite=False)
    except np.linalg.LinAlgError:  # gesdd did not converge: use gesvd
        s = scipy.linalg.svd(
            M, compute_uv=False, lapack_driver="gesvd", check_finite=False
        )
    return float(np.sum(s))


def _trace_sqrt_product(side1, side2):
    """``tr((S1 S2)^(1/2))``.

    Fast path, for two well-conditioned covariances: with ``S1 = L L^T``, the
    eigenvalues of ``S1 S2`` are those of the symmetric ``L^T S2 L``; accepted
    when all of them exceed ``_FAST_PATH_MIN_RATIO`` times the largest, where the
    square roots are accurate. Otherwise: the nuclear norm of ``R1 R2^T``, whose
    singular values carry no square-root amplification of rounding errors.
    """
    if side1.cov is not None and side2.cov is not None:
        L = side1.cholesky()
        if L is not None:
            M = L.T @ side2.cov @ L
            w = scipy.linalg.eigh((M + M.T) / 2, eigvals_only=True, check_finite=False)
            if w[-1] > 0 and w[0] > _FAST_PATH_MIN_RATIO * w[-1]:
                return float(np.sum(np.sqrt(w)))
    return _nuclear_norm(side1.factor() @ side2.factor().T)


def _frechet(a, b, names):
    side1, side2 = _Side(a, names[0]), _Side(b, names[1])
    diff = side1.mean - side2.mean
    mean_term = float(diff @ diff)
    tr1, tr2 = side1.trace, side2.trace
    cross = _trace_sqrt_product(side1, side2)
    value = mean_term + tr1 + tr2 - 2.0 * cross
    d = diff.shape[0]
    tol = 16 * d * np.finfo(np.float64).eps * (mean_term + tr1 + tr2)
    if value < 0:
        if value < -tol:
            warnings.warn(
                f"The Fréchet distance came out negative ({value:.3g}) beyond its "
                f"rounding error bound ({tol:.3g}); the covariances are probably "
                "ill-conditioned. 0.0 is returned.",
                RuntimeWarning,
                stacklevel=3,
            )
        value = 0.0
    return value


def _validate_pair(a, b, names):
    a, b = _check_side(a, names[0]), _check_side(b, names[1])
    width = (
        a.n_features if isinstance(a, FeatureStatistics) else a.shape[1],
        b.n_features if isinstance(b, FeatureStatistics) else b.shape[1],
    )
    if width[0] != width[1]:
        raise ValueError(
            f"{names[0]} has {width[0]} features per sample but {names[1]} has "
            f"{width[1]}; they must come from the same feature extractor."
        )
    return a, b, width[0]


def frechet_distance(features1, features2):
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``, computed in
    float64 as the nuclear norm of ``R1 R2^T`` for factors ``S = R^T R`` (see
    Notes): never complex or NaN, and never negative (a result below zero within
    its rounding error bound is returned as 0.0; one beyond it also warns).

    Parameters
    ----------
    features1, features2 : array-like of shape (n_samples, n_features) or \
FeatureStatistics
        Feature matrices (at least two rows each), or their statistics, e.g.
        ``FeatureStatistics(mean, cov)`` to use a given mean and covariance.

    Returns
    -------
    distance : float

    Warns
    -----
    SmallSampleWarning
        When a set has no more samples than feature dimensions (its covariance
        is singular), or fewer than 10.

    Notes
    -----
    ``tr((S1 S2)^(1/2))`` is the sum of the square roots of the eigenvalues of
    ``S1 S2``. For two well-conditioned covariances they are computed as the
    eigenvalues of the symmetric ``L^T S2 L`` (``S1 = L L^T``); otherwise the sum
    is the nuclear norm of ``R1 R2^T`` for factors ``S = R^T R``: the centred
    features over ``sqrt(n - 1)`` when ``n <= d``, else a Cholesky factor, or
    ``diag(sqrt(w)) V^T`` from ``eigh`` with eigenvalues below
    ``d * eps * max(w)`` treated as zero (numerical rank) for a singular
    covariance. ``scipy.linalg.sqrtm`` is not used.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import frechet_distance
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 4))
    >>> frechet_distance(x, x) < 1e-9
    True
    """
    a, b, d = _validate_pair(features1, features2, ("features1", "features2"))
    for value, name in ((a, "features1"), (b, "features2")):
        n = value.n_samples if isinstance(value, FeatureStatistics) else len(value)
        _warn_sample_size(n, d, name)
    return _frechet(a, b, ("features1", "features2"))


@with_extractor
def frechet_inception_distance(
    real,
    fake,
    *,
    ex,
):
    """Fréchet Inception Distance (FID) between real and generated images.

    Parameters
    ----------
    real : array-like of images or features, or FeatureStatistics
        Real images (``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``), their
        feature matrix when ``feature_extractor=None``, or precomputed reference
        statistics (:func:`compute_reference_statistics`).
    fake : array-like of images or features, or FeatureStatistics
        Generated images, in the same form.
    {common}

    Returns
    -------
    fid : float
        Lower is better; 0 for identical statistics.

    See Also
    --------
    frechet_distance : the same distance between two feature matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import frechet_inception_distance
    >>> rng = np.random.default_rng(0)
    >>> real, fake = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    >>> fid = frechet_inception_distance(real, fake, feature_extractor=None)
    >>> 0 < fid < 1
    True
    """
    names = ("real", "fake")
    prepared = [
        value
        if isinstance(value, FeatureStatistics)
        else ex.prepare(value, name, min_samples=2)
        for value, name in zip((real, fake), names)
    ]
    if ex.kind == "none":
        a, b, d = _validate_pair(*prepared, names)
    else:
        a, b = (
            value if isinstance(value, FeatureStatistics) else ex.features(value)
            for value in prepared
        )
        a, b, d = _validate_pair(a, b, names)
    for value, name in ((a, "real"), (b, "fake")):
        n = value.n_samples if isinstance(value, FeatureStatistics) else len(value)
        _warn_sample_size(n, d, name)
    return _frechet(a, b, names)


@with_extractor
def compute_reference_statistics(
    images,
    *,
    ex,
):
    """Feature statistics of a (real) image set, to reuse across FID calls.

    Parameters
    ----------
    images : array-like
        Images (``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``), or a feature
        matrix when ``feature_extractor=None``; at least two.
    {common}

    Returns
    -------
    stats : FeatureStatistics
        Save it with ``stats.save(path)``, load it with
        ``FeatureStatistics.load(path)``, pass it as ``real`` to
        :func:`frechet_inception_distance`.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import compute_reference_statistics
    >>> feats = np.random.default_rng(0).normal(size=(100, 3))
    >>> compute_reference_statistics(feats, feature_extractor=None)
    FeatureStatistics(n_features=3, n_samples=100)
    """
    return feature_statistics(ex.features(ex.prepare(images, "images", 2)))
