"""Fréchet distance: textbook sqrtm formula, closed forms, statistics reuse."""

import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from skgan.metrics import (
    FeatureStatistics,
    SmallSampleWarning,
    compute_reference_statistics,
    extract_features,
    feature_statistics,
    frechet_distance,
    frechet_inception_distance,
)


def textbook_fd(mu1, s1, mu2, s2):
    """The pytorch-fid formula with scipy.linalg.sqrtm."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    assert np.abs(covmean.imag).max() < 1e-6 if np.iscomplexobj(covmean) else True
    covmean = covmean.real
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def _stats(X):
    return X.mean(axis=0), np.atleast_2d(np.cov(X, rowvar=False))


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 24),
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(0, 5),
    scale=st.floats(0.2, 3),
)
def test_matches_textbook_sqrtm_formula(d, seed, shift, scale):
    rng = np.random.default_rng(seed)
    n = 4 * d + 40  # well-conditioned sample covariances
    x = rng.normal(size=(n, d))
    y = (
        rng.normal(size=(n, d))
        @ (scale * rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d))
        + shift
    )
    expected = textbook_fd(*_stats(x), *_stats(y))
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(0)
    d = 50
    a, b = rng.uniform(0.1, 4, d), rng.uniform(0.1, 4, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(
        FeatureStatistics(mu1, np.diag(a)), FeatureStatistics(mu2, np.diag(b))
    )
    assert got == pytest.approx(expected, rel=1e-12)


def test_commuting_covariances_closed_form():
    rng = np.random.default_rng(1)
    d = 30
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a, b = rng.uniform(0, 3, d), rng.uniform(0, 3, d)
    a[:5] = 0.0  # singular covariances are fine too
    s1, s2 = Q @ np.diag(a) @ Q.T, Q @ np.diag(b) @ Q.T
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(
        FeatureStatistics(np.zeros(d), s1), FeatureStatistics(np.zeros(d), s2)
    )
    assert got == pytest.approx(expected, rel=1e-9)


def test_one_dimensional_gaussians():
    # FD(N(m1, v1), N(m2, v2)) = (m1 - m2)^2 + (sqrt(v1) - sqrt(v2))^2
    got = frechet_distance(
        FeatureStatistics([1.0], [[4.0]]), FeatureStatistics([-2.0], [[9.0]])
    )
    assert got == pytest.approx(9.0 + 1.0, rel=1e-14)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), d=st.integers(1, 60))
def test_identical_sets_give_zero_and_never_negative(seed, n, d):
    x = np.random.default_rng(seed).normal(size=(n, d)) * 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        value = frechet_distance(x, x)
    assert value == 0.0 or 0 < value <= 1e-9 * np.sum(x.var(axis=0))


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n1=st.integers(3, 30),
    n2=st.integers(3, 30),
    d=st.integers(2, 40),
)
def test_invariant_to_rotation_and_translation(seed, n1, n2, d):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n1, d)), rng.normal(size=(n2, d)) * 2 + 1
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    t = rng.normal(size=d) * 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        a = frechet_distance(x, y)
        b = frechet_distance(x @ Q + t, y @ Q + t)
    assert b == pytest.approx(a, rel=1e-8, abs=1e-10)


def test_rank_deficient_feature_and_statistics_paths_agree():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 100)), rng.normal(size=(45, 100)) + 0.3
    with pytest.warns(SmallSampleWarning) as record:
        from_features = frechet_distance(x, y)
    messages = [str(w.message) for w in record]
    assert any("30 samples for 100" in m for m in messages)
    assert any("45 samples for 100" in m for m in messages)
    with pytest.warns(SmallSampleWarning):
        from_stats = frechet_distance(feature_statistics(x), feature_statistics(y))
    # Closed form of the same quantity from the n x n Gram matrices.
    xc, yc = x - x.mean(0), y - y.mean(0)
    sv = np.linalg.svd(xc @ yc.T / np.sqrt(29 * 44), compute_uv=False)
    diff = x.mean(0) - y.mean(0)
    expected = diff @ diff + np.sum(xc**2) / 29 + np.sum(yc**2) / 44 - 2 * sv.sum()
    assert from_features == pytest.approx(expected, rel=1e-12)
    assert from_stats == pytest.approx(expected, rel=1e-10)


def test_float32_features_are_accumulated_in_float64():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(3000, 8)) + 1000).astype(np.float32)
    stats = feature_statistics(x, block_size=700)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(stats.mean, x64.mean(0), rtol=1e-14)
    np.testing.assert_allclose(stats.cov, np.cov(x64, rowvar=False), rtol=1e-10)
    assert stats.n_samples == 3000


def test_warnings_for_small_samples():
    rng = np.random.default_rng(4)
    with pytest.warns(SmallSampleWarning, match="only 5 samples"):
        frechet_distance(rng.normal(size=(5, 2)), rng.normal(size=(100, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frechet_distance(rng.normal(size=(50, 3)), rng.normal(size=(60, 3)))


def test_not_psd_covariance_raises():
    bad = FeatureStatistics(np.zeros(2), [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="positive semi-definite"):
        frechet_distance(bad, FeatureStatistics(np.zeros(2), np.eye(2)))


def test_statistics_save_load_round_trip(tmp_path):
    stats = feature_statistics(np.random.default_rng(5).normal(size=(20, 4)))
    stats.save(tmp_path / "ref")
    loaded = FeatureStatistics.load(tmp_path / "ref.npz")
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.cov, stats.cov)
    assert loaded.n_samples == 20
    FeatureStatistics(stats.mean, stats.cov).save(tmp_path / "no_n.npz")
    assert FeatureStatistics.load(tmp_path / "no_n.npz").n_samples is None


def test_statistics_file_without_arrays_raises(tmp_path):
    np.savez(tmp_path / "other.npz", mu=np.zeros(2))
    with pytest.raises(ValueError, match="lacks"):
        FeatureStatistics.load(tmp_path / "other.npz")


def test_statistics_are_read_only():
    stats = FeatureStatistics(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError):
        stats.mean[0] = 1.0
    with pytest.raises(AttributeError):
        stats.mean = np.ones(2)


@pytest.mark.parametrize(
    ("mean", "cov", "n", "error", "match"),
    [
        (np.zeros((2, 2)), np.eye(2), None, ValueError, "1-D"),
        (np.zeros(2), np.eye(3), None, ValueError, "shape"),
        (np.zeros(2), [[1.0, 2.0], [0.0, 1.0]], None, ValueError, "symmetric"),
        ([np.nan, 0.0], np.eye(2), None, ValueError, "NaN"),
        (np.zeros(2), np.eye(2), 1, ValueError, "n_samples"),
        (np.zeros(2), np.eye(2), 2.5, TypeError, "n_samples"),
        (["a", "b"], np.eye(2), None, TypeError, "numeric"),
    ],
)
def test_statistics_validation(mean, cov, n, error, match):
    with pytest.raises(error, match=match):
        FeatureStatistics(mean, cov, n)


def _pixels(images):
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def test_fid_accepts_reference_statistics_in_place_of_real():
    rng = np.random.default_rng(6)
    real = rng.integers(0, 256, size=(40, 4, 4), dtype=np.uint8)
    fake = rng.integers(0, 200, size=(30, 4, 4), dtype=np.uint8)
    stats = compute_reference_statistics(real, feature_extractor=_pixels)
    direct = frechet_inception_distance(real, fake, feature_extractor=_pixels)
    reused = frechet_inception_distance(stats, fake, feature_extractor=_pixels)
    assert reused == pytest.approx(direct, rel=1e-10)
    expected = frechet_distance(
        extract_features(real, feature_extractor=_pixels),
        extract_features(fake, feature_extractor=_pixels),
    )
    assert direct == pytest.approx(expected, rel=1e-12)


def test_fid_the_way_the_estimator_calls_it():
    rng = np.random.default_rng(7)
    X_real = rng.uniform(-1, 1, size=(30, 6 * 5))
    X_fake = rng.uniform(-1, 1, size=(30, 6 * 5))
    with pytest.warns(SmallSampleWarning):
        value = frechet_inception_distance(
            X_real,
            X_fake,
            feature_extractor=None,
            image_shape=(6, 5),
            data_range=(-1, 1),
        )
    with pytest.warns(SmallSampleWarning):
        assert value == frechet_distance(X_real, X_fake)


def test_fid_dimension_mismatch_with_statistics():
    stats = FeatureStatistics(np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="3 features.*but fake has 4"):
        frechet_inception_distance(stats, np.zeros((5, 4)), feature_extractor=None)


@pytest.mark.parametrize("path", ["fast", "cholesky-nuclear", "eigh-nuclear"])
def test_all_computation_paths_agree_with_sqrtm(path, monkeypatch):
    from skgan.metrics import _frechet

    if path != "fast":
        monkeypatch.setattr(_frechet, "_FAST_PATH_MIN_RATIO", np.inf)
    if path == "eigh-nuclear":
        monkeypatch.setattr(_frechet._Side, "cholesky", lambda self: None)
    rng = np.random.default_rng(8)
    d = 40
    x = rng.normal(size=(400, d))
    y = rng.normal(size=(300, d)) @ rng.normal(size=(d, d)) * 0.4 + 0.2
    expected = textbook_fd(*_stats(x), *_stats(y))
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-9)


def test_ill_conditioned_covariance_uses_accurate_path():
    # Singular S1 with one huge direction: the fast path is rejected and the
    # result still matches the closed form for commuting covariances.
    d = 20
    a = np.r_[1e6, np.ones(d - 6), np.zeros(5)]
    b = np.r_[4.0, np.full(d - 1, 2.0)]
    got = frechet_distance(
        FeatureStatistics(np.zeros(d), np.diag(a)),
        FeatureStatistics(np.zeros(d), np.diag(b)),
    )
    assert got == pytest.approx(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rel=1e-12)
