"""Watching a GAN train: a discriminator that has won, collapse, no progress.

Training already computes, step by step, both losses and how often the
discriminator classifies real and generated images correctly.
:class:`TrainingDiagnosis` reads these statistics in windows of at least
``window_steps`` steps and, once per window, generates a small
fixed batch with :class:`GeneratorProbe` to measure how varied the samples are
and how much they still change. From these it names three failures:

``"discriminator_won"``
    The discriminator tells real from generated images almost perfectly
    (both accuracies at least :data:`WON_ACCURACY`, its loss below
    :data:`WON_D_LOSS` times its value at chance) in :data:`PATIENCE` windows
    in a row, while the generator's loss is at least :data:`WON_G_LOSS` (the
    generator's images are judged fake with high confidence). Windows within
    the first :data:`WON_WARMUP_STEPS` steps are not judged.
``"mode_collapse"``
    The mean pairwise distance of generated images (within each class, for
    a conditional generator) falls below :data:`COLLAPSE_SPREAD` times that
    of real images, in :data:`PATIENCE` probes in a row, after it had been at
    least twice that: the samples, once varied, became nearly alike. (A
    freshly initialised generator's samples are nearly alike too; they are
    not flagged until they have varied.)
``"no_progress"``
    The generated images of the fixed noise moved by less than
    :data:`STALL_CHANGE` times the real images' mean pairwise distance between
    consecutive probes, :data:`PATIENCE` probes in a row: the generator has
    stopped learning.

The thresholds, and what they were measured on, are the constants below.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "FIXES",
    "GeneratorProbe",
    "TrainingDiagnosis",
    "TrainingWarning",
    "mean_pairwise_distance",
    "within_class_distance",
]

#: Both discriminator accuracies at least this in a window: D has won.
WON_ACCURACY = 0.95
#: Discriminator loss below this share of its value at chance: D has won.
WON_D_LOSS = 0.1
#: Generator loss at least this: with BCE, D gives generated images a
#: probability of being real below exp(-3), about 0.05; with hinge, it pushes
#: them three times past its margin. Measured: healthy default fits on digits
#: end near 1.4-1.5, an overpowered discriminator near 15.
WON_G_LOSS = 3.0
#: Steps before a won discriminator is judged. A healthy discriminator wins
#: the first steps while the generator still makes noise: measured with the
#: defaults on 64-pixel brain MRI (4 runs, conditional and not), both
#: accuracies stayed near 1 with G loss climbing to 4-9 until step 60-100,
#: then the generator caught up. Twice that is left out.
WON_WARMUP_STEPS = 200
#: Discriminator loss at chance (logit 0 on every image).
CHANCE_D_LOSS = {"bce": 2 * math.log(2.0), "hinge": 2.0}
#: Generated images' spread below this share of the real images': collapse.
COLLAPSE_SPREAD = 0.2
#: Fixed-noise images moving less than this share of the real spread: stalled.
STALL_CHANGE = 1e-3
#: Consecutive windows (or probes) a condition must hold before it is flagged.
PATIENCE = 2
#: Generator loss at chance (D's logit 0 on generated images).
CHANCE_G_LOSS = {"bce": math.log(2.0), "hinge": 0.0}

FIXES = {
    "discriminator_won": (
        "The discriminator has won: it tells real from generated images almost "
        "perfectly, so the generator gets no useful gradient. Likely fixes: "
        "augment='translation,cutout' (DiffAugment on both sides), a lower "
        "discriminator_lr (or a higher generator_lr), spectral_norm=True, a "
        "narrower discriminator (discriminator_width), "
        "discriminator_dropout=0.3, one-sided label smoothing "
        "(loss='bce', real_label=(0.8, 1.0)), or more training images."
    ),
    "mode_collapse": (
        "The generator collapsed: its samples are nearly alike. Likely fixes: "
        "diversity_weight=1.0 (the mode-seeking term), a lower generator_lr, "
        "augment='translation,cutout', "
        "discriminator_dropout=0.3, loss='hinge', or restarting from another "
        "random_state."
    ),
    "no_progress": (
        "The generator has stopped changing: its samples of the same noise "
        "no longer move between checks. Likely fixes: check that "
        "generator_lr is not 0 or tiny, a discriminator that has won (see "
        "history_[-1]['warnings']), or fewer epochs (training is done)."
    ),
}


class TrainingWarning(UserWarning):
    """Training shows a known failure: the discriminator won, collapse, no progress.

    Issued once per kind per call to ``fit`` (or when it first appears in a
    run of ``partial_fit`` calls), naming the likely fixes; each epoch's
    ``history_`` record lists the failures seen under ``"warnings"``. Silence
    it with ``warnings.simplefilter("ignore", skgan.TrainingWarning)``.
    """


def mean_pairwise_distance(images):
    """Mean Euclidean distance between the distinct pairs of ``images`` (n >= 2).

    Parameters
    ----------
    images : torch.Tensor of shape (n, ...)

    Returns
    -------
    distance : float
    """
    flat = images.detach().flatten(1).double()
    n = flat.shape[0]
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1)))


def within_class_distance(images, labels):
    """Mean Euclidean distance between the distinct pairs of images sharing a label.

    Parameters
    ----------
    images : torch.Tensor of shape (n, ...)
    labels : torch.Tensor of shape (n,) or None
        With None, or when no label has two images, every pair counts
        (:func:`mean_pairwise_distance`).

    Returns
    -------
    distance : float
    """
    if labels is None:
        return mean_pairwise_distance(images)
    flat = images.detach().flatten(1).double()
    labels = labels.detach().cpu()
    total = pairs = 0.0
    for label in torch.unique(labels):
        group = flat[(labels == label).to(flat.device)]
        m = group.shape[0]
        if m >= 2:
            total += float(torch.cdist(group, group).sum()) / 2
            pairs += m * (m - 1) / 2
    if pairs == 0:
        return mean_pairwise_distance(images)
    return total / pairs


class GeneratorProbe:
    """A fixed batch of noise, to measure the generator's variety and movement.

    The noise comes from its own seeded :class:`torch.Generator`, and the
    generator runs in evaluation mode without gradients, so probing changes
    neither the training random stream nor batch-norm statistics: a run with
    probes is bit-identical to one without.

    Parameters
    ----------
    generator : torch.nn.Module
        Called as ``generator(noise, labels)``.
    noise_dim : int
    real : torch.Tensor of shape (n, C, H, W)
        A few real images in the generator's value range (``n >= 2``).
    labels : torch.Tensor of shape (n,), default=None
        Their class indices, for a conditional generator. The spread is then
        measured within classes, generated against real: a generator that
        makes one image per class has classes that differ, but has
        collapsed all the same.
    seed : int, default=0
    sampled : callable, default=None
        Returns the network whose images users get (the moving average of
        the generator, once training keeps one); the spread is measured on
        its images, the change on ``generator``'s. None: ``generator``.
    """

    def __init__(
        self, generator, noise_dim, real, labels=None, *, seed=0, sampled=None
    ):
        stream = torch.Generator().manual_seed(seed)
        self.generator = generator
        self.sampled = sampled
        self.noise = torch.randn(real.shape[0], noise_dim, generator=stream).to(
            real.device
        )
        self.labels = labels
        self.real_spread = max(within_class_distance(real, labels), 1e-12)
        self.previous = None

    def measure(self):
        """Return ``(spread, change)`` relative to the real images' spread.

        ``spread`` is the mean pairwise distance of the generated batch
        (within classes, for a conditional generator) of the ``sampled``
        network;
        ``change`` the mean distance of each generated image to its value at
        the previous call (None at the first).
        """
        fake = self._generate(self.generator)
        network = None if self.sampled is None else self.sampled()
        shown = fake if network is None else self._generate(network)
        spread = within_class_distance(shown, self.labels) / self.real_spread
        change = None
        if self.previous is not None:
            change = float((fake - self.previous).norm(dim=1).mean()) / self.real_spread
        self.previous = fake
        return spread, change

    def _generate(self, network):
        flags = [(m, m.training) for m in network.modules()]
        network.eval()
        try:
            with torch.no_grad():
                fake = network(self.noise, self.labels).detach().float()
        finally:
            for module, flag in flags:
                module.training = flag
        return fake.flatten(1).double().cpu()


class TrainingDiagnosis:
    """Flags failures from training statistics, window by window.

    Parameters
    ----------
    loss : {"bce", "hinge"}
        The adversarial loss (its generator loss at chance differs).
    window_steps : int, default=10
        Statistics are judged over windows of at least this many steps, and
        the probe (if any) runs once per window: about one generator forward
        pass on a small batch per ``window_steps`` training steps.
    probe : GeneratorProbe, default=None
        Measures collapse and movement; None judges the statistics only.
    warned : iterable of str, default=()
        Failures already reported (e.g. by the previous ``partial_fit``
        call): :meth:`new_failures` does not return them again.
    """

    def __init__(self, loss, *, window_steps=10, probe=None, warned=()):
        self.chance_g_loss = CHANCE_G_LOSS.get(loss, 0.0)
        self.chance_d_loss = CHANCE_D_LOSS.get(loss, 2.0)
        self.peak_spread = 0.0
        self.window_steps = window_steps
        self.probe = probe
        self.pending = [0.0] * 6  # d, g sums, real/fake correct, steps, images
        self.in_epoch = [0.0] * 6  # what add_window saw of the current epoch
        self.won_streak = self.collapse_streak = self.stall_streak = 0
        self.steps_judged = 0
        self.active = set()
        self.warned = set(warned)
        self.last = {}
        self.epoch_spread = None  # spread probed during the current epoch

    @staticmethod
    def _sums(stats):
        steps, images = stats["n_steps"], stats["n_images"]
        return [
            stats["d_loss"] * steps,
            stats["g_loss"] * steps,
            stats["d_real_accuracy"] * images,
            stats["d_fake_accuracy"] * images,
            steps,
            images,
        ]

    def add_window(self, stats):
        """Statistics of steps within an epoch (``run_epoch``'s ``on_window``)."""
        sums = self._sums(stats)
        self.in_epoch = [a + b for a, b in zip(self.in_epoch, sums)]
        self._add(sums)

    def end_epoch(self, stats):
        """Statistics of a whole epoch; the part seen by :meth:`add_window` is
        taken out. Returns the failures present now, as a sorted list."""
        sums = [a - b for a, b in zip(self._sums(stats), self.in_epoch)]
        self.in_epoch = [0.0] * 6
        if sums[4] > 0:
            self._add(sums)
        return sorted(self.active)

    def seed(self, records):
        """Judge earlier epochs' ``history_`` records, without probing.

        The last ``2 * window_steps`` records are judged again; the older ones
        only count towards :data:`WON_WARMUP_STEPS`. Records hold no image
        counts; steps weigh the accuracies instead.
        """
        recent = max(len(records) - 2 * self.window_steps, 0)
        self.steps_judged += sum(record["n_steps"] for record in records[:recent])
        probe, self.probe = self.probe, None
        try:
            for record in records[recent:]:
                self.end_epoch(dict(record, n_images=record["n_steps"]))
        finally:
            self.probe = probe
        self.pending = [0.0] * 6

    def new_failures(self):
        """Failures present now and not reported before (then marked reported)."""
        new = sorted(self.active - self.warned)
        self.warned.update(new)
        return new

    def _add(self, sums):
        self.pending = [a + b for a, b in zip(self.pending, sums)]
        if self.pending[4] >= self.window_steps:
            self._judge_window()
            if self.probe is not None:
                self._judge_probe()

    def _judge_window(self):
        d_sum, g_sum, real_ok, fake_ok, steps, images = self.pending
        self.pending = [0.0] * 6
        real_acc, fake_acc = real_ok / images, fake_ok / images
        g_loss = g_sum / steps
        self.steps_judged += steps
        self.last.update(
            d_real_accuracy=real_acc,
            d_fake_accuracy=fake_acc,
            d_loss=d_sum / steps,
            g_loss=g_loss,
        )
        won = (
            self.steps_judged > WON_WARMUP_STEPS
            and min(real_acc, fake_acc) >= WON_ACCURACY
            and d_sum / steps < WON_D_LOSS * self.chance_d_loss
            and g_loss >= WON_G_LOSS
        )
        self.won_streak = self.won_streak + 1 if won else 0
        self._set("discriminator_won", self.won_streak >= PATIENCE)

    def _judge_probe(self):
        spread, change = self.probe.measure()
        self.last["spread"] = self.epoch_spread = spread
        collapsed = spread < COLLAPSE_SPREAD and self.peak_spread >= 2 * COLLAPSE_SPREAD
        self.peak_spread = max(self.peak_spread, spread)
        self.collapse_streak = self.collapse_streak + 1 if collapsed else 0
        self._set("mode_collapse", self.collapse_streak >= PATIENCE)
        if change is not None:
            self.last["change"] = change
            self.stall_streak = self.stall_streak + 1 if change < STALL_CHANGE else 0
            self._set("no_progress", self.stall_streak >= PATIENCE)

    def _set(self, kind, on):
        if on:
            self.active.add(kind)
        else:
            self.active.discard(kind)
