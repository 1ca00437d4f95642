"""KID (unbiased MMD^2, cubic kernel) and the Inception Score."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skgan.metrics import SmallSampleWarning, inception_score, kernel_inception_distance
from skgan.metrics._kid import mmd2_unbiased


def mmd2_loops(X, Y):
    """The U-statistic written out pair by pair."""
    d = X.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    m, n = len(X), len(Y)
    xx = sum(k(X[i], X[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(Y[i], Y[j]) for i in range(n) for j in range(n) if i != j)
    xy = sum(k(X[i], Y[j]) for i in range(m) for j in range(n))
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(2, 12),
    n=st.integers(2, 12),
    d=st.integers(1, 6),
)
def test_mmd2_matches_pairwise_loops(seed, m, n, d):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(m, d)), rng.normal(size=(n, d)) + 0.5
    assert mmd2_unbiased(X, Y) == pytest.approx(mmd2_loops(X, Y), rel=1e-10, abs=1e-10)


def test_kid_with_full_subsets_is_the_full_sample_statistic():
    # subset_size == n: every subset is a permutation of the whole set.
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) * 1.5
    mean, std = kernel_inception_distance(
        X, Y, feature_extractor=None, n_subsets=4, subset_size=40
    )
    assert mean == pytest.approx(mmd2_unbiased(X, Y), rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_subsets_are_seeded_and_drawn_without_replacement():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 0.2
    args = dict(feature_extractor=None, n_subsets=7, subset_size=20)
    first = kernel_inception_distance(X, Y, random_state=3, **args)
    assert first == kernel_inception_distance(X, Y, random_state=3, **args)
    assert first != kernel_inception_distance(X, Y, random_state=4, **args)
    draws = np.random.RandomState(3)
    expected = []
    for _ in range(7):
        xi = draws.choice(60, 20, replace=False)
        yi = draws.choice(50, 20, replace=False)
        expected.append(mmd2_loops(X[xi], Y[yi]))
    assert first[0] == pytest.approx(np.mean(expected), rel=1e-10)
    assert first[1] == pytest.approx(np.std(expected), rel=1e-8)


def test_kid_default_is_100_subsets_of_1000_and_shrinks_with_warning():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2))
    with pytest.warns(SmallSampleWarning, match="subsets of 25"):
        mean, std = kernel_inception_distance(X, Y, feature_extractor=None)
    assert np.isfinite(mean) and std > 0
    big = rng.normal(size=(1000, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel_inception_distance(big, big, feature_extractor=None, n_subsets=2)


def test_kid_separates_distributions():
    rng = np.random.default_rng(3)
    X, Y, Z = (
        rng.normal(size=(300, 4)),
        rng.normal(size=(300, 4)),
        rng.normal(size=(300, 4)) + 1,
    )
    same = kernel_inception_distance(
        X, Y, feature_extractor=None, n_subsets=20, subset_size=100
    )[0]
    diff = kernel_inception_distance(
        X, Z, feature_extractor=None, n_subsets=20, subset_size=100
    )[0]
    assert abs(same) < 0.05 < diff


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_subsets": 0}, ValueError),
        ({"subset_size": 1}, ValueError),
        ({"n_subsets": 1.5}, TypeError),
    ],
)
def test_kid_bad_parameters(kwargs, error):
    X = np.zeros((5, 2))
    with pytest.raises(error):
        kernel_inception_distance(X, X, feature_extractor=None, **kwargs)


def test_is_uniform_predictions_give_one():
    logits = np.zeros((50, 7))
    assert inception_score(logits, feature_extractor=None, n_splits=5) == (1.0, 0.0)


def test_is_confident_balanced_predictions_give_number_of_classes():
    labels = np.arange(120) % 12
    logits = 200.0 * np.eye(12)[labels]
    mean, std = inception_score(logits, feature_extractor=None, n_splits=10)
    assert mean == pytest.approx(12.0, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_is_closed_form_two_classes():
    # p(y|x) = (p, 1-p) for half the images and (1-p, p) for the others:
    # marginal (1/2, 1/2), KL = log 2 + p log p + (1-p) log(1-p).
    p = 0.8
    row = np.log([p, 1 - p])
    logits = np.array([row, row[::-1]] * 10)
    mean, _ = inception_score(logits, feature_extractor=None, n_splits=1)
    expected = np.exp(np.log(2) + p * np.log(p) + (1 - p) * np.log(1 - p))
    assert mean == pytest.approx(expected, rel=1e-12)


def test_is_splits_are_consecutive():
    # First half all class 0, second half all class 1: each split alone is 1.
    logits = np.array([[50.0, 0.0]] * 10 + [[0.0, 50.0]] * 10)
    assert inception_score(logits, feature_extractor=None, n_splits=2) == (1.0, 0.0)
    mean, _ = inception_score(logits, feature_extractor=None, n_splits=1)
    assert mean == pytest.approx(2.0, rel=1e-12)


def test_is_with_a_custom_logit_extractor():
    images = np.broadcast_to(np.arange(4, dtype=np.uint8)[:, None, None], (4, 5, 5))

    def logits(batch):  # batch: (n, H, W, C) float32 in [0, 1]
        classes = np.rint(batch[:, 0, 0, 0] * 255).astype(int)
        return 100.0 * np.eye(4)[classes]

    mean, _ = inception_score(images, feature_extractor=logits, n_splits=1)
    assert mean == pytest.approx(4.0, rel=1e-12)


def test_is_more_splits_than_images():
    with pytest.raises(ValueError, match="n_splits=11"):
        inception_score(np.zeros((10, 3)), feature_extractor=None, n_splits=11)
