"""An image-conditional GAN that learns how images of one class vary (DAGAN).

After Antoniou, Storkey & Edwards (2017), "Data augmentation generative
adversarial networks". The generator takes a real image and noise and returns
a variant of the image; the discriminator judges *pairs* of images: two real
images of the same class against a real image and a variant of it. Trained on
pairs drawn within every class, the generator learns the variation the
classes share (position, exposure, body shape), and can then be applied to
the few images of a rare class.

Knows nothing of scikit-learn: :class:`skgan.gan.VariationGAN` turns arrays
into the tensors used here.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn
from torch.nn import functional as F

from .ema import ExponentialMovingAverage
from .losses import fake_loss, generator_loss, real_loss
from .networks import Discriminator
from .training import DivergenceError, isolated_rng

__all__ = [
    "PairDiscriminator",
    "PairSampler",
    "VariationGenerator",
    "VariationTrainer",
    "generate_variants",
    "pair_scores",
    "train_variation",
]

#: Source images turned into variants per forward pass when sampling.
CHUNK_SIZE = 256


def _channels(width, level):
    return min(width * 2**level, max(512, width))


class VariationGenerator(nn.Module):
    """A real image and noise → a variant of the image, in ``[-1, 1]``.

    An encoder (a 3x3 convolution, then ``depth`` stride-2 4x4 convolutions
    that double the channels) maps the image to a small feature map; the
    decoder climbs back up, one nearest-neighbour upsampling and 3x3
    convolution per stage, joining at each stage the encoder's features of
    that resolution (skip connections, all but the full-resolution one, so
    that the image cannot simply be copied through) and a map of noise
    projected from the latent vector. A 3x3 convolution + tanh gives the
    image.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of the images.
    noise_dim : int, default=32
        Length of the latent vector.
    width : int, default=16
        Channels of the full-resolution stage; each stage below doubles them
        (capped at 512).
    depth : int, default=2
        Stride-2 stages of the encoder (upsampling stages of the decoder).
    batch_norm : bool, default=True
        Batch normalisation after every hidden convolution.
    noise_channels : int, default=None
        Channels of the noise map joined at each decoder stage; None uses
        ``width``.
    """

    def __init__(
        self,
        image_shape,
        *,
        noise_dim=32,
        width=16,
        depth=2,
        batch_norm=True,
        noise_channels=None,
    ):
        super().__init__()
        channels, height, width_px = image_shape
        self.image_shape = tuple(image_shape)
        self.noise_dim = noise_dim
        self.depth = depth
        k = width if noise_channels is None else noise_channels
        self.noise_channels = k

        def norm(c):
            return nn.BatchNorm2d(c) if batch_norm else nn.Identity()

        sizes = [(height, width_px)]
        for _ in range(depth):
            h, w = sizes[-1]
            sizes.append((h // 2, w // 2))
        self.sizes = sizes
        self.stem = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1, bias=not batch_norm),
            norm(width),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.down = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(
                    _channels(width, level),
                    _channels(width, level + 1),
                    4,
                    2,
                    1,
                    bias=not batch_norm,
                ),
                norm(_channels(width, level + 1)),
                nn.LeakyReLU(0.2, inplace=True),
            )
            for level in range(depth)
        )
        # One noise map per decoder stage, from the bottleneck (level depth)
        # up to level 1; level 0 (full resolution) gets none.
        self.noise_maps = nn.ModuleList(
            nn.Linear(noise_dim, k * sizes[level][0] * sizes[level][1])
            for level in range(depth, 0, -1)
        )
        self.up = nn.ModuleList()
        for level in range(depth, 0, -1):
            c_in = _channels(width, level) + k
            if level < depth:
                c_in += _channels(width, level)  # the skip connection
            c_out = _channels(width, level - 1)
            self.up.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm),
                    norm(c_out),
                    nn.ReLU(inplace=True),
                )
            )
        # Depth 0: the noise joins the full-resolution features directly.
        self.flat_noise = (
            nn.Linear(noise_dim, k * height * width_px) if depth == 0 else None
        )
        final_in = width + (k if depth == 0 else 0)
        self.to_image = nn.Sequential(
            nn.Conv2d(final_in, channels, 3, padding=1), nn.Tanh()
        )

    def forward(self, images, noise):
        n = images.shape[0]
        features = [self.stem(images)]
        for block in self.down:
            features.append(block(features[-1]))
        x = features[-1]
        for stage, (level, block) in enumerate(zip(range(self.depth, 0, -1), self.up)):
            h, w = self.sizes[level]
            noise_map = self.noise_maps[stage](noise).view(n, -1, h, w)
            parts = [x, noise_map]
            if level < self.depth:
                parts.insert(1, features[level])
            x = block(torch.cat(parts, dim=1))
            x = F.interpolate(x, size=self.sizes[level - 1], mode="nearest")
        if self.flat_noise is not None:
            h, w = self.sizes[0]
            x = torch.cat([x, self.flat_noise(noise).view(n, -1, h, w)], dim=1)
        return self.to_image(x)


class PairDiscriminator(nn.Module):
    """Two images of the same size → one logit: are both real images of one class?

    The pair is stacked along the channels and judged by a
    :class:`~skgan.nn.Discriminator` of twice the channels.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one image.
    width, depth, spectral_norm, batch_norm, dropout
        As :class:`~skgan.nn.Discriminator`.
    """

    def __init__(
        self,
        image_shape,
        *,
        width=16,
        depth=2,
        spectral_norm=True,
        batch_norm=True,
        dropout=0.0,
    ):
        super().__init__()
        channels, height, width_px = image_shape
        self.image_shape = tuple(image_shape)
        self.net = Discriminator(
            (2 * channels, height, width_px),
            width=width,
            depth=depth,
            spectral_norm=spectral_norm,
            batch_norm=batch_norm,
            dropout=dropout,
        )

    def forward(self, source, other):
        return self.net(torch.cat([source, other], dim=1))


class PairSampler:
    """Draws a random other image of the same class for each anchor image.

    Parameters
    ----------
    labels : torch.Tensor of shape (n,)
        Class index of every image (any integers).
    balanced : bool, default=False
        Draw the anchors of an epoch class by class, every class equally
        often (with replacement), instead of each anchor once.

    Attributes
    ----------
    anchors : torch.Tensor
        Rows whose class has at least two images: those that take part in
        training.
    """

    def __init__(self, labels, *, balanced=False):
        labels = torch.as_tensor(labels).cpu()
        self.balanced = balanced
        order = torch.argsort(labels, stable=True)
        sorted_labels = labels[order]
        _, counts = torch.unique_consecutive(sorted_labels, return_counts=True)
        starts = torch.cumsum(counts, 0) - counts
        size_of = torch.repeat_interleave(counts, counts)
        start_of = torch.repeat_interleave(starts, counts)
        keep = size_of >= 2
        self._order = order
        self._size = size_of
        self._start = start_of
        # Position in the sorted order of every row.
        self._position = torch.empty_like(order)
        self._position[order] = torch.arange(len(order))
        self.anchors = torch.sort(order[keep]).values
        self._weights = 1.0 / self._size[self._position[self.anchors]].double()

    def epoch_order(self):
        """The anchors of one epoch, in the order they are used (draws from
        torch's global random stream)."""
        n = len(self.anchors)
        if self.balanced:
            return self.anchors[torch.multinomial(self._weights, n, replacement=True)]
        return self.anchors[torch.randperm(n)]

    def partners(self, rows):
        """A uniformly drawn other row of the same class for each of ``rows``
        (draws from torch's global random stream)."""
        position = self._position[rows]
        size, start = self._size[position], self._start[position]
        offset = (torch.rand(len(rows)) * (size - 1)).long() + 1
        offset = torch.minimum(offset, size - 1)
        return self._order[start + (position - start + offset) % size]


class VariationTrainer:
    """Alternating updates of a pair discriminator and a variation generator.

    Parameters
    ----------
    generator : VariationGenerator
    discriminator : PairDiscriminator
    generator_optimizer, discriminator_optimizer : torch.optim.Optimizer
    noise_dim : int
    loss : {"bce", "hinge"}, default="hinge"
    ema : ExponentialMovingAverage, default=None
        Updated after every generator step.
    """

    def __init__(
        self,
        generator,
        discriminator,
        generator_optimizer,
        discriminator_optimizer,
        *,
        noise_dim,
        loss="hinge",
        ema=None,
    ):
        self.generator = generator
        self.discriminator = discriminator
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.noise_dim = noise_dim
        self.loss = loss
        self.ema = ema
        self.separate_batches = any(
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            for m in discriminator.modules()
        )

    def step(self, source, other):
        """One update of D, then of G, on anchors ``source`` and same-class
        partners ``other``; returns ``[d_loss, g_loss, d_real_correct,
        d_fake_correct]`` as a tensor."""
        n = source.shape[0]
        noise = torch.randn(n, self.noise_dim, device=source.device)
        fake = self.generator(source, noise)
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        if self.separate_batches:
            real_logits = self.discriminator(source, other).float()
            real_term = real_loss(self.loss, real_logits)
            real_term.backward()
            fake_logits = self.discriminator(source, fake.detach()).float()
            fake_term = fake_loss(self.loss, fake_logits)
            fake_term.backward()
            d_loss = real_term.detach() + fake_term.detach()
        else:
            logits = self.discriminator(
                torch.cat([source, source]), torch.cat([other, fake.detach()])
            ).float()
            real_logits, fake_logits = logits[:n], logits[n:]
            d_loss = real_loss(self.loss, real_logits) + fake_loss(
                self.loss, fake_logits
            )
            d_loss.backward()
            d_loss = d_loss.detach()
        self.discriminator_optimizer.step()
        g_logits = self.discriminator(source, fake).float()
        g_loss = generator_loss(self.loss, g_logits)
        self.generator_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        self.generator_optimizer.step()
        if self.ema is not None:
            self.ema.update()
        with torch.no_grad():
            return torch.stack(
                [
                    d_loss,
                    g_loss.detach(),
                    (real_logits > 0).sum(),
                    (fake_logits < 0).sum(),
                ]
            ).float()

    def run_epoch(self, data, pairs, batch_size, *, max_steps=None, deadline=None):
        """One pass over the anchors of ``pairs`` in shuffled batches.

        ``data`` is indexed by a tensor of rows (a tensor of images or a
        :class:`~skgan.nn.data.ScaledImages`). Batches hold between
        ``batch_size`` and ``2 * batch_size - 1`` anchors. Returns the
        epoch's statistics as :meth:`skgan.nn.AdversarialTrainer.run_epoch`
        does.
        """
        self.generator.train()
        self.discriminator.train()
        order = pairs.epoch_order()
        n = len(order)
        totals = torch.zeros(4)
        n_steps = n_seen = 0
        completed, out_of_time = True, False
        for rows in torch.tensor_split(order, max(1, n // batch_size)):
            others = pairs.partners(rows)
            stats = self.step(data[rows], data[others]).cpu()
            if not bool(torch.isfinite(stats[:2]).all()):
                raise DivergenceError(
                    f"training diverged at step {n_steps + 1} of this epoch: "
                    f"discriminator loss {stats[0].item()}, generator loss "
                    f"{stats[1].item()}. Lower the learning rates or enable "
                    "spectral_norm."
                )
            totals += stats
            n_steps += 1
            n_seen += len(rows)
            out_of_time = deadline is not None and time.perf_counter() >= deadline
            if out_of_time or n_steps == max_steps:
                completed = n_seen == n
                break
        d_loss, g_loss, real_ok, fake_ok = totals.tolist()
        return {
            "d_loss": d_loss / n_steps,
            "g_loss": g_loss / n_steps,
            "d_real_accuracy": real_ok / n_seen,
            "d_fake_accuracy": fake_ok / n_seen,
            "n_steps": n_steps,
            "n_images": n_seen,
            "completed": completed,
            "out_of_time": out_of_time,
        }


def train_variation(
    modules,
    data,
    pairs,
    *,
    rng_state,
    ema_updates=0,
    ema_decay=None,
    batch_size,
    n_epochs=1,
    max_steps=None,
    deadline=None,
    noise_dim,
    loss="hinge",
    on_epoch_end=None,
):
    """Train a variation GAN for ``n_epochs`` epochs or exactly ``max_steps`` steps.

    Parameters
    ----------
    modules : skgan.nn.fitting.GANModules
        A :class:`VariationGenerator`, a :class:`PairDiscriminator`, their
        optimizers and the generator's moving average (created or dropped
        according to ``ema_decay``); trained in place.
    data : torch.Tensor or ScaledImages
        The images in ``[-1, 1]``, indexed by rows.
    pairs : PairSampler
        Who may be paired with whom.
    rng_state : torch.Tensor
        CPU random state that shuffling, partners and noise draw from; the
        caller's global random state is left untouched.
    ema_updates : int, default=0
        Updates already folded into the moving average.
    ema_decay : float or None, default=None
    batch_size : int
    n_epochs : int, default=1
    max_steps : int, default=None
        Run exactly this many steps instead (the last epoch may be partial).
    deadline : float, default=None
        Stop after the first step that ends past this ``time.perf_counter()``.
    noise_dim : int
    loss : {"bce", "hinge"}, default="hinge"
    on_epoch_end : callable, default=None
        Called as ``on_epoch_end(stats, seconds, rng_state, ema_updates)``.

    Returns
    -------
    rng_state : torch.Tensor
        The random state to continue from.
    ema_updates : int
    stopped : {"done", "out_of_time"}

    Raises
    ------
    DivergenceError
        When a loss becomes NaN or infinite; the modules are restored to
        their state before the call.
    """
    if ema_decay is None:
        modules.generator_ema = None
        ema = None
    else:
        if modules.generator_ema is None:
            modules.generator_ema = copy.deepcopy(modules.generator)
            ema_updates = 0
        ema = ExponentialMovingAverage(
            modules.generator,
            ema_decay,
            average=modules.generator_ema,
            n_updates=ema_updates,
        )
    trainer = VariationTrainer(
        modules.generator,
        modules.discriminator,
        modules.generator_optimizer,
        modules.discriminator_optimizer,
        noise_dim=noise_dim,
        loss=loss,
        ema=ema,
    )
    device = next(modules.generator.parameters()).device
    saved = copy.deepcopy(modules.state_dict())
    steps_left = max_steps
    stopped = "done"
    epoch = 0
    try:
        while (steps_left is not None and steps_left > 0) or (
            steps_left is None and epoch < n_epochs
        ):
            start = time.perf_counter()
            with isolated_rng(rng_state, device) as current:
                stats = trainer.run_epoch(
                    data,
                    pairs,
                    batch_size,
                    max_steps=steps_left,
                    deadline=deadline,
                )
                rng_state = current()
            epoch += 1
            ema_updates = 0 if ema is None else ema.n_updates
            if on_epoch_end is not None:
                on_epoch_end(stats, time.perf_counter() - start, rng_state, ema_updates)
            if steps_left is not None:
                steps_left -= stats["n_steps"]
            if stats["out_of_time"]:
                stopped = "out_of_time"
                break
    except DivergenceError:
        modules.load_state_dict(saved)
        raise
    finally:
        modules.generator.eval()
        modules.discriminator.eval()
    return rng_state, ema_updates, stopped


def generate_variants(network, sources, *, noise_dim, seed, device="cpu"):
    """Yield ``(start, variants)`` for source images ``sources``.

    ``sources`` is a float32 NumPy array ``(n, C, H, W)`` in ``[-1, 1]``;
    ``variants`` are float32 NumPy arrays of the same shape, one per source,
    in chunks of :data:`CHUNK_SIZE`. The noise is drawn a whole chunk at a
    time from a generator seeded with ``seed``, so the variant of a source
    depends only on its position and the seed: the first 5 variants of 500
    sources are those of the first 5 alone (up to float rounding, which may
    differ with the batch size). The network runs in eval mode
    under ``torch.inference_mode`` and is put back in its mode afterwards.
    """
    noise_generator = torch.Generator().manual_seed(seed)
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(sources), CHUNK_SIZE):
                batch = torch.from_numpy(sources[start : start + CHUNK_SIZE])
                noise = torch.randn(CHUNK_SIZE, noise_dim, generator=noise_generator)
                noise = noise[: len(batch)].to(device)
                yield start, network(batch.to(device), noise).float().cpu().numpy()
    finally:
        network.train(was_training)


def pair_scores(discriminator, sources, variants, device="cpu"):
    """The pair discriminator's logit for each (source, variant) pair, in
    eval mode (NumPy float32 ``(n, C, H, W)`` arrays in; a NumPy array out)."""
    was_training = discriminator.training
    discriminator.eval()
    out = []
    try:
        with torch.inference_mode():
            for start in range(0, len(sources), CHUNK_SIZE):
                a = torch.from_numpy(sources[start : start + CHUNK_SIZE]).to(device)
                b = torch.from_numpy(variants[start : start + CHUNK_SIZE]).to(device)
                out.append(discriminator(a, b).float().cpu())
    finally:
        discriminator.train(was_training)
    return torch.cat(out).numpy() if out else torch.zeros(0).numpy()
