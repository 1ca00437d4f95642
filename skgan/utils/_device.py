"""Device choice: the only module that probes for accelerators."""

import warnings

import torch

__all__ = ["resolve_device", "cpu_fallback"]


def _mps_available():
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def resolve_device(device="auto"):
    """Return the :class:`torch.device` to compute on.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "mps"}, str or torch.device, default="auto"
        ``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit device
        that is not available raises ``ValueError``.

    Returns
    -------
    device : torch.device
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device. Use 'auto', 'cpu', "
            "'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine. Use device='auto' or device='cpu'."
        )
    if resolved.type == "cuda" and resolved.index is not None:
        if resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(
            f"device={device!r} was requested but MPS is not available. Use "
            "device='auto' or device='cpu'."
        )
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or 'mps'."
        )
    return resolved


def cpu_fallback(device):
    """Return ``device`` if it can be used here, else the CPU with a warning.

    Used when loading a model trained elsewhere (e.g. on CUDA) on a machine
    without that accelerator.
    """
    device = torch.device(device)
    usable = (
        device.type == "cpu"
        or (device.type == "cuda" and torch.cuda.is_available())
        or (device.type == "mps" and _mps_available())
    )
    if usable:
        return device
    warnings.warn(
        f"This model was trained on {device}, which is not available here; "
        "it is loaded on the CPU.",
        RuntimeWarning,
        stacklevel=3,
    )
    return torch.device("cpu")
