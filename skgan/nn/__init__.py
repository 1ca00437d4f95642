"""The torch layer: networks, losses and the training step. Knows nothing of sklearn."""

from .augmentation import (
    AUGMENTATIONS,
    AdaptiveAugmentation,
    diff_augment,
    parse_policy,
    random_affine,
)
from .data import ScaledImages
from .distributed import end_process_group
from .ema import ExponentialMovingAverage
from .losses import LOSSES, discriminator_loss, fake_loss, generator_loss, real_loss
from .networks import Discriminator, Generator, auto_depth, init_dcgan_weights
from .sampling import recompute_batch_norm
from .training import AdversarialTrainer, DivergenceError, isolated_rng

__all__ = [
    "AUGMENTATIONS",
    "AdaptiveAugmentation",
    "LOSSES",
    "ExponentialMovingAverage",
    "diff_augment",
    "end_process_group",
    "parse_policy",
    "random_affine",
    "AdversarialTrainer",
    "Discriminator",
    "DivergenceError",
    "Generator",
    "ScaledImages",
    "auto_depth",
    "discriminator_loss",
    "fake_loss",
    "generator_loss",
    "init_dcgan_weights",
    "isolated_rng",
    "real_loss",
    "recompute_batch_norm",
]
