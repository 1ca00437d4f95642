"""The generators SyntheticAugmenter trains: its default GANs, fine-tuned
copies, and variants of real images (``mode="variation"``)."""

from __future__ import annotations

import copy
import math

import numpy as np

from ..gan import DCGANEstimator, VariationGAN
from ._selection import freeze_discriminator_stages, select_in_rounds

__all__ = [
    "default_augmentation_estimator",
    "default_variation_estimator",
    "draw_variations",
    "finetune_copy",
]


def default_augmentation_estimator():
    """The GAN ``SyntheticAugmenter`` uses when given none.

    :class:`DCGANEstimator` with its default architecture (hinge loss, spectral
    and batch normalisation in the discriminator, no DiffAugment, a moving
    average of the generator, widths of 16, no mode-seeking term) trained
    for a fixed number of updates, 600, whatever the number of images. In the default
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
        diversity_weight=0.0,
        batch_norm_statistics="running",
        discriminator_projection="last_stage",
    )


def default_variation_estimator():
    """The :class:`VariationGAN` that ``SyntheticAugmenter(mode="variation")``
    uses when given none.

    Its default architecture (hinge loss, spectral and batch normalisation
    in the pair discriminator, a moving average of the generator, widths of
    16, noise of length 32) trained for a fixed number of updates, 600,
    whatever the number of images: on every class at once, pairs drawn
    within each class, the first image of each pair drawn from every class
    equally often (``balance_classes=True``). The settings are spelled out
    so that later changes to :class:`VariationGAN`'s defaults do not change
    the augmenter.
    """
    return VariationGAN(
        noise_dim=32,
        steps=600,
        batch_size=32,
        loss="hinge",
        generator_width=16,
        discriminator_width=16,
        spectral_norm=True,
        discriminator_batch_norm=True,
        balance_classes=True,
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


def check_variation_estimator(estimator):
    """Refuse, before any work, an estimator that cannot make variants."""
    if not isinstance(estimator, VariationGAN):
        raise TypeError(
            'mode="variation" makes variants of real images with a VariationGAN; '
            f"got estimator={type(estimator).__name__}. Pass "
            "estimator=VariationGAN(...) or None (the default one), or choose "
            "another mode for a DCGANEstimator."
        )


def draw_variations(
    model,
    X_class,
    n,
    rng,
    *,
    reference,
    threshold,
    candidate_factor,
    max_rounds,
    check=None,
):
    """Up to ``n`` variants of a class's real images, chosen from rounds of
    candidates.

    Each round makes ``candidate_factor * n`` candidates, each a variant of
    one of ``X_class`` (every image in turn, from a random start, so that
    each gets about as many), drops those ``check`` rejects (as in
    :func:`~skgan.augment._selection.draw_selected`; None checks nothing),
    then those nearer than ``threshold`` to a ``reference`` row (flattened
    training images of the class, including each candidate's own source; no
    guard when ``threshold`` is None), and keeps those whose (source,
    variant) pairs the discriminator scores as most real (all in order when
    ``candidate_factor`` is 1), until ``n`` are kept or ``max_rounds``
    rounds have run. Each round draws its seeds from ``rng``.

    Returns the kept images and the report that
    :func:`~skgan.augment._selection.draw_selected` returns.
    """
    n_candidates = max(n, math.ceil(candidate_factor * n))

    def draw():
        order = rng.permutation(len(X_class))
        sources = X_class[np.resize(order, n_candidates)]
        seed = rng.randint(np.iinfo(np.int32).max)
        candidates = model.sample(sources, random_state=seed)
        return candidates, lambda pool: model.realism(sources[pool], candidates[pool])

    return select_in_rounds(
        draw,
        n,
        reference=reference,
        threshold=threshold,
        candidate_factor=candidate_factor,
        max_rounds=max_rounds,
        check=check,
    )
