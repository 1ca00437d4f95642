"""The torch layer: networks, losses, DiffAugment and the generator average."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from skgan.nn import (
    Discriminator,
    ExponentialMovingAverage,
    Generator,
    auto_depth,
    diff_augment,
    discriminator_loss,
    generator_loss,
    parse_policy,
)


@pytest.mark.parametrize(
    "size, depth",
    [
        ((64, 64), 4),
        ((28, 28), 2),
        ((32, 32), 3),
        ((8, 8), 1),
        ((1, 5), 0),
        ((128, 96), 4),
    ],
)
def test_auto_depth(size, depth):
    assert auto_depth(*size) == depth


@settings(max_examples=25, deadline=None)
@given(
    channels=st.sampled_from([1, 3]),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    first_stage=st.sampled_from(["dense", "transposed"]),
    upsampling=st.sampled_from(["nearest", "transposed"]),
    n_classes=st.sampled_from([0, 3]),
)
def test_networks_fit_any_shape(
    channels, height, width, first_stage, upsampling, n_classes
):
    shape = (channels, height, width)
    depth = auto_depth(height, width)
    generator = Generator(
        6,
        shape,
        width=4,
        depth=depth,
        first_stage=first_stage,
        upsampling=upsampling,
        n_classes=n_classes,
    )
    discriminator = Discriminator(shape, width=4, depth=depth, n_classes=n_classes)
    labels = torch.tensor([0, 2]) if n_classes else None
    images = generator(torch.randn(2, 6), labels)
    assert images.shape == (2, *shape)
    assert images.abs().max() <= 1
    assert discriminator(images, labels).shape == (2,)


def test_projection_discriminator_uses_labels():
    torch.manual_seed(0)
    discriminator = Discriminator((1, 8, 8), width=4, depth=1, n_classes=2).eval()
    images = torch.randn(3, 1, 8, 8)
    a = discriminator(images, torch.tensor([0, 0, 0]))
    b = discriminator(images, torch.tensor([1, 1, 1]))
    assert not torch.allclose(a, b)


def test_losses_match_closed_forms():
    real = torch.tensor([2.0, -1.0])
    fake = torch.tensor([0.5, -3.0])
    softplus = torch.nn.functional.softplus
    expected_bce = softplus(-real).mean() + softplus(fake).mean()
    torch.testing.assert_close(discriminator_loss("bce", real, fake), expected_bce)
    expected_hinge = torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()
    torch.testing.assert_close(discriminator_loss("hinge", real, fake), expected_hinge)
    torch.testing.assert_close(generator_loss("bce", fake), softplus(-fake).mean())
    torch.testing.assert_close(generator_loss("hinge", fake), -fake.mean())
    # Label smoothing: targets 0.9 real, 0.1 fake.
    smoothed = discriminator_loss("bce", real, fake, torch.full((2,), 0.9), 0.1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    torch.testing.assert_close(
        smoothed, bce(real, torch.full((2,), 0.9)) + bce(fake, torch.full((2,), 0.1))
    )


def test_parse_policy():
    assert parse_policy(None) == ()
    assert parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="flip"):
        parse_policy("translation,flip")


def test_translation_shifts_content_without_flipping():
    torch.manual_seed(0)
    image = torch.arange(64.0).view(1, 1, 8, 8).repeat(200, 1, 1, 1)
    shifted = diff_augment(image, ("translation",))
    # Every output is the input moved by at most 1 pixel (ratio 1/8) with zero fill:
    # so each row keeps increasing left to right where non-zero (no flip).
    for out in shifted[:, 0]:
        nonzero = out[out != 0]
        assert torch.all(nonzero.diff()[nonzero.diff() > 0] > 0)
    moves = {tuple(torch.nonzero(out[0] == 27).flatten().tolist()) for out in shifted}
    assert moves <= {(r, c) for r in (2, 3, 4) for c in (2, 3, 4)} and len(moves) > 3


def test_cutout_zeros_a_patch_of_half_the_side():
    torch.manual_seed(0)
    out = diff_augment(torch.ones(100, 1, 8, 8), ("cutout",))
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() >= 4


def test_color_is_identity_free_and_differentiable():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 6, 6, requires_grad=True)
    y = diff_augment(x, ("color",))
    assert not torch.allclose(x, y)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_augmentation_is_reproducible_under_a_seed():
    x = torch.rand(5, 1, 12, 12)
    policy = parse_policy("color,translation,cutout")
    torch.manual_seed(3)
    a = diff_augment(x, policy)
    torch.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), diff_augment(x, policy).numpy())


def test_moving_average_matches_its_formula():
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = ExponentialMovingAverage(model, decay=0.9)
    expected = torch.zeros(1, 2)
    for step in range(1, 30):
        with torch.no_grad():
            model.weight.fill_(float(step))
        ema.update()
        decay = min(0.9, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * step
        torch.testing.assert_close(ema.average.weight, expected)
    assert not ema.average.weight.requires_grad


def test_moving_average_copies_buffers():
    model = nn.BatchNorm1d(3)
    ema = ExponentialMovingAverage(model, decay=0.999)
    model.train()(torch.randn(16, 3) + 5)
    ema.update()
    torch.testing.assert_close(ema.average.running_mean, model.running_mean)


def test_batch_norm_discriminator_is_trained_on_separate_batches():
    """With BN in D, one trainer step equals the DCGAN tutorial's step.

    The tutorial calls D once on the real and once on the generated batch,
    so that each is normalised with its own statistics; a joint call would
    give different gradients.
    """
    from skgan.nn import AdversarialTrainer

    shape, noise_dim, n = (1, 8, 8), 4, 6
    torch.manual_seed(0)
    generator = Generator(noise_dim, shape, width=4, depth=1)
    discriminator = Discriminator(shape, width=4, depth=1, batch_norm=True)
    assert any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules())
    real = torch.rand(n, *shape) * 2 - 1
    copies = [
        (copy.deepcopy(generator), copy.deepcopy(discriminator)) for _ in range(2)
    ]

    def adam(module):
        return torch.optim.SGD(module.parameters(), lr=0.1)

    g, d = copies[0]
    trainer = AdversarialTrainer(g, d, adam(g), adam(d), noise_dim=noise_dim)
    assert trainer.separate_batches
    torch.manual_seed(1)
    trainer.step(real)

    g_ref, d_ref = copies[1]
    opt_g, opt_d = adam(g_ref), adam(d_ref)
    torch.manual_seed(1)
    fake = g_ref(torch.randn(n, noise_dim))
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(d_ref(real), torch.ones(n)) + bce(d_ref(fake.detach()), torch.zeros(n))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    state_after_d_step = copy.deepcopy(d_ref.state_dict())
    opt_g.zero_grad()
    bce(d_ref(fake), torch.ones(n)).backward()
    opt_g.step()
    for mine, theirs in [(d, d_ref), (g, g_ref)]:
        for a, b in zip(mine.state_dict().values(), theirs.state_dict().values()):
            torch.testing.assert_close(a, b)

    # A joint call normalises real and fake together: other weights.
    joint = copy.deepcopy(discriminator)
    opt_joint = adam(joint)
    logits = joint(torch.cat([real, fake.detach()]))
    loss = bce(logits[:n], torch.ones(n)) + bce(logits[n:], torch.zeros(n))
    opt_joint.zero_grad()
    loss.backward()
    opt_joint.step()
    joint_state = torch.cat([t.flatten() for t in joint.state_dict().values()])
    ref_state = torch.cat([t.flatten() for t in state_after_d_step.values()])
    assert not torch.allclose(joint_state.float(), ref_state.float(), atol=1e-6)


@pytest.mark.parametrize("max_steps, expected", [(None, [1, 2, 3]), (2, [1])])
def test_run_epoch_calls_on_step_after_every_step_but_the_last(max_steps, expected):
    from skgan.nn import AdversarialTrainer

    shape, noise_dim = (1, 8, 8), 4
    torch.manual_seed(0)
    g = Generator(noise_dim, shape, width=4, depth=1)
    d = Discriminator(shape, width=4, depth=1)
    trainer = AdversarialTrainer(
        g,
        d,
        torch.optim.Adam(g.parameters()),
        torch.optim.Adam(d.parameters()),
        noise_dim=noise_dim,
    )
    seen = []
    stats = trainer.run_epoch(
        torch.rand(17, *shape) * 2 - 1, 4, max_steps=max_steps, on_step=seen.append
    )
    assert seen == expected and stats["n_steps"] == len(expected) + 1
