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

from ..nn import DivergenceError, init_dcgan_weights, recompute_batch_norm
from ..nn.diagnosis import FIXES, GeneratorProbe, TrainingDiagnosis, TrainingWarning
from ..nn.distributed import distributed_context, local_device
from ..nn.fitting import TrainingOutcome, train_gan
from ..nn.training import StopTraining
from ..utils._device import resolve_device
from ..utils._progress import ProgressReporter
from ._build import build_modules, resolved
from ._estimator_state import modules_of, set_modules
from ._labels import encode_labels
from ._training_data import training_images

__all__ = ["initialize", "train"]

#: Noise vectors that ``batch_norm_statistics="recomputed"`` averages over.
SAMPLES_FOR_BATCH_NORM = 1024

_AUTOCAST_DTYPES = {
    "float32": None,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


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
    own (see :func:`skgan.gan._training_data.training_images`).
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
    diagnosis = start_diagnosis(est, modules, data, labels, phase)

    def on_window(stats):  # within long epochs: warn as soon as seen
        diagnosis.add_window(stats)
        warn_failures(diagnosis)

    def on_epoch_end(stats, seconds, rng_state, ema_updates, is_main):
        nonlocal steps_done
        set_modules(est, modules)  # the moving average may be new
        est._rng_state, est._ema_updates = rng_state, ema_updates
        if est.callbacks:  # on every process: batch norm may be synchronised
            recompute_sampling_statistics(est, modules)
        if is_main:
            record = record_epoch(est, stats, seconds)
            record["warnings"] = diagnosis.end_epoch(stats)
            record["sample_spread"] = diagnosis.epoch_spread
            diagnosis.epoch_spread = None
            warn_failures(diagnosis)
            steps_done += stats["n_steps"]
            progress.update(
                steps_done if steps else None,
                detail=lambda: epoch_summary(record),
                force=est.verbose >= 2,
            )
            stop = None
            for callback in est.callbacks or ():
                try:
                    callback(est, record)
                except StopTraining as exc:  # the epoch's other callbacks run
                    stop = stop or exc
            if stop is not None:
                raise stop

    plan = {"phase": phase, "epochs": None if steps else n_epochs, "steps": steps}
    call_hooks(est, "on_train_begin", plan)
    outcome = with_end_hooks(est, train_gan)(
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
        on_window=on_window,
        window_steps=diagnosis.window_steps,
        noise_dim=est.noise_dim,
        loss=est.loss,
        real_label=real_label,
        fake_label=est.fake_label,
        augment=policy,
        diversity_weight=float(resolved(est, "diversity_weight")),
        augment_p=est.history_[-1].get("augment_p", 0.0) if est.history_ else 0.0,
        autocast_dtype=_AUTOCAST_DTYPES[est.precision],
    )
    set_modules(est, modules)
    est._rng_state, est._ema_updates = outcome.rng_state, outcome.ema_updates
    try:
        recompute_sampling_statistics(est, modules)
        report(est, outcome)
    finally:
        call_hooks(est, "on_train_end", outcome.stopped)


def recompute_sampling_statistics(est, modules):
    """With ``batch_norm_statistics="recomputed"``, the batch-norm statistics
    of the network ``sample`` uses, measured on its own outputs."""
    if resolved(est, "batch_norm_statistics") != "recomputed":
        return
    network = modules.generator_ema
    if network is None:
        network = modules.generator
    recompute_batch_norm(
        network,
        noise_dim=est.noise_dim,
        class_prior=est.class_prior_ if est.conditional else None,
        n_samples=SAMPLES_FOR_BATCH_NORM,
        device=est.device_,
    )


def call_hooks(est, name, argument):
    """Call ``callback.<name>(est, argument)`` on the callbacks that have it."""
    for callback in est.callbacks or ():
        hook = getattr(callback, name, None)
        if callable(hook):
            hook(est, argument)


def with_end_hooks(est, run):
    """``run``, turning :class:`StopTraining` into the outcome ``"stopped"``.

    Any other exception first calls the callbacks' ``on_train_end`` with
    ``"error"`` (closing their files, bars), then propagates.
    """

    def wrapper(*args, **kwargs):
        try:
            return run(*args, **kwargs)
        except StopTraining as stop:  # after an epoch completed and recorded
            return TrainingOutcome(
                "stopped", str(stop), est._rng_state, est._ema_updates
            )
        except BaseException:
            call_hooks(est, "on_train_end", "error")
            raise

    return wrapper


def start_diagnosis(est, modules, data, labels, phase):
    """The watch for failures of one training call (see :mod:`skgan.nn.diagnosis`).

    Its probe compares up to 32 generated images of fixed noise with 32 real
    images spread evenly over ``data``: their spread as ``sample`` would draw
    them (from the moving average, when kept), their change from the
    generator being trained. A ``partial_fit`` call picks up the
    failures the previous calls saw, so that each is reported once.
    """
    n = data.shape[0]
    probe = None
    if n >= 2:
        rows = torch.unique(torch.linspace(0, n - 1, min(n, 32)).round().long())
        rows = rows.to(data.device)
        probe = GeneratorProbe(
            modules.generator,
            est.noise_dim,
            data[rows],
            None if labels is None else labels[rows],
            sampled=lambda: modules.generator_ema,  # None until training keeps one
        )
    warned = ()
    if phase == "partial_fit" and est.history_:
        warned = est.history_[-1].get("warnings", ())
    diagnosis = TrainingDiagnosis(est.loss, probe=probe, warned=warned)
    diagnosis.seed(est.history_)
    return diagnosis


def warn_failures(diagnosis):
    """One :class:`TrainingWarning` per failure not reported yet."""
    for kind in diagnosis.new_failures():
        values = ", ".join(
            f"{name} {value:.3g}" for name, value in sorted(diagnosis.last.items())
        )
        warnings.warn(
            f"{FIXES[kind]} (Last check: {values}.) Each epoch's history_ record "
            f"lists the failures seen under 'warnings'.",
            TrainingWarning,
            stacklevel=2,
        )


def report(est, outcome):
    """Tell the user how training ended, when it ended early."""
    epochs = len(est.history_)
    if outcome.stopped == "out_of_time" and est.verbose:
        print(f"max_time={est.max_time}s reached; training stopped.")
    elif outcome.stopped == "stopped" and est.verbose:
        print(outcome.message or f"A callback stopped training after epoch {epochs}.")
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
    flags = record.get("warnings")
    return (
        f"epoch {record['epoch']}: d_loss {record['d_loss']:.4f} "
        f"g_loss {record['g_loss']:.4f} d_acc real "
        f"{record['d_real_accuracy']:.3f} fake {record['d_fake_accuracy']:.3f}"
        + (f" [{', '.join(w.replace('_', ' ') for w in flags)}]" if flags else "")
    )
