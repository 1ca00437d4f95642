"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable augmentation of D inputs.

The same random transformations are applied to real and generated images
before the discriminator, in the discriminator and the generator steps, so
that D cannot memorise a small training set while G still learns the
un-augmented distribution. No flips: anatomy has laterality.
"""

import torch
from torch.nn import functional as F

__all__ = ["AUGMENTATIONS", "diff_augment", "parse_policy"]


def _brightness(x):
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device) - 0.5)


def _saturation(x):
    if x.shape[1] == 1:  # no colour to (de)saturate
        return x
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, device=x.device) * 2) + mean


def _contrast(x):
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, device=x.device) + 0.5) + mean


def _translation(x, ratio=0.125):
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sh == 0 and sw == 0:
        return x
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into a zero-padded copy: shifted-out pixels become zeros.
    rows = torch.clamp(rows + dy + 1, 0, h + 1).expand(n, h, w)
    cols = torch.clamp(cols + dx + 1, 0, w + 1).expand(n, h, w)
    padded = F.pad(x, (1, 1, 1, 1))
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(x, ratio=0.5):
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows - cy + ch // 2).clamp(0, h) < ch) & ((rows - cy + ch // 2) >= 0)
    inside = inside & ((cols - cx + cw // 2) >= 0) & ((cols - cx + cw // 2) < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTATIONS = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


def parse_policy(policy):
    """Validate a policy string such as ``"color,translation,cutout"``."""
    if policy is None or policy == "":
        return ()
    names = tuple(name.strip() for name in policy.split(","))
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"Unknown augmentation(s) {unknown} in {policy!r}; choose a "
            f"comma-separated subset of {sorted(AUGMENTATIONS)}."
        )
    return names


def diff_augment(x, policy):
    """Apply the augmentations named in ``policy`` (a tuple from ``parse_policy``)."""
    for name in policy:
        for transform in AUGMENTATIONS[name]:
            x = transform(x)
    return x.contiguous()
