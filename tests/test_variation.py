"""VariationGAN (an image-conditional GAN, DAGAN) and SyntheticAugmenter's
mode="variation"."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgan import DCGANEstimator, SyntheticAugmenter, VariationGAN
from skgan.augment import default_variation_estimator
from skgan.nn.variation import PairSampler, VariationGenerator
from skgan.persistence import load_model, save_model

TINY = dict(
    noise_dim=4,
    steps=3,
    batch_size=8,
    generator_width=4,
    discriminator_width=4,
    feature_extractor=None,
    device="cpu",
    random_state=0,
)


def tiny_variation(**params):
    return VariationGAN(**(TINY | params))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    keep = y < 3
    return X[keep][:120], y[keep][:120]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return tiny_variation(steps=5).fit(X, y)


# ------------------------------------------------------------- sklearn checks

# The checks give y as class labels or as a continuous target; both group
# images into pairs. None is expected to fail.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks(
    [tiny_variation(image_shape=(1, -1))],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- the torch layer


@pytest.mark.parametrize("n_per_class", [[1, 2, 5], [3], [2, 2], [1, 1, 4, 7]])
def test_pair_sampler_partners_share_the_class_and_are_other_images(n_per_class):
    labels = np.repeat(np.arange(len(n_per_class)), n_per_class)
    np.random.default_rng(0).shuffle(labels)
    pairs = PairSampler(torch.from_numpy(labels))
    expected = [i for i, c in enumerate(labels) if n_per_class[c] >= 2]
    assert pairs.anchors.tolist() == expected
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        rows = pairs.anchors.repeat(50)
        partners = pairs.partners(rows)
    assert (labels[partners.numpy()] == labels[rows.numpy()]).all()
    assert (partners != rows).all()
    # Every other image of a class turns up as a partner.
    for row in expected:
        seen = set(partners[rows == row].tolist())
        same = {i for i, c in enumerate(labels) if c == labels[row] and i != row}
        assert seen == same


def test_balanced_epochs_draw_every_class_equally_often():
    labels = np.repeat([0, 1, 2], [2, 10, 88])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        uniform = PairSampler(torch.from_numpy(labels)).epoch_order()
        balanced = PairSampler(torch.from_numpy(labels), balanced=True)
        drawn = torch.cat([balanced.epoch_order() for _ in range(60)]).numpy()
    assert sorted(uniform.tolist()) == list(range(100))
    shares = np.bincount(labels[drawn], minlength=3) / len(drawn)
    # 6,000 draws: each share within 3 standard errors of 1/3.
    np.testing.assert_allclose(shares, 1 / 3, atol=3 * np.sqrt(2 / 9 / 6000))


def test_balance_classes_changes_training_only_by_the_anchors(digits):
    X, y = digits
    a = tiny_variation().fit(X, y)
    b = tiny_variation(balance_classes=True).fit(X, y)
    c = tiny_variation(balance_classes=False).fit(X, y)
    np.testing.assert_array_equal(
        a.sample(X[:5], random_state=0), b.sample(X[:5], random_state=0)
    )
    assert not np.array_equal(
        a.sample(X[:5], random_state=0), c.sample(X[:5], random_state=0)
    )


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (1, 8, 8), (2, 5, 7)])
@pytest.mark.parametrize("depth", [0, 1, 2])
def test_generator_returns_images_of_the_source_shape(shape, depth):
    if min(shape[1:]) < 4 * 2**depth:
        depth = 0
    generator = VariationGenerator(shape, noise_dim=3, width=4, depth=depth)
    out = generator(torch.zeros(2, *shape), torch.randn(2, 3))
    assert out.shape == (2, *shape)
    assert out.abs().max() <= 1


# --------------------------------------------------------------- the estimator


def test_sample_returns_one_variant_per_source_in_the_training_layout(digits):
    X, y = digits
    X8 = X.astype(np.uint8)
    gan = tiny_variation().fit(X8, y)
    out = gan.sample(X8[:7], random_state=1)
    assert out.shape == (7, 64) and out.dtype == np.uint8
    assert out.min() >= X8.min() and out.max() <= X8.max()
    images = X.reshape(-1, 8, 8, 1) / 16
    rgb = np.repeat(images, 3, axis=3)
    gan = tiny_variation().fit(rgb, y)
    out = gan.sample(rgb[:4], random_state=0)
    assert out.shape == (4, 8, 8, 3) and out.dtype == np.float64
    assert gan.image_shape_ == (8, 8, 3)


def test_equal_seeds_give_identical_models_and_samples(digits):
    X, y = digits
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    first = tiny_variation(random_state=3).fit(X, y)
    second = tiny_variation(random_state=3).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    for a, b in zip(
        first.generator_ema_.state_dict().values(),
        second.generator_ema_.state_dict().values(),
    ):
        assert torch.equal(a, b)
    assert [r["d_loss"] for r in first.history_] == [
        r["d_loss"] for r in second.history_
    ]
    np.testing.assert_array_equal(
        first.sample(X[:9], random_state=5), second.sample(X[:9], random_state=5)
    )
    other = tiny_variation(random_state=4).fit(X, y)
    assert not np.array_equal(
        first.sample(X[:9], random_state=5), other.sample(X[:9], random_state=5)
    )


def test_variants_depend_on_the_source_and_the_seed(fitted, digits):
    X, _ = digits
    a = fitted.sample(X[:20], random_state=0)
    np.testing.assert_allclose(fitted.sample(X[:5], random_state=0), a[:5], atol=1e-5)
    assert not np.allclose(fitted.sample(X[:20], random_state=1), a)
    # The same noise on other sources gives other images.
    assert not np.allclose(fitted.sample(X[20:40], random_state=0), a)
    # The same source twice gets two different variants (different noise).
    twice = fitted.sample(np.repeat(X[:1], 2, axis=0), random_state=0)
    assert not np.allclose(twice[0], twice[1])


def test_steps_and_epochs_count_updates(digits):
    X, y = digits
    gan = tiny_variation(steps=7).fit(X, y)
    assert sum(r["n_steps"] for r in gan.history_) == 7
    gan = tiny_variation(
        steps=None, epochs=2, batch_size=40, balance_classes=False
    ).fit(X, y)
    # 120 images, three classes of two or more: 3 batches per epoch.
    assert [r["n_steps"] for r in gan.history_] == [3, 3]
    assert all(r["completed"] for r in gan.history_)


def test_y_none_makes_one_class(digits):
    X, _ = digits
    gan = tiny_variation().fit(X)
    assert gan.classes_.tolist() == [0]
    assert gan.class_prior_.tolist() == [1.0]


def test_classes_of_one_image_take_no_part(digits):
    X, y = digits
    y = y.copy()
    y[0] = 99  # a class of one image
    gan = tiny_variation().fit(X, y)
    assert 99 in gan.classes_
    assert gan.sample(X[:1], random_state=0).shape == (1, 64)


@pytest.mark.parametrize(
    "params, y, error, match",
    [
        ({}, np.arange(120), ValueError, "no class of y has two images"),
        ({}, np.zeros(5), ValueError, "120 images but y has 5"),
        ({"betas": (0.5, 1.5)}, None, ValueError, "betas"),
        ({"steps": True}, None, TypeError, "steps must be an int"),
        ({"loss": "wasserstein"}, None, ValueError, "loss"),
    ],
)
def test_bad_input_is_refused_before_training(digits, params, y, error, match):
    X, _ = digits
    with pytest.raises(error, match=match):
        tiny_variation(**params).fit(X, y)


def test_sampling_needs_a_fit_and_the_training_layout(fitted, digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        tiny_variation().sample(X[:2])
    with pytest.raises(ValueError, match="features"):
        fitted.sample(X[:2, :10])
    with pytest.raises(ValueError, match="one variant per source"):
        fitted.realism(X[:3], X[:2])


def test_realism_scores_pairs(fitted, digits):
    X, _ = digits
    scores = fitted.realism(X[:6], fitted.sample(X[:6], random_state=0))
    assert scores.shape == (6,) and np.isfinite(scores).all()


def test_score_is_minus_a_pixel_frechet_distance(fitted, digits):
    from skgan.metrics import frechet_inception_distance

    X, _ = digits
    fake = fitted.sample(X, random_state=fitted.random_state)
    expected = frechet_inception_distance(X, fake, feature_extractor=None)
    assert fitted.score(X) == pytest.approx(-expected)


def test_verbose_prints_progress_lines(digits, capsys):
    X, y = digits
    tiny_variation(steps=10, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and all(line.startswith("[fit]") for line in lines)
    assert "10/10 steps" in lines[-1] and "d_loss" in lines[-1]


def test_pickle_samples_identically(fitted, digits):
    X, _ = digits
    copy = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        copy.sample(X[:8], random_state=2), fitted.sample(X[:8], random_state=2)
    )
    assert copy.history_ == fitted.history_


def test_model_file_round_trip(fitted, digits, tmp_path):
    X, _ = digits
    path = save_model(fitted, tmp_path / "variation.skgan")
    loaded = load_model(path)
    assert isinstance(loaded, VariationGAN)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(
        loaded.sample(X[:8], random_state=2), fitted.sample(X[:8], random_state=2)
    )
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert VariationGAN.load(fitted.save(tmp_path / "b.skgan")).history_ == (
        fitted.history_
    )


def test_model_file_with_wrong_tensors_is_refused(fitted, tmp_path):
    path = save_model(fitted, tmp_path / "variation.skgan")
    loaded = load_model(path)
    values, tensors = loaded._export_state()
    wider = tiny_variation(generator_width=8)
    with pytest.raises(ValueError, match="do not fit"):
        wider._import_state(values, tensors, torch.device("cpu"))
    assert not hasattr(wider, "generator_")


def test_learns_to_keep_the_class_of_the_source():
    """Two classes that differ in brightness only: after training on pairs,
    a variant of a dark image is darker than a variant of a bright one."""
    rng = np.random.default_rng(0)
    n = 64
    dark = 0.25 + 0.05 * rng.standard_normal((n, 8, 8))
    bright = 0.75 + 0.05 * rng.standard_normal((n, 8, 8))
    X = np.clip(np.concatenate([dark, bright]), 0, 1)
    y = np.repeat([0, 1], n)
    gan = tiny_variation(steps=150, generator_width=8, discriminator_width=8)
    gan.fit(X, y)
    variants = gan.sample(X, random_state=0).mean(axis=(1, 2))
    assert variants[:n].mean() < 0.5 < variants[n:].mean()


# ----------------------------------------------------------- the augmenter


def test_augmenter_adds_variants_of_the_rare_class(digits):
    X, y = digits
    keep = (y != 2) | (np.arange(len(y)) % 4 == 0)
    X, y = X[keep], y[keep]
    augmenter = SyntheticAugmenter(
        estimator=tiny_variation(),
        mode="variation",
        class_check=None,
        synthetic_share=0.5,
        random_state=0,
    )
    X_res, y_res = augmenter.fit_resample(X, y)
    counts = np.bincount(y_res)
    assert counts.min() == counts.max()
    (model,) = augmenter.estimators_.values()
    assert isinstance(model, VariationGAN)
    assert list(augmenter.estimators_) == [None]
    assert augmenter.pretrained_estimator_ is None
    for label, n in augmenter.n_synthetic_.items():
        assert n == round(0.5 * augmenter.sampling_strategy_[label])
    # The same seed gives the same result.
    again = SyntheticAugmenter(
        estimator=tiny_variation(),
        mode="variation",
        class_check=None,
        synthetic_share=0.5,
        random_state=0,
    ).fit_resample(X, y)
    np.testing.assert_array_equal(again[0], X_res)


def test_variants_pass_the_near_copy_guard(digits):
    X, y = digits
    keep = (y != 2) | (np.arange(len(y)) % 4 == 0)
    X, y = X[keep], y[keep]
    augmenter = SyntheticAugmenter(
        estimator=tiny_variation(),
        mode="variation",
        class_check=None,
        synthetic_share=1.0,
        added_augmentation=None,
        near_copy_quantile=0.5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a short fill is fine
        X_res, y_res = augmenter.fit_resample(X, y)
    n_gen = augmenter.n_synthetic_[2]
    generated = X_res[len(X) : len(X) + n_gen]
    real = X[y == 2]
    distance = np.sqrt(((generated[:, None] - real[None]) ** 2).sum(-1)).min(1)
    assert (distance >= augmenter.near_copy_threshold_[2]).all()


def test_generated_variants_take_the_classic_path(digits):
    X, y = digits
    keep = (y != 2) | (np.arange(len(y)) % 4 == 0)
    X, y = X[keep], y[keep]
    seen = []

    def mark(images, random_state):
        seen.append(len(images))
        return np.full_like(images, -1.0)

    augmenter = SyntheticAugmenter(
        estimator=tiny_variation(),
        mode="variation",
        class_check=None,
        synthetic_share=0.5,
        added_augmentation=mark,
        near_copy_quantile=None,
        random_state=0,
    )
    X_res, _ = augmenter.fit_resample(X, y)
    # Every added image, generated or copied, went through the transformation.
    assert (X_res[len(X) :] == -1).all()
    assert sum(seen) == len(X_res) - len(X)


def test_variation_mode_refuses_a_dcgan_before_training(digits):
    X, y = digits
    keep = (y != 2) | (np.arange(len(y)) % 4 == 0)
    augmenter = SyntheticAugmenter(
        estimator=DCGANEstimator(steps=1), mode="variation", synthetic_share=0.5
    )
    with pytest.raises(TypeError, match="VariationGAN"):
        augmenter.fit_resample(X[keep], y[keep])


def test_default_variation_estimator_is_spelled_out():
    model = default_variation_estimator()
    assert isinstance(model, VariationGAN)
    assert model.steps == 600 and model.noise_dim == 32
    assert model.balance_classes


class _ShiftModel:
    """A stand-in variation model: a variant is its source plus 1000;
    realism prefers larger sources."""

    def sample(self, X_source, random_state=None):
        return X_source + 1000.0

    def realism(self, X_source, X_variant):
        return X_source.sum(axis=1)


def test_draw_variations_uses_every_source_and_keeps_the_most_real():
    from skgan.augment._generators import draw_variations

    X_class = np.arange(5, dtype=float)[:, None] * np.ones((1, 3))
    rng = np.random.RandomState(0)
    # candidate_factor 1: every source in turn, as many times as it fits.
    out, report = draw_variations(
        _ShiftModel(),
        X_class,
        10,
        rng,
        reference=X_class,
        threshold=None,
        candidate_factor=1,
        max_rounds=1,
    )
    sources = out[:, 0] - 1000
    assert np.bincount(sources.astype(int), minlength=5).tolist() == [2] * 5
    # candidate_factor 2: of 10 candidates (each source twice), the 5 best.
    out, report = draw_variations(
        _ShiftModel(),
        X_class,
        5,
        rng,
        reference=X_class,
        threshold=None,
        candidate_factor=2,
        max_rounds=1,
    )
    assert sorted(out[:, 0] - 1000) == [2, 3, 3, 4, 4]
    assert report["candidates"] == 10 and report["not_selected"] == 5
    # The near-copy guard: candidates within the threshold of a reference row
    # are dropped, round after round.
    near, report = draw_variations(
        _ShiftModel(),
        X_class,
        3,
        rng,
        reference=X_class + 1000.0,
        threshold=0.5,
        candidate_factor=1,
        max_rounds=3,
    )
    assert len(near) == 0
    assert report["rejected_near_copy"] == 9 and report["copies"] == 3


def test_fit_generate_returns_variants_of_every_class(digits):
    X, y = digits
    augmenter = SyntheticAugmenter(
        estimator=tiny_variation(),
        mode="variation",
        class_check=None,
        near_copy_quantile=None,
        random_state=0,
    )
    X_syn, y_syn = augmenter.fit_generate(X, y, n_per_class=7)
    assert X_syn.shape == (21, 64)
    assert np.bincount(y_syn).tolist() == [7, 7, 7]
    assert list(augmenter.estimators_) == [None]


def test_augmenter_reports_the_variation_phases(digits, capsys):
    X, y = digits
    keep = (y != 2) | (np.arange(len(y)) % 4 == 0)
    SyntheticAugmenter(
        estimator=tiny_variation(),
        mode="variation",
        class_check=None,
        synthetic_share=0.5,
        random_state=0,
        verbose=1,
    ).fit_resample(X[keep], y[keep])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "1/3 phases" in lines[0] and "trained a variation GAN" in lines[0]
    assert "generated and selected" in lines[1] and "3/3 phases" in lines[2]
