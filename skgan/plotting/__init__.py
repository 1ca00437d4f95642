"""Look at images and training runs: image grids and training curves.

Image grids accept every layout skgan accepts: flattened rows ``(n, H*W*C)``,
``(n, H, W)`` and ``(n, H, W, C)`` with 1, 3 (RGB) or 4 (RGBA) channels.

Value ranges for display: ``uint8`` images are shown as ``0..255``. Any other
dtype is shown over ``data_range=(low, high)`` when given, else over the
array's own minimum and maximum (so the contrast is stretched to the full
range, and a constant array is shown black). Values outside ``data_range`` are
clipped. Pass ``data_range`` to compare grids on one scale, e.g. snapshots
taken at different epochs.

:func:`make_image_grid` and :func:`save_image_grid` use Pillow only.
:func:`plot_image_grid` and :func:`plot_history` need matplotlib, an optional
extra (``pip install skgan[plots]``) imported only when they are called.

To save a grid of samples during training, every few epochs, pass a
:class:`skgan.callbacks.SampleSnapshots` in the estimator's ``callbacks``.
"""

from ._figures import plot_history, plot_image_grid
from ._grids import make_image_grid, save_image_grid

__all__ = [
    "make_image_grid",
    "plot_history",
    "plot_image_grid",
    "save_image_grid",
]
