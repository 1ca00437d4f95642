"""Memorization tests against brute force (cdist), closed forms and the paper."""

import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator

from skgan.metrics import (
    SmallSampleWarning,
    extract_features,
    memorization,
    nearest_neighbors,
)

NONE = {"feature_extractor": None}


def gaussian_sets(seed, n_train=2000, n_test=1000, n_fresh=1000, d=8):
    rng = np.random.default_rng(seed)
    return rng, *(rng.normal(size=(n, d)) for n in (n_train, n_test, n_fresh))


def brute_force_c_t(train, synthetic, test, n_cells, seed, min_cell_samples=20):
    """Meehan et al.'s C_T from its definition: in-cell nearest distances by
    cdist, U by counting pairs, Z-scored with the paper code's correction."""
    km = KMeans(n_cells, n_init="auto", random_state=np.random.RandomState(seed))
    cells = km.fit(train).labels_, km.predict(synthetic), km.predict(test)
    total, weight = 0.0, 0.0
    for c in range(n_cells):
        ref = train[cells[0] == c]
        q = cdist(synthetic[cells[1] == c], ref).min(axis=1)
        p = cdist(test[cells[2] == c], ref).min(axis=1) if len(ref) else []
        m, n = len(q), len(p)
        if m < min_cell_samples or n == 0:
            continue
        u = np.sum(q[:, None] > p[None, :]) + 0.5 * np.sum(q[:, None] == p[None, :])
        z = (u - m * n / 2 + 0.5) / np.sqrt(m * n * (m + n + 1) / 12)
        total, weight = total + n / len(test) * z, weight + n / len(test)
    return total / weight


@settings(max_examples=60, deadline=None)
@given(
    n_ref=st.integers(1, 60),
    n_query=st.one_of(st.none(), st.integers(1, 40)),
    d=st.integers(1, 6),
    block=st.integers(1, 17),
    n_dup=st.integers(0, 5),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_nearest_neighbors_equals_brute_force(
    n_ref, n_query, d, block, n_dup, seed, dtype
):
    """With a query, its nearest reference rows; without (``n_query=None``),
    each reference row's nearest *other* row."""
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(n_ref, d)).astype(dtype)
    ref = np.concatenate([ref, ref[rng.integers(0, n_ref, n_dup)]])  # exact ties
    if n_query is None and len(ref) < 2:
        with pytest.raises(ValueError, match="at least 2 rows"):
            nearest_neighbors(ref, block_size=block)
        return
    if n_query is None:
        distances, indices = nearest_neighbors(ref, block_size=block)
        D = cdist(ref.astype(np.float64), ref.astype(np.float64))
        np.fill_diagonal(D, np.inf)
        duplicated = np.unique(ref, axis=0, return_counts=True)[1].max() > 1
        assert (distances.min() == 0.0) == duplicated
    else:
        query = np.concatenate(
            [rng.normal(size=(n_query, d)), ref[rng.integers(0, len(ref), 3)]]
        ).astype(dtype)
        distances, indices = nearest_neighbors(ref, query, block_size=block)
        D = cdist(query.astype(np.float64), ref.astype(np.float64))
        assert np.all(distances[-3:] == 0.0)
    np.testing.assert_allclose(distances, D.min(axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(indices, D.argmin(axis=1))  # ties: first index


def test_nearest_neighbors_without_query_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        nearest_neighbors(np.zeros((1, 3)))


def test_nearest_neighbors_memory_is_blockwise():
    rng = np.random.default_rng(0)
    ref, query = rng.normal(size=(10_000, 4)), rng.normal(size=(1_000, 4))
    tracemalloc.start()
    nearest_neighbors(ref, query, block_size=128)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak {peak / 1e6:.2f} MB")
    assert peak < 4e6  # the full 1,000 x 10,000 float64 matrix would be 80 MB


def test_copying_generator_is_flagged_with_the_closed_form_z():
    rng, train, test, _ = gaussian_sets(0)
    copies = train[rng.permutation(len(train))[:1000]]
    result = memorization(train, copies, test=test, random_state=0, **NONE)
    assert result.copy_fraction == 1.0
    np.testing.assert_array_equal(result.distances, 0.0)
    np.testing.assert_array_equal(train[result.nearest], copies)
    # Every synthetic in-cell distance is 0 < every test one: U = 0.
    km = KMeans(10, n_init="auto", random_state=np.random.RandomState(0)).fit(train)
    m = np.bincount(km.predict(copies), minlength=10)
    n = np.bincount(km.predict(test), minlength=10)
    closed = (0.5 - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
    np.testing.assert_allclose(result.cell_z, closed, rtol=1e-12)
    np.testing.assert_allclose(result.cell_weights, n / len(test))
    np.testing.assert_allclose(result.data_copying_z, closed @ (n / n.sum()))
    assert result.data_copying_z < -10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_independent_generator_matches_the_percentile_and_z_near_zero(seed):
    _, train, test, fresh = gaussian_sets(seed)
    result = memorization(train, fresh, test=test, random_state=seed, **NONE)
    # 1000 draws with success probability ~0.01: 4 standard deviations is 0.013.
    assert abs(result.copy_fraction - 0.01) < 0.013
    assert abs(result.data_copying_z) < 3
    expected = brute_force_c_t(train, fresh, test, 10, seed)
    np.testing.assert_allclose(result.data_copying_z, expected, rtol=1e-10)


def test_partial_copying_gives_the_copied_share():
    _, train, test, fresh = gaussian_sets(3)
    mix = np.concatenate([train[:800], fresh[:200]])
    result = memorization(train, mix, test=test, random_state=0, **NONE)
    assert 0.8 <= result.copy_fraction < 0.815  # 800 copies + ~1% of 200 fresh
    assert result.data_copying_z < -3


def test_threshold_is_the_percentile_of_brute_force_distances():
    _, train, test, fresh = gaussian_sets(4, n_train=300, n_test=200, n_fresh=150)
    result = memorization(train, fresh, test=test, percentile=5, random_state=0, **NONE)
    held_out = cdist(test, train).min(axis=1)
    np.testing.assert_allclose(result.reference_distances, held_out, rtol=1e-12)
    assert result.threshold == pytest.approx(np.percentile(held_out, 5), rel=1e-12)
    d = cdist(fresh, train).min(axis=1)
    assert result.copy_fraction == np.mean(d <= np.percentile(held_out, 5))


def test_without_test_the_threshold_is_leave_one_out():
    _, train, _, fresh = gaussian_sets(5, n_train=400, n_fresh=400)
    result = memorization(train, fresh, **NONE)
    D = cdist(train, train)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(result.reference_distances, D.min(axis=1))
    assert result.data_copying_z is None and result.cell_z is None
    assert memorization(train, train[:50], **NONE).copy_fraction == 1.0


def test_images_with_an_extractor_equal_the_feature_path():
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, size=(260, 8, 8), dtype=np.uint8)
    pca = FrozenEstimator(PCA(5, random_state=0).fit(images.reshape(260, -1)))
    train, synthetic, test = images[:120], images[120:200], images[200:]
    got = memorization(
        train, synthetic, test=test, feature_extractor=pca, n_cells=2, random_state=0
    )
    feats = [
        extract_features(x, feature_extractor=pca) for x in (train, synthetic, test)
    ]
    want = memorization(*feats[:2], test=feats[2], n_cells=2, random_state=0, **NONE)
    for key in ("distances", "nearest", "reference_distances", "cell_z"):
        np.testing.assert_array_equal(got[key], want[key])
    assert got.data_copying_z == want.data_copying_z


def test_no_qualifying_cell_warns_and_gives_nan():
    _, train, test, fresh = gaussian_sets(7, n_train=200, n_test=100, n_fresh=30)
    with pytest.warns(SmallSampleWarning, match="min_cell_samples=30"):
        result = memorization(
            train, fresh, test=test, min_cell_samples=30, random_state=0, **NONE
        )
    assert np.isnan(result.data_copying_z) and np.isnan(result.cell_z).all()


def _never_called(batch):
    raise AssertionError("the extractor ran before the inputs were validated")


IMAGES = np.zeros((30, 4, 4), dtype=np.uint8)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"percentile": 0}, ValueError, r"percentile must be in \(0, 100\]"),
        ({"percentile": 101}, ValueError, "percentile must be in"),
        ({"percentile": "1"}, TypeError, "percentile must be a number"),
        ({"percentile": True}, TypeError, "percentile must be a number"),
        ({"n_cells": 0}, ValueError, "n_cells must be >= 1"),
        ({"n_cells": 31, "test": IMAGES}, ValueError, "n_cells=31 is larger"),
        ({"min_cell_samples": 31, "test": IMAGES}, ValueError, "min_cell_samples=31"),
        ({"block_size": 0}, ValueError, "block_size must be >= 1"),
        ({"random_state": "seed"}, ValueError, "cannot be used to seed"),
        ({"test": np.full((3, 4, 4), np.nan)}, ValueError, "test"),
    ],
)
def test_bad_input_is_refused_before_any_work(kwargs, error, match):
    with pytest.raises(error, match=match):
        memorization(IMAGES, IMAGES, feature_extractor=_never_called, **kwargs)


def test_feature_width_mismatch_and_too_few_training_samples():
    with pytest.raises(ValueError, match="same feature extractor"):
        memorization(np.zeros((5, 3)), np.zeros((5, 4)), **NONE)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        memorization(np.zeros((1, 3)), np.zeros((5, 3)), **NONE)
    with pytest.raises(
        ValueError, match=r"query must be a 2-D feature matrix.*reshape"
    ):
        nearest_neighbors(np.zeros((5, 3)), np.zeros((5, 3, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nearest_neighbors(np.zeros((5, 3)), np.zeros((1, 3)))


def test_memorization_prints_one_line_per_phase_when_verbose(capsys):
    _, train, test, fresh = gaussian_sets(0, n_train=300, n_test=100, n_fresh=100)
    kwargs = dict(test=test, n_cells=2, random_state=0, block_size=50, **NONE)
    plain = memorization(train, fresh, **kwargs)
    assert capsys.readouterr() == ("", "")
    loud = memorization(train, fresh, verbose=1, **kwargs)
    assert loud.copy_fraction == plain.copy_fraction
    assert loud.data_copying_z == plain.data_copying_z
    lines = capsys.readouterr().out.splitlines()
    phases = [line for line in lines if line.startswith("[memorization]")]
    assert [line.split(" - ")[1] for line in phases] == [
        "nearest training sample of each synthetic sample",
        "nearest training sample of each test sample",
        "data-copying Z-score",
    ]
    assert phases[0].startswith("[memorization] 1/3 phases, elapsed ")
    assert "left" in phases[0] and ", done - " in phases[2]
    # The neighbour searches report their row blocks too (2 blocks of 50).
    assert lines[0].startswith("[nearest neighbours] 2/2 row blocks, elapsed ")
    memorization(train, fresh, verbose=1, **NONE)
    phases = capsys.readouterr().out.splitlines()
    assert (
        phases[-1].startswith("[memorization] 2/2 phases")
        and "leave-one-out" in (phases[-1])
    )
