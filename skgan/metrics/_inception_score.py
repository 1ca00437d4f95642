"""Inception Score (Salimans et al. 2016)."""

import numpy as np
from scipy.special import log_softmax, logsumexp

from ._common import check_features, check_int
from ._features import with_extractor

__all__ = ["inception_score"]


def _split_score(logits):
    log_p = log_softmax(logits, axis=1)
    log_marginal = logsumexp(log_p, axis=0) - np.log(len(log_p))
    kl = np.sum(np.exp(log_p) * (log_p - log_marginal), axis=1)
    return float(np.exp(np.mean(kl)))


@with_extractor
def inception_score(
    images,
    *,
    n_splits=10,
    ex,
):
    """Inception Score: ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over splits.

    As in the original code, the class probabilities are the softmax of the
    Inception classifier's 1008 logits without their bias, the images are cut
    into ``n_splits`` consecutive splits, and the score of each split uses that
    split's marginal ``p(y)``. Computed in float64 from log-probabilities.

    Parameters
    ----------
    images : array-like
        Images (``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``), or, with
        ``feature_extractor=None``, a 2-D matrix of class *logits*
        ``(n_samples, n_classes)``. A custom extractor must return logits too.
    n_splits : int, default=10
        Number of splits; at most the number of images.
    {common}

    Returns
    -------
    mean : float
        Between 1 and the number of classes; higher is better.
    std : float
        Standard deviation over the splits (``ddof=0``).

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import inception_score
    >>> logits = 50.0 * np.eye(10)[np.arange(100) % 10]  # confident, balanced
    >>> mean, std = inception_score(logits, feature_extractor=None)
    >>> round(mean, 6), round(std, 6)
    (10.0, 0.0)
    """
    n_splits = check_int(n_splits, "n_splits")
    prepared = ex.prepare(images, "images")
    if n_splits > len(prepared):
        raise ValueError(
            f"n_splits={n_splits} is larger than the number of images "
            f"({len(prepared)})."
        )
    logits = ex.features(prepared, output="logits_unbiased")
    logits = check_features(logits, name="logits").astype(np.float64)
    n = len(logits)
    scores = [
        _split_score(logits[i * n // n_splits : (i + 1) * n // n_splits])
        for i in range(n_splits)
    ]
    return float(np.mean(scores)), float(np.std(scores))
