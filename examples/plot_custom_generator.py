"""
Bring your own generator
========================

:class:`skgan.DCGANEstimator` builds its networks from the shape of the
training images; ``generator=`` and ``discriminator=`` replace either with a
network of your own, while everything else (training, seeds, sampling in the
training layout, ``score``, model selection, pickling, model files) stays the
same. Here a small residual generator, written in plain PyTorch, learns
scikit-learn's 8x8 digits. About a minute on two CPU cores.
"""

# %%
# A generator is any :class:`torch.nn.Module` class (or function returning
# one) called with ``noise_dim``, ``image_shape`` = ``(channels, height,
# width)`` and ``n_classes`` (0 unless ``conditional=True``). Its
# ``forward(noise, labels)`` returns images in ``[-1, 1]``: skgan maps them
# back to the value range of your data.
import torch
from sklearn.datasets import load_digits
from torch import nn

from skgan import DCGANEstimator


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x):
        return x + self.body(x)


class ResidualGenerator(nn.Module):
    """Noise -> a 4x4 map -> one residual block per doubling -> image."""

    def __init__(self, noise_dim, image_shape, n_classes=0, width=32):
        super().__init__()
        channels, height, _ = image_shape
        self.width = width
        self.project = nn.Linear(noise_dim, width * 4 * 4)
        blocks = []
        size = 4
        while size < height:
            blocks += [nn.Upsample(scale_factor=2), ResidualBlock(width)]
            size *= 2
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, padding=1)
        )

    def forward(self, noise, labels=None):
        x = self.project(noise).view(-1, self.width, 4, 4)
        return torch.tanh(self.to_image(self.blocks(x)))


# %%
# The discriminator stays skgan's default (spectral norm, batch norm); the
# image size comes from the data.
X = load_digits().data
gan = DCGANEstimator(
    generator=ResidualGenerator, epochs=25, feature_extractor=None, random_state=0
)
gan.fit(X)
print(type(gan.generator_).__name__, "trained for", len(gan.history_), "epochs")
samples = gan.sample(40, random_state=0)
print(samples.shape, samples.min().round(2), samples.max().round(2))

# %%
# Pickle keeps the user's class by reference; a safe ``.skgan`` model file
# cannot hold code, so loading it asks for the class again:
# ``DCGANEstimator.load(path, params={"generator": ResidualGenerator})``.
try:
    from skgan.plotting import plot_history, plot_image_grid

    plot_image_grid(samples, n_cols=10)
    plot_history(gan)
except ImportError:
    pass
