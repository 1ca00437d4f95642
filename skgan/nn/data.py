"""Training images kept as the user gave them, scaled one batch at a time.

:class:`ScaledImages` holds the user's array (uint8, float, a ``numpy.memmap``
larger than memory) without copying it, and hands the training loop each batch
as float32 ``(n, C, H, W)`` in ``[-1, 1]``: the rows are gathered, converted
and scaled on their own, so memory grows with the batch, not with the data.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["ScaledImages"]

#: Bytes per chunk when a whole array is copied to a GPU.
CHUNK_BYTES = 64 << 20

# Dtypes torch.from_numpy takes (in native byte order); others are read as float64.
_TORCH_DTYPES = frozenset(
    np.dtype(t)
    for t in (
        np.bool_,
        np.uint8,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.float16,
        np.float32,
        np.float64,
    )
)


def _as_torch(rows, *, copy):
    """A tensor of the NumPy rows ``rows``, copied if ``copy`` or if it must be.

    ``copy=False`` is for rows that are already a fresh array (a fancy index),
    never the user's memory: the tensor may then share it.
    """
    if rows.dtype in _TORCH_DTYPES and rows.dtype.isnative:
        return torch.from_numpy(np.array(rows, order="C", copy=copy or None))
    return torch.from_numpy(rows.astype(np.float64, order="C"))


class ScaledImages:
    """Images of any dtype, served as float32 ``(n, C, H, W)`` batches in ``[-1, 1]``.

    Indexing with a 1-D tensor of row numbers, ``images[index]``, reads those
    rows only, maps ``[low, high]`` to ``[-1, 1]`` exactly as
    ``(x - low) * (2 / (high - low)) - 1`` in float64 then rounds to float32,
    and returns them on ``device`` in ``memory_format``. The arithmetic and the
    strides are those of scaling the whole array at once, so training gives
    the same numbers bit for bit.

    On CUDA the rows are converted on the GPU. The array is copied there once,
    in its own dtype (a quarter of float32 for uint8), when it takes at most a
    quarter of the free GPU memory; otherwise each batch is gathered on the
    host into pinned memory and copied asynchronously. On other devices the
    conversion runs on the CPU.

    Parameters
    ----------
    images : ndarray of shape (n, ...)
        The images, ``n`` rows of ``H * W * C`` values each in any layout that
        reshapes (C order) to ``(H, W, C)``. Never copied or written.
    image_shape : tuple of int
        ``(height, width, channels)``.
    low, high : float
        The value range mapped to ``[-1, 1]``; with ``high == low`` every
        value maps to -1.
    device : str or torch.device
        Where the batches are returned.
    memory_format : torch.memory_format, default=torch.contiguous_format
        Memory order of the batches.
    resident : bool or None, default=None
        Keep a copy of the array, in its own dtype, on ``device`` and gather
        batches there. None decides as above (CUDA only, when it fits).

    Attributes
    ----------
    shape : tuple of int
        ``(n, C, H, W)``.
    """

    def __init__(
        self,
        images,
        *,
        image_shape,
        low,
        high,
        device,
        memory_format=torch.contiguous_format,
        resident=None,
    ):
        self.images = images
        self.image_shape = tuple(int(s) for s in image_shape)
        height, width, channels = self.image_shape
        self.shape = (len(images), channels, height, width)
        span = high - low
        self.low = low
        self.scale = 2.0 / span if span > 0 else 0.0
        self.device = torch.device(device)
        self.memory_format = memory_format
        if resident is None:
            resident = self._fits_on_gpu()
        self._stored = self._copy_to_device() if resident else None

    def __len__(self):
        return self.shape[0]

    def _fits_on_gpu(self):
        if self.device.type != "cuda":
            return False
        native = self.images.dtype in _TORCH_DTYPES and self.images.dtype.isnative
        itemsize = self.images.dtype.itemsize if native else 8
        free, _ = torch.cuda.mem_get_info(self.device)
        return self.images.size * itemsize <= free // 4

    def _copy_to_device(self):
        """The whole array on ``device``, copied a chunk of rows at a time."""
        n = len(self.images)
        step = max(1, CHUNK_BYTES // max(1, self.images[:1].nbytes))
        stored = None
        for start in range(0, n, step):
            chunk = _as_torch(self.images[start : start + step], copy=True)
            if stored is None:
                shape = (n, *chunk.shape[1:])
                stored = torch.empty(shape, dtype=chunk.dtype, device=self.device)
            stored[start : start + len(chunk)].copy_(chunk)
        return stored

    def __getitem__(self, index):
        """Rows ``index`` (a 1-D integer tensor, any device), scaled, on ``device``."""
        if self._stored is not None:
            raw = self._stored[index.to(self._stored.device)]
        else:
            raw = _as_torch(self.images[index.cpu().numpy()], copy=False)
            if self.device.type == "cuda":
                raw = raw.pin_memory().to(self.device, non_blocking=True)
        # The ops and rounding of ImageLayout.to_model, on this batch only
        # (in place: ``raw`` is a fresh copy of the rows in every case).
        values = raw.to(torch.float64)
        values.sub_(self.low).mul_(self.scale).sub_(1.0)
        values = values.to(torch.float32).reshape(-1, *self.image_shape)
        height, width, channels = self.image_shape
        if channels == 1:  # NCHW strides, as the whole-array path gave them
            nchw = values.reshape(-1, 1, height, width)
        else:
            nchw = values.permute(0, 3, 1, 2)
        return nchw.to(self.device).contiguous(memory_format=self.memory_format)
