"""The class check on PneumoniaMNIST, 20 normal images, synthetic_share=0.5
(augment_medmnist.py's ``ft`` settings): the candidates it rejects, how many
of the images added without it would fail it, and the val balanced accuracy
of a pixel LogisticRegression with and without it (same GANs, same random
streams). Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/augment_class_check.py
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import augment_medmnist as B  # noqa: E402

from skgan.augment._selection import ClassCheck  # noqa: E402


def main():
    torch.set_num_threads(1)
    rows = []
    for seed in (0, 1, 2):
        X, y, Xv, yv, _ = B.load(
            str(
                Path(__file__).parents[1]
                / ".."
                / "shared"
                / "data"
                / "pneumoniamnist.npz"
            ),
            20,
            seed,
        )
        t = time.perf_counter()
        aug = B.augmenter("ft", {}, seed)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            X_c, y_c = aug.fit_resample(X, y)
        t_fit = time.perf_counter() - t
        (X_n, y_n), plain = B.resample_reusing(
            aug, "ft", {"class_check": None}, seed, X, y
        )
        # How many of the generated images added without the check fail it.
        check = ClassCheck("auto", 0.5).fit(X, y)
        gen = X_n[len(X) :][: plain.n_synthetic_[0]]
        conf, near = check.test(gen, 0)
        res = {
            "seed": seed,
            "fit_s": round(t_fit, 1),
            "report": {str(k): v for k, v in aug.selection_report_.items()},
            "plain_report": {str(k): v for k, v in plain.selection_report_.items()},
            "plain_generated_failing": int(np.sum(~(conf & near))),
            "plain_generated": int(len(gen)),
            "warnings": [str(x.message)[:160] for x in w],
        }
        for name, (Xr, yr) in {"check": (X_c, y_c), "nocheck": (X_n, y_n)}.items():
            s = B.evaluate(Xr, yr, Xv, yv, ["logreg"], seed)["logreg"]
            res[name] = {"bal_acc": round(s[0], 4), "recall0": round(s[1], 4)}
        print(json.dumps(res), flush=True)
        rows.append(res)
    for name in ("check", "nocheck"):
        v = [r[name]["bal_acc"] for r in rows]
        print(
            name,
            "bal acc mean",
            round(float(np.mean(v)), 4),
            "std",
            round(float(np.std(v)), 4),
        )
    d = [r["check"]["bal_acc"] - r["nocheck"]["bal_acc"] for r in rows]
    print(
        "diff (pts)", [round(100 * x, 1) for x in d], round(100 * float(np.mean(d)), 2)
    )


if __name__ == "__main__":
    main()
