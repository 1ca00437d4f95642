"""
SyntheticAugmenter versus imbalanced-learn samplers
===================================================

:class:`skgan.SyntheticAugmenter` is an imbalanced-learn sampler: its
``fit_resample(X, y)`` adds GAN-generated images of the rarer classes, so it
sits in an :class:`imblearn.pipeline.Pipeline` next to
:class:`~imblearn.over_sampling.RandomOverSampler` (which duplicates images)
and :class:`~imblearn.over_sampling.SMOTE` (which interpolates between
neighbouring images). The pipeline resamples during ``fit`` only: predictions
and scores always use real images.

The task: tell normal chest X-rays from pneumonia (PneumoniaMNIST) when only
10% of the normal training images are kept, about 120 against 3,500. Every
sampler feeds the same pixel logistic regression; the score is the balanced
accuracy on the real validation split.

The GAN gets a budget of about a minute here (``max_time=``), far below what
a useful generator needs (see :ref:`performance`), so read the numbers as a
demonstration of the API, not as a benchmark. The data come from
``shared/data/pneumoniamnist.npz`` beside the repository checkout when
present, else from the skgan cache, else the example falls back to
scikit-learn's digits (3 against 8, the 3s made scarce).
"""

# %%
# A scarce class
# --------------
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skgan import DCGANEstimator, SyntheticAugmenter
from skgan.datasets import fetch_medmnist
from skgan.plotting import plot_image_grid

DOWNLOAD = False  # True: download PneumoniaMNIST into the skgan cache if missing

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run interactively
    HERE = Path.cwd()
LOCAL = HERE.parent.parent / "shared" / "data" / "pneumoniamnist.npz"


def load_task():
    """Return ``X_train, y_train, X_val, y_val, class names, source``."""
    try:
        name = LOCAL if LOCAL.is_file() else "pneumoniamnist"
        train = fetch_medmnist(name, split="train", download_if_missing=DOWNLOAD)
        val = fetch_medmnist(name, split="val", download_if_missing=DOWNLOAD)
        names = [str(n) for n in train.target_names]
        return train.data, train.target, val.data, val.target, names, train.filename
    except OSError as exc:
        print(f"PneumoniaMNIST not available: {str(exc).splitlines()[0][:100]}")
    digits = load_digits()
    keep = np.isin(digits.target, [3, 8])
    X, y = digits.data[keep], (digits.target[keep] == 8).astype(int)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    return X_train, y_train, X_val, y_val, ["3", "8"], "scikit-learn digits"


X_full, y_full, X_val, y_val, class_names, source = load_task()
print(f"data: {source}")

rng = np.random.default_rng(0)
rare = np.flatnonzero(y_full == 0)
kept = rng.choice(rare, size=len(rare) // 10, replace=False)
train = np.sort(np.concatenate([kept, np.flatnonzero(y_full == 1)]))
X_train, y_train = X_full[train], y_full[train]
print(
    "training images per class:", dict(zip(class_names, np.bincount(y_train).tolist()))
)
print(
    "validation images per class:", dict(zip(class_names, np.bincount(y_val).tolist()))
)

# %%
# The samplers
# ------------
# ``SyntheticAugmenter`` clones its ``estimator`` for every fit. In the
# default ``mode="per_class"`` it trains one GAN on each class that needs
# images (here the scarce one); ``mode="conditional"`` trains one
# class-conditional GAN on all images. The default
# ``sampling_strategy="auto"`` tops every class up to the largest, as in
# imbalanced-learn. ``steps`` counts updates: a class of a hundred images is
# only a few steps per epoch.
gan = DCGANEstimator(
    noise_dim=100,
    steps=600,
    batch_size=32,
    loss="hinge",
    generator_width=16,
    discriminator_width=16,
    generator_upsampling="transposed",
    max_time=60,
    feature_extractor=None,
)
samplers = {
    "no resampling": None,
    "RandomOverSampler": RandomOverSampler(random_state=0),
    "SMOTE": SMOTE(random_state=0),
    "SyntheticAugmenter": SyntheticAugmenter(estimator=gan, random_state=0),
}

# %%
# The same pipeline around each
# -----------------------------
# Pixels are standardised and classified by a logistic regression; the
# sampler comes first, and acts only while the pipeline is fitted.
results = {}
for name, sampler in samplers.items():
    steps = [] if sampler is None else [sampler]
    model = make_pipeline(
        *steps, StandardScaler(), LogisticRegression(C=0.01, max_iter=500)
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    predicted = model.predict(X_val)
    results[name] = (
        balanced_accuracy_score(y_val, predicted),
        recall_score(y_val, predicted, pos_label=0),
        time.perf_counter() - start,
    )

print(f"{'sampler':20} {'balanced acc.':>13} {'recall ' + class_names[0]:>18} {'s':>6}")
for name, (balanced, recall, seconds) in results.items():
    print(f"{name:20} {balanced:13.3f} {recall:18.3f} {seconds:6.1f}")

# %%
# With a one-minute CPU budget the generator's images are blurry, and the
# logistic regression usually does better with duplicated or interpolated
# real images than with them. The point here is the API: the GAN slots into
# the same pipeline as any imbalanced-learn sampler, so it can be compared
# fairly, by cross-validation if need be. :ref:`augmentation` says when GAN
# augmentation tends to pay off.
#
# The synthetic images
# --------------------
# Called on its own, the sampler returns the real images followed by the
# synthetic ones (here the last pipeline's fitted sampler is reused through
# its ``estimators_``, one GAN per class it added images to).
augmenter = model[0]
added = {class_names[int(k)]: int(v) for k, v in augmenter.sampling_strategy_.items()}
print("added per class:", added)
scarce_class_gan = augmenter.estimators_[0]
synthetic = scarce_class_gan.sample(24, random_state=0)
real = X_train[y_train == 0][:24]

fig, (ax_real, ax_fake) = plt.subplots(1, 2, figsize=(10, 2.6))
plot_image_grid(real, n_cols=8, ax=ax_real, title=f"real '{class_names[0]}'")
plot_image_grid(synthetic, n_cols=8, ax=ax_fake, title=f"synthetic '{class_names[0]}'")
fig.tight_layout()

fig, ax = plt.subplots(figsize=(6, 2.8))
names = list(results)
ax.barh(names[::-1], [results[n][0] for n in names[::-1]], color="tab:blue")
ax.set_xlim(0.5, 1.0)
ax.set_xlabel("balanced accuracy on the validation split")
fig.tight_layout()
plt.show()
