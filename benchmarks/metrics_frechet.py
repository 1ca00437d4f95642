"""Fréchet distance at d = 2048: skgan vs the textbook scipy-sqrtm formula.

Prints both values, their relative difference, both times and the speed ratio,
measured in this run.

    python benchmarks/metrics_frechet.py [--dim 2048] [--n 10000]
                                               [--blas-threads N]

``--blas-threads`` caps the BLAS/LAPACK threads of both methods alike
(threadpoolctl): on a shared, oversubscribed machine multi-threaded LAPACK
slows down erratically, and a cap gives reproducible ratios.
"""

import argparse
import contextlib
import os
import time

import numpy as np
import scipy
import scipy.linalg
from threadpoolctl import threadpool_limits

from skgan.metrics import (
    FeatureStatistics,
    _frechet,
    feature_statistics,
    frechet_distance,
)


def textbook(s1, s2):
    """pytorch-fid's formula: sqrtm of the product, real part of its trace."""
    mu1, c1, mu2, c2 = s1.mean, s1.cov, s2.mean, s2.cov
    covmean = scipy.linalg.sqrtm(c1 @ c2)
    imag = float(np.abs(np.imag(covmean)).max()) if np.iscomplexobj(covmean) else 0.0
    diff = mu1 - mu2
    value = diff @ diff + np.trace(c1) + np.trace(c2) - 2 * np.trace(np.real(covmean))
    return float(value), imag


def make_statistics(n, d, seed):
    """Features with a decaying spectrum, like Inception pool features."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    scales = 1.0 / np.sqrt(1.0 + np.arange(d) / 20.0)
    feats = (rng.standard_normal((n, d)) * scales) @ basis.T + rng.uniform(0, 1, d)
    return feature_statistics(feats.astype(np.float32))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--blas-threads", type=int, default=None)
    args = parser.parse_args()
    limit = (
        threadpool_limits(args.blas_threads, user_api="blas")
        if args.blas_threads
        else contextlib.nullcontext()
    )
    with limit:
        run(args)


def run(args):
    print(
        f"numpy {np.__version__}, scipy {scipy.__version__}; d={args.dim}, "
        f"statistics from n={args.n} samples each; BLAS threads: "
        f"{args.blas_threads or 'default'}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    s1 = make_statistics(args.n, args.dim, 0)
    s2 = make_statistics(args.n, args.dim, 1)
    s2 = FeatureStatistics(s2.mean, s2.cov * 1.3, s2.n_samples)

    times = []
    for _ in range(3):
        start = time.perf_counter()
        ours = frechet_distance(s1, s2)
        times.append(time.perf_counter() - start)
    fast_ratio = _frechet._FAST_PATH_MIN_RATIO
    _frechet._FAST_PATH_MIN_RATIO = np.inf  # force the nuclear-norm path
    start = time.perf_counter()
    robust = frechet_distance(s1, s2)
    t_robust = time.perf_counter() - start
    _frechet._FAST_PATH_MIN_RATIO = fast_ratio
    start = time.perf_counter()
    reference, imag = textbook(s1, s2)
    t_ref = time.perf_counter() - start

    print(f"skgan frechet_distance : {ours:.10f}  ({min(times):.2f} s, best of 3)")
    print(
        f"  (nuclear-norm path   : {robust:.10f}  ({t_robust:.2f} s), used when a "
        "covariance is singular or ill-conditioned)"
    )
    print(
        f"scipy sqrtm formula    : {reference:.10f}  ({t_ref:.2f} s; largest "
        f"discarded imaginary part {imag:.2e})"
    )
    print(f"relative difference    : {abs(ours - reference) / abs(reference):.2e}")
    print(
        f"speed-up               : {t_ref / min(times):.1f}x "
        f"(nuclear-norm path: {t_ref / t_robust:.1f}x)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
