"""How good are the variants of SyntheticAugmenter(mode="variation")?

On PneumoniaMNIST with 20 normal images (the scarce class, as in
``augment_medmnist.py --levels 20``), the augmenter's default VariationGAN
is trained on pairs within both classes, and ``fit_generate`` returns
selected variants of each class's real images (``--n`` per class). Against
the normal training images the subsample left out (never seen by the
generator), in the space of a PCA fitted on the training images
(``--components``):

* Fréchet distance (PCA-FID) of 500 variants of the 20 normal images, of
  500 classic copies of them (:func:`random_affine` then
  :func:`random_intensity` on every copy), and of 500 real left-out normal
  images as the floor (another draw of the same images);
* precision and recall (k=3) of the same sets;
* the memorization audit (:func:`skgan.metrics.memorization`, pixels and
  PCA): share of samples nearer to a training image than 99% of held-out
  real images are, and the data-copying Z-score;
* train on synthetic, test on real: a pixel LogisticRegression(C=0.1)
  trained on the variants alone (both classes, ``--n`` each) and scored on
  val (balanced accuracy), against the same classifier trained on the real
  training images balanced by RandomOverSampler.

Run with one thread, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/variation_quality.py --seeds 0,1,2
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from skgan import SyntheticAugmenter
from skgan.augment import random_affine, random_intensity
from skgan.metrics import frechet_distance, memorization, precision_recall

sys.path.insert(0, str(Path(__file__).resolve().parent))
from augment_medmnist import DATA, flat, load  # noqa: E402


def fid(a, b):
    return frechet_distance(a, b)


def one_seed(seed, n, components):
    X, y, X_val, y_val, left_out = load(str(DATA / "pneumoniamnist.npz"), 20, seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    augmenter = SyntheticAugmenter(mode="variation", random_state=seed)
    X_syn, y_syn = augmenter.fit_generate(X, y, n_per_class=n)
    seconds = time.perf_counter() - start
    normal = X[y == 0]
    variants = X_syn[y_syn == 0][:500]
    copies = normal[rng.integers(len(normal), size=len(variants))]
    copies = random_intensity(
        random_affine(copies, random_state=seed), data_range=(0, 1), random_state=seed
    )
    order = rng.permutation(len(left_out))
    held_out, floor = left_out[order[:500]], left_out[order[500:1000]]
    pca = PCA(components, random_state=0).fit(flat(X))

    def features(images):
        return pca.transform(flat(images))

    ref = features(held_out)
    out = {"seconds": seconds}
    for name, images in (("variants", variants), ("copies", copies), ("real", floor)):
        f = features(images)
        out[f"fid_{name}"] = fid(ref, f)
        out[f"precision_{name}"], out[f"recall_{name}"] = precision_recall(
            ref, f, feature_extractor=None
        )
        for space, (train_f, syn_f, test_f) in (
            ("pixels", (flat(normal), flat(images), flat(held_out))),
            ("pca", (features(normal), f, ref)),
        ):
            audit = memorization(
                train_f,
                syn_f,
                test=test_f,
                percentile=1.0,
                n_cells=4,
                feature_extractor=None,
                random_state=0,
            )
            out[f"copies_{space}_{name}"] = audit.copy_fraction
            out[f"z_{space}_{name}"] = audit.data_copying_z
    tstr = LogisticRegression(C=0.1, max_iter=3000).fit(flat(X_syn), y_syn)
    out["tstr"] = balanced_accuracy_score(y_val, tstr.predict(flat(X_val)))
    X_ros, y_ros = RandomOverSampler(random_state=seed).fit_resample(flat(X), y)
    trtr = LogisticRegression(C=0.1, max_iter=3000).fit(X_ros, y_ros)
    out["trtr"] = balanced_accuracy_score(y_val, trtr.predict(flat(X_val)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--components", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = []
    for seed in map(int, args.seeds.split(",")):
        results.append(one_seed(seed, args.n, args.components))
        print(
            f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in results[-1].items())
        )
    print("mean ± std over seeds:")
    for key in results[0]:
        values = np.array([r[key] for r in results], dtype=float)
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        print(f"  {key:22} {values.mean():8.3f} ± {spread:.3f}")


if __name__ == "__main__":
    main()
