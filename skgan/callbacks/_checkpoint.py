"""Checkpoint files written during training, to resume an interrupted run."""

from __future__ import annotations

import re
import warnings

from ..persistence import PersistenceWarning, save_model
from ..utils._checks import check_int, check_path
from ._base import Callback

__all__ = ["Checkpoint", "latest_checkpoint"]

_CHECKPOINT_NAME = re.compile(r"^checkpoint_(\d+)\.skgan$")


def _checkpoints(directory):
    """``[(epoch, path)]`` of the checkpoint files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _CHECKPOINT_NAME.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(directory):
    """Path of the newest checkpoint written by :class:`Checkpoint` in ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        The folder given to :class:`Checkpoint`.

    Returns
    -------
    path : pathlib.Path or None
        The ``checkpoint_NNNN.skgan`` file with the highest epoch, or None if
        there is none (or the folder does not exist yet), so that a script can
        resume when it can and start afresh otherwise.

    See Also
    --------
    Checkpoint : The callback that writes the files.
    skgan.persistence.load_model : Load a checkpoint.

    Examples
    --------
    >>> from skgan import DCGANEstimator
    >>> from skgan.callbacks import latest_checkpoint
    >>> from skgan.persistence import load_model
    >>> path = latest_checkpoint("checkpoints")  # doctest: +SKIP
    >>> gan = load_model(path) if path else DCGANEstimator()  # doctest: +SKIP
    """
    found = _checkpoints(check_path(directory, "directory"))
    return found[-1][1] if found else None


class Checkpoint(Callback):
    """Callback that saves the estimator every ``every`` epochs, to resume from.

    Pass it in the estimator's ``callbacks``. After each epoch whose number is
    a multiple of ``every`` it writes ``checkpoint_{epoch:04d}.skgan`` into
    ``directory`` with :func:`~skgan.persistence.save_model` (atomically: a
    crash while saving never leaves a truncated checkpoint). Epochs are
    numbered as in ``history_``, counting on across warm starts, so resumed
    runs continue the numbering. Use one folder per training run.

    To resume, load the newest file and continue with ``warm_start=True``; on
    the CPU the result is bit-identical to a run that was never interrupted
    (same ``random_state``). Checkpoint callbacks are not saved in the files:
    pass a new one when resuming.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder for the checkpoint files, created on the first save.
    every : int, default=1
        Save after every ``every``-th epoch.
    keep_last : int, default=None
        Keep only this many newest checkpoint files in ``directory`` (older
        ones are deleted after each save); None keeps them all.
    monitor : str, default=None
        Save only on epochs whose record holds True under this key (and whose
        number is a multiple of ``every``), e.g. ``"val_fid_best"``, written by
        a :class:`QualityTracker` placed before the checkpoint in
        ``callbacks``: with ``keep_last=1`` the folder then holds the best
        model so far. None saves regardless.

    See Also
    --------
    latest_checkpoint : The newest checkpoint file of a folder.
    skgan.persistence.load_model : Load a checkpoint.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan import DCGANEstimator
    >>> from skgan.callbacks import Checkpoint, latest_checkpoint
    >>> from skgan.persistence import load_model
    >>> X = load_digits().data
    >>> gan = DCGANEstimator(epochs=4, random_state=0, callbacks=[
    ...     Checkpoint("ckpt", every=2, keep_last=1)]).fit(X)  # doctest: +SKIP
    >>> latest_checkpoint("ckpt").name  # doctest: +SKIP
    'checkpoint_0004.skgan'
    >>> resumed = load_model(latest_checkpoint("ckpt")).set_params(
    ...     warm_start=True, epochs=6).fit(X)  # doctest: +SKIP
    """

    # save_model leaves Checkpoints out of model files without a warning:
    # whoever resumes passes a new one (see Callback.drop_when_saved).
    drop_when_saved = True

    def __init__(self, directory, *, every=1, keep_last=None, monitor=None):
        self.directory = check_path(directory, "directory")
        self.every = check_int(every, "every")
        self.keep_last = check_int(keep_last, "keep_last", allow_none=True)
        if monitor is not None and not isinstance(monitor, str):
            raise TypeError(
                f"monitor must be a key of the epoch records or None, got {monitor!r}."
            )
        self.monitor = monitor
        self._warned = False

    def __repr__(self):
        return (
            f"Checkpoint({str(self.directory)!r}, every={self.every}, "
            f"keep_last={self.keep_last}"
            + (f", monitor={self.monitor!r})" if self.monitor else ")")
        )

    def path_for(self, epoch):
        """Path of the checkpoint file for ``epoch``.

        Parameters
        ----------
        epoch : int
            1-based epoch number, as in ``history_``.

        Returns
        -------
        path : pathlib.Path
            ``directory / "checkpoint_{epoch:04d}.skgan"``.
        """
        return self.directory / f"checkpoint_{int(epoch):04d}.skgan"

    def __call__(self, estimator, record):
        """Save ``estimator`` if the epoch is a multiple of ``every`` (and ``monitor``).

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator being trained.
        record : dict
            The epoch's entry of ``history_``.
        """
        epoch = self.epoch_of(record)
        if epoch % self.every:
            return
        if self.monitor is not None:
            if self.monitor not in record:
                raise ValueError(
                    f"Checkpoint(monitor={self.monitor!r}): the record of epoch "
                    f"{epoch} has no {self.monitor!r} key. Place the callback that "
                    "writes it (e.g. a QualityTracker) before the Checkpoint in "
                    "callbacks."
                )
            if not record[self.monitor]:
                return
        self.directory.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            if self._warned:  # say once per run what is not saved, not per epoch
                warnings.simplefilter("ignore", PersistenceWarning)
            save_model(estimator, self.path_for(epoch))
        self._warned = True
        if self.keep_last is not None:
            for _, old in _checkpoints(self.directory)[: -self.keep_last]:
                old.unlink(missing_ok=True)

    def checkpoints(self):
        """All checkpoint files in ``directory``, oldest first.

        Returns
        -------
        paths : list of pathlib.Path
            The ``checkpoint_NNNN.skgan`` files, by increasing epoch.
        """
        return [path for _, path in _checkpoints(self.directory)]

    def latest(self):
        """The newest checkpoint file in ``directory``, or None.

        Returns
        -------
        path : pathlib.Path or None
            The file with the highest epoch; None if there is none yet.
        """
        return latest_checkpoint(self.directory)
