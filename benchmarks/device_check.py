"""Every device path of skgan in one run: one row per path, pass, fail or n/a.

The paths: fit, partial_fit, sample, score, conditional models, the moving
average; the float32, bfloat16 and float16 precisions, channels-last,
torch.compile; the training set on the device and through pinned memory
(each forced); SyntheticAugmenter with generated images; FID, KID,
precision/recall, the memorization audit and the Inception features on the
device against the CPU; a model saved on the device, loaded and sampled on
the CPU; ``torchrun --nproc_per_node=1`` (NCCL on CUDA, gloo on the CPU);
peak device memory; images/s against the hand-written loop of
``_reference_dcgan.py`` on the same device, and against the CPU. A path that
does not exist on the device is marked n/a with the reason. The checks live
in ``_device_paths.py``; ``tests/test_device_paths.py`` runs them under
``pytest -m cuda``. Exits 1 when any row fails.

Run:  python benchmarks/device_check.py --device cuda [--out table.md]
      python benchmarks/device_check.py --device cpu --threads 2   # CI
"""

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _device_paths as paths  # noqa: E402


def markdown(header, rows, summary):
    lines = [f"- {line}" for line in header] + [""]
    lines += ["| path | result | figure | s | detail |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row.name, row.status, row.figure, f"{row.seconds:.1f}", row.detail]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines + ["", summary, ""])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "mps", "cpu"], required=True)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="length of each images/s measurement (default: 3 on a GPU, 1 on a CPU)",
    )
    parser.add_argument("--only", nargs="*", help="run the paths whose name has these")
    parser.add_argument("--out", help="also write the table: .json, else Markdown")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine")
    if args.device == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        parser.error("--device mps: MPS is not available on this machine")
    seconds = args.seconds or (1.0 if args.device == "cpu" else 3.0)
    checks = [
        c
        for c in paths.CHECKS
        if not args.only or any(word in c.name for word in args.only)
    ]
    header = [
        f"device: {paths.device_description(args.device)}",
        paths.versions(),
        f"started {time.strftime('%Y-%m-%d %H:%M:%S')}",
    ]
    for line in header:
        print(line)
    width = max(len(c.name) for c in checks)
    print(f"{'path':{width}s}  result  {'s':>6s}  figure  [detail]")
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="skgan-device-check-") as workdir:
        ctx = paths.Context(args.device, workdir, seconds=seconds)
        for check in checks:
            row = paths.run_check(check, ctx)
            rows.append(row)
            detail = f"  [{row.detail}]" if row.detail else ""
            print(
                f"{row.name:{width}s}  {row.status:6s}  {row.seconds:6.1f}  "
                f"{row.figure}{detail}",
                flush=True,
            )
    total = time.perf_counter() - start
    counts = {s: sum(r.status == s for r in rows) for s in ("pass", "fail", "n/a")}
    summary = (
        f"{'FAILED' if counts['fail'] else 'OK'}: {counts['pass']} passed, "
        f"{counts['fail']} failed, {counts['n/a']} n/a in {total:.1f} s "
        f"on {args.device}"
    )
    print(summary)
    if args.out:
        out = Path(args.out)
        if out.suffix == ".json":
            table = {
                "header": header,
                "rows": [asdict(r) for r in rows],
                "summary": summary,
                "seconds": total,
            }
            out.write_text(json.dumps(table, indent=1) + "\n")
        else:
            out.write_text(markdown(header, rows, summary))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
