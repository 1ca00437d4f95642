"""One adversarial training step and one epoch over a tensor of images."""

from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from dataclasses import KW_ONLY, dataclass, field

import torch
from torch import nn

from .augmentation import AdaptiveAugmentation, diff_augment, is_adaptive
from .losses import discriminator_loss, fake_loss, generator_loss, real_loss

__all__ = ["AdversarialTrainer", "DivergenceError", "StopTraining", "isolated_rng"]


class DivergenceError(RuntimeError):
    """Raised when a loss becomes NaN or infinite during training."""


class StopTraining(Exception):
    """Raised by a callback to end training cleanly after the current epoch.

    Exported as ``skgan.callbacks.StopTraining``. The estimator runs the
    remaining callbacks of the epoch, stops, calls the callbacks'
    ``on_train_end`` and returns from ``fit`` (or ``partial_fit``)
    normally, keeping every epoch completed so far. The message is printed
    when the estimator is verbose. ``skgan.callbacks.QualityTracker`` raises
    it for early stopping; a callback of your own may raise it too.

    Examples
    --------
    >>> from skgan.callbacks import StopTraining
    >>> def stop_when_d_wins(estimator, record):
    ...     if record["d_fake_accuracy"] > 0.99:
    ...         raise StopTraining("the discriminator wins: stopped")
    >>> # DCGANEstimator(callbacks=[stop_when_d_wins]).fit(X)
    """


@contextmanager
def isolated_rng(cpu_state, device):
    """Run with torch's global RNG set to ``cpu_state``, restoring the caller's after.

    Dropout and ``torch.randn`` draw from the global generator; forking it keeps
    training reproducible from ``cpu_state`` without changing the user's random
    state. Yields a function returning the forked CPU state, to resume from later.
    """
    devices = [device] if device.type == "cuda" else []
    saved_mps = torch.mps.get_rng_state() if device.type == "mps" else None
    with torch.random.fork_rng(devices=devices):
        torch.set_rng_state(cpu_state)
        if device.type in ("cuda", "mps"):
            seed = int(torch.randint(0, 2**62, (1,)))
            (torch.cuda if device.type == "cuda" else torch.mps).manual_seed(seed)
        try:
            yield torch.get_rng_state
        finally:
            if saved_mps is not None:
                torch.mps.set_rng_state(saved_mps)


@dataclass(eq=False)
class AdversarialTrainer:
    """Alternating discriminator / generator updates on batches of real images.

    Parameters
    ----------
    generator, discriminator : torch.nn.Module
    generator_optimizer, discriminator_optimizer : torch.optim.Optimizer
    noise_dim : int
    loss : {"bce", "hinge"}, default="bce"
    real_label : tuple of (float, float), default=(1.0, 1.0)
        BCE targets for real images are drawn uniformly from this range
        (one-sided label smoothing when below 1).
    fake_label : float, default=0.0
        BCE target for generated images.
    augment : tuple of str, default=()
        DiffAugment policy (see :func:`skgan.nn.augmentation.parse_policy`),
        applied to every discriminator input. An adaptive policy (``"ada"``)
        applies each transformation with the probability of an
        :class:`~skgan.nn.augmentation.AdaptiveAugmentation`, adjusted after
        every step from the discriminator's real logits.
    augment_p : float, default=0.0
        Starting probability of an adaptive policy (the last one, to continue
        a training run); ignored otherwise.
    ema : ExponentialMovingAverage, default=None
        Updated after every generator step.
    autocast_dtype : torch.dtype, default=None
        Run the forward passes under :func:`torch.autocast` with this dtype
        (e.g. ``torch.bfloat16``); weights, gradients, optimiser state and
        losses stay float32.
    grad_scaler : torch.amp.GradScaler, default=None
        Scale every loss before its backward pass and step both optimizers
        through it (skipping a network's update when its gradients overflow),
        updating the scale once per step; needed with ``torch.float16``.
    diversity_weight : float, default=0.0
        Weight of a mode-seeking term in the generator's loss (Mao et al.
        2019, "Mode Seeking Generative Adversarial Networks"): the fakes of a
        step form pairs, and the generator is penalised by the inverse of the
        ratio of the mean absolute difference of each pair's images to that of
        their noise vectors, so that different noise gives different images.
        In a conditional step the two fakes of a pair share a class: the
        second half of the fakes takes the first half's labels. 0 leaves the
        step unchanged.
    distributed : DistributedContext, default=None
        Train data-parallel: the networks are DistributedDataParallel modules,
        and each rank computes its slice of every global batch (see
        :mod:`skgan.nn.distributed`).
    """

    generator: nn.Module
    discriminator: nn.Module
    generator_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer
    _: KW_ONLY
    noise_dim: int
    loss: str = "bce"
    real_label: tuple = (1.0, 1.0)
    fake_label: float = 0.0
    augment: tuple = ()
    augment_p: float = 0.0
    ema: object = None
    autocast_dtype: torch.dtype | None = None
    grad_scaler: torch.amp.GradScaler | None = None
    diversity_weight: float = 0.0
    distributed: object = None
    separate_batches: bool = field(init=False)
    adaptive: AdaptiveAugmentation | None = field(init=False)

    def __post_init__(self):
        self.adaptive = (
            AdaptiveAugmentation(p=self.augment_p)
            if is_adaptive(self.augment)
            else None
        )
        # Batch norm in D needs real and fake in separate calls (see
        # Discriminator's ``batch_norm``).
        self.separate_batches = any(
            isinstance(module, nn.modules.batchnorm._BatchNorm)
            for module in self.discriminator.modules()
        )

    def _autocast(self, device):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)

    def _backward(self, loss):
        if self.grad_scaler is not None:
            loss = self.grad_scaler.scale(loss)
        loss.backward()

    def _optimizer_step(self, optimizer):
        if self.grad_scaler is None:
            optimizer.step()
        else:
            self.grad_scaler.step(optimizer)

    def _judge(self, images, labels):
        # Augmentation and dropout draw from each rank's own stream.
        private = (
            nullcontext()
            if self.distributed is None
            else (self.distributed.private_stream())
        )
        with private:
            if self.augment:
                p = 1.0 if self.adaptive is None else self.adaptive.p
                images = diff_augment(images, self.augment, p)
            return self.discriminator(images, labels)

    def _discriminator_no_sync(self):
        """Skip DDP's gradient all-reduce of D in the generator step."""
        no_sync = getattr(self.discriminator, "no_sync", None)
        return nullcontext() if no_sync is None else no_sync()

    def _discriminator_backward_separately(
        self, real, fake, labels, fake_labels, real_targets
    ):
        """D's loss gradients from one call on real and one on fake images.

        Batch normalisation then sees each batch alone. The two backward passes
        accumulate the gradient of the summed loss; in data-parallel training
        the first skips DDP's all-reduce and the second reduces the sum.
        """
        device = real.device
        with self._discriminator_no_sync():
            with self._autocast(device):
                real_logits = self._judge(real, labels).float()
            real_term = real_loss(self.loss, real_logits, real_targets)
            self._backward(real_term)
        with self._autocast(device):
            fake_logits = self._judge(fake, fake_labels).float()
        fake_term = fake_loss(self.loss, fake_logits, self.fake_label)
        self._backward(fake_term)
        return real_logits, fake_logits, real_term.detach() + fake_term.detach()

    def _noise(self, n, device):
        return torch.randn(n, self.noise_dim, device=device)

    def _paired(self, labels):
        """Labels for the fakes: with a diversity term, in pairs ``(i, i + n // 2)``."""
        if labels is None or not self.diversity_weight or labels.shape[0] < 2:
            return labels
        half = labels.shape[0] // 2
        return torch.cat([labels[: labels.shape[0] - half], labels[:half]])

    def _diversity_loss(self, fake, noise):
        """Mode-seeking term: inverse of image distance over noise distance."""
        n = fake.shape[0]
        half = n // 2
        first, second = slice(0, half), slice(n - half, n)
        image_gap = (fake[first] - fake[second]).float().abs().mean()
        noise_gap = (noise[first] - noise[second]).abs().mean()
        return 1.0 / (image_gap / noise_gap + 1e-5)

    def _real_targets(self, n, device):
        low, high = self.real_label
        if self.loss != "bce" or (low == 1.0 and high == 1.0):
            return None
        return torch.rand(n, device=device) * (high - low) + low

    def step(self, real, labels=None, *, rows=None, n_total=None):
        """Update D once, then G once; return a tensor of batch statistics.

        With ``labels`` (class indices of the real images), both networks are
        conditioned and the fakes of the step take the same labels. In
        data-parallel training, ``real`` is the slice ``rows`` of a global batch
        of ``n_total`` images: noise and label-smoothing targets are drawn for
        the global batch and sliced, as one process would draw them.

        The statistics are ``[d_loss, g_loss, d_real_correct, d_fake_correct]``
        (losses as batch means, accuracies as counts; ``g_loss`` without the
        diversity term), left on the device so the caller decides when to
        synchronise.
        """
        n, device = real.shape[0], real.device
        rows = slice(None) if rows is None else rows
        total = n if n_total is None else n_total
        noise = self._noise(total, device)[rows]
        real_targets = self._real_targets(total, device)
        if real_targets is not None:
            real_targets = real_targets[rows]
        fake_labels = self._paired(labels)
        # One generator forward serves both updates (as in the DCGAN reference).
        with self._autocast(device):
            fake = self.generator(noise, fake_labels)
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        if self.separate_batches:
            real_logits, fake_logits, d_loss = self._discriminator_backward_separately(
                real, fake.detach().to(real.dtype), labels, fake_labels, real_targets
            )
        else:
            # One discriminator call on real and fake together.
            with self._autocast(device):
                both = None if labels is None else torch.cat([labels, fake_labels])
                pair = torch.cat([real, fake.detach().to(real.dtype)])
                logits = self._judge(pair, both).float()
            real_logits, fake_logits = logits[:n], logits[n:]
            d_loss = discriminator_loss(
                self.loss,
                real_logits,
                fake_logits,
                real_targets,
                self.fake_label,
            )
            self._backward(d_loss)
        self._optimizer_step(self.discriminator_optimizer)

        with self._discriminator_no_sync():
            with self._autocast(device):
                fake_logits_g = self._judge(fake, fake_labels).float()
            g_loss = generator_loss(self.loss, fake_logits_g)
            objective = g_loss
            if self.diversity_weight and n >= 2:
                diversity = self._diversity_loss(fake, noise)
                objective = g_loss + self.diversity_weight * diversity
            self.generator_optimizer.zero_grad(set_to_none=True)
            self._backward(objective)
        self._optimizer_step(self.generator_optimizer)
        if self.grad_scaler is not None:
            self.grad_scaler.update()
        if self.ema is not None:
            self.ema.update()

        with torch.no_grad():
            return torch.stack(
                [
                    d_loss.detach(),
                    g_loss.detach(),
                    (real_logits > 0).sum(),
                    (fake_logits < 0).sum(),
                ]
            ).float()

    def run_epoch(
        self,
        data,
        batch_size,
        *,
        labels=None,
        deadline=None,
        max_steps=None,
        on_step=None,
        on_window=None,
        window_steps=None,
    ):
        """One pass over ``data`` in shuffled batches.

        ``data`` is an ``(n, C, H, W)`` tensor or anything with its ``shape``,
        ``device`` and indexing by a tensor of row numbers, such as
        :class:`~skgan.nn.data.ScaledImages`.

        ``labels``, an ``(n,)`` tensor of class indices, makes the step conditional.

        Batches have between ``batch_size`` and ``2 * batch_size - 1`` images
        (the remainder is spread, never a batch of one). Stops early, after a
        whole step, once ``time.perf_counter()`` passes ``deadline`` or after
        ``max_steps`` steps. ``on_step(n_steps)``, when given, is called after
        every step but the epoch's last (for progress within long epochs).
        ``on_window(stats)``, when given, is called every ``window_steps``
        steps but at the epoch's end, with the statistics (as returned below,
        without ``completed`` and ``out_of_time``) of the steps since the
        previous call: a training diagnosis within long epochs.

        Returns
        -------
        stats : dict
            ``d_loss``, ``g_loss`` (means over steps), ``d_real_accuracy``,
            ``d_fake_accuracy``, ``n_steps``, ``n_images``,
            ``completed`` (False when the deadline or ``max_steps`` cut the
            epoch short), ``out_of_time`` (the deadline passed; in
            data-parallel training, on any rank) and, with an adaptive
            policy, ``augment_p`` (the probability at the end of the epoch).

        Raises
        ------
        DivergenceError
            As soon as a step produces a non-finite loss.
        """
        self.generator.train()
        self.discriminator.train()
        n = data.shape[0]
        order = torch.randperm(n, device=data.device)
        totals = torch.zeros(4, device=data.device)
        n_steps = n_seen = 0
        window = torch.zeros(4, device=data.device)
        window_start = window_seen = 0
        completed = True
        out_of_time = False
        batches = torch.tensor_split(order, max(1, n // batch_size))
        for index in batches:
            rows = None
            local = index
            if self.distributed is not None:
                rows = self.distributed.rows(index.numel())
                local = index[rows]
            stats = self.step(
                data[local],
                None if labels is None else labels[local],
                rows=rows,
                n_total=index.numel(),
            )
            out_of_time = deadline is not None and time.perf_counter() >= deadline
            if self.distributed is not None:
                # Global statistics, and one stopping decision for all ranks.
                flag = torch.tensor([float(out_of_time)], device=stats.device)
                stats = self.distributed.all_reduce_sum(torch.cat([stats, flag]))
                out_of_time = bool(stats[4] > 0)
                stats = stats[:4] / torch.tensor(
                    [self.distributed.world_size] * 2 + [1, 1], device=stats.device
                )
            if not bool(torch.isfinite(stats[:2]).all()):
                raise DivergenceError(
                    f"training diverged at step {n_steps + 1} of this epoch: "
                    f"discriminator loss {stats[0].item()}, generator loss "
                    f"{stats[1].item()}. Lower the learning rates or enable "
                    "spectral_norm."
                )
            if self.adaptive is not None:
                self.adaptive.update(stats[2].item(), index.numel())
            totals[:2] += stats[:2]
            totals[2:] += stats[2:]
            n_steps += 1
            n_seen += index.numel()
            if out_of_time or n_steps == max_steps:
                completed = n_seen == n
                break
            if on_step is not None and n_steps < len(batches):
                on_step(n_steps)
            if (
                on_window is not None
                and n_steps - window_start >= window_steps
                and n_steps < len(batches)
            ):
                d_sum, g_sum, real_ok, fake_ok = (totals - window).tolist()
                steps, seen = n_steps - window_start, n_seen - window_seen
                on_window(
                    {
                        "d_loss": d_sum / steps,
                        "g_loss": g_sum / steps,
                        "d_real_accuracy": real_ok / seen,
                        "d_fake_accuracy": fake_ok / seen,
                        "n_steps": steps,
                        "n_images": seen,
                    }
                )
                window = totals.clone()
                window_start, window_seen = n_steps, n_seen
        d_loss, g_loss, real_ok, fake_ok = totals.tolist()
        return {
            "d_loss": d_loss / n_steps,
            "g_loss": g_loss / n_steps,
            "d_real_accuracy": real_ok / n_seen,
            "d_fake_accuracy": fake_ok / n_seen,
            "n_steps": n_steps,
            "n_images": n_seen,
            "completed": completed,
            "out_of_time": out_of_time,
            **({} if self.adaptive is None else {"augment_p": self.adaptive.p}),
        }
