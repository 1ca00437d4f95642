"""Training that speaks up: a discriminator that has won, collapse, no progress."""

import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist
from torch import nn

from skgan import TrainingWarning
from skgan.nn.diagnosis import (
    WON_WARMUP_STEPS,
    GeneratorProbe,
    TrainingDiagnosis,
    mean_pairwise_distance,
    within_class_distance,
)


def _blobs(n=64, size=16, seed=0):
    """Bright discs of varied place and radius on a dark background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        cy, cx = rng.uniform(4, size - 4, 2)
        r = rng.uniform(2, 5)
        out[i][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 200
    return out


def _stats(real, fake, d_loss, g_loss, steps=10, images=320):
    return {
        "d_loss": d_loss,
        "g_loss": g_loss,
        "d_real_accuracy": real,
        "d_fake_accuracy": fake,
        "n_steps": steps,
        "n_images": images,
    }


def _past_warmup(diagnosis):
    """Feed neutral windows until a won discriminator is judged."""
    for _ in range(WON_WARMUP_STEPS // 10):
        diagnosis.add_window(_stats(0.8, 0.8, d_loss=1.0, g_loss=1.0))
    assert diagnosis.active == set()
    return diagnosis


def test_overpowered_discriminator_warns_in_the_first_quarter(tiny_gan):
    # 256 images in batches of 16: 16 steps an epoch, 1,280 in all.
    epochs = 80
    gan = tiny_gan(
        epochs=epochs,
        generator_lr=1e-6,
        discriminator_lr=2e-3,
        discriminator_width=16,
        spectral_norm=False,
    )
    with pytest.warns(TrainingWarning, match="augment='translation,cutout'"):
        gan.fit(_blobs(n=256))
    flagged = [r["epoch"] for r in gan.history_ if "discriminator_won" in r["warnings"]]
    assert flagged and flagged[0] <= epochs // 4
    assert gan.history_[-1]["d_real_accuracy"] >= 0.95


def test_healthy_tiny_fit_is_quiet(tiny_gan):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        gan = tiny_gan(epochs=3).fit(_blobs())
    assert all(r["warnings"] == [] for r in gan.history_)
    spreads = [r["sample_spread"] for r in gan.history_]
    assert all(s is None or s >= 0 for s in spreads)


def test_a_won_discriminator_warns_once_per_fit_and_in_progress_lines(tiny_gan, capsys):
    gan = tiny_gan(
        epochs=80,
        generator_lr=1e-6,
        discriminator_lr=2e-3,
        discriminator_width=16,
        spectral_norm=False,
        verbose=2,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(_blobs())
    kinds = [str(w.message)[:30] for w in caught if w.category is TrainingWarning]
    assert len(kinds) == len(set(kinds)) >= 1
    assert "[discriminator won]" in capsys.readouterr().out


def test_partial_fit_reports_a_failure_once(tiny_gan):
    gan = tiny_gan(
        generator_lr=1e-6,
        discriminator_lr=2e-3,
        discriminator_width=16,
        spectral_norm=False,
    )
    X = _blobs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(80):
            gan.partial_fit(X)
    won = [w for w in caught if "discriminator has won" in str(w.message)]
    assert len(won) == 1
    assert "discriminator_won" in gan.history_[-1]["warnings"]


def test_rules_separate_a_won_discriminator_from_a_busy_one():
    won = _past_warmup(TrainingDiagnosis("hinge"))
    busy = _past_warmup(TrainingDiagnosis("hinge"))
    digits = _past_warmup(TrainingDiagnosis("hinge"))
    for _ in range(3):
        won.add_window(_stats(1.0, 0.99, d_loss=0.02, g_loss=5.0))
        # Augmented training measured: accuracies near 0.95, loss about 0.3.
        busy.add_window(_stats(0.96, 0.97, d_loss=0.3, g_loss=1.8))
        # A healthy default fit on digits: D sure, yet G still learning.
        digits.add_window(_stats(1.0, 1.0, d_loss=0.05, g_loss=1.5))
    assert won.active == {"discriminator_won"}
    assert won.new_failures() == ["discriminator_won"] and won.new_failures() == []
    assert busy.active == digits.active == set()
    one = _past_warmup(TrainingDiagnosis("bce"))  # one window is not enough
    one.add_window(_stats(1.0, 1.0, d_loss=0.01, g_loss=5.0))
    assert one.active == set()


def test_a_discriminator_winning_the_first_steps_is_not_flagged():
    # Measured on 64-pixel brain MRI: a healthy discriminator wins the first
    # 60-100 steps, then the generator catches up.
    diagnosis = TrainingDiagnosis("hinge")
    for _ in range(WON_WARMUP_STEPS // 10):
        diagnosis.add_window(_stats(1.0, 1.0, d_loss=0.005, g_loss=4.5))
    assert diagnosis.active == set()
    for _ in range(2):
        diagnosis.add_window(_stats(1.0, 1.0, d_loss=0.005, g_loss=4.5))
    assert diagnosis.active == {"discriminator_won"}


def test_epoch_end_counts_only_the_steps_not_seen_within_the_epoch():
    diagnosis = TrainingDiagnosis("hinge", window_steps=10)
    diagnosis.add_window(_stats(1.0, 1.0, 0.01, 3.0, steps=10, images=320))
    # The epoch's 14 steps: 10 seen above, 4 left (fewer than a window).
    epoch = _stats(1.0, 1.0, 0.01, 3.0, steps=14, images=448)
    assert diagnosis.end_epoch(dict(epoch, completed=True)) == []
    assert diagnosis.pending[4] == 4


class _Frozen(nn.Module):
    """A generator that ignores its noise: every sample is the same image."""

    def __init__(self):
        super().__init__()
        self.image = nn.Parameter(torch.zeros(1, 1, 4, 4))

    def forward(self, noise, labels=None):
        return self.image.expand(noise.shape[0], -1, -1, -1)


def test_a_generator_that_stopped_moving_is_flagged():
    real = torch.rand(8, 1, 4, 4) * 2 - 1
    diagnosis = TrainingDiagnosis(
        "hinge", window_steps=1, probe=GeneratorProbe(_Frozen(), 3, real)
    )
    for _ in range(3):
        diagnosis.add_window(_stats(0.6, 0.6, 1.5, 0.2, steps=1, images=8))
    assert "no_progress" in diagnosis.active
    # Alike from the start is not collapse: a new generator starts alike.
    assert "mode_collapse" not in diagnosis.active


class _Shrinking(nn.Module):
    """Varied samples whose variety a factor scales: 1 is varied, 0 collapsed."""

    def __init__(self):
        super().__init__()
        self.scale = 1.0

    def forward(self, noise, labels=None):
        return (self.scale * noise[:, :16]).tanh().view(-1, 1, 4, 4)


def test_samples_that_became_alike_are_flagged_as_collapse():
    real = torch.rand(8, 1, 4, 4) * 2 - 1
    generator = _Shrinking()
    diagnosis = TrainingDiagnosis(
        "hinge", window_steps=1, probe=GeneratorProbe(generator, 16, real)
    )
    window = _stats(0.6, 0.6, 1.5, 0.2, steps=1, images=8)
    diagnosis.add_window(window)
    assert diagnosis.last["spread"] > 0.5
    generator.scale = 0.01
    for _ in range(2):
        diagnosis.add_window(window)
    assert "mode_collapse" in diagnosis.active


def test_within_class_distance_matches_scipy_per_class():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(11, 1, 3, 3))
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3])  # class 3: one image
    distances = np.concatenate(
        [pdist(images[labels == c].reshape(-1, 9)) for c in (0, 1, 2)]
    )
    value = within_class_distance(torch.from_numpy(images), torch.from_numpy(labels))
    assert value == pytest.approx(distances.mean(), rel=1e-12)
    # No label with two images, or no labels: every pair counts.
    everything = pdist(images.reshape(-1, 9)).mean()
    single = torch.arange(11)
    assert within_class_distance(torch.from_numpy(images), single) == pytest.approx(
        everything, rel=1e-12
    )
    assert within_class_distance(torch.from_numpy(images), None) == pytest.approx(
        everything, rel=1e-12
    )


class _OneImagePerClass(nn.Module):
    """Varied samples at first; then, when collapsed, one fixed image per class."""

    def __init__(self, n_classes=4):
        super().__init__()
        self.collapsed = False
        self.templates = torch.linspace(-0.9, 0.9, n_classes)[:, None].expand(-1, 16)

    def forward(self, noise, labels=None):
        if self.collapsed:
            return self.templates[labels].reshape(-1, 1, 4, 4)
        return noise[:, :16].tanh().view(-1, 1, 4, 4)


def test_a_conditional_generator_making_one_image_per_class_is_flagged():
    # Its classes differ from each other, so the spread over all samples
    # stays large; within each class the samples are identical.
    rng = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(4)
    real = torch.rand(16, 1, 4, 4, generator=rng) * 2 - 1
    generator = _OneImagePerClass()
    diagnosis = TrainingDiagnosis(
        "hinge", window_steps=1, probe=GeneratorProbe(generator, 16, real, labels)
    )
    window = _stats(0.6, 0.6, 1.5, 0.2, steps=1, images=8)
    diagnosis.add_window(window)
    assert diagnosis.last["spread"] > 0.5
    generator.collapsed = True
    for _ in range(2):
        diagnosis.add_window(window)
    assert diagnosis.last["spread"] == 0.0
    assert "mode_collapse" in diagnosis.active
    with torch.no_grad():
        fake = generator(torch.zeros(16, 16), labels)
    assert mean_pairwise_distance(fake) / mean_pairwise_distance(real) > 0.5


def test_collapse_is_judged_on_the_network_users_sample_from():
    # The trained generator stays varied while its moving average, which
    # ``sample`` uses, has collapsed: collapse is flagged; the change is the
    # trained generator's.
    real = torch.rand(8, 1, 4, 4) * 2 - 1
    trained, average = _Shrinking(), _Shrinking()
    probe = GeneratorProbe(trained, 16, real, sampled=lambda: average)
    diagnosis = TrainingDiagnosis("hinge", window_steps=1, probe=probe)
    window = _stats(0.6, 0.6, 1.5, 0.2, steps=1, images=8)
    diagnosis.add_window(window)
    average.scale = 0.01
    for _ in range(2):
        diagnosis.add_window(window)
    assert "mode_collapse" in diagnosis.active
    assert diagnosis.last["change"] == 0.0  # the trained generator did not move
    # Before training keeps an average, the trained generator is measured.
    alone = GeneratorProbe(trained, 16, real, sampled=lambda: None)
    assert alone.measure()[0] > 0.5


def test_probing_leaves_random_state_and_training_flags_alone():
    generator = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.Dropout(0.5))
    probe_net = _Wrap(generator)
    probe = GeneratorProbe(probe_net, 3, torch.rand(8, 1, 4, 4))
    generator.train()
    state = torch.get_rng_state()
    running = generator[1].running_mean.clone()
    probe.measure()
    probe.measure()
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(generator[1].running_mean, running)
    assert all(m.training for m in generator.modules())


class _Wrap(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, noise, labels=None):
        return self.net(noise).view(-1, 1, 4, 4)
