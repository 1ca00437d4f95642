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
