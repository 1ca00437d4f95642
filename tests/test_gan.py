"""DCGANEstimator behaviour users rely on."""

import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from skgan import DCGANEstimator, DivergenceError
from tests._tiny import tiny_gan


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


def random_images(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 256, size=shape).astype(dtype)
    return rng.random(shape).astype(dtype)


# ------------------------------------------------------------------- layouts


@pytest.mark.parametrize(
    "X, image_shape, expected_image_shape",
    [
        (load_digits().data, None, (8, 8, 1)),
        (random_images((20, 28, 28)), None, (28, 28, 1)),
        (random_images((20, 32, 32, 3)), None, (32, 32, 3)),
        (random_images((20, 1, 5), np.float32), None, (1, 5, 1)),
        (random_images((20, 1, 1)), None, (1, 1, 1)),
        (random_images((20, 2 * 3 * 3), np.float64), (2, 3, 3), (2, 3, 3)),
        (random_images((20, 13, 7)), None, (13, 7, 1)),
    ],
    ids=[
        "digits-flat",
        "28-gray-uint8",
        "32-rgb-uint8",
        "1x5",
        "1x1",
        "flat-rgb",
        "13x7",
    ],
)
def test_samples_match_training_layout(X, image_shape, expected_image_shape):
    gan = tiny_gan(noise_dim=150, image_shape=image_shape).fit(X)
    assert gan.image_shape_ == expected_image_shape
    out = gan.sample(7, random_state=0)
    assert out.shape == (7, *X.shape[1:])
    assert out.dtype == X.dtype
    assert out.min() >= X.min() and out.max() <= X.max()


@settings(max_examples=12, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    channels=st.sampled_from([1, 3]),
    layout=st.sampled_from(["flat", "gray", "channels_last"]),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
    low=st.floats(-100, 100),
    span=st.floats(0.1, 500),
)
def test_any_shape_and_range_round_trips(
    height, width, channels, layout, dtype, low, span
):
    """Property: any image size and range gives samples in that range and layout."""
    if layout == "gray":
        channels = 1
    shape = {
        "flat": (6, height * width * channels),
        "gray": (6, height, width),
        "channels_last": (6, height, width, channels),
    }[layout]
    X = random_images(shape, dtype)
    if dtype != np.uint8:
        X = (low + span * X).astype(dtype)
    image_shape = (height, width, channels) if layout == "flat" else None
    gan = tiny_gan(image_shape=image_shape, batch_size=4, depth=None).fit(X)
    out = gan.sample(3, random_state=1)
    assert out.shape == (3, *shape[1:]) and out.dtype == X.dtype
    assert X.min() <= out.min() and out.max() <= X.max()
    assert np.isfinite(out.astype(np.float64)).all()


def test_non_square_flat_input_asks_for_image_shape():
    with pytest.raises(ValueError, match="Pass image_shape"):
        tiny_gan().fit(np.zeros((10, 10)))


def test_score_and_partial_fit_require_the_fit_layout(digits):
    gan = tiny_gan().fit(digits)
    with pytest.raises(ValueError, match="expecting 64 features"):
        gan.partial_fit(digits.reshape(-1, 8, 8))
    gan = tiny_gan().fit(digits.reshape(-1, 8, 8))
    with pytest.raises(ValueError, match="same layout"):
        gan.partial_fit(digits.reshape(-1, 8, 8, 1))
    with pytest.raises(ValueError, match="same layout"):
        gan.score(digits.reshape(-1, 8, 8, 1))


# -------------------------------------------------------------- determinism


def test_same_seed_gives_bit_identical_models(digits):
    a = tiny_gan(epochs=2, discriminator_dropout=0.4, real_label=(0.8, 1.0)).fit(digits)
    b = tiny_gan(epochs=2, discriminator_dropout=0.4, real_label=(0.8, 1.0)).fit(digits)
    np.testing.assert_array_equal(
        a.sample(50, random_state=0), b.sample(50, random_state=0)
    )
    assert a.history_[-1]["d_loss"] == b.history_[-1]["d_loss"]
    c = tiny_gan(epochs=2, random_state=1).fit(digits)
    assert not np.array_equal(
        a.sample(50, random_state=0), c.sample(50, random_state=0)
    )


def test_fit_leaves_global_random_state_alone(digits):
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 (the global state is under test)
    expected_torch = torch.rand(3)
    expected_numpy = np.random.rand(3)  # noqa: NPY002 (the global state is under test)
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 (the global state is under test)
    gan = tiny_gan(discriminator_dropout=0.3).fit(digits)
    gan.sample(5, random_state=0)
    torch.testing.assert_close(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)  # noqa: NPY002 (the global state is under test)


def test_sample_random_state(digits):
    gan = tiny_gan().fit(digits)
    np.testing.assert_array_equal(
        gan.sample(9, random_state=3), gan.sample(9, random_state=3)
    )
    assert not np.array_equal(
        gan.sample(9, random_state=3), gan.sample(9, random_state=4)
    )
    # Batching does not change the images: the first 5 of 300 are the 5 alone.
    np.testing.assert_array_equal(
        gan.sample(300, random_state=3)[:5], gan.sample(5, random_state=3)
    )


# --------------------------------------------------- warm start, partial_fit


def test_warm_start_continues_training(digits):
    cold = tiny_gan(epochs=3).fit(digits)
    warm = tiny_gan(epochs=1, warm_start=True).fit(digits)
    weights = [p.detach().clone() for p in warm.generator_.parameters()]
    warm.fit(digits).fit(digits)
    assert [r["epoch"] for r in warm.history_] == [1, 2, 3]
    assert any(
        not torch.equal(w, p) for w, p in zip(weights, warm.generator_.parameters())
    )
    # Three warm-started epochs are the same computation as three in one fit.
    np.testing.assert_array_equal(
        cold.sample(20, random_state=0), warm.sample(20, random_state=0)
    )


def test_fit_without_warm_start_reinitialises(digits):
    gan = tiny_gan(epochs=2).fit(digits)
    first = gan.sample(10, random_state=0)
    gan.fit(digits)
    assert len(gan.history_) == 2
    np.testing.assert_array_equal(gan.sample(10, random_state=0), first)


def test_partial_fit_adds_one_epoch_per_call(digits):
    gan = tiny_gan()
    for _ in range(3):
        gan.partial_fit(digits)
    assert len(gan.history_) == 3
    np.testing.assert_array_equal(
        gan.sample(10, random_state=0),
        tiny_gan(epochs=3).fit(digits).sample(10, random_state=0),
    )


# -------------------------------------------------------------- history, verbose


def test_history_records_every_epoch(digits):
    gan = tiny_gan(epochs=3).fit(digits)
    assert [r["epoch"] for r in gan.history_] == [1, 2, 3]
    for record in gan.history_:
        assert {
            "d_loss",
            "g_loss",
            "d_real_accuracy",
            "d_fake_accuracy",
            "seconds",
        } <= set(record)
        assert (
            0 <= record["d_real_accuracy"] <= 1 and 0 <= record["d_fake_accuracy"] <= 1
        )
        assert record["seconds"] > 0 and np.isfinite(record["d_loss"])
        assert record["n_steps"] == len(digits) // 16


PROGRESS = re.compile(
    r"^\[(fit|partial_fit)\] (\d+)/(\d+) (epochs|steps), elapsed \d+\.\ds, "
    r"(about \d+\.\ds left|done) - epoch (\d+): d_loss -?\d+\.\d{4} "
)


def parse(lines):
    """``(phase, done, total, unit, epoch)`` of each progress line."""
    matches = [PROGRESS.match(line) for line in lines]
    assert all(matches), lines
    return [(m[1], int(m[2]), int(m[3]), m[4], int(m[6])) for m in matches]


def progress_lines(capsys):
    return parse(capsys.readouterr().out.strip().splitlines())


def test_verbose_prints_one_progress_line_per_epoch(digits, capsys):
    gan = tiny_gan(epochs=2, verbose=0).fit(digits)
    gan.partial_fit(digits)
    assert capsys.readouterr().out == ""
    gan = tiny_gan(epochs=3, verbose=1).fit(digits)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "about" in lines[0] and "left" in lines[0] and "done" in lines[-1]
    assert parse(lines) == [
        ("fit", 1, 3, "epochs", 1),
        ("fit", 2, 3, "epochs", 2),
        ("fit", 3, 3, "epochs", 3),
    ]
    gan.set_params(warm_start=True, epochs=1).fit(digits)
    gan.partial_fit(digits)
    assert progress_lines(capsys) == [
        ("fit", 1, 1, "epochs", 4),
        ("partial_fit", 1, 1, "epochs", 5),
    ]


def test_verbose_with_steps_prints_about_ten_lines(digits, capsys):
    # 50 images in batches of 16: 3 steps per epoch, 30 steps = 10 epochs.
    tiny_gan(steps=30, verbose=0).fit(digits[:50])
    assert capsys.readouterr().out == ""
    tiny_gan(steps=30, verbose=1).fit(digits[:50])
    got = progress_lines(capsys)
    assert [done for _, done, *_ in got] == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert {(phase, total, unit) for phase, _, total, unit, _ in got} == {
        ("fit", 30, "steps")
    }
    # One line per chunk of steps, not per epoch: 1 step per epoch here.
    tiny_gan(steps=25, batch_size=50, verbose=1).fit(digits[:50])
    assert [done for _, done, *_ in progress_lines(capsys)] == [*range(2, 25, 2), 25]
    # Within one long epoch (50 steps of 4 images): lines for chunks of steps.
    tiny_gan(steps=20, batch_size=4, verbose=1).fit(digits[:200])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" - ")[1] for line in lines[:-1]] == [
        f"epoch 1, step {n}" for n in range(2, 20, 2)
    ]
    assert lines[0].startswith("[fit] 2/20 steps, elapsed ") and "left" in lines[0]
    assert parse(lines[-1:]) == [("fit", 20, 20, "steps", 1)]
    # verbose=2 adds every epoch's line (3 steps each) to the chunks of steps.
    tiny_gan(steps=20, verbose=2).fit(digits[:50])
    lines = capsys.readouterr().out.strip().splitlines()
    ends = parse([line for line in lines if ": d_loss" in line])
    assert [done for _, done, *_ in ends] == [3, 6, 9, 12, 15, 18, 20]
    chunks = [line.split(" - ")[0] for line in lines if ": d_loss" not in line]
    assert [c.split()[1] for c in chunks] == [
        "2/20",
        "4/20",
        "8/20",
        "10/20",
        "14/20",
        "16/20",
    ]


def test_callbacks_see_each_epoch_and_can_sample(digits):
    seen = []

    def callback(estimator, record):
        seen.append((record["epoch"], estimator.sample(2, random_state=0).shape))

    tiny_gan(epochs=3, callbacks=[callback]).fit(digits)
    assert seen == [(1, (2, 64)), (2, (2, 64)), (3, (2, 64))]


def test_max_time_stops_within_one_step(digits):
    gan = tiny_gan(epochs=10_000, batch_size=2, max_time=0.3).fit(digits)
    total = sum(r["seconds"] for r in gan.history_)
    assert len(gan.history_) == 1 and not gan.history_[0]["completed"]
    step = total / gan.history_[0]["n_steps"]
    assert total < 0.3 + 5 * step + 0.05


# ---------------------------------------------------------------- persistence


@pytest.mark.parametrize("dumps", ["pickle", "joblib"])
def test_pickle_round_trip_samples_identically(digits, dumps, tmp_path):
    gan = tiny_gan(epochs=2).fit(digits)
    if dumps == "pickle":
        loaded = pickle.loads(pickle.dumps(gan))
    else:
        joblib.dump(gan, tmp_path / "gan.joblib")
        loaded = joblib.load(tmp_path / "gan.joblib")
    np.testing.assert_array_equal(
        loaded.sample(20, random_state=0), gan.sample(20, random_state=0)
    )
    # Training state (optimizers, random stream) survives too.
    gan.set_params(warm_start=True, epochs=1).fit(digits)
    loaded.set_params(warm_start=True, epochs=1).fit(digits)
    np.testing.assert_array_equal(
        loaded.sample(20, random_state=0), gan.sample(20, random_state=0)
    )


def test_model_trained_on_a_missing_accelerator_loads_on_cpu(digits):
    gan = tiny_gan().fit(digits)
    state = gan.__getstate__()
    state["device_"] = "cuda:0" if not torch.cuda.is_available() else "mps"
    restored = DCGANEstimator.__new__(DCGANEstimator)
    with pytest.warns(RuntimeWarning, match="loaded on the CPU"):
        restored.__setstate__(state)
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(
        restored.sample(5, random_state=0), gan.sample(5, random_state=0)
    )


def test_unfitted_model_pickles_and_clones():
    gan = tiny_gan(noise_dim=150)
    assert pickle.loads(pickle.dumps(gan)).get_params() == gan.get_params()
    assert clone(gan).get_params() == gan.get_params()


# ------------------------------------------------------- failures stay clean


def test_divergence_raises_and_restores_last_good_epoch(digits):
    gan = tiny_gan(epochs=1, loss="hinge").fit(digits)
    good = gan.sample(5, random_state=0)
    # Absurd learning rates make the next epoch's losses overflow at once.
    gan.set_params(warm_start=True, epochs=3, generator_lr=1e30, discriminator_lr=1e30)
    with pytest.raises(DivergenceError, match="restored to its state after epoch 1"):
        gan.fit(digits)
    assert len(gan.history_) == 1
    np.testing.assert_array_equal(gan.sample(5, random_state=0), good)


def test_divergence_restore_mode_warns_and_keeps_good_model(digits):
    gan = tiny_gan(
        epochs=3,
        generator_lr=1e30,
        discriminator_lr=1e30,
        loss="hinge",
        on_divergence="restore",
    )
    with pytest.warns(RuntimeWarning, match="Training stopped"):
        gan.fit(digits)
    assert np.isfinite(gan.sample(5, random_state=0)).all()


def test_keyboard_interrupt_keeps_completed_epochs(digits):
    def interrupt_at_third(estimator, record):
        if record["epoch"] == 2:
            estimator._after_epoch_two = estimator.sample(5, random_state=0)
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    gan = tiny_gan(epochs=10, callbacks=[interrupt_at_third])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        gan.fit(digits)
    # The interrupt came after epoch 3 was recorded: the model is that of epoch 3.
    assert len(gan.history_) == 3
    assert np.isfinite(gan.sample(5, random_state=0)).all()


# ------------------------------------------------------------------- quality


def test_digits_samples_are_closer_to_digits_than_noise_is(digits):
    """A real fit: samples sit near real digits and cover most digit classes."""
    X, y = load_digits(return_X_y=True)
    gan = DCGANEstimator(
        epochs=10,
        generator_width=16,
        discriminator_width=16,
        device="cpu",
        random_state=0,
    ).fit(X)
    samples = gan.sample(300, random_state=1)
    noise = np.random.default_rng(0).uniform(0, 16, size=(300, 64))
    nearest = NearestNeighbors(n_neighbors=1).fit(X)
    sample_distance = nearest.kneighbors(samples)[0].mean()
    noise_distance = nearest.kneighbors(noise)[0].mean()
    # Measured: samples ~25, uniform noise ~57, real digits to their nearest other ~16.
    assert sample_distance < 0.6 * noise_distance
    classes = LogisticRegression(max_iter=3000).fit(X, y).predict(samples)
    assert len(np.unique(classes)) >= 8


@pytest.mark.parametrize(
    "X",
    [
        load_digits().data,
        random_images((40, 28, 28)),
        random_images((40, 32, 32, 3)),
    ],
    ids=["digits", "28x28-uint8", "32x32x3-uint8"],
)
def test_noise_dim_150_default_networks_fit(X):
    gan = DCGANEstimator(noise_dim=150, epochs=1, device="cpu", random_state=0).fit(X)
    assert gan.sample(2, random_state=0).shape == (2, *X.shape[1:])


def test_pneumoniamnist_uint8_images(pneumonia_path):
    images = np.load(pneumonia_path)["train_images"][:256]
    gan = DCGANEstimator(
        noise_dim=150,
        epochs=1,
        generator_width=16,
        discriminator_width=16,
        device="cpu",
        random_state=0,
    ).fit(images)
    out = gan.sample(4, random_state=0)
    assert out.shape == (4, 28, 28) and out.dtype == np.uint8


def test_generator_first_stage_and_seed_settings(digits):
    gan = tiny_gan(
        generator_first_stage="transposed",
        generator_upsampling="transposed",
        generator_batch_norm=False,
        spectral_norm=False,
        discriminator_dropout=0.4,
        real_label=(0.8, 1.0),
        fake_label=0.1,
        generator_lr=6e-4,
        discriminator_lr=1e-4,
        batch_size=4,
    ).fit(digits[:40])
    assert np.isfinite(gan.sample(3, random_state=0)).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"betas": (0.5,)}, "betas"),
        ({"betas": (0.5, 1.5)}, "betas"),
        ({"real_label": (0.9, 0.8)}, "low <= high"),
        ({"real_label": (0.9, 0.8, 1.0)}, "real_label"),
        ({"noise_dim": 0}, "noise_dim"),
        ({"loss": "wasserstein"}, "loss"),
        (
            {"device": "cuda:7" if not torch.cuda.is_available() else "nodevice"},
            "device",
        ),
    ],
)
def test_bad_parameters_raise_before_training(digits, params, match):
    gan = tiny_gan(**params)
    with pytest.raises(ValueError, match=match):
        gan.fit(digits)
    assert not hasattr(gan, "generator_")


def test_sample_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        tiny_gan().sample(3)


def test_warnings_clean_fit(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_gan().fit(digits).sample(3)


def test_diffaugment_and_moving_average_training(digits):
    params = dict(epochs=3, augment="color,translation,cutout", ema_decay=0.99)
    gan = tiny_gan(**params).fit(digits)
    assert gan.generator_ema_ is not None
    # Sampling uses the average, which differs from the raw generator.
    raw = tiny_gan(**params).fit(digits)
    raw.generator_ema_ = None
    assert not np.array_equal(
        gan.sample(5, random_state=0), raw.sample(5, random_state=0)
    )
    # Warm starts and pickling carry the average and its step count.
    warm = tiny_gan(**(params | {"epochs": 1, "warm_start": True}))
    for _ in range(3):
        warm.fit(digits)
    np.testing.assert_array_equal(
        warm.sample(9, random_state=0), gan.sample(9, random_state=0)
    )
    loaded = pickle.loads(pickle.dumps(gan))
    np.testing.assert_array_equal(
        loaded.sample(9, random_state=0), gan.sample(9, random_state=0)
    )
    # Turning the average off drops it rather than sampling a stale one.
    gan.set_params(ema_decay=None, warm_start=True, epochs=1).fit(digits)
    assert gan.generator_ema_ is None


def test_bad_augmentation_policy_is_refused_before_training(digits):
    gan = tiny_gan(augment="translation,flip")
    with pytest.raises(ValueError, match="Unknown augmentation"):
        gan.fit(digits)
    assert not hasattr(gan, "generator_")


def test_steps_counts_updates_not_epochs(digits):
    small = digits[:40]  # 2 steps per epoch at batch_size=16
    gan = tiny_gan(steps=7, epochs=1).fit(small)
    assert sum(r["n_steps"] for r in gan.history_) == 7
    assert [r["completed"] for r in gan.history_] == [True, True, True, False]
    # Warm starts add their own steps; steps overrides epochs.
    warm = tiny_gan(steps=3, epochs=50, warm_start=True).fit(small)
    warm.set_params(steps=4).fit(small)
    assert sum(r["n_steps"] for r in warm.history_) == 7


def test_score_with_a_feature_extractor_and_held_out_range(digits):
    """score() maps images to features; held-out values may exceed the fit range."""
    gan = tiny_gan(feature_extractor=lambda images: images.reshape(len(images), -1))
    gan.fit(digits[:1000] * 0.5)  # training range 0..8
    held_out = digits[1000:1400]  # range 0..16
    score = gan.score(held_out)
    assert np.isfinite(score) and score < 0
    uint8 = tiny_gan(feature_extractor=lambda images: images.reshape(len(images), -1))
    images = (digits * 10).astype(np.uint8)  # values 0..160, scored on 0..255
    assert np.isfinite(uint8.fit(images).score(images[:300]))


def test_continued_training_accepts_values_a_little_outside_the_fitted_range(digits):
    gan = tiny_gan().fit(digits)  # values 0..16
    gan.partial_fit(digits * 1.5)  # up to 24: within one span beyond the range
    with pytest.raises(ValueError, match="far outside the range 0 to 16"):
        gan.partial_fit(digits * 3 + 1)  # up to 49
    with pytest.raises(ValueError, match="warm_start=False"):
        gan.set_params(warm_start=True).fit(digits - 40)
    assert len(gan.history_) == 2  # the refused calls trained nothing


def test_score_reports_its_feature_extraction_when_verbose(digits, capsys):
    flat = tiny_gan(feature_extractor=lambda images: images.reshape(len(images), -1))
    quiet = flat.fit(digits[:200]).score(digits[200:300])
    assert capsys.readouterr() == ("", "")
    loud = flat.set_params(verbose=1).score(digits[200:300])
    assert loud == quiet
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(" 100/100 images, elapsed " in x for x in lines)
