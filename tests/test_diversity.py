"""The mode-seeking diversity term of the generator's loss (``diversity_weight``)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from skgan.nn import AdversarialTrainer

from ._tiny import tiny_gan

NOISE_DIM, SHAPE = 4, (1, 4, 4)


class LabelledLinearGenerator(nn.Module):
    """Pixels from the noise through one linear map, plus a per-class offset."""

    def __init__(self, scale):
        super().__init__()
        self.linear = nn.Linear(NOISE_DIM, int(np.prod(SHAPE)), bias=False)
        nn.init.normal_(self.linear.weight, std=scale)
        self.offset = nn.Embedding(3, int(np.prod(SHAPE)))
        self.seen_labels = []

    def forward(self, noise, labels=None):
        out = self.linear(noise)
        if labels is not None:
            self.seen_labels.append(labels.clone())
            out = out + self.offset(labels)
        return out.view(-1, *SHAPE)


class IndifferentDiscriminator(nn.Module):
    """Logits that do not depend on the image: no adversarial gradient for G."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, images, labels=None):
        return self.bias.expand(images.shape[0]) + 0 * images.sum(dim=(1, 2, 3))


def make_trainer(diversity_weight, scale=1e-3, loss="hinge"):
    torch.manual_seed(0)
    generator = LabelledLinearGenerator(scale)
    discriminator = IndifferentDiscriminator()
    return AdversarialTrainer(
        generator,
        discriminator,
        torch.optim.SGD(generator.parameters(), lr=0.05),
        torch.optim.SGD(discriminator.parameters(), lr=0.05),
        noise_dim=NOISE_DIM,
        loss=loss,
        diversity_weight=diversity_weight,
    )


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 9), seed=st.integers(0, 2**16))
def test_diversity_loss_is_the_inverse_distance_ratio_of_the_pairs(n, seed):
    generator = torch.Generator().manual_seed(seed)
    fake = torch.rand(n, *SHAPE, generator=generator)
    noise = torch.randn(n, NOISE_DIM, generator=generator)
    half = n // 2
    first, second = np.arange(half), np.arange(n - half, n)
    image_gap = np.abs(fake.numpy()[first] - fake.numpy()[second]).mean()
    noise_gap = np.abs(noise.numpy()[first] - noise.numpy()[second]).mean()
    expected = 1.0 / (image_gap / noise_gap + 1e-5)
    got = make_trainer(1.0)._diversity_loss(fake, noise)
    np.testing.assert_allclose(got.item(), expected, rtol=1e-5)


@pytest.mark.parametrize("n", [6, 7])
def test_conditional_fakes_come_in_pairs_of_one_class(n):
    trainer = make_trainer(1.0)
    labels = torch.tensor([0, 1, 2, 1, 0, 2, 1])[:n]
    trainer.step(torch.rand(n, *SHAPE) * 2 - 1, labels)
    fake_labels = trainer.generator.seen_labels[0]
    half = n // 2
    assert torch.equal(fake_labels[:half], fake_labels[n - half :])
    assert torch.equal(fake_labels[: n - half], labels[: n - half])


def test_without_the_term_fakes_take_the_real_labels():
    trainer = make_trainer(0.0)
    labels = torch.tensor([0, 1, 2, 1, 0, 2])
    trainer.step(torch.rand(6, *SHAPE) * 2 - 1, labels)
    assert torch.equal(trainer.generator.seen_labels[0], labels)


@pytest.mark.parametrize("loss", ["hinge", "bce"])
def test_the_term_spreads_a_collapsed_generator(loss):
    # The discriminator gives no gradient, so only the diversity term moves G.
    spreads = {}
    for weight in (0.0, 1.0):
        trainer = make_trainer(weight, loss=loss)
        real, labels = torch.rand(16, *SHAPE) * 2 - 1, torch.arange(16) % 3
        for _ in range(30):
            trainer.step(real, labels)
        spreads[weight] = trainer.generator.linear.weight.abs().mean().item()
    untrained = make_trainer(0.0).generator.linear.weight.abs().mean().item()
    assert spreads[0.0] == pytest.approx(untrained)
    assert spreads[1.0] > 20 * spreads[0.0]


def test_reported_generator_loss_is_the_adversarial_term_alone():
    stats = {}
    for weight in (0.0, 5.0):
        trainer = make_trainer(weight)
        stats[weight] = trainer.step(torch.rand(8, *SHAPE) * 2 - 1)
    # The indifferent discriminator's logits are 0 either way: same hinge loss.
    assert stats[0.0][1].item() == stats[5.0][1].item() == 0.0


def _digits_images():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(48, 8, 8), dtype=np.uint8)
    return X, np.arange(48) % 3


def test_estimator_with_diversity_is_reproducible_and_differs():
    X, y = _digits_images()
    params = dict(conditional=True, steps=4, image_shape=None)
    a = tiny_gan(diversity_weight=1.0, **params).fit(X, y)
    b = tiny_gan(diversity_weight=1.0, **params).fit(X, y)
    c = tiny_gan(**params).fit(X, y)
    sa, sb, sc = (m.sample(6, random_state=1)[0] for m in (a, b, c))
    np.testing.assert_array_equal(sa, sb)
    assert not np.array_equal(sa, sc)


@pytest.mark.parametrize("value", [-0.1, float("inf")])
def test_bad_diversity_weight_is_refused_before_training(value):
    X, _ = _digits_images()
    with pytest.raises(ValueError, match="diversity_weight"):
        tiny_gan(diversity_weight=value).fit(X)
