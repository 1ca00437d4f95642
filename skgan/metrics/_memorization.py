"""Memorization tests: nearest training samples, copy fraction, data-copying Z.

A generator that memorizes returns training images or small variations of
them: its samples lie closer to the training set than new images from the same
distribution do. Both tests here compare the distances from synthetic samples
to their nearest training sample with those of held-out real samples:

* the copy fraction counts synthetic samples nearer than a low percentile of
  the held-out distances;
* the data-copying Z-score (Meehan et al. 2020, "A non-parametric test to
  detect data-copying in generative models") compares the two distributions
  of distances with a Mann-Whitney U test in each cell of a k-means partition
  of the training set.
"""

import numbers
import warnings

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.cluster import KMeans
from sklearn.utils import Bunch, check_random_state

from ..utils._progress import ProgressReporter
from ._common import SmallSampleWarning, check_features, check_int, check_same_width
from ._features import with_extractor
from ._neighbors import kth_neighbor_sq_distances, nearest_sq_distances

__all__ = ["memorization", "nearest_neighbors"]


def nearest_neighbors(reference, query=None, *, block_size=1024):
    """Euclidean distance from each query row to its nearest reference row.

    Computed in tiles of ``block_size x block_size``, so memory stays
    O(block_size^2 + n) however large the sets are. Every near-tie is decided
    with the direct float64 formula ``sqrt(sum((x - y)**2))``: an exact
    duplicate is at distance exactly 0, and ties go to the smallest index.

    Parameters
    ----------
    reference : array-like of shape (n_reference, n_features)
        The set searched, e.g. training features or flattened training images
        (``X.reshape(len(X), -1)``).
    query : array-like of shape (n_query, n_features), default=None
        The points whose nearest reference row is wanted. ``None`` queries
        ``reference`` itself and skips each row's own entry, as
        scikit-learn's ``kneighbors(X=None)`` does: the distance to the
        nearest *other* row (0 for a row that has an exact duplicate).
    block_size : int, default=1024
        Rows and columns per distance tile; working memory is about
        ``4 * 8 * block_size**2`` bytes (32 MB at 1024) plus O(n).

    Returns
    -------
    distances : ndarray of shape (n_query,)
        Distance to the nearest reference row.
    indices : ndarray of shape (n_query,)
        Its row index in ``reference``.

    See Also
    --------
    memorization : Nearest-training-sample tests for synthetic data.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import nearest_neighbors
    >>> reference = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> distances, indices = nearest_neighbors(reference, [[3.0, 4.0], [1.0, 0.0]])
    >>> distances.tolist(), indices.tolist()
    ([0.0, 1.0], [1, 0])
    >>> nearest_neighbors([[0.0], [1.0], [3.0]])[0].tolist()  # each row's nearest other
    [1.0, 1.0, 2.0]
    """
    block_size = check_int(block_size, "block_size")
    sets = [("reference", reference)] + ([] if query is None else [("query", query)])
    for name, X in sets:
        if getattr(X, "ndim", 2) != 2:
            raise ValueError(
                f"{name} must be a 2-D feature matrix (n_samples, n_features), got "
                f"shape {X.shape}; flatten images first: X.reshape(len(X), -1)."
            )
    reference = check_features(reference, name="reference")
    if query is None:
        if reference.shape[0] < 2:
            raise ValueError(
                "nearest_neighbors(reference) without query needs at least 2 "
                f"rows (each row's nearest other row), got {reference.shape[0]}."
            )
    else:
        query = check_features(query, name="query")
        check_same_width(reference, query, ("reference", "query"))
    sq, index = nearest_sq_distances(reference, query, block_size)
    return np.sqrt(sq), index


def check_memorization_params(
    percentile, n_cells, min_cell_samples, block_size, random_state
):
    """Validate the memorization tests' parameters (before any work).

    Returns them as the keyword arguments of :func:`memorization_from_features`.
    """
    if isinstance(percentile, (bool, np.bool_)) or not isinstance(
        percentile, numbers.Real
    ):
        raise TypeError(f"percentile must be a number, got {percentile!r}.")
    if not 0 < percentile <= 100:
        raise ValueError(
            f"percentile must be in (0, 100], got {percentile}; 1.0 means the "
            "1st percentile of the held-out distances."
        )
    return {
        "percentile": float(percentile),
        "n_cells": check_int(n_cells, "n_cells"),
        "min_cell_samples": check_int(min_cell_samples, "min_cell_samples"),
        "block": check_int(block_size, "block_size"),
        "rng": check_random_state(random_state),
    }


def check_memorization_sizes(prepared, options):
    """Refuse set sizes with which the tests cannot run (before any work)."""
    if prepared["test"] is None:
        return
    n_cells, min_cell_samples = options["n_cells"], options["min_cell_samples"]
    if n_cells > len(prepared["train"]):
        raise ValueError(
            f"n_cells={n_cells} is larger than the number of training samples "
            f"({len(prepared['train'])}); each cell of the partition needs "
            "training samples."
        )
    if len(prepared["synthetic"]) < min_cell_samples:
        raise ValueError(
            f"The data-copying test needs at least min_cell_samples="
            f"{min_cell_samples} synthetic samples in a cell, but there are only "
            f"{len(prepared['synthetic'])} synthetic samples. Pass more samples "
            "or a smaller min_cell_samples."
        )


def prepare_sets(ex, sets):
    """Validate ``{name: (value, min_samples)}``; only ``test`` may be None."""
    prepared = {
        name: None
        if value is None and name == "test"
        else ex.prepare(value, name, min_samples)
        for name, (value, min_samples) in sets.items()
    }
    names = [name for name, value in prepared.items() if value is not None]
    if ex.kind == "none":
        for name in names[1:]:
            check_same_width(prepared[names[0]], prepared[name], (names[0], name))
    return prepared


def features_of(ex, prepared):
    """Features of each prepared set, computed once (None stays None)."""
    out = {}
    for name, value in prepared.items():
        if value is None or ex.kind == "none":
            out[name] = value
            continue
        out[name] = check_features(ex.features(value), name=f"{name} features")
        first = next(iter(out))
        check_same_width(
            out[first], out[name], (f"{first} features", f"{name} features")
        )
    return out


def _mann_whitney_z(synthetic, test):
    """Z-score of the U statistic of ``synthetic`` against ``test`` distances.

    ``U`` counts the pairs in which the synthetic distance is the larger (ties
    count one half), so ``Z < 0`` when synthetic samples lie closer to the
    training set. Standardised under the null hypothesis, with the continuity
    correction and without a tie correction, as in the paper's code.
    """
    m, n = len(synthetic), len(test)
    u = mannwhitneyu(synthetic, test, alternative="less", method="asymptotic")
    return (u.statistic - (m * n / 2 - 0.5)) / np.sqrt(m * n * (m + n + 1) / 12)


def _data_copying_z(train, synthetic, test, n_cells, min_cell_samples, block, rng):
    """Meehan et al.'s C_T statistic, per-cell Z-scores and test shares."""
    kmeans = KMeans(n_clusters=n_cells, n_init="auto", random_state=rng).fit(train)
    cells = kmeans.labels_, kmeans.predict(synthetic), kmeans.predict(test)
    weights = np.bincount(cells[2], minlength=n_cells) / len(test)
    n_synthetic = np.bincount(cells[1], minlength=n_cells)
    cell_z = np.full(n_cells, np.nan)
    for c in range(n_cells):
        reference = train[cells[0] == c]
        if n_synthetic[c] < min_cell_samples or weights[c] == 0 or not len(reference):
            continue
        lq = nearest_sq_distances(reference, synthetic[cells[1] == c], block)[0]
        lp = nearest_sq_distances(reference, test[cells[2] == c], block)[0]
        cell_z[c] = _mann_whitney_z(np.sqrt(lq), np.sqrt(lp))
    used = ~np.isnan(cell_z)
    if not used.any():
        warnings.warn(
            f"No cell holds both test samples and at least min_cell_samples="
            f"{min_cell_samples} synthetic samples, so data_copying_z is NaN. "
            "Pass fewer n_cells or more samples.",
            SmallSampleWarning,
            stacklevel=3,
        )
        return float("nan"), cell_z, weights
    z = float(weights[used] @ cell_z[used] / weights[used].sum())
    return z, cell_z, weights


def memorization_from_features(
    feats, *, percentile, n_cells, min_cell_samples, block, rng, verbose
):
    """The memorization tests on validated feature matrices."""
    train, synthetic, test = feats["train"], feats["synthetic"], feats["test"]
    progress = ProgressReporter(
        "memorization", 2 if test is None else 3, verbose=verbose, unit="phases"
    )
    sq, nearest = nearest_sq_distances(train, synthetic, block, verbose)
    distances = np.sqrt(sq)
    progress.update(detail="nearest training sample of each synthetic sample")
    if test is None:
        held_out = np.sqrt(kth_neighbor_sq_distances(train, 1, block, verbose))
        progress.update(detail="leave-one-out distances of the training samples")
    else:
        held_out = np.sqrt(nearest_sq_distances(train, test, block, verbose)[0])
        progress.update(detail="nearest training sample of each test sample")
    threshold = float(np.percentile(held_out, percentile))
    z = cell_z = weights = None
    if test is not None:
        z, cell_z, weights = _data_copying_z(
            train, synthetic, test, n_cells, min_cell_samples, block, rng
        )
        progress.update(detail="data-copying Z-score")
    return Bunch(
        distances=distances,
        nearest=nearest,
        reference_distances=held_out,
        percentile=percentile,
        threshold=threshold,
        copy_fraction=float(np.mean(distances <= threshold)),
        data_copying_z=z,
        cell_z=cell_z,
        cell_weights=weights,
    )


@with_extractor
def memorization(
    train,
    synthetic,
    *,
    test=None,
    percentile=1.0,
    n_cells=10,
    min_cell_samples=20,
    block_size=1024,
    random_state=None,
    ex,
):
    """Test whether synthetic samples copy the training set.

    Finds each synthetic sample's nearest training sample and compares these
    distances with those of real samples the generator never saw (``test``).
    A sample counts as a copy when it is at least as close to the training set
    as the ``percentile``-th percentile of the held-out real samples are; new
    samples from the data distribution are copies in about ``percentile``
    percent of cases, exact copies always. With ``test``, Meehan et al.'s
    data-copying Z-score is computed too.

    Parameters
    ----------
    train : array-like
        The generator's training images (``(n, H*W*C)``, ``(n, H, W)`` or
        ``(n, H, W, C)``), or their 2-D feature matrix when
        ``feature_extractor=None``; at least two.
    synthetic : array-like
        Generated samples, in the same form.
    test : array-like, default=None
        Real samples from the same distribution that the generator was not
        trained on. Without it, the threshold comes from the training set's
        leave-one-out distances (each training sample to its nearest other
        training sample) and there is no Z-score.
    percentile : float, default=1.0
        Percentile (in ``(0, 100]``) of the held-out distances below which a
        synthetic sample counts as a copy.
    n_cells : int, default=10
        Cells of the k-means partition of the training features used by the
        Z-score.
    min_cell_samples : int, default=20
        Cells with fewer synthetic samples are left out of the Z-score, as in
        the paper (its threshold ``tau = 20 / m``, for ``m`` synthetic samples).
    block_size : int, default=1024
        Rows and columns per distance tile (see :func:`nearest_neighbors`).
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means partition.
    {common}

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With keys

        distances : ndarray of shape (n_synthetic,)
            Euclidean distance (in feature space) of each synthetic sample to
            its nearest training sample.
        nearest : ndarray of shape (n_synthetic,)
            Index of that training sample.
        reference_distances : ndarray
            The held-out distances: each test sample to its nearest training
            sample, or, without ``test``, each training sample to its nearest
            other training sample.
        percentile : float
            The ``percentile`` used.
        threshold : float
            That percentile of ``reference_distances``.
        copy_fraction : float
            Share of synthetic samples with ``distances <= threshold``.
        data_copying_z : float or None
            Meehan et al.'s ``C_T``: the per-cell Mann-Whitney Z-scores of
            synthetic against test distances (distances to the training
            samples of the same cell), averaged with the cells' shares of test
            samples as weights. About 0 (a standard normal) for a generator
            that does not copy; strongly negative (below -3, say) for one
            that copies; positive when samples are farther from the training
            set than real data (underfitting). NaN when no cell qualifies;
            None without ``test``.
        cell_z : ndarray of shape (n_cells,) or None
            The per-cell Z-scores (NaN for cells left out).
        cell_weights : ndarray of shape (n_cells,) or None
            Share of test samples in each cell.

    See Also
    --------
    nearest_neighbors : The nearest-neighbour search used here.
    synthetic_data_report : Fidelity, diversity, memorization and utility.

    Notes
    -----
    Nearest-neighbour distances between images in pixel space are weak
    evidence: a shifted copy is far in pixels, two unrelated images of a
    uniform background are near. Use a feature space suited to the images.
    Without ``test`` the leave-one-out distances come from ``n - 1`` training
    samples, so the threshold is slightly larger than with a held-out set.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import memorization
    >>> rng = np.random.default_rng(0)
    >>> train, test = rng.normal(size=(500, 5)), rng.normal(size=(500, 5))
    >>> copies = memorization(train, train[:200], test=test,
    ...                       feature_extractor=None, random_state=0)
    >>> copies.copy_fraction, bool(copies.data_copying_z < -3)
    (1.0, True)
    """
    options = check_memorization_params(
        percentile, n_cells, min_cell_samples, block_size, random_state
    )
    sets = {"train": (train, 2), "synthetic": (synthetic, 1), "test": (test, 1)}
    prepared = prepare_sets(ex, sets)
    check_memorization_sizes(prepared, options)
    feats = features_of(ex, prepared)
    return memorization_from_features(feats, verbose=ex.verbose, **options)
