"""
Sample-quality metrics with pluggable features
==============================================

FID, KID, precision/recall and density/coverage compare real and generated
images *in a feature space*. The standard one is InceptionV3 trained on
ImageNet photographs, which says little about 8x8 digits or chest X-rays;
:mod:`skgan.metrics` accepts any feature extractor instead:

* ``feature_extractor=None``: the inputs already are features (here the raw
  pixels);
* a fitted scikit-learn transformer (here a PCA);
* a ``torch.nn.Module`` (here a small CNN trained to classify the images: a
  domain-specific feature network);
* any callable on ``(batch, H, W, C)`` arrays in ``[0, 1]``;
* ``"inception"``, the default, with the FID weights (not needed here).

Four image sets are compared with held-out real digits: other real digits (the
best one can hope for at this sample size), a briefly trained GAN, blurred
digits, and real digits of only two classes (a "mode-dropping" generator).
Runs in about a minute on two CPU cores, offline.
"""

# %%
# Data and a quick GAN
# --------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.ndimage import uniform_filter
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from torch import nn

from skgan import DCGANEstimator
from skgan.metrics import (
    FeatureStatistics,
    compute_reference_statistics,
    density_coverage,
    extract_features,
    find_inception_weights,
    frechet_distance,
    frechet_inception_distance,
    kernel_inception_distance,
    precision_recall,
)
from skgan.plotting import plot_image_grid

digits = load_digits()
X_train, X_ref, y_train, y_ref = train_test_split(
    digits.data, digits.target, test_size=450, random_state=0
)
gan = DCGANEstimator(
    noise_dim=64,
    epochs=20,
    generator_width=32,
    discriminator_width=32,
    max_time=40,
    feature_extractor=None,
    random_state=0,
).fit(X_train)

rng = np.random.default_rng(0)
n = len(X_ref)
two_classes = X_train[np.isin(y_train, [0, 1])]
blurred = uniform_filter(X_train[:n].reshape(-1, 8, 8), size=(1, 3, 3))
candidates = {
    "real": X_train[rng.choice(len(X_train), n, replace=False)],
    "GAN": gan.sample(n, random_state=0),
    "blurred": blurred.reshape(n, 64),
    "only 0 and 1": two_classes[rng.choice(len(two_classes), n)],
}

fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
for ax, (name, images) in zip(axes, candidates.items()):
    plot_image_grid(images[:25], n_cols=5, data_range=(0, 16), ax=ax, title=name)
fig.tight_layout()

# %%
# Three feature extractors
# ------------------------
# Digits are floats in 0..16, so ``data_range=(0, 16)`` tells the extractors
# how to scale them (the default is 0..255 for integers, 0..1 for floats).
#
# A small CNN is trained for a few seconds to classify the digits; the 32
# activations before its last layer are the features. A module receives
# float32 tensors ``(batch, C, H, W)`` scaled to ``[0, 1]``.
torch.manual_seed(0)
body = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1),
    nn.ReLU(),
    nn.Conv2d(16, 32, 3, stride=2, padding=1),
    nn.ReLU(),
    nn.Flatten(),
    nn.Linear(32 * 4 * 4, 32),
    nn.ReLU(),
)
classifier = nn.Sequential(body, nn.Linear(32, 10))
inputs = torch.tensor(X_train / 16, dtype=torch.float32).reshape(-1, 1, 8, 8)
targets = torch.tensor(y_train)
optimizer = torch.optim.Adam(classifier.parameters(), lr=3e-3)
for _ in range(15):  # epochs
    for batch in torch.randperm(len(inputs)).split(64):
        loss = nn.functional.cross_entropy(classifier(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
with torch.no_grad():
    test_inputs = torch.tensor(X_ref / 16, dtype=torch.float32).reshape(-1, 1, 8, 8)
    accuracy = (classifier(test_inputs).argmax(1).numpy() == y_ref).mean()
print(f"CNN test accuracy: {accuracy:.3f}")

extractors = {
    "pixels": None,
    "PCA (16)": PCA(n_components=16, random_state=0).fit(X_train),
    "CNN (32)": body,
}

# %%
# Features once, every metric from them
# -------------------------------------
# :func:`~skgan.metrics.extract_features` computes the features of a set once;
# every metric then takes them with ``feature_extractor=None``. (Each metric can
# also take images and a ``feature_extractor`` directly.)
features = {}
for ex_name, extractor in extractors.items():
    for set_name, images in {"reference": X_ref, **candidates}.items():
        if extractor is None:
            features[ex_name, set_name] = images
        else:
            features[ex_name, set_name] = extract_features(
                images, feature_extractor=extractor, data_range=(0, 16)
            )

rows = []
for ex_name in extractors:
    ref = features[ex_name, "reference"]
    for set_name in candidates:
        fake = features[ex_name, set_name]
        fid = frechet_inception_distance(ref, fake, feature_extractor=None)
        kid, _ = kernel_inception_distance(
            ref, fake, n_subsets=50, subset_size=200, feature_extractor=None
        )
        precision, recall = precision_recall(ref, fake, feature_extractor=None)
        density, coverage = density_coverage(ref, fake, feature_extractor=None)
        rows.append((ex_name, set_name, fid, kid, precision, recall, density, coverage))

header = ("features", "set", "FID", "KID", "prec.", "recall", "density", "cover.")
print("{:9} {:13} {:>8} {:>9} {:>6} {:>6} {:>7} {:>6}".format(*header))
for row in rows:
    print("{:9} {:13} {:8.2f} {:9.3g} {:6.2f} {:6.2f} {:7.2f} {:6.2f}".format(*row))

# %%
# FID and KID values are not comparable across feature spaces (their scales
# differ), and KID, an unbiased estimate, can be slightly negative for sets
# from the same distribution. In every space the other real digits are by far
# the closest. Precision and recall tell *how* a set differs: the two-class
# set has real-looking images (high precision) but misses most of the variety
# (low recall and coverage). Blurring also destroys the variety (recall near
# 0), but whether blurred digits still look real depends on the features: the
# CNN recognises them (high precision), the pixels and the PCA much less so.
# Which space is right is a question about the images, not about the metric.
markers = {"real": "o", "GAN": "s", "blurred": "^", "only 0 and 1": "D"}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharex=True, sharey=True)
for ax, ex_name in zip(axes, extractors):
    for row in rows:
        if row[0] == ex_name:
            ax.scatter(row[5], row[4], marker=markers[row[1]], s=60, label=row[1])
    ax.set_title(f"features: {ex_name}")
    ax.set_xlabel("recall (diversity)")
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("precision (fidelity)")
axes[-1].legend(loc="lower left")
fig.tight_layout()

# %%
# Reference statistics, computed once
# -----------------------------------
# The Fréchet distance needs only the mean and covariance of the real
# features. :func:`~skgan.metrics.compute_reference_statistics` computes them
# once; they can be saved (a plain ``.npz``, no pickle) and passed instead of
# the real images, e.g. to evaluate many checkpoints.
pca = extractors["PCA (16)"]
stats = compute_reference_statistics(X_ref, feature_extractor=pca, data_range=(0, 16))
print(stats)
fid_from_stats = frechet_inception_distance(
    stats, candidates["GAN"], feature_extractor=pca, data_range=(0, 16)
)
fid_direct = frechet_distance(
    features["PCA (16)", "reference"], features["PCA (16)", "GAN"]
)
print(f"GAN FID in PCA space: {fid_from_stats:.4f} (from statistics), {fid_direct:.4f}")
assert isinstance(stats, FeatureStatistics)

# %%
# Inception features, offline
# ---------------------------
# The default extractor needs the FID Inception weights (95 MB, published with
# pytorch-fid). They are looked up, in order, in the ``weights_path=``
# argument, the ``SKGAN_INCEPTION_WEIGHTS`` environment variable and the torch
# hub cache, and downloaded only when allowed. ``download=False`` only looks:
try:
    print("FID Inception weights:", find_inception_weights(download=False))
except FileNotFoundError as exc:
    print(exc)
plt.show()
