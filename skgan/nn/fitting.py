"""The training loop: epochs of adversarial steps, with restore on failure.

:func:`train_gan` runs whole epochs of :class:`~skgan.nn.AdversarialTrainer`
over a tensor of images, and owns everything around the step: the moving
average, data-parallel and compiled wrappers, the cuDNN setting, the random
stream, and putting the networks back to their last completed epoch when a loss
diverges or the user presses Ctrl-C. It knows nothing of scikit-learn.
"""

from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass

import torch

from .distributed import distributed_context, revert_sync_batchnorm
from .ema import ExponentialMovingAverage
from .training import AdversarialTrainer, DivergenceError, isolated_rng

__all__ = ["GANModules", "TrainingOutcome", "train_gan"]


@dataclass
class GANModules:
    """The torch objects of one GAN, trained together and saved together.

    Parameters
    ----------
    generator, discriminator : torch.nn.Module
    generator_optimizer, discriminator_optimizer : torch.optim.Optimizer
    generator_ema : torch.nn.Module or None, default=None
        Moving average of the generator's weights.
    """

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    generator_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer
    generator_ema: torch.nn.Module | None = None

    def networks(self):
        """The networks that exist: generator, discriminator, moving average."""
        return [
            n
            for n in (self.generator, self.discriminator, self.generator_ema)
            if n is not None
        ]

    def state_dict(self):
        """``{name: state_dict}`` of every object (the average only if present)."""
        names = ["generator", "discriminator", "generator_optimizer"]
        names += ["discriminator_optimizer"]
        if self.generator_ema is not None:
            names.append("generator_ema")
        return {name: getattr(self, name).state_dict() for name in names}

    def load_state_dict(self, state):
        """Load :meth:`state_dict` output into the existing objects, in place."""
        for name, value in state.items():
            getattr(self, name).load_state_dict(value)

    def to_memory_format(self, memory_format):
        """Convert the networks' weights in place (optimisers keep their tensors)."""
        for network in self.networks():
            network.to(memory_format=memory_format)


@dataclass
class TrainingOutcome:
    """How a call to :func:`train_gan` ended.

    Attributes
    ----------
    stopped : {"done", "out_of_time", "diverged", "interrupted"}
    message : str
        The divergence's description, else empty.
    rng_state : torch.Tensor
        The CPU random state to continue from.
    ema_updates : int
        Updates folded into the moving average so far.
    """

    stopped: str
    message: str
    rng_state: torch.Tensor
    ema_updates: int


def _moving_average(modules, decay, n_updates):
    """The EMA tracker for this run, creating or dropping the average as needed."""
    if decay is None:
        modules.generator_ema = None  # a stale average must not be sampled
        return None
    if modules.generator_ema is None:
        modules.generator_ema = copy.deepcopy(modules.generator)
        n_updates = 0
    return ExponentialMovingAverage(
        modules.generator,
        decay,
        average=modules.generator_ema,
        n_updates=n_updates,
    )


def _snapshot(modules, rng_state, ema_updates):
    return copy.deepcopy(modules.state_dict()), rng_state.clone(), ema_updates


def train_gan(
    modules,
    data,
    *,
    labels=None,
    rng_state,
    ema_updates=0,
    ema_decay=None,
    batch_size,
    n_epochs=1,
    max_steps=None,
    deadline=None,
    memory_format=torch.contiguous_format,
    distributed="auto",
    torch_compile=False,
    cudnn_benchmark=False,
    on_epoch_end=None,
    on_step=None,
    on_window=None,
    window_steps=None,
    **step_options,
):
    """Train ``modules`` on ``data`` for ``n_epochs`` epochs or ``max_steps`` steps.

    Parameters
    ----------
    modules : GANModules
        Trained in place; ``generator_ema`` is created or dropped according to
        ``ema_decay``.
    data : torch.Tensor of shape (n, C, H, W) or ScaledImages
        Training images in ``[-1, 1]`` on the networks' device, or a
        :class:`~skgan.nn.data.ScaledImages` that converts each batch (and
        sets its own memory format).
    labels : torch.Tensor of shape (n,), default=None
        Class indices, for a conditional GAN.
    rng_state : torch.Tensor
        CPU random state that shuffling, noise and dropout draw from; the
        caller's global random state is left untouched.
    ema_updates : int, default=0
        Updates already folded into ``modules.generator_ema``.
    ema_decay : float or None, default=None
        Decay of the generator's moving average; None for none.
    batch_size : int
    n_epochs : int, default=1
        Epochs to run when ``max_steps`` is None.
    max_steps : int, default=None
        Run exactly this many steps instead, the last epoch possibly partial.
    deadline : float, default=None
        Stop after the first step that ends past this ``time.perf_counter()``.
    memory_format : torch.memory_format, default=torch.contiguous_format
        Memory order of the images and the weights during training.
    distributed : "auto" or bool, default="auto"
        See :func:`skgan.nn.distributed.distributed_context`.
    torch_compile : bool, default=False
        Train through :func:`torch.compile` versions of the networks.
    cudnn_benchmark : bool, default=False
        Set ``torch.backends.cudnn.benchmark`` on CUDA during training.
    on_epoch_end : callable, default=None
        Called after every epoch as ``on_epoch_end(stats, seconds, rng_state,
        ema_updates, is_main)`` with :meth:`AdversarialTrainer.run_epoch`'s
        statistics.
    on_step : callable, default=None
        Called on the main process after every step but each epoch's last, as
        ``on_step(n_steps)`` with the steps done in the current epoch.
    on_window : callable, default=None
        Called on the main process every ``window_steps`` steps within an
        epoch (never at its end, where ``on_epoch_end`` is called), with the
        statistics of those steps (see :meth:`AdversarialTrainer.run_epoch`).
    window_steps : int, default=None
        Steps between calls of ``on_window``.
    **step_options
        ``noise_dim``, ``loss``, ``real_label``, ``fake_label``, ``augment``,
        ``autocast_dtype``: passed to :class:`AdversarialTrainer`. With
        ``autocast_dtype=torch.float16`` the losses are scaled by a fresh
        :class:`torch.amp.GradScaler` for the data's device.

    Returns
    -------
    outcome : TrainingOutcome
        On divergence or interruption, ``modules`` and the returned random
        state are those of the last completed epoch.
    """
    device = data.device
    if isinstance(data, torch.Tensor):
        data = data.contiguous(memory_format=memory_format)
    ema = _moving_average(modules, ema_decay, ema_updates)
    modules.to_memory_format(memory_format)
    generator, discriminator = modules.generator, modules.discriminator
    context = distributed_context(distributed, device)
    if context is not None:
        # Rank 0's weights and random stream, then each rank its share.
        rng_state = context.broadcast_object(rng_state)
        context.broadcast_state(*modules.networks())
        context.seed_private_stream(rng_state, device)
        generator = context.wrap(generator, device)
        discriminator = context.wrap(discriminator, device)
    is_main = context is None or context.is_main
    if torch_compile:
        generator = torch.compile(generator)
        discriminator = torch.compile(discriminator)
    grad_scaler = None
    if step_options.get("autocast_dtype") == torch.float16:
        # float16 gradients underflow without loss scaling.
        grad_scaler = torch.amp.GradScaler(device.type)
    trainer = AdversarialTrainer(
        generator,
        discriminator,
        modules.generator_optimizer,
        modules.discriminator_optimizer,
        ema=ema,
        distributed=context,
        grad_scaler=grad_scaler,
        **step_options,
    )
    ema_updates = 0 if ema is None else ema.n_updates
    last_good = _snapshot(modules, rng_state, ema_updates)
    outcome = TrainingOutcome("done", "", rng_state, ema_updates)
    steps_left = max_steps
    saved_cudnn_benchmark = torch.backends.cudnn.benchmark
    if cudnn_benchmark and device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    try:
        for _ in itertools.count() if max_steps else range(n_epochs):
            start = time.perf_counter()
            with isolated_rng(rng_state, device) as current_rng_state:
                stats = trainer.run_epoch(
                    data,
                    batch_size,
                    labels=labels,
                    deadline=deadline,
                    max_steps=steps_left,
                    on_step=on_step if is_main else None,
                    on_window=on_window if is_main else None,
                    window_steps=window_steps,
                )
                rng_state = current_rng_state()
            ema_updates = 0 if ema is None else ema.n_updates
            outcome.rng_state, outcome.ema_updates = rng_state, ema_updates
            if on_epoch_end is not None:
                seconds = time.perf_counter() - start
                on_epoch_end(stats, seconds, rng_state, ema_updates, is_main)
            last_good = _snapshot(modules, rng_state, ema_updates)
            if steps_left is not None:
                steps_left -= stats["n_steps"]
                if steps_left <= 0:
                    break
            if stats["out_of_time"]:
                outcome.stopped = "out_of_time"
                break
        if context is not None:
            context.broadcast_state(*modules.networks())
    except (DivergenceError, KeyboardInterrupt) as exc:
        state, rng_state, ema_updates = last_good
        modules.load_state_dict(state)
        diverged = isinstance(exc, DivergenceError)
        if diverged and context is not None:
            context.broadcast_state(*modules.networks())
        outcome = TrainingOutcome(
            "diverged" if diverged else "interrupted",
            str(exc) if diverged else "",
            rng_state,
            ema_updates,
        )
    finally:
        torch.backends.cudnn.benchmark = saved_cudnn_benchmark
        if context is not None:
            revert_sync_batchnorm(modules.generator)
        modules.generator.eval()
        modules.discriminator.eval()
    return outcome
