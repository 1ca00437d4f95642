"""Oversampling rare classes with GAN images, as an imbalanced-learn sampler."""

from ._generators import default_variation_estimator
from ._sampler import SyntheticAugmenter, default_augmentation_estimator
from ._transforms import random_affine, random_intensity

__all__ = [
    "SyntheticAugmenter",
    "default_augmentation_estimator",
    "default_variation_estimator",
    "random_affine",
    "random_intensity",
]
