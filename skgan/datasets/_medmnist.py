"""The MedMNIST v2 2-D collection: names, download, reading and checking."""

from __future__ import annotations

import json
import numbers
import os
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils._checks import check_flag
from ._cache import _download, _verify_cached, get_data_home

__all__ = ["fetch_medmnist"]


def _load_tables():
    """The MedMNIST facts shipped with skgan in ``medmnist.json``."""
    text = resources.files(__package__).joinpath("medmnist.json").read_text("utf-8")
    return json.loads(text)


_TABLES = _load_tables()
_MEDMNIST_URL = _TABLES["url"]
_MEDMNIST_SIZES = tuple(_TABLES["sizes"])
_SPLITS = tuple(_TABLES["splits"])
_MEDMNIST_3D = tuple(_TABLES["sets_3d"])
# name: MD5 of {name}.npz, {name}_64.npz, {name}_128.npz, {name}_224.npz
_MEDMNIST_MD5 = {
    name: tuple(info["md5"][str(size)] for size in _MEDMNIST_SIZES)
    for name, info in _TABLES["sets"].items()
}
# name: (display name, task, license, class names)
_MEDMNIST_META = {
    name: (info["title"], info["task"], info["license"], tuple(info["classes"]))
    for name, info in _TABLES["sets"].items()
}


def _medmnist_filename(name, size):
    return f"{name}.npz" if size == 28 else f"{name}_{size}.npz"


def _manual_help(url, target, expected):
    return (
        f"To install it by hand, download {url} on a machine with internet access "
        f"and copy it to {target} (expected MD5 {expected}), or pass the path of "
        "a local copy as the name: fetch_medmnist('/path/to/file.npz')."
    )


def _resolve_medmnist(name):
    """Return ``(key, local_path)``; ``local_path`` is None for a registered name."""
    if isinstance(name, str) and name.lower() in _MEDMNIST_MD5:
        return name.lower(), None
    if isinstance(name, str) and name.lower() in _MEDMNIST_3D:
        raise ValueError(
            f"{name!r} is a 3-D MedMNIST set; fetch_medmnist loads the 2-D sets "
            f"only: {', '.join(_MEDMNIST_MD5)}."
        )
    if isinstance(name, os.PathLike) or (
        isinstance(name, str)
        and (
            name.endswith(".npz")
            or os.sep in name
            or "/" in name
            or os.path.isfile(name)
        )
    ):
        path = Path(name).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"No MedMNIST file at {str(path)!r}. Pass a set name such as "
                "'pneumoniamnist' (no .npz) to download it into the cache."
            )
        stem = path.stem.lower()
        for s in _MEDMNIST_SIZES[1:]:
            stem = stem.removesuffix(f"_{s}")
        return (stem if stem in _MEDMNIST_META else None), path
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a MedMNIST set name or the path of a .npz file, got "
            f"{type(name).__name__}."
        )
    raise ValueError(
        f"Unknown MedMNIST set {name!r}. Pass one of {', '.join(_MEDMNIST_MD5)}, "
        "or the path of a local .npz file."
    )


def _read_npz_split(path, split):
    """Return ``(images, labels)`` of one split of a MedMNIST ``.npz`` file."""
    unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        npz = np.load(path, allow_pickle=False)
    except unreadable as exc:
        raise ValueError(f"Cannot read {path} as a .npz file: {exc}") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path} holds a single array, not a .npz archive with "
            f"{split}_images and {split}_labels arrays."
        )
    with npz:
        keys = set(npz.files)
        if not {f"{split}_images", f"{split}_labels"} <= keys:
            have = [s for s in _SPLITS if {f"{s}_images", f"{s}_labels"} <= keys]
            raise ValueError(
                f"{path} has no {split!r} split (its arrays: {sorted(keys)}). "
                f"Pass split= one of {have}."
            )
        try:
            return npz[f"{split}_images"], npz[f"{split}_labels"]
        except unreadable as exc:
            raise ValueError(
                f"Cannot read the {split!r} split of {path}: {exc}"
            ) from exc


def _check_images(images, path, split, size):
    """Return the split's images as ``uint8``, refusing what is not 0..255 pixels."""
    where = f"{path}: {split}_images"
    if images.dtype.kind not in "biuf":
        raise ValueError(
            f"{where} has dtype {images.dtype}; it must hold uint8 pixels (0..255). "
            "Re-export the file with numeric images."
        )
    if images.ndim not in (3, 4) or images.shape[1:3] != (size, size):
        raise ValueError(
            f"{path} holds images of shape {images.shape[1:]}, not {size}x{size}. "
            "Pass the size= that matches the file."
        )
    if len(images) == 0:
        raise ValueError(
            f"{where} is empty (shape {images.shape}): the {split!r} split holds "
            "no images. Pass another split=, or a file with images in this one."
        )
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind == "f":
        problem = (
            "NaN or infinite values"
            if not np.isfinite(images).all()
            else f"floating-point pixels (dtype {images.dtype})"
        )
        raise ValueError(
            f"{where} holds {problem}; it must hold uint8 pixels (0..255). Repair "
            "the file, and convert images scaled to 0..1 with "
            "np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)."
        )
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        raise ValueError(
            f"{where} holds values from {low} to {high} (dtype {images.dtype}); "
            "pixels must lie in 0..255. Rescale the images to 0..255."
        )
    return images.astype(np.uint8)


def _check_labels(labels, n_images, path, split, meta):
    """Return the split's labels as ``int64`` class indices."""
    where = f"{path}: {split}_labels"
    if labels.dtype.kind not in "biuf":
        raise ValueError(
            f"{where} has dtype {labels.dtype}; labels must be integer class "
            "indices (0, 1, ...). Encode the class names as indices, e.g. with "
            "sklearn.preprocessing.LabelEncoder."
        )
    if labels.ndim not in (1, 2) or (labels.ndim == 2 and labels.shape[1] == 0):
        raise ValueError(
            f"{where} has shape {labels.shape}; it must be 1-D (one class index "
            "per image) or 2-D (one row of labels per image)."
        )
    if len(labels) != n_images:
        raise ValueError(
            f"{path}: {split}_labels has {len(labels)} rows for {n_images} images."
        )
    if labels.dtype.kind == "f" and not (
        np.isfinite(labels).all() and (labels == np.rint(labels)).all()
    ):
        raise ValueError(
            f"{where} holds non-integer or non-finite values; labels must be "
            "integer class indices (0, 1, ...)."
        )
    if labels.min() < 0:
        raise ValueError(
            f"{where} holds the negative value {labels.min()}; class indices "
            "must be >= 0."
        )
    if labels.max() >= 2**31:
        raise ValueError(
            f"{where} holds the value {labels.max()}, too large for a class index."
        )
    target = labels.astype(np.int64)
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if meta is not None and target.ndim == 1 and target.max() >= len(meta[3]):
        raise ValueError(
            f"{where} holds the class index {target.max()}, but {meta[0]} has "
            f"{len(meta[3])} classes. Rename the file if it is not {meta[0]}, so "
            "that no class names are attached."
        )
    return target


def fetch_medmnist(
    name,
    *,
    size=28,
    split="train",
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
):
    """Load a MedMNIST v2 2-D data set, downloading it on first use.

    Files come from Zenodo record 10519652 (``{name}.npz`` for 28 px,
    ``{name}_{size}.npz`` otherwise), are cached in
    ``get_data_home(data_home)/medmnist/``, and their MD5 is checked against the
    sums published by the ``medmnist`` package (3.0.2). Downloads go to a
    temporary file that replaces the target only once complete and verified.

    Offline machines: copy the file into the cache folder named in the error
    message, or pass the path of a local ``.npz`` file as ``name``. A local path
    is read as is, without MD5 verification, and may hold any subset of the
    splits. A script can serve both cases by taking the name from an
    environment variable, as skgan's examples do::

        import os
        name = os.environ.get("SKGAN_PNEUMONIAMNIST", "pneumoniamnist")
        xrays = fetch_medmnist(name, split="train")

    Without the variable, the file is downloaded into the cache on first use;
    with ``SKGAN_PNEUMONIAMNIST=/path/to/pneumoniamnist.npz``, that copy is read.
    Where neither works, the call raises ``OSError``.

    Parameters
    ----------
    name : str or os.PathLike
        A set name (``"pneumoniamnist"``, ``"breastmnist"``, ``"bloodmnist"``,
        ``"pathmnist"``, ``"chestmnist"``, ``"dermamnist"``, ``"octmnist"``,
        ``"retinamnist"``, ``"tissuemnist"``, ``"organamnist"``,
        ``"organcmnist"``, ``"organsmnist"``; case-insensitive), or the path of
        a ``.npz`` file with ``{split}_images`` and ``{split}_labels`` arrays.
        A file named like the official ones (``pneumoniamnist_64.npz``) gets
        its class names.
    size : {28, 64, 128, 224}, default=28
        Image side in pixels. For a local file it must match the file.
    split : {"train", "val", "test"}, default="train"
        Which split to return.
    data_home : str or os.PathLike, default=None
        Cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise ``OSError`` instead of downloading a missing file.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        images : ndarray of shape (n_samples, size, size) or \
(n_samples, size, size, 3)
            ``uint8`` pixels.
        data : ndarray of shape (n_samples, size * size * C)
            The same pixels flattened.
        target : ndarray of shape (n_samples,) or (n_samples, 14)
            Class indices (``int64``); a 0/1 matrix for the multi-label
            ChestMNIST.
        target_names : ndarray of str or None
            Class names, ``None`` for a local file with an unrecognised name.
        image_shape : tuple of int
            ``(H, W, C)``, to pass as ``image_shape`` along with ``data``.
        filename : str
            The file read.
        DESCR : str
            Set, size, split, task, license and source.

    (data, target) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    OSError
        If the file is missing and cannot be downloaded (the message names the
        URL and where to place the file by hand), or its MD5 does not match.
        ``FileNotFoundError`` (a subclass) for a local path that does not exist.
    ValueError
        For an unknown set, a bad ``size`` or ``split``, a split the file does
        not hold, or a split whose arrays are not what MedMNIST stores: no
        images, images other than pixels in 0..255 (floating point, NaN), or
        labels other than non-negative integer class indices below 2**31.

    Examples
    --------
    >>> from skgan.datasets import fetch_medmnist
    >>> X, y = fetch_medmnist("pneumoniamnist", return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (4708, 784)
    """
    check_flag(download_if_missing, "download_if_missing")
    check_flag(return_X_y, "return_X_y")
    if (
        isinstance(size, (bool, np.bool_))
        or not isinstance(size, numbers.Integral)
        or size not in _MEDMNIST_SIZES
    ):
        raise ValueError(f"size must be one of {_MEDMNIST_SIZES}, got {size!r}.")
    size = int(size)
    if not isinstance(split, str) or split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}.")
    key, path = _resolve_medmnist(name)
    local = path is not None
    fname = _medmnist_filename(key, size) if key is not None else None
    url = None if fname is None else _MEDMNIST_URL.format(fname)
    if not local:
        expected = _MEDMNIST_MD5[key][_MEDMNIST_SIZES.index(size)]
        path = Path(get_data_home(data_home)) / "medmnist" / fname
        if path.exists():
            _verify_cached(
                path,
                expected,
                url,
                f"pass its path as the name to load it without verification: "
                f"fetch_medmnist({str(path)!r}).",
            )
        elif not download_if_missing:
            raise OSError(
                f"{path} not found and download_if_missing=False. "
                + _manual_help(url, path, expected)
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            _download(url, path, expected, _manual_help(url, path, expected))

    images, labels = _read_npz_split(path, split)
    meta = _MEDMNIST_META.get(key)
    images = _check_images(images, path, split, size)
    target = _check_labels(labels, len(images), path, split, meta)
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    channels = 1 if images.ndim == 3 else images.shape[3]
    if meta is None:
        descr = f"{len(images)} {size}x{size} images, split {split!r}, from {path}."
    else:
        title, task, license_, _ = meta
        descr = (
            f"{title} ({size}x{size}, split {split!r}, {len(images)} images) from "
            f"MedMNIST v2 (Yang et al., Scientific Data 2023), task: {task}, "
            f"license: {license_}. Source: {path if local else url}"
        )
    return Bunch(
        images=images,
        data=data,
        target=target,
        target_names=None if meta is None else np.asarray(meta[3]),
        image_shape=(size, size, channels),
        filename=str(path),
        DESCR=descr,
    )
