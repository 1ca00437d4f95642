"""Training speed of ``DCGANEstimator``'s defaults, and what each option costs.

Times ``DCGANEstimator(steps=N).fit(X)`` on 28x28 grayscale images with the
defaults and with one option changed at a time, interleaved in one process
(each round runs every configuration once), and prints the median steps and
images per second and each configuration's time per step as a ratio to the
defaults' (above 1: dearer). The images are PneumoniaMNIST's train split if
``../shared/data/pneumoniamnist.npz`` is there, random ones otherwise (speed
does not depend on the pixels).

Run:  python benchmarks/gan_options.py [--steps 200] [--repeats 3]
"""

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from skgan import DCGANEstimator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"

#: name -> the parameters that differ from the defaults
CONFIGS = {
    "defaults": {},
    "discriminator_batch_norm=False": {"discriminator_batch_norm": False},
    'augment="translation,cutout"': {"augment": "translation,cutout"},
    "ema_decay=None": {"ema_decay": None},
    "spectral_norm=False": {"spectral_norm": False},
    "channels_last=False": {"channels_last": False},
}


def load_images():
    if DATA.exists():
        with np.load(DATA) as data:
            return data["train_images"], "PneumoniaMNIST train"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (4708, 28, 28), dtype=np.uint8), "random"


def seconds_per_step(params, X, n_steps):
    gan = DCGANEstimator(**params, steps=n_steps, random_state=0, device="cpu")
    start = time.perf_counter()
    gan.fit(X)
    return (time.perf_counter() - start) / n_steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, source = load_images()
    batch = DCGANEstimator().batch_size
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {args.threads} threads; {source} images "
        f"{X.shape}; {args.steps} steps per fit, median of {args.repeats}"
    )
    seconds_per_step(CONFIGS["defaults"], X, 5)  # warm-up
    times = {name: [] for name in CONFIGS}
    for _ in range(args.repeats):
        for name, params in CONFIGS.items():
            times[name].append(seconds_per_step(params, X, args.steps))
    base = statistics.median(times["defaults"])
    header = f"{'configuration':32s} {'steps/s':>8s} {'img/s':>7s}"
    print(f"{header} {'time/step ratio':>16s}")
    for name, values in times.items():
        t = statistics.median(values)
        print(f"{name:32s} {1 / t:8.1f} {batch / t:7.0f} {t / base:16.2f}")


if __name__ == "__main__":
    main()
