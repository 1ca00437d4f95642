"""Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel."""

import warnings

import numpy as np
from sklearn.utils import check_random_state

from ._common import (
    SmallSampleWarning,
    check_features,
    check_int,
    check_same_width,
)
from ._features import with_extractor

__all__ = ["kernel_inception_distance", "mmd2_unbiased"]


#: Mean squared feature norm per dimension above which KID warns. The kernel
#: ``(x.y / d + 1)^3`` is scaled for features of order one (Inception pool
#: features: about 0.1 to 1); at 100 its cubic term outweighs the constant a
#: million-fold and KID grows as the sixth power of the features' scale.
SCALE_LIMIT = 100.0


def _warn_feature_scale(real, fake):
    """Warn when the features are far too large for the polynomial kernel."""
    d = real.shape[1]
    scale = max(
        float(np.mean(np.einsum("ij,ij->i", X, X, dtype=np.float64))) / d
        for X in (real, fake)
    )
    if scale > SCALE_LIMIT:
        warnings.warn(
            f"The features' mean squared value is {scale:.3g}, far above the "
            "scale of about 1 that KID's kernel (x.y / d + 1)^3 is made for, so "
            "the KID is dominated by the features' magnitude (it grows as its "
            "sixth power) and cannot be compared with other KIDs. Scale the "
            "features first: e.g. PCA(whiten=True) or StandardScaler() fitted on "
            "real features, or pixels mapped to [-1, 1].",
            UserWarning,
            stacklevel=3,
        )


def _poly_kernel(A, B):
    return (A @ B.T / A.shape[1] + 1.0) ** 3


def mmd2_unbiased(X, Y):
    """Unbiased MMD^2 between two samples with the kernel ``(x.y / d + 1)^3``.

    Parameters
    ----------
    X : ndarray of shape (m, d)
    Y : ndarray of shape (n, d)
        At least two rows each.

    Returns
    -------
    mmd2 : float
        ``mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j) - 2 mean k(x_i, y_j)``;
        can be slightly negative (the estimator is unbiased).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m, n = X.shape[0], Y.shape[0]
    kxx, kyy, kxy = _poly_kernel(X, X), _poly_kernel(Y, Y), _poly_kernel(X, Y)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


@with_extractor
def kernel_inception_distance(
    real,
    fake,
    *,
    n_subsets=100,
    subset_size=1000,
    random_state=0,
    ex,
):
    """Kernel Inception Distance (KID, Bińkowski et al. 2018).

    The unbiased MMD^2 between real and fake features with the polynomial kernel
    ``k(x, y) = (x.y / d + 1)^3``, averaged over ``n_subsets`` random subsets of
    ``subset_size`` real and ``subset_size`` fake samples (drawn without
    replacement), in float64.

    Parameters
    ----------
    real, fake : array-like
        Images (``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``), or 2-D feature
        matrices when ``feature_extractor=None``; at least two each.
    n_subsets : int, default=100
        Number of subsets.
    subset_size : int, default=1000
        Samples per subset and side. If a set is smaller, the size shrinks to the
        smaller set's size with a :class:`SmallSampleWarning`.
    random_state : int, RandomState instance or None, default=0
        Seed of the subset draws; the default makes results reproducible.
    {common}

    Returns
    -------
    mean : float
        Mean of the subset estimates (lower is better; can be slightly negative).
    std : float
        Their standard deviation (``ddof=0``).

    Warns
    -----
    UserWarning
        When the features' mean squared value per dimension exceeds 100 (raw
        ``uint8`` pixels, or unwhitened PCA of them): the kernel is made for
        features of order one, such as Inception features, whitened PCA
        components or standardised features.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import kernel_inception_distance
    >>> rng = np.random.default_rng(0)
    >>> real, fake = rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 1
    >>> mean, std = kernel_inception_distance(
    ...     real, fake, feature_extractor=None, n_subsets=10, subset_size=100)
    >>> mean > 0.1
    True
    """
    n_subsets = check_int(n_subsets, "n_subsets")
    subset_size = check_int(subset_size, "subset_size", minimum=2)
    rng = check_random_state(random_state)
    real = ex.prepare(real, "real", min_samples=2)
    fake = ex.prepare(fake, "fake", min_samples=2)
    if ex.kind == "none":
        check_same_width(real, fake, ("real", "fake"))
    smallest = min(len(real), len(fake))
    if smallest < subset_size:
        warnings.warn(
            f"subset_size={subset_size} is larger than the smaller set "
            f"({smallest} samples); using subsets of {smallest}. KID from "
            "different subset sizes is not comparable.",
            SmallSampleWarning,
            stacklevel=2,
        )
        subset_size = smallest
    real, fake = ex.features(real), ex.features(fake)
    if ex.kind != "none":
        real = check_features(real, name="real features")
        fake = check_features(fake, name="fake features")
        check_same_width(real, fake, ("real features", "fake features"))
    _warn_feature_scale(real, fake)
    scores = np.empty(n_subsets)
    for s in range(n_subsets):
        x = real[rng.choice(len(real), subset_size, replace=False)]
        y = fake[rng.choice(len(fake), subset_size, replace=False)]
        scores[s] = mmd2_unbiased(x, y)
    return float(np.mean(scores)), float(np.std(scores))
