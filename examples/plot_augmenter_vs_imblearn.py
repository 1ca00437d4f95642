"""
SyntheticAugmenter versus imbalanced-learn samplers
===================================================

:class:`skgan.SyntheticAugmenter` is an imbalanced-learn sampler: its
``fit_resample(X, y)`` adds images of the rarer classes, so it sits in an
:class:`imblearn.pipeline.Pipeline` next to
:class:`~imblearn.over_sampling.RandomOverSampler` (which duplicates images)
and :class:`~imblearn.over_sampling.SMOTE` (which interpolates between
neighbouring images). The pipeline resamples during ``fit`` only:
predictions and scores always use real images.

The task: tell normal chest X-rays from pneumonia (PneumoniaMNIST) when only
10% of the normal training images are kept, about 120 against 3,500. Every
sampler feeds the same pixel logistic regression; the score is the balanced
accuracy on the real validation split.

The augmenter adds a share ``synthetic_share`` of generated images and
copies of real ones for the rest; half of the added images are then
randomly rotated, shifted, zoomed and changed in brightness and contrast
(``added_augmentation="classic"``). By default the share is 0: classic
augmentation, with no GAN. With a share above 0 it
pre-trains one GAN on all images and fine-tunes a copy on the scarce class.
How much synthetic data
helps depends on the data, so here the share is chosen by cross-validation
on the training set, as you would on your own data. The GAN gets 150
updates (100 of pre-training, 50 of fine-tuning), a sixth of the default's
900, so that the example runs in minutes; read the numbers as a
demonstration of the method, not as a benchmark (:ref:`augmentation`
reports what the default measured over several seeds).

The data set is read from the path in the ``SKGAN_PNEUMONIAMNIST``
environment variable, else downloaded into the skgan cache; offline, the
example falls back to scikit-learn's digits (3 against 8, the 3s made
scarce).
"""

# %%
# A scarce class
# --------------
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from skgan import DCGANEstimator, SyntheticAugmenter
from skgan.datasets import fetch_medmnist
from skgan.plotting import plot_image_grid


def load_task():
    """Return ``X_train, y_train, X_val, y_val, class names, source``."""
    name = os.environ.get("SKGAN_PNEUMONIAMNIST", "pneumoniamnist")
    try:
        train = fetch_medmnist(name, split="train")
        val = fetch_medmnist(name, split="val")
    except OSError as exc:
        print(f"PneumoniaMNIST not available: {str(exc).splitlines()[0][:100]}")
    else:
        names = [str(n) for n in train.target_names]
        X, X_val = (np.asarray(b.data).reshape(len(b.data), -1) for b in (train, val))
        return X / 255, train.target, X_val / 255, val.target, names, "PneumoniaMNIST"
    digits = load_digits()
    keep = np.isin(digits.target, [3, 8])
    X, y = digits.data[keep] / 16, (digits.target[keep] == 8).astype(int)
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
# ``SyntheticAugmenter`` clones its ``estimator`` for every fit. Here the GAN
# pre-trains for 100 updates (``steps``) on all images and each scarce
# class's copy fine-tunes for half as many; the default is 600 and 300.
# The default ``sampling_strategy="auto"`` tops every class up to the
# largest, as in imbalanced-learn.
gan = DCGANEstimator(steps=100, feature_extractor=None)
augmenter = SyntheticAugmenter(estimator=gan, synthetic_share=0.5, random_state=0)


def classifier():
    return LogisticRegression(C=0.1, max_iter=3000)


# %%
# Choosing the synthetic share by cross-validation
# ------------------------------------------------
# ``synthetic_share=0`` adds copies of real images only, half of them
# transformed (classic augmentation, without training a GAN); larger shares
# replace more copies by generated images. Two stratified folds of the
# training set compare three shares by balanced accuracy; any parameter of
# the GAN could join the grid (``"syntheticaugmenter__estimator__steps"``).
search = GridSearchCV(
    make_pipeline(augmenter, classifier()),
    {"syntheticaugmenter__synthetic_share": [0.0, 0.25, 0.5]},
    cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
    scoring="balanced_accuracy",
)

samplers = {
    "no resampling": None,
    "RandomOverSampler": RandomOverSampler(random_state=0),
    "SMOTE": SMOTE(random_state=0),
    "SyntheticAugmenter default": SyntheticAugmenter(random_state=0),
    "SyntheticAugmenter (share 0.5)": augmenter,
}

# %%
# The same classifier after each
# ------------------------------
results = {}
for name, model in [
    *(
        (n, make_pipeline(*([s] if s else []), classifier()))
        for n, s in samplers.items()
    ),
    ("SyntheticAugmenter (CV share)", search),
]:
    start = time.perf_counter()
    model.fit(X_train, y_train)
    predicted = model.predict(X_val)
    results[name] = (
        balanced_accuracy_score(y_val, predicted),
        recall_score(y_val, predicted, pos_label=0),
        time.perf_counter() - start,
    )
    if name == "SyntheticAugmenter (share 0.5)":
        fitted_augmenter = model[0]

print(f"{'sampler':31} {'balanced acc.':>13} {'recall ' + class_names[0]:>18} {'s':>6}")
for name, (balanced, recall, seconds) in results.items():
    print(f"{name:31} {balanced:13.3f} {recall:18.3f} {seconds:6.1f}")
shares = search.cv_results_["param_syntheticaugmenter__synthetic_share"]
for share, score in zip(shares, search.cv_results_["mean_test_score"]):
    print(f"synthetic_share={share}: cross-validated balanced accuracy {score:.3f}")
print("chosen:", search.best_params_)

# %%
# On a single validation split and seed, differences of a point or two are
# within the noise: ``benchmarks/augment_medmnist.py`` repeats such
# comparisons over seeds and scarcity levels, and :ref:`augmentation`
# reports what they measured.
#
# The synthetic images
# --------------------
# The fitted sampler keeps the pre-trained GAN and each class's fine-tuned
# copy in ``estimators_``; ``n_synthetic_`` says how many generated images it
# added (the rest of the added rows are transformed copies of real images).
added = {class_names[int(k)]: n for k, n in fitted_augmenter.n_synthetic_.items()}
print("generated images added:", added)
scarce_class_gan = fitted_augmenter.estimators_[0]
synthetic = scarce_class_gan.sample(24, random_state=0)
real = X_train[y_train == 0][:24]
side = int(np.sqrt(X_train.shape[1]))

fig, (ax_real, ax_fake) = plt.subplots(1, 2, figsize=(10, 2.6))
plot_image_grid(
    real.reshape(-1, side, side), n_cols=8, ax=ax_real, title=f"real {class_names[0]}"
)
plot_image_grid(
    synthetic.reshape(-1, side, side),
    n_cols=8,
    ax=ax_fake,
    title=f"synthetic {class_names[0]}",
)
fig.tight_layout()

fig, ax = plt.subplots(figsize=(6, 2.8))
names = list(results)
ax.barh(names[::-1], [results[n][0] for n in names[::-1]], color="tab:blue")
ax.set_xlim(0.5, 1.0)
ax.set_xlabel("balanced accuracy on the validation split")
fig.tight_layout()
plt.show()
