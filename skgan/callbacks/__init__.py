"""Training callbacks: code the estimator runs after every epoch.

The protocol
------------
The ``callbacks`` parameter of :class:`~skgan.DCGANEstimator` is a list of
callables. After every epoch of ``fit`` and of ``partial_fit``, the estimator
calls each of them, in the order of the list, as::

    callback(estimator, record)

* ``estimator`` is the estimator being trained, in a consistent state: it can
  ``sample`` and be saved with :func:`~skgan.persistence.save_model`.
* ``record`` is the epoch's dict, already appended to ``history_``
  (``estimator.history_[-1] is record``): ``"epoch"`` (1-based, counted on
  across warm starts and ``partial_fit`` calls), ``"d_loss"``, ``"g_loss"``,
  ``"d_real_accuracy"``, ``"d_fake_accuracy"``, ``"seconds"``, ``"n_steps"``
  and ``"completed"`` (False for an epoch cut short by ``max_time`` or
  ``steps``). Read it, do not change it: it is the dict kept in ``history_``.
* The return value is ignored. An exception raised by a callback stops
  training and propagates out of ``fit``; the estimator keeps the epochs
  completed so far. :class:`StopTraining` is the exception: it ends training
  cleanly once the epoch's other callbacks have run, and ``fit`` returns.
* A callback may add its own keys to ``record`` (:class:`QualityTracker`
  adds its score); callbacks later in the list see them.
* Before the first epoch and after the last of each call to ``fit`` or
  ``partial_fit``, the estimator calls ``callback.on_train_begin(estimator,
  plan)`` and ``callback.on_train_end(estimator, outcome)`` on the callbacks
  that have these methods (see :class:`Callback`).
* Under data-parallel training (``distributed``), callbacks run only on
  rank 0, the process that keeps ``history_``.
* Callbacks are code, so :func:`~skgan.persistence.save_model` does not store
  them: a loaded model has ``callbacks=None``. Callbacks whose
  ``drop_when_saved`` attribute is True, such as :class:`Checkpoint` (a
  resumed run passes a new one), are left out silently; for any other, a
  :class:`~skgan.persistence.PersistenceWarning` says to set them again.

Any callable with this signature works, a plain function included. The
:class:`Callback` base class is optional: a subclass must implement
``__call__`` and can read the epoch with :meth:`Callback.epoch_of`.

The callbacks provided
----------------------
:class:`Checkpoint` saves the model every few epochs, so that an interrupted
run can be resumed exactly::

    gan = DCGANEstimator(epochs=50, random_state=0,
                         callbacks=[Checkpoint("ckpt", every=5)])
    gan.fit(X)                      # ... interrupted after epoch 23
    gan = load_model(latest_checkpoint("ckpt"))      # epoch 20
    gan.set_params(warm_start=True, epochs=30,
                   callbacks=[Checkpoint("ckpt", every=5)]).fit(X)

On the CPU the resumed run is bit-identical to an uninterrupted one with the
same ``random_state``.

:class:`SampleSnapshots` saves a PNG grid of images generated from the same
noise every few epochs, to watch the model learn.

:class:`QualityTracker` scores the generator on held-out images every few
epochs (FID by default), records the score in ``history_``, restores the best
generator at the end and can stop early::

    tracker = QualityTracker(X_val, metric="fid", every=2, patience=5)
    gan = DCGANEstimator(epochs=100, callbacks=[tracker]).fit(X_train)
    tracker.best_epoch_, gan.history_[-1]["val_fid_best"]

:class:`TensorBoard` logs the losses, accuracies, tracked scores and sample
grids for ``tensorboard --logdir``; :class:`ProgressBar` shows a tqdm bar
(in notebooks too) instead of the progress lines of ``verbose=1``.
"""

from ._base import Callback, StopTraining
from ._checkpoint import Checkpoint, latest_checkpoint
from ._progress_bar import ProgressBar
from ._snapshots import SampleSnapshots
from ._tensorboard import TensorBoard
from ._tracking import QualityTracker

__all__ = [
    "Callback",
    "Checkpoint",
    "ProgressBar",
    "QualityTracker",
    "SampleSnapshots",
    "StopTraining",
    "TensorBoard",
    "latest_checkpoint",
]
