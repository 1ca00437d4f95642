"""DCGANEstimator: the scikit-learn face of a deep convolutional GAN.

This module owns the parameters, their validation and the public methods. The
networks are built in :mod:`skgan.gan._build`, trained by :mod:`skgan.nn.fitting`,
and turned into plain values and tensors (for pickle and model files) by
:mod:`skgan.gan._estimator_state`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import persistence
from ..metrics import frechet_inception_distance
from ..nn.sampling import generate
from ..utils._validation import check_sample_count
from ._estimator_state import FittedStateMixin
from ._fitting import initialize, train
from ._labels import check_fit_labels, labels_to_sample
from ._parameters import (
    PARAMETER_CONSTRAINTS,
    check_compound_parameters,
    check_precision,
)
from ._training_data import validate_images

__all__ = ["DCGANEstimator"]


@persistence.register_model_class
class DCGANEstimator(FittedStateMixin, BaseEstimator):
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
    batch_size : int or "auto", default="auto"
        Images per step (smaller sets use all images in one step). ``"auto"``:
        32 for images below 64 pixels on their shorter side, 16 from 64 pixels
        on (more, cheaper steps learn faster there; see :ref:`recipe`).
    generator_lr, discriminator_lr : float or "auto", default="auto"
        Adam learning rates of the generator and the discriminator (set them
        apart for TTUR). ``"auto"``: 2e-4 below 64 pixels, 5e-4 from 64
        pixels on.
    betas : tuple of (float, float), default=(0.5, 0.999)
        Adam coefficients for both networks.
    loss : {"bce", "hinge"}, default="hinge"
        Adversarial loss: non-saturating binary cross-entropy or hinge.
    real_label : float or tuple of (float, float), default=1.0
        With ``loss="bce"`` only (the hinge loss has no targets and ignores
        it): the target for real images, or a ``(low, high)`` range targets
        are drawn from uniformly (one-sided label smoothing, e.g.
        ``(0.8, 1.0)``, a common setting for small medical sets).
    fake_label : float, default=0.0
        With ``loss="bce"`` only: the target for generated images (e.g. 0.1).
    generator_width, discriminator_width : int or "auto", default="auto"
        Channels of the generator's last and the discriminator's first stage;
        each stage nearer the noise doubles them (capped at 512). Narrow
        networks make many more steps per second on a CPU, which is what
        counts on small data (see :ref:`recipe`); on a GPU, 32-64 are common.
        ``"auto"`` is 16 below 64 pixels and 8 from 64 pixels on. Ignored by a
        user-supplied ``generator`` / ``discriminator``.
    depth : int, default=None
        Resolution doublings in the generator (halvings in the discriminator).
        None picks the largest depth, up to 4, whose first feature map is at
        least 4 pixels on its shorter side (28x28 → 2, 64x64 → 4).
    generator_first_stage : {"dense", "transposed"}, default="dense"
        Project the noise with a dense layer or a transposed convolution.
    generator_upsampling : {"nearest", "transposed"}, default="nearest"
        Nearest upsampling + 3x3 conv, or 4x4 stride-2 transposed convolutions.
    generator_architecture : {"dcgan", "skip"}, default="dcgan"
        ``"dcgan"``: the stages feed each other only. ``"skip"`` adds
        skip-layer excitation (as in FastGAN): each stage from the third on is
        gated, channel by channel, by the feature map three stages earlier,
        so that the coarse layout steers the fine stages. It did not improve
        64 pixel brain MRI within minutes of CPU (see :ref:`recipe`).
    generator_batch_norm : bool, default=True
        Batch normalisation in the generator.
    spectral_norm : bool, default=True
        Spectral normalisation of every discriminator layer.
    discriminator_dropout : float, default=0.0
        Dropout after each discriminator stage (0.4 is common in published
        small-data DCGANs).
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
        No flips, by design. Adding ``"ada"`` makes it adaptive (ADA): each
        transformation is applied to each image with a probability ``p``
        that starts at 0 and, every 4 steps, rises by 0.02 while the
        discriminator is right about more than 80% of the real images
        (``E[sign(D(x))] > 0.6``) and falls by 0.02 while it is right about
        fewer; ``"ada"`` alone means ``"ada,translation,cutout"``. ``p`` is
        recorded in ``history_`` and continues with ``warm_start``. Off by
        default: at the budgets measured in :ref:`recipe`, fixed and
        adaptive DiffAugment slowed convergence more than they helped.
    ema_decay : float or None, default=0.999
        Keep an exponential moving average of the generator's weights with
        this decay (warmed up over the first steps); ``sample`` then uses the
        average. None trains and samples the raw generator only.
    diversity_weight : float or "auto", default="auto"
        Weight of a mode-seeking term in the generator's loss (MSGAN, Mao et
        al. 2019): each step pairs its generated images (of the same class,
        when ``conditional``) and penalises the generator by the inverse of
        how far apart a pair's images are relative to their noise vectors,
        which counters a generator that maps different noise to the same
        image. 1.0 is the paper's weight; 0 turns it off. ``"auto"``: 0
        below 64 pixels, 1.0 from 64 pixels on (see :ref:`recipe_64_128`).
    batch_norm_statistics : {"auto", "recomputed", "running"}, default="auto"
        The batch-normalisation statistics that the generator used by
        ``sample`` normalises with. ``"running"``: the running averages kept
        during training; those of the moving average (``ema_decay``) are
        copied from the generator being trained, whose weights differ.
        ``"recomputed"``: at the end of each training call, and at each
        epoch's end when there are ``callbacks``, they are measured again on
        the network's own outputs for 1,024 fixed noise vectors (labels drawn
        from ``class_prior_``), as stochastic weight averaging does
        (:func:`torch.optim.swa_utils.update_bn`). Training itself is
        unchanged. ``"auto"``: ``"running"`` below 64 pixels, ``"recomputed"``
        from 64 pixels on (see :ref:`recipe_batch_norm_statistics`).
    max_time : float, default=None
        Stop training after this many seconds (checked after every step), even
        if ``epochs`` are not done.
    channels_last : bool, default=True
        Keep images, activations and convolution weights in channels-last
        (NHWC) memory order on CPU and CUDA. The numbers are the same up to
        float rounding, and usually faster on CPUs (see :ref:`performance`);
        a saved or pickled model keeps the order it was trained in, so it
        samples bit-identically after loading.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        ``"bfloat16"`` runs the forward passes of training under
        :func:`torch.autocast` in bfloat16 (weights, optimiser state and losses
        stay float32). Meant for CUDA GPUs with bfloat16 support (Ampere and
        later); on CPUs it is usually slower (see :ref:`performance`).
        ``"float16"`` does the same in float16 and scales the losses with
        :class:`torch.amp.GradScaler` so that small gradients do not vanish
        (a step whose gradients overflow is skipped and the scale lowered;
        each call to ``fit`` starts from the initial scale). CUDA only: for
        GPUs without bfloat16 (before Ampere). A fitted model samples in
        float32 and loads on any device.
    cudnn_benchmark : bool, default=False
        On CUDA, let cuDNN time the convolution algorithms on the first steps
        and keep the fastest (``torch.backends.cudnn.benchmark``) for the
        duration of ``fit``. No effect elsewhere.
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
        first step compiles, which takes tens of seconds; meant for CUDA (see
        :ref:`performance` for what it does on a CPU).
    conditional : bool, default=False
        Learn a class-conditional model from ``fit(X, y)``; ``sample`` then
        returns ``(X, y)``.
    discriminator_projection : {"auto", "last_stage", "every_stage"}, default="auto"
        How a conditional discriminator judges whether an image fits its
        label (a projection discriminator, Miyato & Koyama 2018).
        ``"last_stage"``: the inner product of a label embedding with the
        spatially summed features of the last stage, as in the paper.
        ``"every_stage"``: the same on every downsampling stage, each with
        its own embedding, so that coarse and fine features both answer for
        the class. The generator then learns more of what tells the classes
        apart: its samples are recognised as their class more often, but
        vary less within it. ``"auto"``: ``"last_stage"`` below 64 pixels,
        ``"every_stage"`` from 64 pixels on (see
        :ref:`recipe_class_accuracy`). No effect without ``conditional`` or
        with a custom ``discriminator``.
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
    generator : torch.nn.Module class or callable, default=None
        Bring your own generator: called as ``generator(noise_dim=...,
        image_shape=(C, H, W), n_classes=...)`` (``n_classes`` is 0 unless
        ``conditional=True``), it returns a module whose
        ``forward(noise, labels)`` maps ``(n, noise_dim)`` noise (and ``(n,)``
        class indices, or None) to ``(n, C, H, W)`` images in ``[-1, 1]``.
        None builds the default network from the parameters above. Checked
        with one forward pass before training.
    discriminator : torch.nn.Module class or callable, default=None
        Bring your own discriminator: called as ``discriminator(image_shape=(C,
        H, W), n_classes=...)``, it returns a module whose
        ``forward(images, labels)`` gives one logit per image, shape ``(n,)``
        or ``(n, 1)``. Batch normalisation in it makes training judge real and
        generated images in separate calls. None builds the default network.
    callbacks : list of callable, default=None
        Each is called as ``callback(estimator, record)`` after every epoch,
        ``record`` being that epoch's entry of ``history_`` (see
        :mod:`skgan.callbacks`).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA, then Apple MPS, then the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, noise, shuffling and dropout through a
        private torch random state: on the CPU, equal seeds give bit-identical
        models. The global torch and NumPy random states are left untouched.
    verbose : int, default=0
        0 is silent; 1 prints a line per epoch of ``fit`` and ``partial_fit``
        (with ``steps``, one per tenth of the steps; 2: every epoch too): the
        time elapsed, an estimate of the time left and the epoch's losses;
        ``score`` reports its feature extraction.
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
        ``completed``, with adaptive augmentation ``augment_p`` (its
        probability at the end of the epoch), ``warnings`` (the failures
        seen so far: any of ``"discriminator_won"``, ``"mode_collapse"``,
        ``"no_progress"``; each first sighting also raises a
        :class:`~skgan.TrainingWarning` naming likely fixes) and
        ``sample_spread`` (mean pairwise distance of a fixed batch of
        generated images over that of real images, within each class for a
        conditional model, when measured in that epoch, else None).
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

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS
    _legacy_params = {"discriminator_projection": "last_stage"}

    def __init__(
        self,
        noise_dim=100,
        *,
        epochs=25,
        steps=None,
        batch_size="auto",
        generator_lr="auto",
        discriminator_lr="auto",
        betas=(0.5, 0.999),
        loss="hinge",
        real_label=1.0,
        fake_label=0.0,
        generator_width="auto",
        discriminator_width="auto",
        depth=None,
        generator_first_stage="dense",
        generator_upsampling="nearest",
        generator_architecture="dcgan",
        generator_batch_norm=True,
        spectral_norm=True,
        discriminator_dropout=0.0,
        discriminator_batch_norm=True,
        augment=None,
        ema_decay=0.999,
        diversity_weight="auto",
        batch_norm_statistics="auto",
        max_time=None,
        channels_last=True,
        precision="float32",
        cudnn_benchmark=False,
        torch_compile=False,
        distributed="auto",
        conditional=False,
        discriminator_projection="auto",
        on_divergence="raise",
        image_shape=None,
        feature_extractor="inception",
        generator=None,
        discriminator=None,
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
        self.generator_architecture = generator_architecture
        self.generator_batch_norm = generator_batch_norm
        self.spectral_norm = spectral_norm
        self.discriminator_dropout = discriminator_dropout
        self.discriminator_batch_norm = discriminator_batch_norm
        self.augment = augment
        self.ema_decay = ema_decay
        self.diversity_weight = diversity_weight
        self.batch_norm_statistics = batch_norm_statistics
        self.max_time = max_time
        self.channels_last = channels_last
        self.precision = precision
        self.cudnn_benchmark = cudnn_benchmark
        self.torch_compile = torch_compile
        self.distributed = distributed
        self.conditional = conditional
        self.discriminator_projection = discriminator_projection
        self.on_divergence = on_divergence
        self.image_shape = image_shape
        self.feature_extractor = feature_extractor
        self.generator = generator
        self.discriminator = discriminator
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags

    # --------------------------------------------------------------- validation

    def _validate_images(self, X, *, reset):
        return validate_images(self, X, reset=reset)

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the GAN on images ``X`` for ``epochs`` epochs (or ``steps`` steps).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
                (n_samples, H, W, C)
            Training images, uint8 or float of any range. Used as given, never
            copied whole: a :class:`numpy.memmap` larger than memory works
            (see :ref:`large_data`).
        y : array-like of shape (n_samples,), default=None
            Class labels (any hashable values, e.g. strings); required when
            ``conditional=True``, ignored otherwise.

        Returns
        -------
        self : DCGANEstimator
        """
        keep = self.warm_start and hasattr(self, "generator_")
        X, layout, values = self._validate_images(X, reset=not keep)
        if keep:
            layout.check_training_range(X, values=values)
        pairs = check_compound_parameters(self)
        check_precision(self, fitted=keep)
        classes = check_fit_labels(self, X.shape[0], y, fitted=keep)
        if not keep:
            initialize(self, layout, pairs, classes)
        train(self, X, y, self.epochs, pairs, steps=self.steps)
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
        X, layout, values = self._validate_images(X, reset=first)
        if not first:
            layout.check_training_range(X, values=values)
        pairs = check_compound_parameters(self)
        check_precision(self, fitted=not first)
        labels = check_fit_labels(
            self, X.shape[0], y, fitted=not first, classes=classes
        )
        if first:
            initialize(self, layout, pairs, labels)
        train(self, X, y, 1, pairs, phase="partial_fit")
        return self

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
        labels = labels_to_sample(self, n_samples, y, rng)
        if labels is not None:
            n_samples = len(labels)
        layout = self.image_layout_
        out = np.empty((n_samples, *layout.sample_shape), dtype=layout.dtype)
        network = (
            self.generator_ if self.generator_ema_ is None else self.generator_ema_
        )
        seed = int(rng.randint(np.iinfo(np.int32).max))
        for start, images in generate(
            network,
            n_samples,
            noise_dim=self.noise_dim,
            seed=seed,
            labels=labels,
            device=self.device_,
        ):
            out[start : start + len(images)] = layout.from_model(images)
        if labels is None:
            return out
        return out, self.classes_[labels]

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
        X, layout, (low, high) = self._validate_images(X, reset=False)
        if self.conditional:
            # Class-matched comparison when labels are given.
            fake, _ = self.sample(X.shape[0], random_state=self.random_state, y=y)
        else:
            fake = self.sample(X.shape[0], random_state=self.random_state)
        if self.feature_extractor is None:
            return -frechet_inception_distance(
                X.reshape(X.shape[0], -1).astype(np.float64),
                fake.reshape(fake.shape[0], -1).astype(np.float64),
                feature_extractor=None,
            )
        if X.dtype == np.uint8:
            data_range = None  # the nominal 0..255, as in published FIDs
        else:  # held-out images may stray outside the training range
            data_range = (min(layout.data_min, low), max(layout.data_max, high))
        return -frechet_inception_distance(
            X,
            fake,
            feature_extractor=self.feature_extractor,
            image_shape=layout.image_shape,
            data_range=data_range,
            verbose=self.verbose,
        )
