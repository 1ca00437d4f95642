"""Networks and optimizers of a DCGANEstimator, built from its parameters.

The default networks are :class:`skgan.nn.Generator` and
:class:`skgan.nn.Discriminator`; ``generator=`` and ``discriminator=`` may name
a user's own (see :class:`~skgan.DCGANEstimator`), checked here with one
forward pass on two images so that a mismatch fails before any training.
"""

from __future__ import annotations

import copy

import torch

from ..nn import Discriminator, Generator, auto_depth
from ..nn.fitting import GANModules

__all__ = [
    "LARGE_IMAGE_SIDE",
    "build_modules",
    "check_network_factories",
    "resolved",
]

#: Images whose shorter side has at least this many pixels get the "auto"
#: settings of :data:`LARGE_IMAGE_SETTINGS`; smaller ones those of
#: :data:`SMALL_IMAGE_SETTINGS` (the defaults before "auto" existed).
LARGE_IMAGE_SIDE = 64
SMALL_IMAGE_SETTINGS = {
    "generator_width": 16,
    "discriminator_width": 16,
    "batch_size": 32,
    "generator_lr": 2e-4,
    "discriminator_lr": 2e-4,
    "diversity_weight": 0.0,
    "batch_norm_statistics": "running",
    "discriminator_projection": "last_stage",
}
LARGE_IMAGE_SETTINGS = {
    "generator_width": 8,
    "discriminator_width": 8,
    "batch_size": 16,
    "generator_lr": 5e-4,
    "discriminator_lr": 5e-4,
    "diversity_weight": 1.0,
    "batch_norm_statistics": "recomputed",
    "discriminator_projection": "every_stage",
}


def resolved(est, name, image_shape=None):
    """The value of parameter ``name``, with ``"auto"`` resolved by image size.

    ``image_shape`` is ``(height, width, channels)``; by default the fitted
    ``est.image_shape_``.
    """
    value = getattr(est, name)
    if not (isinstance(value, str) and value == "auto"):
        return value
    height, width, _ = est.image_shape_ if image_shape is None else image_shape
    large = min(height, width) >= LARGE_IMAGE_SIDE
    return (LARGE_IMAGE_SETTINGS if large else SMALL_IMAGE_SETTINGS)[name]


def check_network_factories(est):
    """Refuse ``generator``/``discriminator`` values that cannot build a network."""
    for name in ("generator", "discriminator"):
        factory = getattr(est, name)
        if factory is not None and not callable(factory):
            raise TypeError(
                f"{name} must be None (the built-in network) or a torch.nn.Module "
                f"class or factory function, got {factory!r}."
            )


def _network_shape(est):
    height, width, channels = est.image_layout_.image_shape
    return (channels, height, width)


def _n_classes(est):
    return len(est.classes_) if est.conditional else 0


def _default_generator(est, shape, n_classes):
    _, height, width = shape
    return Generator(
        est.noise_dim,
        shape,
        width=resolved(est, "generator_width"),
        depth=auto_depth(height, width) if est.depth is None else est.depth,
        batch_norm=est.generator_batch_norm,
        first_stage=est.generator_first_stage,
        upsampling=est.generator_upsampling,
        n_classes=n_classes,
        # Models pickled before generator_architecture existed have none.
        skip_excitation=getattr(est, "generator_architecture", "dcgan") == "skip",
    )


def _default_discriminator(est, shape, n_classes):
    _, height, width = shape
    depth = auto_depth(height, width) if est.depth is None else est.depth
    return Discriminator(
        shape,
        width=resolved(est, "discriminator_width"),
        depth=min(depth, auto_depth(height, width)),
        spectral_norm=est.spectral_norm,
        dropout=est.discriminator_dropout,
        batch_norm=est.discriminator_batch_norm,
        n_classes=n_classes,
        projection=resolved(est, "discriminator_projection"),
    )


def _made(network, name, factory):
    if not isinstance(network, torch.nn.Module):
        raise TypeError(
            f"{name}={factory!r} returned {type(network).__name__}, not a "
            "torch.nn.Module."
        )
    return network


def _check_forward(generator, discriminator, est, shape):
    """One no-grad forward pass of two images through both networks."""
    labels = torch.zeros(2, dtype=torch.long) if est.conditional else None
    noise = torch.zeros(2, est.noise_dim)
    with torch.no_grad():
        for network in (generator, discriminator):
            network.eval()
        try:
            images = generator(noise, labels)
        except Exception as exc:
            raise ValueError(
                f"The generator failed on noise of shape (2, {est.noise_dim}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if tuple(images.shape) != (2, *shape):
            raise ValueError(
                f"The generator returned images of shape {tuple(images.shape)[1:]}; "
                f"the training images need (channels, height, width) = {shape}."
            )
        try:
            logits = discriminator(images, labels)
        except Exception as exc:
            raise ValueError(
                "The discriminator failed on images of shape "
                f"{(2, *shape)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if tuple(logits.shape) not in ((2,), (2, 1)):
            raise ValueError(
                "The discriminator must return one logit per image, shape (n,) "
                f"or (n, 1); it returned {tuple(logits.shape)}."
            )


def _networks(est):
    shape, n_classes = _network_shape(est), _n_classes(est)
    if est.generator is None:
        generator = _default_generator(est, shape, n_classes)
    else:
        generator = _made(
            est.generator(
                noise_dim=est.noise_dim, image_shape=shape, n_classes=n_classes
            ),
            "generator",
            est.generator,
        )
    if est.discriminator is None:
        discriminator = _default_discriminator(est, shape, n_classes)
    else:
        discriminator = _made(
            est.discriminator(image_shape=shape, n_classes=n_classes),
            "discriminator",
            est.discriminator,
        )
    if est.generator is not None or est.discriminator is not None:
        _check_forward(generator, discriminator, est, shape)
    return generator, discriminator


def build_modules(est, *, with_ema=False, betas=None):
    """Untrained networks and fresh Adam optimizers on ``est.device_``.

    Construction draws from torch's global random stream: call it inside
    :func:`torch.random.fork_rng` (seeded, for reproducible weights).
    """
    generator, discriminator = _networks(est)
    generator, discriminator = generator.to(est.device_), discriminator.to(est.device_)
    betas = tuple(float(b) for b in est.betas) if betas is None else betas
    return GANModules(
        generator=generator,
        discriminator=discriminator,
        generator_optimizer=torch.optim.Adam(
            generator.parameters(), lr=resolved(est, "generator_lr"), betas=betas
        ),
        discriminator_optimizer=torch.optim.Adam(
            discriminator.parameters(),
            lr=resolved(est, "discriminator_lr"),
            betas=betas,
        ),
        generator_ema=(
            copy.deepcopy(generator).requires_grad_(False) if with_ema else None
        ),
    )
