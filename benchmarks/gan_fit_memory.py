"""Peak memory of ``DCGANEstimator.fit`` against the size of X, and its steps/s.

``fit`` keeps X as given and scales one batch at a time
(:class:`skgan.nn.data.ScaledImages`). The reference is the path it replaced,
kept here: the whole of X converted to a float32 ``(n, C, H, W)`` tensor
(``ImageLayout.to_model``) before training.

Memory: each case runs ``fit(X)`` (``steps=3``, small batches, one thread) in a
fresh subprocess on random 64x64 RGB images, uint8 memmaps (``.npy`` files
opened with ``mmap_mode="r"``) or arrays in memory, and reports the peak
resident memory during ``fit`` (``VmHWM``, reset before the call through
``/proc/self/clear_refs``) minus the resident memory just before it. Pages of
a memmap that ``fit`` reads count as resident, so the target is the input's
bytes plus a constant: at most input + 300 MB.

Speed: training steps/s (of the training loop, ``train_gan``, wall-clock and
CPU time of its one thread) of the new path and the reference, fitted
alternately in one process on the same in-memory uint8 images; the medians of
the per-round ratios are printed (target: within 5%).

Linux only. Run:
    python benchmarks/gan_fit_memory.py [--sizes 16000 64000] [--only speed]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import skgan.gan._fitting
from skgan import DCGANEstimator

SHAPE = (64, 64, 3)
MB = 1e6
TARGET_EXTRA = 300 * MB  # peak above baseline: at most the input and this


def reference_training_images(est, X, memory_format):
    """What ``fit`` did before: all of X to float32 NCHW, on the device.

    (Already in ``memory_format``, which ``train_gan`` then only checks, so
    that the timed loop does not include this one-off copy.)
    """
    data = torch.from_numpy(est.image_layout_.to_model(X)).to(est.device_)
    return data.contiguous(memory_format=memory_format)


def use_reference_path(reference):
    """Train through the reference conversion (True) or skgan's own (False)."""
    skgan.gan._fitting.training_images = (
        reference_training_images if reference else NEW_PATH
    )


NEW_PATH = skgan.gan._fitting.training_images


def proc_status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak():
    """Set VmHWM to the current resident size (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def random_images(n, dtype, out=None):
    """``n`` random images, drawn a block at a time (no temporary of size n)."""
    rng = np.random.default_rng(0)
    X = np.empty((n, *SHAPE), dtype) if out is None else out
    for start in range(0, n, 1000):
        block = rng.integers(0, 256, (min(1000, n - start), *SHAPE), dtype=np.uint8)
        X[start : start + len(block)] = block / 255.0 if dtype != np.uint8 else block
    return X


def estimator(**params):
    return DCGANEstimator(
        **(
            dict(
                steps=3,
                batch_size=16,
                device="cpu",
                random_state=0,
                feature_extractor=None,
            )
            | params
        )
    )


def child(kind, n, folder, reference):
    """Fit once and print ``{"input": bytes, "peak": bytes}`` as JSON."""
    torch.set_num_threads(1)
    use_reference_path(reference)
    if kind == "memmap":
        X = np.load(Path(folder) / f"uint8_{n}.npy", mmap_mode="r")
    else:
        X = random_images(n, np.dtype(kind))
    gan = estimator()
    baseline = proc_status("VmRSS")
    reset_peak()
    gan.fit(X)
    peak = proc_status("VmHWM") - baseline
    print(json.dumps({"input": X.nbytes, "peak": peak}))


def measure(kind, n, folder, reference):
    command = [sys.executable, __file__, "--child", kind, str(n), folder]
    command += ["--reference"] if reference else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_memmap(folder, n):
    path = Path(folder) / f"uint8_{n}.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, *SHAPE))
    random_images(n, np.uint8, out=X)
    X.flush()
    del X


TIMES = []


def timed_train_gan(*args, **kwargs):
    """``train_gan``, recording its wall-clock and CPU seconds in ``TIMES``."""
    wall, cpu = time.perf_counter(), time.thread_time()
    outcome = TRAIN_GAN(*args, **kwargs)
    TIMES.append((time.perf_counter() - wall, time.thread_time() - cpu))
    return outcome


TRAIN_GAN = skgan.gan._fitting.train_gan


def speed(n, steps, rounds, batch_size):
    """Steps/s of both paths, fitted alternately, and their per-round ratios.

    Only the training loop is timed (``train_gan``), not the conversion before
    it. With one torch thread, CPU seconds (``time.thread_time``) are what a
    step costs even when other processes take the cores; wall-clock seconds
    are what a user waits.
    """
    X = random_images(n, np.uint8)
    skgan.gan._fitting.train_gan = timed_train_gan
    rates = {False: [], True: []}
    for round_ in range(rounds):
        order = (False, True) if round_ % 2 == 0 else (True, False)
        for reference in order:
            use_reference_path(reference)
            estimator(steps=steps, batch_size=batch_size).fit(X)
            wall, cpu = TIMES.pop()
            rates[reference].append((steps / wall, steps / cpu))
    use_reference_path(False)
    skgan.gan._fitting.train_gan = TRAIN_GAN
    new, old = np.array(rates[False]), np.array(rates[True])
    return np.median(new, axis=0), np.median(old, axis=0), new / old


def cpu_name():
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16_000, 64_000])
    parser.add_argument("--in-memory", type=int, default=16_000)
    parser.add_argument(
        "--reference-sizes",
        type=int,
        nargs="*",
        default=[2_000],
        help="memmap sizes also fitted through the reference path "
        "(about 20 bytes per input byte: keep them small)",
    )
    parser.add_argument("--rounds", type=int, default=10, help="speed rounds")
    parser.add_argument("--steps", type=int, default=10, help="steps per speed fit")
    parser.add_argument("--speed-images", type=int, default=2_000)
    parser.add_argument("--speed-batch", type=int, default=32)
    parser.add_argument(
        "--only", choices=["memory", "speed"], help="run one of the two parts"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n, folder = args.child
        child(kind, int(n), folder, args.reference)
        return

    print(
        f"{cpu_name()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    if args.only != "speed":
        memory_table(args)
    if args.only != "memory":
        speed_table(args)


def memory_table(args):
    """Each case in a fresh subprocess; peak RSS above the pre-fit baseline."""
    print(
        "64x64 RGB, fit(steps=3, batch_size=16), one thread; peak RSS above "
        "the pre-fit baseline"
    )
    print(f"{'X':34s} {'input MB':>9s} {'peak MB':>9s} {'target MB':>10s}")
    with tempfile.TemporaryDirectory() as folder:
        cases = [("memmap", n, True) for n in args.reference_sizes]
        cases += [("memmap", n, False) for n in args.reference_sizes + args.sizes]
        cases += [("uint8", args.in_memory, False), ("float32", args.in_memory, False)]
        for kind, n, reference in cases:
            if kind == "memmap" and not (Path(folder) / f"uint8_{n}.npy").exists():
                write_memmap(folder, n)
            result = measure(kind, n, folder, reference)
            label = f"{kind} {n:,}" + (" (reference path)" if reference else "")
            target = (result["input"] + TARGET_EXTRA) / MB
            print(
                f"{label:34s} {result['input'] / MB:9.0f} {result['peak'] / MB:9.0f} "
                f"{target:10.0f}",
                flush=True,
            )


def speed_table(args):
    """Steps/s of both paths, interleaved in this process."""
    torch.set_num_threads(1)
    new, old, ratios = speed(
        args.speed_images, args.steps, args.rounds, args.speed_batch
    )
    print(
        f"\nsteps/s, {args.speed_images:,} uint8 images in memory, batch "
        f"{args.speed_batch}, {args.steps} steps x {args.rounds} rounds, medians"
    )
    for column, clock in enumerate(["wall-clock", "CPU time"]):
        r = ratios[:, column]
        print(
            f"  {clock:10s}: batch-wise {new[column]:.3f}, reference "
            f"{old[column]:.3f}, ratio {np.median(r):.3f} "
            f"(rounds {r.min():.3f}-{r.max():.3f})"
        )


if __name__ == "__main__":
    main()
