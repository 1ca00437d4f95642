"""Write ``data_path_samples.npz``: what the tests compare the data path against.

Run once, from the repository root, at commit 20a8255 (before batches were
scaled one at a time): ``python tests/data/record_data_path_samples.py``.
``tests/test_data_path.py`` imports :func:`cases` from here, so the fits it
repeats are the fits recorded.
"""

from pathlib import Path

import numpy as np
import torch

from skgan.nn.sampling import generate

TINY = dict(
    noise_dim=8,
    batch_size=16,
    generator_width=4,
    discriminator_width=4,
    feature_extractor=None,
    device="cpu",
    random_state=0,
)


def data(name):
    """The training arrays, drawn from a fixed seed."""
    rng = np.random.default_rng(7)
    if name == "rgb_uint8":  # NHWC colour, 37 images: batches of 18 and 19
        return rng.integers(0, 256, size=(37, 8, 8, 3), dtype=np.uint8)
    if name == "gray_uint8":  # (n, H, W): one channel in channels-last order
        return rng.integers(10, 200, size=(40, 8, 8), dtype=np.uint8)
    if name == "flat_float32_narrow":  # a small span far from zero
        return (900 + 0.02 * rng.random((33, 64))).astype(np.float32)
    if name == "float64_signed":
        return rng.normal(size=(34, 8, 8, 2))
    raise KeyError(name)


def cases():
    """``{name: (array name, params, how)}``; ``how`` is fit, warm or partial."""
    return {
        "rgb_uint8": ("rgb_uint8", dict(steps=3), "fit"),
        "gray_uint8": ("gray_uint8", dict(steps=3), "fit"),
        "gray_uint8_nchw": ("gray_uint8", dict(steps=3, channels_last=False), "fit"),
        "flat_float32": (
            "flat_float32_narrow",
            dict(epochs=2, image_shape=(8, 8), channels_last=False),
            "fit",
        ),
        "float64_warm": ("float64_signed", dict(epochs=1, warm_start=True), "warm"),
        "rgb_partial": ("rgb_uint8", dict(ema_decay=None), "partial"),
        "rgb_conditional": ("rgb_uint8", dict(steps=2, conditional=True), "fit"),
    }


def fit_case(name):
    """Fit the case ``name`` as recorded and return the estimator."""
    from skgan import DCGANEstimator

    array, params, how = cases()[name]
    X = data(array)
    gan = DCGANEstimator(**(TINY | params))
    y = np.arange(len(X)) % 3 if params.get("conditional") else None
    if how == "fit":
        gan.fit(X, y)
    elif how == "warm":  # a second fit on values a little outside the first range
        gan.fit(X)
        gan.fit(X * 1.5)
    else:  # two calls of partial_fit
        gan.partial_fit(X)
        gan.partial_fit(X[::-1])
    return gan, X


def outputs(gan):
    """Raw generator output (float32, NCHW) and ``sample`` in the user's layout."""
    network = gan.generator_ if gan.generator_ema_ is None else gan.generator_ema_
    labels = np.arange(5) % 3 if gan.conditional else None
    raw = next(generate(network, 5, noise_dim=gan.noise_dim, seed=3, labels=labels))
    user = gan.sample(5, random_state=0)
    if gan.conditional:
        user = user[0]
    return raw[1], user


if __name__ == "__main__":
    torch.set_num_threads(1)
    arrays = {}
    for name in cases():
        gan, _ = fit_case(name)
        arrays[f"{name}_raw"], arrays[f"{name}_sample"] = outputs(gan)
    target = Path(__file__).with_name("data_path_samples.npz")
    np.savez_compressed(target, **arrays)
    print(target, target.stat().st_size, "bytes")
