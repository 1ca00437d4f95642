"""
Auditing synthetic data: fidelity, diversity, memorization, utility
===================================================================

Before synthetic images are shared or used to train a model, check four
things: do they look like the real ones (fidelity), do they cover the real
variety (diversity), are they new images rather than copies of the training
set (memorization), and does a classifier trained on them work on real images
(utility)? :func:`skgan.metrics.synthetic_data_report` answers all four in one
call.

Two generators are audited:

* a class-conditional :class:`skgan.DCGANEstimator` trained briefly on 1,000
  chest X-rays;
* a "generator" that returns training images with a little noise added: a
  stand-in for a model that memorized its training set. (A tiny GAN does not
  memorize within an example's time budget, and a memorizing model is what
  the test must flag.)

The images are PneumoniaMNIST (MedMNIST v2, CC BY 4.0; Kermany et al. 2018),
read with :func:`skgan.datasets.fetch_medmnist`; offline, point
``SKGAN_PNEUMONIAMNIST`` at a local ``pneumoniamnist.npz``. When neither
works, scikit-learn's 8x8 digits are used. The feature space is a PCA of the
training pixels: cheap and offline, but weak evidence for images (see
:ref:`audit`). Runs in about a minute and a half on two CPU cores.
"""

# %%
# Data: training, held-out test, and a feature space
# --------------------------------------------------
# The generators see ``X_train`` only; ``X_test`` is real data they never
# saw, the yardstick of the memorization and utility tests.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skgan import DCGANEstimator
from skgan.datasets import fetch_medmnist
from skgan.metrics import plot_nearest_training_images, synthetic_data_report

try:
    data = fetch_medmnist(
        os.environ.get("SKGAN_PNEUMONIAMNIST", "pneumoniamnist"), split="train"
    )
    images, labels, source = data.images, data.target, data.filename
except OSError as exc:
    print(f"PneumoniaMNIST not available: {str(exc).splitlines()[0][:100]}")
    digits = load_digits()
    images, labels = (digits.images * 255 / 16).astype(np.uint8), digits.target
    source = "scikit-learn digits (fallback)"
print(f"data: {source}, {len(images)} images of {images.shape[1:]} pixels")

X_train, X_test, y_train, y_test = train_test_split(
    images, labels, train_size=1000, test_size=500, stratify=labels, random_state=0
)
pca = PCA(n_components=40, random_state=0).fit(X_train.reshape(len(X_train), -1))
features = FrozenEstimator(pca)  # a fitted transformer: used as is, never refit

# %%
# A briefly trained conditional GAN
# ---------------------------------
# ``max_time=45`` stops training after about 45 seconds. ``sample`` returns
# images and their classes, in the class proportions of the training set.
gan = DCGANEstimator(
    noise_dim=64,
    epochs=30,
    batch_size=32,
    generator_width=16,
    discriminator_width=16,
    generator_upsampling="transposed",
    conditional=True,
    max_time=45,
    feature_extractor=None,
    random_state=0,
).fit(X_train, y_train)
X_gan, y_gan = gan.sample(1000, random_state=0)

report = synthetic_data_report(
    X_train,
    X_gan,
    test=X_test,
    y_train=y_train,
    y_synthetic=y_gan,
    y_test=y_test,
    classifier=LogisticRegression(max_iter=2000),
    feature_extractor=features,
    random_state=0,
)
print(report.summary)

# %%
# A memorizing "generator"
# ------------------------
# Training images plus noise of 2 gray levels (invisible to the eye): the
# copy fraction is close to 1 and the data-copying Z-score far below 0,
# while FID, precision and recall look excellent. That is why fidelity
# metrics alone cannot tell a good generator from a copying one.
rng = np.random.default_rng(0)
pick = rng.permutation(len(X_train))
noise = rng.normal(0, 2, size=X_train[pick].shape)
X_copy = np.clip(X_train[pick] + noise, 0, 255).astype(np.uint8)

copied = synthetic_data_report(
    X_train,
    X_copy,
    test=X_test,
    y_train=y_train,
    y_synthetic=y_train[pick],
    y_test=y_test,
    classifier=LogisticRegression(max_iter=2000),
    feature_extractor=features,
    random_state=0,
)
print(copied.summary)

# %%
# Look at the closest pairs
# -------------------------
# The synthetic images nearest to the training set, above their nearest
# training images. For the GAN they are similar but different images; for
# the memorizing generator they are the same images.
plot_nearest_training_images(X_train, X_gan, report, n_images=8)
plot_nearest_training_images(X_train, X_copy, copied, n_images=8)

# %%
# The distances behind the tests
# ------------------------------
# Distances of synthetic samples to their nearest training sample, against
# those of the held-out real images. The dashed line is the copy threshold
# (1st percentile of the held-out distances).
fig, ax = plt.subplots(figsize=(6, 3.2))
bins = np.linspace(0, np.percentile(report.memorization.reference_distances, 99), 50)
ax.hist(report.memorization.reference_distances, bins, alpha=0.5, label="test")
ax.hist(report.memorization.distances, bins, alpha=0.5, label="GAN")
ax.hist(copied.memorization.distances, bins, alpha=0.5, label="memorizing")
ax.axvline(report.memorization.threshold, color="k", linestyle="--")
ax.set_xlabel("distance to the nearest training image (PCA features)")
ax.set_ylabel("images")
ax.legend()
fig.tight_layout()
plt.show()
