"""SyntheticAugmenter vs imbalanced-learn samplers on scarce PneumoniaMNIST.

The normal class (label 0) is made scarce by keeping 10% of its training
images; a pixel LogisticRegression in an imblearn Pipeline is scored by
balanced accuracy on the val split. Every method sees the same data.

Run:  python benchmarks/augment_pneumonia.py --methods none,ros,smote,conditional
"""

import argparse
import time
from pathlib import Path

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from skgan import DCGANEstimator, SyntheticAugmenter

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"


def load(path, keep_normal=0.10, seed=0):
    data = np.load(path)
    X = data["train_images"].reshape(len(data["train_images"]), -1) / 255.0
    y = data["train_labels"].ravel()
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(y == 0)
    kept = rng.choice(normal, size=int(round(keep_normal * len(normal))), replace=False)
    train = np.sort(np.concatenate([kept, np.flatnonzero(y == 1)]))
    X_val = data["val_images"].reshape(len(data["val_images"]), -1) / 255.0
    return X[train], y[train], X_val, data["val_labels"].ravel()


def samplers(seed):
    def small_data_gan(**params):
        """DiffAugment + EMA + hinge/SN: the recipe for a hundred images."""
        return DCGANEstimator(
            epochs=200,
            loss="hinge",
            generator_width=32,
            discriminator_width=32,
            batch_size=32,
            augment="color,translation,cutout",
            ema_decay=0.999,
            max_time=240.0,
            **params,
        )

    return {
        "none": None,
        "ros": RandomOverSampler(random_state=seed),
        "smote": SMOTE(random_state=seed),
        "conditional": SyntheticAugmenter(mode="conditional", random_state=seed),
        "per_class": SyntheticAugmenter(mode="per_class", random_state=seed),
        "per_class_diffaug": SyntheticAugmenter(
            mode="per_class", estimator=small_data_gan(), random_state=seed
        ),
        "conditional_diffaug": SyntheticAugmenter(
            mode="conditional", estimator=small_data_gan(), random_state=seed
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="none,ros,smote,conditional,per_class")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, y, X_val, y_val = load(args.data)
    print(f"train: {np.bincount(y)} (normal, pneumonia); val: {np.bincount(y_val)}")
    options = samplers(args.seed)
    print(f"{'method':18s} {'balanced acc':>12s} {'fit s':>8s}")
    for name in args.methods.split(","):
        sampler = options[name]
        steps = [LogisticRegression(max_iter=3000, C=0.1)]
        pipe = make_pipeline(*([sampler] if sampler is not None else []), *steps)
        start = time.perf_counter()
        pipe.fit(X, y)
        seconds = time.perf_counter() - start
        score = balanced_accuracy_score(y_val, pipe.predict(X_val))
        print(f"{name:18s} {score:12.4f} {seconds:8.1f}", flush=True)


if __name__ == "__main__":
    main()
