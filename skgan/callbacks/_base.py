"""The base class of training callbacks."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping

from ..nn.training import StopTraining

__all__ = ["Callback", "StopTraining"]


class Callback(ABC):
    """Base class of training callbacks: code run after every epoch.

    The estimator calls each entry of its ``callbacks`` parameter as
    ``callback(estimator, record)`` once an epoch has finished (see
    :mod:`skgan.callbacks` for the full protocol). Any callable with that
    signature works, a plain function included; deriving from this class is
    optional. A subclass states its intent, is recognised by
    ``isinstance(obj, Callback)``, and reads the epoch number with
    :meth:`epoch_of`, which refuses anything that is not an epoch's record
    with a clear message.

    Two optional hooks frame each call to ``fit`` and ``partial_fit``:
    :meth:`on_train_begin` (before the first epoch, e.g. to refuse an estimator
    the callback cannot work with) and :meth:`on_train_end` (after the last,
    e.g. to restore weights or close a file). The estimator calls them on
    any callback that has them, subclass or not.

    Subclasses implement ``__call__(estimator, record)``; a subclass without
    it cannot be created (``TypeError``), so a missing method is caught when
    the callback is built, not after the first epoch of a long run.
    :class:`Checkpoint` and :class:`SampleSnapshots` are subclasses.

    Attributes
    ----------
    drop_when_saved : bool, default=False
        Class attribute read by :func:`~skgan.persistence.save_model`, which
        never stores callbacks in model files. When every callback of the
        estimator has ``drop_when_saved = True``, they are left out silently;
        otherwise a :class:`~skgan.persistence.PersistenceWarning` says to set
        them again after loading. Set it to True in a subclass whose callbacks
        a resumed run does not need, or creates anew (:class:`Checkpoint` does).

    See Also
    --------
    Checkpoint : Save the model every few epochs, to resume training.
    SampleSnapshots : Save a grid of generated images every few epochs.

    Examples
    --------
    A callback that keeps the generator loss every ``every`` epochs:

    >>> from skgan.callbacks import Callback
    >>> class GeneratorLoss(Callback):
    ...     def __init__(self, every=5):
    ...         self.every = every
    ...         self.losses = {}
    ...     def __call__(self, estimator, record):
    ...         epoch = self.epoch_of(record)
    ...         if epoch % self.every == 0:
    ...             self.losses[epoch] = record["g_loss"]
    >>> watch = GeneratorLoss(every=2)
    >>> for epoch in (1, 2, 3, 4):  # as fit calls it, with made-up losses
    ...     watch(None, {"epoch": epoch, "g_loss": 1.0 / epoch})
    >>> watch.losses
    {2: 0.5, 4: 0.25}
    >>> # DCGANEstimator(callbacks=[GeneratorLoss()]).fit(X)
    """

    drop_when_saved = False

    @abstractmethod
    def __call__(self, estimator, record):
        """Act on the epoch that has just finished.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator being trained. It is in a consistent state: it can
            ``sample`` and be saved, and ``estimator.history_[-1]`` is
            ``record``.
        record : dict
            The epoch's entry of ``history_``; ``record["epoch"]`` is its
            1-based number. Read it, do not change it: it is the dict kept in
            ``history_``.

        Returns
        -------
        result : object
            Anything; the estimator ignores it.
        """

    def on_train_begin(self, estimator, plan):  # noqa: B027 - an optional hook
        """Prepare for a call to ``fit`` or ``partial_fit``; check the estimator.

        Called once per call, after the estimator's parameters and data are
        validated and its networks exist, before the first epoch. Raise a
        ``ValueError`` or ``TypeError`` here to refuse an estimator the
        callback cannot work with before any training. Does nothing by default.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator about to train (``history_`` holds the epochs of
            earlier calls when training continues).
        plan : dict
            ``"phase"`` (``"fit"`` or ``"partial_fit"``), ``"epochs"`` (epochs
            to run, or None when ``"steps"`` is set) and ``"steps"`` (updates to
            run, or None).
        """

    def on_train_end(self, estimator, outcome):  # noqa: B027 - an optional hook
        """Finish a call to ``fit`` or ``partial_fit``. Does nothing by default.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator, with every completed epoch in ``history_``.
        outcome : str
            How training ended: ``"done"``, ``"out_of_time"`` (``max_time``),
            ``"stopped"`` (a callback raised :class:`StopTraining`),
            ``"diverged"``, ``"interrupted"`` (Ctrl-C), or ``"error"`` (an
            exception is propagating out of ``fit``).
        """

    def epoch_of(self, record):
        """The 1-based epoch number of an epoch's record.

        Parameters
        ----------
        record : dict
            The ``record`` passed to ``__call__``: an entry of ``history_``.

        Returns
        -------
        epoch : int
            ``record["epoch"]``, counted on across warm starts and
            ``partial_fit`` calls.

        Raises
        ------
        ValueError
            If ``record`` is not a dict with an integer ``"epoch"`` >= 1, i.e.
            the callback was called by hand with something other than an
            estimator's epoch record.
        """
        epoch = record.get("epoch") if isinstance(record, Mapping) else None
        if (
            isinstance(epoch, bool)
            or not isinstance(epoch, numbers.Integral)
            or epoch < 1
        ):
            raise ValueError(
                f"{type(self).__name__} needs the epoch's history record, a dict "
                f"with an integer 'epoch' key (1-based); got {record!r}. The "
                "estimator passes it as callback(estimator, record)."
            )
        return int(epoch)
