"""The container of skgan model files: a ZIP with a JSON header and a tensor member.

Written atomically by :func:`write_archive`; :func:`read_archive` tells a
damaged model file from a foreign one and refuses both with a ``ValueError``
naming the file.
"""

from __future__ import annotations

import json
import zipfile
import zlib

from ..utils._files import atomic_write

__all__ = [
    "HEADER",
    "TENSORS",
    "WEIGHTS",
    "invalid",
    "read_archive",
    "write_archive",
]

#: Value of the ``format`` field of ``skgan.json``.
FORMAT_NAME = "skgan-model"
HEADER = "skgan.json"
#: The ``torch.save`` tensor member of format 1 files.
TENSORS = "tensors.pt"
#: The safetensors member of format 2 and later.
WEIGHTS = "weights.safetensors"
_MAXHEADER_BYTES = 64 * 2**20
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: equal models give equal files


def write_archive(path, members):
    """Write ``members`` ({name: (bytes, compress)}) as a ZIP to ``path`` atomically."""
    with atomic_write(path) as out:
        _write_zip(out, members)


def _write_zip(out, members):
    """Write ``members`` ({name: (bytes, compress)}) as a ZIP to the file ``out``."""
    with zipfile.ZipFile(out, "w") as zf:
        for name, (data, compress) in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = (
                zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            )
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def invalid(path, what):
    return ValueError(f"{path} is not a valid skgan model file: {what}")


def _starts_like_a_model_file(path):
    """Whether ``path`` begins with the ZIP entry ``skgan.json``, as saved files do.

    Tells a damaged model file from a foreign one: a truncated model file can
    look like the torch archive stored inside it.
    """
    name = HEADER.encode()
    with open(path, "rb") as f:
        head = f.read(30 + len(name))
    return (
        head[:4] == b"PK\x03\x04"
        and int.from_bytes(head[26:28], "little") == len(name)
        and head[30:] == name
    )


def read_archive(path):
    """Return ``(header dict, {member name: bytes})`` of a model file.

    The members are the tensor members present (:data:`TENSORS`,
    :data:`WEIGHTS`); which one counts depends on the header's format version.
    """
    ours = _starts_like_a_model_file(path)
    damaged = (
        f"{path} is a truncated or corrupt skgan model file ({{}}). Save the "
        "model again, or copy the file again if it was transferred."
    )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if HEADER not in names:
                if ours:
                    raise ValueError(damaged.format(f"it lists no {HEADER}"))
                hint = ""
                if any(n.endswith("data.pkl") for n in names):
                    hint = " It looks like a torch.save file."
                elif any(n.endswith(".npy") for n in names):
                    hint = " It looks like a NumPy .npz file."
                raise ValueError(
                    f"{path} is not an skgan model file: the archive has no "
                    f"{HEADER}.{hint} Model files are written by "
                    "skgan.persistence.save_model."
                )
            if zf.getinfo(HEADER).file_size > _MAXHEADER_BYTES:
                raise invalid(path, f"{HEADER} is implausibly large.")
            raw = zf.read(HEADER)
            blobs = {n: zf.read(n) for n in (TENSORS, WEIGHTS) if n in names}
    except (PermissionError, FileNotFoundError):
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        zlib.error,
        OSError,
    ) as exc:
        # OSError: damaged offsets make zipfile seek before the file start.
        if ours:
            raise ValueError(damaged.format(exc)) from None
        raise ValueError(
            f"{path} is not an skgan model file ({exc}). Model files are "
            "written by skgan.persistence.save_model."
        ) from None
    except NotImplementedError as exc:  # e.g. an unsupported compression method
        raise invalid(path, str(exc)) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise invalid(path, f"{HEADER} is not valid JSON ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{path} is not an skgan model file: {HEADER} does not declare "
            f"format {FORMAT_NAME!r}."
        )
    return header, blobs
