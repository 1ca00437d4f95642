"""DCGANEstimator: the scikit-learn face of a deep convolutional GAN.

This module owns parameters, validation and the conversion between user arrays
and tensors; the networks and the training step live in :mod:`skgan.nn`.
"""

from __future__ import annotations

import copy
import io
import itertools
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._device import cpu_fallback, resolve_device
from ._validation import check_sample_count, infer_layout, precheck_images
from .nn import (
    LOSSES,
    AdversarialTrainer,
    Discriminator,
    DivergenceError,
    ExponentialMovingAverage,
    Generator,
    auto_depth,
    init_dcgan_weights,
    isolated_rng,
    parse_policy,
)
from .nn.distributed import distributed_context, local_device, revert_sync_batchnorm

__all__ = ["DCGANEstimator"]


def _unique_labels(y, name):
    """Sorted unique labels of ``y``, refusing NaN and mixed label types."""
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    try:
        return np.unique(y)
    except TypeError as exc:
        raise TypeError(
            f"{name} mixes labels of different types ({exc}); use one type, e.g. "
            f"{name}.astype(str)."
        ) from exc


_FLOAT32_MAX = float(np.finfo(np.float32).max)  # Adam keeps lr as float32
_INTEGER_PARAMETERS = (
    "noise_dim",
    "epochs",
    "steps",
    "batch_size",
    "generator_width",
    "discriminator_width",
    "depth",
)
# Images generated per forward pass in ``sample``; bounds activation memory.
SAMPLE_BATCH_SIZE = 256
# Fitted attributes holding torch objects, serialised with torch.save on pickling.
_TORCH_STATE = (
    "generator_",
    "discriminator_",
    "_generator_optimizer",
    "_discriminator_optimizer",
)


class DCGANEstimator(BaseEstimator):
    """Deep convolutional GAN for small image sets, with a scikit-learn API.

    The generator projects Gaussian noise to a small feature map, doubles its
    resolution ``depth`` times and ends in a 3x3 convolution + tanh; the
    discriminator mirrors it with strided convolutions. Both are built from the
    shape of the training images, so any size from 1x1 up works.

    With ``conditional=True`` the model is class-conditional: ``fit(X, y)``
    learns one generator for all classes (a label embedding joins the noise, and
    a projection discriminator judges image and label together), and
    ``sample(n, y=label)`` draws images of a chosen class.

    Parameters
    ----------
    noise_dim : int, default=100
        Length of the generator's latent vector.
    epochs : int, default=25
        Passes over the training images per call to ``fit``.
    steps : int, default=None
        Train for exactly this many updates (batches) per call to ``fit``
        instead of ``epochs``: the natural unit for small sets, where an epoch
        is one or two steps. The last epoch may stop part-way.
    batch_size : int, default=32
        Images per step (smaller sets use all images in one step).
    generator_lr, discriminator_lr : float, default=2e-4
        Adam learning rates of the generator and the discriminator (set them
        apart for TTUR).
    betas : tuple of (float, float), default=(0.5, 0.999)
        Adam coefficients for both networks.
    loss : {"bce", "hinge"}, default="hinge"
        Adversarial loss: non-saturating binary cross-entropy or hinge.
    real_label : float or tuple of (float, float), default=1.0
        BCE target for real images, or a ``(low, high)`` range targets are drawn
        from uniformly (one-sided label smoothing, e.g. ``(0.8, 1.0)``).
    fake_label : float, default=0.0
        BCE target for generated images (e.g. 0.1).
    generator_width, discriminator_width : int, default=16
        Channels of the generator's last and the discriminator's first stage;
        each stage nearer the noise doubles them (capped at 512). Narrow
        networks make many more steps per second on a CPU, which is what
        counts on small data (see :ref:`recipe`); on a GPU, 32-64 are common.
    depth : int, default=None
        Resolution doublings in the generator (halvings in the discriminator).
        None picks the largest depth, up to 4, whose first feature map is at
        least 4 pixels on its shorter side (28x28 → 2, 64x64 → 4).
    generator_first_stage : {"dense", "transposed"}, default="dense"
        Project the noise with a dense layer or a transposed convolution.
    generator_upsampling : {"nearest", "transposed"}, default="nearest"
        Nearest upsampling + 3x3 conv, or 4x4 stride-2 transposed convolutions.
    generator_batch_norm : bool, default=True
        Batch normalisation in the generator.
    spectral_norm : bool, default=True
        Spectral normalisation of every discriminator layer.
    discriminator_dropout : float, default=0.0
        Dropout after each discriminator stage (the seeds use 0.4).
    discriminator_batch_norm : bool, default=True
        Batch normalisation after each strided discriminator convolution, as
        in the DCGAN paper; the discriminator then judges real and generated
        images in separate calls, so that each is normalised alone. Of all
        the settings measured in :ref:`recipe`, it made the largest
        difference.
    augment : str or None, default=None
        DiffAugment policy applied to every discriminator input, real and
        generated: a comma-separated subset of ``"color"``, ``"translation"``,
        ``"cutout"`` (e.g. ``"translation,cutout"``); None or ``""`` for none.
        No flips, by design. Off by default: at the budgets measured in
        :ref:`recipe` it slowed convergence more than it helped.
    ema_decay : float or None, default=0.999
        Keep an exponential moving average of the generator's weights with
        this decay (warmed up over the first steps); ``sample`` then uses the
        average. None trains and samples the raw generator only.
    max_time : float, default=None
        Stop training after this many seconds (checked after every step), even
        if ``epochs`` are not done.
    channels_last : bool, default=True
        Keep images, activations and convolution weights in channels-last
        (NHWC) memory order on CPU and CUDA. The numbers are the same up to
        float rounding; on two CPU cores a training step was 12-36% faster
        than with the default NCHW order (see :ref:`recipe`).
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` runs the forward passes of training under
        :func:`torch.autocast` in bfloat16 (weights, optimiser state and losses
        stay float32). Meant for CUDA GPUs with bfloat16 support (Ampere and
        later), where it has not been measured by us; on our CPU (AVX512-BF16)
        it made a step 1.6 times slower.
    cudnn_benchmark : bool, default=False
        On CUDA, let cuDNN time the convolution algorithms on the first steps
        and keep the fastest (``torch.backends.cudnn.benchmark``) for the
        duration of ``fit``. Not measured by us; no effect elsewhere.
    distributed : "auto" or bool, default="auto"
        Data-parallel training on ``torch.distributed``. ``"auto"`` turns it on
        when a process group of several ranks is initialised, or when the
        script runs under ``torchrun`` (the group is then initialised with
        NCCL on CUDA, gloo otherwise); single-process use is unchanged. Every
        rank passes the whole ``X``; each computes its share of every batch of
        ``batch_size`` images under
        :class:`~torch.nn.parallel.DistributedDataParallel` (with
        :class:`~torch.nn.SyncBatchNorm` on CUDA). Only rank 0 prints, runs
        ``callbacks`` (so writes checkpoints) and records ``history_``; the
        fitted networks are identical on every rank. See :ref:`scaling`.
    torch_compile : bool, default=False
        Train through :func:`torch.compile` versions of both networks (the
        fitted ``generator_`` and ``discriminator_`` stay plain modules). The
        first step compiles (about 45 s on our CPU); on our CPU the compiled
        step was 20% slower, so it is meant for CUDA, where we have not
        measured it.
    conditional : bool, default=False
        Learn a class-conditional model from ``fit(X, y)``; ``sample`` then
        returns ``(X, y)``.
    on_divergence : {"raise", "restore"}, default="raise"
        When a loss becomes NaN or infinite, restore the weights of the last
        completed epoch and raise :class:`~skgan.nn.DivergenceError`
        (``"raise"``), or restore them, warn and stop training (``"restore"``).
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flattened input
        rows; one entry may be -1 (inferred, as in ``numpy.reshape``). None
        infers a square single-channel image. Ignored for 3-D and 4-D input
        beyond a consistency check.
    feature_extractor : "inception", callable, transformer or None, default="inception"
        Feature space of the Fréchet distance used by :meth:`score` (see
        :func:`skgan.metrics.frechet_inception_distance`); None compares raw
        pixels. Wrap a fitted transformer in
        :class:`sklearn.frozen.FrozenEstimator` so that ``clone`` (e.g. in
        ``GridSearchCV``) keeps it fitted.
    callbacks : list of callable, default=None
        Each is called as ``callback(estimator, record)`` after every epoch,
        ``record`` being that epoch's entry of ``history_``.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA, then Apple MPS, then the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, noise, shuffling and dropout through a
        private torch random state: on the CPU, equal seeds give bit-identical
        models. The global torch and NumPy random states are left untouched.
    verbose : int, default=0
        0 is silent; 1 prints one line per epoch.
    warm_start : bool, default=False
        When True, ``fit`` continues training the current networks instead of
        starting afresh.

    Attributes
    ----------
    generator_ : torch.nn.Module
        The trained generator.
    generator_ema_ : torch.nn.Module or None
        Moving average of the generator, used by ``sample``; None unless
        ``ema_decay`` is set.
    discriminator_ : torch.nn.Module
        The trained discriminator.
    history_ : list of dict
        One entry per epoch: ``epoch``, ``d_loss``, ``g_loss``,
        ``d_real_accuracy``, ``d_fake_accuracy``, ``seconds``, ``n_steps``,
        ``completed``.
    image_layout_ : ImageLayout
        Layout, shape, dtype and value range of the training images; samples
        are returned the same way.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    classes_ : ndarray of shape (n_classes,)
        Class labels of a conditional model (absent otherwise).
    class_prior_ : ndarray of shape (n_classes,)
        Share of each class in the training data; ``sample`` without ``y``
        draws labels from it.
    n_features_in_ : int
        ``X.shape[1]`` at fit time.
    device_ : torch.device
        Device the networks live on.

    See Also
    --------
    sklearn.neighbors.KernelDensity : A non-parametric generative model with
        the same ``sample``/``score`` API.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan import DCGANEstimator
    >>> X = load_digits().data
    >>> gan = DCGANEstimator(epochs=2, random_state=0).fit(X)
    >>> gan.sample(5, random_state=0).shape
    (5, 64)
    """

    _parameter_constraints: dict = {
        "noise_dim": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "steps": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "generator_lr": [Interval(Real, 0, _FLOAT32_MAX, closed="right")],
        "discriminator_lr": [Interval(Real, 0, _FLOAT32_MAX, closed="right")],
        "betas": [tuple, list],
        "loss": [StrOptions(set(LOSSES))],
        "real_label": [Interval(Real, 0, 1, closed="both"), tuple, list],
        "fake_label": [Interval(Real, 0, 1, closed="both")],
        "generator_width": [Interval(Integral, 1, None, closed="left")],
        "discriminator_width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 0, None, closed="left"), None],
        "generator_first_stage": [StrOptions({"dense", "transposed"})],
        "generator_upsampling": [StrOptions({"nearest", "transposed"})],
        "generator_batch_norm": ["boolean"],
        "spectral_norm": ["boolean"],
        "discriminator_dropout": [Interval(Real, 0, 1, closed="left")],
        "discriminator_batch_norm": ["boolean"],
        "augment": [str, None],
        "ema_decay": [Interval(Real, 0, 1, closed="neither"), None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "channels_last": ["boolean"],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "cudnn_benchmark": ["boolean"],
        "torch_compile": ["boolean"],
        "distributed": [StrOptions({"auto"}), "boolean"],
        "conditional": ["boolean"],
        "on_divergence": [StrOptions({"raise", "restore"})],
        "image_shape": [tuple, list, None],
        "feature_extractor": [
            StrOptions({"inception"}),
            callable,
            HasMethods(["transform"]),
            None,
        ],
        "callbacks": [list, tuple, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        noise_dim=100,
        *,
        epochs=25,
        steps=None,
        batch_size=32,
        generator_lr=2e-4,
        discriminator_lr=2e-4,
        betas=(0.5, 0.999),
        loss="hinge",
        real_label=1.0,
        fake_label=0.0,
        generator_width=16,
        discriminator_width=16,
        depth=None,
        generator_first_stage="dense",
        generator_upsampling="nearest",
        generator_batch_norm=True,
        spectral_norm=True,
        discriminator_dropout=0.0,
        discriminator_batch_norm=True,
        augment=None,
        ema_decay=0.999,
        max_time=None,
        channels_last=True,
        precision="float32",
        cudnn_benchmark=False,
        torch_compile=False,
        distributed="auto",
        conditional=False,
        on_divergence="raise",
        image_shape=None,
        feature_extractor="inception",
        callbacks=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.noise_dim = noise_dim
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.betas = betas
        self.loss = loss
        self.real_label = real_label
        self.fake_label = fake_label
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.depth = depth
        self.generator_first_stage = generator_first_stage
        self.generator_upsampling = generator_upsampling
        self.generator_batch_norm = generator_batch_norm
        self.spectral_norm = spectral_norm
        self.discriminator_dropout = discriminator_dropout
        self.discriminator_batch_norm = discriminator_batch_norm
        self.augment = augment
        self.ema_decay = ema_decay
        self.max_time = max_time
        self.channels_last = channels_last
        self.precision = precision
        self.cudnn_benchmark = cudnn_benchmark
        self.torch_compile = torch_compile
        self.distributed = distributed
        self.conditional = conditional
        self.on_divergence = on_divergence
        self.image_shape = image_shape
        self.feature_extractor = feature_extractor
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------ sklearn

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags

    def _check_compound_parameters(self):
        """Validate parameters the constraint language cannot express.

        Returns ``(betas, real_label_range, augmentation_policy)``.
        """
        for name in _INTEGER_PARAMETERS:
            if isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be an int, got {getattr(self, name)!r}.")
        for index, callback in enumerate(self.callbacks or ()):
            if not callable(callback):
                raise TypeError(
                    "callbacks must be callables called as callback(estimator, "
                    f"record); callbacks[{index}] is {callback!r}."
                )
        betas = tuple(self.betas)
        if len(betas) != 2 or not all(
            isinstance(b, Real) and 0 <= b < 1 for b in betas
        ):
            raise ValueError(
                f"betas must be a pair of floats in [0, 1), got {self.betas!r}."
            )
        real = self.real_label
        real = (real, real) if isinstance(real, Real) else tuple(real)
        if len(real) != 2 or not all(isinstance(r, Real) and 0 <= r <= 1 for r in real):
            raise ValueError(
                "real_label must be a float in [0, 1] or a (low, high) pair of "
                f"such floats, got {self.real_label!r}."
            )
        if real[0] > real[1]:
            raise ValueError(f"real_label=(low, high) needs low <= high, got {real}.")
        if self.precision == "bfloat16":
            device = resolve_device(self.device)
            if device.type == "cuda" and not torch.cuda.is_bf16_supported():
                raise ValueError(
                    "precision='bfloat16' needs a GPU with bfloat16 support "
                    "(compute capability 8.0 or later); use precision='float32'."
                )
        betas = tuple(float(b) for b in betas)
        return betas, (float(real[0]), float(real[1])), parse_policy(self.augment)

    def _validate_images(self, X, *, reset):
        X = precheck_images(X)
        X = validate_data(
            self, X, reset=reset, dtype="numeric", allow_nd=True, ensure_min_samples=2
        )
        if reset:
            layout = infer_layout(X, self.image_shape)
        else:
            layout = self.image_layout_
            layout.check(X)
        return X, layout

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the GAN on images ``X`` for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
                (n_samples, H, W, C)
            Training images, uint8 or float of any range.
        y : array-like of shape (n_samples,), default=None
            Class labels (any hashable values, e.g. strings); required when
            ``conditional=True``, ignored otherwise.

        Returns
        -------
        self : DCGANEstimator
        """
        keep = self.warm_start and hasattr(self, "generator_")
        X, layout = self._validate_images(X, reset=not keep)
        pairs = self._check_compound_parameters()
        classes = self._check_labels(X, y, fitted=keep)
        if not keep:
            self._initialize(layout, pairs, classes)
        self._train(X, self._encode(y), self.epochs, pairs, steps=self.steps)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Train for one epoch on ``X``, initialising the networks on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
                (n_samples, H, W, C)
            Training images in the layout of the first call.
        y : array-like of shape (n_samples,), default=None
            Class labels; required when ``conditional=True``.
        classes : array-like, default=None
            All class labels, needed on the first call of a conditional model
            when ``y`` does not show every class yet; defaults to ``unique(y)``.

        Returns
        -------
        self : DCGANEstimator
        """
        first = not hasattr(self, "generator_")
        X, layout = self._validate_images(X, reset=first)
        pairs = self._check_compound_parameters()
        labels = self._check_labels(X, y, fitted=not first, classes=classes)
        if first:
            self._initialize(layout, pairs, labels)
        self._train(X, self._encode(y), 1, pairs)
        return self

    def _check_labels(self, X, y, *, fitted, classes=None):
        """Validate ``y`` for a conditional model; return the class labels."""
        if not self.conditional:
            return None
        if y is None:
            raise ValueError(
                "y is required when conditional=True: pass the class label of "
                "every image, fit(X, y)."
            )
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} images but y has {len(y)} labels; they must match."
            )
        if fitted:
            self._encode(y)  # raises on labels the model does not know
            return self.classes_
        seen = _unique_labels(y, "y")
        if classes is None:
            return seen
        classes = _unique_labels(column_or_1d(classes), "classes")
        unknown = np.setdiff1d(seen, classes)
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown.tolist()} that are not in classes."
            )
        return classes

    def _encode(self, y):
        """Class indices of labels ``y`` (None for an unconditional model)."""
        if not self.conditional or y is None:
            return None
        try:
            y = column_or_1d(y)
        except ValueError as exc:
            raise ValueError(
                f"y must be one label or a 1d array of labels ({exc})."
            ) from exc
        lookup = {label: i for i, label in enumerate(self.classes_.tolist())}
        index, unknown = np.empty(len(y), dtype=np.intp), []
        for position, label in enumerate(y.tolist()):
            try:
                index[position] = lookup[label]
            except (KeyError, TypeError):  # TypeError: unhashable label
                unknown.append(label)
        if unknown:
            shown = list(dict.fromkeys(map(repr, unknown)))[:10]
            raise ValueError(
                f"Labels [{', '.join(shown)}] were not seen at fit time; "
                f"this model knows the classes {self.classes_.tolist()}."
            )
        return index

    def _build_networks(self):
        """Construct untrained networks for ``image_layout_`` (global RNG forked)."""
        height, width, channels = self.image_layout_.image_shape
        shape = (channels, height, width)
        depth = auto_depth(height, width) if self.depth is None else self.depth
        n_classes = len(self.classes_) if self.conditional else 0
        generator = Generator(
            self.noise_dim,
            shape,
            width=self.generator_width,
            depth=depth,
            batch_norm=self.generator_batch_norm,
            first_stage=self.generator_first_stage,
            upsampling=self.generator_upsampling,
            n_classes=n_classes,
        )
        discriminator = Discriminator(
            shape,
            width=self.discriminator_width,
            depth=min(depth, auto_depth(height, width)),
            spectral_norm=self.spectral_norm,
            dropout=self.discriminator_dropout,
            batch_norm=self.discriminator_batch_norm,
            n_classes=n_classes,
        )
        return generator.to(self.device_), discriminator.to(self.device_)

    def _make_optimizers(self, betas):
        return (
            torch.optim.Adam(
                self.generator_.parameters(), lr=self.generator_lr, betas=betas
            ),
            torch.optim.Adam(
                self.discriminator_.parameters(), lr=self.discriminator_lr, betas=betas
            ),
        )

    def _initialize(self, layout, pairs, classes):
        device = resolve_device(self.device)
        if distributed_context(self.distributed, device) is not None:
            device = local_device(device)
        self.device_ = device
        self.image_layout_ = layout
        self.image_shape_ = layout.image_shape
        if classes is not None:
            self.classes_ = classes
        elif hasattr(self, "classes_"):
            del self.classes_, self.class_prior_
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator, discriminator = self._build_networks()
            init_dcgan_weights(generator)
            init_dcgan_weights(discriminator)
            self._rng_state = torch.get_rng_state()
        self.generator_, self.discriminator_ = generator, discriminator
        self.generator_ema_ = None
        self._ema_updates = 0
        self._generator_optimizer, self._discriminator_optimizer = (
            self._make_optimizers(pairs[0])
        )
        self.history_ = []

    def _torch_state_names(self):
        """Fitted attributes holding torch modules or optimizers."""
        extra = ("generator_ema_",) if self.generator_ema_ is not None else ()
        return _TORCH_STATE + extra

    def _torch_state_dict(self):
        """``{attribute: state_dict}`` of every torch object of the fitted model."""
        return {
            name: getattr(self, name).state_dict() for name in self._torch_state_names()
        }

    def _load_torch_state(self, tensors):
        """Rebuild networks and optimizers from ``_torch_state_dict()`` output."""
        with torch.random.fork_rng(devices=[]):
            self.generator_, self.discriminator_ = self._build_networks()
        self.generator_.load_state_dict(tensors["generator_"])
        self.discriminator_.load_state_dict(tensors["discriminator_"])
        self.generator_.eval()
        self.discriminator_.eval()
        self.generator_ema_ = None
        if "generator_ema_" in tensors:
            self.generator_ema_ = copy.deepcopy(self.generator_).requires_grad_(False)
            self.generator_ema_.load_state_dict(tensors["generator_ema_"])
        betas = self._check_compound_parameters()[0]
        self._generator_optimizer, self._discriminator_optimizer = (
            self._make_optimizers(betas)
        )
        self._generator_optimizer.load_state_dict(tensors["_generator_optimizer"])
        self._discriminator_optimizer.load_state_dict(
            tensors["_discriminator_optimizer"]
        )

    def _snapshot(self):
        return {
            "tensors": copy.deepcopy(self._torch_state_dict()),
            "_rng_state": self._rng_state.clone(),
            "_ema_updates": self._ema_updates,
        }

    def _restore(self, snapshot):
        for name, state in snapshot["tensors"].items():
            getattr(self, name).load_state_dict(state)
        self._rng_state = snapshot["_rng_state"]
        self._ema_updates = snapshot["_ema_updates"]

    def _train(self, X, labels, n_epochs, pairs, steps=None):
        """Train for ``n_epochs`` epochs, or ``steps`` updates when given."""
        betas, real_label, policy = pairs
        if labels is not None:
            counts = np.bincount(labels, minlength=len(self.classes_))
            if not hasattr(self, "class_prior_") or not self.history_:
                self.class_prior_ = counts / counts.sum()
        for optimizer, lr in (
            (self._generator_optimizer, self.generator_lr),
            (self._discriminator_optimizer, self.discriminator_lr),
        ):
            for group in optimizer.param_groups:  # parameters may change between fits
                group["lr"], group["betas"] = lr, betas
        memory_format = self._memory_format()
        data = torch.from_numpy(self.image_layout_.to_model(X)).to(self.device_)
        data = data.contiguous(memory_format=memory_format)
        if labels is not None:
            labels = torch.from_numpy(labels).to(self.device_)
        ema = self._moving_average()
        for network in (self.generator_, self.discriminator_, self.generator_ema_):
            if network is not None:  # in place: the optimisers keep their tensors
                network.to(memory_format=memory_format)
        generator, discriminator = self.generator_, self.discriminator_
        context = distributed_context(self.distributed, self.device_)
        if context is not None:
            # Rank 0's weights and random stream, then each rank its share.
            self._rng_state = context.broadcast_object(self._rng_state)
            self._sync_ranks(context)
            context.seed_private_stream(self._rng_state, self.device_)
            generator = context.wrap(generator, self.device_)
            discriminator = context.wrap(discriminator, self.device_)
        is_main = context is None or context.is_main
        if self.torch_compile:
            generator = torch.compile(generator)
            discriminator = torch.compile(discriminator)
        trainer = AdversarialTrainer(
            generator,
            discriminator,
            self._generator_optimizer,
            self._discriminator_optimizer,
            noise_dim=self.noise_dim,
            loss=self.loss,
            real_label=real_label,
            fake_label=self.fake_label,
            augment=policy,
            ema=ema,
            autocast_dtype=torch.bfloat16 if self.precision == "bfloat16" else None,
            distributed=context,
        )
        batch_size = min(self.batch_size, data.shape[0])
        deadline = (
            None if self.max_time is None else time.perf_counter() + self.max_time
        )
        last_good = self._snapshot()
        steps_left = steps
        cudnn_benchmark = torch.backends.cudnn.benchmark
        if self.cudnn_benchmark and self.device_.type == "cuda":
            torch.backends.cudnn.benchmark = True
        try:
            for _ in itertools.count() if steps else range(n_epochs):
                start = time.perf_counter()
                with isolated_rng(self._rng_state, self.device_) as rng_state:
                    stats = trainer.run_epoch(
                        data,
                        batch_size,
                        labels=labels,
                        deadline=deadline,
                        max_steps=steps_left,
                    )
                    self._rng_state = rng_state()
                if ema is not None:
                    self._ema_updates = ema.n_updates
                seconds = time.perf_counter() - start
                record = self._record_epoch(stats, seconds, is_main)
                last_good = self._snapshot()
                if is_main:
                    for callback in self.callbacks or ():
                        callback(self, record)
                if steps_left is not None:
                    steps_left -= stats["n_steps"]
                    if steps_left <= 0:
                        break
                if stats["out_of_time"]:
                    if self.verbose and is_main:
                        print(f"max_time={self.max_time}s reached; training stopped.")
                    break
            self._sync_ranks(context)
        except DivergenceError as exc:
            self._restore(last_good)
            self._sync_ranks(context)
            if self.on_divergence == "raise":
                raise DivergenceError(
                    f"{exc} The model was restored to its state after epoch "
                    f"{len(self.history_)}."
                ) from None
            warnings.warn(
                f"{exc} Training stopped; the model was restored to its state "
                f"after epoch {len(self.history_)}.",
                RuntimeWarning,
                stacklevel=3,
            )
        except KeyboardInterrupt:
            self._restore(last_good)
            warnings.warn(
                f"Training interrupted; the model keeps its state after epoch "
                f"{len(self.history_)}.",
                RuntimeWarning,
                stacklevel=3,
            )
        finally:
            torch.backends.cudnn.benchmark = cudnn_benchmark
            if context is not None:
                revert_sync_batchnorm(self.generator_)
            self.generator_.eval()
            self.discriminator_.eval()

    def _sync_ranks(self, context):
        """Give every rank rank 0's networks (batch-norm statistics included)."""
        if context is not None:
            context.broadcast_state(
                self.generator_, self.discriminator_, self.generator_ema_
            )

    def _memory_format(self):
        """Memory order of images and weights during training."""
        if self.channels_last and self.device_.type in ("cpu", "cuda"):
            return torch.channels_last
        return torch.contiguous_format

    def _moving_average(self):
        """The EMA tracker for this call to fit, creating the average if needed."""
        if self.ema_decay is None:
            self.generator_ema_ = None  # a stale average must not be sampled
            return None
        if self.generator_ema_ is None:
            self.generator_ema_ = copy.deepcopy(self.generator_)
            self._ema_updates = 0
        return ExponentialMovingAverage(
            self.generator_,
            self.ema_decay,
            average=self.generator_ema_,
            n_updates=self._ema_updates,
        )

    def _record_epoch(self, stats, seconds, is_main=True):
        """Build the epoch's record; rank 0 (or the only process) keeps it."""
        record = {
            "epoch": len(self.history_) + 1,
            "d_loss": stats["d_loss"],
            "g_loss": stats["g_loss"],
            "d_real_accuracy": stats["d_real_accuracy"],
            "d_fake_accuracy": stats["d_fake_accuracy"],
            "seconds": seconds,
            "n_steps": stats["n_steps"],
            "completed": stats["completed"],
        }
        if not is_main:
            return record
        self.history_.append(record)
        if self.verbose:
            print(
                f"epoch {record['epoch']:4d}  d_loss {record['d_loss']:.4f}  "
                f"g_loss {record['g_loss']:.4f}  d_acc real "
                f"{record['d_real_accuracy']:.3f} fake {record['d_fake_accuracy']:.3f}"
                f"  {seconds:.2f}s",
                flush=True,
            )
        return record

    # ---------------------------------------------------------------- sampling

    def sample(self, n_samples=1, random_state=None, *, y=None):
        """Generate images in the layout, dtype and value range of the training X.

        Parameters
        ----------
        n_samples : int, default=1
            Number of images.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise (and drawn labels); an int gives the same images on
            every call, and ``sample(5, s)`` is the start of ``sample(500, s)``.
        y : label or array-like of labels, default=None
            Conditional models only. One label: ``n_samples`` images of that
            class. An array: one image per label (``n_samples`` must be 1, the
            default, or ``len(y)``). None: labels drawn from ``class_prior_``.

        Returns
        -------
        X : ndarray of shape (n_samples, ...)
            Generated images, with the per-sample shape of the training X.
        y : ndarray of shape (n_samples,)
            Their class labels; returned, as by
            :meth:`sklearn.mixture.GaussianMixture.sample`, by conditional
            models only.
        """
        check_is_fitted(self)
        n_samples = check_sample_count(n_samples)
        rng = check_random_state(random_state)
        labels = self._sample_labels(n_samples, y, rng)
        if labels is not None:
            n_samples = len(labels)
        noise_generator = torch.Generator().manual_seed(
            int(rng.randint(np.iinfo(np.int32).max))
        )
        layout = self.image_layout_
        out = np.empty((n_samples, *layout.sample_shape), dtype=layout.dtype)
        network = (
            self.generator_ if self.generator_ema_ is None else self.generator_ema_
        )
        was_training = network.training
        network.eval()
        try:
            with torch.inference_mode():
                for start in range(0, n_samples, SAMPLE_BATCH_SIZE):
                    # Always draw a full chunk, so that the images do not depend
                    # on n_samples: sample(5) is the start of sample(500).
                    noise = torch.randn(
                        SAMPLE_BATCH_SIZE, self.noise_dim, generator=noise_generator
                    )[: n_samples - start].to(self.device_)
                    batch_labels = None
                    if labels is not None:
                        batch_labels = torch.from_numpy(
                            labels[start : start + len(noise)]
                        ).to(self.device_)
                    images = network(noise, batch_labels).float().cpu().numpy()
                    out[start : start + len(images)] = layout.from_model(images)
        finally:
            network.train(was_training)
        if labels is None:
            return out
        return out, self.classes_[labels]

    def _sample_labels(self, n_samples, y, rng):
        """Class indices to generate, or None for an unconditional model."""
        if not self.conditional:
            if y is not None:
                raise ValueError(
                    "y can only be given to a model fitted with conditional=True."
                )
            return None
        if y is None:
            return rng.choice(len(self.classes_), size=n_samples, p=self.class_prior_)
        try:
            scalar = np.ndim(y) == 0
        except ValueError as exc:
            raise ValueError(
                f"y must be one label or a 1d array of labels ({exc})."
            ) from exc
        if scalar:
            return np.repeat(self._encode(np.asarray([y], dtype=object)), n_samples)
        labels = self._encode(y)
        if len(labels) == 0:
            raise ValueError("y is empty; pass at least one label.")
        if n_samples not in (1, len(labels)):
            raise ValueError(
                f"n_samples={n_samples} but y holds {len(labels)} labels: give one "
                "label per image, or a single label with n_samples."
            )
        return labels

    def score(self, X, y=None):
        """Minus the Fréchet distance between ``X`` and as many generated images.

        Higher is better, so ``GridSearchCV`` can select GAN hyperparameters on
        held-out real images. The feature space is ``feature_extractor``
        (Inception by default, raw pixels when None); generated images are
        drawn with ``random_state``.

        Parameters
        ----------
        X : array-like
            Real images in the layout used at fit time.
        y : array-like of shape (n_samples,), default=None
            Labels of ``X`` for a conditional model: generated images then
            follow the same classes. Ignored by unconditional models.

        Returns
        -------
        score : float
            ``-FID``.
        """
        check_is_fitted(self)
        X, layout = self._validate_images(X, reset=False)
        if self.conditional:
            # Class-matched comparison when labels are given.
            fake, _ = self.sample(X.shape[0], random_state=self.random_state, y=y)
        else:
            fake = self.sample(X.shape[0], random_state=self.random_state)
        from .metrics import frechet_inception_distance

        if self.feature_extractor is None:
            real_features = X.reshape(X.shape[0], -1).astype(np.float64)
            fake_features = fake.reshape(fake.shape[0], -1).astype(np.float64)
            return -frechet_inception_distance(
                real_features, fake_features, feature_extractor=None
            )
        if X.dtype == np.uint8:
            data_range = None  # the nominal 0..255, as in published FIDs
        else:  # held-out images may stray outside the training range
            data_range = (
                min(layout.data_min, float(X.min())),
                max(layout.data_max, float(X.max())),
            )
        return -frechet_inception_distance(
            X,
            fake,
            feature_extractor=self.feature_extractor,
            image_shape=layout.image_shape,
            data_range=data_range,
        )

    # ------------------------------------------------------------- persistence

    def save(self, path):
        """Write the model to a safe, versioned ``.skgan`` file.

        Parameters as JSON and weights as tensors read back with
        ``torch.load(weights_only=True)``: loading never runs code, unlike
        pickle. See :func:`skgan.persistence.save_model`.

        Parameters
        ----------
        path : str or os.PathLike
            File to write (atomically).

        Returns
        -------
        path : pathlib.Path
        """
        from .persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.skgan`` file.
        device : str or torch.device, default=None
            Where to put the networks; None uses the saved device, or the CPU
            when that accelerator is missing here.

        Returns
        -------
        estimator : DCGANEstimator
        """
        from .persistence import load_model

        return load_model(path, device=device, estimator_class=cls)

    def __getstate__(self):
        state = dict(super().__getstate__())  # object's is the live __dict__
        if "generator_" in state:
            buffer = io.BytesIO()
            torch.save(self._torch_state_dict(), buffer)
            for name in self._torch_state_names():
                del state[name]
            state["_torch_state"] = buffer.getvalue()
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        blob = state.pop("_torch_state", None)
        super().__setstate__(state)
        if blob is None:
            return
        self.device_ = cpu_fallback(self.device_)
        tensors = torch.load(
            io.BytesIO(blob), map_location=self.device_, weights_only=True
        )
        self._load_torch_state(tensors)
