"""GAN recipes at equal wall-clock budgets on PneumoniaMNIST, judged offline.

What
    Every method trains for the same wall-clock budget on the ``train`` split of
    PneumoniaMNIST (28x28 grayscale chest X-rays, 0 = normal, 1 = pneumonia)
    and is judged against the ``val`` split. Methods:

    * ``reference``: the DCGAN a user would copy from a tutorial, in plain
      PyTorch (``_reference_dcgan.py``, no skgan); ``reference-*`` change one
      thing in it (:data:`REFERENCE_CONFIGS`), for ablations;
    * ``skgan-*``: :class:`skgan.DCGANEstimator` with the settings of
      :data:`SKGAN_CONFIGS`, stopped by ``max_time``.

    In the default ``--mode per-class`` each method trains one unconditional
    GAN per class, the budget split equally between the classes (so a method's
    total training time is the budget); the samples of class ``c`` are those of
    the class-``c`` GAN. ``--mode conditional`` trains the skgan methods as one
    class-conditional model (``conditional=True``) for the whole budget; the
    reference has no conditional variant and stays per-class.

    For each budget, the methods run one after the other (interleaved), so that
    a drift of the machine's load hits them all alike.

How to run
    python benchmarks/gan_quality.py                      # 60,150,300 s budgets
    python benchmarks/gan_quality.py --budgets 6 --methods reference,skgan-recipe
    python benchmarks/gan_quality.py --grid grid.png --json quality.json
    python benchmarks/gan_quality.py --train-per-class 200 --budgets 150   # scarce data

    Export ``OMP_WAIT_POLICY=PASSIVE`` on a shared machine (spinning OpenMP
    threads slow training down many times) and run on quiet cores: the budgets
    are wall-clock seconds, so any other load costs steps.

Evaluation (offline, feature spaces fitted on the train split only)
    Each method generates as many images per class as ``val`` holds of that
    class (fixed seed). Two feature spaces:

    * pixel PCA: 50 principal components of the train images in ``[0, 1]``;
    * classifier: the hidden ReLU layer of an ``MLPClassifier((128,))`` trained
      on the train images (its val accuracy is printed as context).

    Per class (generated vs val images of that class) and overall (all classes
    together, in val proportions) the script computes the metrics below. The
    row ``real (train split)`` is the ceiling: train images, subsampled to the
    val size of each class, scored the same way.

Columns of the table (overall values)
    budget s        wall-clock budget of the method, all classes together.
    steps           generator updates done, all classes together.
    train s         measured training seconds (setup included).
    FID-PCA         Fréchet distance in the pixel-PCA space (lower is better).
    FID-clf         Fréchet distance in the classifier space (lower is better).
    KID-clf (x1e3)  kernel distance (unbiased MMD^2, cubic kernel) in the
                    classifier space, times 1000 (lower is better, ~0 is ideal).
    precision       improved precision (k=5), classifier space: share of
                    generated images inside the real manifold (fidelity).
    recall          improved recall (k=5), classifier space: share of real
                    images inside the generated manifold (diversity).
    class acc       accuracy of the classifier on the generated images, the
                    label being the class they were generated for (mean over
                    classes).

A second table gives the same metrics per class; ``--json`` also stores density
and coverage (k=5, classifier space).

Brain MRI at 64 and 128 px (``--data braintumor``)
    ``python benchmarks/gan_quality.py --data braintumor --size 64,128
    --budgets 300`` trains on ``braintumor128.npz`` (meningioma / glioma /
    pituitary slices, downsampled to each ``--size`` by area averaging) for
    equal budgets of **CPU time of one thread** (``torch.set_num_threads(1)``,
    measured with :func:`time.process_time`, so that other processes on the
    machine do not change the comparison; skgan's ``max_time`` is pointed at
    that clock). Methods (:data:`BRAIN_METHODS`):

    * ``tutorial``: the PyTorch tutorial's 64 px DCGAN (``_reference_dcgan.py``,
      ngf = ndf = 64, BCE, Adam 2e-4 / 0.5, batch 128; one more stage at
      128 px);
    * ``skgan-0.2``: :class:`skgan.DCGANEstimator` with the defaults it had
      before it chose them by image size, spelled out;
    * ``skgan-default``: :class:`skgan.DCGANEstimator` with its defaults;
    * ``skgan-no-diversity``: the defaults without the mode-seeking term
      (``diversity_weight=0.0``);
    * ``skgan-running-statistics``: the defaults sampling with the running
      batch-norm statistics kept during training
      (``batch_norm_statistics="running"``), as before they were recomputed;
    * ``skgan-last-stage-projection``: the defaults with the label projected
      on the discriminator's last stage only
      (``discriminator_projection="last_stage"``), as before it was projected
      on every stage (conditional runs; the same model as the defaults
      without labels).

    ``--mode unconditional`` trains one GAN on all train images (no labels),
    ``--mode conditional`` one class-conditional skgan model, and the
    tutorial one GAN per class with the budget split between the classes.
    Metrics against the val split: Fréchet distance in the 64 pooled features
    of a small CNN trained on the train split (``_domain_cnn.py``; FID-cnn)
    and in the 50 whitened principal components of the train pixels
    (FID-wpca), precision and recall (k=5, CNN features), and, for
    conditional runs, the share of samples the CNN assigns to the class they
    were generated for, beside the CNN's accuracy on val. ``--grid-dir``
    writes one PNG per size and mode: real val images, then each method.
    ``--tune`` holds 500 train images out and scores against them instead of
    val (for choosing settings without looking at val).
"""

import argparse
import json
import os
import platform
import time
import types
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from _domain_cnn import DomainCNN
from _reference_dcgan import ReferenceDCGAN, TutorialDCGAN
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPClassifier
from torch import nn

import skgan.gan._fitting
import skgan.nn.training
from skgan import DCGANEstimator
from skgan.metrics import (
    density_coverage,
    frechet_distance,
    kernel_inception_distance,
    precision_recall,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"
BRAIN_DATA = DATA.with_name("braintumor128.npz")
BRAIN_CLASS_NAMES = {0: "meningioma", 1: "glioma", 2: "pituitary"}
CLASS_NAMES = {0: "normal", 1: "pneumonia"}

#: skgan configurations: name -> DCGANEstimator parameters. The benchmark adds
#: ``max_time``, a huge ``epochs``, ``random_state``, ``device="cpu"`` and
#: ``on_divergence="restore"`` (so that a NaN ends that run, visible in
#: ``steps``, instead of the whole benchmark).
_RECIPE = {
    "loss": "hinge",
    "generator_width": 32,
    "discriminator_width": 32,
    "batch_size": 32,
    "augment": "translation,cutout",
    "ema_decay": 0.999,
    "spectral_norm": True,
    "generator_lr": 2e-4,
    "discriminator_lr": 2e-4,
    "discriminator_batch_norm": False,
}
# The defaults of skgan 0.1, before this benchmark chose new ones.
_SKGAN_01 = {
    "loss": "bce",
    "generator_width": 64,
    "discriminator_width": 64,
    "batch_size": 64,
    "augment": None,
    "ema_decay": None,
    "spectral_norm": True,
    "generator_lr": 2e-4,
    "discriminator_lr": 2e-4,
    "discriminator_batch_norm": False,
}
# The reference's shape inside skgan: transposed upsampling, batch 64.
_COMPACT = {
    "loss": "bce",
    "generator_width": 32,
    "discriminator_width": 32,
    "batch_size": 64,
    "generator_upsampling": "transposed",
    "augment": None,
    "ema_decay": None,
    "spectral_norm": True,
    "discriminator_batch_norm": False,
}
_RECIPE_W16 = {**_RECIPE, "generator_width": 16, "discriminator_width": 16}
SKGAN_CONFIGS = {
    "skgan-defaults": {},
    "skgan-compact": dict(_COMPACT),
    "skgan-compact-hinge-ema": {**_COMPACT, "loss": "hinge", "ema_decay": 0.999},
    "skgan-compact-nosn": {**_COMPACT, "spectral_norm": False},
    "skgan-compact-nosn-ema": {**_COMPACT, "spectral_norm": False, "ema_decay": 0.999},
    "skgan-compact-hinge-ema-translation": {
        **_COMPACT,
        "loss": "hinge",
        "ema_decay": 0.999,
        "augment": "translation",
    },
    "skgan-0.1-defaults": dict(_SKGAN_01),
    "skgan-recipe": dict(_RECIPE),
    "skgan-recipe-w16": dict(_RECIPE_W16),
    "skgan-recipe-ttur": {**_RECIPE, "generator_lr": 1e-4, "discriminator_lr": 4e-4},
    "skgan-bce-noaug": {**_RECIPE, "loss": "bce", "augment": None, "ema_decay": None},
    "skgan-recipe-w16-ttur": {
        **_RECIPE,
        "generator_width": 16,
        "discriminator_width": 16,
        "generator_lr": 1e-4,
        "discriminator_lr": 4e-4,
    },
    "skgan-dbn": {**_RECIPE_W16, "discriminator_batch_norm": True},
    "skgan-dbn-noaug": {
        **_RECIPE_W16,
        "discriminator_batch_norm": True,
        "augment": None,
    },
    "skgan-dbn-translation": {
        **_RECIPE_W16,
        "discriminator_batch_norm": True,
        "augment": "translation",
    },
    "skgan-dbn-nosn": {
        **_RECIPE_W16,
        "discriminator_batch_norm": True,
        "spectral_norm": False,
    },
    "skgan-compact-dbn-nosn": {
        **_COMPACT,
        "discriminator_batch_norm": True,
        "spectral_norm": False,
    },
    "skgan-compact-dbn-nosn-recipe": {
        **_COMPACT,
        "discriminator_batch_norm": True,
        "spectral_norm": False,
        "loss": "hinge",
        "ema_decay": 0.999,
        "augment": "translation,cutout",
    },
    "skgan-recipe-t32-ttur": {
        **_RECIPE,
        "generator_upsampling": "transposed",
        "generator_lr": 1e-4,
        "discriminator_lr": 4e-4,
    },
}
# One change to the tutorial DCGAN each (keyword arguments of ReferenceDCGAN).
REFERENCE_CONFIGS = {
    "reference": {},
    "reference-no-dbn": {"batch_norm": False},
    "reference-joint-call": {"joint_call": True},
    "reference-ema": {"ema_decay": 0.999},
    "reference-augment": {"augment": "translation,cutout"},
}
METHODS = [*REFERENCE_CONFIGS, *SKGAN_CONFIGS]
DEFAULT_METHODS = "reference,skgan-0.1-defaults,skgan-defaults"
HUGE_EPOCHS = 10**9  # max_time stops training long before


# --------------------------------------------------------------------------- #
# data and feature spaces
# --------------------------------------------------------------------------- #


def load_data(path):
    """Load the train and val splits.

    Parameters
    ----------
    path : str or Path
        The ``pneumoniamnist.npz`` file.

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        Images of shape ``(n, 28, 28)`` (uint8) and labels of shape ``(n,)``.
    """
    with np.load(path) as data:
        return (
            data["train_images"],
            data["train_labels"].ravel(),
            data["val_images"],
            data["val_labels"].ravel(),
        )


def _unit_rows(images):
    """Flatten uint8 images to float64 rows in ``[0, 1]``."""
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


class FeatureSpaces:
    """Pixel-PCA and classifier feature spaces, fitted on the train split.

    Parameters
    ----------
    X_train, y_train : ndarray
        Train images (uint8) and labels.
    n_components : int, default=50
        PCA components.

    Attributes
    ----------
    pca : PCA
        Fitted on the train images in ``[0, 1]``.
    classifier : MLPClassifier
        One hidden layer of 128 ReLU units; its activations are the features.
    """

    def __init__(self, X_train, y_train, n_components=50):
        rows = _unit_rows(X_train)
        self.pca = PCA(n_components=n_components, random_state=0).fit(rows)
        self.classifier = MLPClassifier(
            hidden_layer_sizes=(128,), early_stopping=True, random_state=0
        ).fit(rows, y_train)

    def pixel_pca(self, images):
        """PCA features of uint8 images, shape ``(n, n_components)``."""
        return self.pca.transform(_unit_rows(images))

    def hidden(self, images):
        """Penultimate (hidden ReLU) activations of the classifier, ``(n, 128)``."""
        clf = self.classifier
        return np.maximum(_unit_rows(images) @ clf.coefs_[0] + clf.intercepts_[0], 0)

    def predict(self, images):
        """Classifier labels of uint8 images."""
        return self.classifier.predict(_unit_rows(images))


def warm_up_torch():
    """Pay torch's one-time costs before any timed run.

    The first optimizer a process creates imports ``torch._dynamo`` (about two
    seconds), and the first convolutions set up their kernels: without this,
    whichever method runs first would lose that time from its budget.
    """
    model = nn.Sequential(
        nn.ConvTranspose2d(2, 2, 4, 2, 1), nn.BatchNorm2d(2), nn.Conv2d(2, 1, 3)
    )
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 2, 7, 7)).mean().backward()
    optimizer.step()


def _skgan_estimator(config, max_time, seed, conditional=False):
    """A DCGANEstimator with ``config`` stopped by ``max_time`` seconds."""
    return DCGANEstimator(
        **config,
        epochs=HUGE_EPOCHS,
        max_time=max_time,
        conditional=conditional,
        on_divergence="restore",
        random_state=seed,
        device="cpu",
    )


def _skgan_steps(estimator):
    return int(sum(record["n_steps"] for record in estimator.history_))


def train_and_sample(method, budget, X, y, n_per_class, *, mode, seed):
    """Train ``method`` for ``budget`` seconds and draw class-conditional samples.

    Parameters
    ----------
    method : str
        A key of :data:`REFERENCE_CONFIGS` or of :data:`SKGAN_CONFIGS`.
    budget : float
        Total training seconds, split equally between the classes when the
        method trains one GAN per class.
    X, y : ndarray
        Train images (uint8, ``(n, 28, 28)``) and labels.
    n_per_class : dict
        ``{class: number of images to generate}``.
    mode : {"per-class", "conditional"}
        How the skgan methods use the labels (the reference is always per-class).
    seed : int
        Seeds training (``seed + class`` per class) and sampling (``seed``).

    Returns
    -------
    samples : dict
        ``{class: uint8 images (n_per_class[class], 28, 28)}``.
    steps : int
        Updates done, all classes together.
    seconds : float
        Measured training time, all classes together (sampling excluded).
    """
    classes = sorted(n_per_class)
    samples, steps, seconds = {}, 0, 0.0
    reference = method in REFERENCE_CONFIGS
    if not reference and mode == "conditional":
        estimator = _skgan_estimator(SKGAN_CONFIGS[method], budget, seed, True)
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
        for c in classes:
            samples[c] = estimator.sample(n_per_class[c], random_state=seed, y=c)[0]
        return samples, _skgan_steps(estimator), seconds
    per_class = budget / len(classes)
    for c in classes:
        if reference:
            model = ReferenceDCGAN(
                per_class, seed=seed + int(c), **REFERENCE_CONFIGS[method]
            )
        else:
            model = _skgan_estimator(SKGAN_CONFIGS[method], per_class, seed + int(c))
        start = time.perf_counter()
        model.fit(X[y == c])
        seconds += time.perf_counter() - start
        steps += model.n_steps if reference else _skgan_steps(model)
        samples[c] = model.sample(n_per_class[c], random_state=seed)
    return samples, steps, seconds


# --------------------------------------------------------------------------- #
# evaluation
# --------------------------------------------------------------------------- #


def _pair_metrics(spaces, real, fake):
    """All metrics of generated images ``fake`` against real images ``real``."""
    real_pca, fake_pca = spaces.pixel_pca(real), spaces.pixel_pca(fake)
    real_clf, fake_clf = spaces.hidden(real), spaces.hidden(fake)
    # One subset of the smaller set's size: the unbiased MMD^2 of whole sets
    # (val is too small for the usual 100 subsets of 1000).
    kid, _ = kernel_inception_distance(
        real_clf,
        fake_clf,
        n_subsets=1,
        subset_size=min(len(real), len(fake)),
        feature_extractor=None,
    )
    precision, recall = precision_recall(
        real_clf, fake_clf, k=5, feature_extractor=None
    )
    density, coverage = density_coverage(
        real_clf, fake_clf, k=5, feature_extractor=None
    )
    return {
        "fid_pca": frechet_distance(real_pca, fake_pca),
        "fid_clf": frechet_distance(real_clf, fake_clf),
        "kid_clf": kid,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }


def evaluate(spaces, samples, X_val, y_val):
    """Score class-conditional samples against the val split.

    Parameters
    ----------
    spaces : FeatureSpaces
        Fitted feature spaces.
    samples : dict
        ``{class: uint8 images}``, as many per class as val holds.
    X_val, y_val : ndarray
        Val images and labels.

    Returns
    -------
    scores : dict
        ``{"overall": metrics, "per_class": {class: metrics}}``; each metrics
        dict holds ``fid_pca``, ``fid_clf``, ``kid_clf``, ``precision``,
        ``recall``, ``density``, ``coverage`` and ``class_acc`` (overall: the
        mean of the per-class accuracies).
    """
    per_class = {}
    for c, fake in samples.items():
        scores = _pair_metrics(spaces, X_val[y_val == c], fake)
        scores["class_acc"] = float(np.mean(spaces.predict(fake) == c))
        per_class[int(c)] = scores
    classes = sorted(samples)
    real = np.concatenate([X_val[y_val == c] for c in classes])
    fake = np.concatenate([samples[c] for c in classes])
    overall = _pair_metrics(spaces, real, fake)
    overall["class_acc"] = float(np.mean([s["class_acc"] for s in per_class.values()]))
    return {"overall": overall, "per_class": per_class}


# --------------------------------------------------------------------------- #
# reporting
# --------------------------------------------------------------------------- #

COLUMNS = [
    ("FID-PCA", "fid_pca", "{:.2f}"),
    ("FID-clf", "fid_clf", "{:.2f}"),
    ("KID-clf (x1e3)", "kid_clf", "{:.2f}", 1e3),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("class acc", "class_acc", "{:.3f}"),
]


def _cells(scores):
    cells = []
    for _header, key, fmt, *scale in COLUMNS:
        cells.append(fmt.format(scores[key] * (scale[0] if scale else 1.0)))
    return cells


def _markdown(headers, rows):
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_tables(results):
    """The overall and per-class markdown tables of all results.

    Parameters
    ----------
    results : list of dict
        One entry per run: ``budget``, ``method``, ``steps``, ``seconds``
        (None for the real-data row) and ``scores`` from :func:`evaluate`.

    Returns
    -------
    overall, per_class : str
    """
    metric_headers = [column[0] for column in COLUMNS]
    overall, per_class = [], []
    for r in results:
        fixed = [
            "-" if r["budget"] is None else f"{r['budget']:g}",
            r["method"],
        ]
        run = [
            "-" if r["steps"] is None else str(r["steps"]),
            "-" if r["seconds"] is None else f"{r['seconds']:.1f}",
        ]
        overall.append(fixed + run + _cells(r["scores"]["overall"]))
        for c, scores in r["scores"]["per_class"].items():
            name = CLASS_NAMES.get(c, str(c))
            per_class.append(fixed + [name] + _cells(scores))
    return (
        _markdown(["budget s", "method", "steps", "train s", *metric_headers], overall),
        _markdown(["budget s", "method", "class", *metric_headers], per_class),
    )


def write_grid(path, rows, n_per_class=8):
    """Save a PNG of samples: one panel per row, ``n_per_class`` images a class.

    Parameters
    ----------
    path : str or Path
        The PNG to write.
    rows : dict
        ``{title: {class: uint8 images}}``, in display order.
    n_per_class : int, default=8
        Images shown per class (the first ones).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skgan.plotting import plot_image_grid

    n_classes = len(next(iter(rows.values())))
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(7.0, 1.0 + 0.75 * n_classes * len(rows)), squeeze=False
    )
    for ax, (title, samples) in zip(axes[:, 0], rows.items()):
        classes = sorted(samples)
        plot_image_grid(
            np.concatenate([samples[c][:n_per_class] for c in classes]),
            labels=np.repeat(classes, n_per_class),
            label_names=CLASS_NAMES,
            n_cols=n_per_class,
            data_range=(0, 255),
            title=title,
            ax=ax,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def machine_info():
    """A dict naming the machine: processor, CPU count, torch version, threads."""
    return {
        "processor": platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


# --------------------------------------------------------------------------- #
# brain MRI at 64 and 128 px, CPU-time budgets
# --------------------------------------------------------------------------- #

#: Brain MRI methods: the tutorial DCGAN, skgan's defaults before they were
#: chosen by image size (spelled out) and skgan's current defaults.
SKGAN_0_2 = {
    "generator_width": 16,
    "discriminator_width": 16,
    "batch_size": 32,
    "generator_lr": 2e-4,
    "discriminator_lr": 2e-4,
    "augment": None,
    "generator_architecture": "dcgan",
    "diversity_weight": 0.0,
    "batch_norm_statistics": "running",
    "discriminator_projection": "last_stage",
}
BRAIN_METHODS = {
    "tutorial": None,
    "skgan-0.2": SKGAN_0_2,
    "skgan-default": {},
    "skgan-no-diversity": {"diversity_weight": 0.0},
    "skgan-running-statistics": {"batch_norm_statistics": "running"},
    "skgan-last-stage-projection": {"discriminator_projection": "last_stage"},
}
N_TUNE = 500


def load_brain(path, size, tune=False):
    """Train and evaluation images of ``braintumor128.npz`` at ``size`` pixels.

    Area averaging of ``128 // size`` squares. With ``tune``, the last
    :data:`N_TUNE` of a seeded permutation of train are held out and returned
    as the evaluation set instead of val.
    """
    with np.load(path) as data:
        X, y = data["train_images"], data["train_labels"].ravel()
        X_val, y_val = data["val_images"], data["val_labels"].ravel()

    def down(images):
        f = images.shape[1] // size
        blocks = images.reshape(len(images), size, f, size, f).astype(np.float64)
        return np.rint(blocks.mean(axis=(2, 4))).astype(np.uint8)

    X, X_val = down(X), down(X_val)
    if tune:
        order = np.random.default_rng(0).permutation(len(X))
        held, kept = order[:N_TUNE], order[N_TUNE:]
        return X[kept], y[kept], X[held], y[held]
    return X, y, X_val, y_val


def _area_average(images, size):
    """uint8 square images area-averaged to ``size`` pixels (a divisor)."""
    f = images.shape[-1] // size
    if f == 1:
        return images
    blocks = images.reshape(len(images), size, f, size, f).astype(np.float64)
    return np.rint(blocks.mean(axis=(2, 4))).astype(np.uint8)


class BrainSpaces:
    """Domain-CNN and whitened-PCA feature spaces, fitted on the train split."""

    def __init__(self, X_train, y_train, n_components=50, cache=None, cnn_size=None):
        # The CNN may work at a smaller size: images are area-averaged to it.
        self.cnn_size = cnn_size or X_train.shape[-1]
        X_cnn = _area_average(X_train, self.cnn_size)
        if cache is not None and Path(cache).exists():
            self.cnn = torch.load(cache, weights_only=False)
        else:
            self.cnn = DomainCNN(random_state=0).fit(X_cnn, y_train)
            if cache is not None:  # written whole, then renamed
                torch.save(self.cnn, f"{cache}.part")
                os.replace(f"{cache}.part", cache)
        self.pca = PCA(n_components, whiten=True, random_state=0).fit(
            _unit_rows(X_train)
        )

    def cnn_features(self, images):
        return self.cnn.transform(_area_average(images, self.cnn_size))

    def cnn_predict(self, images):
        return self.cnn.predict(_area_average(images, self.cnn_size))

    def scores(self, real, fake):
        real_cnn, fake_cnn = self.cnn_features(real), self.cnn_features(fake)
        precision, recall = precision_recall(
            real_cnn, fake_cnn, k=5, feature_extractor=None
        )
        return {
            "fid_cnn": frechet_distance(real_cnn, fake_cnn),
            "fid_wpca": frechet_distance(
                self.pca.transform(_unit_rows(real)),
                self.pca.transform(_unit_rows(fake)),
            ),
            "precision": precision,
            "recall": recall,
        }


CPU_CLOCK = types.SimpleNamespace(perf_counter=time.process_time)


def _cpu_budget():
    """Point skgan's ``max_time`` at the process's CPU time (one thread)."""
    stack = mock.patch.object(skgan.nn.training, "time", CPU_CLOCK)
    fitting = mock.patch.object(skgan.gan._fitting, "time", CPU_CLOCK)
    return stack, fitting


def train_brain(method, budget, X, y, n_per_class, *, conditional, seed):
    """Train ``method`` for ``budget`` CPU seconds and sample.

    Returns ``(samples, steps, cpu_seconds, history)``: ``samples`` is
    ``{class: images}`` when conditional, else ``{None: images}`` with
    ``sum(n_per_class.values())`` images.
    """
    classes = sorted(n_per_class)
    start = time.process_time()
    if method == "tutorial":
        samples, steps = {}, 0
        groups = [(c, X[y == c]) for c in classes] if conditional else [(None, X)]
        for c, images in groups:
            model = TutorialDCGAN(
                budget / len(groups),
                seed=seed + (0 if c is None else int(c)),
                clock=time.process_time,
            ).fit(images)
            steps += model.n_steps
            n = n_per_class[c] if conditional else sum(n_per_class.values())
            samples[c] = model.sample(n, random_state=seed)
        return samples, steps, time.process_time() - start, None
    estimator = DCGANEstimator(
        **BRAIN_METHODS[method],
        epochs=HUGE_EPOCHS,
        max_time=budget,
        conditional=conditional,
        on_divergence="restore",
        random_state=seed,
        device="cpu",
    )
    patch_training, patch_fitting = _cpu_budget()
    with patch_training, patch_fitting:
        estimator.fit(X, y if conditional else None)
    seconds = time.process_time() - start
    if conditional:
        samples = {
            c: estimator.sample(n_per_class[c], random_state=seed, y=c)[0]
            for c in classes
        }
    else:
        samples = {None: estimator.sample(sum(n_per_class.values()), random_state=seed)}
    return samples, _skgan_steps(estimator), seconds, estimator.history_


def evaluate_brain(spaces, samples, X_eval, y_eval):
    """Overall metrics (and class accuracy when ``samples`` has classes)."""
    if None in samples:
        return spaces.scores(X_eval, samples[None])
    classes = sorted(samples)
    fake = np.concatenate([samples[c] for c in classes])
    labels = np.concatenate([np.full(len(samples[c]), c) for c in classes])
    real = np.concatenate([X_eval[y_eval == c] for c in classes])
    scores = spaces.scores(real, fake)
    scores["class_acc"] = float(np.mean(spaces.cnn_predict(fake) == labels))
    return scores


BRAIN_COLUMNS = [
    ("FID-cnn", "fid_cnn", "{:.2f}"),
    ("FID-wpca", "fid_wpca", "{:.2f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("class acc", "class_acc", "{:.3f}"),
]


def write_brain_grid(path, rows, n_cols=8):
    """PNG of sample rows: ``{title: {class or None: images}}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skgan.plotting import plot_image_grid

    heights = [2 if None in samples else len(samples) for samples in rows.values()]
    fig, axes = plt.subplots(
        len(rows),
        1,
        figsize=(7.0, 0.6 + 0.95 * sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for ax, (title, samples) in zip(axes[:, 0], rows.items()):
        if None in samples:
            plot_image_grid(
                samples[None][: 2 * n_cols],
                n_cols=n_cols,
                data_range=(0, 255),
                title=title,
                ax=ax,
            )
            continue
        classes = sorted(samples)
        plot_image_grid(
            np.concatenate([samples[c][:n_cols] for c in classes]),
            labels=np.repeat(classes, n_cols),
            label_names=BRAIN_CLASS_NAMES,
            n_cols=n_cols,
            data_range=(0, 255),
            title=title,
            ax=ax,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main_brain(args):
    """The brain MRI benchmark (``--data braintumor``)."""
    torch.set_num_threads(args.threads or 1)
    info = machine_info()
    print(
        f"machine: {info['processor']} ({info['machine']}), {info['cpu_count']} CPUs, "
        f"torch {info['torch']} ({info['torch_threads']} threads), "
        f"OMP_WAIT_POLICY={info['omp_wait_policy']}, load average at start "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        flush=True,
    )
    warm_up_torch()
    results = []
    for size in args.size:
        X, y, X_eval, y_eval = load_brain(args.data, size, tune=args.tune)
        start = time.process_time()
        cache = None
        if args.cache_dir:
            tag = "_tune" if args.tune else ""
            cnn_size = args.cnn_size or size
            cache = Path(args.cache_dir) / f"domain_cnn_{cnn_size}px{tag}.pt"
        spaces = BrainSpaces(X, y, cache=cache, cnn_size=args.cnn_size)
        cnn_acc = float(np.mean(spaces.cnn_predict(X_eval) == y_eval))
        print(
            f"{size} px: train {np.bincount(y).tolist()}, evaluation "
            f"{np.bincount(y_eval).tolist()}; domain CNN fitted in "
            f"{time.process_time() - start:.0f} CPU s, accuracy on "
            f"{'held-out train' if args.tune else 'val'} {cnn_acc:.3f}",
            flush=True,
        )
        n_per_class = {int(c): int(np.sum(y_eval == c)) for c in np.unique(y)}
        rng = np.random.default_rng(args.seed)
        real = {
            int(c): X[rng.choice(np.flatnonzero(y == c), n, replace=False)]
            for c, n in n_per_class.items()
        }
        for mode in args.brain_modes:
            conditional = mode == "conditional"
            real_scores = evaluate_brain(
                spaces,
                real if conditional else {None: np.concatenate(list(real.values()))},
                X_eval,
                y_eval,
            )
            results.append(
                {
                    "size": size,
                    "mode": mode,
                    "method": "real (train split)",
                    "seed": None,
                    "budget": None,
                    "steps": None,
                    "seconds": None,
                    "scores": real_scores,
                    "cnn_accuracy": cnn_acc,
                }
            )
            grid = {
                "real (val)": (
                    {c: X_eval[y_eval == c] for c in n_per_class}
                    if conditional
                    else {
                        None: X_eval[np.random.default_rng(1).permutation(len(X_eval))]
                    }
                )
            }
            for seed in args.seeds:
                for budget in args.budgets:
                    for method in args.methods:
                        samples, steps, seconds, history = train_brain(
                            method,
                            budget,
                            X,
                            y,
                            n_per_class,
                            conditional=conditional,
                            seed=seed,
                        )
                        scores = evaluate_brain(spaces, samples, X_eval, y_eval)
                        extra = ""
                        if history and "augment_p" in history[-1]:
                            extra = f" augment_p {history[-1]['augment_p']:.2f}"
                        print(
                            f"{size} px {mode} seed {seed} budget {budget:g} CPU s "
                            f"{method:14s} {steps:6d} steps in {seconds:6.1f} CPU s  "
                            + "  ".join(
                                f"{h} {scores[k]:.3f}"
                                for h, k, _ in BRAIN_COLUMNS
                                if k in scores
                            )
                            + extra,
                            flush=True,
                        )
                        results.append(
                            {
                                "size": size,
                                "mode": mode,
                                "method": method,
                                "seed": seed,
                                "budget": budget,
                                "steps": steps,
                                "seconds": seconds,
                                "scores": scores,
                                "cnn_accuracy": cnn_acc,
                                "history": history,
                            }
                        )
                        if args.cache_dir:
                            np.savez_compressed(
                                _samples_path(
                                    args.cache_dir, size, mode, method, seed, budget
                                ),
                                steps=steps,
                                **{str(c): v for c, v in samples.items()},
                            )
                        if seed == args.seeds[0] and budget == max(args.budgets):
                            grid[f"{method} ({budget:g} CPU s, {steps} steps)"] = (
                                samples
                            )
            if args.grid_dir:
                path = Path(args.grid_dir) / f"braintumor_{size}px_{mode}.png"
                write_brain_grid(path, grid)
                print(f"sample grid written to {path}", flush=True)
    print()
    print(brain_table(results))
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"machine": info, "args": vars(args), "results": results},
                indent=2,
                default=str,
            )
        )
        print(f"numbers written to {args.json}")


def _samples_path(folder, size, mode, method, seed, budget):
    return Path(folder) / f"samples_{size}px_{mode}_{method}_{seed}_{budget:g}.npz"


def merge_brain(args):
    """Tables of several ``--json`` files, and grids from ``--cache-dir``.

    For runs split over processes (one per method): each writes its JSON and
    its samples; this prints the combined table and draws one grid per size
    and mode with every method's samples of the first seed.
    """
    results, seen = [], set()
    for path in args.merge.split(","):
        for r in json.loads(Path(path).read_text())["results"]:
            key = (r["size"], r["mode"], r["method"], r["seed"], r["budget"])
            if key not in seen:
                seen.add(key)
                results.append(r)
    order = {m: i for i, m in enumerate(["real (train split)", *BRAIN_METHODS])}
    results.sort(
        key=lambda r: (
            r["size"],
            r["mode"] != "unconditional",
            r["budget"] or 0,
            order[r["method"]],
            r["seed"] or 0,
        )
    )
    print(brain_table(results))
    if not (args.grid_dir and args.cache_dir):
        return
    for size, mode in sorted({(r["size"], r["mode"]) for r in results}):
        _, _, X_eval, y_eval = load_brain(args.data, size, tune=args.tune)
        if mode == "conditional":
            grid = {
                "real (val)": {int(c): X_eval[y_eval == c] for c in np.unique(y_eval)}
            }
        else:
            order_eval = np.random.default_rng(1).permutation(len(X_eval))
            grid = {"real (val)": {None: X_eval[order_eval]}}
        runs = [
            r
            for r in results
            if (r["size"], r["mode"]) == (size, mode) and r["seed"] is not None
        ]
        first = min(r["seed"] for r in runs)
        for r in runs:
            if r["seed"] != first or r["budget"] != max(q["budget"] for q in runs):
                continue
            path = _samples_path(
                args.cache_dir, size, mode, r["method"], r["seed"], r["budget"]
            )
            with np.load(path) as saved:
                samples = {
                    (None if k == "None" else int(k)): saved[k]
                    for k in saved.files
                    if k != "steps"
                }
            title = f"{r['method']} ({r['budget']:g} CPU s, {r['steps']} steps)"
            grid[title] = samples
        path = Path(args.grid_dir) / f"braintumor_{size}px_{mode}.png"
        write_brain_grid(path, grid)
        print(f"sample grid written to {path}")


def brain_table(results):
    """Markdown table: mean (min-max over seeds) per size, mode, budget, method."""
    groups = {}
    for r in results:
        key = (r["size"], r["mode"], r["budget"], r["method"])
        groups.setdefault(key, []).append(r)
    headers = [
        "size",
        "mode",
        "CPU s",
        "method",
        "seeds",
        "steps",
        *[c[0] for c in BRAIN_COLUMNS],
        "CNN val acc",
    ]
    rows = []
    for (size, mode, budget, method), runs in groups.items():
        cells = []
        for _h, key, fmt in BRAIN_COLUMNS:
            values = [r["scores"][key] for r in runs if key in r["scores"]]
            if not values:
                cells.append("-")
            elif len(values) == 1:
                cells.append(fmt.format(values[0]))
            else:
                cells.append(
                    fmt.format(np.mean(values))
                    + f" ({fmt.format(min(values))}-{fmt.format(max(values))})"
                )
        steps = [r["steps"] for r in runs if r["steps"] is not None]
        rows.append(
            [
                f"{size}",
                mode,
                "-" if budget is None else f"{budget:g}",
                method,
                str(len(runs)) if budget is not None else "-",
                "-" if not steps else f"{np.mean(steps):.0f}",
                *cells,
                f"{runs[0]['cnn_accuracy']:.3f}",
            ]
        )
    return _markdown(headers, rows)


# --------------------------------------------------------------------------- #
# main
# --------------------------------------------------------------------------- #


def parse_args(argv=None):
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budgets",
        default="60,150,300",
        help="comma-separated wall-clock seconds per method, all classes together",
    )
    parser.add_argument(
        "--methods",
        default=DEFAULT_METHODS,
        help=f"comma-separated subset of {','.join(METHODS)}",
    )
    parser.add_argument(
        "--mode", choices=["per-class", "conditional"], default="per-class"
    )
    parser.add_argument(
        "--data",
        default=str(DATA),
        help="pneumoniamnist.npz, or 'braintumor' (or a braintumor128.npz path) "
        "for the 64/128 px brain MRI benchmark",
    )
    parser.add_argument(
        "--size",
        default="64",
        help="brain MRI only: comma-separated image sizes (64, 128)",
    )
    parser.add_argument(
        "--seeds",
        default=None,
        help="brain MRI only: comma-separated seeds (default: --seed)",
    )
    parser.add_argument(
        "--brain-modes",
        default="unconditional,conditional",
        help="brain MRI only: comma-separated subset of unconditional,conditional",
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="brain MRI only: score against 500 held-out train images, not val",
    )
    parser.add_argument(
        "--grid-dir", help="brain MRI only: write the sample grids (PNG) here"
    )
    parser.add_argument(
        "--cnn-size",
        type=int,
        default=None,
        help="brain MRI only: train the domain CNN at this size and area-average "
        "images to it before scoring (default: the image size)",
    )
    parser.add_argument(
        "--cache-dir",
        help="brain MRI only: keep the domain CNN and every run's samples here "
        "(to split a benchmark over processes, one per method, and --merge)",
    )
    parser.add_argument(
        "--merge",
        help="brain MRI only: comma-separated --json files of split runs; print "
        "their combined table and draw grids from --cache-dir, training nothing",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: torch's)",
    )
    parser.add_argument(
        "--train-per-class",
        type=int,
        default=None,
        help="train the GANs on this many images per class (a seeded subsample; "
        "the feature spaces still use the whole train split)",
    )
    parser.add_argument("--grid", help="write a PNG sample grid at the largest budget")
    parser.add_argument("--json", help="write all numbers to this JSON file")
    args = parser.parse_args(argv)
    args.budgets = [float(b) for b in args.budgets.split(",")]
    args.brain = args.data == "braintumor" or "braintumor" in Path(args.data).name
    if args.brain:
        if args.data == "braintumor":
            args.data = str(BRAIN_DATA)
        if args.methods == DEFAULT_METHODS:
            args.methods = ",".join(BRAIN_METHODS)
        args.size = [int(v) for v in args.size.split(",")]
        if any(v not in (64, 128) for v in args.size):
            parser.error("--size takes 64 and/or 128")
        args.seeds = (
            [args.seed]
            if args.seeds is None
            else [int(v) for v in args.seeds.split(",")]
        )
        args.brain_modes = [m.strip() for m in args.brain_modes.split(",")]
        if any(m not in ("unconditional", "conditional") for m in args.brain_modes):
            parser.error("--brain-modes: unconditional and/or conditional")
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    known = list(BRAIN_METHODS) if args.brain else METHODS
    unknown = [m for m in args.methods if m not in known]
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {known}")
    if args.train_per_class is not None and args.train_per_class < 1:
        parser.error("--train-per-class must be positive")
    if any(b <= 0 for b in args.budgets):
        parser.error("budgets must be positive")
    return args


def main(argv=None):
    """Run the benchmark and print the tables."""
    args = parse_args(argv)
    if args.brain:
        if args.merge:
            merge_brain(args)
        else:
            main_brain(args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    info = machine_info()
    print(
        f"machine: {info['processor']} ({info['machine']}), {info['cpu_count']} CPUs, "
        f"torch {info['torch']} ({info['torch_threads']} threads), "
        f"OMP_WAIT_POLICY={info['omp_wait_policy']}, load average at start "
        + ", ".join(f"{x:.2f}" for x in load_start),
        flush=True,
    )
    X_train, y_train, X_val, y_val = load_data(args.data)
    classes = np.unique(y_train)
    n_per_class = {int(c): int(np.sum(y_val == c)) for c in classes}
    print(
        f"train {np.bincount(y_train).tolist()}, val {np.bincount(y_val).tolist()} "
        f"images per class; mode {args.mode}; seed {args.seed}",
        flush=True,
    )

    X_gan, y_gan = X_train, y_train
    if args.train_per_class is not None:
        rng = np.random.default_rng(args.seed)
        keep = np.sort(
            np.concatenate(
                [
                    rng.permutation(np.flatnonzero(y_train == c))[
                        : args.train_per_class
                    ]
                    for c in classes
                ]
            )
        )
        X_gan, y_gan = X_train[keep], y_train[keep]
        print(
            f"GANs train on {np.bincount(y_gan).tolist()} images per class",
            flush=True,
        )

    start = time.perf_counter()
    spaces = FeatureSpaces(X_train, y_train)
    val_acc = float(np.mean(spaces.predict(X_val) == y_val))
    print(
        f"feature spaces fitted in {time.perf_counter() - start:.1f}s; "
        f"classifier val accuracy {val_acc:.3f}",
        flush=True,
    )

    warm_up_torch()
    rng = np.random.default_rng(args.seed)
    real_samples = {
        int(c): X_train[rng.choice(np.flatnonzero(y_train == c), n, replace=False)]
        for c, n in n_per_class.items()
    }
    results = [
        {
            "budget": None,
            "method": "real (train split)",
            "steps": None,
            "seconds": None,
            "scores": evaluate(spaces, real_samples, X_val, y_val),
        }
    ]
    grid_rows = {"real (val)": {c: X_val[y_val == c] for c in n_per_class}}
    largest = max(args.budgets)
    for budget in args.budgets:
        for method in args.methods:
            samples, steps, seconds = train_and_sample(
                method,
                budget,
                X_gan,
                y_gan,
                n_per_class,
                mode=args.mode,
                seed=args.seed,
            )
            scores = evaluate(spaces, samples, X_val, y_val)
            print(
                f"budget {budget:g}s  {method:18s} {steps:7d} steps in "
                f"{seconds:7.1f}s  FID-clf {scores['overall']['fid_clf']:.2f}",
                flush=True,
            )
            results.append(
                {
                    "budget": budget,
                    "method": method,
                    "steps": steps,
                    "seconds": seconds,
                    "scores": scores,
                }
            )
            if budget == largest:
                grid_rows[f"{method} ({budget:g}s)"] = samples

    overall, per_class = markdown_tables(results)
    load_end = os.getloadavg()
    print()
    print(overall)
    print()
    print("Per class:")
    print()
    print(per_class)
    print()
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in load_end))

    if args.grid:
        write_grid(args.grid, grid_rows)
        print(f"sample grid written to {args.grid}")
    if args.json:
        record = {
            "machine": info,
            "load_average_start": list(load_start),
            "load_average_end": list(load_end),
            "args": {
                "budgets": args.budgets,
                "methods": args.methods,
                "mode": args.mode,
                "seed": args.seed,
                "threads": args.threads,
            },
            "skgan_configs": {
                m: SKGAN_CONFIGS[m] for m in args.methods if m in SKGAN_CONFIGS
            },
            "classifier_val_accuracy": val_acc,
            "n_val_per_class": n_per_class,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(record, indent=2))
        print(f"numbers written to {args.json}")


if __name__ == "__main__":
    main()
