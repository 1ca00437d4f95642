"""SyntheticAugmenter vs classic oversampling on imbalanced MedMNIST sets.

``--dataset pneumonia`` (PneumoniaMNIST): the normal class (label 0) is made
scarce: a share of its training images is kept (``--levels 0.1,0.03``) or a
fixed number (``--levels 20``); every pneumonia image is kept; level 1 keeps
them all. ``--dataset breast`` (BreastMNIST, 147 malignant / 399) and
``--dataset retina`` (RetinaMNIST, RGB, five grades 486/128/206/194/66) are
naturally imbalanced and used whole (level 1). Each sampler resamples the
training set, a classifier is fitted on the result (a pixel
LogisticRegression(C=0.1), or a small CNN from ``_cnn.py``) and scored on
the val split: balanced accuracy and recall of class 0 (the scarce class of
the binary sets). Every method of a (level, seed) cell sees the same
subsample; the seed also seeds the samplers, GANs and the CNN.

Classic methods: ``none``, ``ros`` (RandomOverSampler), ``smote``, and
``affine``, the anchor to beat: classes balanced with randomly rotated
(±10°), shifted (±2 px) and zoomed (0.9-1.1) copies of their real images, as
a user would make them with ``scipy.ndimage`` (independent of skgan's own
transformation). ``real`` is the ceiling for any generator: the
scarce-class training images the subsample left out are added (new real
images in place of synthetic ones), then RandomOverSampler balances the
classes; it exists where a level below 1 leaves images out.

GAN methods are ``KEY`` or ``KEY/param=value/...``:

* keys: ``ft`` (the augmenter's default mode: pre-train on all images,
  fine-tune a copy on each class that needs images; ``synthetic_share=0.5``
  unless ``share=`` is given), ``ftfreeze`` (the same with
  the discriminator's first two stages frozen while fine-tuning), ``pc``
  (one GAN on the scarce class alone) and ``cond`` (one conditional GAN);
  ``pc`` and ``cond`` train for as many updates as ``ft`` does in all
  (pre-training plus fine-tuning); ``var`` (``mode="variation"``: one
  image-conditional VariationGAN trained on pairs within every class, its
  variants of the scarce class's real images added) trains
  :func:`default_variation_estimator` (600 updates, or ``--steps``) with
  ``balance_classes=False`` (each image once per epoch as the first of a
  pair, as in the DAGAN paper), ``varbal`` the default one, with
  ``balance_classes=True`` (first images drawn from every class equally
  often);
* params: ``share`` (synthetic_share), ``factor`` (candidate_factor),
  ``guard`` (near_copy_quantile, ``none`` to disable), ``ftsteps``
  (finetune_steps), ``da`` (finetune_augment, policies joined by ``+``,
  e.g. ``da=translation+cutout``; ``da=none`` fine-tunes without it) and
  ``aug`` (added_augmentation: ``classic``, the default, transforms half
  of them in geometry, brightness and contrast; ``affine`` rotates, shifts
  and zooms every one; ``none`` adds images untransformed, ``half``
  rotates, shifts and zooms half of them, ``nearest`` every one without
  interpolation blur, ``mild`` every one with half the ranges;
  ``all+intensity``, ``quarter+intensity``, ``half+mild+intensity`` and
  ``half+intensity-only`` vary ``classic``'s share, ranges and parts),
  ``bn`` (the GANs' ``batch_norm_statistics``, e.g. ``bn=recomputed``;
  the default augmentation estimator keeps ``"running"``), ``gan``
  (``gan=large`` trains the GANs with DCGANEstimator's settings for images
  from 64 px on, ``LARGE_IMAGE_SETTINGS``: the mode-seeking term,
  recomputed batch-norm statistics, the label on every discriminator stage,
  narrower networks, batches of 16, a learning rate of 5e-4) and ``gsteps``
  (the GAN's updates: pre-training for ``ft``, all of them for ``cond``),
  ``every`` (``ft`` only: generated images in *every* class, so that what
  generated images share cannot tell the classes apart; ``every=F`` adds
  ``m = F * (largest class - smallest class)`` images to every class beyond
  the usual balance, and with ``share`` above 0 every class's ``m`` are
  generated, its fine-tuned copy trained for it; with ``share=0`` they are
  classic copies, the count-matched control).

Variants of one key with the same ``gan`` and ``gsteps`` share trained GANs
within a cell: the GANs are
trained once (by the first variant, through ``fit_resample``) and the others
only generate and select again, with the same random streams a full
``fit_resample`` of theirs would use (list the variant that trains GANs,
e.g. ``ft``, before ``ft/share=0``); their fit seconds are the GAN training
time plus their own generation time. ``ftsteps`` (finetune_steps) variants
fine-tune the first variant's pre-trained GAN again, as their own
``fit_resample`` would; their fit seconds also count the first variant's
fine-tuning, so they overstate. ``--judge tune`` scores on images held out
from the train split instead of val, for choosing settings (see ``load``).
``--narrow`` keeps the scarce images from one k-means cluster of their
class (four clusters in pixel space, one drawn per seed) while the judging
set keeps the whole class: a stand-in for test images from another
distribution than the few training images. The clusters differ mostly in
exposure and contrast, so this setting favours intensity changes;
``--narrow shape`` clusters images standardised to zero mean and unit
variance each, so that the clusters differ in shape and position instead.

``--tstr`` adds "train on synthetic, test on real" rows (``fit_generate``
of the default augmenter, reusing the pre-trained GAN of ``ft``; the
common class's copy is fine-tuned in addition). Results are printed, and
appended as JSON lines to ``--out`` if given; ``--table FILE...`` prints
the mean ± std table of earlier runs, and ``--plot PNG`` draws the methods
side by side (as in the augmentation guide).

Run with one thread for reproducible timings, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/augment_medmnist.py \\
        --levels 0.1 --seeds 0,1,2 --classifiers logreg,cnn \\
        --methods none,ros,smote,affine,ft,ft/share=0,ft/aug=none
"""

import argparse
import copy
import functools
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from imblearn.over_sampling import SMOTE, RandomOverSampler
from scipy import ndimage
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score

from skgan import SyntheticAugmenter
from skgan.augment import (
    default_augmentation_estimator,
    default_variation_estimator,
    random_affine,
    random_intensity,
)
from skgan.gan._build import LARGE_IMAGE_SETTINGS
from skgan.gan._estimator_state import modules_of
from skgan.gan._fitting import recompute_sampling_statistics

try:
    from ._cnn import SmallCNN
except ImportError:  # run as a script
    from _cnn import SmallCNN

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = {
    "pneumonia": "pneumoniamnist.npz",
    "breast": "breastmnist.npz",
    "retina": "retinamnist.npz",
}
GAN_KEYS = {"ft", "ftfreeze", "pc", "cond", "var", "varbal"}
BASELINES = {"none", "ros", "smote", "affine", "affine+intensity", "real"}
PARAMS = {
    "aug": "added_augmentation",
    "ftsteps": "finetune_steps",
    "da": "finetune_augment",
    "share": "synthetic_share",
    "factor": "candidate_factor",
    "guard": "near_copy_quantile",
}


def load(path, level, seed, judge="val", narrow=None):
    """Training images (pixels in [0, 1], ``(n, H, W)`` or ``(n, H, W, C)``)
    with class 0 subsampled to ``level``, the judging set, and the class-0
    training images the subsample left out.

    ``judge="val"`` judges on the full val split. ``judge="tune"`` never
    reads val: it holds out, from the train split, images for choosing
    settings before val judges them: on PneumoniaMNIST 10% of the pneumonia
    images and as many left-out normal images as val has (135); on the
    other sets, 15% of each class.

    ``narrow="pixels"`` keeps the scarce images from one part of their
    class only (one of four k-means clusters of its training images, in
    pixel space), while the judging set keeps the whole class: the scarce
    images then cover less of the variety the classifier meets, as on data
    from another distribution. ``narrow="shape"`` clusters each image
    standardised (zero mean, unit variance), leaving exposure and contrast
    out of the clustering.
    """
    data = np.load(path)
    X = data["train_images"] / 255.0
    y = data["train_labels"].ravel()
    rng = np.random.default_rng(seed)
    if judge == "tune" and level == 1:
        split = np.random.default_rng([seed, 1])
        judged = np.concatenate(
            [
                split.choice(rows, size=round(0.15 * len(rows)), replace=False)
                for rows in (np.flatnonzero(y == c) for c in np.unique(y))
            ]
        )
        X_judge, y_judge = X[judged], y[judged]
        rest = np.setdiff1d(np.arange(len(y)), judged)
        X, y = X[rest], y[rest]
    scarce, common = np.flatnonzero(y == 0), np.flatnonzero(y != 0)
    size = len(scarce) if level == 1 else int(level) if level > 1 else None
    if size is None:
        size = int(round(level * len(scarce)))
    pool = scarce
    if narrow:
        features = flat(X[scarce])
        if narrow == "shape":
            features = features - features.mean(axis=1, keepdims=True)
            features /= features.std(axis=1, keepdims=True) + 1e-12
        clusters = KMeans(4, n_init=3, random_state=seed).fit_predict(features)
        pool = scarce[clusters == clusters[rng.integers(len(scarce))]]
        if len(pool) < size:
            raise ValueError(f"the chosen cluster has {len(pool)} < {size} images")
    kept = rng.choice(pool, size=size, replace=False)
    left_out = np.setdiff1d(scarce, kept)
    if judge == "tune" and level != 1:
        split = np.random.default_rng([seed, 1])
        judged_scarce = split.choice(left_out, size=135, replace=False)
        judged_common = split.choice(common, size=len(common) // 10, replace=False)
        left_out = np.setdiff1d(left_out, judged_scarce)
        common = np.setdiff1d(common, judged_common)
        judged = np.concatenate([judged_scarce, judged_common])
        X_judge, y_judge = X[judged], y[judged]
    elif judge == "val":
        X_judge = data["val_images"] / 255.0
        y_judge = data["val_labels"].ravel()
    train = np.sort(np.concatenate([kept, common]))
    return X[train], y[train], X_judge, y_judge, X[left_out]


def flat(X):
    return X.reshape(len(X), -1)


def affine_copies(X, y, seed):
    """Balance every class with randomly rotated (±10°), shifted (±2 px) and
    zoomed (0.9-1.1) copies of its own images (the classic-augmentation
    anchor, made with scipy.ndimage: bilinear, nearest-pixel fill)."""
    X_res, y_res = RandomOverSampler(random_state=seed).fit_resample(flat(X), y)
    X_res = X_res.reshape((-1,) + X.shape[1:])
    rng = np.random.default_rng(seed)
    h, w = X.shape[1:3]
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    for i in range(len(X), len(X_res)):
        angle = np.radians(rng.uniform(-10, 10))
        zoom = rng.uniform(0.9, 1.1)
        shift = rng.uniform(-2, 2, size=2) * np.array([h, w]) / 28
        # Output pixel o reads input pixel matrix @ o + offset.
        matrix = (
            np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            / zoom
        )
        offset = centre - matrix @ centre + shift
        image = X_res[i]
        if image.ndim == 2:
            X_res[i] = ndimage.affine_transform(
                image, matrix, offset, order=1, mode="nearest"
            )
        else:
            for c in range(image.shape[2]):
                X_res[i, :, :, c] = ndimage.affine_transform(
                    image[:, :, c], matrix, offset, order=1, mode="nearest"
                )
    return X_res, y_res


def classifier(name, seed, channels=1):
    if name == "logreg":
        return LogisticRegression(C=0.1, max_iter=3000)
    if name == "cnn":
        return SmallCNN(epochs=3, channels=channels, random_state=seed)
    raise ValueError(f"unknown classifier {name!r}")


def transform_share(images, random_state, probability, affine=None, intensity=True):
    """``added_augmentation`` variants: with ``probability``, an image is
    moved by :func:`random_affine` (``affine`` its parameters, None for no
    move) and then, if ``intensity``, :func:`random_intensity` on pixels in
    [0, 1]; the others stay exact copies."""
    rng = np.random.RandomState(random_state)
    chosen = np.flatnonzero(rng.random_sample(len(images)) < probability)
    out = images.copy()
    if len(chosen):
        moved = images[chosen]
        if affine is not None:
            moved = random_affine(moved, **affine, random_state=rng)
        if intensity:
            moved = random_intensity(moved, data_range=(0, 1), random_state=rng)
        out[chosen] = moved
    return out


MILD = dict(rotation=5, shift=0.035, zoom=(0.95, 1.05))
ADDED_AUGMENTATIONS = {
    "none": None,
    "classic": "classic",
    "affine": "affine",
    "half": functools.partial(random_affine, probability=0.5),
    "nearest": functools.partial(random_affine, interpolation="nearest"),
    "mild": functools.partial(random_affine, **MILD),
    # Variants of "classic" (geometry and intensity on half of the images).
    "all+intensity": functools.partial(transform_share, probability=1, affine={}),
    "quarter+intensity": functools.partial(
        transform_share, probability=0.25, affine={}
    ),
    "half+mild+intensity": functools.partial(
        transform_share, probability=0.5, affine=MILD
    ),
    "half+intensity-only": functools.partial(transform_share, probability=0.5),
}


def parse_method(name):
    """``(key, augmenter params)`` of a GAN method name."""
    key, *options = name.split("/")
    if key not in GAN_KEYS:
        raise ValueError(f"unknown method {name!r}")
    params = {}
    for option in options:
        field, value = option.split("=")
        if field == "aug":
            params[PARAMS[field]] = ADDED_AUGMENTATIONS[value]
        elif field == "bn":
            params[ESTIMATOR_PARAM] = value
        elif field == "gan":
            if value not in GAN_PRESETS:
                raise ValueError(
                    f"gan= takes one of {sorted(GAN_PRESETS)}, got {value!r}"
                )
            params["gan"] = value
        elif field == "gsteps":
            params["gsteps"] = int(value)
        elif field == "every":
            if key != "ft":
                raise ValueError(f"every= applies to ft only, got {name!r}")
            params["every"] = float(value)
        elif field == "da":
            params[PARAMS[field]] = "" if value == "none" else value.replace("+", ",")
        elif value == "none":
            params[PARAMS[field]] = None
        else:
            params[PARAMS[field]] = int(value) if field == "ftsteps" else float(value)
    return key, params


STEPS = None  # --steps: a quick check with another GAN budget
ESTIMATOR_PARAM = "batch_norm_statistics"  # bn=: set on the GANs, not the sampler
# gan=: the GANs' training settings. "large" is DCGANEstimator's own defaults
# for images from 64 px on (narrower networks, smaller batches, a higher
# learning rate, the mode-seeking term, recomputed batch-norm statistics, the
# label on every discriminator stage), applied at the augmenter's size.
GAN_PRESETS = {"default": {}, "large": LARGE_IMAGE_SETTINGS}
TRAINING_OPTIONS = ("gan", "gsteps", "every")  # options that train other GANs


def training_key(key, params):
    """What identifies a trained GAN within a cell: variants that agree on it
    share the GANs."""
    return (key,) + tuple(params.get(option) for option in TRAINING_OPTIONS)


class EveryClassAugmenter(SyntheticAugmenter):
    """``every=F``: the usual balance plus ``m = F * (largest - smallest
    class)`` more images in every class, the ``m`` generated in every class
    (``synthetic_share`` above 0: each class's fine-tuned copy makes them)
    or classic copies (``synthetic_share=0``)."""

    every = 0.0

    def _fit_resample(self, X, y):
        counts = dict(zip(*np.unique(y, return_counts=True)))
        largest, smallest = max(counts.values()), min(counts.values())
        extra = int(round(self.every * (largest - smallest)))
        self.sampling_strategy_ = {c: largest + extra - n for c, n in counts.items()}
        return super()._fit_resample(X, y)

    def _synthetic_counts(self, targets):
        extra = min(targets.values())  # the largest class's added images
        n = extra if self.synthetic_share > 0 else 0
        return {label: n for label in targets}


def augmenter(key, params, seed):
    if key in ("var", "varbal"):
        estimator = default_variation_estimator()
        estimator.set_params(balance_classes=key == "varbal")
        if STEPS is not None:
            estimator.set_params(steps=STEPS)
        params = {"synthetic_share": 0.5, **params}
        return SyntheticAugmenter(
            estimator=estimator, mode="variation", random_state=seed, **params
        )
    estimator = default_augmentation_estimator()
    params = dict(params)
    estimator.set_params(**GAN_PRESETS[params.pop("gan", "default")])
    if STEPS is not None:
        estimator.set_params(steps=STEPS)
    if ESTIMATOR_PARAM in params:
        estimator.set_params(**{ESTIMATOR_PARAM: params.pop(ESTIMATOR_PARAM)})
    total = estimator.steps + max(1, estimator.steps // 2)
    mode = {"ft": "finetune", "ftfreeze": "finetune", "pc": "per_class"}
    options = {"mode": mode.get(key, "conditional")}
    if key == "ftfreeze":
        options["freeze_discriminator"] = 2
    if key in ("pc", "cond"):
        estimator.set_params(steps=total)
    if "gsteps" in params:  # the GAN's (pre-training) updates, whatever the key
        estimator.set_params(steps=params.pop("gsteps"))
    # GAN methods add half generated images unless share= says otherwise,
    # whatever the augmenter's default share.
    params = {"synthetic_share": 0.5, **params}
    every = params.pop("every", None)
    if every is None:
        return SyntheticAugmenter(
            estimator=estimator, random_state=seed, **options, **params
        )
    sampler = EveryClassAugmenter(
        estimator=estimator, random_state=seed, **options, **params
    )
    sampler.every = every
    return sampler


def resample_reusing(fitted, key, params, seed, X, y):
    """Resample with ``fitted``'s trained GANs and another selection; with
    another ``finetune_steps``, fine-tune ``fitted``'s pre-trained GAN again
    (which is what a full ``fit_resample`` of that variant does). With another
    ``bn``, copies of the trained GANs get their batch-norm statistics
    recomputed (training itself does not depend on that setting)."""
    other = augmenter(key, params, seed)
    other.sampling_strategy_ = fitted.sampling_strategy_
    other.estimators_ = fitted.estimators_
    bn = other.estimator.batch_norm_statistics
    if bn != fitted.estimator.batch_norm_statistics:
        other.estimators_ = {}
        for label, estimator in fitted.estimators_.items():
            estimator = copy.deepcopy(estimator).set_params(batch_norm_statistics=bn)
            recompute_sampling_statistics(estimator, modules_of(estimator))
            other.estimators_[label] = estimator
    other.pretrained_estimator_ = fitted.pretrained_estimator_
    if (other.finetune_steps, other.finetune_augment) != (
        fitted.finetune_steps,
        fitted.finetune_augment,
    ):
        other.estimators_ = {
            label: other._finetune(fitted.pretrained_estimator_, X[y == label])
            for label in fitted.estimators_
        }
    _, sample_rng = other._random_streams()
    return other._resample(X, y, fitted.sampling_strategy_, sample_rng), other


def evaluate(X_train, y_train, X_val, y_val, classifiers, seed, rarest=0):
    """Balanced accuracy, recall of class ``rarest`` and seconds, per classifier."""
    out = {}
    channels = X_val.shape[3] if X_val.ndim == 4 else 1
    for name in classifiers:
        start = time.perf_counter()
        model = classifier(name, seed, channels).fit(flat(X_train), y_train)
        predicted = model.predict(flat(X_val))
        out[name] = (
            balanced_accuracy_score(y_val, predicted),
            recall_score(y_val, predicted, labels=[rarest], average="macro"),
            time.perf_counter() - start,
        )
    return out


def intensity_jitter(X, seed):
    """Per image: contrast x0.8-1.2 about its mean, brightness +-0.1, clipped
    to [0, 1] (pixels in [0, 1])."""
    rng = np.random.default_rng([seed, 2])
    axes = tuple(range(1, X.ndim))
    shape = (len(X),) + (1,) * (X.ndim - 1)
    mean = X.mean(axis=axes, keepdims=True)
    contrast = rng.uniform(0.8, 1.2, size=shape)
    brightness = rng.uniform(-0.1, 0.1, size=shape)
    return np.clip((X - mean) * contrast + mean + brightness, 0, 1)


def run_cell(args, level, seed, report):
    X, y, X_val, y_val, left_out = load(
        args.data, level, seed, args.judge, narrow=args.narrow
    )
    classifiers = args.classifiers.split(",")
    print(f"level {level} seed {seed}: train {np.bincount(y).tolist()}", flush=True)
    rarest = int(np.argmin(np.bincount(y)))

    def emit(method, fit_seconds, scores, extra=None):
        for clf, (bacc, recall, clf_seconds) in scores.items():
            row = dict(
                dataset=args.dataset,
                level=level,
                seed=seed,
                # Another GAN budget is another method.
                method=method
                if STEPS is None or method in BASELINES
                else f"{method}@{STEPS}",
                classifier=clf,
                balanced_accuracy=bacc,
                minority_recall=recall,
                fit_seconds=fit_seconds,
                classifier_seconds=clf_seconds,
                judge=args.judge + NARROW_SUFFIX.get(args.narrow, ""),
                **(extra or {}),
            )
            report(row)

    fitted = {}  # GAN key -> (augmenter, seconds to train its GANs)
    for method in args.methods.split(","):
        start = time.perf_counter()
        extra = None
        if method == "real" and len(left_out) == 0:
            continue  # nothing was left out: the ceiling is ROS itself
        if method == "real":
            # The ceiling a perfect generator could reach: every scarce-class
            # image the subsample left out is added, then ROS balances.
            X_all = np.concatenate([X, left_out])
            y_all = np.concatenate([y, np.zeros(len(left_out), dtype=y.dtype)])
            X_res, y_res = RandomOverSampler(random_state=seed).fit_resample(
                flat(X_all), y_all
            )
            seconds = time.perf_counter() - start
        elif method in ("affine", "affine+intensity"):
            X_res, y_res = affine_copies(X, y, seed)
            if method == "affine+intensity":
                X_res[len(X) :] = intensity_jitter(X_res[len(X) :], seed)
            seconds = time.perf_counter() - start
        elif method in ("none", "ros", "smote"):
            sampler = {
                "none": None,
                "ros": RandomOverSampler(random_state=seed),
                "smote": SMOTE(random_state=seed),
            }[method]
            X_res, y_res = (
                (X, y) if sampler is None else sampler.fit_resample(flat(X), y)
            )
            seconds = time.perf_counter() - start
        else:
            key, params = parse_method(method)
            trained = training_key(key, params)
            if trained not in fitted:
                aug = augmenter(key, params, seed)
                X_res, y_res = aug.fit_resample(X, y)
                total = time.perf_counter() - start
                start = time.perf_counter()
                resample_reusing(aug, key, params, seed, X, y)
                generation = time.perf_counter() - start
                fitted[trained] = (aug, total - generation)
                seconds = total
            else:
                aug, training = fitted[trained]
                (X_res, y_res), aug = resample_reusing(aug, key, params, seed, X, y)
                seconds = training + time.perf_counter() - start
            extra = {
                "n_synthetic": int(sum(aug.n_synthetic_.values())),
                "n_added": int(len(y_res) - len(y)),
            }
        emit(
            method,
            seconds,
            evaluate(X_res, y_res, X_val, y_val, classifiers, seed, rarest),
            extra,
        )
    if args.tstr:
        if training_key("ft", {}) not in fitted:
            raise SystemExit("--tstr needs the ft method in --methods")
        aug, training = fitted[training_key("ft", {})]
        start = time.perf_counter()
        tstr = augmenter("ft", {}, seed)
        tstr.sampling_strategy_ = {label: int(np.bincount(y).max()) for label in (0, 1)}
        tstr.pretrained_estimator_ = aug.pretrained_estimator_
        tstr.estimators_ = dict(aug.estimators_)
        tstr.estimators_[1] = tstr._finetune(aug.pretrained_estimator_, X[y == 1])
        _, sample_rng = tstr._random_streams()
        X_syn, y_syn = tstr._generate(X, y, tstr.sampling_strategy_, sample_rng)
        seconds = training + time.perf_counter() - start
        emit(
            "tstr(ft)", seconds, evaluate(X_syn, y_syn, X_val, y_val, classifiers, seed)
        )


def stat(group, field, fmt):
    """``mean ± std`` (sample std over seeds) of ``field`` in ``group``."""
    values = np.array([row[field] for row in group])
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():{fmt}} ± {spread:{fmt}}"


CLASSIC = ("ros", "smote", "affine")


def table(rows):
    """Mean ± std over seeds per method, and the paired difference (points of
    balanced accuracy, same seeds) against the best classic method of the
    group (the one of ROS, SMOTE and affine copies with the highest mean)."""
    groups = defaultdict(list)
    for row in rows:
        key = (
            row.get("dataset", "pneumonia"),
            row.get("judge", "val"),
            row["level"],
            row["classifier"],
        )
        groups[key].append(row)
    print(
        f"{'data':9} {'judge':11} {'level':>6} {'clf':6} {'method':24} {'n':>2} "
        f"{'balanced acc':>15} {'vs best classic':>16} {'minority recall':>15} "
        f"{'fit s':>10}"
    )
    for (data, judge, level, clf), group in sorted(
        groups.items(), key=lambda item: (item[0][:2], -item[0][2], item[0][3])
    ):
        by_method = defaultdict(dict)
        for row in group:
            by_method[row["method"]][row["seed"]] = row
        classic = [m for m in CLASSIC if m in by_method]
        best = max(
            classic,
            key=lambda m: np.mean(
                [r["balanced_accuracy"] for r in by_method[m].values()]
            ),
            default=None,
        )
        for method, cells in by_method.items():
            cells = list(cells.values())
            paired = ""
            if best is not None:
                diffs = [
                    100 * (r["balanced_accuracy"] - ref["balanced_accuracy"])
                    for r in cells
                    if (ref := by_method[best].get(r["seed"])) is not None
                ]
                if diffs and method != best:
                    spread = np.std(diffs, ddof=1) if len(diffs) > 1 else 0.0
                    paired = f"{np.mean(diffs):+.1f} ± {spread:.1f} {best}"
            print(
                f"{data:9} {judge:11} {level:>6g} {clf:6} {method:24} "
                f"{len(cells):2d} {stat(cells, 'balanced_accuracy', '.3f'):>15} "
                f"{paired:>16} {stat(cells, 'minority_recall', '.3f'):>15} "
                f"{stat(cells, 'fit_seconds', '.0f'):>10}"
            )


NARROW_SUFFIX = {"pixels": "-narrow", "shape": "-narrow-shape"}
PLOTTED = {
    "ros": "RandomOverSampler",
    "smote": "SMOTE",
    "affine": "affine copies (scipy.ndimage)",
    "ft/share=0": "SyntheticAugmenter default",
    "ft": "synthetic_share=0.5",
    "real": "all real images (ceiling)",
}
PANELS = {
    ("pneumonia", 20, "val"): "Pneumonia: 20 normal",
    ("pneumonia", 0.03, "val"): "Pneumonia: 3% normal",
    ("pneumonia", 0.1, "val"): "Pneumonia: 10% normal",
    ("breast", 1, "val"): "BreastMNIST",
    ("retina", 1, "val"): "RetinaMNIST",
    ("pneumonia", 20, "val-narrow"): "narrow: 20 normal",
    ("pneumonia", 0.03, "val-narrow"): "narrow: 3% normal",
    ("pneumonia", 0.1, "val-narrow"): "narrow: 10% normal",
    ("pneumonia", 20, "val-narrow-shape"): "narrow by shape: 20 normal",
    ("pneumonia", 0.03, "val-narrow-shape"): "narrow by shape: 3% normal",
    ("pneumonia", 0.1, "val-narrow-shape"): "narrow by shape: 10% normal",
}


def plot(rows, path):
    """Methods side by side: balanced accuracy (mean, std bars) per data set,
    level and classifier, saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = defaultdict(list)
    for row in rows:
        if row["judge"].startswith("val"):
            panel = (row["dataset"], row["level"], row["judge"])
            groups[(panel, row["classifier"], row["method"])].append(
                row["balanced_accuracy"]
            )
    measured = {key[0] for key in groups}
    levels = [panel for panel in PANELS if panel in measured]
    levels += sorted(measured - set(levels))
    classifiers = [c for c in ("logreg", "cnn") if any(k[1] == c for k in groups)]
    columns = min(len(levels), 4)
    rows_ = -(-len(levels) // columns)
    fig, axes = plt.subplots(
        rows_, columns, figsize=(3.4 * columns, 3.2 * rows_ + 0.6), squeeze=False
    )
    for ax in axes.flat[len(levels) :]:
        ax.set_visible(False)
    width = 0.8 / len(PLOTTED)
    for ax, level in zip(axes.flat, levels):
        for m, (method, label) in enumerate(PLOTTED.items()):
            for c, clf in enumerate(classifiers):
                values = groups.get((level, clf, method))
                if not values:
                    continue
                ax.errorbar(
                    c + (m - (len(PLOTTED) - 1) / 2) * width,
                    np.mean(values),
                    yerr=np.std(values, ddof=1) if len(values) > 1 else 0,
                    fmt="os^vDXP"[m],
                    color=f"C{m}",
                    capsize=3,
                    label=label if c == 0 else None,
                )
        ax.set_xticks(range(len(classifiers)))
        ax.set_xticklabels(
            {"logreg": "logistic reg.", "cnn": "small CNN"}[c] for c in classifiers
        )
        ax.set_title(
            PANELS.get(level, f"{level[0]} {level[1]:g} {level[2]}"), fontsize=10
        )
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("balanced accuracy on val")
    fig.legend(
        *axes[0, 0].get_legend_handles_labels(),
        loc="lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.1 / rows_, 1, 1))
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def run_cells(args, run_cell, line):
    """``run_cell(args, level, seed, report)`` for every level and seed of
    ``args``; each row reported is printed as ``line(row)`` and appended to
    ``args.out`` (JSON lines) if given. Returns the rows."""
    rows = []

    def report(row):
        rows.append(row)
        print(line(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")

    for level in map(float, args.levels.split(",")):
        for seed in map(int, args.seeds.split(",")):
            run_cell(args, level, seed, report)
    return rows


def add_narrow_option(parser):
    parser.add_argument(
        "--narrow",
        nargs="?",
        const="pixels",
        choices=["pixels", "shape"],
        help="keep the scarce images from one k-means cluster of their class "
        "(clustered on pixels, or on standardised images with 'shape')",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="0.1")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--methods", default="none,ros,smote,ft")
    parser.add_argument("--classifiers", default="logreg")
    parser.add_argument("--tstr", action="store_true")
    parser.add_argument(
        "--judge",
        choices=["val", "tune"],
        default="val",
        help="val split, or a set held out from train for tuning",
    )
    add_narrow_option(parser)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="pneumonia")
    parser.add_argument("--data", help="the data set's .npz (default: ../shared)")
    parser.add_argument("--steps", type=int, help="GAN updates (default: 600)")
    parser.add_argument("--out", help="append JSON lines here (outside the repo)")
    parser.add_argument("--table", nargs="+", help="print the table of JSON files")
    parser.add_argument("--plot", help="with --table: save a figure of them here")
    args = parser.parse_args()
    if args.table:
        rows = [
            json.loads(line) for f in args.table for line in open(f) if line.strip()
        ]
        # A cell measured again (the same seed in two files) counts once.
        key = ("dataset", "judge", "level", "seed", "method", "classifier")
        rows = [{"judge": "val", "dataset": "pneumonia", **row} for row in rows]
        rows = list({tuple(row[k] for k in key): row for row in rows}.values())
        table(rows)
        if args.plot:
            plot(rows, args.plot)
        return
    global STEPS
    STEPS = args.steps
    args.data = args.data or str(DATA / DATASETS[args.dataset])
    torch.set_num_threads(1)
    rows = run_cells(
        args,
        run_cell,
        lambda row: (
            f"  {row['method']:24} {row['classifier']:6} bal.acc "
            f"{row['balanced_accuracy']:.4f} recall {row['minority_recall']:.4f} "
            f"fit {row['fit_seconds']:.0f}s"
        ),
    )
    table(rows)


if __name__ == "__main__":
    main()
