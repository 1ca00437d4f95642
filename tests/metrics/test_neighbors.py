"""Precision/recall and density/coverage: prdc, brute force, ties, memory."""

import contextlib
import io
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skgan.metrics import density_coverage, precision_recall
from skgan.metrics._neighbors import kth_neighbor_sq_distances


def brute_force(real, fake, k):
    """All four metrics from full distance matrices, ties inside (<=)."""
    real, fake = real.astype(np.float64), fake.astype(np.float64)

    def sq(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)

    def radii(a):
        d = sq(a, a)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]

    r_real, r_fake, d = radii(real), radii(fake), sq(real, fake)
    inside_real = d <= r_real[:, None]
    return {
        "precision": inside_real.any(axis=0).mean(),
        "recall": (d <= r_fake[None, :]).any(axis=1).mean(),
        "density": inside_real.sum(axis=0).mean() / k,
        "coverage": inside_real.any(axis=1).mean(),
    }


def all_four(real, fake, k, block_size=1024):
    p, r = precision_recall(
        real, fake, k=k, feature_extractor=None, block_size=block_size
    )
    d, c = density_coverage(
        real, fake, k=k, feature_extractor=None, block_size=block_size
    )
    return {"precision": p, "recall": r, "density": d, "coverage": c}


def test_matches_prdc_package_without_ties():
    prdc = pytest.importorskip("prdc")
    rng = np.random.default_rng(0)
    cases = [(400, 300, 16, 3), (300, 500, 64, 5), (50, 60, 2, 1)]
    for n_real, n_fake, dim, k in cases:
        real = rng.normal(size=(n_real, dim)).astype(np.float32)
        fake = (rng.normal(size=(n_fake, dim)) * 1.3 + 0.3).astype(np.float32)
        with contextlib.redirect_stdout(io.StringIO()):
            expected = prdc.compute_prdc(real, fake, nearest_k=k)
        got = all_four(real, fake, k, block_size=128)
        for key in expected:
            assert got[key] == pytest.approx(expected[key], abs=1e-12), key


@settings(max_examples=40, deadline=None)
@given(
    real=hnp.arrays(
        np.int8,
        st.tuples(st.integers(2, 25), st.integers(1, 3)),
        elements=st.integers(-3, 3),
    ),
    fake=hnp.arrays(
        np.int8,
        st.tuples(st.integers(2, 25), st.integers(1, 3)),
        elements=st.integers(-3, 3),
    ),
    k=st.integers(1, 4),
    block=st.integers(1, 9),
)
def test_matches_brute_force_with_many_ties(real, fake, k, block):
    # Small integers: exact arithmetic, many equal distances and duplicates.
    dim = min(real.shape[1], fake.shape[1])
    real, fake = real[:, :dim], fake[:, :dim]
    k = min(k, len(real) - 1, len(fake) - 1)
    got = all_four(real, fake, k, block_size=block)
    expected = brute_force(real, fake, k)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    dim=st.integers(1, 20),
    k=st.integers(1, 5),
    dup=st.integers(0, 10),
    block=st.integers(1, 70),
)
def test_identical_sets_give_one(seed, n, dim, k, dup, block):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)) * rng.uniform(0.01, 100)
    x = np.concatenate([x, x[rng.integers(0, n, dup)]])  # exact duplicates too
    k = min(k, len(x) - 1)
    got = all_four(x, x.copy(), k, block_size=block)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0
    assert got["density"] >= 1.0


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 40),
    dtype=st.sampled_from([np.float32, np.float64]),
    k=st.integers(1, 6),
)
def test_random_floats_match_brute_force(seed, dim, dtype, k):
    rng = np.random.default_rng(seed)
    real = (rng.normal(size=(70, dim)) * 3 + 100).astype(dtype)  # large offset
    fake = (rng.normal(size=(55, dim)) * 3 + 100.5).astype(dtype)
    got = all_four(real, fake, k, block_size=16)
    expected = brute_force(real, fake, k)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key


def test_kth_neighbor_radii_match_sorting():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 7))
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    for k in (1, 3, 10, 299):
        got = kth_neighbor_sq_distances(x, k, block_size=37)
        np.testing.assert_allclose(got, np.sort(d, axis=1)[:, k - 1], rtol=1e-13)


def test_known_configuration_on_a_line():
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    fake = np.array([[0.5], [2.5], [5.0], [11.0]])
    # k=1 real radii: 1, 1, 1, 8 -> balls [-1,1], [0,2], [1,3], [2,18].
    precision, recall = precision_recall(real, fake, k=1, feature_extractor=None)
    assert precision == 1.0  # 0.5, 2.5, 5.0, 11.0 are all in some ball
    # fake radii (k=1): 2, 2, 2.5, 6 -> reals 0, 1, 2 and 10 in some ball.
    assert recall == 1.0
    density, coverage = density_coverage(real, fake, k=1, feature_extractor=None)
    # counts per fake: 0.5 -> 2 balls, 2.5 -> 2, 5.0 -> 1, 11.0 -> 1.
    assert density == pytest.approx(6 / 4)
    assert coverage == 1.0


def test_memory_is_blockwise_not_quadratic():
    rng = np.random.default_rng(2)
    n = 4000
    real = rng.normal(size=(n, 2)).astype(np.float32)
    fake = rng.normal(size=(n, 2)).astype(np.float32)
    tracemalloc.start()
    try:
        precision_recall(real, fake, feature_extractor=None, block_size=400)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n_by_n = n * n * 8  # one float64 n x n matrix: 128 MB
    assert peak < n_by_n / 10, peak


@pytest.mark.parametrize("func", [precision_recall, density_coverage])
def test_k_must_be_smaller_than_sample_count(func):
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="k=3 must be smaller"):
        func(x, np.ones((10, 2)), k=3, feature_extractor=None)


def test_recall_needs_k_fake_neighbours_but_coverage_does_not():
    real, fake = np.random.default_rng(3).normal(size=(10, 2)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="fake samples"):
        precision_recall(real, fake, k=3, feature_extractor=None)
    density_coverage(real, fake, k=3, feature_extractor=None)


@pytest.mark.parametrize("k", [0, -1, 2.0, True])
def test_bad_k(k):
    x = np.zeros((5, 2))
    with pytest.raises((ValueError, TypeError), match="k must"):
        precision_recall(x, x, k=k, feature_extractor=None)


@settings(max_examples=40, deadline=None)
@given(
    real=st.lists(st.integers(-6, 6), min_size=3, max_size=20),
    fake=st.lists(st.integers(-6, 6), min_size=3, max_size=20),
    k=st.integers(1, 2),
)
def test_ties_far_from_the_origin_are_decided_exactly(real, fake, k):
    # At |x| ~ 1e6 the expansion |x|^2 + |y|^2 - 2xy has an absolute error far
    # above the squared distances (~1e-6): every decision must be re-made with
    # the direct formula. In 1-D, (x - y)^2 is exact here, ties are frequent.
    offset = 1e6
    real = offset + 1e-3 * np.array(real, dtype=np.float64)[:, None]
    fake = offset + 1e-3 * np.array(fake, dtype=np.float64)[:, None]
    got = all_four(real, fake, k, block_size=4)
    expected = brute_force(real, fake, k)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key


def test_progress_is_printed_when_verbose(capsys):
    x = np.random.default_rng(5).normal(size=(40, 3))
    precision_recall(x, x + 0.1, feature_extractor=None, block_size=10, verbose=1)
    out = capsys.readouterr().out
    assert "[3-NN radii] 4/4 row blocks, elapsed " in out
    assert "[real-fake distances] 4/4 row blocks, elapsed " in out
    assert all(line.endswith(", done") for line in out.splitlines())
    precision_recall(x, x + 0.1, feature_extractor=None, block_size=10)
    assert capsys.readouterr() == ("", "")
