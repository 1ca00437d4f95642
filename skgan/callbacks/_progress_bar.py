"""A tqdm progress bar over the epochs (or steps) of training."""

from __future__ import annotations

import numbers

import numpy as np

from ._base import Callback

__all__ = ["ProgressBar"]

_SHOWN = ("d_loss", "g_loss")
_HIDDEN = (
    "epoch",
    "completed",
    "seconds",
    "n_steps",
    "d_real_accuracy",
    "d_fake_accuracy",
)


def _tqdm():
    """``tqdm.auto.tqdm``, or an ImportError naming the fix."""
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError(
            "The ProgressBar callback needs the tqdm package: pip install "
            '"skgan[tqdm]" (or pip install tqdm).'
        ) from exc
    return tqdm


class ProgressBar(Callback):
    """A tqdm progress bar for ``fit`` and ``partial_fit``, in notebooks too.

    A training callback, an alternative to the progress lines of
    ``verbose=1`` (keep ``verbose=0`` with it). The bar counts epochs, or
    steps when the estimator trains for ``steps``, shows the time left, and
    after each epoch the losses and any score added to the epoch's record by
    a callback placed before it (e.g. ``val_fid`` of a
    :class:`QualityTracker`). It uses ``tqdm.auto``: a widget in Jupyter, a
    text bar elsewhere.

    Needs the ``tqdm`` package (``pip install "skgan[tqdm]"``), imported when
    the callback is created.

    Parameters
    ----------
    leave : bool, default=True
        Keep the finished bar on screen.
    **tqdm_params
        Other keyword arguments of :class:`tqdm.tqdm` (``file``, ``ncols``,
        ``disable``, ...).

    See Also
    --------
    QualityTracker : A score to show beside the losses.

    Examples
    --------
    >>> from skgan.callbacks import ProgressBar
    >>> bar = ProgressBar()  # doctest: +SKIP
    >>> # DCGANEstimator(epochs=50, callbacks=[bar]).fit(X)
    """

    # A bar belongs to one session: a loaded model gets none, silently.
    drop_when_saved = True

    def __init__(self, *, leave=True, **tqdm_params):
        _tqdm()  # a missing package fails now, not after an epoch
        self.leave = leave
        self.tqdm_params = tqdm_params
        self._plan = None
        self._bar = None

    def __repr__(self):
        return f"{type(self).__name__}(leave={self.leave!r})"

    def __getstate__(self):  # clone and pickle copy settings, not the bar
        state = self.__dict__.copy()
        state["_bar"] = None
        return state

    def on_train_begin(self, estimator, plan):
        """Note how many epochs or steps the call will run.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator about to train.
        plan : dict
            ``"phase"``, ``"epochs"`` and ``"steps"`` of the call.
        """
        self.on_train_end(estimator, "done")  # a bar left by an earlier call
        self._plan = dict(plan)

    def __call__(self, estimator, record):
        """Advance the bar by the epoch (or its steps) and show its numbers.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator being trained.
        record : dict
            The epoch's entry of ``history_``.
        """
        self.epoch_of(record)
        plan = self._plan or {"phase": "fit", "epochs": None, "steps": None}
        steps = plan.get("steps")
        if self._bar is None:  # on the process that runs the callbacks only
            self._bar = _tqdm()(
                total=steps or plan.get("epochs"),
                desc=plan.get("phase", "fit"),
                unit="step" if steps else "epoch",
                leave=self.leave,
                **self.tqdm_params,
            )
        shown = {key: record[key] for key in _SHOWN if key in record}
        shown.update(
            (key, value)
            for key, value in record.items()
            if key not in _HIDDEN
            and not isinstance(value, (bool, np.bool_))
            and isinstance(value, numbers.Real)
        )
        self._bar.set_postfix(
            {key: f"{value:.4g}" for key, value in shown.items()}, refresh=False
        )
        self._bar.update(record.get("n_steps", 1) if steps else 1)

    def on_train_end(self, estimator, outcome):
        """Close the bar.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator that has just trained.
        outcome : str
            How training ended.
        """
        if self._bar is not None:
            self._bar.close()
            self._bar = None
