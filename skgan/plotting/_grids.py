"""Image grids with Pillow: geometry, value ranges, class rows, PNG files."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..utils._checks import check_int, check_path
from ..utils._validation import check_image_array, infer_image_shape, to_nhwc

__all__ = ["make_image_grid", "save_image_grid"]


# --------------------------------------------------------------------------- #
# Grid geometry, shared by the PNG and the matplotlib figure
# --------------------------------------------------------------------------- #


def check_data_range(data_range):
    """Return ``data_range`` as ``(low, high)`` floats, or raise a ValueError."""
    try:
        low, high = (float(v) for v in data_range)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            "data_range must be a pair (low, high) of finite numbers with "
            f"low < high, e.g. (0, 1) or (-1, 1); got {data_range!r}."
        )
    return low, high


def _display_range(X, data_range):
    """Return ``(low, high)``: the values mapped to black and white."""
    if data_range is not None:
        return check_data_range(data_range)
    if X.dtype == np.uint8:
        return 0.0, 255.0
    return float(np.min(X)), float(np.max(X))


def _to_unit(images, image_shape, data_range):
    """Validate images and return them as float ``(n, H, W, C)`` in ``[0, 1]``."""
    X = check_image_array(images, name="images")
    shape = infer_image_shape(X.shape[1:], image_shape)
    if shape[2] not in (1, 3, 4):
        raise ValueError(
            f"Cannot display images with {shape[2]} channels; only 1 (grayscale), "
            "3 (RGB) or 4 (RGBA) can be shown. Select channels first, e.g. "
            "images[..., :3] or images[..., [0]]."
        )
    low, high = _display_range(X, data_range)
    nhwc = to_nhwc(X, shape).astype(np.float64)
    if high <= low:
        return np.zeros_like(nhwc)
    return np.clip((nhwc - low) / (high - low), 0.0, 1.0)


def _label_text(value, label_names):
    if label_names is None:
        return str(value)
    if isinstance(label_names, Mapping):
        if value not in label_names:
            raise ValueError(f"label_names has no entry for label {value!r}.")
        return str(label_names[value])
    if not isinstance(value, numbers.Integral) or not 0 <= value < len(label_names):
        raise ValueError(
            f"Label {value!r} is not an index into label_names (of length "
            f"{len(label_names)}); pass label_names as a dict for other labels."
        )
    return str(label_names[int(value)])


def _layout(n, labels, label_names, n_cols):
    """Place ``n`` images on a grid.

    Returns ``(rows, cols, n_rows, n_cols, row_titles)``: the cell of each image,
    the grid size and ``{row: text}`` for the first row of each class. Without
    labels, images fill rows in order; with labels, each class (in sorted order)
    starts a new row and keeps its images' order.
    """
    if n_cols is None:
        n_cols = max(1, math.ceil(math.sqrt(n)))
    n_cols = check_int(n_cols, "n_cols")
    if label_names is not None and not isinstance(label_names, Mapping):
        if isinstance(label_names, str) or not hasattr(label_names, "__len__"):
            raise TypeError(
                "label_names must be a sequence (indexed by integer labels) or a "
                f"dict mapping labels to names, got {type(label_names).__name__}."
            )
    if labels is None:
        index = np.arange(n)
        return index // n_cols, index % n_cols, math.ceil(n / n_cols), n_cols, {}
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(
            f"labels must be 1-D with one label per image ({n}), got shape "
            f"{labels.shape}."
        )
    rows, cols = np.empty(n, dtype=int), np.empty(n, dtype=int)
    titles, row = {}, 0
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        titles[row] = _label_text(value.item(), label_names)
        rows[members] = row + np.arange(len(members)) // n_cols
        cols[members] = np.arange(len(members)) % n_cols
        row += math.ceil(len(members) / n_cols)
    return rows, cols, row, n_cols, titles


def _mosaic(unit, rows, cols, n_rows, n_cols, padding, pad_value):
    """Paste ``(n, H, W, C)`` images into one ``(H', W', C)`` float array."""
    _, h, w, c = unit.shape
    out = np.full(
        (n_rows * (h + padding) + padding, n_cols * (w + padding) + padding, c),
        pad_value,
        dtype=np.float64,
    )
    if c == 4:  # padding is opaque
        out[..., 3] = 1.0
    for img, r, k in zip(unit, rows, cols):
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        out[top : top + h, left : left + w] = img
    return out


def grid_mosaic(
    images, image_shape, labels, label_names, n_cols, data_range, padding, pad_value
):
    """Validate the grid arguments and build the grid as floats in ``[0, 1]``.

    Returns ``(mosaic, cell, padding, titles)``: the ``(H', W', C)`` array, the
    height of one image, the checked padding and ``{row: class name}``.
    """
    padding = check_int(padding, "padding", minimum=0)
    if not (isinstance(pad_value, numbers.Real) and 0.0 <= pad_value <= 1.0):
        raise ValueError(
            f"pad_value must be a number in [0, 1] (0 black, 1 white), got "
            f"{pad_value!r}."
        )
    unit = _to_unit(images, image_shape, data_range)
    rows, cols, n_rows, n_cols, titles = _layout(len(unit), labels, label_names, n_cols)
    mosaic = _mosaic(unit, rows, cols, n_rows, n_cols, padding, float(pad_value))
    return mosaic, unit.shape[1], padding, titles


# --------------------------------------------------------------------------- #
# Pillow grids
# --------------------------------------------------------------------------- #


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _write_titles(grid, titles, cell, padding, pad_value, scale):
    """Return ``grid`` with a column of class names on its left."""
    mode = grid.mode
    font = _font(int(np.clip(round(0.4 * cell * scale), 10, 32)))
    probe = ImageDraw.Draw(grid)
    boxes = {
        row: probe.textbbox((0, 0), text, font=font) for row, text in titles.items()
    }
    margin = max(2, padding * scale)
    left = max(b[2] - b[0] for b in boxes.values()) + 2 * margin
    background = round(pad_value * 255)
    fill = {
        "L": background,
        "RGB": (background,) * 3,
        "RGBA": (background,) * 3 + (255,),
    }
    ink = 255 if pad_value < 0.5 else 0
    ink = {"L": ink, "RGB": (ink,) * 3, "RGBA": (ink,) * 3 + (255,)}[mode]
    labelled = Image.new(mode, (grid.width + left, grid.height), fill[mode])
    labelled.paste(grid, (left, 0))
    draw = ImageDraw.Draw(labelled)
    step = (cell + padding) * scale
    for row, text in titles.items():
        x0, y0, x1, y1 = boxes[row]
        top = padding * scale + row * step + (cell * scale - (y1 - y0)) / 2 - y0
        draw.text((left - margin - (x1 - x0) - x0, top), text, fill=ink, font=font)
    return labelled


def make_image_grid(
    images,
    *,
    image_shape=None,
    labels=None,
    label_names=None,
    n_cols=None,
    data_range=None,
    padding=2,
    pad_value=0.0,
    scale=1,
):
    """Arrange images on a grid, as a Pillow image (no matplotlib needed).

    Parameters
    ----------
    images : array-like of shape (n, H*W*C), (n, H, W) or (n, H, W, C)
        The images, ``uint8`` or any numeric dtype; C is 1, 3 or 4.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)``; needed only for flattened rows that are not
        square single-channel images.
    labels : array-like of shape (n,), default=None
        Class of each image. When given, each class starts a new row (classes
        in sorted order, images in their given order) and its name is written
        in a column on the left.
    label_names : sequence or dict, default=None
        Text for each label: ``label_names[label]``, e.g. ``target_names``.
        Default: ``str(label)``.
    n_cols : int, default=None
        Images per row; default ``ceil(sqrt(n))``.
    data_range : (float, float), default=None
        Values shown as black and white. Default: ``0..255`` for ``uint8``,
        else the array's min and max.
    padding : int, default=2
        Pixels between images and around the grid, before scaling.
    pad_value : float, default=0.0
        Gray level of the padding, from 0 (black) to 1 (white).
    scale : int, default=1
        Enlarge the grid by this integer factor (nearest neighbour), so that
        small images stay sharp.

    Returns
    -------
    grid : PIL.Image.Image
        Mode ``"L"``, ``"RGB"`` or ``"RGBA"`` after the images' channels.

    See Also
    --------
    save_image_grid : Write the grid to a PNG file.
    plot_image_grid : The same grid in a matplotlib figure.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.plotting import make_image_grid
    >>> grid = make_image_grid(np.zeros((6, 8, 8), np.uint8), n_cols=3)
    >>> grid.size, grid.mode
    ((32, 22), 'L')
    """
    scale = check_int(scale, "scale")
    mosaic, cell, padding, titles = grid_mosaic(
        images,
        image_shape,
        labels,
        label_names,
        n_cols,
        data_range,
        padding,
        pad_value,
    )
    pixels = np.rint(mosaic * 255.0).astype(np.uint8)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    grid = Image.fromarray(pixels[..., 0] if mode == "L" else pixels)
    if not titles:
        return grid
    return _write_titles(grid, titles, cell, padding, pad_value, scale)


def save_image_grid(images, path, **kwargs):
    """Write an image grid to a PNG file, with Pillow only.

    Parameters
    ----------
    images : array-like of shape (n, H*W*C), (n, H, W) or (n, H, W, C)
        The images; see :func:`make_image_grid`.
    path : str or os.PathLike
        The file to write; its folder must exist. The format follows the
        extension (``.png`` recommended: lossless).
    **kwargs
        ``image_shape``, ``labels``, ``label_names``, ``n_cols``,
        ``data_range``, ``padding``, ``pad_value``, ``scale``: see
        :func:`make_image_grid`.

    Returns
    -------
    path : pathlib.Path
        The file written.

    See Also
    --------
    make_image_grid : The grid as a Pillow image, with every option explained.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.plotting import save_image_grid
    >>> save_image_grid(np.zeros((16, 28, 28), np.uint8), "grid.png")  # doctest: +SKIP
    PosixPath('grid.png')
    """
    path = check_path(path)
    grid = make_image_grid(images, **kwargs)
    try:
        grid.save(path)
    except ValueError as exc:  # unknown extension
        raise ValueError(
            f"Cannot choose an image format for {str(path)!r} ({exc}); give the "
            "path a .png extension."
        ) from exc
    return path
