"""matplotlib figures: image grids and training curves (matplotlib is optional)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.exceptions import NotFittedError

from ._grids import grid_mosaic

__all__ = ["plot_history", "plot_image_grid"]


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

    See Also
    --------
    make_image_grid : The same grid as a Pillow image, without matplotlib.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.plotting import plot_image_grid
    >>> images = np.random.default_rng(0).random((8, 8, 8))
    >>> fig = plot_image_grid(images, labels=[0, 1] * 4, label_names=["a", "b"])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b']
    """
    plt = _pyplot("plot_image_grid")
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


def plot_history(history_or_estimator, *, scores=None, figsize=None):
    """Plot training curves: D/G losses, D accuracies and tracked scores per epoch.

    Parameters
    ----------
    history_or_estimator : estimator or list of dict
        A fitted estimator with a ``history_`` attribute, or such a history:
        one dict per epoch with ``"epoch"`` (1-based; the position is used when
        it is missing), ``"d_loss"``, ``"g_loss"``, ``"d_real_accuracy"`` and
        ``"d_fake_accuracy"``. Other keys are ignored; missing values are
        drawn as gaps. A pandas DataFrame with these columns works too.
    scores : str or list of str, default=None
        History keys of scores to draw in a panel of their own, such as
        ``"val_fid"`` written by :class:`skgan.callbacks.QualityTracker`;
        epochs without a value are skipped. Each key must be present in at
        least one epoch.
    figsize : (float, float), default=None
        Figure size in inches; default 5 by 4 inches per panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One panel for the losses and one for the accuracies (with the 0.5
        chance level), then one for ``scores``; a panel is left out when none
        of its keys are present.

    Examples
    --------
    >>> from skgan.plotting import plot_history
    >>> history = [{"epoch": 1, "d_loss": 1.2, "g_loss": 0.8},
    ...            {"epoch": 2, "d_loss": 1.1, "g_loss": 0.9}]
    >>> fig = plot_history(history)  # one panel: no accuracies in this history
    >>> len(fig.axes)
    1
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
    if isinstance(scores, str):
        scores = [scores]
    if scores is not None:
        if not all(isinstance(key, str) for key in scores) or not scores:
            raise TypeError(
                f"scores must be a history key or a list of them, got {scores!r}."
            )
        lines = [(key, _series(records, key)) for key in scores]
        missing = [key for key, y in lines if not np.isfinite(y).any()]
        if missing:
            raise ValueError(
                f"The history has no value for {', '.join(map(repr, missing))}; "
                "pass the keys a callback wrote, e.g. a QualityTracker's key."
            )
        panels.append(("score", lines))
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
            if ylabel == "score":  # evaluated epochs only, joined
                kept = np.isfinite(y)
                ax.plot(epochs[kept], y[kept], marker="o", markersize=3, label=label)
                continue
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
