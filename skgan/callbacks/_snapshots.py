"""Grids of generated images saved during training, from fixed noise."""

from __future__ import annotations

import numbers

import numpy as np

from ..plotting._grids import check_data_range, save_image_grid
from ..utils._checks import check_int, check_path
from ..utils._validation import check_sample_count
from ._base import Callback

__all__ = ["SampleSnapshots"]


class SampleSnapshots(Callback):
    """Save a grid of generated images every ``every`` epochs or steps (fixed noise).

    A training callback: pass it in the estimator's ``callbacks`` list. At the
    end of each epoch the estimator calls ``snapshots(estimator, record)``;
    when ``record["epoch"]`` is a multiple of ``every`` (or, with
    ``unit="steps"``, when the epoch's steps reached a multiple of ``every``
    steps), it draws
    ``estimator.sample(n_images, random_state=random_state)`` and writes
    ``{directory}/{prefix}_{epoch:04d}.png`` (``{prefix}_{step:06d}.png`` with
    ``unit="steps"``) with
    :func:`~skgan.plotting.save_image_grid`. Because ``random_state`` is the
    same at every call, the grids show how the same noise vectors evolve. A
    conditional model's ``(X, y)`` samples are grouped by class, one class per
    row block.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder for the PNG files; created when the first one is written.
    every : int, default=1
        Save at epochs ``every``, ``2 * every``, ... (or steps, see ``unit``).
    unit : {"epochs", "steps"}, default="epochs"
        What ``every`` counts. ``"steps"`` suits ``DCGANEstimator(steps=...)``:
        training steps are counted over ``history_`` (the sum of its
        ``n_steps``), and a grid is saved at the end of each epoch in which
        the count reached a multiple of ``every``; the file is named after
        that count. Callbacks run at epoch ends only, so with epochs of many
        steps the grid is drawn at the end of the epoch that passed the mark.
    n_images : int, default=64
        Images per grid.
    random_state : int or None, default=0
        Seed passed to ``sample`` (fixed noise). ``None`` draws new noise each
        time.
    prefix : str, default=None
        File name prefix; None means ``"epoch"``, or ``"step"`` with
        ``unit="steps"``.
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

    See Also
    --------
    skgan.plotting.make_image_grid : The grid drawn, with its options.
    Checkpoint : Save the model itself every few epochs.

    Examples
    --------
    >>> from skgan.callbacks import SampleSnapshots
    >>> snapshots = SampleSnapshots("run1/samples", every=5, n_images=36)
    >>> # DCGANEstimator(callbacks=[snapshots]).fit(X); snapshots.paths_
    """

    def __init__(
        self,
        directory,
        *,
        every=1,
        unit="epochs",
        n_images=64,
        random_state=0,
        prefix=None,
        n_cols=None,
        data_range=None,
        image_shape=None,
        label_names=None,
        scale=1,
    ):
        directory = check_path(directory, "directory")
        if random_state is not None and (
            isinstance(random_state, bool)
            or not isinstance(random_state, numbers.Integral)
        ):
            raise TypeError(
                "random_state must be an int (the same noise at every snapshot) "
                f"or None, got {random_state!r}."
            )
        if prefix is None:
            prefix = "step" if unit == "steps" else "epoch"
        if not isinstance(prefix, str) or any(s in prefix for s in ("/", "\\")):
            raise ValueError(
                f"prefix must be a file name prefix without path separators, "
                f"got {prefix!r}; put folders in directory."
            )
        check_int(n_cols, "n_cols", allow_none=True)
        if data_range is not None:
            check_data_range(data_range)
        self.directory = directory
        self.every = check_int(every, "every")
        if unit not in ("epochs", "steps"):
            raise ValueError(
                f"unit must be 'epochs' or 'steps' (what every counts), got {unit!r}."
            )
        self.unit = unit
        self.n_images = check_sample_count(n_images, name="n_images")
        self.random_state = random_state
        self.prefix = prefix
        self.n_cols = n_cols
        self.data_range = data_range
        self.image_shape = image_shape
        self.label_names = label_names
        self.scale = check_int(scale, "scale")
        self.paths_ = []

    def __repr__(self):
        return (
            f"{type(self).__name__}({str(self.directory)!r}, every={self.every}, "
            + (f"unit={self.unit!r}, " if self.unit != "epochs" else "")
            + f"n_images={self.n_images}, random_state={self.random_state!r}, "
            f"prefix={self.prefix!r})"
        )

    def __call__(self, estimator, record):
        """Write this epoch's grid if it reached a multiple of ``every``.

        Parameters
        ----------
        estimator : object
            The estimator being trained; must have ``sample(n, random_state=)``
            returning images, or ``(images, labels)`` for a conditional model.
        record : dict
            The epoch's history entry; ``record["epoch"]`` (1-based) is used,
            and with ``unit="steps"`` its ``n_steps`` and the estimator's
            ``history_`` (the steps of earlier epochs).

        Returns
        -------
        path : pathlib.Path or None
            The file written, or None when this epoch is skipped.
        """
        epoch = self.epoch_of(record)
        if self.unit == "steps":
            number = self._steps_done(estimator, record)
            if number // self.every == (number - record["n_steps"]) // self.every:
                return None
            name = f"{self.prefix}_{number:06d}.png"
        elif epoch % self.every:
            return None
        else:
            name = f"{self.prefix}_{epoch:04d}.png"
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
        image_shape = self.image_shape
        if image_shape is None:
            image_shape = getattr(estimator, "image_shape_", None)
        path = self.directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            save_image_grid(
                out,
                path,
                image_shape=image_shape,
                labels=labels,
                label_names=self.label_names,
                n_cols=self.n_cols,
                data_range=self._data_range(estimator, out),
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

    def _steps_done(self, estimator, record):
        """Training steps up to the end of ``record``'s epoch, over ``history_``."""
        history = getattr(estimator, "history_", None)
        if not isinstance(record.get("n_steps"), numbers.Integral) or not (
            isinstance(history, list) and history and history[-1] is record
        ):
            raise ValueError(
                "SampleSnapshots(unit='steps') counts steps over the estimator's "
                "history_, and needs record to be its last entry, with an "
                "integer 'n_steps'; the estimator passes it so during fit."
            )
        return int(sum(r["n_steps"] for r in history))

    def _data_range(self, estimator, samples):
        """``data_range``, else the training data's range for non-uint8 samples."""
        if self.data_range is not None:
            return self.data_range
        layout = getattr(estimator, "image_layout_", None)
        low = getattr(layout, "data_min", None)
        high = getattr(layout, "data_max", None)
        if (
            np.asarray(samples).dtype != np.uint8
            and isinstance(low, numbers.Real)
            and isinstance(high, numbers.Real)
            and low < high
        ):
            return (low, high)
        return None
