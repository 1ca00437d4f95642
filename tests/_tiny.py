"""A DCGANEstimator small enough for unit tests."""

import torch
from torch import nn

from skgan import DCGANEstimator

TINY = dict(
    noise_dim=8,
    epochs=1,
    batch_size=16,
    generator_width=4,
    discriminator_width=4,
    feature_extractor=None,
    device="cpu",
    random_state=0,
)


def tiny_gan(**params):
    return DCGANEstimator(**(TINY | params))


class TinyGenerator(nn.Module):
    """A user-written generator: one linear layer from the noise to the pixels."""

    def __init__(self, noise_dim, image_shape, n_classes=0):
        super().__init__()
        self.image_shape = tuple(image_shape)
        channels, height, width = image_shape
        self.embed = nn.Embedding(n_classes, noise_dim) if n_classes else None
        self.net = nn.Sequential(nn.Linear(noise_dim, channels * height * width))

    def forward(self, noise, labels=None):
        if self.embed is not None:
            noise = noise + self.embed(labels)
        return torch.tanh(self.net(noise)).view(-1, *self.image_shape)


class TinyDiscriminator(nn.Module):
    """A user-written discriminator: a linear logit, plus a label embedding."""

    def __init__(self, image_shape, n_classes=0):
        super().__init__()
        size = image_shape[0] * image_shape[1] * image_shape[2]
        self.logit = nn.Linear(size, 1)
        self.embed = nn.Embedding(n_classes, size) if n_classes else None

    def forward(self, images, labels=None):
        flat = images.flatten(1)
        logits = self.logit(flat).squeeze(1)
        if self.embed is not None:
            logits = logits + (self.embed(labels) * flat).sum(dim=1) / flat.shape[1]
        return logits
