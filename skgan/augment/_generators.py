"""The generators SyntheticAugmenter trains: its default GAN and fine-tuned copies."""

from __future__ import annotations

import copy

from ..gan import DCGANEstimator
from ._selection import freeze_discriminator_stages

__all__ = ["default_augmentation_estimator", "finetune_copy"]


def default_augmentation_estimator():
    """The GAN ``SyntheticAugmenter`` uses when given none.

    :class:`DCGANEstimator` with its default architecture (hinge loss, spectral
    and batch normalisation in the discriminator, no DiffAugment, a moving
    average of the generator, widths of 16) trained for a fixed number of
    updates, 600, whatever the number of images. In the default
    ``mode="finetune"`` these updates pre-train on every image, and each
    rare class's copy then gets ``finetune_steps`` more (by default half as
    many, 300). The settings are spelled out so that later changes to
    :class:`DCGANEstimator`'s defaults do not change the augmenter;
    :ref:`augmentation` shows what they were chosen from.
    """
    return DCGANEstimator(
        noise_dim=100,
        steps=600,
        batch_size=32,
        generator_lr=2e-4,
        discriminator_lr=2e-4,
        loss="hinge",
        generator_width=16,
        discriminator_width=16,
        spectral_norm=True,
        discriminator_batch_norm=True,
        augment=None,
        ema_decay=0.999,
    )


def finetune_copy(
    pretrained, X_class, *, steps=None, augment=None, freeze_discriminator=0
):
    """A copy of a fitted GAN trained further on the images of one class.

    Parameters
    ----------
    pretrained : DCGANEstimator
        The fitted model to start from; it is not modified.
    X_class : ndarray
        The class's images, in the layout ``pretrained`` was fitted on.
    steps : int, default=None
        Updates of the copy; None uses half of ``pretrained.steps`` (at least
        one), or its ``epochs`` over ``X_class`` when ``steps`` is None.
    augment : str, default=None
        DiffAugment policy while fine-tuning; None keeps the model's own.
    freeze_discriminator : int, default=0
        Number of the discriminator's first stages left as pre-trained.

    Returns
    -------
    DCGANEstimator
        The fine-tuned copy, its moving average restarted at the copy's
        weights so that the class's generator, not the average of
        pre-training, is sampled.
    """
    model = copy.deepcopy(pretrained)
    if steps is None and model.steps is not None:
        steps = max(1, model.steps // 2)
    model.set_params(warm_start=True, steps=steps)
    if augment is not None:
        model.set_params(augment=augment)
    model.generator_ema_ = None
    freeze_discriminator_stages(model, freeze_discriminator)
    model.fit(X_class)
    model.discriminator_.requires_grad_(True)
    return model
