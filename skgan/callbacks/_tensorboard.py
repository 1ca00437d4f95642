"""Live training curves and samples in TensorBoard."""

from __future__ import annotations

import numbers

import numpy as np

from ..plotting._grids import check_data_range, make_image_grid
from ..utils._checks import check_int, check_path
from ..utils._validation import check_sample_count
from ._base import Callback

__all__ = ["TensorBoard"]

_GROUPS = {
    "d_loss": "loss",
    "g_loss": "loss",
    "d_real_accuracy": "accuracy",
    "d_fake_accuracy": "accuracy",
    "seconds": "training",
    "n_steps": "training",
    "sample_spread": "training",
}
_NOT_LOGGED = ("epoch", "completed")


def _summary_writer():
    """``torch.utils.tensorboard.SummaryWriter``, or an ImportError naming the fix."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "The TensorBoard callback needs the tensorboard package: "
            'pip install "skgan[tensorboard]" (or pip install tensorboard).'
        ) from exc
    return SummaryWriter


class TensorBoard(Callback):
    """Log losses, accuracies, tracked scores and sample grids to TensorBoard.

    A training callback: pass it in the estimator's ``callbacks`` and run
    ``tensorboard --logdir <log_dir>`` to watch training live. After every
    epoch it writes each number of the epoch's record of ``history_`` as a
    scalar, at the epoch number as step, with tags grouped by kind:
    ``loss/d_loss``, ``loss/g_loss``, ``accuracy/d_real_accuracy``,
    ``accuracy/d_fake_accuracy``, ``training/seconds``, ``training/n_steps``,
    ``training/sample_spread`` (on the epochs that measured it), and
    ``quality/<key>`` for any other number, such as the score a
    :class:`QualityTracker` placed before it in ``callbacks`` adds
    (``quality/val_fid``). Every ``image_every`` epochs it also writes a grid
    of images generated from the same noise (tag ``samples``).

    Needs the ``tensorboard`` package (``pip install "skgan[tensorboard]"``),
    imported when the callback is created; writing goes through
    :class:`torch.utils.tensorboard.SummaryWriter`. The file is flushed and
    closed at the end of every call to ``fit``; the next call appends a new
    event file to the same folder, which TensorBoard reads as one run.

    Parameters
    ----------
    log_dir : str or os.PathLike
        Folder of the event files; one per training run.
    image_every : int or None, default=5
        Write a sample grid at epochs ``image_every``, ``2 * image_every``, ...;
        None writes no images.
    n_images : int, default=36
        Images per grid.
    random_state : int, default=0
        Seed of the grid's noise, the same at every grid.
    n_cols : int, default=None
        Images per row; default ``ceil(sqrt(n_images))``.
    data_range : (float, float), default=None
        Values shown as black and white. Default: ``0..255`` for ``uint8``
        samples, else the training data's range.
    scale : int, default=2
        Integer enlargement of the grid (small images stay visible).

    Attributes
    ----------
    log_dir : pathlib.Path
        The folder written to.

    See Also
    --------
    SampleSnapshots : Sample grids as PNG files.
    QualityTracker : The score logged under ``quality/``.

    Examples
    --------
    >>> from skgan.callbacks import QualityTracker, TensorBoard
    >>> board = TensorBoard("runs/digits", image_every=5)  # doctest: +SKIP
    >>> # DCGANEstimator(callbacks=[QualityTracker(X_val), board]).fit(X)
    """

    # A resumed run passes a new one (a log folder belongs to a run).
    drop_when_saved = True

    def __init__(
        self,
        log_dir,
        *,
        image_every=5,
        n_images=36,
        random_state=0,
        n_cols=None,
        data_range=None,
        scale=2,
    ):
        _summary_writer()  # a missing package fails now, not after an epoch
        self.log_dir = check_path(log_dir, "log_dir")
        self.image_every = check_int(image_every, "image_every", allow_none=True)
        self.n_images = check_sample_count(n_images, name="n_images")
        if isinstance(random_state, bool) or not isinstance(
            random_state, numbers.Integral
        ):
            raise TypeError(
                "random_state must be an int (the same noise in every grid), "
                f"got {random_state!r}."
            )
        self.random_state = int(random_state)
        self.n_cols = check_int(n_cols, "n_cols", allow_none=True)
        if data_range is not None:
            check_data_range(data_range)
        self.data_range = data_range
        self.scale = check_int(scale, "scale")
        self._writer = None

    def __repr__(self):
        return (
            f"{type(self).__name__}({str(self.log_dir)!r}, "
            f"image_every={self.image_every}, n_images={self.n_images})"
        )

    def __getstate__(self):  # clone and pickle copy settings, not the open file
        state = self.__dict__.copy()
        state["_writer"] = None
        return state

    @property
    def writer(self):
        """The open :class:`~torch.utils.tensorboard.SummaryWriter` (opened on use)."""
        if self._writer is None:
            self._writer = _summary_writer()(log_dir=str(self.log_dir))
        return self._writer

    def __call__(self, estimator, record):
        """Write the epoch's numbers, and a grid on ``image_every`` epochs.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator being trained.
        record : dict
            The epoch's entry of ``history_``.
        """
        epoch = self.epoch_of(record)
        for key, value in record.items():
            if (
                key in _NOT_LOGGED
                or isinstance(value, (bool, np.bool_))
                or not isinstance(value, numbers.Real)
            ):
                continue
            tag = f"{_GROUPS.get(key, 'quality')}/{key}"
            self.writer.add_scalar(tag, float(value), global_step=epoch)
        if self.image_every is not None and epoch % self.image_every == 0:
            self.writer.add_image(
                "samples", self._grid(estimator), global_step=epoch, dataformats="HWC"
            )
        self.writer.flush()

    def _grid(self, estimator):
        out = estimator.sample(self.n_images, random_state=self.random_state)
        labels = None
        if isinstance(out, tuple):
            out, labels = out
        grid = np.asarray(
            make_image_grid(
                out,
                image_shape=getattr(estimator, "image_shape_", None),
                labels=labels,
                n_cols=self.n_cols,
                data_range=self._data_range(estimator, out),
                scale=self.scale,
            )
        )
        return grid[..., None] if grid.ndim == 2 else grid

    def _data_range(self, estimator, samples):
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

    def on_train_end(self, estimator, outcome):
        """Flush and close the event file.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator that has just trained.
        outcome : str
            How training ended (any outcome closes the file).
        """
        if self._writer is not None:
            self._writer.close()
            self._writer = None
