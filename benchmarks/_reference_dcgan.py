"""The DCGAN a user would copy from a tutorial, in plain PyTorch (no skgan).

The reference that ``gan_quality.py`` compares skgan with at equal wall-clock
budgets: a dense 128x7x7 projection and two transposed convolutions in the
generator, two strided convolutions in the discriminator, BCE with logits,
Adam (2e-4, beta1 0.5), batch 64. ``ReferenceDCGAN``'s keyword arguments each
change one thing, for ablations; where they borrow a technique they use
skgan's implementation of it (moving average, DiffAugment).

``TutorialDCGAN`` is the 64x64 DCGAN of the PyTorch tutorial (ngf = ndf = 64,
transposed convolutions from 1x1 noise, batch normalisation in both networks,
BCE, Adam 2e-4 / 0.5, batch 128), for 64 and 128 pixel images (at 128, one
more stage in each network, as the usual 128-pixel adaptations do).

Both take a ``clock`` (default :func:`time.perf_counter`): pass
:func:`time.process_time` to budget CPU time instead of wall-clock time.
"""

import time

import numpy as np
import torch
from torch import nn

from skgan.nn import ExponentialMovingAverage, diff_augment, parse_policy


class ReferenceGenerator(nn.Module):
    """Tutorial DCGAN generator for 28x28: dense 128x7x7, then two 4x4 deconvs."""

    def __init__(self, noise_dim=100):
        super().__init__()
        self.noise_dim = noise_dim
        self.project = nn.Sequential(
            nn.Linear(noise_dim, 128 * 7 * 7, bias=False),
            nn.BatchNorm1d(128 * 7 * 7),
            nn.ReLU(True),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(True),
            nn.ConvTranspose2d(64, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.upsample(self.project(z).view(-1, 128, 7, 7))


class ReferenceDiscriminator(nn.Module):
    """Tutorial DCGAN discriminator for 28x28: two strided convs, one logit."""

    def __init__(self, batch_norm=True):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(64, 128, 4, 2, 1, bias=not batch_norm),
            nn.BatchNorm2d(128) if batch_norm else nn.Identity(),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )

    def forward(self, x):
        return self.net(x).view(-1)


def _dcgan_init(module):
    """DCGAN initialisation: weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def tutorial_steps(
    generator,
    discriminator,
    data,
    *,
    batch_size,
    lr=2e-4,
    policy=None,
    joint_call=False,
):
    """The tutorial's training loop, one step per iteration, without end.

    Adam (``lr``, betas (0.5, 0.999)) on both networks and BCE with logits:
    every epoch a new permutation of ``data`` (``(n, 1, H, W)`` in
    ``[-1, 1]``) in batches of ``batch_size``, the last one dropped; each
    step updates the discriminator (real -> 1, fake -> 0; in one call with
    ``joint_call``), then the generator (non-saturating, fake -> 1), and
    yields the generator loss. The caller stops when its budget is spent.
    ``policy`` is a DiffAugment policy (:func:`skgan.nn.parse_policy`)
    applied to every discriminator input.
    """
    device = data.device

    def judge(images):
        return discriminator(diff_augment(images, policy) if policy else images)

    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    criterion = nn.BCEWithLogitsLoss()
    batch = min(batch_size, len(data))
    ones = torch.ones(batch, device=device)
    zeros = torch.zeros(batch, device=device)
    noise_dim = generator.noise_dim
    generator.train()
    discriminator.train()
    while True:
        order = torch.randperm(len(data), device=device)
        for i in range(0, len(data) - batch + 1, batch):  # drop the last batch
            real = data[order[i : i + batch]]
            fake = generator(torch.randn(batch, noise_dim, device=device))
            if joint_call:
                logits = judge(torch.cat([real, fake.detach()]))
                d_loss = criterion(logits[:batch], ones) + criterion(
                    logits[batch:], zeros
                )
            else:
                d_loss = criterion(judge(real), ones) + criterion(
                    judge(fake.detach()), zeros
                )
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = criterion(judge(fake), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            yield g_loss


def sample_uint8(generator, n_samples, random_state=0):
    """``n_samples`` uint8 images ``(n, H, W)`` from ``generator`` in eval mode,
    with noise seeded by ``random_state``."""
    noise = torch.randn(
        n_samples,
        generator.noise_dim,
        generator=torch.Generator().manual_seed(random_state),
    )
    with torch.inference_mode():
        images = torch.cat([generator.eval()(z) for z in noise.split(256)])
    images = images.numpy()[:, 0]
    return np.rint((images + 1.0) * 127.5).clip(0, 255).astype(np.uint8)


class ReferenceDCGAN:
    """The hand-written tutorial DCGAN, trained until a time budget expires.

    BCE-with-logits loss (non-saturating generator loss), Adam lr 2e-4 and
    betas (0.5, 0.999) for both networks, batch 64, 100-d Gaussian noise,
    pixels scaled to ``[-1, 1]``. ``sample`` runs the generator in eval mode
    (batch-norm running statistics), as skgan does.

    Parameters
    ----------
    max_time : float
        Training seconds; checked after every step.
    seed : int, default=0
        Seeds torch (weights, noise, shuffling) at the start of ``fit``.
    noise_dim, batch_size, lr : default=100, 64, 2e-4
        Tutorial hyperparameters.
    batch_norm : bool, default=True
        Batch normalisation in the discriminator (the tutorial's).
    joint_call : bool, default=False
        Judge real and generated images in one discriminator call (one batch
        of both) instead of the tutorial's two.
    ema_decay : float or None, default=None
        Sample from an exponential moving average of the generator, skgan's
        (:class:`skgan.nn.ExponentialMovingAverage`: its decay is warmed up,
        without which a 0.999 average of a few hundred steps is still mostly
        the initial weights).
    augment : str or None, default=None
        DiffAugment policy applied to every discriminator input
        (:func:`skgan.nn.diff_augment`).
    """

    def __init__(
        self,
        max_time,
        seed=0,
        noise_dim=100,
        batch_size=64,
        lr=2e-4,
        batch_norm=True,
        joint_call=False,
        ema_decay=None,
        augment=None,
        clock=time.perf_counter,
    ):
        self.clock = clock
        self.max_time = max_time
        self.seed = seed
        self.noise_dim = noise_dim
        self.batch_size = batch_size
        self.lr = lr
        self.batch_norm = batch_norm
        self.joint_call = joint_call
        self.ema_decay = ema_decay
        self.augment = augment

    def fit(self, X):
        """Train on uint8 images ``X`` of shape ``(n, 28, 28)``; return self."""
        start = self.clock()
        torch.manual_seed(self.seed)
        data = torch.from_numpy(X.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
        self.generator = ReferenceGenerator(self.noise_dim).apply(_dcgan_init)
        discriminator = ReferenceDiscriminator(self.batch_norm).apply(_dcgan_init)
        average = None
        if self.ema_decay is not None:
            average = ExponentialMovingAverage(self.generator, self.ema_decay)
        steps = tutorial_steps(
            self.generator,
            discriminator,
            data,
            batch_size=self.batch_size,
            lr=self.lr,
            policy=parse_policy(self.augment),
            joint_call=self.joint_call,
        )
        deadline = start + self.max_time
        for self.n_steps, _ in enumerate(steps, start=1):
            if average is not None:
                average.update()
            if self.clock() >= deadline:
                break
        if average is not None:
            self.generator = average.average
        self.generator.eval()
        return self

    def sample(self, n_samples, random_state=0):
        """Draw ``n_samples`` uint8 images ``(n, 28, 28)`` with seeded noise."""
        return sample_uint8(self.generator, n_samples, random_state)


class TutorialGenerator(nn.Module):
    """The PyTorch tutorial's DCGAN generator: 1x1 noise, 4x4 deconvolutions.

    ``ngf * 8`` channels at 4x4, halved at every doubling down to ``ngf`` at
    half the image size, then one transposed convolution to the image.
    ``n_stages`` doublings after the 4x4 map (4 for 64x64, 5 for 128x128).
    """

    def __init__(self, noise_dim=100, ngf=64, n_stages=4):
        super().__init__()
        channels = [ngf * 2 ** min(3, n_stages - 1 - i) for i in range(n_stages)]
        layers = [
            nn.ConvTranspose2d(noise_dim, channels[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(channels[-1], 1, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.noise_dim = noise_dim

    def forward(self, z):
        return self.main(z.view(len(z), self.noise_dim, 1, 1))


class TutorialDiscriminator(nn.Module):
    """The PyTorch tutorial's DCGAN discriminator: 4x4 stride-2 convolutions.

    ``ndf`` channels at half the image size, doubled (up to ``ndf * 8``) at
    every halving, batch normalisation after all but the first, and a 4x4
    convolution to one logit.
    """

    def __init__(self, ndf=64, n_stages=4):
        super().__init__()
        channels = [ndf * 2 ** min(3, i) for i in range(n_stages)]
        layers = [
            nn.Conv2d(1, channels[0], 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(channels[-1], 1, 4, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(-1)


class TutorialDCGAN:
    """The PyTorch tutorial's 64x64 DCGAN, trained until a time budget expires.

    Real and generated images reach the discriminator in separate batches,
    BCE with logits (the tutorial's sigmoid + BCELoss, fused), Adam 2e-4 and
    betas (0.5, 0.999), batch 128, 100-d noise, pixels in ``[-1, 1]``;
    samples come from the generator in eval mode.

    Parameters
    ----------
    max_time : float
        Training seconds of ``clock``; checked after every step.
    seed : int, default=0
        Seeds torch at the start of ``fit``.
    clock : callable, default=time.perf_counter
    batch_size, ngf, ndf : int, default=128, 64, 64
    """

    noise_dim = 100

    def __init__(
        self, max_time, seed=0, clock=time.perf_counter, batch_size=128, ngf=64, ndf=64
    ):
        self.max_time = max_time
        self.seed = seed
        self.clock = clock
        self.batch_size = batch_size
        self.ngf = ngf
        self.ndf = ndf

    def fit(self, X):
        """Train on uint8 images ``X`` of shape ``(n, 64, 64)`` or ``(n, 128, 128)``."""
        start = self.clock()
        side = X.shape[-1]
        n_stages = {64: 4, 128: 5}[side]
        torch.manual_seed(self.seed)
        data = torch.from_numpy(X.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
        self.generator = TutorialGenerator(self.noise_dim, self.ngf, n_stages)
        self.generator.apply(_dcgan_init)
        discriminator = TutorialDiscriminator(self.ndf, n_stages).apply(_dcgan_init)
        steps = tutorial_steps(
            self.generator, discriminator, data, batch_size=self.batch_size
        )
        deadline = start + self.max_time
        for self.n_steps, _ in enumerate(steps, start=1):
            if self.clock() >= deadline:
                break
        self.generator.eval()
        return self

    def sample(self, n_samples, random_state=0):
        """Draw ``n_samples`` uint8 images with seeded noise."""
        return sample_uint8(self.generator, n_samples, random_state)
