"""Look at images and training runs: image grids, training curves, snapshots.

Image grids accept every layout skgan accepts: flattened rows ``(n, H*W*C)``,
``(n, H, W)`` and ``(n, H, W, C)`` with 1, 3 (RGB) or 4 (RGBA) channels.

Value ranges for display: ``uint8`` images are shown as ``0..255``. Any other
dtype is shown over ``data_range=(low, high)`` when given, else over the
array's own minimum and maximum (so the contrast is stretched to the full
range, and a constant array is shown black). Values outside ``data_range`` are
clipped. Pass ``data_range`` to compare grids on one scale, e.g. snapshots
taken at different epochs.

:func:`save_image_grid` and :class:`SampleSnapshots` use Pillow only.
:func:`plot_image_grid` and :func:`plot_history` need matplotlib, an optional
extra (``pip install skgan[plots]``) imported only when they are called.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from sklearn.exceptions import NotFittedError

from ._validation import (
    check_image_array,
    check_sample_count,
    infer_image_shape,
    to_nhwc,
)

__all__ = [
    "SampleSnapshots",
    "make_image_grid",
    "plot_history",
    "plot_image_grid",
    "save_image_grid",
]


def _pyplot(caller):
    """Import matplotlib.pyplot, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, an optional dependency of skgan. Install "
            "it with: pip install skgan[plots]  (or: pip install matplotlib). "
            "save_image_grid writes PNG grids without matplotlib."
        ) from exc
    return plt


# --------------------------------------------------------------------------- #
# Grid geometry, shared by the PNG and the matplotlib figure
# --------------------------------------------------------------------------- #


def _check_int(value, name, lowest):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    if value < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {value}.")
    return int(value)


def _display_range(X, data_range):
    """Return ``(low, high)``: the values mapped to black and white."""
    if data_range is not None:
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
    n_cols = _check_int(n_cols, "n_cols", 1)
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


def _grid(
    images, image_shape, labels, label_names, n_cols, data_range, padding, pad_value
):
    padding = _check_int(padding, "padding", 0)
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
    """
    scale = _check_int(scale, "scale", 1)
    mosaic, cell, padding, titles = _grid(
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

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.plotting import save_image_grid
    >>> save_image_grid(np.zeros((16, 28, 28), np.uint8), "grid.png")  # doctest: +SKIP
    PosixPath('grid.png')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike, got {type(path).__name__}."
        )
    path = Path(path)
    grid = make_image_grid(images, **kwargs)
    try:
        grid.save(path)
    except ValueError as exc:  # unknown extension
        raise ValueError(
            f"Cannot choose an image format for {str(path)!r} ({exc}); give the "
            "path a .png extension."
        ) from exc
    return path


# --------------------------------------------------------------------------- #
# matplotlib figures
# --------------------------------------------------------------------------- #


def plot_image_grid(
    images,
    *,
    image_shape=None,
    labels=None,
    label_names=None,
    n_cols=None,
    data_range=None,
    padding=2,
    pad_value=0.0,
    title=None,
    figsize=None,
    ax=None,
):
    """Show images on a grid in a matplotlib figure.

    The grid is the one :func:`make_image_grid` builds, drawn with one
    ``imshow``; class names (with ``labels``) are the y tick labels of each
    class's first row.

    Parameters
    ----------
    images : array-like of shape (n, H*W*C), (n, H, W) or (n, H, W, C)
        The images, ``uint8`` or any numeric dtype; C is 1, 3 or 4.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` for flattened rows that are not square
        single-channel images.
    labels : array-like of shape (n,), default=None
        Class of each image: each class starts a new row, named on the left.
    label_names : sequence or dict, default=None
        Text for each label (``label_names[label]``); default ``str(label)``.
    n_cols : int, default=None
        Images per row; default ``ceil(sqrt(n))``.
    data_range : (float, float), default=None
        Values shown as black and white. Default: ``0..255`` for ``uint8``,
        else the array's min and max.
    padding : int, default=2
        Pixels between images.
    pad_value : float, default=0.0
        Gray level of the padding, 0 (black) to 1 (white).
    title : str, default=None
        Axes title.
    figsize : (float, float), default=None
        Figure size in inches; by default about 0.6 inch per image. Ignored
        when ``ax`` is given.
    ax : matplotlib.axes.Axes, default=None
        Draw into this Axes instead of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the grid.
    """
    plt = _pyplot("plot_image_grid")
    mosaic, cell, padding, titles = _grid(
        images,
        image_shape,
        labels,
        label_names,
        n_cols,
        data_range,
        padding,
        pad_value,
    )
    if ax is None:
        if figsize is None:
            height, width = mosaic.shape[:2]
            unit = 0.6 / (cell + padding)
            figsize = (
                min(16.0, max(2.5, width * unit + (1.5 if titles else 0.3))),
                min(16.0, max(2.0, height * unit + (0.6 if title else 0.3))),
            )
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    if mosaic.shape[2] == 1:
        ax.imshow(
            mosaic[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest"
        )
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks(
        [padding + row * (cell + padding) + (cell - 1) / 2 for row in titles],
        list(titles.values()),
    )
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title)
    return fig


_LOSS_KEYS = (("d_loss", "discriminator"), ("g_loss", "generator"))
_ACCURACY_KEYS = (("d_real_accuracy", "D on real"), ("d_fake_accuracy", "D on fake"))


def _history_records(history):
    """Return the history as a list of dicts, from an estimator or a list."""
    if hasattr(history, "history_"):
        history = history.history_
    elif hasattr(history, "fit"):
        raise NotFittedError(
            f"This {type(history).__name__} has no history_ yet; call fit "
            "before plot_history."
        )
    elif hasattr(history, "to_dict") and not isinstance(history, Mapping):
        history = history.to_dict("records")  # a pandas DataFrame
    if isinstance(history, Mapping) or not isinstance(history, (list, tuple)):
        raise TypeError(
            "plot_history expects a fitted estimator or its history_: a list of "
            "dicts, one per epoch; got "
            f"{type(history).__name__}."
        )
    if not history:
        raise ValueError("The history is empty: no epoch has been completed yet.")
    for i, record in enumerate(history):
        if not isinstance(record, Mapping):
            raise TypeError(
                f"history entry {i} is a {type(record).__name__}, not a dict."
            )
    return list(history)


def _series(records, key):
    values = []
    for i, record in enumerate(records):
        value = record.get(key)
        if value is None:
            values.append(math.nan)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            values.append(float(value))
        else:
            raise TypeError(
                f"history entry {i}: {key!r} must be a number, got {value!r}."
            )
    return np.asarray(values)


def plot_history(history_or_estimator, *, figsize=None):
    """Plot training curves: D/G losses and D accuracies per epoch.

    Parameters
    ----------
    history_or_estimator : estimator or list of dict
        A fitted estimator with a ``history_`` attribute, or such a history:
        one dict per epoch with ``"epoch"`` (1-based; the position is used when
        it is missing), ``"d_loss"``, ``"g_loss"``, ``"d_real_accuracy"`` and
        ``"d_fake_accuracy"``. Other keys are ignored; missing values are
        drawn as gaps. A pandas DataFrame with these columns works too.
    figsize : (float, float), default=None
        Figure size in inches; default ``(10, 4)`` for both panels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One panel for the losses and one for the accuracies (with the 0.5
        chance level); a panel is left out when none of its keys are present.
    """
    records = _history_records(history_or_estimator)
    epochs = _series(
        [{"epoch": r.get("epoch", i + 1)} for i, r in enumerate(records)], "epoch"
    )
    panels = []
    for keys, ylabel in ((_LOSS_KEYS, "loss"), (_ACCURACY_KEYS, "accuracy")):
        lines = [(label, _series(records, key)) for key, label in keys]
        lines = [(label, y) for label, y in lines if np.isfinite(y).any()]
        if lines:
            panels.append((ylabel, lines))
    if not panels:
        raise ValueError(
            "The history holds none of the keys plot_history draws: "
            + ", ".join(k for k, _ in _LOSS_KEYS + _ACCURACY_KEYS)
            + "."
        )
    plt = _pyplot("plot_history")
    if figsize is None:
        figsize = (5.0 * len(panels), 4.0)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    marker = "o" if len(records) <= 30 else None
    for ax, (ylabel, lines) in zip(axes[0], panels):
        for label, y in lines:
            ax.plot(epochs, y, marker=marker, markersize=3, label=label)
        if ylabel == "accuracy":
            ax.axhline(0.5, color="gray", linestyle=":", linewidth=1)
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- #
# Training callback
# --------------------------------------------------------------------------- #


class SampleSnapshots:
    """Save a grid of generated images every ``every`` epochs (fixed noise).

    A training callback: pass it in the estimator's ``callbacks`` list. At the
    end of each epoch the estimator calls ``snapshots(estimator, record)``;
    when ``record["epoch"]`` is a multiple of ``every``, it draws
    ``estimator.sample(n_images, random_state=random_state)`` and writes
    ``{directory}/{prefix}_{epoch:04d}.png`` with :func:`save_image_grid`.
    Because ``random_state`` is the same at every call, the grids show how the
    same noise vectors evolve. A conditional model's ``(X, y)`` samples are
    grouped by class, one class per row block.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder for the PNG files; created when the first one is written.
    every : int, default=1
        Save at epochs ``every``, ``2 * every``, ...
    n_images : int, default=64
        Images per grid.
    random_state : int or None, default=0
        Seed passed to ``sample`` (fixed noise). ``None`` draws new noise each
        time.
    prefix : str, default="epoch"
        File name prefix.
    n_cols : int, default=None
        Images per row; default ``ceil(sqrt(n_images))``.
    data_range : (float, float), default=None
        Values shown as black and white, the same for every snapshot. Default:
        ``0..255`` for ``uint8`` samples; otherwise the training data's range
        when the estimator exposes it (``image_layout_.data_min`` and
        ``data_max``), else each sample's own min and max.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened samples. Default: the
        estimator's ``image_shape_`` if it has one, else inferred (square,
        single-channel).
    label_names : sequence or dict, default=None
        Class names for a conditional model's labels.
    scale : int, default=1
        Integer enlargement of the grid.

    Attributes
    ----------
    paths_ : list of pathlib.Path
        The files written so far, in order.

    Examples
    --------
    >>> from skgan.plotting import SampleSnapshots
    >>> snapshots = SampleSnapshots("run1/samples", every=5, n_images=36)
    >>> # DCGANEstimator(callbacks=[snapshots]).fit(X); snapshots.paths_
    """

    def __init__(
        self,
        directory,
        *,
        every=1,
        n_images=64,
        random_state=0,
        prefix="epoch",
        n_cols=None,
        data_range=None,
        image_shape=None,
        label_names=None,
        scale=1,
    ):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(
                f"directory must be a str or os.PathLike, got "
                f"{type(directory).__name__}."
            )
        if random_state is not None and (
            isinstance(random_state, bool)
            or not isinstance(random_state, numbers.Integral)
        ):
            raise TypeError(
                "random_state must be an int (the same noise at every snapshot) "
                f"or None, got {random_state!r}."
            )
        if not isinstance(prefix, str) or any(s in prefix for s in ("/", "\\")):
            raise ValueError(
                f"prefix must be a file name prefix without path separators, "
                f"got {prefix!r}; put folders in directory."
            )
        if n_cols is not None:
            _check_int(n_cols, "n_cols", 1)
        if data_range is not None:
            _display_range(np.zeros(1), data_range)
        self.directory = Path(directory)
        self.every = _check_int(every, "every", 1)
        self.n_images = check_sample_count(n_images, name="n_images")
        self.random_state = random_state
        self.prefix = prefix
        self.n_cols = n_cols
        self.data_range = data_range
        self.image_shape = image_shape
        self.label_names = label_names
        self.scale = _check_int(scale, "scale", 1)
        self.paths_ = []

    def __repr__(self):
        return (
            f"{type(self).__name__}({str(self.directory)!r}, every={self.every}, "
            f"n_images={self.n_images}, random_state={self.random_state!r}, "
            f"prefix={self.prefix!r})"
        )

    def __call__(self, estimator, record):
        """Write this epoch's grid if the epoch is a multiple of ``every``.

        Parameters
        ----------
        estimator : object
            The estimator being trained; must have ``sample(n, random_state=)``
            returning images, or ``(images, labels)`` for a conditional model.
        record : dict
            The epoch's history entry; ``record["epoch"]`` (1-based) is used.

        Returns
        -------
        path : pathlib.Path or None
            The file written, or None when this epoch is skipped.
        """
        epoch = record.get("epoch") if isinstance(record, Mapping) else None
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise ValueError(
                "SampleSnapshots needs the epoch's history record, a dict with an "
                f"integer 'epoch' key; got {record!r}."
            )
        if epoch % self.every:
            return None
        if not callable(getattr(estimator, "sample", None)):
            raise TypeError(
                "SampleSnapshots needs an estimator with a sample(n, random_state=) "
                f"method; {type(estimator).__name__} has none."
            )
        out = estimator.sample(self.n_images, random_state=self.random_state)
        labels = None
        if isinstance(out, tuple):
            if len(out) != 2:
                raise ValueError(
                    f"sample() returned a tuple of {len(out)} items; expected "
                    "images or (images, labels)."
                )
            out, labels = out
        image_shape, data_range = self.image_shape, self.data_range
        if image_shape is None:
            image_shape = getattr(estimator, "image_shape_", None)
        layout = getattr(estimator, "image_layout_", None)
        low = getattr(layout, "data_min", None)
        high = getattr(layout, "data_max", None)
        if (
            data_range is None
            and np.asarray(out).dtype != np.uint8
            and isinstance(low, numbers.Real)
            and isinstance(high, numbers.Real)
            and low < high
        ):
            data_range = (low, high)
        path = self.directory / f"{self.prefix}_{int(epoch):04d}.png"
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            save_image_grid(
                out,
                path,
                image_shape=image_shape,
                labels=labels,
                label_names=self.label_names,
                n_cols=self.n_cols,
                data_range=data_range,
                scale=self.scale,
            )
        except ValueError as exc:
            raise ValueError(
                f"SampleSnapshots could not draw the samples of epoch {epoch}: "
                f"{exc} Grid settings (image_shape=, data_range=, label_names=, "
                "n_cols=) are parameters of SampleSnapshots."
            ) from exc
        self.paths_.append(path)
        return path
