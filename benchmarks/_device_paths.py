"""Every device path of skgan as a check: shared by ``device_check.py`` and the tests.

A check is a function of a :class:`Context` (the device, a scratch folder,
fitted models shared between checks). It returns an :class:`Outcome` (the
measured figure), raises :class:`NotApplicable` when the path does not exist
on that device (saying why), and raises anything else (``AssertionError``
included) when the path is broken. ``benchmarks/device_check.py`` prints one
row per check; ``tests/test_device_paths.py`` runs the same checks under
``pytest -m cuda``.

Tolerances against the CPU are stated where they are checked. On CUDA they
allow for TF32, which PyTorch uses by default in cuDNN convolutions (about
three decimal digits): each is far above that rounding and far below what a
wrong result (a wrong device, a missing scale, dropped data) gives.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import skgan
from skgan import DCGANEstimator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Digits are 8x8 floats in [0, 16]: every sample tolerance is a share of that.
DIGITS_RANGE = 16.0


class NotApplicable(Exception):
    """The path does not exist on this device; the message says why."""


@dataclass
class Outcome:
    """What a passing check measured: ``figure`` (short) and ``detail``."""

    figure: str
    detail: str = ""


@dataclass
class Row:
    """One printed row: the check's name, ``pass``/``fail``/``n/a``, figures."""

    name: str
    status: str
    figure: str
    detail: str
    seconds: float


@dataclass
class Context:
    """The device under test, a scratch folder and what checks share.

    Parameters
    ----------
    device : str or torch.device
        ``"cuda"``, ``"mps"`` or ``"cpu"``.
    workdir : path-like
        Scratch folder for model files and the torchrun worker's report.
    seconds : float, default=2.0
        Length of each images/s measurement.
    """

    device: torch.device
    workdir: Path
    seconds: float = 2.0
    cache: dict = field(default_factory=dict)

    def __post_init__(self):
        self.device = torch.device(self.device)
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def type(self):
        return self.device.type

    def digits(self):
        """sklearn's digits: ``(X, y)``, 1,797 float images 8x8 in [0, 16]."""
        if "digits" not in self.cache:
            self.cache["digits"] = load_digits(return_X_y=True)
        return self.cache["digits"]

    def gan(self, **params):
        """A small DCGANEstimator on this device (widths 8, batch 32)."""
        defaults = dict(
            noise_dim=16,
            batch_size=32,
            generator_width=8,
            discriminator_width=8,
            ema_decay=None,
            feature_extractor=None,
            device=str(self.device),
            random_state=0,
        )
        return DCGANEstimator(**(defaults | params))

    def fitted(self, name, **params):
        """A model fitted on the digits once and shared by the checks."""
        if name not in self.cache:
            X, _ = self.digits()
            self.cache[name] = self.gan(**params).fit(X)
        return self.cache[name]

    def base(self):
        """Six steps with a moving average (decay 0.9)."""
        return self.fitted("base", steps=6, ema_decay=0.9)

    def synchronize(self):
        if self.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.type == "mps":
            torch.mps.synchronize()


# --------------------------------------------------------------------- helpers


def device_description(device):
    """The device in words, for the table's header."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else 0
        major, minor = torch.cuda.get_device_capability(index)
        total = torch.cuda.get_device_properties(index).total_memory / 2**30
        return (
            f"{torch.cuda.get_device_name(index)} (compute capability "
            f"{major}.{minor}, {total:.0f} GiB), CUDA {torch.version.cuda}"
        )
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()}, macOS {platform.mac_ver()[0]})"
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"CPU: {name}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def versions():
    return (
        f"torch {torch.__version__}, skgan {skgan.__version__}, "
        f"Python {platform.python_version()}"
    )


def _parameters_on(module, device):
    tensors = [*module.parameters(), *module.buffers()]
    assert tensors, "the network has no tensors"
    wrong = {str(t.device) for t in tensors if t.device.type != device.type}
    assert not wrong, f"tensors on {sorted(wrong)}, expected {device.type}"


def _finite_history(gan):
    losses = [(r["d_loss"], r["g_loss"]) for r in gan.history_]
    assert losses and np.isfinite(losses).all(), f"losses {losses}"


def _max_difference(a, b):
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def _conv_weights(module):
    return [m.weight for m in module.modules() if isinstance(m, nn.Conv2d)]


def _not_off_cuda(ctx, what):
    if ctx.type != "cuda":
        raise NotApplicable(what)


# ---------------------------------------------------------------------- checks


def check_fit(ctx):
    X, _ = ctx.digits()
    start = time.perf_counter()
    gan = ctx.gan(steps=6).fit(X)
    seconds = time.perf_counter() - start
    assert gan.device_.type == ctx.type, f"device_ is {gan.device_}"
    _parameters_on(gan.generator_, ctx.device)
    _parameters_on(gan.discriminator_, ctx.device)
    _finite_history(gan)
    assert sum(r["n_steps"] for r in gan.history_) == 6
    return Outcome(f"6 steps in {seconds:.2f} s", "first fit: includes start-up")


def check_partial_fit(ctx):
    X, _ = ctx.digits()
    gan = ctx.gan()
    for _ in range(2):
        gan.partial_fit(X[:128])
    assert [r["epoch"] for r in gan.history_] == [1, 2]
    assert all(r["n_steps"] == 4 for r in gan.history_), gan.history_
    _parameters_on(gan.generator_, ctx.device)
    _finite_history(gan)
    return Outcome("2 epochs of 4 steps")


def check_sample(ctx):
    gan = ctx.base()
    n = 5000
    gan.sample(10, random_state=0)  # warm-up
    ctx.synchronize()
    start = time.perf_counter()
    images = gan.sample(n, random_state=0)
    seconds = time.perf_counter() - start
    assert images.shape == (n, 64) and images.dtype == np.float64
    assert np.isfinite(images).all()
    assert images.min() >= 0.0 and images.max() <= DIGITS_RANGE
    # The same noise gives the same images, to the float rounding of the
    # device (on CUDA, batches of 5 and 256 may take other TF32 convolutions).
    atol = 1e-5 if ctx.type == "cpu" else 2e-3 * DIGITS_RANGE
    np.testing.assert_allclose(gan.sample(5, random_state=0), images[:5], atol=atol)
    return Outcome(f"{n / seconds:,.0f} images/s", f"sample({n})")


def check_score(ctx):
    X, _ = ctx.digits()
    value = ctx.base().score(X[:300])
    assert math.isfinite(value) and value <= 1e-9, value
    return Outcome(f"-FID {value:.3f}", "pixel features, 300 images")


def check_conditional(ctx):
    X, y = ctx.digits()
    gan = ctx.gan(steps=4, conditional=True).fit(X, y)
    _parameters_on(gan.generator_, ctx.device)
    _finite_history(gan)
    images, labels = gan.sample(20, random_state=0, y=3)
    assert images.shape == (20, 64) and (labels == 3).all()
    images, labels = gan.sample(50, random_state=0)
    assert set(labels) <= set(range(10)) and np.isfinite(images).all()
    return Outcome(f"{len(gan.classes_)} classes", "sample(20, y=3)")


def check_ema(ctx):
    gan = ctx.base()
    assert gan.generator_ema_ is not None
    _parameters_on(gan.generator_ema_, ctx.device)
    raw = torch.cat([p.detach().flatten() for p in gan.generator_.parameters()])
    ema = torch.cat([p.detach().flatten() for p in gan.generator_ema_.parameters()])
    gap = float((raw - ema).abs().max())
    assert gap > 0, "the moving average equals the raw generator"
    with_ema = gan.sample(16, random_state=0)
    average, gan.generator_ema_ = gan.generator_ema_, None
    try:
        without = gan.sample(16, random_state=0)
    finally:
        gan.generator_ema_ = average
    assert not np.array_equal(with_ema, without), "sample ignores the average"
    return Outcome(f"max |EMA - raw| weight {gap:.2e}", "sample uses the average")


def _precision_fit(ctx, precision, **params):
    X, _ = ctx.digits()
    gan = ctx.gan(steps=6, precision=precision, **params).fit(X)
    assert all(p.dtype == torch.float32 for p in gan.generator_.parameters())
    _finite_history(gan)
    return gan


def _float32_reference(ctx):
    return ctx.fitted("float32", steps=6)


def check_float32(ctx):
    gan = _float32_reference(ctx)
    assert all(p.dtype == torch.float32 for p in gan.generator_.parameters())
    _finite_history(gan)
    if ctx.type == "cpu":  # documented: equal seeds, bit-identical on the CPU
        again = _precision_fit(ctx, "float32")
        np.testing.assert_array_equal(
            again.sample(16, random_state=0), gan.sample(16, random_state=0)
        )
        return Outcome("float32 weights", "two fits bit-identical")
    return Outcome("float32 weights")


# Low precision: samples after six steps stay within 25% of the value range of
# those trained in float32 (a wrong dtype or a broken scale gives NaN, or
# samples that are not near it).
_LOW_PRECISION_TOLERANCE = 0.25


def _compare_to_float32(ctx, gan):
    reference = _float32_reference(ctx).sample(64, random_state=0)
    gap = _max_difference(gan.sample(64, random_state=0), reference) / DIGITS_RANGE
    assert gap <= _LOW_PRECISION_TOLERANCE, f"{gap:.3f} of the range from float32"
    return gap


def check_bfloat16(ctx):
    if ctx.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise NotApplicable("this GPU has no bfloat16 (compute capability < 8.0)")
    gap = _compare_to_float32(ctx, _precision_fit(ctx, "bfloat16"))
    return Outcome(
        f"max |Δ sample| {gap:.1e} of range",
        f"vs float32, tolerance {_LOW_PRECISION_TOLERANCE}",
    )


def check_float16(ctx):
    if ctx.type != "cuda":
        X, _ = ctx.digits()
        try:
            ctx.gan(steps=1, precision="float16").fit(X)
        except ValueError as exc:
            assert "bfloat16" in str(exc), str(exc)
        else:
            raise AssertionError(f"precision='float16' trained on {ctx.type}")
        raise NotApplicable(
            "float16 trains on CUDA only; refused here with a ValueError naming "
            "bfloat16 (checked)"
        )
    scalers = []
    original = torch.amp.GradScaler

    def recording(*args, **kwargs):
        scalers.append(original(*args, **kwargs))
        return scalers[-1]

    torch.amp.GradScaler = recording
    try:
        gan = _precision_fit(ctx, "float16")
    finally:
        torch.amp.GradScaler = original
    assert len(scalers) == 1, f"{len(scalers)} loss scalers"
    scale = scalers[0].get_scale()
    assert scale > 0 and math.isfinite(scale), scale
    gap = _compare_to_float32(ctx, gan)
    return Outcome(
        f"loss scale {scale:g}; max |Δ sample| {gap:.1e} of range",
        f"vs float32, tolerance {_LOW_PRECISION_TOLERANCE}",
    )


# Memory order changes the convolution algorithms, not the model: samples
# within 2% of the range (the CPU test suite holds 1e-3 on 16 after 3 steps).
_CHANNELS_LAST_TOLERANCE = 0.02


def check_channels_last(ctx):
    if ctx.type == "mps":
        raise NotApplicable("skgan trains contiguous (NCHW) tensors on MPS")
    X, _ = ctx.digits()
    nhwc = ctx.gan(steps=4, channels_last=True).fit(X)
    nchw = ctx.gan(steps=4, channels_last=False).fit(X)
    assert all(
        w.is_contiguous(memory_format=torch.channels_last)
        for w in _conv_weights(nhwc.generator_)
    )
    assert all(w.is_contiguous() for w in _conv_weights(nchw.generator_))
    gap = _max_difference(nhwc.sample(64, random_state=0), nchw.sample(64, 0))
    gap /= DIGITS_RANGE
    assert gap <= _CHANNELS_LAST_TOLERANCE, f"{gap:.4f} of the range"
    return Outcome(
        f"max |Δ sample| {gap:.1e} of range",
        f"NHWC vs NCHW, tolerance {_CHANNELS_LAST_TOLERANCE}",
    )


def check_compile(ctx):
    try:
        import torch._inductor  # noqa: F401
    except ImportError as exc:
        raise NotApplicable(f"torch.compile's inductor is missing ({exc})") from None
    X, _ = ctx.digits()
    start = time.perf_counter()
    compiled = ctx.gan(steps=2, torch_compile=True, spectral_norm=False).fit(X[:64])
    seconds = time.perf_counter() - start
    eager = ctx.gan(steps=2, spectral_norm=False).fit(X[:64])
    assert type(compiled.generator_) is type(eager.generator_)
    _parameters_on(compiled.generator_, ctx.device)
    _finite_history(compiled)
    gap = max(
        float((a.float() - b.float()).abs().max())
        for a, b in zip(
            compiled.generator_.state_dict().values(),
            eager.generator_.state_dict().values(),
        )
    )
    # Fused kernels round differently: weights within 2e-3 of eager ones (an
    # Adam step moves a weight by up to the learning rate, 2e-4).
    assert gap <= 2e-3, f"weights {gap:.2e} from eager training"
    return Outcome(
        f"compile + 2 steps {seconds:.1f} s", f"max |Δ weight| vs eager {gap:.1e}"
    )


@contextlib.contextmanager
def forced_residency(resident):
    """Make ``fit`` keep the training set on the device (True) or stream it
    through pinned host memory (False), whatever its size; yields the list of
    the :class:`~skgan.nn.data.ScaledImages` made meanwhile."""
    from skgan import _training_data
    from skgan.nn.data import ScaledImages

    made = []

    class Forced(ScaledImages):
        def _fits_on_gpu(self):
            return resident

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    saved = _training_data.ScaledImages
    _training_data.ScaledImages = Forced
    try:
        yield made
    finally:
        _training_data.ScaledImages = saved


@contextlib.contextmanager
def counted_pin_memory():
    """Count calls of ``Tensor.pin_memory`` meanwhile (a one-item list)."""
    calls = [0]
    original = torch.Tensor.pin_memory
    shadowed = "pin_memory" in vars(torch.Tensor)

    def pin_memory(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    torch.Tensor.pin_memory = pin_memory
    try:
        yield calls
    finally:
        if shadowed:
            torch.Tensor.pin_memory = original
        else:
            del torch.Tensor.pin_memory


def _uint8_images(n=512, side=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side), np.uint8)


def _batches_agree(ctx, images):
    """Batches of the on-device copy equal those streamed from the host."""
    from skgan.nn.data import ScaledImages

    options = dict(image_shape=(28, 28, 1), low=0.0, high=255.0, device=ctx.device)
    resident = ScaledImages(images, resident=True, **options)
    streamed = ScaledImages(images, resident=False, **options)
    assert resident._stored is not None and resident._stored.device.type == "cuda"
    assert resident._stored.dtype == torch.uint8
    assert streamed._stored is None
    index = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    with counted_pin_memory() as pins:
        for rows in index[:128].split(32):
            a, b = resident[rows], streamed[rows]
            assert a.device.type == b.device.type == "cuda"
            assert torch.equal(a, b), "resident and streamed batches differ"
    assert pins[0] == 4, f"{pins[0]} pinned copies for 4 streamed batches"


def check_data_on_device(ctx):
    _not_off_cuda(
        ctx,
        "off CUDA, fit keeps X in host memory and converts each batch on the "
        "CPU; the on-device copy is CUDA-only",
    )
    images = _uint8_images()
    _batches_agree(ctx, images)
    with forced_residency(True) as made, counted_pin_memory() as pins:
        gan = ctx.gan(steps=8).fit(images)
    assert len(made) == 1 and made[0]._stored is not None
    assert made[0]._stored.device.type == "cuda"
    assert pins[0] == 0, f"{pins[0]} pinned copies with the data on the GPU"
    _finite_history(gan)
    stored = made[0]._stored.numel() * made[0]._stored.element_size()
    return Outcome(
        f"{stored / 2**10:.0f} KiB uint8 on the GPU", "forced; batches = streamed"
    )


def check_pinned_memory(ctx):
    _not_off_cuda(
        ctx,
        "pinned memory serves host-to-GPU copies; off CUDA the batches are "
        "read from host memory directly",
    )
    images = _uint8_images()
    with forced_residency(False) as made, counted_pin_memory() as pins:
        gan = ctx.gan(steps=8).fit(images)
    assert len(made) == 1 and made[0]._stored is None
    # One pinned copy per training batch: 8 steps, 8 batches.
    assert pins[0] == 8, f"{pins[0]} pinned copies for 8 batches"
    _finite_history(gan)
    _parameters_on(gan.generator_, ctx.device)
    return Outcome(f"{pins[0]} pinned batches", "forced; batches = resident")


def check_augmenter(ctx):
    try:
        from skgan import SyntheticAugmenter
    except ImportError as exc:
        raise NotApplicable(f"imbalanced-learn is not installed ({exc})") from None
    X, y = ctx.digits()
    keep = (y == 0) | ((y == 1) & (np.arange(len(y)) % 5 == 0))
    X, y = X[keep], y[keep]
    augmenter = SyntheticAugmenter(
        estimator=ctx.gan(steps=4),
        finetune_steps=2,
        synthetic_share=0.5,
        random_state=0,
    )
    X_res, y_res = augmenter.fit_resample(X, y)
    counts = np.bincount(y_res)
    assert counts[0] == counts[1], counts
    n_synthetic = augmenter.n_synthetic_[1]
    assert n_synthetic > 0, augmenter.n_synthetic_
    for model in [augmenter.pretrained_estimator_, *augmenter.estimators_.values()]:
        assert model.device_.type == ctx.type, model.device_
        _parameters_on(model.generator_, ctx.device)
    assert X_res.dtype == X.dtype and np.isfinite(X_res).all()
    added = len(y_res) - len(y)
    return Outcome(f"{n_synthetic} generated of {added} added", "synthetic_share=0.5")


# ------------------------------------------------------------------ metrics


class _Features(nn.Module):
    """A fixed random convolutional feature map: 8x8 images to 128 features.

    Scaled to values of order one (as Inception's are), where KID's cubic
    kernel is far from its constant term.
    """

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
        )

    def forward(self, images):
        return self.net(images) * 30.0


def _metric_inputs(ctx):
    """Real digits, perturbed digits, held-out digits and the two extractors."""
    if "metric_inputs" not in ctx.cache:
        X, _ = ctx.digits()
        noise = np.random.default_rng(0).normal(0, 2.0, X[300:600].shape)
        fake = np.clip(X[300:600] + noise, 0, DIGITS_RANGE)
        fake[:20] = X[:20]  # copies of training images, for the audit
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            on_cpu = _Features()
        on_device = copy.deepcopy(on_cpu).to(ctx.device)
        ctx.cache["metric_inputs"] = (X[:300], fake, X[600:800], on_cpu, on_device)
    return ctx.cache["metric_inputs"]


def _both(ctx, metric, *args, **kwargs):
    """``metric`` with the features computed on the device and on the CPU."""
    *_, on_cpu, on_device = _metric_inputs(ctx)
    options = dict(image_shape=(8, 8), data_range=(0.0, DIGITS_RANGE), batch_size=100)
    results = []
    for extractor in (on_device, on_cpu):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-sample warnings: expected
            results.append(
                metric(*args, feature_extractor=extractor, **options, **kwargs)
            )
    return results


def _note(ctx):
    return "device is the CPU: both on the CPU" if ctx.type == "cpu" else ""


def _relative(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


# Fréchet distance and KID: relative 1e-2.
# Precision/recall, memorization copy share: 2 points of the n compared.
# Memorization threshold: relative 1e-2; data-copying Z: 0.25 absolute.
_REL = 1e-2


def check_fid(ctx):
    from skgan.metrics import frechet_inception_distance

    real, fake, *_ = _metric_inputs(ctx)
    device, cpu = _both(ctx, frechet_inception_distance, real, fake)
    assert math.isfinite(device) and device > 0, device
    assert _relative(device, cpu) <= _REL, (device, cpu)
    return Outcome(
        f"{device:.4f} vs CPU {cpu:.4f}",
        f"rel {_relative(device, cpu):.1e} (tol {_REL}) {_note(ctx)}".strip(),
    )


def check_kid(ctx):
    from skgan.metrics import kernel_inception_distance

    real, fake, *_ = _metric_inputs(ctx)
    (device, _), (cpu, _) = _both(
        ctx, kernel_inception_distance, real, fake, n_subsets=20, subset_size=100
    )
    assert math.isfinite(device) and device > 0, device
    assert _relative(device, cpu) <= _REL, (device, cpu)
    return Outcome(
        f"{device:.4f} vs CPU {cpu:.4f}",
        f"rel {_relative(device, cpu):.1e} (tol {_REL}) {_note(ctx)}".strip(),
    )


def check_precision_recall(ctx):
    from skgan.metrics import precision_recall

    real, fake, *_ = _metric_inputs(ctx)
    device, cpu = _both(ctx, precision_recall, real, fake)
    tolerance = 2 / len(fake)
    assert np.all(np.abs(np.subtract(device, cpu)) <= tolerance + 1e-12), (device, cpu)
    return Outcome(
        f"P/R {device[0]:.3f}/{device[1]:.3f} vs CPU {cpu[0]:.3f}/{cpu[1]:.3f}",
        f"tol {tolerance:.4f} (2 of {len(fake)}) {_note(ctx)}".strip(),
    )


def check_memorization(ctx):
    from skgan.metrics import memorization

    real, fake, test, *_ = _metric_inputs(ctx)
    device, cpu = _both(
        ctx, memorization, real[:200], fake[:200], test=test, random_state=0
    )
    share = 2 / 200
    assert abs(device.copy_fraction - cpu.copy_fraction) <= share + 1e-12
    assert _relative(device.threshold, cpu.threshold) <= _REL
    z_device, z_cpu = device.data_copying_z, cpu.data_copying_z
    if math.isnan(z_cpu):
        assert math.isnan(z_device), z_device
    else:
        assert abs(z_device - z_cpu) <= 0.25, (z_device, z_cpu)
    return Outcome(
        f"copies {device.copy_fraction:.3f}, Z {z_device:.2f} vs CPU "
        f"{cpu.copy_fraction:.3f}, {z_cpu:.2f}",
        f"tol share {share}, threshold rel {_REL}, Z 0.25 {_note(ctx)}".strip(),
    )


def check_inception(ctx):
    if ctx.type == "cpu":
        raise NotApplicable(
            "the device is the CPU (the Inception network on the CPU is tested "
            "in tests/metrics)"
        )
    from skgan.metrics import (
        FIDInceptionV3,
        extract_features,
        find_inception_weights,
        load_fid_inception,
    )

    try:
        path = find_inception_weights(download=False)
    except (FileNotFoundError, OSError):
        path = None
    if path is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            on_cpu = FIDInceptionV3()
        weights = "seeded random weights (the FID file is not on this machine)"
    else:
        on_cpu = load_fid_inception(path, download=False, device="cpu")
        weights = "the FID weights"
    on_device = copy.deepcopy(on_cpu).to(ctx.device)
    X, _ = ctx.digits()
    images = np.rint(X[:16] * (255 / DIGITS_RANGE)).astype(np.uint8).reshape(16, 8, 8)
    device = extract_features(images, feature_extractor=on_device)
    cpu = extract_features(images, feature_extractor=on_cpu)
    gap = _max_difference(device, cpu) / max(float(np.abs(cpu).max()), 1e-12)
    # TF32 convolutions through 94 layers: within 2% of the largest feature.
    assert np.isfinite(device).all() and gap <= 2e-2, gap
    return Outcome(f"max |Δ feature| {gap:.1e} of max", f"16 images, {weights}")


# ------------------------------------------------------ files, torchrun, memory


def check_save_on_device_load_on_cpu(ctx):
    from skgan.persistence import load_model

    gan = ctx.base()
    path = ctx.workdir / "device_model.skgan"
    gan.save(path)
    on_cpu = load_model(path, device="cpu")
    assert on_cpu.device_.type == "cpu"
    _parameters_on(on_cpu.generator_, torch.device("cpu"))
    _parameters_on(on_cpu.generator_ema_, torch.device("cpu"))
    again = load_model(path)  # where it was trained, when available
    assert again.device_.type == ctx.type, again.device_
    cpu_images = on_cpu.sample(64, random_state=0)
    device_images = gan.sample(64, random_state=0)
    gap = _max_difference(cpu_images, device_images) / DIGITS_RANGE
    if ctx.type == "cpu":
        np.testing.assert_array_equal(cpu_images, device_images)
    else:  # the same weights; device float rounding only: 1% of the range
        assert gap <= 1e-2, f"{gap:.2e} of the range"
    return Outcome(f"max |Δ sample| {gap:.1e} of range", "CPU sample vs device")


def check_torchrun(ctx):
    if ctx.type == "mps":
        raise NotApplicable("torch.distributed has no MPS backend")
    report = ctx.workdir / "torchrun.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=1",
        str(HERE / "_torchrun_worker.py"),
        ctx.type,
        str(report),
    ]
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, (
        f"torchrun exited {result.returncode}: {result.stderr[-2000:]}"
    )
    worker = json.loads(report.read_text())
    expected = "nccl" if ctx.type == "cuda" else "gloo"
    assert expected in worker["backend"], worker
    assert worker["all_reduce"] == worker["world_size"] == 1, worker
    assert worker["estimator_device"] == ctx.type, worker
    assert worker["ddp_steps"] == 2 and worker["ddp_finite"], worker
    return Outcome(
        f"{worker['backend']}, {seconds:.1f} s",
        "1 process: all_reduce, fit, a DDP epoch (SyncBatchNorm on CUDA)",
    )


# The estimator's defaults (noise 100, widths 16, moving average), batch 64.
_DEFAULTS = dict(
    noise_dim=100,
    batch_size=64,
    generator_width=16,
    discriminator_width=16,
    ema_decay=0.999,
)


def check_peak_memory(ctx):
    if ctx.type == "cpu":
        raise NotApplicable(
            "torch counts device allocations only (benchmarks/gan_fit_memory.py "
            "measures host memory)"
        )
    images = _uint8_images(1024)
    if ctx.type == "mps":
        ctx.gan(steps=16, **_DEFAULTS).fit(images)
        allocated = torch.mps.driver_allocated_memory()
        return Outcome(
            f"{allocated / 2**20:.0f} MiB", "MPS driver memory after fit (no peak)"
        )
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(ctx.device)
    before = torch.cuda.memory_allocated(ctx.device)
    ctx.gan(steps=16, **_DEFAULTS).fit(images)
    peak = torch.cuda.max_memory_allocated(ctx.device) - before
    total = torch.cuda.get_device_properties(ctx.device).total_memory
    assert 0 < peak < total, peak
    return Outcome(
        f"{peak / 2**20:.1f} MiB", "fit of 1,024 28x28 images, defaults, batch 64"
    )


# ------------------------------------------------------------------ images/s


def _skgan_images_per_second(ctx, device):
    """images/s of ``fit`` on 28x28 uint8 images, batch 64, default widths."""
    images = _uint8_images(1024)
    params = _DEFAULTS | dict(device=str(device))
    ctx.gan(steps=3, **params).fit(images)  # warm-up (kernels, allocator)
    gan = ctx.gan(epochs=10**6, max_time=ctx.seconds, **params)
    start = time.perf_counter()
    gan.fit(images)
    seconds = time.perf_counter() - start
    steps = sum(r["n_steps"] for r in gan.history_)
    return steps * 64 / seconds


def _reference_images_per_second(ctx):
    """images/s of the hand-written tutorial loop of ``_reference_dcgan.py``.

    Its networks, initialisation and step (BCE, Adam 2e-4, separate real and
    fake calls, batch 64), on the device: ``ReferenceDCGAN.fit`` itself runs on
    the CPU only.
    """
    sys.path.insert(0, str(HERE))
    try:
        from _reference_dcgan import (
            ReferenceDiscriminator,
            ReferenceGenerator,
            _dcgan_init,
            tutorial_steps,
        )
    finally:
        sys.path.remove(str(HERE))
    device, batch = ctx.device, 64
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        generator = ReferenceGenerator().apply(_dcgan_init).to(device)
        discriminator = ReferenceDiscriminator().apply(_dcgan_init).to(device)
    data = torch.from_numpy(_uint8_images(1024).astype(np.float32) / 127.5 - 1.0)
    data = data.unsqueeze(1).to(device)
    training = tutorial_steps(generator, discriminator, data, batch_size=batch)
    for _ in range(3):  # warm-up
        next(training)
    ctx.synchronize()
    start = time.perf_counter()
    deadline = start + ctx.seconds
    steps = 0
    while time.perf_counter() < deadline:
        loss = next(training)
        steps += 1
    ctx.synchronize()
    seconds = time.perf_counter() - start
    assert math.isfinite(loss.item())
    return steps * batch / seconds


def _device_rate(ctx):
    if "rate" not in ctx.cache:
        ctx.cache["rate"] = _skgan_images_per_second(ctx, ctx.device)
    return ctx.cache["rate"]


def check_speed_vs_reference(ctx):
    ours = _device_rate(ctx)
    theirs = _reference_images_per_second(ctx)
    assert ours > 0 and theirs > 0
    return Outcome(
        f"{ours:,.0f} vs {theirs:,.0f} img/s ({ours / theirs:.2f}x)",
        "skgan fit (defaults, batch 64) vs the tutorial loop, 28x28",
    )


def check_speed_vs_cpu(ctx):
    if ctx.type == "cpu":
        raise NotApplicable("the device is the CPU")
    ours = _device_rate(ctx)
    cpu = _skgan_images_per_second(ctx, torch.device("cpu"))
    assert ours > 0 and cpu > 0
    return Outcome(
        f"{ours:,.0f} vs {cpu:,.0f} img/s ({ours / cpu:.1f}x)",
        f"skgan fit on the device vs the CPU ({torch.get_num_threads()} threads)",
    )


@dataclass(frozen=True)
class Check:
    name: str
    run: object


CHECKS = [
    Check("fit", check_fit),
    Check("partial_fit", check_partial_fit),
    Check("sample", check_sample),
    Check("score", check_score),
    Check("conditional", check_conditional),
    Check("EMA generator", check_ema),
    Check("precision float32", check_float32),
    Check("precision bfloat16", check_bfloat16),
    Check("precision float16", check_float16),
    Check("channels_last", check_channels_last),
    Check("torch_compile", check_compile),
    Check("data on the device", check_data_on_device),
    Check("data via pinned memory", check_pinned_memory),
    Check("augmenter, synthetic_share>0", check_augmenter),
    Check("FID on device vs CPU", check_fid),
    Check("KID on device vs CPU", check_kid),
    Check("precision/recall device vs CPU", check_precision_recall),
    Check("memorization device vs CPU", check_memorization),
    Check("Inception features vs CPU", check_inception),
    Check("save on device, load on CPU", check_save_on_device_load_on_cpu),
    Check("torchrun --nproc_per_node=1", check_torchrun),
    Check("peak device memory", check_peak_memory),
    Check("images/s vs reference loop", check_speed_vs_reference),
    Check("images/s vs CPU", check_speed_vs_cpu),
]


def run_check(check, ctx):
    """Run one check; never raises. Returns its :class:`Row`."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = check.run(ctx)
            status, figure, detail = "pass", outcome.figure, outcome.detail
        except NotApplicable as exc:
            status, figure, detail = "n/a", "", str(exc)
        except Exception as exc:  # a failed row, not a crash
            message = str(exc).strip().splitlines()
            status, figure = "fail", type(exc).__name__
            detail = message[0][:300] if message else ""
    if caught and status != "n/a":
        first = str(caught[0].message).splitlines()[0][:120]
        detail = f"{detail}; {len(caught)} warning(s): {first}".lstrip("; ")
    return Row(check.name, status, figure, detail, time.perf_counter() - start)
