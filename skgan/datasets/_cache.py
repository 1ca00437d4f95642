"""The data cache: where downloads go, how they are fetched and verified.

Files are downloaded through a temporary file that replaces the target only
once complete and verified against a published MD5 sum, so an interrupted or
corrupt download never leaves a file that looks complete. A verified file is
remembered in a ``.md5`` sidecar (digest, size and modification time), so a
large file is hashed again only after it changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import urllib.request

from ..utils._checks import check_path
from ..utils._files import atomic_write

__all__ = ["get_data_home"]

logger = logging.getLogger(__name__)

_DOWNLOAD_TIMEOUT = 60  # seconds per socket operation
_CHUNK = 1 << 20
_urlopen = urllib.request.urlopen  # replaced in tests: never reach the network there


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
    str
        The path of the (now existing) folder.

    Examples
    --------
    >>> from skgan.datasets import get_data_home
    >>> get_data_home("~/my_cache")  # doctest: +SKIP
    '/home/me/my_cache'
    """
    if data_home is None:
        data_home = os.environ.get("SKGAN_DATA", os.path.join("~", "skgan_data"))
    data_home = str(check_path(data_home, "data_home"))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(target):
    return target.with_name(target.name + ".md5")


def _stamp(target, expected):
    stat = target.stat()
    return f"{expected} {stat.st_size} {stat.st_mtime_ns}"


def _remember(target, expected):
    """Record in the sidecar that ``target``, as it is now, has MD5 ``expected``."""
    with contextlib.suppress(OSError), atomic_write(_sidecar(target), fsync=False) as f:
        f.write((_stamp(target, expected) + "\n").encode())


def _verify_cached(target, expected, url, hint):
    """Check a cached file's MD5 unless the sidecar vouches for it unchanged.

    ``hint`` ends the error message: what else the user can do.
    """
    with contextlib.suppress(OSError):
        if _sidecar(target).read_text().strip() == _stamp(target, expected):
            return
    actual = _md5(target)
    if actual != expected:
        raise OSError(
            f"The cached file {target} has MD5 {actual}, but the official file "
            f"({url}) has MD5 {expected}: it is incomplete, corrupt or a different "
            f"file. Delete it to download it again, or {hint}"
        )
    _remember(target, expected)


def _download(url, target, expected, hint):
    """Stream ``url`` to ``target`` atomically and check its MD5.

    ``hint`` ends the error messages: how to place the file by hand.
    """
    logger.info("Downloading %s to %s", url, target)
    # Zenodo serves the file itself (not a landing page) with ?download=1.
    request = urllib.request.Request(
        f"{url}?download=1", headers={"User-Agent": "skgan"}
    )
    digest = hashlib.md5(usedforsecurity=False)
    with atomic_write(target) as out:
        try:
            with _urlopen(request, timeout=_DOWNLOAD_TIMEOUT) as response:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, http.client.HTTPException) as exc:
            raise OSError(f"Could not download {url}: {exc}. {hint}") from exc
        actual = digest.hexdigest()
        if actual != expected:
            raise OSError(
                f"The file downloaded from {url} has MD5 {actual}, expected "
                f"{expected}; it was discarded. Try again later. {hint}"
            )
    _remember(target, expected)  # verified: no need to hash it again
