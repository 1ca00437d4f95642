"""SyntheticAugmenter vs imbalanced-learn samplers on scarce PneumoniaMNIST.

The normal class (label 0) is made scarce: a share of its training images is
kept (``--levels 0.1,0.03``) or a fixed number (``--levels 20``); every
pneumonia image is kept. Each sampler resamples the training set, a
classifier is fitted on the result (a pixel LogisticRegression(C=0.1), or a
small CNN from ``_cnn.py``) and scored on the val split: balanced accuracy
and recall of the scarce class. Every method of a (level, seed) cell sees
the same subsample; the seed also seeds the samplers, GANs and the CNN.

``real`` is the ceiling for any generator: the scarce-class training images
the subsample left out are added (new real images in place of synthetic
ones), then RandomOverSampler balances the classes.

GAN methods are ``KEY`` or ``KEY/param=value/...``:

* keys: ``ft`` (the default augmenter: pre-train on all images, fine-tune a
  copy on the scarce class), ``ftfreeze`` (the same with the discriminator's
  first two stages frozen while fine-tuning), ``pc`` (one GAN on the scarce
  class alone) and ``cond`` (one conditional GAN); ``pc`` and ``cond`` train
  for as many updates as ``ft`` does in all (pre-training plus fine-tuning);
* params: ``share`` (synthetic_share), ``factor`` (candidate_factor),
  ``guard`` (near_copy_quantile, ``none`` to disable).

Variants of one key share its trained GANs within a cell: the GANs are
trained once (by the first variant, through ``fit_resample``) and the others
only generate and select again, with the same random streams a full
``fit_resample`` of theirs would use; their fit seconds are the GAN training
time plus their own generation time. ``--tstr`` adds "train on synthetic,
test on real" rows (``fit_generate`` of the default augmenter, reusing the
pre-trained GAN of ``ft``; the common class's copy is fine-tuned in
addition). Results are printed, and appended as JSON lines to ``--out`` if
given; ``--table FILE...`` prints the mean ± std table of earlier runs.

Run with one thread for reproducible timings, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/augment_pneumonia.py \\
        --levels 0.1 --seeds 0,1,2 --classifiers logreg,cnn \\
        --methods none,ros,smote,ft,ft/share=1,ft/factor=1
"""

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score

from skgan import SyntheticAugmenter
from skgan.augment import default_augmentation_estimator

try:
    from ._cnn import SmallCNN
except ImportError:  # run as a script
    from _cnn import SmallCNN

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"
GAN_KEYS = {"ft", "ftfreeze", "pc", "cond"}
PARAMS = {
    "share": "synthetic_share",
    "factor": "candidate_factor",
    "guard": "near_copy_quantile",
}


def load(path, level, seed):
    """Scarce training subsample (pixels in [0, 1]), the full val split, and
    the scarce-class training images the subsample left out."""
    data = np.load(path)
    X = data["train_images"].reshape(len(data["train_images"]), -1) / 255.0
    y = data["train_labels"].ravel()
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(y == 0)
    size = int(level) if level >= 1 else int(round(level * len(normal)))
    kept = rng.choice(normal, size=size, replace=False)
    train = np.sort(np.concatenate([kept, np.flatnonzero(y == 1)]))
    X_val = data["val_images"].reshape(len(data["val_images"]), -1) / 255.0
    left_out = X[np.setdiff1d(normal, kept)]
    return X[train], y[train], X_val, data["val_labels"].ravel(), left_out


def classifier(name, seed):
    if name == "logreg":
        return LogisticRegression(C=0.1, max_iter=3000)
    if name == "cnn":
        return SmallCNN(epochs=3, random_state=seed)
    raise ValueError(f"unknown classifier {name!r}")


def parse_method(name):
    """``(key, augmenter params)`` of a GAN method name."""
    key, *options = name.split("/")
    if key not in GAN_KEYS:
        raise ValueError(f"unknown method {name!r}")
    params = {}
    for option in options:
        field, value = option.split("=")
        params[PARAMS[field]] = None if value == "none" else float(value)
    return key, params


STEPS = None  # --steps: a quick check with another GAN budget


def augmenter(key, params, seed):
    estimator = default_augmentation_estimator()
    if STEPS is not None:
        estimator.set_params(steps=STEPS)
    total = estimator.steps + max(1, estimator.steps // 2)
    mode = {"ft": "finetune", "ftfreeze": "finetune", "pc": "per_class"}
    options = {"mode": mode.get(key, "conditional")}
    if key == "ftfreeze":
        options["freeze_discriminator"] = 2
    if key in ("pc", "cond"):
        estimator.set_params(steps=total)
    return SyntheticAugmenter(
        estimator=estimator, random_state=seed, **options, **params
    )


def resample_reusing(fitted, key, params, seed, X, y):
    """Resample with ``fitted``'s trained GANs and another selection."""
    other = augmenter(key, params, seed)
    other.sampling_strategy_ = fitted.sampling_strategy_
    other.estimators_ = fitted.estimators_
    other.pretrained_estimator_ = fitted.pretrained_estimator_
    _, sample_rng = other._random_streams()
    return other._resample(X, y, fitted.sampling_strategy_, sample_rng), other


def evaluate(X_train, y_train, X_val, y_val, classifiers, seed):
    out = {}
    for name in classifiers:
        start = time.perf_counter()
        predicted = classifier(name, seed).fit(X_train, y_train).predict(X_val)
        out[name] = (
            balanced_accuracy_score(y_val, predicted),
            recall_score(y_val, predicted, pos_label=0),
            time.perf_counter() - start,
        )
    return out


def run_cell(args, level, seed, report):
    X, y, X_val, y_val, left_out = load(args.data, level, seed)
    classifiers = args.classifiers.split(",")
    print(f"level {level} seed {seed}: train {np.bincount(y).tolist()}", flush=True)

    def emit(method, fit_seconds, scores, extra=None):
        for clf, (bacc, recall, clf_seconds) in scores.items():
            row = dict(
                level=level,
                seed=seed,
                method=method,
                classifier=clf,
                balanced_accuracy=bacc,
                minority_recall=recall,
                fit_seconds=fit_seconds,
                classifier_seconds=clf_seconds,
                **(extra or {}),
            )
            report(row)

    fitted = {}  # GAN key -> (augmenter, seconds to train its GANs)
    for method in args.methods.split(","):
        start = time.perf_counter()
        extra = None
        if method == "real":
            # The ceiling a perfect generator could reach: every scarce-class
            # image the subsample left out is added, then ROS balances.
            X_all = np.concatenate([X, left_out])
            y_all = np.concatenate([y, np.zeros(len(left_out), dtype=y.dtype)])
            X_res, y_res = RandomOverSampler(random_state=seed).fit_resample(
                X_all, y_all
            )
            seconds = time.perf_counter() - start
        elif method in ("none", "ros", "smote"):
            sampler = {
                "none": None,
                "ros": RandomOverSampler(random_state=seed),
                "smote": SMOTE(random_state=seed),
            }[method]
            X_res, y_res = (X, y) if sampler is None else sampler.fit_resample(X, y)
            seconds = time.perf_counter() - start
        else:
            key, params = parse_method(method)
            if key not in fitted:
                aug = augmenter(key, params, seed)
                X_res, y_res = aug.fit_resample(X, y)
                total = time.perf_counter() - start
                start = time.perf_counter()
                resample_reusing(aug, key, params, seed, X, y)
                generation = time.perf_counter() - start
                fitted[key] = (aug, total - generation)
                seconds = total
            else:
                aug, training = fitted[key]
                (X_res, y_res), aug = resample_reusing(aug, key, params, seed, X, y)
                seconds = training + time.perf_counter() - start
            extra = {
                "n_synthetic": int(sum(aug.n_synthetic_.values())),
                "n_added": int(len(y_res) - len(y)),
            }
        emit(
            method,
            seconds,
            evaluate(X_res, y_res, X_val, y_val, classifiers, seed),
            extra,
        )
    if args.tstr:
        if "ft" not in fitted:
            raise SystemExit("--tstr needs the ft method in --methods")
        aug, training = fitted["ft"]
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


def table(rows):
    groups = defaultdict(list)
    for row in rows:
        groups[(row["level"], row["classifier"], row["method"])].append(row)
    print(
        f"{'level':>6} {'clf':6} {'method':24} {'n':>2} {'balanced acc':>15} "
        f"{'minority recall':>15} {'fit s':>12}"
    )
    for (level, clf, method), group in sorted(
        groups.items(), key=lambda item: (-item[0][0], item[0][1])
    ):
        print(
            f"{level:>6g} {clf:6} {method:24} {len(group):2d} "
            f"{stat(group, 'balanced_accuracy', '.3f'):>15} "
            f"{stat(group, 'minority_recall', '.3f'):>15} "
            f"{stat(group, 'fit_seconds', '.0f'):>12}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="0.1")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--methods", default="none,ros,smote,ft")
    parser.add_argument("--classifiers", default="logreg")
    parser.add_argument("--tstr", action="store_true")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--steps", type=int, help="GAN updates (default: 600)")
    parser.add_argument("--out", help="append JSON lines here (outside the repo)")
    parser.add_argument("--table", nargs="+", help="print the table of JSON files")
    args = parser.parse_args()
    if args.table:
        table(
            [json.loads(line) for f in args.table for line in open(f) if line.strip()]
        )
        return
    global STEPS
    STEPS = args.steps
    torch.set_num_threads(1)
    rows = []

    def report(row):
        rows.append(row)
        print(
            f"  {row['method']:24} {row['classifier']:6} bal.acc "
            f"{row['balanced_accuracy']:.4f} recall {row['minority_recall']:.4f} "
            f"fit {row['fit_seconds']:.0f}s",
            flush=True,
        )
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")

    for level in map(float, args.levels.split(",")):
        for seed in map(int, args.seeds.split(",")):
            run_cell(args, level, seed, report)
    table(rows)


if __name__ == "__main__":
    main()
