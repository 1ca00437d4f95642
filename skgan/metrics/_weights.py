"""Locating, downloading and verifying the FID Inception weights.

Search order (the first hit wins):

1. an explicit ``weights_path`` argument;
2. the environment variable ``SKGAN_INCEPTION_WEIGHTS``;
3. the torch hub checkpoint cache (``torch.hub.get_dir()/checkpoints``) under
   pytorch-fid's or torch-fidelity's file name, so weights those packages already
   downloaded are reused;
4. a download of pytorch-fid's published file into that cache, verified against
   its size and SHA-256 prefix, and written atomically.
"""

import hashlib
import http.client
import os
import sys
import urllib.request
from pathlib import Path

import torch

from ..utils._files import atomic_write

__all__ = ["find_inception_weights", "load_fid_inception", "inception_cache_dir"]

ENV_VAR = "SKGAN_INCEPTION_WEIGHTS"
FILE_NAME = "pt_inception-2015-12-05-6726825d.pth"
CACHE_NAMES = (FILE_NAME, "weights-inception-2015-12-05-6726825d.pth")
URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FILE_NAME
)
FILE_SIZE = 95_628_359
SHA256_PREFIX = "6726825d"
_CHUNK = 1 << 20


class _CorruptDownloadError(OSError):
    """A downloaded file failed its size or SHA-256 check."""


def inception_cache_dir():
    """Return the torch hub checkpoint folder searched for cached weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _urlopen(url, timeout):
    # A module-level seam: tests replace it to simulate offline machines.
    return urllib.request.urlopen(url, timeout=timeout)


def _how_to_provide():
    return (
        f"The FID Inception weights file {FILE_NAME} ({FILE_SIZE:,} bytes) is "
        f"published at\n  {URL}\nProvide it in one of three ways:\n"
        "  1. pass weights_path='/path/to/" + FILE_NAME + "';\n"
        f"  2. set the environment variable {ENV_VAR}=/path/to/{FILE_NAME};\n"
        f"  3. copy it into the torch hub cache as {inception_cache_dir() / FILE_NAME}"
        " (where pytorch-fid also looks).\n" + _offline_routes()
    )


def _offline_routes():
    """The metrics' ways around the Inception network, shared by every message."""
    return (
        "Or compute the metric without the Inception network (numbers then are "
        "not comparable with published FID/KID values): pass "
        "feature_extractor=None to compare raw pixels or a feature matrix you "
        "computed, a fitted transformer such as sklearn.decomposition.PCA("
        "whiten=True) fitted on training images, or your own torch.nn.Module "
        "or callable mapping images to features."
    )


def _download(dest, *, verbose=0, timeout=60):
    """Download :data:`URL` to ``dest`` with size and SHA-256 checks, atomically."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    reported = 0
    with atomic_write(dest) as out:
        with _urlopen(URL, timeout) as response:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if verbose and size - reported >= 10_000_000:
                    reported = size
                    print(
                        f"[skgan.metrics] downloading {FILE_NAME}: "
                        f"{size / 1e6:.1f} / {FILE_SIZE / 1e6:.1f} MB",
                        file=sys.stderr,
                    )
        sha = digest.hexdigest()
        if size != FILE_SIZE or not sha.startswith(SHA256_PREFIX):
            # Raised inside atomic_write: the partial file is removed.
            raise _CorruptDownloadError(
                f"The download of {URL} is corrupt: got {size:,} bytes with "
                f"SHA-256 {sha}, expected {FILE_SIZE:,} bytes with a SHA-256 "
                f"starting with {SHA256_PREFIX}. Nothing was saved; try again or "
                "provide the file yourself.\n" + _how_to_provide()
            )
    return dest


def find_inception_weights(weights_path=None, *, download=True, verbose=0):
    """Return the path of the FID Inception weights, downloading them if needed.

    Parameters
    ----------
    weights_path : str or path-like, default=None
        Explicit path to a state dict of :class:`FIDInceptionV3` (the published
        ``pt_inception-2015-12-05-6726825d.pth`` or any state dict with the same
        keys). Used as is when given.
    download : bool, default=True
        Whether to download the published file when it is found nowhere else.
    verbose : int, default=0
        Print download progress to stderr when > 0.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileNotFoundError
        If an explicitly given file (argument or environment variable) does not
        exist, or if the weights are not cached and cannot be downloaded; the
        message names the file, its URL and the three ways to provide it.
    OSError
        If a download is corrupt (wrong size or SHA-256 prefix).
    """
    if weights_path is not None:
        if not isinstance(weights_path, (str, os.PathLike)):
            raise TypeError(
                "weights_path must be a str or os.PathLike naming the checkpoint "
                f"file, got {type(weights_path).__name__}."
            )
        path = Path(os.fspath(weights_path)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"weights_path={str(weights_path)!r} is not a file.\n"
                + _how_to_provide()
            )
        return path
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"The environment variable {ENV_VAR}={env!r} does not name an "
                "existing file.\n" + _how_to_provide()
            )
        return path
    cache = inception_cache_dir()
    for name in CACHE_NAMES:
        if (cache / name).is_file():
            return cache / name
    if not download:
        raise FileNotFoundError(
            "The FID Inception weights were not found and download=False.\n"
            + _how_to_provide()
        )
    try:
        return _download(cache / FILE_NAME, verbose=verbose)
    except _CorruptDownloadError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise FileNotFoundError(
            f"The FID Inception weights are not available offline and could not "
            f"be downloaded ({type(exc).__name__}: {exc}).\n" + _how_to_provide()
        ) from exc


def load_fid_inception(weights_path=None, *, download=True, device="cpu", verbose=0):
    """Build :class:`FIDInceptionV3` and load the FID weights into it.

    Parameters
    ----------
    weights_path : str or path-like, default=None
        See :func:`find_inception_weights` for the search order when None.
    download : bool, default=True
        Whether the published file may be downloaded when it is found nowhere.
    device : str or torch.device, default="cpu"
        Where to put the network (``"auto"`` picks an accelerator if available).
    verbose : int, default=0
        Print download progress to stderr when > 0.

    Returns
    -------
    net : FIDInceptionV3
        In evaluation mode, without gradients.
    """
    from ..utils._device import resolve_device
    from ._inception import FIDInceptionV3

    path = find_inception_weights(weights_path, download=download, verbose=verbose)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"Cannot read the Inception weights file {path}: {exc}\n"
            + _how_to_provide()
        ) from exc
    if not isinstance(state, dict):
        raise ValueError(
            f"{path} does not hold a state dict (got {type(state).__name__})."
        )
    net = FIDInceptionV3()
    expected = net.state_dict()
    state = dict(state)
    for key, value in expected.items():  # older files may lack these counters
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        k
        for k in expected
        if k in state
        and tuple(getattr(state[k], "shape", ())) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong:
        raise ValueError(
            f"{path} is not a FID InceptionV3 state dict: {len(missing)} missing "
            f"keys {missing[:3]}, {len(unexpected)} unexpected keys "
            f"{unexpected[:3]}, {len(wrong)} keys of the wrong shape {wrong[:3]}."
        )
    net.load_state_dict(state, strict=True)
    return net.to(resolve_device(device))
