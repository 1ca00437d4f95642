"""
Generating chest X-rays (PneumoniaMNIST)
========================================

Train :class:`skgan.DCGANEstimator` on 28x28 chest X-rays from PneumoniaMNIST
(MedMNIST v2, CC BY 4.0; images from Kermany et al. 2018) and put real and
generated images side by side.

Training is bounded by wall-clock time with ``max_time=``, so the example
takes about two minutes on two CPU cores whatever the machine; a faster
machine simply trains for more steps. Expect blurry but recognisable chests
(lungs, mediastinum, shoulders) after a few hundred steps. For good images,
train for 25-50 epochs (minutes on a GPU, an hour or so on a laptop CPU).

The images are loaded with :func:`skgan.datasets.fetch_medmnist`, which
downloads the file (4 MB) into the skgan data cache
(:func:`skgan.datasets.get_data_home`) on first use. On a machine without
internet access, point the environment variable ``SKGAN_PNEUMONIAMNIST`` at a
local copy of ``pneumoniamnist.npz``. When the file can be had neither way,
the example falls back to scikit-learn's 8x8 digits, so that it runs
anywhere. The script prints which data it used.
"""

# %%
# Load the images
# ---------------
# ``fetch_medmnist`` returns a :class:`~sklearn.utils.Bunch` like
# :func:`sklearn.datasets.load_digits`: ``images`` is ``(n, 28, 28)`` uint8,
# ``target`` holds 0 (normal) or 1 (pneumonia). The name
# ``"pneumoniamnist"`` downloads the file into the cache on first use;
# ``SKGAN_PNEUMONIAMNIST=/path/to/pneumoniamnist.npz`` reads a local copy.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skgan import DCGANEstimator
from skgan.datasets import fetch_medmnist
from skgan.plotting import plot_history, plot_image_grid


def load_chest_xrays():
    """Return ``(images, labels, class_names, source)``."""
    try:
        data = fetch_medmnist(
            os.environ.get("SKGAN_PNEUMONIAMNIST", "pneumoniamnist"), split="train"
        )
        names = data.target_names  # None for a copy under another file name
        if names is None:
            names = range(data.target.max() + 1)
        names = [str(name) for name in names]
        return data.images, data.target, names, data.filename
    except OSError as exc:
        print(f"PneumoniaMNIST not available: {str(exc).splitlines()[0][:100]}")
    digits = load_digits()
    names = [str(digit) for digit in digits.target_names]
    return digits.images, digits.target, names, "scikit-learn digits (fallback)"


images, labels, class_names, source = load_chest_xrays()
print(f"data: {source}")
print(f"{len(images)} images of {images.shape[1:]} pixels, dtype {images.dtype}")
print("per class:", dict(zip(class_names, np.bincount(labels).tolist())))

# %%
# Train with a time budget
# ------------------------
# Small networks (16 channels in the last generator and the first
# discriminator stage) and transposed-convolution upsampling keep each step
# cheap on a CPU. ``max_time=90`` stops training after 90 seconds, at the end
# of the step that crosses it; ``epochs`` is an upper bound. The uint8
# ``(n, 28, 28)`` array is passed as it is: samples come back the same way.
gan = DCGANEstimator(
    noise_dim=100,
    epochs=20,
    batch_size=32,
    generator_width=16,
    discriminator_width=16,
    generator_upsampling="transposed",
    max_time=90,
    feature_extractor=None,
    random_state=0,
    verbose=1,
)
gan.fit(images)
n_steps = sum(record["n_steps"] for record in gan.history_)
print(f"trained {n_steps} steps in {len(gan.history_)} epoch(s)")

# %%
# Real and generated side by side
# -------------------------------
# Both grids are ``uint8`` arrays shown on the same 0..255 scale.
fake = gan.sample(32, random_state=0)
print(fake.shape, fake.dtype, fake.min(), fake.max())

rng = np.random.default_rng(0)
real = images[rng.choice(len(images), size=32, replace=False)]

fig, (ax_real, ax_fake) = plt.subplots(1, 2, figsize=(10, 3.2))
plot_image_grid(real, n_cols=8, ax=ax_real, title="real")
plot_image_grid(fake, n_cols=8, ax=ax_fake, title=f"generated ({n_steps} steps)")
fig.tight_layout()

# %%
# The training curves: losses and the discriminator's accuracy on real and
# generated images per epoch (an epoch cut short by ``max_time`` counts too).
# A discriminator near 100% on both means the generator is losing; near 50%
# on both, an equilibrium.
plot_history(gan)
plt.show()
