"""Speed options of DCGANEstimator: memory format, mixed precision, compilation."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from tests._tiny import tiny_gan


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


def conv_weights(module):
    return [m.weight for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


def test_channels_last_is_the_same_model_in_another_memory_order(digits):
    fast = tiny_gan(steps=3, channels_last=True).fit(digits)
    plain = tiny_gan(steps=3, channels_last=False).fit(digits)
    assert all(
        w.is_contiguous(memory_format=torch.channels_last)
        for w in conv_weights(fast.generator_)
    )
    assert all(w.is_contiguous() for w in conv_weights(plain.generator_))
    # Same initial weights and draws: only float rounding differs.
    for ours, theirs in zip(
        fast.generator_.state_dict().values(), plain.generator_.state_dict().values()
    ):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        fast.sample(8, random_state=0), plain.sample(8, random_state=0), atol=1e-3
    )
    # Still bit-identical from run to run.
    again = tiny_gan(steps=3, channels_last=True).fit(digits)
    np.testing.assert_array_equal(
        again.sample(8, random_state=0), fast.sample(8, random_state=0)
    )


def test_switching_memory_format_on_warm_start(digits):
    gan = tiny_gan(steps=2, ema_decay=0.9).fit(digits)
    gan.set_params(channels_last=False, warm_start=True).fit(digits)
    for network in (gan.generator_, gan.generator_ema_, gan.discriminator_):
        assert all(w.is_contiguous() for w in conv_weights(network))
    assert np.isfinite(gan.sample(4, random_state=0)).all()


def test_bfloat16_autocast_keeps_float32_weights(digits):
    gan = tiny_gan(steps=3, precision="bfloat16").fit(digits)
    assert all(p.dtype == torch.float32 for p in gan.generator_.parameters())
    assert np.isfinite([r["d_loss"] for r in gan.history_]).all()
    reference = tiny_gan(steps=3).fit(digits)
    # bfloat16 keeps 8 bits of mantissa: close to, not equal to, float32.
    assert not np.array_equal(
        gan.sample(8, random_state=0), reference.sample(8, random_state=0)
    )
    np.testing.assert_allclose(
        gan.sample(8, random_state=0), reference.sample(8, random_state=0), atol=1.0
    )


def test_cudnn_benchmark_is_scoped_to_fit(digits):
    before = torch.backends.cudnn.benchmark
    tiny_gan(steps=1, cudnn_benchmark=True).fit(digits)
    assert torch.backends.cudnn.benchmark == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_speed_options(digits):
    before = torch.backends.cudnn.benchmark
    seen = []
    gan = tiny_gan(
        steps=2,
        device="cuda",
        cudnn_benchmark=True,
        precision="bfloat16" if torch.cuda.is_bf16_supported() else "float32",
        callbacks=[lambda est, rec: seen.append(torch.backends.cudnn.benchmark)],
    ).fit(digits)
    assert seen and all(seen)
    assert torch.backends.cudnn.benchmark == before
    assert np.isfinite(gan.sample(4, random_state=0)).all()


def test_torch_compile_trains_the_plain_modules(digits):
    pytest.importorskip("torch._inductor")
    compiled = tiny_gan(steps=2, torch_compile=True, spectral_norm=False)
    compiled.fit(digits[:32])
    eager = tiny_gan(steps=2, spectral_norm=False).fit(digits[:32])
    assert type(compiled.generator_) is type(eager.generator_)
    for ours, theirs in zip(
        compiled.generator_.state_dict().values(),
        eager.generator_.state_dict().values(),
    ):
        torch.testing.assert_close(ours, theirs, rtol=1e-3, atol=1e-4)


def _trainer(batch_norm, **options):
    """A small trainer on 8x8 images with fresh, seeded networks."""
    from skgan.nn import AdversarialTrainer, Discriminator, Generator

    torch.manual_seed(0)
    generator = Generator(8, (1, 8, 8), width=4, depth=1)
    discriminator = Discriminator((1, 8, 8), width=4, depth=1, batch_norm=batch_norm)
    return AdversarialTrainer(
        generator,
        discriminator,
        torch.optim.Adam(generator.parameters(), lr=1e-3),
        torch.optim.Adam(discriminator.parameters(), lr=1e-3),
        noise_dim=8,
        **options,
    )


def _steps(trainer, n_steps=3):
    images = torch.rand(16, 1, 8, 8) * 2 - 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        for _ in range(n_steps):
            trainer.step(images)
    return [
        p.detach().clone()
        for net in (trainer.generator, trainer.discriminator)
        for p in net.parameters()
    ]


@pytest.mark.parametrize("batch_norm", [False, True])
def test_loss_scaling_scales_every_backward_and_steps_both_optimizers(batch_norm):
    # In float32 a power-of-two scale is undone exactly: the weights are those
    # of unscaled training only if every backward pass is scaled and both
    # optimizers step through the scaler (which unscales their gradients;
    # Adam on gradients left scaled takes other steps through its epsilon).
    plain = _steps(_trainer(batch_norm))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    scaled = _steps(_trainer(batch_norm, grad_scaler=scaler))
    assert all(torch.equal(a, b) for a, b in zip(plain, scaled))
    assert scaler.get_scale() == 2.0**10  # one update per step, no overflow


def test_loss_scaling_skips_the_update_whose_gradients_overflow():
    trainer = _trainer(False, grad_scaler=torch.amp.GradScaler("cpu", init_scale=1.0))
    before = _steps(trainer, n_steps=0)
    # A loss scale of infinity makes every gradient non-finite: both updates
    # are skipped, the scale is lowered, and the losses stay finite.
    trainer.grad_scaler = torch.amp.GradScaler("cpu", init_scale=float("inf"))
    images = torch.rand(16, 1, 8, 8) * 2 - 1
    stats = trainer.step(images)
    assert torch.isfinite(stats).all()
    after = _steps(trainer, n_steps=0)
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_float16_training_in_the_torch_loop_scales_its_losses():
    """float16 autocast through train_gan, on the CPU (the estimator allows it
    on CUDA only): the loop creates the scaler and trains float32 weights."""
    from skgan.nn.fitting import GANModules, train_gan

    trainer = _trainer(True)
    modules = GANModules(
        trainer.generator,
        trainer.discriminator,
        trainer.generator_optimizer,
        trainer.discriminator_optimizer,
    )
    created = []
    real_scaler = torch.amp.GradScaler

    def spy(*args, **kwargs):
        created.append(real_scaler(*args, **kwargs))
        return created[-1]

    images = torch.rand(32, 1, 8, 8) * 2 - 1
    before = [p.detach().clone() for p in modules.generator.parameters()]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.amp, "GradScaler", spy)
        outcome = train_gan(
            modules,
            images,
            rng_state=torch.random.default_generator.get_state(),
            batch_size=16,
            n_epochs=2,
            noise_dim=8,
            loss="hinge",
            autocast_dtype=torch.float16,
        )
    assert outcome.stopped == "done"
    assert len(created) == 1 and created[0].get_scale() > 0
    after = list(modules.generator.parameters())
    assert all(p.dtype == torch.float32 for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(before, after))


def test_float16_is_refused_off_cuda_naming_bfloat16(digits):
    gan = tiny_gan(precision="float16", device="cpu")
    with pytest.raises(ValueError, match="CUDA GPU.*precision='bfloat16'"):
        gan.fit(digits)
    assert not hasattr(gan, "generator_")
    with pytest.raises(ValueError, match="CUDA GPU"):
        tiny_gan(precision="float16", device="cpu").partial_fit(digits)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_model_trained_with_a_gpu_precision_loads_on_the_cpu(digits, tmp_path):
    """A model saved with device='cuda' and a GPU precision loads where there
    is no GPU (its precision is checked when training, not when loading)."""
    from skgan.persistence import load_model

    for precision in ("bfloat16", "float16"):
        gan = tiny_gan(steps=1, precision="bfloat16").fit(digits)
        gan.set_params(precision=precision)
        gan.save(tmp_path / "model.skgan")
        loaded = load_model(tmp_path / "model.skgan", params={"device": "cuda"})
        assert loaded.device == "cuda" and loaded.device_.type == "cpu"
        assert loaded.precision == precision
        np.testing.assert_array_equal(
            loaded.sample(4, random_state=0), gan.sample(4, random_state=0)
        )
