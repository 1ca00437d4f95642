"""SyntheticAugmenter as an imbalanced-learn sampler."""

import numpy as np
import pytest
from imblearn.pipeline import Pipeline, make_pipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from skgan import SyntheticAugmenter
from tests._tiny import tiny_gan


@pytest.fixture(scope="module")
def imbalanced():
    """Digits 0 (178), 1 (36) and 2 (18): imbalanced three-class images."""
    X, y = load_digits(return_X_y=True)
    keep = np.concatenate(
        [
            np.flatnonzero(y == 0),
            np.flatnonzero(y == 1)[:36],
            np.flatnonzero(y == 2)[:18],
        ]
    )
    keep.sort()
    return X[keep], y[keep]


def augmenter(**params):
    return SyntheticAugmenter(estimator=tiny_gan(), random_state=0, **params)


def counts(y):
    labels, n = np.unique(y, return_counts=True)
    return dict(zip(labels.tolist(), n.tolist()))


@pytest.mark.parametrize("mode", ["conditional", "per_class"])
@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("auto", {0: 178, 1: 178, 2: 178}),
        ("not majority", {0: 178, 1: 178, 2: 178}),
        ("minority", {0: 178, 1: 36, 2: 178}),
        ("all", {0: 178, 1: 178, 2: 178}),
        ("not minority", {0: 178, 1: 178, 2: 18}),
        ({1: 50, 2: 40}, {0: 178, 1: 50, 2: 40}),
        (lambda y: {2: 30}, {0: 178, 1: 36, 2: 30}),
    ],
    ids=["auto", "not-majority", "minority", "all", "not-minority", "dict", "callable"],
)
def test_sampling_strategy_semantics(imbalanced, mode, strategy, expected):
    X, y = imbalanced
    X_res, y_res = augmenter(sampling_strategy=strategy, mode=mode).fit_resample(X, y)
    assert counts(y_res) == expected
    # Original rows come first, unchanged.
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)


def test_float_strategy_binary(imbalanced):
    X, y = imbalanced
    binary = y < 2
    _, y_res = augmenter(sampling_strategy=0.5).fit_resample(X[binary], y[binary])
    assert counts(y_res) == {0: 178, 1: 89}


def test_output_keeps_layout_dtype_range_and_string_labels():
    rng = np.random.default_rng(0)
    X = rng.integers(10, 200, size=(40, 12, 12), dtype=np.uint8)
    y = np.array(["tumour"] * 8 + ["healthy"] * 32)
    X_res, y_res = augmenter().fit_resample(X, y)
    assert X_res.shape == (64, 12, 12) and X_res.dtype == np.uint8
    assert X_res.min() >= 10 and X_res.max() <= 199
    assert counts(y_res) == {"healthy": 32, "tumour": 32}


def test_estimator_is_cloned_not_mutated(imbalanced):
    X, y = imbalanced
    gan = tiny_gan()
    sampler = SyntheticAugmenter(estimator=gan, random_state=0).fit_resample(X, y)
    assert not hasattr(gan, "generator_")
    assert sampler is not None


def test_models_kept_per_mode(imbalanced):
    X, y = imbalanced
    conditional = augmenter(mode="conditional")
    conditional.fit_resample(X, y)
    assert list(conditional.estimators_) == [None]
    assert conditional.estimators_[None].conditional
    per_class = augmenter(mode="per_class")
    per_class.fit_resample(X, y)
    assert sorted(per_class.estimators_) == [1, 2]


def test_reproducible(imbalanced):
    X, y = imbalanced
    a = augmenter().fit_resample(X, y)
    b = augmenter().fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])


def test_no_transform_method():
    assert not hasattr(SyntheticAugmenter(), "transform")


def test_single_class_refused(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="single class"):
        augmenter().fit_resample(X[y == 0], y[y == 0])


def test_bad_parameters(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="mode"):
        augmenter(mode="smote").fit_resample(X, y)
    with pytest.raises(ValueError, match="sampling_strategy"):
        augmenter(sampling_strategy="most").fit_resample(X, y)


def test_fit_generate_balanced_synthetic_only(imbalanced):
    X, y = imbalanced
    X_syn, y_syn = augmenter().fit_generate(X, y, n_per_class=25)
    assert counts(y_syn) == {0: 25, 1: 25, 2: 25}
    assert X_syn.shape == (75, 64)
    # No real image is returned.
    real = {row.tobytes() for row in X}
    assert not any(row.tobytes() in real for row in X_syn)
    _, y_default = augmenter(mode="per_class").fit_generate(X, y)
    assert counts(y_default) == {0: 178, 1: 178, 2: 178}
    with pytest.raises(ValueError, match="n_per_class"):
        augmenter().fit_generate(X, y, n_per_class=0)


class RowRecorder(ClassifierMixin, BaseEstimator):
    """A classifier that records how many rows each method was given."""

    def fit(self, X, y):
        self.fit_rows_ = len(X)
        self.classes_ = np.unique(y)
        self.model_ = LogisticRegression(max_iter=500).fit(X, y)
        return self

    def predict(self, X):
        self.predict_rows_ = len(X)
        return self.model_.predict(X)


def test_pipeline_predict_never_sees_synthetic_rows(imbalanced):
    X, y = imbalanced
    pipe = Pipeline([("augment", augmenter()), ("clf", RowRecorder())]).fit(X, y)
    assert pipe.named_steps["clf"].fit_rows_ == 3 * 178
    pipe.predict(X[:7])
    assert pipe.named_steps["clf"].predict_rows_ == 7
    pipe.score(X[:11], y[:11])
    assert pipe.named_steps["clf"].predict_rows_ == 11
    # Predictions are those of the fitted classifier on exactly the given rows.
    np.testing.assert_array_equal(
        pipe.predict(X), pipe.named_steps["clf"].model_.predict(X)
    )


def test_cross_val_score_and_grid_search(imbalanced):
    X, y = imbalanced
    pipe = make_pipeline(augmenter(), LogisticRegression(max_iter=500))
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=cv, scoring="balanced_accuracy")
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(
        pipe,
        {"syntheticaugmenter__mode": ["conditional", "per_class"]},
        cv=cv,
        scoring="balanced_accuracy",
    ).fit(X, y)
    assert search.best_params_["syntheticaugmenter__mode"] in {
        "conditional",
        "per_class",
    }
    assert clone(search.best_estimator_).get_params()["syntheticaugmenter__mode"]
