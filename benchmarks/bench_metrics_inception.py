"""Inception feature throughput (images/s) through ``extract_features``.

Random weights: the same FLOPs as the FID weights, so no download is needed.
Measures the whole user path (validation, uint8 -> [0, 255] conversion,
grayscale -> RGB, TF1 resize to 299, forward) for 28x28 grayscale images
(PneumoniaMNIST-sized) and 299x299 RGB images.

    python benchmarks/bench_metrics_inception.py [--n 128] [--batch-size 64]
                                                 [--device auto]
"""

import argparse
import time

import numpy as np
import torch

from skgan._device import resolve_device
from skgan.metrics import FIDInceptionV3, extract_features


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    net = FIDInceptionV3().to(device)
    print(f"torch {torch.__version__}, device {device}, "
          f"{torch.get_num_threads()} CPU threads, batch size {args.batch_size}")
    rng = np.random.default_rng(0)
    for name, shape in [("28x28 grayscale", (args.n, 28, 28)),
                        ("299x299 RGB", (args.n, 299, 299, 3))]:
        images = rng.integers(0, 256, size=shape, dtype=np.uint8)
        extract_features(images[: min(8, args.n)], feature_extractor=net,
                         batch_size=8)  # warm-up
        start = time.perf_counter()
        feats = extract_features(images, feature_extractor=net,
                                 batch_size=args.batch_size)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        assert feats.shape == (args.n, 2048)
        print(f"{name:16s}: {args.n} images in {seconds:.1f} s = "
              f"{args.n / seconds:.1f} images/s")


if __name__ == "__main__":
    main()
