"""FID Inception feature throughput: skgan against torch-fidelity, side by side.

Both networks get the same random state dict (the FID weights cost the same
FLOPs, so no download is needed) and the same 64x64 RGB ``uint8`` images in
batches of 32 (TF1 resize to 299x299 inside each), and return the 2048-d pool
features. skgan is timed through its user path, ``extract_features`` with an
:class:`~skgan.metrics.FIDInceptionV3` (validation, conversion, fused network);
torch-fidelity's ``FeatureExtractorInceptionV3`` is called on ``uint8`` tensors
under ``torch.inference_mode``. The variants are interleaved (A, B, A, B, ...)
over the rounds, so a busy machine slows each about equally; the median rate of
each, the ratio of the medians and the per-round ratios are printed, with the
largest feature difference between the two.

torch-fidelity is optional (``pip install --no-deps torch-fidelity``: its
package ``__init__`` imports torchvision, so only its feature extractor module
is imported, by file). Without it, or with ``--reference``, skgan's layer-by-layer
path (``FIDInceptionV3(fuse=False)``, the code before the fused path existed)
is timed as well.

Each variant costs about 5.7 GFLOPs per image: minutes on a few CPU cores.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/metrics_inception.py \
        [--rounds 5] [--n 64] [--batch-size 32] [--size 64] [--reference]
"""

import argparse
import importlib
import importlib.util
import math
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

from skgan.metrics import FIDInceptionV3, extract_features


def random_state_dict(net, seed=0):
    """Seeded weights of FID-like scale: He-scaled convolutions, BN near 1 and 0."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in net.state_dict().items():
        shape = value.shape
        if name.endswith("num_batches_tracked"):
            state[name] = torch.zeros_like(value)
        elif name.endswith(("running_var", "bn.weight")):
            state[name] = torch.rand(shape, generator=g) + 0.5
        elif name.endswith(("running_mean", "bn.bias")):
            state[name] = torch.randn(shape, generator=g) * 0.1
        elif name == "fc.bias":
            state[name] = torch.zeros(shape)
        else:
            fan_in = math.prod(shape[1:])
            state[name] = torch.randn(shape, generator=g) * math.sqrt(2 / fan_in)
    return state


def import_torch_fidelity_extractor():
    """torch-fidelity's ``feature_extractor_inceptionv3`` module, or None.

    The package ``torch_fidelity`` is registered without running its
    ``__init__`` (which imports torchvision); the extractor module and the
    modules it imports (``feature_extractor_base``, ``helpers``, ``defaults``,
    ``deprecations``, ``interpolate_compat_tensorflow``) are loaded unchanged
    from their files.
    """
    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None or not spec.submodule_search_locations:
        return None
    location = list(spec.submodule_search_locations)
    package = types.ModuleType("torch_fidelity")
    package.__path__ = location
    sys.modules.setdefault("torch_fidelity", package)
    name = "torch_fidelity.feature_extractor_inceptionv3"
    path = Path(location[0]) / "feature_extractor_inceptionv3.py"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def batched(fn, images, batch_size):
    return np.concatenate(
        [fn(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=64, help="images per round")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=64, help="image height, width")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also time skgan's layer-by-layer path (fuse=False)",
    )
    parser.add_argument(
        "--no-torch-fidelity",
        action="store_true",
        help="do not time torch-fidelity even if it is installed",
    )
    args = parser.parse_args()

    net = FIDInceptionV3()
    state = random_state_dict(net)
    net.load_state_dict(state)
    rng = np.random.default_rng(0)
    nhwc = rng.integers(0, 256, (args.n, args.size, args.size, 3), dtype=np.uint8)
    nchw = torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))
    bs = args.batch_size

    variants = {
        "skgan": lambda: extract_features(nhwc, feature_extractor=net, batch_size=bs)
    }
    tf_module = None if args.no_torch_fidelity else import_torch_fidelity_extractor()
    if tf_module is not None:
        with tempfile.TemporaryDirectory() as tmp:
            weights = Path(tmp) / "random_inception.pth"
            torch.save(state, weights)
            tf_net = tf_module.FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048"], feature_extractor_weights_path=weights
            )

        def run_tf(batch):
            with torch.inference_mode():
                return tf_net(batch)[0].numpy()

        variants["torch-fidelity"] = lambda: batched(run_tf, nchw, bs)
    if tf_module is None or args.reference:
        ref = FIDInceptionV3(fuse=False)
        ref.load_state_dict(state)
        variants["skgan fuse=False"] = lambda: extract_features(
            nhwc, feature_extractor=ref, batch_size=bs
        )

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"{args.n} {args.size}x{args.size} RGB uint8 images per round in "
        f"batches of {bs}, {args.rounds} interleaved rounds"
    )
    if tf_module is None:
        print(
            "torch-fidelity is not installed (or --no-torch-fidelity was given): "
            "comparing with skgan's layer-by-layer path instead"
        )
    features = {name: fn() for name, fn in variants.items()}  # warm-up
    for name, f in features.items():
        if name != "skgan":
            diff = np.max(np.abs(f - features["skgan"])) / np.max(np.abs(f))
            print(f"max |skgan - {name}| / max |{name}| = {diff:.1e}")
    rates = {name: [] for name in variants}
    with torch.inference_mode():
        for _ in range(args.rounds):
            for name, fn in variants.items():
                start = time.perf_counter()
                fn()
                rates[name].append(args.n / (time.perf_counter() - start))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    for name, r in rates.items():
        print(
            f"{name:17s}: median {medians[name]:6.2f} images/s "
            f"(rounds: {', '.join(f'{v:.2f}' for v in r)})"
        )
    for name in variants:
        if name != "skgan":
            paired = [a / b for a, b in zip(rates["skgan"], rates[name])]
            print(
                f"ratio skgan / {name}: {medians['skgan'] / medians[name]:.2f} "
                f"(of the medians; per round: median {statistics.median(paired):.2f}, "
                f"{', '.join(f'{v:.2f}' for v in paired)})"
            )


if __name__ == "__main__":
    main()
