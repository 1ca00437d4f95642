"""How a DCGANEstimator trains: initialisation, the training call, the epoch record.

The sklearn side of training: it turns the estimator's parameters and arrays
into the arguments of :func:`skgan.nn.fitting.train_gan` (the torch loop), and
its outcome into ``history_``, callbacks, warnings and errors.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._build import build_modules, resolved
from ._device import resolve_device
from ._estimator_state import modules_of, set_modules
from ._labels import encode_labels
from ._progress import ProgressReporter
from ._training_data import training_images
from .nn import DivergenceError, init_dcgan_weights
from .nn.distributed import distributed_context, local_device
from .nn.fitting import train_gan

__all__ = ["initialize", "train"]


def initialize(est, layout, pairs, classes):
    """Fresh networks, optimizers, random stream and history."""
    device = resolve_device(est.device)
    if distributed_context(est.distributed, device) is not None:
        device = local_device(device)
    est.device_ = device
    est.image_layout_ = layout
    est.image_shape_ = layout.image_shape
    if classes is not None:
        est.classes_ = classes
    elif hasattr(est, "classes_"):
        del est.classes_, est.class_prior_
    seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        modules = build_modules(est, betas=pairs[0])
        if est.generator is None:
            init_dcgan_weights(modules.generator)
        if est.discriminator is None:
            init_dcgan_weights(modules.discriminator)
        est._rng_state = torch.get_rng_state()
    set_modules(est, modules)
    est._ema_updates = 0
    est.history_ = []


def training_progress(est, n_epochs, steps, phase):
    """The reporter of one training call: a line per epoch, or with ``steps``,
    about one per tenth of them (and every epoch at ``verbose >= 2``)."""
    every = max(1, steps // 10) if steps else 1
    return ProgressReporter(
        phase,
        steps or n_epochs,
        verbose=est.verbose,
        unit="steps" if steps else "epochs",
        every=every,
        time_limit=est.max_time,
    )


def train(est, X, y, n_epochs, pairs, steps=None, phase="fit"):
    """Train for ``n_epochs`` epochs, or ``steps`` updates when given.

    ``phase`` names the call in the progress lines printed when verbose.
    ``X`` is used as given (never copied whole): each batch is scaled on its
    own (see :func:`skgan._training_data.training_images`).
    """
    progress = training_progress(est, n_epochs, steps, phase)
    steps_done = 0  # by this call, up to the end of the last epoch

    def on_step(n_steps):  # with steps=, progress within long epochs
        progress.update(
            steps_done + n_steps,
            detail=lambda: f"epoch {len(est.history_) + 1}, step {n_steps}",
        )

    betas, real_label, policy = pairs
    labels = None
    if est.conditional:
        labels = encode_labels(est.classes_, y)
        counts = np.bincount(labels, minlength=len(est.classes_))
        if not hasattr(est, "class_prior_") or not est.history_:
            est.class_prior_ = counts / counts.sum()
        labels = torch.from_numpy(labels).to(est.device_)
    modules = modules_of(est)
    for optimizer, lr in (
        (modules.generator_optimizer, resolved(est, "generator_lr")),
        (modules.discriminator_optimizer, resolved(est, "discriminator_lr")),
    ):
        for group in optimizer.param_groups:  # parameters may change between fits
            group["lr"], group["betas"] = lr, betas
    on_cpu_or_cuda = est.device_.type in ("cpu", "cuda")
    memory_format = (
        torch.channels_last
        if est.channels_last and on_cpu_or_cuda
        else torch.contiguous_format
    )
    data = training_images(est, X, memory_format)

    def on_epoch_end(stats, seconds, rng_state, ema_updates, is_main):
        nonlocal steps_done
        set_modules(est, modules)  # the moving average may be new
        est._rng_state, est._ema_updates = rng_state, ema_updates
        if is_main:
            record = record_epoch(est, stats, seconds)
            steps_done += stats["n_steps"]
            progress.update(
                steps_done if steps else None,
                detail=lambda: epoch_summary(record),
                force=est.verbose >= 2,
            )
            for callback in est.callbacks or ():
                callback(est, record)

    outcome = train_gan(
        modules,
        data,
        labels=labels,
        rng_state=est._rng_state,
        ema_updates=est._ema_updates,
        ema_decay=est.ema_decay,
        batch_size=min(resolved(est, "batch_size"), data.shape[0]),
        n_epochs=n_epochs,
        max_steps=steps,
        deadline=(None if est.max_time is None else time.perf_counter() + est.max_time),
        memory_format=memory_format,
        distributed=est.distributed,
        torch_compile=est.torch_compile,
        cudnn_benchmark=est.cudnn_benchmark,
        on_epoch_end=on_epoch_end,
        on_step=on_step if steps and est.verbose else None,
        noise_dim=est.noise_dim,
        loss=est.loss,
        real_label=real_label,
        fake_label=est.fake_label,
        augment=policy,
        augment_p=est.history_[-1].get("augment_p", 0.0) if est.history_ else 0.0,
        autocast_dtype=torch.bfloat16 if est.precision == "bfloat16" else None,
    )
    set_modules(est, modules)
    est._rng_state, est._ema_updates = outcome.rng_state, outcome.ema_updates
    report(est, outcome)


def report(est, outcome):
    """Tell the user how training ended, when it ended early."""
    epochs = len(est.history_)
    if outcome.stopped == "out_of_time" and est.verbose:
        print(f"max_time={est.max_time}s reached; training stopped.")
    elif outcome.stopped == "diverged":
        if est.on_divergence == "raise":
            raise DivergenceError(
                f"{outcome.message} The model was restored to its state after "
                f"epoch {epochs}."
            )
        warnings.warn(
            f"{outcome.message} Training stopped; the model was restored to "
            f"its state after epoch {epochs}.",
            RuntimeWarning,
            stacklevel=4,
        )
    elif outcome.stopped == "interrupted":
        warnings.warn(
            f"Training interrupted; the model keeps its state after epoch {epochs}.",
            RuntimeWarning,
            stacklevel=4,
        )


def record_epoch(est, stats, seconds):
    """Append the epoch's record to ``history_``."""
    record = {
        "epoch": len(est.history_) + 1,
        "d_loss": stats["d_loss"],
        "g_loss": stats["g_loss"],
        "d_real_accuracy": stats["d_real_accuracy"],
        "d_fake_accuracy": stats["d_fake_accuracy"],
        "seconds": seconds,
        "n_steps": stats["n_steps"],
        "completed": stats["completed"],
    }
    if "augment_p" in stats:  # adaptive augmentation
        record["augment_p"] = stats["augment_p"]
    est.history_.append(record)
    return record


def epoch_summary(record):
    """The losses of an epoch, as its progress line shows them."""
    return (
        f"epoch {record['epoch']}: d_loss {record['d_loss']:.4f} "
        f"g_loss {record['g_loss']:.4f} d_acc real "
        f"{record['d_real_accuracy']:.3f} fake {record['d_fake_accuracy']:.3f}"
    )
