"""Common-class images translated into the rare class, as added images.

A research prototype, not part of skgan: does a generator that keeps the
anatomy of the common class's images and changes only what marks their
class give a classifier images of the rare class that it can use? A
refiner (after SimGAN, Shrivastava et al. 2017) is trained on a binary
MedMNIST set: a small residual network ``R`` takes a common-class image and
returns an image that a patch discriminator cannot tell from the rare
class's real images, while an L1 term (``--weight``) keeps ``R(x)`` close
to ``x``. The discriminator sees both through DiffAugment (translation and
cutout), so that it cannot memorise a few dozen rare images. Hinge loss,
Adam (2e-4, betas 0.5 and 0.999), batches of 32 from each class.

Every common-class training image is translated; the candidates that
:class:`~skgan.SyntheticAugmenter`'s class check (fitted on the real
training images) assigns to the rare class with confidence, near the class,
are the pool. Methods, each a :class:`~skgan.SyntheticAugmenter` resample
that balances the rare class with ``"classic"`` transformation of half the
added images, judged by a logistic regression and the small CNN of
``augment_medmnist.py`` on the same seeds:

* ``default``: classic copies only (``synthetic_share=0``);
* ``relabelled``: untranslated common-class images that the class check
  passes as rare, added as rare (a control: part of a gain may come from
  images near the class boundary, whatever the generator does), as many as
  a share of 0.25 wants or as pass;
* ``translated/share=S``: a share ``S`` of the added images are translated
  candidates from the pool (all of it when the pool is smaller), the rest
  classic copies.

``--narrow`` keeps the scarce images from one k-means cluster of their
class, as in ``augment_medmnist.py``, while the judging set keeps the whole
class: the setting where images that keep the common class's variety
should help most.

Example (about five minutes a seed with one thread)::

    OMP_NUM_THREADS=1 python benchmarks/augment_translation.py --levels 20 \\
        --seeds 0,1,2 --judge tune --out translation.jsonl
    python benchmarks/augment_translation.py --table translation.jsonl
"""

import argparse
import json
import time
from collections import defaultdict

import numpy as np
import torch
from torch import nn
from torch.nn.utils import spectral_norm

from skgan.augment._selection import ClassCheck
from skgan.nn.augmentation import diff_augment

try:
    from . import augment_medmnist as medmnist
except ImportError:  # run as a script
    import augment_medmnist as medmnist

POLICY = ("translation", "cutout")


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x):
        return torch.relu(x + self.body(x))


class Refiner(nn.Module):
    """``tanh(atanh(x) + f(x))``: the identity when ``f`` is 0."""

    def __init__(self, channels=1, width=32, blocks=3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            *[ResidualBlock(width) for _ in range(blocks)],
            nn.Conv2d(width, channels, 1),
        )

    def forward(self, x):
        return torch.tanh(torch.atanh(x.clamp(-0.995, 0.995)) + self.net(x))


def patch_discriminator(channels=1, width=32):
    """A realness score for each patch of a 28x28 image (7x7 of them)."""
    return nn.Sequential(
        spectral_norm(nn.Conv2d(channels, width, 4, 2, 1)),
        nn.LeakyReLU(0.2),
        spectral_norm(nn.Conv2d(width, 2 * width, 4, 2, 1)),
        nn.LeakyReLU(0.2),
        spectral_norm(nn.Conv2d(2 * width, 1, 3, padding=1)),
    )


def to_tensor(X):
    """Images in [0, 1], ``(n, H, W)`` or ``(n, H, W, C)``, as NCHW in [-1, 1]."""
    t = torch.from_numpy(np.asarray(X, np.float32)) * 2 - 1
    return t[:, None] if t.ndim == 3 else t.permute(0, 3, 1, 2)


def to_images(t, like):
    a = ((t + 1) / 2).clamp(0, 1).detach().numpy()
    return a[:, 0] if like.ndim == 3 else a.transpose(0, 2, 3, 1)


def train_refiner(X_source, X_target, steps, weight, seed, batch=32, log=print):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    channels = X_source.shape[-1] if X_source.ndim == 4 else 1
    refiner, critic = Refiner(channels), patch_discriminator(channels)
    opt_r = torch.optim.Adam(refiner.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(critic.parameters(), 2e-4, betas=(0.5, 0.999))
    source, target = to_tensor(X_source), to_tensor(X_target)
    for step in range(steps):
        xs = source[torch.randint(len(source), (batch,), generator=generator)]
        xt = target[torch.randint(len(target), (batch,), generator=generator)]
        with torch.no_grad():
            fake = refiner(xs)
        loss_d = (
            torch.relu(1 - critic(diff_augment(xt, POLICY))).mean()
            + torch.relu(1 + critic(diff_augment(fake, POLICY))).mean()
        )
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        refined = refiner(xs)
        change = (refined - xs).abs().mean()
        loss_r = -critic(diff_augment(refined, POLICY)).mean() + weight * change
        opt_r.zero_grad()
        loss_r.backward()
        opt_r.step()
        if step % 500 == 0:
            log(
                f"  step {step} loss D {loss_d.item():.3f} loss R "
                f"{loss_r.item():.3f} mean change {change.item():.3f}"
            )
    return refiner


def resample_with(X, y, share, pool, kept, seed):
    """The augmenter's own resampling of ``X, y`` (classic copies with half of
    the added images transformed), a share ``share`` of the rare class's
    added images drawn from ``pool[kept]`` in place of generated ones."""
    counts = np.bincount(y)
    rare, common = int(np.argmin(counts)), int(np.argmax(counts))
    pick = np.random.RandomState(seed)
    sampler = medmnist.augmenter("ft", {"synthetic_share": share}, seed)
    sampler.sampling_strategy_ = {rare: int(counts[common] - counts[rare])}
    wanted = int(round(share * sampler.sampling_strategy_[rare]))

    def generate(X_, y_, targets, rng, stacklevel=2, progress=None):
        if not wanted:
            sampler.n_synthetic_ = {}
            return X[:0], y[:0]
        rows = pick.choice(kept, min(wanted, len(kept)), replace=False)
        sampler.n_synthetic_ = {rare: len(rows)}
        return pool[rows], np.full(len(rows), rare, dtype=y.dtype)

    sampler._generate = generate
    _, sample_rng = sampler._random_streams()
    X_res, y_res = sampler._resample(X, y, sampler.sampling_strategy_, sample_rng)
    return X_res, y_res, int(sum(sampler.n_synthetic_.values()))


def run_cell(args, level, seed, report):
    X, y, X_judge, y_judge, _ = medmnist.load(
        str(medmnist.DATA / medmnist.DATASETS[args.dataset]),
        level,
        seed,
        args.judge,
        args.narrow,
    )
    counts = np.bincount(y)
    if len(counts) != 2:
        raise SystemExit("the translation prototype handles two classes")
    rare, common = int(np.argmin(counts)), int(np.argmax(counts))
    print(f"level {level} seed {seed}: train {counts.tolist()}", flush=True)
    untranslated = X[y == common]
    start = time.perf_counter()
    refiner = train_refiner(
        untranslated, X[y == rare], args.steps, args.weight, seed, log=print
    )
    with torch.no_grad():
        batches = to_tensor(untranslated).split(512)
        translated = to_images(torch.cat([refiner(b) for b in batches]), X)
    seconds = time.perf_counter() - start
    check = ClassCheck("auto", 0.5).fit(X, y)
    passed = np.flatnonzero(np.logical_and(*check.test(translated, rare)))
    passed_raw = np.flatnonzero(np.logical_and(*check.test(untranslated, rare)))
    change = float(np.abs(translated - untranslated).mean())
    print(
        f"  trained and translated in {seconds:.0f}s; mean change {change:.3f}; "
        f"class check passed {len(passed)} of {len(translated)} translated, "
        f"{len(passed_raw)} untranslated",
        flush=True,
    )
    methods = [
        ("default", 0.0, None, None),
        ("relabelled", 0.25, untranslated, passed_raw),
    ]
    methods += [
        (f"translated/share={share:g}", share, translated, passed)
        for share in args.shares
    ]
    for name, share, pool, kept in methods:
        X_res, y_res, n_generated = resample_with(X, y, share, pool, kept, seed)
        scores = medmnist.evaluate(
            X_res, y_res, X_judge, y_judge, ["logreg", "cnn"], seed, rare
        )
        for clf, (bacc, recall, _) in scores.items():
            report(
                dict(
                    dataset=args.dataset,
                    judge=args.judge + medmnist.NARROW_SUFFIX.get(args.narrow, ""),
                    level=level,
                    seed=seed,
                    method=name,
                    classifier=clf,
                    balanced_accuracy=bacc,
                    minority_recall=recall,
                    n_added_generated=n_generated,
                    steps=args.steps,
                    weight=args.weight,
                    translated_passed=int(len(passed)),
                    untranslated_passed=int(len(passed_raw)),
                    train_seconds=seconds,
                )
            )


def table(rows):
    """Paired differences against ``default``, in points, mean ± std over seeds."""
    groups = defaultdict(dict)
    for row in rows:
        cell = (row["dataset"], row["judge"], row["level"], row["steps"], row["weight"])
        groups[cell][(row["seed"], row["method"], row["classifier"])] = row
    for cell, rows_ in groups.items():
        seeds = sorted({seed for seed, _, _ in rows_})
        methods = list(dict.fromkeys(method for _, method, _ in rows_))
        print(f"{cell}: seeds {seeds}")
        for method in methods:
            parts = []
            for clf in ("logreg", "cnn"):
                values = [
                    100
                    * (
                        rows_[s, method, clf]["balanced_accuracy"]
                        - rows_[s, "default", clf]["balanced_accuracy"]
                    )
                    for s in seeds
                    if (s, method, clf) in rows_
                ]
                spread = np.std(values, ddof=1) if len(values) > 1 else 0.0
                parts.append(f"{np.mean(values):+.1f} ± {spread:.1f}")
            print(f"  {method:24} {' / '.join(parts)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="pneumonia", choices=["pneumonia", "breast"]
    )
    parser.add_argument("--levels", default="20")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--judge", choices=["val", "tune"], default="tune")
    medmnist.add_narrow_option(parser)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--weight", type=float, default=1.0, help="L1 weight")
    parser.add_argument("--shares", default="0.25,0.5")
    parser.add_argument("--out", help="append JSON lines here (outside the repo)")
    parser.add_argument("--table", nargs="+", help="print the table of JSON files")
    args = parser.parse_args()
    if args.table:
        table(
            [json.loads(line) for f in args.table for line in open(f) if line.strip()]
        )
        return
    args.shares = [float(s) for s in args.shares.split(",")]
    torch.set_num_threads(1)
    rows = medmnist.run_cells(
        args,
        run_cell,
        lambda row: (
            f"  {row['method']:24} {row['classifier']:6} bal.acc "
            f"{row['balanced_accuracy']:.4f}"
        ),
    )
    table(rows)


if __name__ == "__main__":
    main()
