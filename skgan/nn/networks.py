"""Generator and discriminator networks built from an image shape.

Any ``(channels, height, width)`` works, from 1x1 up. The generator projects the
noise to a small feature map, doubles its resolution ``depth`` times and ends in a
3x3 convolution + tanh, cropping to the exact target size; the discriminator
halves the resolution ``depth`` times with strided convolutions and ends in one
linear logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

__all__ = ["Discriminator", "Generator", "auto_depth", "init_dcgan_weights"]

MAX_AUTO_DEPTH = 4
MIN_FEATURE_MAP = 4


def auto_depth(height, width):
    """Return the number of resolution doublings used for an image size.

    The largest ``n <= 4`` such that the smaller side is at least ``4 * 2**n``:
    64x64 → 4 (a 4x4 start, the textbook DCGAN), 28x28 → 2 (7x7 → 28x28),
    8x8 → 1, anything below 8 pixels → 0.
    """
    side = min(height, width)
    depth = 0
    while depth < MAX_AUTO_DEPTH and side >= MIN_FEATURE_MAP * 2 ** (depth + 1):
        depth += 1
    return depth


def _channels(width, depth, stage, max_channels=512):
    """Channels at ``stage`` (0 = lowest resolution): width doubles per stage down."""
    return min(width * 2 ** (depth - stage), max(max_channels, width))


class Generator(nn.Module):
    """Noise ``(n, noise_dim)`` → images ``(n, C, H, W)`` in ``[-1, 1]``.

    Parameters
    ----------
    noise_dim : int
        Length of the latent vector.
    image_shape : tuple of int
        ``(channels, height, width)`` of the output.
    width : int
        Channels of the last upsampling stage; earlier stages double it (capped
        at 512).
    depth : int
        Number of 2x upsampling stages.
    batch_norm : bool
        Batch normalisation after every hidden layer.
    first_stage : {"dense", "transposed"}
        Project the noise with a linear layer or with a transposed convolution
        whose kernel covers the first feature map.
    upsampling : {"nearest", "transposed"}
        Nearest-neighbour upsampling + 3x3 conv, or 4x4 stride-2 transposed conv.
    n_classes : int, default=0
        When positive, the generator is class-conditional: a learned embedding
        of the label (``noise_dim`` long) is concatenated to the noise.
    skip_excitation : bool, default=False
        Skip-layer excitation (Liu et al., ICLR 2021, "FastGAN"): the output of
        every stage from the third on is multiplied, channel by channel, by
        gates in ``(0, 1)`` computed from the feature map three stages
        earlier (8 times coarser; the projected noise for the third stage).
        The coarse layout then steers the fine stages directly.
    """

    def __init__(
        self,
        noise_dim,
        image_shape,
        *,
        width=64,
        depth=2,
        batch_norm=True,
        first_stage="dense",
        upsampling="nearest",
        n_classes=0,
        skip_excitation=False,
    ):
        super().__init__()
        channels, height, width_px = image_shape
        self.noise_dim = noise_dim
        self.image_shape = tuple(image_shape)
        self.label_embedding = (
            nn.Embedding(n_classes, noise_dim) if n_classes > 0 else None
        )
        input_dim = noise_dim * (2 if n_classes > 0 else 1)
        self.start_size = (
            math.ceil(height / 2**depth),
            math.ceil(width_px / 2**depth),
        )
        start_channels = _channels(width, depth, 0)
        h0, w0 = self.start_size

        def norm(c, dims=2):
            if not batch_norm:
                return nn.Identity()
            return nn.BatchNorm2d(c) if dims == 2 else nn.BatchNorm1d(c)

        if first_stage == "dense":
            self.project = nn.Sequential(
                nn.Linear(input_dim, start_channels * h0 * w0, bias=not batch_norm),
                nn.Unflatten(1, (start_channels, h0, w0)),
                norm(start_channels),
                nn.ReLU(inplace=True),
            )
        elif first_stage == "transposed":
            self.project = nn.Sequential(
                nn.Unflatten(1, (input_dim, 1, 1)),
                nn.ConvTranspose2d(
                    input_dim, start_channels, (h0, w0), bias=not batch_norm
                ),
                norm(start_channels),
                nn.ReLU(inplace=True),
            )
        else:
            raise ValueError(
                f"first_stage must be 'dense' or 'transposed', got {first_stage!r}"
            )

        blocks = []
        for stage in range(depth):
            c_in = _channels(width, depth, stage)
            c_out = _channels(width, depth, stage + 1)
            if upsampling == "nearest":
                blocks += [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm),
                ]
            elif upsampling == "transposed":
                blocks.append(
                    nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=not batch_norm)
                )
            else:
                raise ValueError(
                    f"upsampling must be 'nearest' or 'transposed', got {upsampling!r}"
                )
            blocks += [norm(c_out), nn.ReLU(inplace=True)]
        self.upsample = nn.Sequential(*blocks)
        self._layers_per_stage = 4 if upsampling == "nearest" else 3
        # Stage i (0-based) is gated by the output of stage i - 3 (-1: the
        # projection).
        self.excitation = (
            nn.ModuleList(
                _SkipExcitation(
                    _channels(width, depth, stage - 2),
                    _channels(width, depth, stage + 1),
                )
                for stage in range(2, depth)
            )
            if skip_excitation and depth >= 3
            else None
        )
        self.to_image = nn.Sequential(
            nn.Conv2d(_channels(width, depth, depth), channels, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, noise, labels=None):
        if self.label_embedding is not None:
            noise = torch.cat([noise, self.label_embedding(labels)], dim=1)
        x = self.project(noise)
        if self.excitation is None:
            x = self.upsample(x)
        else:
            outputs = [x]  # outputs[i + 1] is the output of stage i
            n = self._layers_per_stage
            for stage in range(len(self.upsample) // n):
                x = self.upsample[stage * n : (stage + 1) * n](x)
                if stage >= 2:
                    x = x * self.excitation[stage - 2](outputs[stage - 2])
                outputs.append(x)
        x = self.to_image(x)
        _, height, width = self.image_shape
        if x.shape[-2:] != (height, width):
            x = x[..., :height, :width]
        return x


class _SkipExcitation(nn.Module):
    """Channel gates for a fine feature map from a coarse one (FastGAN's SLE)."""

    def __init__(self, coarse_channels, fine_channels):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(coarse_channels, fine_channels, 4),
            nn.LeakyReLU(0.1),
            nn.Conv2d(fine_channels, fine_channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, coarse):
        return self.gate(coarse)


class Discriminator(nn.Module):
    """Images ``(n, C, H, W)`` → one real-vs-fake logit per image.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of the input.
    width : int
        Channels of the first convolution; each downsampling stage doubles them
        (capped at 512).
    depth : int
        Number of stride-2 stages (4x4 kernels).
    spectral_norm : bool
        Spectral normalisation on every convolution and the final linear layer.
    dropout : float
        Dropout probability after every hidden stage.
    batch_norm : bool, default=False
        Batch normalisation after every strided convolution (not after the
        first, full-resolution one), as in the DCGAN paper. Real and
        generated images must then reach the discriminator in separate
        batches (:class:`~skgan.nn.AdversarialTrainer` does so): normalised
        together, the discriminator can tell them apart from the batch
        statistics alone.
    negative_slope : float
        LeakyReLU slope.
    n_classes : int, default=0
        When positive, a projection discriminator (Miyato & Koyama 2018): the
        logit gains the inner product of a label embedding with the
        spatially summed features.
    projection : {"last_stage", "every_stage"}, default="last_stage"
        Where a conditional discriminator projects the label.
        ``"last_stage"``: on the features of the last stage only, as in the
        paper. ``"every_stage"``: also on the spatially summed features of
        every earlier downsampling stage, each with its own label embedding,
        so that coarse and fine features both answer for the class.
    """

    def __init__(
        self,
        image_shape,
        *,
        width=64,
        depth=2,
        spectral_norm=True,
        dropout=0.0,
        batch_norm=False,
        negative_slope=0.2,
        n_classes=0,
        projection="last_stage",
    ):
        super().__init__()
        channels, height, width_px = image_shape
        self.image_shape = tuple(image_shape)
        wrap = _spectral_norm if spectral_norm else (lambda module: module)

        def act():
            layers = [nn.LeakyReLU(negative_slope, inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            return layers

        if projection not in ("last_stage", "every_stage"):
            raise ValueError(
                f"projection must be 'last_stage' or 'every_stage', got {projection!r}."
            )
        layers = [wrap(nn.Conv2d(channels, width, 3, padding=1)), *act()]
        c = width
        # (index in self.features of the stage's activation, its channels)
        stage_ends = []
        for _ in range(depth):
            c_out = min(c * 2, max(512, width))
            layers.append(wrap(nn.Conv2d(c, c_out, 4, 2, 1, bias=not batch_norm)))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            stage_ends.append((len(layers), c_out))
            layers += act()
            c = c_out
            height, width_px = height // 2, width_px // 2
        self.features = nn.Sequential(*layers)
        self.classify = nn.Sequential(
            nn.Flatten(), wrap(nn.Linear(c * height * width_px, 1))
        )
        self.label_projection = (
            wrap(nn.Embedding(n_classes, c)) if n_classes > 0 else None
        )
        # The last stage's features are label_projection's.
        earlier = (
            stage_ends[:-1] if n_classes > 0 and projection == "every_stage" else []
        )
        self._projected_stages = [index for index, _ in earlier]
        self.stage_projections = (
            nn.ModuleList(wrap(nn.Embedding(n_classes, c)) for _, c in earlier)
            if earlier
            else None
        )

    def forward(self, images, labels=None):
        if self.stage_projections is None or labels is None:
            features = self.features(images)
        else:
            features, stage_terms = images, 0.0
            embeddings = iter(self.stage_projections)
            for index, layer in enumerate(self.features):
                features = layer(features)
                if index in self._projected_stages:
                    pooled = features.sum(dim=(2, 3))
                    stage_terms = stage_terms + (next(embeddings)(labels) * pooled).sum(
                        dim=1
                    )
        logits = self.classify(features).squeeze(1)
        if self.label_projection is not None:
            pooled = features.sum(dim=(2, 3))
            logits = logits + (self.label_projection(labels) * pooled).sum(dim=1)
            if self.stage_projections is not None:
                logits = logits + stage_terms
        return logits


def init_dcgan_weights(module, generator=None):
    """Radford et al. initialisation: conv/linear N(0, 0.02), batch-norm N(1, 0.02).

    Layers under spectral normalisation keep PyTorch's default initialisation:
    their scale is normalised away, and re-drawing the weight would leave the
    power-iteration vectors out of date. Draws from ``generator`` (a
    :class:`torch.Generator`, or the global one when None).
    """
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(
                sub, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)
            ):
                if hasattr(sub, "parametrizations"):
                    continue
                sub.weight.normal_(0.0, 0.02, generator=generator)
                if getattr(sub, "bias", None) is not None:
                    sub.bias.zero_()
            elif isinstance(sub, (nn.BatchNorm1d, nn.BatchNorm2d)):
                sub.weight.normal_(1.0, 0.02, generator=generator)
                sub.bias.zero_()
