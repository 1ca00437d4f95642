"""Loading a folder of image files, optionally one subfolder per class."""

from __future__ import annotations

import functools
import hashlib
import io
import warnings

import numpy as np
from PIL import Image, ImageOps
from sklearn.utils import Bunch

from ..utils._checks import check_flag, check_path
from ._folder_cache import (
    NpyRowWriter,
    cache_key,
    forget_cache,
    read_cache,
    write_cache_record,
)

__all__ = ["load_image_folder"]

_RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ASPECTS = ("stretch", "crop", "pad")
#: Side of the grayscale thumbnails compared by deduplicate="near".
_THUMB = 16
#: RMS difference (gray levels, 0..255) of two thumbnails below which two
#: images are near-duplicates. Measured: JPEG re-encoding at quality 75 moves
#: a thumbnail by 0.4 to 0.9 levels, at quality 50 by 1.6; the closest two of
#: 200 brain MRI slices differ by 5.3.
_NEAR_RMS = 2.0
#: Relative change of width / height above which a resize changes proportions.
_ASPECT_TOLERANCE = 0.01


class _NearDuplicates:
    """Thumbnails of the images kept, searched for one within ``_NEAR_RMS``.

    The RMS difference of two thumbnails is at least the difference of their
    means, so only thumbnails whose mean lies in the same or a neighbouring
    bin of width ``_NEAR_RMS`` are compared.
    """

    def __init__(self):
        self.bins = {}

    @staticmethod
    def thumbnail(img):
        small = img.convert("L").resize((_THUMB, _THUMB), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float64).ravel()

    def find(self, thumb):
        """The kept image ``thumb`` nearly equals, else None."""
        key = int(thumb.mean() // _NEAR_RMS)
        for k in (key - 1, key, key + 1):
            for other, kept in self.bins.get(k, ()):
                if np.sqrt(np.mean((thumb - other) ** 2)) <= _NEAR_RMS:
                    return kept
        return None

    def add(self, thumb, kept):
        self.bins.setdefault(int(thumb.mean() // _NEAR_RMS), []).append((thumb, kept))


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


def _resize(img, size, interpolation, aspect):
    """``img`` at ``size`` (height, width): stretched, cropped or padded."""
    target = (size[1], size[0])
    method = _RESAMPLING[interpolation]
    if aspect == "crop":
        return ImageOps.fit(img, target, method)
    if aspect == "pad":
        return ImageOps.pad(img, target, method, color=0)
    return img.resize(target, method)


def _changes_aspect(img, size):
    width, height = img.size
    return abs((width / height) / (size[1] / size[0]) - 1) > _ASPECT_TOLERANCE


def _read_images(
    jobs,
    images,
    *,
    color_mode,
    size,
    interpolation,
    deduplicate,
    on_error,
    aspect=None,
):
    """Decode ``jobs`` (``(file, label)`` pairs), appending each array to ``images``.

    ``images`` is a list or a :class:`~skgan.datasets._folder_cache.NpyRowWriter`.
    Returns what was found, as JSON values: ``labels`` and ``names`` of the
    images kept, ``duplicates``, ``near_duplicates``, ``cross_class`` and
    ``unreadable`` pairs, and ``stretched``, the files whose proportions the
    resize changed.
    """
    labels, names = [], []
    first_shape = None
    seen, duplicates, cross_class, unreadable = {}, [], [], []
    near = _NearDuplicates() if deduplicate == "near" else None
    near_duplicates, stretched = [], []
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
        if near is not None:
            thumb = near.thumbnail(img)
            kept = near.find(thumb)
            if kept is not None:
                near_duplicates.append((str(fp), kept[0]))
                if kept[1] != label:
                    cross_class.append((str(fp), kept[0]))
                continue
        if size is not None and img.size != (size[1], size[0]):
            if aspect is None and _changes_aspect(img, size):
                stretched.append(str(fp))
            img = _resize(img, size, interpolation, aspect)
        arr = np.asarray(img, dtype=np.uint8)
        if first_shape is not None and arr.shape != first_shape:
            raise ValueError(
                f"Images have different sizes: {names[0]!r} is "
                f"{first_shape[0]}x{first_shape[1]} but {str(fp)!r} is "
                f"{arr.shape[0]}x{arr.shape[1]} (height x width). Pass "
                "size=(height, width) to resize them all."
            )
        first_shape = arr.shape
        if deduplicate:
            seen[digest] = (str(fp), label)
        if near is not None:
            near.add(thumb, (str(fp), label))
        images.append(arr)
        labels.append(label)
        names.append(str(fp))
    return {
        "labels": labels,
        "names": names,
        "duplicates": duplicates,
        "near_duplicates": near_duplicates,
        "cross_class": cross_class,
        "unreadable": unreadable,
        "stretched": stretched,
    }


def _some(pairs, n=3):
    """The first ``n`` ``dropped = kept`` pairs, and how many more there are."""
    listed = "; ".join(f"{a} = {b}" for a, b in pairs[:n])
    return listed + (f"; and {len(pairs) - n} more" if len(pairs) > n else "")


def _report(found, n_files, root, size=None):
    """Warn about skipped, dropped and stretched files; raise if none was read."""
    unreadable, cross_class = found["unreadable"], found["cross_class"]
    duplicates = found.get("duplicates", [])
    near = found.get("near_duplicates", [])
    stretched = found.get("stretched", [])
    if duplicates or near:
        what = f"{len(duplicates)} byte-identical"
        if near:
            what += f" and {len(near)} nearly identical"
        warnings.warn(
            f"deduplicate dropped {what} file(s), listed in the result's "
            f"duplicates and near_duplicates as (dropped, kept) pairs: "
            f"{_some(duplicates + near)}.",
            UserWarning,
            stacklevel=3,
        )
    if stretched:
        warnings.warn(
            f"{len(stretched)} of {len(found['names'])} images changed proportions "
            f"when resized to {size[0]}x{size[1]} (height x width), e.g. "
            f"{', '.join(stretched[:3])}. Pass aspect='crop' (centre crop) or "
            "aspect='pad' (black borders) to keep their proportions, or "
            "aspect='stretch' to stretch them without this warning.",
            UserWarning,
            stacklevel=3,
        )
    if unreadable:
        listed = "; ".join(f"{f} ({why})" for f, why in unreadable)
        warnings.warn(
            f"Skipped {len(unreadable)} unreadable image file(s): {listed}",
            UserWarning,
            stacklevel=3,
        )
    if cross_class:
        listed = "; ".join(f"{a} = {b}" for a, b in cross_class[:10])
        warnings.warn(
            f"{len(cross_class)} duplicate file(s) sit in a different class than "
            f"the identical file that was kept (dropped = kept): {listed}. Check "
            "the labels.",
            UserWarning,
            stacklevel=3,
        )
    if not found["names"]:
        raise ValueError(
            f"None of the {n_files} image files in {str(root)!r} could be read."
        )


def load_image_folder(
    path,
    *,
    color_mode="grayscale",
    size=None,
    aspect=None,
    interpolation="bilinear",
    deduplicate=False,
    on_error="warn",
    extensions=(".png", ".jpg", ".jpeg"),
    return_X_y=False,
    cache=None,
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
    aspect : {"stretch", "crop", "pad"}, default=None
        How ``size`` treats an image of other proportions: ``"stretch"`` it
        (squash it to the new proportions), ``"crop"`` the centre of the
        proportions of ``size`` then resize, or ``"pad"`` it with black
        borders to them. None stretches, with a warning naming how many
        images changed proportions (by more than 1%).
    interpolation : {"bilinear", "bicubic", "lanczos", "box", "nearest"}, \
            default="bilinear"
        Pillow resampling filter used by the resize (antialiased when shrinking).
    deduplicate : bool or "near", default=False
        True drops files whose bytes are identical (same MD5) to a file read
        before, as published lung X-ray GAN pipelines do. ``"near"`` also
        drops images nearly identical to one read before: their 16x16
        grayscale thumbnails differ by at most 2 gray levels (RMS, on
        0..255). That catches the same picture re-encoded (another JPEG
        quality, PNG to JPEG) or with its metadata changed, which would
        otherwise leak across cross-validation splits; not resized copies
        (usually), crops, flips or changes of brightness. A warning names
        the count and the first files dropped; all are listed in ``duplicates`` and
        ``near_duplicates``, and a second warning names duplicates that
        carry different classes.
    on_error : {"warn", "raise"}, default="warn"
        What to do with files Pillow cannot read: skip them and name them in one
        warning (and in ``unreadable``), or raise ``ValueError`` at the first.
    extensions : sequence of str, default=(".png", ".jpg", ".jpeg")
        File extensions to read, case-insensitive.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    cache : str or os.PathLike, default=None
        A ``.npy`` file to write the pixels to, image by image, for folders
        larger than memory: ``images`` and ``data`` are then that file opened
        read-only with ``mmap_mode="r"``, which ``DCGANEstimator.fit`` trains
        from without loading it (see :ref:`scaling`). Its folder must exist.
        A later call with the same options reuses the file, without decoding,
        as long as the image files are unchanged (same paths, sizes and
        modification times, recorded in ``cache + ".json"``); otherwise it is
        rewritten. None holds the images in memory.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        images : ndarray of shape (n_samples, H, W) or (n_samples, H, W, 3)
            ``uint8`` pixels (a read-only ``numpy.memmap`` with ``cache``).
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
        near_duplicates : list of (str, str)
            ``(dropped file, nearly identical file kept)`` pairs (empty
            unless ``deduplicate="near"``).
        stretched : list of str
            Files whose proportions ``size`` changed (only with
            ``aspect=None``).
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
    root = check_path(path, "path")
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
    if deduplicate != "near":
        if isinstance(deduplicate, str):
            raise ValueError(
                f"deduplicate must be True, False or 'near', got {deduplicate!r}."
            )
        check_flag(deduplicate, "deduplicate")
    if aspect not in (None, *_ASPECTS):
        raise ValueError(
            f"aspect must be None, 'stretch', 'crop' or 'pad', got {aspect!r}."
        )
    check_flag(return_X_y, "return_X_y")
    if cache is not None:
        cache = check_path(cache, "cache")
        if cache.suffix != ".npy":
            raise ValueError(
                f"cache must be the path of a .npy file, got {str(cache)!r}. Pass "
                "e.g. cache='images.npy'."
            )
        if not cache.parent.is_dir():
            raise FileNotFoundError(
                f"The folder of cache={str(cache)!r} does not exist; create it first."
            )
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

    options = {
        "color_mode": color_mode,
        "size": None if size is None else list(size),
        "aspect": aspect,
        "interpolation": interpolation,
        "deduplicate": deduplicate,
        "on_error": on_error,
        "extensions": list(exts),
    }
    read = functools.partial(
        _read_images,
        jobs,
        color_mode=color_mode,
        size=size,
        interpolation=interpolation,
        deduplicate=deduplicate,
        on_error=on_error,
        aspect=aspect,
    )
    if cache is None:
        rows = []
        found = read(rows)
        _report(found, len(jobs), root, size)
        images = np.stack(rows)
    else:
        key = cache_key(root, [f for f, _ in jobs], options)
        cached = read_cache(cache, key)
        if cached is None:
            forget_cache(cache)
            with NpyRowWriter(cache, len(jobs)) as rows:
                found = read(rows)
                _report(found, len(jobs), root, size)
            write_cache_record(cache, key, found)
            images = np.load(cache, mmap_mode="r")
        else:
            images, found = cached
            _report(found, len(jobs), root, size)
    labels, names = found["labels"], found["names"]
    duplicates = [tuple(pair) for pair in found["duplicates"]]
    near_duplicates = [tuple(pair) for pair in found.get("near_duplicates", [])]
    unreadable = [tuple(pair) for pair in found["unreadable"]]

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
        + (
            f"; {len(near_duplicates)} near-duplicate files dropped"
            if near_duplicates
            else ""
        )
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
        near_duplicates=near_duplicates,
        stretched=list(found.get("stretched", [])),
        unreadable=unreadable,
        DESCR=descr,
    )
