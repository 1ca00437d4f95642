"""Adversarial losses on discriminator logits.

All losses take raw logits (never sigmoid outputs), so they are safe under
autocast and numerically stable.
"""

import torch
from torch.nn import functional as F

__all__ = ["LOSSES", "discriminator_loss", "fake_loss", "generator_loss", "real_loss"]

LOSSES = ("bce", "hinge")


def discriminator_loss(
    loss, real_logits, fake_logits, real_targets=None, fake_target=0.0
):
    """Loss of the discriminator on one batch of real and one of fake logits.

    Parameters
    ----------
    loss : {"bce", "hinge"}
        ``"bce"``: binary cross-entropy with (optionally smoothed) targets;
        ``"hinge"``: ``relu(1 - real) + relu(1 + fake)``.
    real_logits, fake_logits : torch.Tensor of shape (n,)
    real_targets : torch.Tensor of shape (n,), default=None
        BCE targets for real images (ones when None). Ignored by hinge.
    fake_target : float, default=0.0
        BCE target for fake images. Ignored by hinge.
    """
    return real_loss(loss, real_logits, real_targets) + fake_loss(
        loss, fake_logits, fake_target
    )


def real_loss(loss, real_logits, real_targets=None):
    """The real-image term of :func:`discriminator_loss`."""
    if loss == "bce":
        if real_targets is None:
            real_targets = torch.ones_like(real_logits)
        return F.binary_cross_entropy_with_logits(real_logits, real_targets)
    if loss == "hinge":
        return F.relu(1.0 - real_logits).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def fake_loss(loss, fake_logits, fake_target=0.0):
    """The generated-image term of :func:`discriminator_loss`."""
    if loss == "bce":
        fake_targets = torch.full_like(fake_logits, fake_target)
        return F.binary_cross_entropy_with_logits(fake_logits, fake_targets)
    if loss == "hinge":
        return F.relu(1.0 + fake_logits).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def generator_loss(loss, fake_logits):
    """Loss of the generator: non-saturating BCE, or ``-D(G(z))`` for hinge."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(
            fake_logits, torch.ones_like(fake_logits)
        )
    if loss == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
