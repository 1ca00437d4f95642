"""Batch-norm statistics of the sampled generator, measured on its own outputs
(``batch_norm_statistics``, :func:`skgan.nn.recompute_batch_norm`)."""

import copy

import numpy as np
import pytest
import torch

from skgan.gan._build import LARGE_IMAGE_SETTINGS, SMALL_IMAGE_SETTINGS
from skgan.gan._fitting import SAMPLES_FOR_BATCH_NORM
from skgan.nn import Generator, recompute_batch_norm
from tests._tiny import TinyGenerator, tiny_gan


def small_generator(n_classes=0, seed=0):
    torch.manual_seed(seed)
    return Generator(8, (1, 16, 16), width=4, depth=2, n_classes=n_classes)


def norms_of(network):
    return [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def bn_state(network):
    return [
        (m.running_mean.clone(), m.running_var.clone(), int(m.num_batches_tracked))
        for m in norms_of(network)
    ]


def test_statistics_are_the_mean_of_the_batch_statistics_of_the_inputs():
    generator = small_generator()
    seen = {m: [] for m in norms_of(generator)}
    hooks = [
        m.register_forward_pre_hook(lambda m, args: seen[m].append(args[0].clone()))
        for m in seen
    ]
    recompute_batch_norm(generator, noise_dim=8, n_samples=96, batch_size=32)
    for hook in hooks:
        hook.remove()
    for module, inputs in seen.items():
        assert len(inputs) == 3
        batches = [x.double().numpy() for x in inputs]
        # Independent reference: per-channel mean and unbiased variance of each
        # batch's activations, averaged over the batches (torch's cumulative
        # average with momentum=None).
        means = np.mean([b.mean(axis=(0, 2, 3)) for b in batches], axis=0)
        variances = np.mean(
            [
                b.transpose(1, 0, 2, 3).reshape(b.shape[1], -1).var(axis=1, ddof=1)
                for b in batches
            ],
            axis=0,
        )
        np.testing.assert_allclose(module.running_mean.numpy(), means, rtol=1e-5)
        np.testing.assert_allclose(module.running_var.numpy(), variances, rtol=1e-4)
        assert module.momentum == 0.1  # restored


def test_recomputing_restores_the_mode_and_leaves_the_global_random_state():
    generator = small_generator().eval()
    state = torch.get_rng_state()
    recompute_batch_norm(generator, noise_dim=8, n_samples=64)
    assert not generator.training
    assert torch.equal(torch.get_rng_state(), state)
    generator.train()
    recompute_batch_norm(generator, noise_dim=8, n_samples=64)
    assert generator.training


def test_the_statistics_depend_on_the_weights_and_seed_only():
    first, second = small_generator(), small_generator()
    with torch.no_grad():  # make the running statistics differ beforehand
        second(torch.randn(50, 8) * 3)
    recompute_batch_norm(first, noise_dim=8, n_samples=64)
    recompute_batch_norm(second.train(), noise_dim=8, n_samples=64)
    for (mean_a, var_a, _), (mean_b, var_b, _) in zip(
        bn_state(first), bn_state(second)
    ):
        assert torch.equal(mean_a, mean_b) and torch.equal(var_a, var_b)
    other_seed = small_generator()
    recompute_batch_norm(other_seed, noise_dim=8, n_samples=64, seed=1)
    assert not torch.equal(bn_state(other_seed)[0][0], bn_state(first)[0][0])


def test_labels_are_drawn_from_the_class_prior():
    generator = small_generator(n_classes=3)
    drawn = []
    generator.register_forward_pre_hook(lambda m, args: drawn.append(args[1]))
    recompute_batch_norm(
        generator, noise_dim=8, class_prior=[0.0, 1.0, 0.0], n_samples=40
    )
    assert torch.cat(drawn).tolist() == [1] * 40
    drawn.clear()
    recompute_batch_norm(
        generator, noise_dim=8, class_prior=[0.5, 0.0, 0.5], n_samples=400
    )
    labels = torch.cat(drawn)
    assert set(labels.tolist()) == {0, 2}
    assert 150 < int((labels == 0).sum()) < 250


def test_a_failed_pass_leaves_the_statistics_as_they_were():
    generator = small_generator()
    with torch.no_grad():
        generator(torch.randn(50, 8) * 3)
    before = bn_state(generator)
    calls = []

    def fail_on_the_third_batch(module, args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    generator.register_forward_pre_hook(fail_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        recompute_batch_norm(generator, noise_dim=8, n_samples=256, batch_size=32)
    after = bn_state(generator)
    for (mean_a, var_a, n_a), (mean_b, var_b, n_b) in zip(before, after):
        assert torch.equal(mean_a, mean_b) and torch.equal(var_a, var_b)
        assert n_a == n_b
    assert all(m.momentum == 0.1 for m in norms_of(generator))


def test_a_network_without_batch_norm_is_left_as_it_is():
    network = TinyGenerator(8, (1, 4, 4))
    before = copy.deepcopy(network.state_dict())
    recompute_batch_norm(network, noise_dim=8)
    after = network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_recomputed_statistics_describe_the_sampled_networks_outputs():
    # In eval mode, a recomputed network normalises a large batch of fresh
    # noise close to how training mode normalises that batch by its own
    # statistics; with the copied running statistics it need not.
    generator = small_generator()
    torch.manual_seed(3)
    with torch.no_grad():
        for parameter in generator.parameters():  # as if the weights had moved
            parameter.add_(0.3 * torch.randn_like(parameter))
        noise = torch.randn(4096, 8)
        own = generator.train()(noise)
        stale = generator.eval()(noise)
        recompute_batch_norm(generator, noise_dim=8, n_samples=2048, seed=5)
        fresh = generator.eval()(noise)
    stale_gap = (stale - own).abs().mean()
    fresh_gap = (fresh - own).abs().mean()
    assert fresh_gap < 0.2 * stale_gap


# ------------------------------------------------------------- the estimator


def images(n, side, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side), np.uint8)


def same_statistics(a, b):
    return all(
        torch.equal(x[0], y[0]) and torch.equal(x[1], y[1])
        for x, y in zip(bn_state(a), bn_state(b))
    )


def test_auto_recomputes_from_64_pixels_on_only():
    assert SMALL_IMAGE_SETTINGS["batch_norm_statistics"] == "running"
    assert LARGE_IMAGE_SETTINGS["batch_norm_statistics"] == "recomputed"
    large = tiny_gan(steps=3).fit(images(20, 64))
    # The moving average's statistics are otherwise copied from the generator.
    assert not same_statistics(large.generator_ema_, large.generator_)
    small = tiny_gan(steps=3).fit(images(20, 32))
    assert same_statistics(small.generator_ema_, small.generator_)


@pytest.mark.parametrize("conditional", [False, True])
def test_fit_recomputes_the_statistics_of_the_sampled_network(conditional):
    X, y = images(24, 16), np.repeat([0, 1, 2], 8)
    params = dict(steps=4, conditional=conditional)
    running = tiny_gan(**params, batch_norm_statistics="running")
    running.fit(X, y if conditional else None)
    recomputed = tiny_gan(**params, batch_norm_statistics="recomputed")
    recomputed.fit(X, y if conditional else None)
    # Training is unchanged: same weights, same trained generator.
    for a, b in zip(
        running.generator_ema_.parameters(), recomputed.generator_ema_.parameters()
    ):
        assert torch.equal(a, b)
    assert same_statistics(running.generator_, recomputed.generator_)
    expected = copy.deepcopy(running.generator_ema_)
    recompute_batch_norm(
        expected,
        noise_dim=8,
        class_prior=running.class_prior_ if conditional else None,
        n_samples=SAMPLES_FOR_BATCH_NORM,
    )
    assert same_statistics(recomputed.generator_ema_, expected)
    assert not same_statistics(recomputed.generator_ema_, running.generator_ema_)


def test_without_a_moving_average_the_generator_is_recomputed():
    X = images(24, 16)
    est = tiny_gan(steps=3, ema_decay=None, batch_norm_statistics="recomputed")
    est.fit(X)
    expected = tiny_gan(steps=3, ema_decay=None).fit(X).generator_
    assert not same_statistics(est.generator_, expected)
    recompute_batch_norm(expected, noise_dim=8, n_samples=SAMPLES_FOR_BATCH_NORM)
    assert same_statistics(est.generator_, expected)


def test_callbacks_see_recomputed_statistics_at_each_epoch_end():
    seen = []

    def callback(estimator, record):
        seen.append(same_statistics(estimator.generator_ema_, estimator.generator_))

    X = images(24, 16)
    for mode in ("recomputed", "running"):
        tiny_gan(epochs=2, batch_norm_statistics=mode, callbacks=[callback]).fit(X)
    assert seen == [False, False, True, True]


def test_partial_fit_recomputes_after_each_call():
    X = images(24, 16)
    est = tiny_gan(batch_norm_statistics="recomputed")
    for _ in range(2):
        est.partial_fit(X)
        expected = copy.deepcopy(est.generator_ema_)
        recompute_batch_norm(expected, noise_dim=8, n_samples=SAMPLES_FOR_BATCH_NORM)
        assert same_statistics(est.generator_ema_, expected)
