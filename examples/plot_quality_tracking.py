"""
Quality tracked while training: best generator and early stopping
=================================================================

GAN losses say little about the images: the generator's loss can rise while
its images improve. :class:`skgan.callbacks.QualityTracker` scores the
generator every few epochs on held-out real images, with any of the
:mod:`skgan.metrics` (the Fréchet distance by default), writes the score into
``history_``, keeps a copy of the best generator, puts it back at the end,
and stops training once the score has not improved for ``patience``
evaluations.

The Fréchet distance is computed in the space of ``feature_extractor``. The
default, Inception features, needs the FID Inception weights (see
:ref:`metrics`); here a PCA fitted on the training images serves instead, so
the example needs no download. Runs on scikit-learn's 8x8 digits in about a
minute on two CPU cores.
"""

# %%
# Held-out images and a tracker
# -----------------------------
# The score needs real images the GAN does not train on: a generator that
# copies its training images would look best against them. The PCA is fitted
# on the training images only, and wrapped in
# :class:`sklearn.frozen.FrozenEstimator` so that ``clone`` (e.g. in
# ``GridSearchCV``) keeps it fitted.
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from skgan import DCGANEstimator
from skgan.callbacks import QualityTracker
from skgan.plotting import plot_history, plot_image_grid

X = load_digits().data  # (1797, 64): flattened 8x8 images in 0..16
X_train, X_val = train_test_split(X, test_size=300, random_state=0)
pca = FrozenEstimator(PCA(n_components=16, random_state=0).fit(X_train))

tracker = QualityTracker(
    X_val,
    metric="fid",  # lower is better, known from the metric
    every=2,  # score after epochs 2, 4, 6, ...
    patience=3,  # stop after 3 scores in a row without a new best
    restore_best=True,  # put the best generator back at the end
)

# %%
# Training
# --------
# The tracker uses the estimator's ``feature_extractor`` (the PCA), as
# ``score`` does. ``epochs=80`` is an upper bound: the tracker stops training
# once the score stalls. The run is bounded by epochs, not by ``max_time``, so
# it stops at the same epoch on every machine.
gan = DCGANEstimator(
    noise_dim=64,
    epochs=80,
    batch_size=64,
    generator_lr=1e-3,  # TTUR: a faster generator, the discriminator at 2e-4
    feature_extractor=pca,
    callbacks=[tracker],
    random_state=0,
)
start = time.perf_counter()
gan.fit(X_train)
print(f"fit: {time.perf_counter() - start:.1f} s, {len(gan.history_)} epochs")
print(tracker)
print(f"best FID {tracker.best_score_:.2f} after epoch {tracker.best_epoch_}")
print(f"stopped early after epoch: {tracker.stopped_epoch_}")

# %%
# The score in ``history_``
# -------------------------
# Each scored epoch's record holds ``val_fid``; every record holds
# ``val_fid_best``, True on the epochs that set a new best (a
# :class:`~skgan.callbacks.Checkpoint` with ``monitor="val_fid_best"`` saves
# just those).
for record in gan.history_[:6]:
    print(
        {key: round(v, 3) if isinstance(v, float) else v for key, v in record.items()}
    )

# %%
# The score beside the loss curves
# --------------------------------
# :func:`~skgan.plotting.plot_history` draws the scores named in ``scores`` in
# a third panel, next to the losses and the discriminator's accuracies.
fig = plot_history(gan, scores="val_fid", figsize=(14, 4))
score_axis = fig.axes[2]
score_axis.axvline(tracker.best_epoch_, color="gray", linestyle="--", linewidth=1)
score_axis.set_ylabel("FID on held-out digits (PCA features)")
plt.show()

# %%
# The restored generator
# ----------------------
# ``gan`` now samples with the generator of the best epoch (and its moving
# average); the discriminator, the optimisers and ``history_`` keep their
# last state, so ``warm_start=True`` can continue training from here.
# ``gan.score`` gives minus the tracked score: the same images, the same
# noise (both use seed 0 here).
print(f"-score: {-gan.score(X_val):.2f}")
plot_image_grid(
    gan.sample(64, random_state=0),
    n_cols=8,
    title=f"samples of the generator of epoch {tracker.best_epoch_}",
    figsize=(5, 5),
)
plt.show()

# %%
# Watching live
# -------------
# With the ``tensorboard`` extra (``pip install "skgan[tensorboard]"``),
# :class:`~skgan.callbacks.TensorBoard` placed after the tracker logs the
# losses, the accuracies, ``val_fid`` and a sample grid every few epochs, for
# ``tensorboard --logdir runs``; with ``tqdm``,
# :class:`~skgan.callbacks.ProgressBar` shows a progress bar with the latest
# losses and score, in notebooks too::
#
#     from skgan.callbacks import ProgressBar, TensorBoard
#
#     callbacks = [tracker, TensorBoard("runs/digits", image_every=5), ProgressBar()]
#     DCGANEstimator(epochs=60, callbacks=callbacks).fit(X_train)
