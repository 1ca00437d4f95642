"""
Training curves and per-epoch snapshots
=======================================

Watch a GAN learn: :class:`skgan.callbacks.SampleSnapshots` is a training
callback that saves a grid of generated images every few epochs, always from
the same noise vectors, and :func:`skgan.plotting.plot_history` draws the
losses and the discriminator's accuracies from ``history_``. Training then
continues with ``warm_start=True``, and the history and snapshots carry on.

Runs on scikit-learn's 8x8 digits in about a minute on two CPU cores.
"""

# %%
# A callback in ``callbacks=``
# ----------------------------
# Every callable in ``callbacks`` is called as ``callback(estimator, record)``
# after each epoch, ``record`` being that epoch's entry of ``history_``.
# ``SampleSnapshots`` writes ``epoch_0002.png``, ``epoch_0004.png``, ... into a
# folder (a temporary one here) and lists them in ``paths_``.
import shutil
import tempfile
import time

import matplotlib.pyplot as plt
from PIL import Image
from sklearn.datasets import load_digits

from skgan import DCGANEstimator
from skgan.callbacks import SampleSnapshots
from skgan.plotting import plot_history

X = load_digits().data  # (1797, 64): flattened 8x8 images in 0..16
folder = tempfile.mkdtemp(prefix="skgan_snapshots_")
snapshots = SampleSnapshots(folder, every=2, n_images=36, n_cols=6, scale=4)


def log_time(estimator, record):
    """A callback is any callable: print the total training time so far."""
    total = sum(r["seconds"] for r in estimator.history_)
    if record["epoch"] % 4 == 0:
        print(f"epoch {record['epoch']}: {total:.1f} s of training so far")


gan = DCGANEstimator(
    noise_dim=64,
    epochs=12,
    generator_width=32,
    discriminator_width=32,
    callbacks=[snapshots, log_time],
    max_time=60,
    feature_extractor=None,
    random_state=0,
)
start = time.perf_counter()
gan.fit(X)
print(f"fit: {time.perf_counter() - start:.1f} s, {len(gan.history_)} epochs")
print(snapshots)
print([path.name for path in snapshots.paths_])

# %%
# Training curves
# ---------------
# ``history_`` holds one dict per epoch; ``plot_history`` accepts the fitted
# estimator, the list itself, or a pandas DataFrame made from it. Its
# ``warnings`` list the training failures the checks saw (see the user guide).
last = gan.history_[-1]
print({k: round(v, 3) if isinstance(v, float) else v for k, v in last.items()})
plot_history(gan)

# %%
# Keep training
# -------------
# With ``warm_start=True``, ``fit`` continues from the current networks and
# optimiser states; ``history_`` and the callbacks' epoch numbers carry on.
# (``partial_fit(X)`` trains exactly one more epoch the same way.)
gan.set_params(warm_start=True, epochs=4, max_time=30)
gan.fit(X)
print(f"{len(gan.history_)} epochs in total")
plot_history(gan)

# %%
# The snapshots
# -------------
# The PNG files are plain images; here they are read back with Pillow and
# shown together. The same noise vectors go from blobs to digits.
paths = snapshots.paths_
n_cols = min(4, len(paths))
n_rows = -(-len(paths) // n_cols)
fig, axes = plt.subplots(
    n_rows, n_cols, figsize=(2.6 * n_cols, 2.8 * n_rows), squeeze=False
)
for ax in axes.flat[len(paths) :]:
    ax.set_axis_off()
for ax, path in zip(axes.flat, paths):
    ax.imshow(Image.open(path), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_title(path.stem.replace("_", " "))
    ax.set_axis_off()
fig.tight_layout()
plt.show()
shutil.rmtree(folder)  # the temporary folder is no longer needed
