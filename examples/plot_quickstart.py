"""
Quickstart: a GAN on handwritten digits
=======================================

Train :class:`skgan.DCGANEstimator` on scikit-learn's 8x8 digits (1,797 images
shipped with scikit-learn, so this runs anywhere, offline) and write a grid of
generated digits to ``quickstart_samples.png`` next to this script. About a
minute on two CPU cores.
"""

# %%
# Images the scikit-learn way: one flattened row per image. A 64-feature row
# is read as an 8x8 single-channel image; samples come back the same way,
# as floats in the training range 0..16.
from pathlib import Path

from sklearn.datasets import load_digits

from skgan import DCGANEstimator
from skgan.plotting import save_image_grid

X = load_digits().data
gan = DCGANEstimator(noise_dim=150, epochs=25, random_state=0, verbose=1)
gan.fit(X)
samples = gan.sample(64, random_state=0)
print(samples.shape, samples.dtype, samples.min(), samples.max())

# %%
# A PNG grid written with Pillow alone, next to this script.
try:
    here = Path(__file__).resolve().parent
except NameError:  # run interactively
    here = Path.cwd()
path = save_image_grid(samples, here / "quickstart_samples.png", n_cols=8, scale=4)
print(f"wrote {path}")

# %%
# The same grid as a figure, and the training curves, when matplotlib is
# installed (``pip install skgan[plots]``).
try:
    from skgan.plotting import plot_history, plot_image_grid

    plot_image_grid(samples, n_cols=8)
    plot_history(gan)
except ImportError:
    pass
