"""Blockwise k-NN engine: precision/recall and density/coverage.

Never builds an ``n x n`` matrix: distances are computed in tiles of
``block_size x block_size`` and reduced on the fly (a running pool of k-nearest
candidates per row, counts per column), so memory is O(block_size^2 + n).

Exactness. Squared distances come from the fast expansion
``|x|^2 + |y|^2 - 2 x.y`` (one matrix product per tile, in float64), whose
rounding error is bounded by ``tol * (|x|^2 + |y|^2)``. Every decision (is this
among the k nearest? is ``d(x, y) <= r``?) that the bound leaves open is re-decided
with the direct formula ``sum((x - y)^2)`` in float64. Results are therefore those
of the direct formula: duplicates are at distance exactly 0, ties count as inside
(``<=``), and nothing depends on the BLAS's summation order.
"""

import numpy as np

from ..utils._progress import ProgressReporter
from ._common import check_features, check_int, check_same_width
from ._features import with_extractor

__all__ = ["density_coverage", "precision_recall"]

_EPS = np.finfo(np.float64).eps
_EXACT_CHUNK = 1 << 20  # values per chunk in the direct formula


class _Engine:
    """Tiled squared distances between the rows of ``X`` and ``Y``."""

    def __init__(self, X, Y, block_size, verbose=0):
        self.X, self.Y, self.block, self.verbose = X, Y, block_size, verbose
        self.nx, self.ny = self._sq_norms(X), self._sq_norms(Y)
        d = X.shape[1]
        # |computed - direct| <= (4d + 5) eps (|x|^2 + |y|^2); doubled for margin.
        self.tol = 2 * (4 * d + 8) * _EPS

    def _sq_norms(self, A):
        out = np.empty(A.shape[0])
        for s in range(0, A.shape[0], self.block):
            B = A[s : s + self.block].astype(np.float64)
            out[s : s + self.block] = np.einsum("ij,ij->i", B, B)
        return out

    def blocks(self, n):
        return [(s, min(s + self.block, n)) for s in range(0, n, self.block)]

    def bounds(self, r0, r1, Xb, c0, c1):
        """Lower and upper bounds of the direct squared distances of a tile."""
        Yt = self.Y[c0:c1].astype(np.float64)
        A = Xb @ Yt.T
        A *= -2.0
        S = self.nx[r0:r1, None] + self.ny[None, c0:c1]
        A += S
        S *= self.tol
        lo = A - S
        A += S
        return lo, A

    def exact(self, i, j):
        """Direct ``sum((X[i] - Y[j])**2)`` in float64, in bounded chunks."""
        out = np.empty(len(i))
        step = max(1, _EXACT_CHUNK // self.X.shape[1])
        for s in range(0, len(i), step):
            diff = self.X[i[s : s + step]].astype(np.float64) - self.Y[j[s : s + step]]
            out[s : s + step] = np.einsum("ij,ij->i", diff, diff)
        return out

    def progress(self, what, total):
        """A reporter of ``total`` row blocks: a line at most every 2 s, and
        at the end (nothing for a single block)."""
        return ProgressReporter(
            what,
            total,
            verbose=self.verbose if total > 1 else 0,
            unit="row blocks",
            min_interval=2.0,
        )


def _kth_smallest(values, k):
    return np.partition(values, k - 1, axis=1)[:, k - 1]


def _compact(mask, *arrays):
    """Move each row's masked entries of ``arrays`` to the front (inf padding)."""
    r, c = np.nonzero(mask)
    counts = np.bincount(r, minlength=mask.shape[0])
    pos = np.arange(len(r)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = int(counts.max()) if len(r) else 0
    out = []
    for arr, fill in arrays:
        new = np.full((mask.shape[0], width), fill, dtype=arr.dtype)
        new[r, pos] = arr[r, c]
        out.append(new)
    return out


class _Pool:
    """Candidates for the k nearest neighbours of a block of rows.

    Holds, per row, the bounds and column indices of every entry that may still
    be among the k nearest, padded with ``inf``.
    """

    def __init__(self, rows, k):
        self.k = k
        self.lo = self.hi = np.empty((rows, 0))
        self.j = np.empty((rows, 0), dtype=np.intp)

    def add(self, lo, hi, cols):
        j = np.broadcast_to(cols, lo.shape)
        k = self.k
        if self.lo.shape[1] >= k:  # drop what cannot be among the k nearest
            bound = _kth_smallest(self.hi, k)
            lo, hi, j = _compact(
                lo <= bound[:, None], (lo, np.inf), (hi, np.inf), (j, 0)
            )
        self.lo = np.hstack([self.lo, lo])
        self.hi = np.hstack([self.hi, hi])
        self.j = np.hstack([self.j, j])
        if self.lo.shape[1] > k:
            bound = _kth_smallest(self.hi, k)
            self.lo, self.hi, self.j = _compact(
                self.lo <= bound[:, None],
                (self.lo, np.inf),
                (self.hi, np.inf),
                (self.j, 0),
            )

    def kth(self, eng, r0):
        """Exact k-th smallest direct squared distance of each row."""
        bound = _kth_smallest(self.hi, self.k)
        r, c = np.nonzero(self.lo <= bound[:, None])
        exact = np.full(self.lo.shape, np.inf)
        exact[r, c] = eng.exact(r0 + r, self.j[r, c])
        return _kth_smallest(exact, self.k)

    def nearest(self, eng, r0):
        """Exact nearest squared distance and column of each row (k=1); ties
        go to the smallest column index."""
        bound = np.min(self.hi, axis=1)
        r, c = np.nonzero(self.lo <= bound[:, None])
        exact = eng.exact(r0 + r, self.j[r, c])
        order = np.lexsort((self.j[r, c], exact, r))  # by row, distance, index
        first = np.ones(len(order), dtype=bool)
        first[1:] = r[order][1:] != r[order][:-1]
        pick = order[first]
        return exact[pick], self.j[r[pick], c[pick]]


def nearest_sq_distances(reference, query, block_size=1024, verbose=0):
    """Exact squared distance and index of each query row's nearest reference row.

    With ``query=None`` the query is ``reference`` itself and each row's own
    entry is skipped: its nearest *other* row.
    """
    exclude_self = query is None
    if exclude_self:
        query = reference
    eng = _Engine(query, reference, block_size, verbose)
    sq = np.empty(query.shape[0])
    index = np.empty(query.shape[0], dtype=np.intp)
    blocks = eng.blocks(query.shape[0])
    progress = eng.progress("nearest neighbours", len(blocks))
    for r0, r1 in blocks:
        Xb = query[r0:r1].astype(np.float64)
        pool = _Pool(r1 - r0, 1)
        for c0, c1 in eng.blocks(reference.shape[0]):
            lo, hi = eng.bounds(r0, r1, Xb, c0, c1)
            if exclude_self and c0 == r0:  # the same block size on both sides
                own = np.arange(r1 - r0)
                lo[own, own] = np.inf
                hi[own, own] = np.inf
            pool.add(lo, hi, np.arange(c0, c1))
        sq[r0:r1], index[r0:r1] = pool.nearest(eng, r0)
        progress.update()
    return sq, index


def kth_neighbor_sq_distances(X, k, block_size=1024, verbose=0):
    """Squared distance from each row of ``X`` to its k-th nearest *other* row.

    Distances are symmetric, so only tiles on and above the block diagonal are
    computed: tile (I, J) feeds the candidate pools of both row blocks I and J.
    """
    eng = _Engine(X, X, block_size, verbose)
    n = X.shape[0]
    radii = np.empty(n)
    blocks = eng.blocks(n)
    pools = [_Pool(r1 - r0, k) for r0, r1 in blocks]
    progress = eng.progress(f"{k}-NN radii", len(blocks))
    for bi, (r0, r1) in enumerate(blocks):
        Xb = X[r0:r1].astype(np.float64)
        for bj in range(bi, len(blocks)):
            c0, c1 = blocks[bj]
            lo, hi = eng.bounds(r0, r1, Xb, c0, c1)
            if bi == bj:  # exclude each point from its own neighbours
                own = np.arange(r1 - r0)
                lo[own, own] = np.inf
                hi[own, own] = np.inf
            pools[bi].add(lo, hi, np.arange(c0, c1))
            if bi != bj:
                pools[bj].add(lo.T, hi.T, np.arange(r0, r1))
        # Every tile of row block bi has now been seen (those left of the
        # diagonal as transposes of earlier tiles).
        radii[r0:r1] = pools[bi].kth(eng, r0)
        pools[bi] = None
        progress.update()
    return radii


def _cross_counts(real, fake, real_radii, fake_radii, block_size, verbose=0):
    """Inside-ball statistics between real rows and fake columns.

    Returns ``counts`` (per fake point: real balls containing it),
    ``covered`` (per real point: some fake point in its ball) and ``recalled``
    (per real point: inside some fake ball; None without ``fake_radii``).
    """
    eng = _Engine(real, fake, block_size, verbose)
    counts = np.zeros(fake.shape[0], dtype=np.int64)
    covered = np.zeros(real.shape[0], dtype=bool)
    recalled = None if fake_radii is None else np.zeros(real.shape[0], dtype=bool)
    row_blocks = eng.blocks(real.shape[0])
    progress = eng.progress("real-fake distances", len(row_blocks))
    for r0, r1 in row_blocks:
        Xb = real[r0:r1].astype(np.float64)
        t_real = real_radii[r0:r1, None]
        for c0, c1 in eng.blocks(fake.shape[0]):
            lo, hi = eng.bounds(r0, r1, Xb, c0, c1)
            in_real = hi <= t_real
            open_ = (lo <= t_real) & ~in_real
            if recalled is not None:
                t_fake = fake_radii[None, c0:c1]
                in_fake = hi <= t_fake
                open_ |= (lo <= t_fake) & ~in_fake
            r, c = np.nonzero(open_)
            if len(r):
                exact = eng.exact(r0 + r, c0 + c)
                in_real[r, c] = exact <= real_radii[r0 + r]
                if recalled is not None:
                    in_fake[r, c] = exact <= fake_radii[c0 + c]
            counts[c0:c1] += in_real.sum(axis=0)
            covered[r0:r1] |= in_real.any(axis=1)
            if recalled is not None:
                recalled[r0:r1] |= in_fake.any(axis=1)
        progress.update()
    return counts, covered, recalled


def _prepare_pair(real, fake, k, block_size, ex, need_fake_k):
    k = check_int(k, "k")
    block_size = check_int(block_size, "block_size")
    real = ex.prepare(real, "real")
    fake = ex.prepare(fake, "fake")
    n_real, n_fake = len(real), len(fake)
    if k >= n_real:
        raise ValueError(
            f"k={k} must be smaller than the number of real samples ({n_real}): "
            "each real point needs k other real points to define its ball."
        )
    if need_fake_k and k >= n_fake:
        raise ValueError(
            f"k={k} must be smaller than the number of fake samples ({n_fake}): "
            "recall needs k other fake points around each fake point."
        )
    if ex.kind == "none":
        check_same_width(real, fake, ("real", "fake"))
    return real, fake, k, block_size


def _features_pair(real, fake, ex):
    real, fake = ex.features(real), ex.features(fake)
    if ex.kind != "none":
        real = check_features(real, name="real features")
        fake = check_features(fake, name="fake features")
        check_same_width(real, fake, ("real features", "fake features"))
    return real, fake


@with_extractor
def precision_recall(
    real,
    fake,
    *,
    k=3,
    block_size=1024,
    ex,
):
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Each real point gets a ball whose radius is the distance to its k-th nearest
    other real point. Precision is the share of fake points inside at least one
    real ball (fidelity); recall is the share of real points inside at least one
    fake ball, built the same way on the fake set (diversity). Points on a ball's
    boundary count as inside (``<=``), so identical sets give 1 and 1.

    Parameters
    ----------
    real, fake : array-like
        Images (``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``), or 2-D feature
        matrices when ``feature_extractor=None``. Each needs more than ``k``
        samples.
    k : int, default=3
        Neighbourhood size.
    block_size : int, default=1024
        Rows and columns per distance tile; working memory is about
        ``6 * 8 * block_size**2`` bytes (50 MB at 1024) plus O(n).
    {common}

    Returns
    -------
    precision : float
    recall : float

    Notes
    -----
    Matches the ``prdc`` package (which compares with ``<``) whenever no distance
    ties a radius, in O(block_size^2) memory instead of three ``n x n`` matrices.
    Distances come from a fast matrix-product expansion, and every comparison
    within its rounding error bound is re-decided with the direct float64
    formula ``sum((x - y)**2)``, so duplicates and ties are handled exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import precision_recall
    >>> x = np.random.default_rng(0).normal(size=(200, 5))
    >>> precision_recall(x, x, feature_extractor=None)
    (1.0, 1.0)
    """
    real, fake, k, block = _prepare_pair(real, fake, k, block_size, ex, True)
    real, fake = _features_pair(real, fake, ex)
    real_radii = kth_neighbor_sq_distances(real, k, block, ex.verbose)
    fake_radii = kth_neighbor_sq_distances(fake, k, block, ex.verbose)
    counts, _, recalled = _cross_counts(
        real, fake, real_radii, fake_radii, block, ex.verbose
    )
    return float(np.mean(counts > 0)), float(np.mean(recalled))


@with_extractor
def density_coverage(
    real,
    fake,
    *,
    k=5,
    block_size=1024,
    ex,
):
    """Density and coverage (Naeem et al., 2020).

    With the same real balls as :func:`precision_recall` (radius: distance to the
    k-th nearest other real point), density is the average number of real balls
    containing a fake point, divided by ``k`` (about 1 when fakes follow the real
    distribution; above 1 when they crowd dense regions); coverage is the share
    of real points whose ball contains at least one fake point. Boundary points
    count as inside (``<=``).

    Parameters
    ----------
    real, fake : array-like
        Images (``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``), or 2-D feature
        matrices when ``feature_extractor=None``. ``real`` needs more than ``k``
        samples.
    k : int, default=5
        Neighbourhood size.
    block_size : int, default=1024
        Rows and columns per distance tile.
    {common}

    Returns
    -------
    density : float
    coverage : float

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import density_coverage
    >>> x = np.random.default_rng(0).normal(size=(200, 5))
    >>> density_coverage(x, x, feature_extractor=None)[1]
    1.0
    """
    real, fake, k, block = _prepare_pair(real, fake, k, block_size, ex, False)
    real, fake = _features_pair(real, fake, ex)
    real_radii = kth_neighbor_sq_distances(real, k, block, ex.verbose)
    counts, covered, _ = _cross_counts(real, fake, real_radii, None, block, ex.verbose)
    return float(counts.sum() / (k * fake.shape[0])), float(np.mean(covered))
