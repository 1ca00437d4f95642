"""SyntheticAugmenter's class check: generated images that do not carry their
class are rejected, counted in ``selection_report_`` and replaced by copies."""

import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.pipeline import make_pipeline
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from skgan import SyntheticAugmenter
from skgan.augment import _sampler, _selection
from skgan.augment._selection import REPORT_KEYS, ClassCheck
from tests._tiny import tiny_gan

REJECTIONS = ("rejected_class", "rejected_far", "rejected_near_copy")


class PoolGenerator(BaseEstimator):
    """A stand-in generator whose "generated" images are drawn from ``pool``,
    so that a test chooses what the candidates look like."""

    def __init__(
        self, pool=None, conditional=False, warm_start=False, random_state=None
    ):
        self.pool = pool
        self.conditional = conditional
        self.warm_start = warm_start
        self.random_state = random_state

    def fit(self, X, y=None):
        self.n_fit_ = len(X)
        return self

    def sample(self, n_samples=1, random_state=None, y=None):
        rng = np.random.RandomState(random_state)
        images = self.pool[rng.randint(len(self.pool), size=n_samples)]
        if self.conditional:
            return images, np.full(n_samples, y)
        return images


@pytest.fixture(scope="module")
def digits():
    """120 zeros and 30 ones for training; other digits for candidates."""
    X, y = load_digits(return_X_y=True)
    zeros, ones = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    train = np.sort(np.concatenate([zeros[:120], ones[:30]]))
    rng = np.random.default_rng(0)
    x = np.arange(8)
    pools = {
        "held-out ones": X[ones[30:]],
        "zeros": X[zeros[120:]],
        "noise": rng.uniform(0, 16, size=(200, 64)),
        "stripes": np.stack(
            [np.tile(8 + 8 * np.sin(f * x), 8) for f in np.linspace(0.5, 3, 50)]
        ),
        "dark ones": X[ones[30:]] * 0.3,
    }
    return X[train], y[train], pools


def pool_augmenter(pool, **params):
    params = {
        "mode": "per_class",
        "synthetic_share": 1.0,
        "candidate_factor": 1.0,
        "added_augmentation": None,  # compare the added images themselves
        "random_state": 0,
    } | params
    return SyntheticAugmenter(estimator=PoolGenerator(pool), **params)


def check_report(report, wanted):
    assert set(report) == set(REPORT_KEYS)
    assert all(isinstance(v, int) and v >= 0 for v in report.values())
    parts = sum(report[key] for key in (*REJECTIONS, "not_selected", "kept"))
    assert parts == report["candidates"]
    assert report["kept"] + report["copies"] == wanted


def rejected_share(report):
    return (report["rejected_class"] + report["rejected_far"]) / report["candidates"]


def test_genuine_class_images_pass(digits):
    X, y, pools = digits
    sampler = pool_augmenter(pools["held-out ones"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        X_res, y_res = sampler.fit_resample(X, y)
    report = sampler.selection_report_[1]
    check_report(report, wanted=90)
    assert report["kept"] == 90 and report["copies"] == 0
    assert sampler.n_synthetic_ == {1: 90}
    assert rejected_share(report) < 0.35  # measured 0.25
    # Every added image is one of the candidates, none a copy of a training one.
    candidates = {row.tobytes() for row in pools["held-out ones"]}
    assert all(row.tobytes() in candidates for row in X_res[len(X) :])


@pytest.mark.parametrize("name", ["zeros", "noise", "stripes", "dark ones"])
def test_images_without_the_class_are_rejected_and_replaced(digits, name):
    X, y, pools = digits
    sampler = pool_augmenter(pools[name])
    with pytest.warns(RuntimeWarning, match="class check rejected") as record:
        X_res, y_res = sampler.fit_resample(X, y)
    assert "do not look like the class" in str(record[0].message)
    report = sampler.selection_report_[1]
    check_report(report, wanted=90)
    assert rejected_share(report) >= 0.9
    assert report["candidates"] == 5 * 90  # every round was drawn
    assert sampler.n_synthetic_[1] == report["kept"] < 90
    # The class still gets its 90 images: the kept candidates, then copies.
    assert np.sum(y_res == 1) == 30 + 90
    added = X_res[len(X) :]
    real = {row.tobytes() for row in X[y == 1]}
    copies = [row.tobytes() in real for row in added]
    assert sum(copies) == report["copies"]
    assert not any(copies[: report["kept"]])


def test_another_class_fails_the_classifier_noise_the_distance(digits):
    X, y, pools = digits
    zeros = pool_augmenter(pools["zeros"])
    noise = pool_augmenter(pools["noise"])
    with pytest.warns(RuntimeWarning):
        zeros.fit_resample(X, y)
        noise.fit_resample(X, y)
    assert zeros.selection_report_[1]["rejected_class"] == 450
    assert noise.selection_report_[1]["rejected_far"] > 0.8 * 450


def test_without_the_check_everything_generated_is_added(digits):
    X, y, pools = digits
    sampler = pool_augmenter(pools["noise"], class_check=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sampler.fit_resample(X, y)
    report = sampler.selection_report_[1]
    check_report(report, wanted=90)
    assert report["rejected_class"] == report["rejected_far"] == 0
    assert report["kept"] == 90 and sampler.class_check_estimator_ is None


def test_fallback_to_copies_is_printed(digits, capsys):
    X, y, pools = digits
    with pytest.warns(RuntimeWarning, match="90 as copies of real images"):
        pool_augmenter(pools["zeros"], verbose=1).fit_resample(X, y)
    lines = capsys.readouterr().out.splitlines()
    selection = [line for line in lines if "class 1" in line and "selected" in line]
    assert len(selection) == 1
    assert (
        "generated and selected 0 images of class 1 (the class check rejected "
        "450 of 450 candidates: 450 not confidently of the class, 0 far from it); "
        "90 copies of real images added in their place"
    ) in selection[0]


def test_shortfall_after_a_mild_rejection_still_warns(digits, monkeypatch):
    """Too few candidates in every round is reported even when the class
    check rejected less than half of them (here the near-copy guard, given a
    threshold no candidate can pass, rejects the rest)."""
    X, y, pools = digits
    monkeypatch.setattr(_sampler, "near_copy_threshold", lambda images, q: np.inf)
    sampler = pool_augmenter(pools["held-out ones"])
    with pytest.warns(RuntimeWarning, match="near-copy guard") as record:
        sampler.fit_resample(X, y)
    report = sampler.selection_report_[1]
    check_report(report, wanted=90)
    assert rejected_share(report) < 0.5
    assert report["rejected_near_copy"] > 0 and report["copies"] == 90
    message = str(record[0].message)
    assert "the other 90 as copies" in message
    assert "do not look like the class" not in message


@settings(max_examples=15, deadline=None)
@given(
    threshold=st.floats(0, 0.99),
    factor=st.sampled_from([1.0, 1.5, 3.0]),
    quantile=st.sampled_from([None, 0.05, 0.5]),
    share_noise=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
)
def test_report_counts_add_up(digits, threshold, factor, quantile, share_noise):
    X, y, pools = digits
    n_noise = int(round(share_noise * 60))
    pool = np.concatenate([pools["held-out ones"][: 60 - n_noise], pools["noise"]])
    pool = pool[: max(60, n_noise)]
    sampler = pool_augmenter(
        pool,
        class_check_threshold=threshold,
        candidate_factor=factor,
        near_copy_quantile=quantile,
        synthetic_share=0.5,
    )
    # The stand-in has no discriminator: rank the candidates by brightness.
    brightness = mock.patch.object(
        _selection, "discriminator_scores", lambda model, images, label: images.mean(1)
    )
    with brightness, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, y_res = sampler.fit_resample(X, y)
    report = sampler.selection_report_[1]
    check_report(report, wanted=45)
    assert sampler.n_synthetic_[1] == report["kept"]
    assert np.sum(y_res == 1) == 120  # balanced whatever was rejected


def test_threshold_rejects_more_as_it_rises(digits):
    X, y, pools = digits
    candidates = np.concatenate([pools["held-out ones"], pools["zeros"][:30]])
    masks = [
        ClassCheck("auto", threshold).fit(X, y).test(candidates, 1)[0]
        for threshold in (0.0, 0.3, 0.5, 0.9)
    ]
    assert masks[0].all()
    for looser, stricter in zip(masks, masks[1:]):
        assert np.all(looser >= stricter)
    assert masks[2].sum() > masks[3].sum()


def test_distance_test_against_an_explicit_leave_one_out(digits):
    """The radius is the 0.95 quantile of each own image's distance from the
    mean of the other images, in standardized components plus residual."""
    X, y, pools = digits
    check = ClassCheck("auto", 0.5).fit(X, y)
    pca = check.classifier_[0]
    assert check.unit_ == 16.0  # the largest value of X
    flat = X / 16.0
    scores = pca.transform(flat)
    std = scores.std(axis=0)
    residual = np.linalg.norm(flat - pca.inverse_transform(scores), axis=1)
    scale = np.median(residual)
    own = np.flatnonzero(y == 1)
    distances = []
    for i in own:
        others = own[own != i]
        centre = scores[others].mean(axis=0) / std
        d2 = np.sum((scores[i] / std - centre) ** 2) + (residual[i] / scale) ** 2
        distances.append(np.sqrt(d2))
    radius = np.quantile(distances, 0.95)
    assert check.extent_[1][1] == pytest.approx(radius, rel=1e-4)
    candidates = pools["held-out ones"] / 16.0
    c_scores = pca.transform(candidates)
    c_residual = np.linalg.norm(candidates - pca.inverse_transform(c_scores), axis=1)
    expected = (
        np.sqrt(
            np.sum((c_scores / std - scores[own].mean(axis=0) / std) ** 2, axis=1)
            + (c_residual / scale) ** 2
        )
        <= radius
    )
    near = check.test(pools["held-out ones"], 1)[1]
    # Rounding may only flip a candidate that lies on the radius itself.
    assert np.mean(near == expected) >= 0.98


def test_a_single_image_class_skips_the_distance_test(digits):
    X, y, pools = digits
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:1]])
    check = ClassCheck("auto", 0.5).fit(X[keep], y[keep])
    assert check.extent_[1] is None
    assert check.test(pools["noise"], 1)[1].all()


def test_large_classes_are_subsampled_once_and_the_same_way():
    y = np.array([0] * 6000 + [1] * 12 + [2] * 3000)
    rows = _selection._check_rows(y)
    np.testing.assert_array_equal(rows, _selection._check_rows(y))
    counts = np.bincount(y[rows])
    assert counts.tolist() == [1666, 12, 1666]


def test_fitted_on_the_rows_of_the_call_only(digits):
    """Inside a pipeline the class check sees the training rows, nothing else."""
    X, y, pools = digits
    sampler = pool_augmenter(pools["held-out ones"])
    pipe = make_pipeline(sampler, LogisticRegression(max_iter=500))
    fit_rows = np.arange(0, len(X), 2)
    pipe.fit(X[fit_rows], y[fit_rows])
    fitted = pipe[0].class_check_estimator_
    assert fitted[0].n_samples_ == len(fit_rows)
    assert fitted[-1].class_weight == "balanced"


def test_user_classifier(digits):
    X, y, pools = digits
    mine = LogisticRegression(max_iter=2000)
    sampler = pool_augmenter(pools["zeros"], class_check=mine)
    with pytest.warns(RuntimeWarning, match="class check"):
        sampler.fit_resample(X, y)
    assert not hasattr(mine, "coef_")  # cloned, not fitted in place
    assert sampler.class_check_estimator_.coef_.shape == (1, 64)
    assert sampler.selection_report_[1]["rejected_class"] == 450


def test_multiclass_images_and_string_labels(digits):
    X_all, y_all = load_digits(return_X_y=True)
    rows = np.concatenate(
        [np.flatnonzero(y_all == d)[:n] for d, n in ((0, 100), (3, 60), (7, 20))]
    )
    X = X_all[rows].reshape(-1, 8, 8)
    y = np.array(["zero", "three", "seven"])[np.searchsorted([0, 3, 7], y_all[rows])]
    sevens = X_all[np.flatnonzero(y_all == 7)[20:]].reshape(-1, 8, 8)
    zeros = X_all[np.flatnonzero(y_all == 0)[100:]].reshape(-1, 8, 8)
    kept = pool_augmenter(sevens, sampling_strategy={"seven": 60})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        X_res, y_res = kept.fit_resample(X, y)
    assert X_res.shape[1:] == (8, 8) and kept.n_synthetic_ == {"seven": 40}
    rejected = pool_augmenter(zeros, sampling_strategy={"seven": 60})
    with pytest.warns(RuntimeWarning, match="class 'seven'"):
        rejected.fit_resample(X, y)
    assert rejected.selection_report_["seven"]["rejected_class"] > 0.9 * 200


@pytest.mark.parametrize("mode", ["finetune", "conditional"])
def test_gan_candidates_reproducible_and_never_added_silently(digits, mode):
    """A tiny GAN draws no recognisable digit: its candidates are rejected,
    with a warning, the same way for the same seed."""
    X, y, _ = digits
    runs = []
    for _ in range(2):
        sampler = SyntheticAugmenter(
            estimator=tiny_gan(), mode=mode, synthetic_share=0.5, random_state=0
        )
        with pytest.warns(RuntimeWarning, match="class check rejected"):
            X_res, _ = sampler.fit_resample(X, y)
        runs.append((X_res, sampler.selection_report_))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    check_report(runs[0][1][1], wanted=45)
    assert rejected_share(runs[0][1][1]) > 0.5


def test_pool_runs_reproducible(digits):
    X, y, pools = digits
    pool = np.concatenate([pools["held-out ones"], pools["noise"][:50]])
    first = pool_augmenter(pool, random_state=3)
    second = pool_augmenter(pool, random_state=3)
    a, b = first.fit_resample(X, y)[0], second.fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert first.selection_report_ == second.selection_report_


def test_fit_generate_refuses_to_pad_rejected_images(digits):
    X, y, pools = digits
    with pytest.raises(RuntimeError, match="class check"):
        with pytest.warns(RuntimeWarning):
            pool_augmenter(pools["zeros"]).fit_generate(X, y, n_per_class=5)


def test_default_adds_copies_only_and_fits_no_check(digits):
    X, y, _ = digits
    sampler = SyntheticAugmenter(random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.selection_report_ == {}
    assert sampler.class_check_estimator_ is None


def no_training(estimator, record):
    raise AssertionError("trained before refusing a bad parameter")


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"class_check": "yes"}, ValueError, "class_check"),
        ({"class_check": LinearSVC()}, ValueError, "class_check"),
        ({"class_check": 3}, ValueError, "class_check"),
        ({"class_check_threshold": 1.0}, ValueError, "class_check_threshold"),
        ({"class_check_threshold": -0.1}, ValueError, "class_check_threshold"),
        ({"class_check_threshold": "high"}, ValueError, "class_check_threshold"),
        ({"class_check_threshold": True}, TypeError, "class_check_threshold"),
    ],
)
def test_bad_parameters_refused_before_training(digits, params, error, match):
    X, y, _ = digits
    sampler = SyntheticAugmenter(
        estimator=tiny_gan(callbacks=[no_training]),
        synthetic_share=0.5,
        random_state=0,
        **params,
    )
    with pytest.raises(error, match=match):
        sampler.fit_resample(X, y)
