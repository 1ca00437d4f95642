"""Images/s and memory of ``DCGANEstimator.sample`` on large requests.

``sample`` generates in chunks of ``skgan.nn.sampling.CHUNK_SIZE`` images, so
its working memory must not grow with ``n``: the script fits a model on 64x64 RGB uint8
images (one step: the weights do not matter for speed), then compares the peak
resident memory (polled from ``/proc/self/statm`` during the call) of
``sample(chunk)`` and ``sample(n)`` beyond their output arrays, and prints
images/s. Linux only.

Run:  python benchmarks/gan_sampling.py [--n 100000] [--width 64]
"""

import argparse
import os
import platform
import threading
import time

import numpy as np
import torch

from skgan import DCGANEstimator
from skgan.nn.sampling import CHUNK_SIZE


def rss_bytes():
    """Resident memory of this process now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_during(function):
    """``(result, peak resident bytes while it ran)``, polling every 2 ms."""
    peak, done = [rss_bytes()], threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.002)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        result = function()
    finally:
        done.set()
        thread.join()
    return result, max(peak[0], rss_bytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--width", type=int, default=None, help="generator width")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(64, 64, 64, 3), dtype=np.uint8)
    params = {} if args.width is None else {"generator_width": args.width}
    gan = DCGANEstimator(steps=1, batch_size=8, random_state=0, **params).fit(X)
    print(
        f"machine: {platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} threads; generator_width={gan.generator_width}, "
        f"64x64 RGB uint8, chunks of {CHUNK_SIZE}"
    )

    def working_memory(n):
        before = rss_bytes()
        start = time.perf_counter()
        out, peak = peak_rss_during(lambda: gan.sample(n, random_state=0))
        seconds = time.perf_counter() - start
        return max(0, peak - before - out.nbytes), seconds, out

    gan.sample(CHUNK_SIZE, random_state=1)  # warm-up
    chunk_extra, chunk_s, _ = working_memory(CHUNK_SIZE)
    big_extra, big_s, out = working_memory(args.n)
    print(f"sample({CHUNK_SIZE}): {CHUNK_SIZE / chunk_s:8.1f} img/s")
    print(
        f"sample({args.n}): {args.n / big_s:8.1f} img/s, {big_s:.1f} s, "
        f"output {out.nbytes / 2**20:.0f} MiB"
    )
    print(
        f"peak memory beyond the output: sample({CHUNK_SIZE}) "
        f"{chunk_extra / 2**20:.0f} MiB, sample({args.n}) {big_extra / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
