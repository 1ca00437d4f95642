"""Settings chosen by image size ("auto"), skip-layer excitation and adaptive
augmentation (ADA)."""

import numpy as np
import pytest
import torch

from skgan import DCGANEstimator
from skgan.gan._build import LARGE_IMAGE_SETTINGS, SMALL_IMAGE_SETTINGS, resolved
from skgan.nn import (
    AdaptiveAugmentation,
    Generator,
    auto_depth,
    diff_augment,
    parse_policy,
)
from skgan.persistence import load_model, save_model
from tests._tiny import tiny_gan

SIZE_DEPENDENT = [
    "generator_width",
    "discriminator_width",
    "batch_size",
    "generator_lr",
    "discriminator_lr",
    "diversity_weight",
    "batch_norm_statistics",
    "discriminator_projection",
]

#: The defaults before "auto" existed, spelled out independently of _build.
FORMER_DEFAULTS = {
    "generator_width": 16,
    "discriminator_width": 16,
    "batch_size": 32,
    "generator_lr": 2e-4,
    "discriminator_lr": 2e-4,
    "diversity_weight": 0.0,
    "batch_norm_statistics": "running",
    "discriminator_projection": "last_stage",
}


def images(n, side, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side), np.uint8)


# --------------------------------------------------------------------- "auto"


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (63, 200, 3)])
def test_auto_below_64_pixels_is_the_former_defaults(shape):
    est = DCGANEstimator()
    for name, value in FORMER_DEFAULTS.items():
        assert resolved(est, name, shape) == value
    assert SMALL_IMAGE_SETTINGS == FORMER_DEFAULTS


@pytest.mark.parametrize("shape", [(64, 64, 1), (128, 96, 3)])
def test_auto_from_64_pixels_on(shape):
    est = DCGANEstimator()
    for name, value in LARGE_IMAGE_SETTINGS.items():
        assert resolved(est, name, shape) == value


@pytest.mark.parametrize("name", SIZE_DEPENDENT)
def test_explicit_values_win_over_auto(name):
    value = {
        "batch_size": 5,
        "batch_norm_statistics": "running",
        "discriminator_projection": "last_stage",
    }.get(name, 3)
    est = DCGANEstimator(**{name: value})
    assert resolved(est, name, (64, 64, 1)) == value


@pytest.mark.parametrize("architecture, expected", [("dcgan", False), ("skip", True)])
def test_generator_architecture(architecture, expected):
    X = images(16, 32)
    est = tiny_gan(generator_architecture=architecture, steps=1).fit(X)
    assert (est.generator_.excitation is not None) is expected


def test_auto_at_28_pixels_trains_as_the_explicit_former_defaults():
    X = images(40, 28)
    common = dict(steps=3, feature_extractor=None, device="cpu", random_state=0)
    auto = DCGANEstimator(**common).fit(X)
    explicit = DCGANEstimator(**common, **FORMER_DEFAULTS).fit(X)
    np.testing.assert_array_equal(
        auto.sample(4, random_state=0), explicit.sample(4, random_state=0)
    )
    assert [r["d_loss"] for r in auto.history_] == [
        r["d_loss"] for r in explicit.history_
    ]


def test_auto_at_64_pixels_builds_the_large_image_networks():
    est = DCGANEstimator(
        steps=2, noise_dim=8, feature_extractor=None, device="cpu", random_state=0
    ).fit(images(20, 64))
    large = LARGE_IMAGE_SETTINGS
    assert est.generator_.excitation is None
    first = est.discriminator_.features[0]
    assert first.out_channels == large["discriminator_width"]
    last = est.generator_.to_image[0]
    assert last.in_channels == large["generator_width"]
    assert "augment_p" not in est.history_[-1]
    group = est._generator_optimizer.param_groups[0]
    assert group["lr"] == LARGE_IMAGE_SETTINGS["generator_lr"]


def test_auto_at_64_pixels_trains_with_the_diversity_term():
    X = images(20, 64)
    common = dict(steps=2, noise_dim=8, feature_extractor=None, device="cpu")
    fits = {
        weight: DCGANEstimator(**common, diversity_weight=weight, random_state=0)
        .fit(X)
        .sample(4, random_state=0)
        for weight in ("auto", 1.0, 0.0)
    }
    assert LARGE_IMAGE_SETTINGS["diversity_weight"] == 1.0
    np.testing.assert_array_equal(fits["auto"], fits[1.0])
    assert not np.array_equal(fits["auto"], fits[0.0])


@pytest.mark.parametrize(
    "name, value",
    [
        ("batch_size", "big"),
        ("generator_width", "wide"),
        ("generator_lr", "fast"),
        ("generator_architecture", "fastgan"),
    ],
)
def test_bad_auto_values_are_refused(name, value):
    with pytest.raises(ValueError, match=name):
        tiny_gan(**{name: value}).fit(images(8, 8))


# ----------------------------------------------------------- skip excitation


def test_skip_excitation_gates_the_fine_stages():
    torch.manual_seed(0)
    plain = Generator(8, (1, 64, 64), width=4, depth=4)
    torch.manual_seed(0)
    gated = Generator(8, (1, 64, 64), width=4, depth=4, skip_excitation=True)
    assert len(gated.excitation) == 2  # stages 2 and 3 of 0..3
    # Same stages otherwise: the plain network's weights load into the gated one.
    missing = gated.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(key.startswith("excitation.") for key in missing)
    noise = torch.randn(3, 8)
    gated.eval(), plain.eval()
    with torch.no_grad():
        a, b = gated(noise), plain(noise)
        assert a.shape == b.shape == (3, 1, 64, 64)
        assert not torch.equal(a, b)
        # Gates of exactly 1 give the plain network back.
        for module in gated.excitation:
            last = module.gate[3]
            last.weight.zero_()
            last.bias.fill_(1e4)
        torch.testing.assert_close(gated(noise), plain(noise))


def test_skip_excitation_needs_three_stages():
    assert (
        Generator(8, (1, 16, 16), width=4, depth=2, skip_excitation=True).excitation
        is None
    )
    g = Generator(8, (1, 32, 32), width=4, depth=3, skip_excitation=True)
    assert len(g.excitation) == 1
    assert g(torch.randn(2, 8)).shape == (2, 1, 32, 32)


def test_skip_excitation_with_transposed_upsampling_and_classes():
    g = Generator(
        8,
        (1, 128, 128),
        width=2,
        depth=auto_depth(128, 128),
        upsampling="transposed",
        n_classes=3,
        skip_excitation=True,
    )
    out = g(torch.randn(2, 8), torch.tensor([0, 2]))
    assert out.shape == (2, 1, 128, 128)


# --------------------------------------------------------------------- ADA


def test_parse_adaptive_policies():
    assert parse_policy("ada") == ("ada", "translation", "cutout")
    assert parse_policy("translation, ada") == ("ada", "translation")
    assert parse_policy("ada,color,cutout") == ("ada", "color", "cutout")
    with pytest.raises(ValueError, match="'ada'"):
        parse_policy("ada,flip")


def test_diff_augment_probability():
    x = torch.randn(200, 1, 8, 8)
    assert diff_augment(x, ("ada", "cutout"), p=0.0) is x
    torch.manual_seed(0)
    always = diff_augment(x, ("cutout",))
    torch.manual_seed(0)
    assert torch.equal(diff_augment(x, ("ada", "cutout"), p=1.0), always)
    torch.manual_seed(1)
    half = diff_augment(x, ("cutout",), p=0.5)
    changed = (half != x).flatten(1).any(1).float().mean().item()
    assert 0.35 < changed < 0.65  # 200 images: 5 standard deviations


def test_adaptive_probability_follows_the_heuristic():
    ada = AdaptiveAugmentation(target=0.6, interval=4, ramp_steps=20)
    for _ in range(3):
        ada.update(8, 8)  # every real image judged real: r = 1
    assert ada.p == 0.0  # adjusted every 4 steps only
    ada.update(8, 8)
    assert ada.p == pytest.approx(0.2)
    for _ in range(40):
        ada.update(8, 8)
    assert ada.p == 1.0
    for _ in range(8):
        ada.update(0, 8)  # r = -1
    assert ada.p == pytest.approx(0.6)
    for _ in range(4):
        ada.update(4, 8)  # r = 0: p falls
    assert ada.p == pytest.approx(0.4)
    for _ in range(100):
        ada.update(4, 8)  # r = 0
    assert ada.p == 0.0


def test_adaptive_probability_stays_at_the_target():
    ada = AdaptiveAugmentation(target=0.5, interval=2, ramp_steps=10, p=0.3)
    for _ in range(6):
        ada.update(6, 8)  # r = 0.5 exactly
    assert ada.p == 0.3


def test_ada_in_the_estimator_is_recorded_reproducible_and_continued():
    X = images(64, 8)
    params = dict(augment="ada", batch_size=8, epochs=3)
    a = tiny_gan(**params).fit(X)
    b = tiny_gan(**params).fit(X)
    assert [r["augment_p"] for r in a.history_] == [r["augment_p"] for r in b.history_]
    assert all(0.0 <= r["augment_p"] <= 1.0 for r in a.history_)
    # Eight steps an epoch: p moves by at most 2 * 4 / 200 per epoch, and the
    # second fit starts where the first ended.
    a.set_params(warm_start=True, epochs=1).fit(X)
    ps = [0.0] + [r["augment_p"] for r in a.history_]
    assert all(abs(q - p) <= 0.04 + 1e-12 for p, q in zip(ps, ps[1:]))
    assert "augment_p" not in tiny_gan(augment="translation").fit(X).history_[0]


def test_ada_probability_rises_while_the_discriminator_wins():
    """A discriminator that tells real from fake raises p (a steep ramp)."""
    X = np.zeros((64, 8, 8), np.uint8)
    X[:, 2:6, 2:6] = 255
    est = tiny_gan(augment="ada", batch_size=8, epochs=8).fit(X)
    accuracy = [r["d_real_accuracy"] for r in est.history_]
    ps = [r["augment_p"] for r in est.history_]
    if np.mean(accuracy) > 0.8:
        assert max(ps) > 0.0


# ------------------------------------------------------------- persistence


def test_new_parameters_round_trip_through_model_files(tmp_path):
    X = images(16, 32)
    est = tiny_gan(
        generator_architecture="skip", augment="ada", batch_size=8, steps=3
    ).fit(X)
    loaded = load_model(save_model(est, tmp_path / "m.skgan"))
    assert loaded.get_params() == est.get_params()
    assert loaded.history_ == est.history_
    np.testing.assert_array_equal(
        loaded.sample(4, random_state=0), est.sample(4, random_state=0)
    )


def test_the_augmenter_default_gan_does_not_depend_on_image_size():
    from skgan.augment import default_augmentation_estimator

    params = default_augmentation_estimator().get_params()
    for name in SIZE_DEPENDENT:
        assert params[name] == SMALL_IMAGE_SETTINGS[name]
