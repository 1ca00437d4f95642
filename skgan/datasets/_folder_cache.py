"""The pixels of an image folder written to a ``.npy`` file, for folders beyond RAM.

:func:`skgan.datasets.load_image_folder` with ``cache=PATH`` writes each image,
as it is decoded, to ``PATH`` (a uint8 ``.npy`` file, through a temporary file
renamed when complete) and returns it opened with ``mmap_mode="r"``: memory
holds one image at a time, not the folder. A sidecar ``PATH.json`` records
what the file was made from (the options, and each image file's path, size
and modification time) and what the loader found (kept files, labels,
duplicates, unreadable files). A later call with the same options on an
unchanged folder opens the file without decoding anything.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct

import numpy as np

from ..utils._files import atomic_write

__all__ = [
    "NpyRowWriter",
    "cache_key",
    "forget_cache",
    "read_cache",
    "write_cache_record",
]

_FORMAT = 1  # of the sidecar; a change invalidates old caches


def _sidecar(path):
    return path.with_name(path.name + ".json")


def _npy_header(shape, length=None):
    """The version-1.0 ``.npy`` header of a C-order uint8 array of ``shape``.

    Padded with spaces to ``length`` bytes (default: the next multiple of 64,
    as NumPy writes it), so that a header for fewer rows can later replace
    it in place.
    """
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    if length is None:
        length = math.ceil((10 + len(text) + 1) / 64) * 64
    text = text.ljust(length - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


class NpyRowWriter:
    """Write uint8 images, one at a time, to a ``.npy`` file of at most ``n`` rows.

    Used as ``with NpyRowWriter(path, n) as rows: rows.append(image)``; when
    the block ends normally the header is set to the number of rows written
    and the file replaces ``path`` in one step (nothing is left behind when
    it raises). Memory holds one image.

    Parameters
    ----------
    path : pathlib.Path
        The ``.npy`` file to write.
    n : int
        The most rows that will be appended.
    """

    def __init__(self, path, n):
        self.path = path
        self.n = n
        self.count = 0
        self.shape = None
        self._file = None
        self._writing = None
        self._header_length = None

    def __enter__(self):
        self._writing = atomic_write(self.path, fsync=False)
        self._file = self._writing.__enter__()
        return self

    def append(self, image):
        """Write ``image`` (uint8, the same shape as the first) as the next row."""
        if self.shape is None:
            self.shape = image.shape
            header = _npy_header((self.n, *self.shape))
            self._header_length = len(header)
            self._file.write(header)
        self._file.write(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
        self.count += 1

    def __exit__(self, *exc_info):
        if exc_info[0] is None and self.shape is not None:
            self._file.seek(0)
            self._file.write(
                _npy_header((self.count, *self.shape), self._header_length)
            )
            self._file.seek(0, 2)
        return self._writing.__exit__(*exc_info)


def cache_key(root, files, options):
    """What the cache depends on: the options and each file's path, size, mtime."""
    listed = []
    for path in files:
        stat = path.stat()
        listed.append([str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns])
    return {"format": _FORMAT, "options": options, "files": listed}


def _file_stamp(path):
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def read_cache(path, key):
    """``(images, record)`` from the cache at ``path`` if made for ``key``, else None.

    ``images`` is the ``.npy`` file opened read-only with ``mmap_mode="r"``;
    ``record`` what :func:`write_cache_record` stored.
    """
    try:
        record = json.loads(_sidecar(path).read_text())
        if record.get("key") != key or record.get("stamp") != _file_stamp(path):
            return None
        images = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if images.dtype != np.uint8 or len(images) != len(record["names"]):
        return None
    return images, record


def forget_cache(path):
    """Remove the sidecar first: a cache is never trusted while being rewritten."""
    with contextlib.suppress(FileNotFoundError):
        _sidecar(path).unlink()


def write_cache_record(path, key, record):
    """Store ``record`` (JSON values) for the ``.npy`` file now at ``path``."""
    record = dict(record, key=key, stamp=_file_stamp(path))
    with atomic_write(_sidecar(path), fsync=False) as out:
        out.write(json.dumps(record).encode())
