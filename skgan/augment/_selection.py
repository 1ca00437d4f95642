"""Choosing which generated images to add: discriminator scores, near-copy guard.

Also the fine-tuning helper that freezes the discriminator's first stages.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..metrics import nearest_neighbors


def nearest_distances(reference, query):
    """Distance from each row of ``query`` to its nearest ``reference`` row."""
    return nearest_neighbors(reference, query)[0]


def near_copy_threshold(images, quantile):
    """The ``quantile`` of a class's distances from each image to its nearest
    other image of the class."""
    flat = images.reshape(images.shape[0], -1)
    return float(np.quantile(nearest_neighbors(flat)[0], quantile))


def discriminator_scores(model, images, label=None):
    """The fitted discriminator's realness logit of each image (higher: more real).

    ``images`` are in the layout the model was trained on; ``label`` is the
    class to judge them as, for a conditional model.
    """
    network = model.discriminator_
    was_training = network.training
    network.eval()
    scores = np.empty(images.shape[0])
    try:
        with torch.inference_mode():
            for start in range(0, images.shape[0], 256):
                batch = torch.from_numpy(
                    model.image_layout_.to_model(images[start : start + 256])
                ).to(model.device_)
                labels = None
                if label is not None:
                    index = int(np.flatnonzero(model.classes_ == label)[0])
                    labels = torch.full(
                        (batch.shape[0],), index, dtype=torch.long, device=model.device_
                    )
                scores[start : start + batch.shape[0]] = (
                    network(batch, labels).float().cpu().numpy()
                )
    finally:
        network.train(was_training)
    return scores


def freeze_discriminator_stages(model, n_stages):
    """Stop training the first ``n_stages`` stages of a fitted discriminator.

    A stage is a convolution with what follows it up to the next convolution
    (normalisation, activation, dropout). Values above the number of stages
    freeze them all: only the final linear layer (and a conditional model's
    label projection) keeps learning. The optimiser skips parameters that
    never receive a gradient.
    """
    if n_stages <= 0:
        return
    stage = -1
    for layer in model.discriminator_.features:
        if isinstance(layer, torch.nn.Conv2d):
            stage += 1
        if stage < n_stages:
            layer.requires_grad_(False)


def select_candidates(candidates, n, *, scores=None, distances=None, threshold=None):
    """Indices of at most ``n`` candidates to keep, best first.

    Candidates nearer than ``threshold`` to a training image (``distances``)
    are dropped; of the rest, the ``n`` with the highest ``scores`` are kept
    (all in order when ``scores`` is None).
    """
    keep = np.arange(len(candidates))
    if threshold is not None:
        keep = keep[distances[keep] >= threshold]
    if scores is not None:
        keep = keep[np.argsort(-scores[keep], kind="stable")]
    return keep[:n]


def draw_selected(
    model, n, rng, *, label, reference, threshold, candidate_factor, max_rounds
):
    """Up to ``n`` generated images of one class, chosen from rounds of candidates.

    Each round samples ``candidate_factor * n`` candidates from ``model``
    (of class ``label`` for a conditional model), drops those nearer than
    ``threshold`` to a ``reference`` row (flattened training images of the
    class; no guard when ``threshold`` is None), and keeps the ones the
    discriminator scores as most real (all in order when ``candidate_factor``
    is 1), until ``n`` are kept or ``max_rounds`` rounds have run. Each round
    draws its seed from ``rng``.
    """
    n_candidates = max(n, math.ceil(candidate_factor * n))
    kept, n_kept = [], 0
    for _ in range(max_rounds):
        seed = rng.randint(np.iinfo(np.int32).max)
        if label is not None:
            candidates, _ = model.sample(n_candidates, random_state=seed, y=label)
        else:
            candidates = model.sample(n_candidates, random_state=seed)
        distances = None
        if threshold is not None:
            distances = nearest_distances(
                reference, candidates.reshape(len(candidates), -1)
            )
        scores = None
        if candidate_factor > 1:
            scores = discriminator_scores(model, candidates, label)
        index = select_candidates(
            candidates,
            n - n_kept,
            scores=scores,
            distances=distances,
            threshold=threshold,
        )
        kept.append(candidates[index])
        n_kept += len(index)
        if n_kept >= n:
            break
    return np.concatenate(kept)
