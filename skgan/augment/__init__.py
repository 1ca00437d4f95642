"""Oversampling rare classes with GAN images, as an imbalanced-learn sampler."""

from ._sampler import SyntheticAugmenter, default_augmentation_estimator

__all__ = ["SyntheticAugmenter", "default_augmentation_estimator"]
