"""Image augmentation in torch: DiffAugment and random affine transformations.

DiffAugment (Zhao et al., NeurIPS 2020): the same random transformations are
applied to real and generated images before the discriminator, in the
discriminator and the generator steps, so that D cannot memorise a small
training set while G still learns the un-augmented distribution.

:func:`random_affine` rotates, shifts and zooms each image by its own random
amount (classic data augmentation of a classifier's training images).

Adaptive augmentation (ADA; Karras et al., NeurIPS 2020): each transformation
is applied to each image with a probability ``p`` that
:class:`AdaptiveAugmentation` raises while the discriminator is overconfident
on the real images and lowers otherwise.

No flips in either: anatomy has laterality.
"""

import math

import torch
from torch.nn import functional as F

__all__ = [
    "ADAPTIVE",
    "AUGMENTATIONS",
    "AdaptiveAugmentation",
    "diff_augment",
    "is_adaptive",
    "parse_policy",
    "random_affine",
]


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


#: The policy word that makes the augmentation probability adaptive.
ADAPTIVE = "ada"
#: Transformations of ``"ada"`` alone.
ADAPTIVE_DEFAULT = ("translation", "cutout")


def parse_policy(policy):
    """Validate a policy string such as ``"color,translation,cutout"``.

    ``"ada"`` among the names makes the policy adaptive (see
    :class:`AdaptiveAugmentation`); alone, it stands for ``"ada,translation,
    cutout"``. The returned tuple then starts with ``"ada"``.
    """
    if policy is None or policy == "":
        return ()
    names = tuple(name.strip() for name in policy.split(","))
    unknown = [name for name in names if name not in AUGMENTATIONS and name != ADAPTIVE]
    if unknown:
        raise ValueError(
            f"Unknown augmentation(s) {unknown} in {policy!r}; choose a "
            f"comma-separated subset of {sorted(AUGMENTATIONS)}, optionally with "
            f"{ADAPTIVE!r} for an adaptive probability (e.g. 'ada' or "
            "'ada,translation')."
        )
    if ADAPTIVE in names:
        transforms = tuple(name for name in names if name != ADAPTIVE)
        return (ADAPTIVE, *(transforms or ADAPTIVE_DEFAULT))
    return names


def is_adaptive(policy):
    """Whether a parsed policy (from :func:`parse_policy`) is adaptive."""
    return ADAPTIVE in policy


def diff_augment(x, policy, p=1.0):
    """Apply the augmentations named in ``policy`` (a tuple from ``parse_policy``).

    With ``p < 1``, each transformation is applied to each image with
    probability ``p`` (independently); ``p=1`` applies all of them to every
    image, ``p=0`` none. The word ``"ada"`` in ``policy`` is skipped.
    """
    if p <= 0:
        return x
    for name in policy:
        if name == ADAPTIVE:
            continue
        for transform in AUGMENTATIONS[name]:
            if p >= 1:
                x = transform(x)
            else:
                chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
                x = torch.where(chosen, transform(x), x)
    return x.contiguous()


class AdaptiveAugmentation:
    """The augmentation probability of ADA, adapted to the discriminator.

    Every ``interval`` steps, the overfitting heuristic ``r = E[sign(D(x))]``
    over the real images of those steps (as the discriminator saw them,
    augmented) is compared with ``target``: above it, the discriminator is
    too sure of the real images and ``p`` rises by ``interval / ramp_steps``;
    otherwise it falls by as much. ``p`` stays in ``[0, 1]`` and can go from 0
    to 1 in ``ramp_steps`` steps.

    Parameters
    ----------
    target : float, default=0.6
        The value of ``r`` that ``p`` is adjusted towards (ADA's).
    interval : int, default=4
        Steps between adjustments.
    ramp_steps : int, default=200
        Steps for ``p`` to go from 0 to 1 at the least.
    p : float, default=0.0
        Starting probability (a continued training passes the last one).

    Attributes
    ----------
    p : float
        The current probability.
    """

    def __init__(self, target=0.6, interval=4, ramp_steps=200, p=0.0):
        self.target = float(target)
        self.interval = int(interval)
        self.ramp_steps = int(ramp_steps)
        self.p = float(p)
        self._signs = 0.0
        self._count = 0
        self._steps = 0

    def update(self, n_positive, n_images):
        """Record one step: ``n_positive`` of ``n_images`` real logits above 0."""
        self._signs += 2.0 * float(n_positive) - float(n_images)
        self._count += int(n_images)
        self._steps += 1
        if self._steps < self.interval:
            return
        r = self._signs / max(self._count, 1)
        change = self.interval / self.ramp_steps
        if r != self.target:
            change = change if r > self.target else -change
            self.p = min(1.0, max(0.0, self.p + change))
        self._signs, self._count, self._steps = 0.0, 0, 0


def random_affine(x, *, rotation, shift, zoom, generator=None, mode="bilinear"):
    """Rotate, shift and zoom each image of ``x`` by its own random amount.

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, H, W)
        Floating-point images.
    rotation : float
        Largest rotation in degrees; angles are uniform in ``[-rotation,
        rotation]``.
    shift : float
        Largest shift as a fraction of the image's height (vertically) and
        width (horizontally); uniform in ``[-shift, shift]``, independently
        along each axis.
    zoom : tuple of float
        ``(low, high)``: magnification uniform in that range (above 1
        enlarges the content).
    generator : torch.Generator, default=None
        Source of the random draws (on the CPU), for reproducible results.
    mode : {"bilinear", "nearest"}, default="bilinear"
        Interpolation of :func:`torch.nn.functional.grid_sample`.

    Returns
    -------
    torch.Tensor of shape (n, C, H, W)
        The transformed images, resampled; pixels that come from outside the
        image repeat its border, as most augmentation libraries' "nearest"
        fill mode does.
    """
    n, _, h, w = x.shape
    draws = torch.rand(n, 4, generator=generator, dtype=torch.float64)
    angle = (draws[:, 0] * 2 - 1) * math.radians(rotation)
    scale = zoom[0] + draws[:, 1] * (zoom[1] - zoom[0])
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # affine_grid maps output to input positions in coordinates normalised
    # to [-1, 1] along each axis: a rotation in pixels needs the aspect ratio.
    theta = torch.stack(
        [
            torch.stack([cos, -sin * h / w, (draws[:, 2] * 2 - 1) * 2 * shift], 1),
            torch.stack([sin * w / h, cos, (draws[:, 3] * 2 - 1) * 2 * shift], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=False)
