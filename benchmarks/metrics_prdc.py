"""Precision/recall and density/coverage: skgan's blockwise engine vs ``prdc``.

Each measurement runs in a fresh subprocess, which reports its wall time, the
peak of memory allocated during the call (``tracemalloc``: working memory, the
input features excluded) and the peak resident set size during the call (Linux
``VmHWM`` reset just before it: inputs and interpreter included; elsewhere the
process's ``ru_maxrss``).

1. n = 10,000 real and fake 2048-d float32 features: skgan and prdc, same values.
2. n = 50,000 x 2048-d: skgan's precision/recall only; prdc is not run, its
   memory is extrapolated from its three n x n matrices.

    python benchmarks/metrics_prdc.py [--n 10000] [--n-large 50000]
                                            [--skip-large] [--blas-threads N]

``--blas-threads`` caps the BLAS threads of both methods alike (threadpoolctl).
"""

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

DIM = 2048


def features(n, seed):
    """Non-negative 2048-d features near a 16-d manifold (like pool features);
    odd seeds are "fake": the latent is shifted and widened. Built in chunks, so
    that generating them does not set the process's memory peak."""
    W = np.random.default_rng(123).standard_normal((16, DIM), dtype=np.float32) / 4
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, 2048):
        z = rng.standard_normal((min(2048, n - s), 16), dtype=np.float32)
        if seed % 2:
            z = z * np.float32(1.2) + np.float32(0.3)
        chunk = np.abs(z @ W)
        chunk += np.float32(0.3) * rng.standard_normal(chunk.shape, dtype=np.float32)
        out[s : s + len(chunk)] = chunk
    return out


def _reset_peak_rss():
    """Reset the kernel's resident-set high-water mark (Linux); False if not."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(method, n, blas_threads):
    if method == "prdc":
        import prdc
    from threadpoolctl import threadpool_limits

    from skgan.metrics import density_coverage, precision_recall

    real, fake = features(n, 0), features(n, 1)
    limit = (
        threadpool_limits(blas_threads, user_api="blas")
        if blas_threads
        else contextlib.nullcontext()
    )
    reset = _reset_peak_rss()
    tracemalloc.start()  # after the imports and the inputs: working memory only
    start = time.perf_counter()
    with limit:
        if method == "prdc":
            with contextlib.redirect_stdout(io.StringIO()):
                out = prdc.compute_prdc(real, fake, nearest_k=3)
                out5 = prdc.compute_prdc(real, fake, nearest_k=5)
            values = {
                "precision": out["precision"],
                "recall": out["recall"],
                "density": out5["density"],
                "coverage": out5["coverage"],
            }
        else:
            p, r = precision_recall(real, fake, k=3, feature_extractor=None)
            values = {"precision": p, "recall": r}
            if method == "skgan":
                d, c = density_coverage(real, fake, k=5, feature_extractor=None)
                values.update(density=d, coverage=c)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "values": {k: float(v) for k, v in values.items()},
                "seconds": seconds,
                "traced_peak": peak,
                "max_rss": _peak_rss(),
                "rss_reset": reset,
                "load": os.getloadavg()[0],
            }
        )
    )


def run(method, n, blas_threads):
    out = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(n), str(blas_threads or 0)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def gb(x):
    return f"{x / 1e9:.2f} GB"


def report(name, res):
    vals = ", ".join(f"{k}={v:.4f}" for k, v in res["values"].items())
    rss = "peak RSS during the call" if res["rss_reset"] else "process peak RSS"
    print(
        f"  {name:6s} {res['seconds']:7.1f} s   working memory "
        f"{gb(res['traced_peak'])}   {rss} {gb(res['max_rss'])}   {vals}   "
        f"(load average {res['load']:.1f})"
    )


def prdc_model(n):
    # compute_prdc holds an n x n float32 distance matrix (4 n^2 bytes) and, in
    # np.argpartition, an n x n int64 index matrix (8 n^2 bytes): 12 n^2 bytes.
    return 12 * n * n


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--n-large", type=int, default=50000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--blas-threads", type=int, default=None)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    n = args.n
    print(
        f"n = {n:,} real and {n:,} fake {DIM}-d float32 features "
        f"(inputs: {gb(2 * n * DIM * 4)}); P/R with k=3, D/C with k=5"
    )
    ours, theirs = run("skgan", n, args.blas_threads), run("prdc", n, args.blas_threads)
    report("skgan", ours)
    report("prdc", theirs)
    diff = max(abs(ours["values"][k] - theirs["values"][k]) for k in ours["values"])
    print(f"  largest difference between the four values: {diff:.2e}")
    print(
        f"  time ratio prdc / skgan: {theirs['seconds'] / ours['seconds']:.2f}; "
        f"working-memory ratio: {theirs['traced_peak'] / ours['traced_peak']:.1f}"
    )
    print(
        f"  prdc's 12 n^2 model at n={n:,}: {gb(prdc_model(n))} "
        f"(measured {gb(theirs['traced_peak'])})"
    )
    if args.skip_large:
        return
    big = args.n_large
    print(
        f"\nn = {big:,} x {DIM}-d (inputs: {gb(2 * big * DIM * 4)}), "
        "precision/recall only"
    )
    large = run("skgan-pr", big, args.blas_threads)
    report("skgan", large)
    print(f"  prdc would need ~{gb(prdc_model(big))} (12 n^2 bytes; not run)")
    verdict = "under" if large["max_rss"] < 2e9 else "OVER"
    print(f"  skgan's peak RSS (inputs and interpreter included) is {verdict} 2 GB")


if __name__ == "__main__":
    main()
