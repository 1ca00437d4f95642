"""SyntheticAugmenter as an imbalanced-learn sampler."""

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline, make_pipeline
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

import skgan
from skgan import SyntheticAugmenter
from skgan.augment import _sampler, default_augmentation_estimator
from skgan.augment._selection import (
    discriminator_scores,
    nearest_distances,
    select_candidates,
)
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
    params.setdefault("estimator", tiny_gan())
    params.setdefault("synthetic_share", 0.5)  # GAN images, not copies only
    # Tiny GANs draw no recognisable digit: the class check would replace
    # them all by copies (tests/test_augment_selection.py tests it).
    params.setdefault("class_check", None)
    return SyntheticAugmenter(random_state=0, **params)


def counts(y):
    labels, n = np.unique(y, return_counts=True)
    return dict(zip(labels.tolist(), n.tolist()))


@pytest.mark.parametrize("mode", ["finetune", "conditional", "per_class"])
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
    # Noise images are far apart: the guard would reject every generated one.
    X_res, y_res = augmenter(near_copy_quantile=None).fit_resample(X, y)
    assert X_res.shape == (64, 12, 12) and X_res.dtype == np.uint8
    assert X_res.min() >= 10 and X_res.max() <= 199
    assert counts(y_res) == {"healthy": 32, "tumour": 32}


def test_estimator_is_cloned_not_mutated(imbalanced):
    X, y = imbalanced
    gan = tiny_gan()
    sampler = SyntheticAugmenter(estimator=gan, synthetic_share=0.5, random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.estimators_  # a GAN was trained, on a clone
    assert not hasattr(gan, "generator_")


def test_models_kept_per_mode(imbalanced):
    X, y = imbalanced
    conditional = augmenter(mode="conditional")
    conditional.fit_resample(X, y)
    assert list(conditional.estimators_) == [None]
    assert conditional.estimators_[None].conditional
    assert conditional.pretrained_estimator_ is None
    per_class = augmenter(mode="per_class")
    per_class.fit_resample(X, y)
    assert sorted(per_class.estimators_) == [1, 2]
    assert not per_class.estimators_[1].warm_start
    finetune = augmenter(mode="finetune")
    finetune.fit_resample(X, y)
    assert sorted(finetune.estimators_) == [1, 2]
    assert not finetune.pretrained_estimator_.conditional


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
        {"syntheticaugmenter__mode": ["conditional", "finetune"]},
        cv=cv,
        scoring="balanced_accuracy",
    ).fit(X, y)
    assert search.best_params_["syntheticaugmenter__mode"] in {
        "conditional",
        "finetune",
    }
    assert clone(search.best_estimator_).get_params()["syntheticaugmenter__mode"]


# ------------------------------------------------------------ borrowing


def test_import_paths():
    assert skgan.SyntheticAugmenter is SyntheticAugmenter
    assert SyntheticAugmenter().mode == "finetune"


def test_default_estimator_settings():
    gan = default_augmentation_estimator()
    assert gan.steps == 600 and gan.max_time is None
    assert gan.discriminator_batch_norm and gan.augment is None
    assert gan.ema_decay == 0.999 and gan.loss == "hinge"


def test_finetune_starts_from_the_pretrained_model(imbalanced):
    X, y = imbalanced
    sampler = augmenter(estimator=tiny_gan(steps=6), finetune_steps=4)
    sampler.fit_resample(X, y)
    pretrained = sampler.pretrained_estimator_
    assert sum(r["n_steps"] for r in pretrained.history_) == 6
    for label in (1, 2):
        model = sampler.estimators_[label]
        assert model.history_[: len(pretrained.history_)] == pretrained.history_
        assert sum(r["n_steps"] for r in model.history_) == 6 + 4
        # Fine-tuning changed the copy, not the pre-trained model.
        changed = [
            not torch.equal(a, b)
            for a, b in zip(
                model.generator_.parameters(), pretrained.generator_.parameters()
            )
        ]
        assert any(changed)
        assert all(p.requires_grad for p in model.discriminator_.parameters())
    # The moving average restarted from the pre-trained generator.
    assert sampler.estimators_[1].generator_ema_ is not pretrained.generator_ema_


def test_finetune_steps_default_is_half_the_budget(imbalanced):
    X, y = imbalanced
    sampler = augmenter(estimator=tiny_gan(steps=7), sampling_strategy={2: 30})
    sampler.fit_resample(X, y)
    steps = sum(r["n_steps"] for r in sampler.estimators_[2].history_)
    assert steps == 7 + 3
    by_epochs = augmenter(estimator=tiny_gan(epochs=2), sampling_strategy={2: 30})
    by_epochs.fit_resample(X, y)
    history = by_epochs.estimators_[2].history_
    assert len(history) == len(by_epochs.pretrained_estimator_.history_) + 2


def stage_parameters(model):
    """Parameters of each discriminator stage, in order (a stage starts at a conv)."""
    stages = []
    for layer in model.discriminator_.features:
        if isinstance(layer, torch.nn.Conv2d):
            stages.append([])
        stages[-1] += [p.detach().clone() for p in layer.parameters()]
    return stages


@pytest.mark.parametrize("n_frozen", [0, 1, 2, 10])
def test_freeze_discriminator_keeps_the_first_stages(imbalanced, n_frozen):
    X, y = imbalanced
    sampler = augmenter(
        estimator=tiny_gan(steps=3),
        finetune_steps=5,
        freeze_discriminator=n_frozen,
        sampling_strategy={2: 30},
    )
    sampler.fit_resample(X, y)
    before = stage_parameters(sampler.pretrained_estimator_)
    after = stage_parameters(sampler.estimators_[2])
    assert len(before) == 2  # 8x8 digits: a full-resolution and one strided conv
    for index, (old, new) in enumerate(zip(before, after)):
        same = all(torch.equal(a, b) for a, b in zip(old, new))
        assert same == (index < n_frozen)
    head_old = sampler.pretrained_estimator_.discriminator_.classify.parameters()
    head_new = sampler.estimators_[2].discriminator_.classify.parameters()
    assert not all(torch.equal(a, b) for a, b in zip(head_old, head_new))


def test_finetune_augment_applies_to_fine_tuning_only(imbalanced):
    X, y = imbalanced
    params = dict(
        estimator=tiny_gan(steps=3), finetune_steps=5, sampling_strategy={2: 30}
    )
    augmented = augmenter(finetune_augment="translation,cutout", **params)
    plain = augmenter(finetune_augment=None, **params)
    augmented.fit_resample(X, y)
    plain.fit_resample(X, y)
    assert augmented.pretrained_estimator_.augment is None
    assert augmented.estimators_[2].augment == "translation,cutout"
    assert plain.estimators_[2].augment is None

    def weights(model):
        return [p.detach() for p in model.generator_.parameters()]

    same_start = zip(
        weights(augmented.pretrained_estimator_), weights(plain.pretrained_estimator_)
    )
    assert all(torch.equal(a, b) for a, b in same_start)
    fine_tuned = zip(weights(augmented.estimators_[2]), weights(plain.estimators_[2]))
    assert not all(torch.equal(a, b) for a, b in fine_tuned)


# ------------------------------------------------- what is added and how


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_synthetic_share(imbalanced, share):
    X, y = imbalanced
    sampler = augmenter(
        synthetic_share=share, near_copy_quantile=None, added_augmentation=None
    )
    X_res, y_res = sampler.fit_resample(X, y)
    assert counts(y_res) == {0: 178, 1: 178, 2: 178}
    real = {row.tobytes(): label for row, label in zip(X, y)}
    added = X_res[len(X) :], y_res[len(X) :]
    for label, n_added in ((1, 142), (2, 160)):
        rows = added[0][added[1] == label]
        duplicated = sum(real.get(row.tobytes()) == label for row in rows)
        assert sampler.n_synthetic_.get(label, 0) == round(share * n_added)
        assert duplicated == n_added - round(share * n_added)
    if share == 0:  # duplicates only: no GAN is trained
        assert sampler.estimators_ == {}


def test_near_copy_guard(imbalanced):
    X, y = imbalanced
    sampler = augmenter(synthetic_share=1.0, near_copy_quantile=0.5)
    X_res, y_res = sampler.fit_resample(X, y)
    for label in (1, 2):
        own = X[y == label]
        threshold = sampler.near_copy_threshold_[label]
        others = cdist(own, own)
        np.fill_diagonal(others, np.inf)
        assert threshold == pytest.approx(np.quantile(others.min(axis=1), 0.5))
        synthetic = X_res[len(X) :][y_res[len(X) :] == label]
        synthetic = synthetic[: sampler.n_synthetic_[label]]
        assert np.all(nearest_distances(own, synthetic) >= threshold)


def test_guard_that_rejects_everything_falls_back_to_duplicates(
    imbalanced, monkeypatch
):
    X, y = imbalanced
    # A threshold no candidate can pass.
    monkeypatch.setattr(_sampler, "near_copy_threshold", lambda images, q: np.inf)
    sampler = augmenter(
        synthetic_share=1.0, sampling_strategy={2: 30}, added_augmentation=None
    )
    with pytest.warns(RuntimeWarning, match="near-copy guard"):
        X_res, y_res = sampler.fit_resample(X, y)
    assert counts(y_res)[2] == 30 and sampler.n_synthetic_[2] == 0
    real = {row.tobytes() for row in X[y == 2]}
    assert all(row.tobytes() in real for row in X_res[len(X) :])
    with pytest.raises(RuntimeError, match="near-copy guard"):
        with pytest.warns(RuntimeWarning):
            sampler.fit_generate(X, y, n_per_class=5)


@pytest.mark.parametrize("mode", ["finetune", "conditional"])
def test_discriminator_rejection_keeps_the_most_real(imbalanced, mode):
    X, y = imbalanced
    params = dict(
        mode=mode,
        synthetic_share=1.0,
        near_copy_quantile=None,
        sampling_strategy={2: 48},
        added_augmentation=None,  # compare the generated images themselves
    )
    plain = augmenter(candidate_factor=1.0, **params)
    picky = augmenter(candidate_factor=3.0, **params)
    first = plain.fit_resample(X, y)[0][len(X) :]
    best = picky.fit_resample(X, y)[0][len(X) :]
    model = picky.estimators_.get(2, picky.estimators_.get(None))
    label = 2 if mode == "conditional" else None
    # factor 1 keeps the first candidates of the pool that factor 3 draws.
    best_scores = discriminator_scores(model, best, label)
    kept = {row.tobytes() for row in best}
    rejected = np.array([row for row in first if row.tobytes() not in kept])
    assert len(rejected) > 0
    assert np.all(
        discriminator_scores(model, rejected, label) <= best_scores.min() + 1e-4
    )


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"mode": "smote"}, ValueError, "mode"),
        ({"synthetic_share": 1.5}, ValueError, "synthetic_share"),
        ({"synthetic_share": "half"}, ValueError, "synthetic_share"),
        ({"candidate_factor": 0.5}, ValueError, "candidate_factor"),
        ({"near_copy_quantile": 1.0}, ValueError, "near_copy_quantile"),
        ({"near_copy_quantile": -0.1}, ValueError, "near_copy_quantile"),
        ({"freeze_discriminator": -1}, ValueError, "freeze_discriminator"),
        ({"freeze_discriminator": 1.5}, ValueError, "freeze_discriminator"),
        ({"finetune_steps": 0}, ValueError, "finetune_steps"),
        ({"finetune_steps": True}, TypeError, "finetune_steps"),
        ({"freeze_discriminator": False}, TypeError, "freeze_discriminator"),
        ({"finetune_augment": "translation,flip"}, ValueError, "flip"),
        ({"finetune_augment": 1}, ValueError, "finetune_augment"),
    ],
)
def test_bad_new_parameters_refused_before_training(imbalanced, params, error, match):
    X, y = imbalanced

    def no_training(estimator, record):
        raise AssertionError("trained before refusing a bad parameter")

    sampler = SyntheticAugmenter(
        estimator=tiny_gan(callbacks=[no_training]),
        random_state=0,
        **({"synthetic_share": 0.5} | params),
    )
    with pytest.raises(error, match=match):
        sampler.fit_resample(X, y)
    with pytest.raises(error, match=match):
        sampler.fit_generate(X, y, n_per_class=5)


def test_finetune_needs_two_images_per_class(imbalanced):
    X, y = imbalanced
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 2)[:1]])
    with pytest.raises(ValueError, match="at least 2 images"):
        augmenter().fit_resample(X[keep], y[keep])


def test_grid_search_over_share_and_estimator_steps(imbalanced):
    X, y = imbalanced
    pipe = make_pipeline(
        augmenter(estimator=tiny_gan(steps=2)), LogisticRegression(max_iter=500)
    )
    grid = {
        "syntheticaugmenter__synthetic_share": [0.0, 0.5],
        "syntheticaugmenter__estimator__steps": [2, 4],
    }
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, cv=cv, scoring="balanced_accuracy").fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_.named_steps["syntheticaugmenter"]
    assert (
        best.synthetic_share
        == search.best_params_["syntheticaugmenter__synthetic_share"]
    )
    if best.synthetic_share > 0:
        steps = search.best_params_["syntheticaugmenter__estimator__steps"]
        pretrained = best.pretrained_estimator_
        assert sum(r["n_steps"] for r in pretrained.history_) == steps


# ----------------------------------------------------- nearest distances


def test_select_candidates():
    candidates = np.arange(6)
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.8])
    distances = np.array([5.0, 0.5, 5.0, 5.0, 5.0, 5.0])
    np.testing.assert_array_equal(select_candidates(candidates, 3), [0, 1, 2])
    np.testing.assert_array_equal(
        select_candidates(candidates, 3, scores=scores), [1, 5, 3]
    )
    np.testing.assert_array_equal(
        select_candidates(
            candidates, 3, scores=scores, distances=distances, threshold=1.0
        ),
        [5, 3, 2],
    )


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 3)], ids=["gray", "rgb"])
def test_default_gan_takes_64_pixel_scans(shape):
    """The default augmenter's GAN (only its budget cut) handles other image
    sizes and colour scans: 64 px, grayscale or RGB, as uint8 files load."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(30, *shape), dtype=np.uint8)
    y = np.array([0] * 24 + [1] * 6)
    estimator = default_augmentation_estimator().set_params(
        steps=2, device="cpu", feature_extractor=None
    )
    # Noise images are farther from each other than from anything a 2-step
    # GAN draws, so the near-copy guard would reject every candidate.
    sampler = SyntheticAugmenter(
        estimator=estimator,
        synthetic_share=0.5,
        near_copy_quantile=None,
        class_check=None,  # nor a class check: noise classes have no look
        added_augmentation=None,  # count the generated images among the added
        random_state=0,
    )
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (48, *shape) and X_res.dtype == np.uint8
    assert counts(y_res) == {0: 24, 1: 24}
    assert sampler.n_synthetic_ == {1: 9}  # synthetic_share=0.5 of 18 added
    real = {row.tobytes() for row in X}
    added = X_res[len(X) :]
    assert sum(row.tobytes() not in real for row in added) == 9
