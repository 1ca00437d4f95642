"""Image data sets: a folder of image files, and the MedMNIST 2-D collection.

Both loaders return a :class:`sklearn.utils.Bunch` the way
:func:`sklearn.datasets.load_digits` does (``images`` keeps the image shape,
``data`` holds the same pixels flattened to ``(n_samples, n_features)``), or
``(data, target)`` with ``return_X_y=True``. Pixels are ``uint8`` in ``0..255``.

Downloads are cached under :func:`get_data_home`, verified against published MD5
sums and written atomically, so an interrupted download never leaves a file that
looks complete. Machines without internet access can place the files by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import logging
import os
import tempfile
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from sklearn.utils import Bunch

__all__ = ["fetch_medmnist", "get_data_home", "load_image_folder"]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- #
# Folders of image files
# --------------------------------------------------------------------------- #

_RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _check_flag(value, name):
    """Refuse truthy non-bools such as ``"no"`` for a True/False parameter."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")


def _check_size(size):
    """Return ``size`` as ``(height, width)`` or ``None``."""
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
            for s in size
        )
    ):
        return int(size[0]), int(size[1])
    raise ValueError(
        f"size must be None (keep the files' size), a positive int (square images) "
        f"or a (height, width) pair of positive ints, got {size!r}."
    )


def _check_extensions(extensions):
    if isinstance(extensions, str):
        extensions = (extensions,)
    try:
        exts = tuple(extensions)
    except TypeError:
        exts = None
    if not exts or not all(isinstance(e, str) and e.strip(".") for e in exts):
        raise ValueError(
            "extensions must be a non-empty sequence of file extensions such as "
            f"('.png', '.jpg'), got {extensions!r}."
        )
    return tuple("." + e.lower().lstrip(".") for e in exts)


def _image_files(folder, extensions, recursive):
    """Sorted image files in ``folder``, skipping hidden files and folders."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    found = []
    for p in candidates:
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.suffix.lower() in extensions and p.is_file():
            found.append(p)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _decode(raw):
    """Decode image bytes with Pillow, applying the EXIF orientation."""
    with Image.open(io.BytesIO(raw)) as img:
        img.load()
        return ImageOps.exif_transpose(img)


def _convert(img, color_mode):
    """Convert a decoded image to 8-bit ``L`` or ``RGB``."""
    if img.mode in _HIGH_BIT_MODES:
        arr = np.asarray(img, dtype=np.float64)
        if img.mode != "F":  # 16-bit data: 0..65535 -> 0..255
            arr = arr / 257.0
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    target = "L" if color_mode == "grayscale" else "RGB"
    return img if img.mode == target else img.convert(target)


def load_image_folder(
    path,
    *,
    color_mode="grayscale",
    size=None,
    interpolation="bilinear",
    deduplicate=False,
    on_error="warn",
    extensions=(".png", ".jpg", ".jpeg"),
    return_X_y=False,
):
    """Load a folder of PNG/JPEG images, optionally one subfolder per class.

    Two layouts are recognised:

    * ``path/*.png``: unlabelled images (``target`` is ``None``);
    * ``path/<class name>/**/*.png``: one subfolder per class. Class names are
      the subfolder names in sorted order and ``target`` holds their indices.
      Subfolders without image files are ignored.

    Files and folders whose names start with ``"."`` are skipped. Images are
    read in sorted path order, so the result does not depend on the file system.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to read.
    color_mode : {"grayscale", "rgb"}, default="grayscale"
        Convert every image to 8-bit grayscale (``images`` of shape
        ``(n, H, W)``) or RGB (``(n, H, W, 3)``). 16-bit files are scaled from
        ``0..65535`` to ``0..255``; alpha channels are dropped.
    size : int or (int, int), default=None
        Resize every image to ``size`` x ``size`` or ``(height, width)`` pixels.
        ``None`` keeps the files' size, which must then be the same for all.
    interpolation : {"bilinear", "bicubic", "lanczos", "box", "nearest"}, \
            default="bilinear"
        Pillow resampling filter used by the resize (antialiased when shrinking).
    deduplicate : bool, default=False
        Drop files whose bytes are identical (same MD5) to a file read before,
        as the lung X-ray seed does. The dropped files are listed in
        ``duplicates``; a warning is raised when duplicates carry different
        classes.
    on_error : {"warn", "raise"}, default="warn"
        What to do with files Pillow cannot read: skip them and name them in one
        warning (and in ``unreadable``), or raise ``ValueError`` at the first.
    extensions : sequence of str, default=(".png", ".jpg", ".jpeg")
        File extensions to read, case-insensitive.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        images : ndarray of shape (n_samples, H, W) or (n_samples, H, W, 3)
            ``uint8`` pixels.
        data : ndarray of shape (n_samples, H * W * C)
            The same pixels flattened, as scikit-learn estimators expect.
        target : ndarray of shape (n_samples,) or None
            Class index of each image; ``None`` for a folder without classes.
        target_names : ndarray of str or None
            Class names (subfolder names); ``None`` without classes.
        filenames : ndarray of str
            Path of each image.
        image_shape : tuple of int
            ``(H, W, C)``, to pass as ``image_shape`` along with ``data``.
        duplicates : list of (str, str)
            ``(dropped file, identical file kept)`` pairs.
        unreadable : list of (str, str)
            ``(file, error message)`` pairs of skipped files.
        DESCR : str
            A short description.

    (data, target) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For invalid parameters, a folder without readable images, images of
        different sizes with ``size=None``, or (``on_error="raise"``) a file that
        cannot be read.

    Examples
    --------
    >>> from skgan.datasets import load_image_folder
    >>> xrays = load_image_folder("chest_xray/train", size=64,
    ...                           deduplicate=True)  # doctest: +SKIP
    >>> xrays.images.shape, list(xrays.target_names)  # doctest: +SKIP
    ((5216, 64, 64), ['NORMAL', 'PNEUMONIA'])
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike, got {type(path).__name__}."
        )
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"Image folder {str(root)!r} does not exist.")
    if not root.is_dir():
        raise NotADirectoryError(
            f"{str(root)!r} is a file; load_image_folder expects the folder "
            "holding the images (or one subfolder per class)."
        )
    if color_mode not in ("grayscale", "rgb"):
        raise ValueError(
            f"color_mode must be 'grayscale' or 'rgb', got {color_mode!r}."
        )
    _check_flag(deduplicate, "deduplicate")
    _check_flag(return_X_y, "return_X_y")
    size = _check_size(size)
    if interpolation not in _RESAMPLING:
        raise ValueError(
            f"interpolation must be one of {sorted(_RESAMPLING)}, "
            f"got {interpolation!r}."
        )
    if on_error not in ("warn", "raise"):
        raise ValueError(f"on_error must be 'warn' or 'raise', got {on_error!r}.")
    exts = _check_extensions(extensions)

    loose = _image_files(root, exts, recursive=False)
    class_dirs = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    classes = [
        (d.name, files) for d in class_dirs if (files := _image_files(d, exts, True))
    ]
    if loose and classes:
        raise ValueError(
            f"{str(root)!r} holds both image files (e.g. {loose[0].name!r}) and class "
            f"subfolders ({', '.join(repr(c) for c, _ in classes[:3])}). Move the "
            "loose images into a class subfolder, or point path at a folder that "
            "has only one of the two."
        )
    if not loose and not classes:
        raise ValueError(
            f"No image files with extensions {exts} in {str(root)!r} or its "
            "subfolders. Check the path, or pass extensions=... for other formats."
        )
    jobs = [(f, None) for f in loose] or [
        (f, k) for k, (_, files) in enumerate(classes) for f in files
    ]

    images, labels, names = [], [], []
    seen, duplicates, cross_class, unreadable = {}, [], [], []
    for fp, label in jobs:
        raw = fp.read_bytes()
        if deduplicate:
            digest = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            if digest in seen:
                kept, kept_label = seen[digest]
                duplicates.append((str(fp), kept))
                if kept_label != label:
                    cross_class.append((str(fp), kept))
                continue
        try:
            img = _decode(raw)
        except Exception as exc:  # Pillow raises many types for corrupt files
            if on_error == "raise":
                raise ValueError(
                    f"Cannot read image file {str(fp)!r}: {exc}. Remove or repair "
                    "it, or pass on_error='warn' to skip unreadable files."
                ) from exc
            unreadable.append((str(fp), f"{type(exc).__name__}: {exc}"))
            continue
        img = _convert(img, color_mode)
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), _RESAMPLING[interpolation])
        arr = np.asarray(img, dtype=np.uint8)
        if images and arr.shape != images[0].shape:
            raise ValueError(
                f"Images have different sizes: {names[0]!r} is "
                f"{images[0].shape[0]}x{images[0].shape[1]} but {str(fp)!r} is "
                f"{arr.shape[0]}x{arr.shape[1]} (height x width). Pass "
                "size=(height, width) to resize them all."
            )
        if deduplicate:
            seen[digest] = (str(fp), label)
        images.append(arr)
        labels.append(label)
        names.append(str(fp))

    if unreadable:
        listed = "; ".join(f"{f} ({why})" for f, why in unreadable)
        warnings.warn(
            f"Skipped {len(unreadable)} unreadable image file(s): {listed}",
            UserWarning,
            stacklevel=2,
        )
    if cross_class:
        listed = "; ".join(f"{a} = {b}" for a, b in cross_class[:10])
        warnings.warn(
            f"{len(cross_class)} duplicate file(s) sit in a different class than "
            f"the identical file that was kept (dropped = kept): {listed}. Check "
            "the labels.",
            UserWarning,
            stacklevel=2,
        )
    if not images:
        raise ValueError(
            f"None of the {len(jobs)} image files in {str(root)!r} could be read."
        )

    images = np.stack(images)
    target = None if loose else np.asarray(labels, dtype=np.int64)
    target_names = None if loose else np.asarray([c for c, _ in classes])
    height, width = images.shape[1:3]
    channels = 1 if images.ndim == 3 else images.shape[3]
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    descr = (
        f"{len(images)} {color_mode} images of {height}x{width} pixels read from "
        f"{root}"
        + (
            f", {len(classes)} classes: {', '.join(c for c, _ in classes)}"
            if classes
            else ""
        )
        + (f"; {len(duplicates)} duplicate files dropped" if duplicates else "")
        + (f"; {len(unreadable)} unreadable files skipped" if unreadable else "")
        + "."
    )
    return Bunch(
        images=images,
        data=data,
        target=target,
        target_names=target_names,
        filenames=np.asarray(names),
        image_shape=(height, width, channels),
        duplicates=duplicates,
        unreadable=unreadable,
        DESCR=descr,
    )


# --------------------------------------------------------------------------- #
# Data home and MedMNIST
# --------------------------------------------------------------------------- #


def get_data_home(data_home=None):
    """Return the folder where skgan caches downloaded data sets, creating it.

    Follows :func:`sklearn.datasets.get_data_home`: by default the folder is
    ``~/skgan_data``; the ``SKGAN_DATA`` environment variable overrides it, and
    an explicit ``data_home`` overrides both. ``~`` is expanded.

    Parameters
    ----------
    data_home : str or os.PathLike, default=None
        The folder to use; ``None`` applies the defaults above.

    Returns
    -------
    data_home : str
        The path of the (now existing) folder.
    """
    if data_home is None:
        data_home = os.environ.get("SKGAN_DATA", os.path.join("~", "skgan_data"))
    if not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(
            f"data_home must be a str, an os.PathLike or None, got "
            f"{type(data_home).__name__}."
        )
    data_home = os.path.expanduser(os.fspath(data_home))
    os.makedirs(data_home, exist_ok=True)
    return data_home


_MEDMNIST_URL = "https://zenodo.org/records/10519652/files/{}"
_MEDMNIST_SIZES = (28, 64, 128, 224)
# MD5 of {name}.npz, {name}_64.npz, {name}_128.npz, {name}_224.npz, copied from
# INFO[name]["MD5"], ["MD5_64"], ["MD5_128"], ["MD5_224"] in medmnist 3.0.2
# (medmnist/info.py), the files of Zenodo record 10519652 (MedMNIST+).
_MEDMNIST_MD5 = {
    "pathmnist": (
        "a8b06965200029087d5bd730944a56c1",
        "55aa9c1e0525abe5a6b9d8343a507616",
        "ac42d08fb904d92c244187169d1fd1d9",
        "2c51a510bcdc9cf8ddb2af93af1eadec",
    ),
    "chestmnist": (
        "02c8a6516a18b556561a56cbdd36c4a8",
        "9de6cd0b934ebb5b7426cfba5efbae16",
        "db107e5590b27930b62dbaf558aebee3",
        "45bd33e6f06c3e8cdb481c74a89152aa",
    ),
    "dermamnist": (
        "0744692d530f8e62ec473284d019b0c7",
        "b70a2f5635c6199aeaa28c31d7202e1f",
        "2defd784463fa5243564e855ed717de1",
        "8974907d8e169bef5f5b96bc506ae45d",
    ),
    "octmnist": (
        "c68d92d5b585d8d81f7112f81e2d0842",
        "e229e9440236b774d9f0dfef9d07bdaf",
        "0a97e76651ace45c5d943ee3f65b63ae",
        "abc493b6d529d5de7569faaef2773ba3",
    ),
    "pneumoniamnist": (
        "28209eda62fecd6e6a2d98b1501bb15f",
        "8f4eceb4ccffa70c672198ea285246c6",
        "05b46931834c231683c68f40c47b2971",
        "d6a3c71de1b945ea11211b03746c1fe1",
    ),
    "retinamnist": (
        "bd4c0672f1bba3e3a89f0e4e876791e4",
        "afda852cc34dcda56f86ad2b2457dbcc",
        "e48e916a24454daf90583d4e6efb1a18",
        "eae7e3b6f3fcbda4ae613ebdcbe35348",
    ),
    "breastmnist": (
        "750601b1f35ba3300ea97c75c52ff8f6",
        "742edef2a1fd1524b2efff4bd7ba9364",
        "363e4b3f8d712e9b5de15470a2aaadf1",
        "b56378a6eefa9fed602bb16d192d4c8b",
    ),
    "bloodmnist": (
        "7053d0359d879ad8a5505303e11de1dc",
        "2b94928a2ae4916078ca51e05b6b800b",
        "adace1e0ed228fccda1f39692059dd4c",
        "b718ff6835fcbdb22ba9eacccd7b2601",
    ),
    "tissuemnist": (
        "ebe78ee8b05294063de985d821c1c34b",
        "123ece2eba09d0aa5d698fda57103344",
        "61b955355d7425a89687b06cca3ce0c2",
        "b077128c4a949f0a4eb01517f9037b9c",
    ),
    "organamnist": (
        "68e3f8846a6bd62f0c9bf841c0d9eacc",
        "2dcccc29b88e6da5a01161ef20cda288",
        "eeae80d0a227a8d099027e1b3cfd3b60",
        "50747347e05c87dd3aaf92c49f9f3170",
    ),
    "organcmnist": (
        "b9ceb9546e10131b32923c5bbeaea2b1",
        "3ce34a8724ea6f548e6db4744d03b6a9",
        "773c1f009daa3fe5d9a2a201b2a7ed94",
        "050f5e875dc056f6768abf94ec9995d1",
    ),
    "organsmnist": (
        "9ab87b696fb54e2a387ebe992d6ed5f1",
        "53a6d115339d874c25e309a994ff46d3",
        "ded0c5fa01a95dc4978b956f613e9b8e",
        "b354719e553fbbb2513d5533f52a4cb1",
    ),
}
_ORGANS = (
    "bladder",
    "femur-left",
    "femur-right",
    "heart",
    "kidney-left",
    "kidney-right",
    "liver",
    "lung-left",
    "lung-right",
    "pancreas",
    "spleen",
)
# name: (display name, task, license, class names), from the same INFO dict.
_MEDMNIST_META = {
    "pathmnist": (
        "PathMNIST",
        "multi-class",
        "CC BY 4.0",
        (
            "adipose",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ),
    ),
    "chestmnist": (
        "ChestMNIST",
        "multi-label, binary-class",
        "CC BY 4.0",
        (
            "atelectasis",
            "cardiomegaly",
            "effusion",
            "infiltration",
            "mass",
            "nodule",
            "pneumonia",
            "pneumothorax",
            "consolidation",
            "edema",
            "emphysema",
            "fibrosis",
            "pleural",
            "hernia",
        ),
    ),
    "dermamnist": (
        "DermaMNIST",
        "multi-class",
        "CC BY-NC 4.0",
        (
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ),
    ),
    "octmnist": (
        "OCTMNIST",
        "multi-class",
        "CC BY 4.0",
        ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"),
    ),
    "pneumoniamnist": (
        "PneumoniaMNIST",
        "binary-class",
        "CC BY 4.0",
        ("normal", "pneumonia"),
    ),
    "retinamnist": (
        "RetinaMNIST",
        "ordinal-regression",
        "CC BY 4.0",
        ("0", "1", "2", "3", "4"),
    ),
    "breastmnist": (
        "BreastMNIST",
        "binary-class",
        "CC BY 4.0",
        ("malignant", "normal, benign"),
    ),
    "bloodmnist": (
        "BloodMNIST",
        "multi-class",
        "CC BY 4.0",
        (
            "basophil",
            "eosinophil",
            "erythroblast",
            "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
            "lymphocyte",
            "monocyte",
            "neutrophil",
            "platelet",
        ),
    ),
    "tissuemnist": (
        "TissueMNIST",
        "multi-class",
        "CC BY 4.0",
        (
            "Collecting Duct, Connecting Tubule",
            "Distal Convoluted Tubule",
            "Glomerular endothelial cells",
            "Interstitial endothelial cells",
            "Leukocytes",
            "Podocytes",
            "Proximal Tubule Segments",
            "Thick Ascending Limb",
        ),
    ),
    "organamnist": ("OrganAMNIST", "multi-class", "CC BY 4.0", _ORGANS),
    "organcmnist": ("OrganCMNIST", "multi-class", "CC BY 4.0", _ORGANS),
    "organsmnist": ("OrganSMNIST", "multi-class", "CC BY 4.0", _ORGANS),
}
_MEDMNIST_3D = (
    "organmnist3d",
    "nodulemnist3d",
    "adrenalmnist3d",
    "fracturemnist3d",
    "vesselmnist3d",
    "synapsemnist3d",
)
_SPLITS = ("train", "val", "test")
_DOWNLOAD_TIMEOUT = 60  # seconds per socket operation
_urlopen = urllib.request.urlopen  # replaced in tests: never reach the network there


def _md5(path, chunk_size=1 << 20):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _medmnist_filename(name, size):
    return f"{name}.npz" if size == 28 else f"{name}_{size}.npz"


def _manual_help(url, target, expected):
    return (
        f"To install it by hand, download {url} on a machine with internet access "
        f"and copy it to {target} (expected MD5 {expected}), or pass the path of "
        "a local copy as the name: fetch_medmnist('/path/to/file.npz')."
    )


def _stamp(target, expected):
    stat = target.stat()
    return f"{expected} {stat.st_size} {stat.st_mtime_ns}"


def _verify_cached(target, expected, url):
    """Check a cached file's MD5, remembering a success in a ``.md5`` sidecar.

    The sidecar records the digest with the file's size and modification time,
    so a multi-gigabyte file is hashed again only after it changes.
    """
    sidecar = target.with_name(target.name + ".md5")
    with contextlib.suppress(OSError):
        if sidecar.read_text().strip() == _stamp(target, expected):
            return
    actual = _md5(target)
    if actual != expected:
        raise OSError(
            f"The cached file {target} has MD5 {actual}, but the official file "
            f"({url}) has MD5 {expected}: it is incomplete, corrupt or a different "
            "file. Delete it to download it again, or pass its path as the name to "
            "load it without verification."
        )
    with contextlib.suppress(OSError):
        sidecar.write_text(_stamp(target, expected) + "\n")


def _download(url, target, expected):
    """Stream ``url`` to ``target`` through a temporary file; check its MD5."""
    logger.info("Downloading %s to %s", url, target)
    request = urllib.request.Request(
        f"{url}?download=1", headers={"User-Agent": "skgan"}
    )
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out:
            try:
                with _urlopen(request, timeout=_DOWNLOAD_TIMEOUT) as response:
                    while chunk := response.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            except (OSError, http.client.HTTPException) as exc:
                raise OSError(
                    f"Could not download {url}: {exc}. "
                    + _manual_help(url, target, expected)
                ) from exc
        actual = digest.hexdigest()
        if actual != expected:
            raise OSError(
                f"The file downloaded from {url} has MD5 {actual}, expected "
                f"{expected}; it was discarded. Try again later. "
                + _manual_help(url, target, expected)
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # verified: no need to hash it again
        target.with_name(target.name + ".md5").write_text(
            _stamp(target, expected) + "\n"
        )


def _resolve_medmnist(name, size):
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
            "{split}_images and {split}_labels arrays."
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
    splits.

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
    ValueError
        For an unknown set, a bad ``size`` or ``split``, or a split the file
        does not hold.

    Examples
    --------
    >>> from skgan.datasets import fetch_medmnist
    >>> X, y = fetch_medmnist("pneumoniamnist", return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (4708, 784)
    """
    _check_flag(download_if_missing, "download_if_missing")
    _check_flag(return_X_y, "return_X_y")
    if isinstance(size, bool) or size not in _MEDMNIST_SIZES:
        raise ValueError(f"size must be one of {_MEDMNIST_SIZES}, got {size!r}.")
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}.")
    key, path = _resolve_medmnist(name, size)
    local = path is not None
    if not local:
        fname = _medmnist_filename(key, size)
        url = _MEDMNIST_URL.format(fname)
        expected = _MEDMNIST_MD5[key][_MEDMNIST_SIZES.index(size)]
        path = Path(get_data_home(data_home)) / "medmnist" / fname
        if path.exists():
            _verify_cached(path, expected, url)
        elif not download_if_missing:
            raise OSError(
                f"{path} not found and download_if_missing=False. "
                + _manual_help(url, path, expected)
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            _download(url, path, expected)

    images, labels = _read_npz_split(path, split)
    if images.ndim not in (3, 4) or images.shape[1:3] != (size, size):
        raise ValueError(
            f"{path} holds images of shape {images.shape[1:]}, not {size}x{size}. "
            "Pass the size= that matches the file."
        )
    if len(labels) != len(images):
        raise ValueError(
            f"{path}: {split}_labels has {len(labels)} rows for {len(images)} images."
        )
    target = labels.astype(np.int64)
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    channels = 1 if images.ndim == 3 else images.shape[3]
    meta = _MEDMNIST_META.get(key)
    if meta is None:
        descr = f"{len(images)} {size}x{size} images, split {split!r}, from {path}."
    else:
        title, task, license_, _ = meta
        source = path if local else _MEDMNIST_URL.format(_medmnist_filename(key, size))
        descr = (
            f"{title} ({size}x{size}, split {split!r}, {len(images)} images) from "
            f"MedMNIST v2 (Yang et al., Scientific Data 2023), task: {task}, "
            f"license: {license_}. Source: {source}"
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
