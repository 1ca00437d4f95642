"""Atomic file writes: a file is either absent, its old self, or complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path, *, fsync=True):
    """Write ``path`` through a temporary file in the same folder.

    Yields the temporary file, open for binary writing. When the block ends
    normally the file is flushed (and synced to disk with ``fsync=True``) and
    then renamed over ``path`` in one step; when the block raises (a failed
    check, a broken download, Ctrl-C), the temporary file is removed and
    ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write. Its folder must exist.
    fsync : bool, default=True
        Sync the data to disk before the rename.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
