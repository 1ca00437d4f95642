"""VariationGAN: a GAN that makes variants of given images (DAGAN), sklearn-style.

The torch networks and the training step live in :mod:`skgan.nn.variation`;
this module owns the parameters, the conversions between user arrays and
tensors, the fitted state (pickle and ``.skgan`` files) and the public methods.
"""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .. import persistence
from ..metrics import frechet_inception_distance
from ..metrics._features import check_fitted_transformer
from ..nn import DivergenceError, auto_depth, init_dcgan_weights
from ..nn.fitting import GANModules
from ..nn.variation import (
    PairDiscriminator,
    PairSampler,
    VariationGenerator,
    generate_variants,
    pair_scores,
    train_variation,
)
from ..utils._device import resolve_device
from ..utils._progress import ProgressReporter
from ..utils._validation import precheck_images
from ._estimator_state import FittedStateMixin, load_fitted_state, set_modules
from ._training_data import training_images, validate_images

__all__ = ["VariationGAN"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INTEGER_PARAMETERS = (
    "noise_dim",
    "epochs",
    "steps",
    "batch_size",
    "generator_width",
    "discriminator_width",
    "depth",
)


@persistence.register_model_class
class VariationGAN(FittedStateMixin, BaseEstimator):
    """A GAN that turns a real image into new variants of it (DAGAN).

    A data augmentation GAN (Antoniou et al. 2017). The generator takes a
    real image and random noise and returns a variant of the image: an
    encoder maps the image to a small feature map, and a decoder with skip
    connections and noise at every stage builds the variant back up. The
    discriminator judges *pairs*: two different real images of one class
    (real) against a real image and the generator's variant of it (fake).
    So the generator learns to make an image another plausible member of its
    class, not a copy of it. ``fit(X, y)`` pairs images within every class
    of ``y``: with many images in some classes and few in others, the
    variation learned on the large classes is what the small ones get.

    Sampling is **conditional on source images**: ``sample(X_source)``
    returns one new variant of each row of ``X_source`` (pass a row several
    times for several variants). :class:`~skgan.SyntheticAugmenter` uses it
    with ``mode="variation"``, on the real images of each rare class.

    Parameters
    ----------
    noise_dim : int, default=32
        Length of the latent vector that selects the variant.
    epochs : int, default=25
        Passes over the images (each image once as the first of a pair) per
        call to ``fit``.
    steps : int, default=None
        Train for exactly this many updates instead of ``epochs``.
    batch_size : int, default=32
        Pairs per update (smaller sets use all images in one update).
    generator_lr, discriminator_lr : float, default=2e-4
        Adam learning rates.
    betas : tuple of (float, float), default=(0.5, 0.999)
        Adam coefficients for both networks.
    loss : {"bce", "hinge"}, default="hinge"
        Adversarial loss.
    generator_width, discriminator_width : int, default=16
        Channels of the full-resolution stage of each network; each stage
        below doubles them (capped at 512).
    depth : int, default=None
        Resolution halvings of the encoder and the discriminator. None picks
        as :class:`DCGANEstimator` does (28x28 → 2, 64x64 → 4); larger
        images get more stages, and so wider feature maps at the bottom.
    spectral_norm : bool, default=True
        Spectral normalisation of every discriminator layer.
    discriminator_batch_norm : bool, default=True
        Batch normalisation after each strided discriminator convolution;
        real and generated pairs are then judged in separate calls.
    balance_classes : bool, default=True
        Draw the first image of each pair from every class equally often
        (with replacement), so that the generator learns to vary a rare
        class's images as often as those of the large classes (the
        discriminator still judges the variants against pairs of real images
        of every class). False uses each image once per epoch, as in the
        DAGAN paper; with 20 images of one class against 3,500 of another,
        the generator then made variants of the rare class that looked like
        the large class (see :ref:`augmentation`).
    ema_decay : float or None, default=0.999
        Keep an exponential moving average of the generator's weights, which
        ``sample`` uses. None samples the raw generator.
    max_time : float, default=None
        Stop training after this many seconds (checked after every update).
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flattened
        input rows; one entry may be -1. None infers a square single-channel
        image.
    feature_extractor : "inception", callable, transformer or None, \
            default="inception"
        Feature space of the Fréchet distance used by :meth:`score` (see
        :func:`skgan.metrics.frechet_inception_distance`); None compares raw
        pixels.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA, then Apple MPS, then the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the pairs, the noise and the shuffling through a
        private torch random state: on the CPU, equal seeds give
        bit-identical models. The global random states are left untouched.
    verbose : int, default=0
        0 is silent; 1 prints a line per tenth of the updates (or per epoch)
        with the time elapsed, an estimate of the time left and the losses.

    Attributes
    ----------
    generator_ : torch.nn.Module
        The trained :class:`~skgan.nn.variation.VariationGenerator`.
    generator_ema_ : torch.nn.Module or None
        Moving average of the generator, used by ``sample``.
    discriminator_ : torch.nn.Module
        The trained :class:`~skgan.nn.variation.PairDiscriminator`.
    history_ : list of dict
        One entry per epoch: ``epoch``, ``d_loss``, ``g_loss``,
        ``d_real_accuracy``, ``d_fake_accuracy``, ``seconds``, ``n_steps``,
        ``completed``.
    classes_ : ndarray of shape (n_classes,)
        The class labels of ``y`` (a single class ``0`` when ``y`` was None).
    class_prior_ : ndarray of shape (n_classes,)
        Share of each class in the training images.
    image_layout_ : ImageLayout
        Layout, dtype and value range of the training images; variants are
        returned the same way.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    n_features_in_ : int
        ``X.shape[1]`` at fit time.
    device_ : torch.device
        Device the networks live on.

    See Also
    --------
    DCGANEstimator : Generates images from noise alone.
    SyntheticAugmenter : Oversamples rare classes, with
        ``mode="variation"`` from a VariationGAN.

    References
    ----------
    A. Antoniou, A. Storkey and H. Edwards, "Data Augmentation Generative
    Adversarial Networks", arXiv:1711.04340, 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan import VariationGAN
    >>> X, y = load_digits(return_X_y=True)
    >>> gan = VariationGAN(steps=20, random_state=0).fit(X, y)
    >>> gan.sample(X[:3], random_state=0).shape
    (3, 64)
    """

    _parameter_constraints: dict = {
        "noise_dim": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "steps": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "generator_lr": [Interval(Real, 0, _FLOAT32_MAX, closed="right")],
        "discriminator_lr": [Interval(Real, 0, _FLOAT32_MAX, closed="right")],
        "betas": [tuple, list],
        "loss": [StrOptions({"bce", "hinge"})],
        "generator_width": [Interval(Integral, 1, None, closed="left")],
        "discriminator_width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 0, None, closed="left"), None],
        "spectral_norm": ["boolean"],
        "discriminator_batch_norm": ["boolean"],
        "balance_classes": ["boolean"],
        "ema_decay": [Interval(Real, 0, 1, closed="neither"), None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "image_shape": [tuple, list, None],
        "feature_extractor": [
            StrOptions({"inception"}),
            callable,
            HasMethods(["transform"]),
            None,
        ],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        noise_dim=32,
        *,
        epochs=25,
        steps=None,
        batch_size=32,
        generator_lr=2e-4,
        discriminator_lr=2e-4,
        betas=(0.5, 0.999),
        loss="hinge",
        generator_width=16,
        discriminator_width=16,
        depth=None,
        spectral_norm=True,
        discriminator_batch_norm=True,
        balance_classes=True,
        ema_decay=0.999,
        max_time=None,
        image_shape=None,
        feature_extractor="inception",
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.noise_dim = noise_dim
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.betas = betas
        self.loss = loss
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.depth = depth
        self.spectral_norm = spectral_norm
        self.discriminator_batch_norm = discriminator_batch_norm
        self.balance_classes = balance_classes
        self.ema_decay = ema_decay
        self.max_time = max_time
        self.image_shape = image_shape
        self.feature_extractor = feature_extractor
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags

    # --------------------------------------------------------------- checks

    def _check_compound(self):
        """The checks the constraint table cannot express; returns the betas."""
        for name in _INTEGER_PARAMETERS:
            if isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be an int, got {getattr(self, name)!r}.")
        betas = tuple(self.betas)
        if len(betas) != 2 or not all(
            isinstance(b, Real) and not isinstance(b, bool) and 0 <= b < 1
            for b in betas
        ):
            raise ValueError(
                f"betas must be a pair of floats in [0, 1), got {self.betas!r}."
            )
        extractor = self.feature_extractor
        if (
            hasattr(extractor, "transform")
            and hasattr(extractor, "fit")
            and not isinstance(extractor, torch.nn.Module)
        ):
            check_fitted_transformer(extractor)
        return tuple(float(b) for b in betas)

    def _labels(self, y, n_samples):
        """``(classes, class index per image)``; one class when ``y`` is None."""
        if y is None:
            return np.array([0]), np.zeros(n_samples, dtype=np.int64)
        y = column_or_1d(np.asarray(y), warn=True)
        if len(y) != n_samples:
            raise ValueError(
                f"X has {n_samples} images but y has {len(y)} labels; pass one "
                "label per image."
            )
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity; pass finite labels.")
        try:
            classes, index = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise TypeError(
                f"y must hold labels of one comparable type ({exc})."
            ) from None
        counts = np.bincount(index)
        if counts.max() < 2:
            raise ValueError(
                "VariationGAN learns from pairs of images of the same class, but "
                "no class of y has two images. Pass labels that group the "
                "images, or y=None to treat them all as one class."
            )
        return classes, index.astype(np.int64)

    # --------------------------------------------------------------- networks

    def _depth(self):
        height, width, _ = self.image_layout_.image_shape
        most = auto_depth(height, width)
        return most if self.depth is None else min(self.depth, most)

    def _build_modules(self, betas, with_ema=False):
        height, width, channels = self.image_layout_.image_shape
        shape = (channels, height, width)
        depth = self._depth()
        generator = VariationGenerator(
            shape, noise_dim=self.noise_dim, width=self.generator_width, depth=depth
        ).to(self.device_)
        discriminator = PairDiscriminator(
            shape,
            width=self.discriminator_width,
            depth=depth,
            spectral_norm=self.spectral_norm,
            batch_norm=self.discriminator_batch_norm,
        ).to(self.device_)
        return GANModules(
            generator=generator,
            discriminator=discriminator,
            generator_optimizer=torch.optim.Adam(
                generator.parameters(), lr=self.generator_lr, betas=betas
            ),
            discriminator_optimizer=torch.optim.Adam(
                discriminator.parameters(), lr=self.discriminator_lr, betas=betas
            ),
            generator_ema=(
                copy.deepcopy(generator).requires_grad_(False) if with_ema else None
            ),
        )

    # ---------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn from pairs of images of the same class how images vary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
                (n_samples, H, W, C)
            Training images, uint8 or float of any range.
        y : array-like of shape (n_samples,), default=None
            Class labels: pairs are drawn within each class, and images of a
            class of one image take no part. None treats all images as one
            class.

        Returns
        -------
        self : VariationGAN
        """
        X, layout, _ = validate_images(self, X, reset=True)
        betas = self._check_compound()
        classes, labels = self._labels(y, X.shape[0])
        self.device_ = resolve_device(self.device)
        self.image_layout_ = layout
        self.image_shape_ = layout.image_shape
        self.classes_ = classes
        self.class_prior_ = np.bincount(labels, minlength=len(classes)) / len(labels)
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            modules = self._build_modules(betas)
            init_dcgan_weights(modules.generator)
            init_dcgan_weights(modules.discriminator)
            rng_state = torch.get_rng_state()
        self.history_ = []
        data = training_images(self, X, torch.contiguous_format)
        pairs = PairSampler(
            torch.from_numpy(labels), balanced=bool(self.balance_classes)
        )
        steps = self.steps
        progress = ProgressReporter(
            "fit",
            steps or self.epochs,
            verbose=self.verbose,
            unit="steps" if steps else "epochs",
            every=max(1, steps // 10) if steps else 1,
            time_limit=self.max_time,
        )
        done = 0

        def on_epoch_end(stats, seconds, _rng, _ema):
            nonlocal done
            done += stats["n_steps"]
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
            self.history_.append(record)
            progress.update(
                done if steps else None,
                detail=lambda: (
                    f"epoch {record['epoch']}: d_loss {record['d_loss']:.4f} "
                    f"g_loss {record['g_loss']:.4f} d_acc real "
                    f"{record['d_real_accuracy']:.3f} fake "
                    f"{record['d_fake_accuracy']:.3f}"
                ),
            )

        try:
            rng_state, ema_updates, stopped = train_variation(
                modules,
                data,
                pairs,
                rng_state=rng_state,
                ema_decay=self.ema_decay,
                batch_size=min(self.batch_size, len(pairs.anchors)),
                n_epochs=self.epochs,
                max_steps=steps,
                deadline=(
                    None
                    if self.max_time is None
                    else time.perf_counter() + self.max_time
                ),
                noise_dim=self.noise_dim,
                loss=self.loss,
                on_epoch_end=on_epoch_end,
            )
        except DivergenceError as exc:
            for name in self._state_attributes:
                if hasattr(self, name):
                    delattr(self, name)
            raise DivergenceError(
                f"{exc} The model was left unfitted; lower the learning rates."
            ) from None
        set_modules(self, modules)
        self._rng_state, self._ema_updates = rng_state, ema_updates
        if stopped == "out_of_time" and self.verbose:
            print(f"max_time={self.max_time}s reached; training stopped.")
        return self

    # --------------------------------------------------------------- sampling

    def _to_model(self, X, name="X_source"):
        """Source images (one or more, finite) as the networks' tensors."""
        check_is_fitted(self)
        X = validate_data(
            self,
            precheck_images(X, name=name),
            reset=False,
            dtype="numeric",
            allow_nd=True,
            ensure_min_samples=1,
        )
        self.image_layout_.check(X, name=name)
        return self.image_layout_.to_model(X)

    def sample(self, X_source, random_state=None):
        """One new variant of each source image.

        Sampling is conditional: the variants are of the images given, not
        drawn from nowhere. Pass an image several times for several variants.

        Parameters
        ----------
        X_source : array-like of shape (n_samples, ...)
            Real images in the layout of the training ``X`` (any class, also
            one that was not in training).
        random_state : int, RandomState instance or None, default=None
            Seeds the noise; an int gives the same variants on every call,
            and the variants of ``X_source[:5]`` are the first 5 of those of
            ``X_source`` (up to float rounding).

        Returns
        -------
        X : ndarray of shape (n_samples, ...)
            The variants, row ``i`` made from ``X_source[i]``, in the layout,
            dtype and value range of the training images.
        """
        sources = self._to_model(X_source)
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        layout = self.image_layout_
        out = np.empty((len(sources), *layout.sample_shape), dtype=layout.dtype)
        network = (
            self.generator_ if self.generator_ema_ is None else self.generator_ema_
        )
        for start, images in generate_variants(
            network, sources, noise_dim=self.noise_dim, seed=seed, device=self.device_
        ):
            out[start : start + len(images)] = layout.from_model(images)
        return out

    def realism(self, X_source, X_variant):
        """The discriminator's logit for each pair (source, variant).

        Higher means the pair looks more like two real images of one class.
        :class:`~skgan.SyntheticAugmenter` keeps the variants with the highest
        values (discriminator rejection).

        Parameters
        ----------
        X_source, X_variant : array-like of shape (n_samples, ...)
            Pairs of images, in the layout of the training ``X``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        sources = self._to_model(X_source, "X_source")
        variants = self._to_model(X_variant, "X_variant")
        if len(sources) != len(variants):
            raise ValueError(
                f"X_source has {len(sources)} images and X_variant "
                f"{len(variants)}; pass one variant per source."
            )
        return pair_scores(
            self.discriminator_, sources, variants, device=self.device_
        ).astype(np.float64)

    def score(self, X, y=None):
        """Minus the Fréchet distance between ``X`` and one variant of each image.

        Higher is better. The variants are made from ``X`` itself (with
        ``random_state``), so the score measures how much like real images
        of the set the variants look; it does not measure their variety (see
        :func:`skgan.metrics.precision_recall` for that).

        Parameters
        ----------
        X : array-like
            Real images in the layout used at fit time (at least 2).
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-FID``.
        """
        check_is_fitted(self)
        X, layout, (low, high) = validate_images(self, X, reset=False)
        fake = self.sample(X, random_state=self.random_state)
        if self.feature_extractor is None:
            return -frechet_inception_distance(
                X.reshape(X.shape[0], -1).astype(np.float64),
                fake.reshape(fake.shape[0], -1).astype(np.float64),
                feature_extractor=None,
            )
        data_range = None
        if X.dtype != np.uint8:
            data_range = (min(layout.data_min, low), max(layout.data_max, high))
        return -frechet_inception_distance(
            X,
            fake,
            feature_extractor=self.feature_extractor,
            image_shape=layout.image_shape,
            data_range=data_range,
            verbose=self.verbose,
        )

    # ------------------------------------------------------------ fitted state

    def _import_state(self, values, tensors, device):
        betas = []  # set by the parameter check, read by the build

        def check_parameters():
            betas.append(self._check_compound())

        load_fitted_state(
            self,
            values,
            tensors,
            device,
            check_parameters=check_parameters,
            build=lambda with_ema: self._build_modules(betas[0], with_ema=with_ema),
            conditional=True,
        )
