"""One DCGANEstimator setting on brain MRI for a CPU budget, on held-out train.

What
    The tuning runs behind the defaults from 64 pixels on (see the recipe
    page): ``braintumor128.npz`` downsampled by area averaging to ``--size``;
    500 train images (the first of a permutation seeded with 0, as
    ``gan_quality.py --tune`` holds out) are left out of training and are the
    reference. The model trains for ``--budget`` seconds of CPU time
    (:func:`time.process_time`, one torch thread: other processes on the
    machine do not change the number of steps). It prints the steps, the
    Fréchet distance in the 50 whitened principal components of the training
    pixels (``FIDw``; ``real`` is that of 500 training images, the floor),
    and precision and recall (k=5) in that space, and saves 32 samples as a
    PNG.

How to run
    python benchmarks/gan_brain_settings.py '{"batch_size": 16}' b16 --budget 60
    python benchmarks/gan_brain_settings.py \
        '{"generator_width": 8, "discriminator_width": 8}' w8 --size 128

    The first argument is a JSON object of DCGANEstimator parameters (JSON's
    ``null`` is None), the second a name for the output files.
"""

import argparse
import json
import sys
import time
import types
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from sklearn.decomposition import PCA

import skgan.gan._fitting
import skgan.nn.training
from skgan import DCGANEstimator
from skgan.metrics import frechet_distance, precision_recall

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "braintumor128.npz"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", help="JSON object of DCGANEstimator parameters")
    parser.add_argument("name", help="name of the run (output files)")
    parser.add_argument("--budget", type=float, default=60.0, help="CPU seconds")
    parser.add_argument("--size", type=int, default=64, choices=[64, 128])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out", default=".", help="folder for the PNG")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    params = json.loads(args.params)
    with np.load(args.data) as data:
        X, y = data["train_images"], data["train_labels"].ravel()
    f = X.shape[1] // args.size
    X = X.reshape(len(X), args.size, f, args.size, f).astype(np.float64)
    X = np.rint(X.mean(axis=(2, 4))).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(X))
    X_held, X_train, y_train = X[order[:500]], X[order[500:]], y[order[500:]]
    conditional = bool(params.pop("conditional", False))
    est = DCGANEstimator(
        **params,
        epochs=10**9,
        max_time=args.budget,
        conditional=conditional,
        random_state=args.seed,
        device="cpu",
        on_divergence="restore",
    )
    cpu = types.SimpleNamespace(perf_counter=time.process_time)
    start = time.process_time()
    with (
        mock.patch.object(skgan.nn.training, "time", cpu),
        mock.patch.object(skgan.gan._fitting, "time", cpu),
    ):
        est.fit(X_train, y_train if conditional else None)
    seconds = time.process_time() - start
    steps = sum(r["n_steps"] for r in est.history_)
    fake = est.sample(500, random_state=1)
    fake = fake[0] if conditional else fake

    def rows(images):
        return images.reshape(len(images), -1).astype(np.float64) / 255

    pca = PCA(50, whiten=True, random_state=0).fit(rows(X_train))
    real, gen = pca.transform(rows(X_held)), pca.transform(rows(fake))
    fid = frechet_distance(real, gen)
    floor = frechet_distance(real, pca.transform(rows(X_train[:500])))
    precision, recall = precision_recall(real, gen, k=5, feature_extractor=None)
    last = est.history_[-1]
    extra = f" augment_p={last['augment_p']:.2f}" if "augment_p" in last else ""
    print(
        f"{args.name} size={args.size} steps={steps} cpu={seconds:.0f} "
        f"FIDw={fid:.2f} real={floor:.2f} P={precision:.2f} R={recall:.2f} "
        f"d_real_acc={last['d_real_accuracy']:.3f}{extra}",
        flush=True,
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.concatenate(
        [np.concatenate(list(fake[i * 8 : (i + 1) * 8]), 1) for i in range(4)], 0
    )
    plt.imsave(
        Path(args.out) / f"{args.name}_{args.size}.png",
        grid,
        cmap="gray",
        vmin=0,
        vmax=255,
    )


if __name__ == "__main__":
    sys.exit(main())
