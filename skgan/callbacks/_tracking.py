"""Sample quality scored during training: best generator, early stopping."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ..metrics import (
    density_coverage,
    extract_features,
    frechet_inception_distance,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)
from ..metrics._features import check_fitted_transformer
from ..utils._checks import check_int
from ..utils._validation import check_sample_count, precheck_images, value_range
from ._base import Callback, StopTraining

__all__ = ["QualityTracker"]

# name: (function, element of its result or None, greater is better)
_METRICS = {
    "fid": (frechet_inception_distance, None, False),
    "kid": (kernel_inception_distance, 0, False),
    "precision": (precision_recall, 0, True),
    "recall": (precision_recall, 1, True),
    "coverage": (density_coverage, 1, True),
}
_FUNCTION_NAMES = {frechet_inception_distance: "fid", kernel_inception_distance: "kid"}
_PAIR_FUNCTIONS = {
    precision_recall: "metric='precision' or metric='recall'",
    density_coverage: "metric='coverage' (density is not better when higher)",
}
# metric_params that go to the feature extraction, not to the metric
_EXTRACTION_PARAMS = ("batch_size", "weights_path", "device")
_SET_BY_TRACKER = ("feature_extractor", "image_shape", "data_range", "verbose")


def _state_copy(module):
    """A detached copy of ``module``'s state dict (parameters and buffers)."""
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def _distributed_run(estimator):
    """Whether ``estimator`` trains data-parallel across several processes."""
    return (
        getattr(estimator, "distributed", False) is not False
        and torch.distributed.is_available()
        and torch.distributed.is_initialized()
        and torch.distributed.get_world_size() > 1
    )


class QualityTracker(Callback):
    """Score the generator on held-out images during training; keep the best.

    A training callback: pass it in the estimator's ``callbacks``. Every
    ``every`` epochs it draws generated images (always from the same noise,
    ``random_state``), scores them against ``X_val`` with ``metric``, and
    writes the score into the epoch's record of ``history_`` under ``key``
    (``"val_fid"`` for the default metric). It keeps a copy of the best
    generator (and of its moving average), puts it back into the estimator at
    the end of each call to ``fit`` or ``partial_fit`` (``restore_best``), and
    can stop training once the score has not improved for ``patience``
    evaluations. Early stopping ends ``fit`` normally: the model is fitted,
    ``history_`` holds every epoch trained.

    Scoring does not change training: the noise of the generated images comes
    from ``random_state``, not from the estimator's random stream, so a run
    with a tracker (without ``patience`` and ``restore_best``) trains exactly
    as one without.

    Parameters
    ----------
    X_val : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
            (n_samples, H, W, C)
        Held-out real images, in the layout of the training images and at
        least two of them. Keep them out of the training set: scored against
        training images, a generator that copies them looks best.
    y_val : array-like of shape (n_samples,), default=None
        Class labels of ``X_val``, for a conditional model: generated images
        then follow the same classes, one per label. Without it a conditional
        model draws labels from ``class_prior_``.
    metric : str or callable, default="fid"
        What is scored:

        * ``"fid"`` (:func:`~skgan.metrics.frechet_inception_distance`) and
          ``"kid"`` (the mean of
          :func:`~skgan.metrics.kernel_inception_distance`): lower is better;
        * ``"precision"``, ``"recall"``
          (:func:`~skgan.metrics.precision_recall`) and ``"coverage"``
          (:func:`~skgan.metrics.density_coverage`): higher is better;
        * the functions ``frechet_inception_distance`` and
          ``kernel_inception_distance`` themselves, read as ``"fid"`` and
          ``"kid"``;
        * any other callable ``metric(X_val, generated, **metric_params)``
          returning one number, computed on the images (in the layout of
          ``X_val``); ``greater_is_better`` must then be given.

        The named metrics compare features: those of ``X_val`` are computed
        once, when training starts, and those of the generated images at each
        evaluation.
    every : int, default=1
        Score after epochs ``every``, ``2 * every``, ...
    patience : int, default=None
        Stop training when the score has not improved for this many
        evaluations in a row (``patience * every`` epochs). None never stops.
    tol : float, default=0.0
        An improvement must beat the best score by more than ``tol``.
    restore_best : bool, default=True
        At the end of every call to ``fit`` or ``partial_fit``, load the best
        generator (and moving average) seen so far into the estimator. The
        discriminator, the optimisers and ``history_`` keep their last
        state, so training can continue from there.
    greater_is_better : bool, default=None
        Direction of the score. Inferred for the named metrics (giving a
        contradicting value is an error); required for a custom callable.
    feature_extractor : "estimator", "inception", callable, transformer or \
            None, default="estimator"
        Feature space of the named metrics (see :mod:`skgan.metrics`).
        ``"estimator"`` uses the estimator's own ``feature_extractor``, as
        ``score`` does; None compares raw pixels. A scikit-learn transformer
        must be fitted (wrap it in :class:`sklearn.frozen.FrozenEstimator` so
        that ``clone`` keeps it so). Not used by a custom callable.
    metric_params : dict, default=None
        Keyword arguments of the metric (e.g. ``{"k": 5}`` for precision, or
        ``{"subset_size": 100}`` for KID, whose default is the smaller of
        1000 and the numbers of images). For the named metrics,
        ``batch_size``, ``weights_path`` and ``device`` go to the feature
        extraction (:func:`~skgan.metrics.extract_features`).
    n_samples : int, default=None
        Generated images per evaluation; default ``len(X_val)``. Must be None
        when ``y_val`` is given (one image per label).
    random_state : int or None, default=0
        Seed of the generated images' noise: the same noise at every
        evaluation, so that scores differ by the generator only. None draws
        new noise each time.
    key : str, default=None
        Key of the score in the epoch records; default ``"val_"`` followed by
        the metric's name (``"val_fid"``). ``key + "_best"`` is True on the
        epochs that set a new best score and False on the others (e.g. for
        ``Checkpoint(..., monitor="val_fid_best")``, placed after the tracker).

    Attributes
    ----------
    key : str
        The history key of the score.
    greater_is_better : bool
        The direction of the score, given or inferred.
    scores_ : dict of int to float
        Score of each evaluated epoch, by epoch number.
    best_score_ : float or None
        Best score so far (None before the first evaluation).
    best_epoch_ : int or None
        Epoch of the best score; after a restore, the generator's epoch.
    stopped_epoch_ : int or None
        Epoch after which the last call to ``fit`` stopped early, or None.

    See Also
    --------
    Checkpoint : Save the model, e.g. at each new best score (``monitor``).
    TensorBoard : Watch the score, the losses and samples live.
    skgan.plotting.plot_history : Draw the score beside the loss curves.

    Notes
    -----
    Data-parallel training (``distributed``) runs callbacks on rank 0 only,
    where the other ranks cannot follow a restore or a stop: there the tracker
    records scores only, and needs ``patience=None`` and
    ``restore_best=False``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan import DCGANEstimator
    >>> from skgan.callbacks import QualityTracker
    >>> X = load_digits().data
    >>> tracker = QualityTracker(X[1500:], metric="fid", every=2, patience=3,
    ...                          feature_extractor=None)
    >>> gan = DCGANEstimator(epochs=20, callbacks=[tracker], random_state=0)
    >>> gan.fit(X[:1500])  # doctest: +SKIP
    >>> tracker.best_epoch_, gan.history_[-1].get("val_fid")  # doctest: +SKIP
    """

    def __init__(
        self,
        X_val,
        y_val=None,
        *,
        metric="fid",
        every=1,
        patience=None,
        tol=0.0,
        restore_best=True,
        greater_is_better=None,
        feature_extractor="estimator",
        metric_params=None,
        n_samples=None,
        random_state=0,
        key=None,
    ):
        X_val = precheck_images(X_val, name="X_val")
        X_val = np.asarray(X_val)
        if X_val.shape[0] < 2:
            raise ValueError(
                f"X_val holds {X_val.shape[0]} image(s); the metrics need at least "
                "2 held-out images (a few hundred give stable scores)."
            )
        self._val_range = value_range(X_val, name="X_val")
        if y_val is not None:
            y_val = np.asarray(y_val)
            if y_val.ndim != 1 or len(y_val) != len(X_val):
                raise ValueError(
                    f"y_val must hold one label per image of X_val ({len(X_val)}), "
                    f"got shape {y_val.shape}."
                )
            if n_samples is not None:
                raise ValueError(
                    "n_samples must be None when y_val is given: one image is "
                    "generated per label of y_val."
                )
        self.X_val, self.y_val = X_val, y_val
        self.metric = metric
        self._function, self._element, inferred, name = self._resolve_metric(metric)
        if greater_is_better is not None and not isinstance(
            greater_is_better, (bool, np.bool_)
        ):
            raise TypeError(
                f"greater_is_better must be True, False or None, got "
                f"{greater_is_better!r}."
            )
        if inferred is None and greater_is_better is None:
            raise ValueError(
                f"greater_is_better must be given for the custom metric {name!r}: "
                "True when higher scores are better, False when lower are."
            )
        if None not in (inferred, greater_is_better) and (
            bool(greater_is_better) != inferred
        ):
            raise ValueError(
                f"greater_is_better={greater_is_better} contradicts metric "
                f"{name!r}, for which {'higher' if inferred else 'lower'} is "
                "better; leave greater_is_better=None."
            )
        self.greater_is_better = bool(
            inferred if greater_is_better is None else greater_is_better
        )
        self.every = check_int(every, "every")
        self.patience = check_int(patience, "patience", allow_none=True)
        if (
            isinstance(tol, bool)
            or not isinstance(tol, numbers.Real)
            or not (tol >= 0 and math.isfinite(tol))
        ):
            raise ValueError(f"tol must be a finite number >= 0, got {tol!r}.")
        self.tol = float(tol)
        if not isinstance(restore_best, (bool, np.bool_)):
            raise TypeError(
                f"restore_best must be True or False, got {restore_best!r}."
            )
        self.restore_best = bool(restore_best)
        self.feature_extractor = feature_extractor
        if self._function is None:
            if not (
                isinstance(feature_extractor, str) and feature_extractor == "estimator"
            ):
                raise ValueError(
                    "feature_extractor is used by the named metrics only; the "
                    f"custom metric {name!r} receives images. Leave "
                    "feature_extractor='estimator', or compute features inside "
                    "the metric."
                )
        elif _is_transformer(feature_extractor):
            check_fitted_transformer(feature_extractor)
        if metric_params is None:
            metric_params = {}
        if not isinstance(metric_params, dict):
            raise TypeError(
                f"metric_params must be a dict of keyword arguments, got "
                f"{type(metric_params).__name__}."
            )
        taken = sorted(set(metric_params) & set(_SET_BY_TRACKER))
        if self._function is not None and taken:
            raise ValueError(
                f"metric_params sets {', '.join(taken)}, which the tracker sets "
                "itself (pass feature_extractor to QualityTracker)."
            )
        self.metric_params = dict(metric_params)
        if n_samples is not None:
            n_samples = check_sample_count(n_samples, name="n_samples")
            if n_samples < 2:
                raise ValueError(f"n_samples must be >= 2, got {n_samples}.")
        self.n_samples = n_samples
        if random_state is not None and (
            isinstance(random_state, bool)
            or not isinstance(random_state, numbers.Integral)
        ):
            raise TypeError(
                "random_state must be an int (the same noise at every "
                f"evaluation) or None, got {random_state!r}."
            )
        self.random_state = random_state
        if key is None:
            key = f"val_{name}"
        if not isinstance(key, str) or not key:
            raise TypeError(f"key must be a non-empty string, got {key!r}.")
        self.key = key
        self._reset()

    # ------------------------------------------------------------------ setup

    @staticmethod
    def _resolve_metric(metric):
        """``(function or None, element, greater_is_better or None, name)``."""
        if isinstance(metric, str):
            if metric not in _METRICS:
                raise ValueError(
                    f"metric={metric!r} is not known; use one of "
                    f"{', '.join(repr(m) for m in _METRICS)}, or a callable "
                    "metric(X_val, generated) with greater_is_better."
                )
            return (*_METRICS[metric], metric)
        if metric in _FUNCTION_NAMES:
            name = _FUNCTION_NAMES[metric]
            return (*_METRICS[name], name)
        if metric in _PAIR_FUNCTIONS:
            raise ValueError(
                f"{metric.__name__} returns two scores; choose one with "
                f"{_PAIR_FUNCTIONS[metric]}."
            )
        if metric is inception_score:
            raise ValueError(
                "inception_score does not compare with held-out images; use "
                "metric='fid' or 'kid', or wrap it in a callable "
                "metric(X_val, generated) with greater_is_better=True."
            )
        if not callable(metric):
            raise TypeError(
                "metric must be one of "
                f"{', '.join(repr(m) for m in _METRICS)} or a callable "
                f"metric(X_val, generated); got {type(metric).__name__}."
            )
        return None, None, None, getattr(metric, "__name__", type(metric).__name__)

    def _reset(self):
        self.scores_ = {}
        self.best_score_ = None
        self.best_epoch_ = None
        self.stopped_epoch_ = None
        self._misses = 0
        self._best_state = None
        self._real_features = None

    def __repr__(self):
        metric = self.metric if isinstance(self.metric, str) else self.key[4:]
        return (
            f"{type(self).__name__}(<{len(self.X_val)} images>, metric={metric!r}, "
            f"every={self.every}, patience={self.patience}, "
            f"restore_best={self.restore_best}, key={self.key!r})"
        )

    def _extractor(self, estimator):
        if isinstance(self.feature_extractor, str) and (
            self.feature_extractor == "estimator"
        ):
            return getattr(estimator, "feature_extractor", "inception")
        return self.feature_extractor

    def on_train_begin(self, estimator, plan):
        """Check ``X_val``, ``y_val`` and the extractor against the estimator.

        Starts afresh when the estimator has no epochs yet (a new ``fit``),
        and carries on otherwise (``warm_start``, ``partial_fit``). Computes
        the features of ``X_val`` once, before the first epoch.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator about to train.
        plan : dict
            What the call will run (see :meth:`Callback.on_train_begin`).

        Raises
        ------
        ValueError
            If ``X_val`` is not in the layout of the training images, ``y_val``
            holds labels the model does not know, the feature extractor is an
            unfitted transformer, or early stopping or restoring is asked for
            under data-parallel training.
        """
        if not getattr(estimator, "history_", None):
            self._reset()
        self.stopped_epoch_ = None
        layout = estimator.image_layout_
        layout.check(self.X_val, name="X_val")
        if self.y_val is not None:
            if not getattr(estimator, "conditional", False):
                raise ValueError(
                    "y_val is given but the estimator is not conditional; pass "
                    "y_val only with conditional=True."
                )
            unknown = ~np.isin(self.y_val, estimator.classes_)
            if unknown.any():
                raise ValueError(
                    f"y_val holds labels the model was not fitted on: "
                    f"{sorted(set(self.y_val[unknown].tolist()))[:5]}."
                )
        if (self.patience is not None or self.restore_best) and _distributed_run(
            estimator
        ):
            raise ValueError(
                "QualityTracker cannot stop or restore data-parallel training "
                "(callbacks run on rank 0 only): pass patience=None and "
                "restore_best=False to record the score, and save the best "
                "model with Checkpoint(..., monitor=tracker.key + '_best')."
            )
        if self._function is None:
            return
        extractor = self._extractor(estimator)
        if _is_transformer(extractor):
            check_fitted_transformer(extractor)
        if self._real_features is None:
            self._real_features = self._features(estimator, self.X_val)

    # ---------------------------------------------------------------- scoring

    def _data_range(self, estimator):
        """The range both image sets are read on, as ``score`` reads it."""
        if self.X_val.dtype == np.uint8:
            return None  # the nominal 0..255
        layout = estimator.image_layout_
        low, high = self._val_range
        return (min(layout.data_min, low), max(layout.data_max, high))

    def _features(self, estimator, images):
        extractor = self._extractor(estimator)
        if extractor is None:
            return images.reshape(len(images), -1).astype(np.float64)
        options = {
            k: v for k, v in self.metric_params.items() if k in _EXTRACTION_PARAMS
        }
        options.setdefault("device", getattr(estimator, "device_", "auto"))
        return extract_features(
            images,
            feature_extractor=extractor,
            image_shape=estimator.image_layout_.image_shape,
            data_range=self._data_range(estimator),
            **options,
        )

    def _generate(self, estimator):
        if self.y_val is not None:
            out = estimator.sample(
                len(self.y_val), random_state=self.random_state, y=self.y_val
            )
        else:
            n = len(self.X_val) if self.n_samples is None else self.n_samples
            out = estimator.sample(n, random_state=self.random_state)
        return out[0] if isinstance(out, tuple) else out

    def score(self, estimator):
        """The metric of ``estimator``'s generated images against ``X_val``.

        Parameters
        ----------
        estimator : DCGANEstimator
            A fitted estimator (the one being trained, when called by it).

        Returns
        -------
        score : float
            The metric's value (NaN when the metric gives NaN).
        """
        generated = self._generate(estimator)
        if self._function is None:
            value = self.metric(self.X_val, generated, **self.metric_params)
        else:
            if self._real_features is None:
                self._real_features = self._features(estimator, self.X_val)
            fake = self._features(estimator, generated)
            params = {
                k: v
                for k, v in self.metric_params.items()
                if k not in _EXTRACTION_PARAMS
            }
            if self._function is kernel_inception_distance:
                size = min(1000, len(self._real_features), len(fake))
                params.setdefault("subset_size", size)
            value = self._function(
                self._real_features, fake, feature_extractor=None, **params
            )
            if self._element is not None:
                value = value[self._element]
        if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"The metric must return one number; it returned {value!r}. "
                "Wrap it to pick one, e.g. lambda real, fake: f(real, fake)[0]."
            )
        return float(value)

    def _improves(self, score):
        if math.isnan(score):
            return False
        if self.best_score_ is None:
            return True
        if self.greater_is_better:
            return score > self.best_score_ + self.tol
        return score < self.best_score_ - self.tol

    def __call__(self, estimator, record):
        """Score the generator if the epoch is a multiple of ``every``.

        Writes ``record[key]`` (evaluated epochs) and ``record[key + "_best"]``
        (every epoch), keeps a copy of a new best generator, and raises
        :class:`StopTraining` when ``patience`` evaluations in a row did not
        improve the score.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator being trained.
        record : dict
            The epoch's entry of ``history_``.

        Returns
        -------
        score : float or None
            The epoch's score, or None when it is not evaluated.
        """
        epoch = self.epoch_of(record)
        if epoch % self.every:
            record[self.key + "_best"] = False
            return None
        score = self.score(estimator)
        record[self.key] = score
        record[self.key + "_best"] = False
        self.scores_[epoch] = score
        if self._improves(score):
            self.best_score_, self.best_epoch_, self._misses = score, epoch, 0
            record[self.key + "_best"] = True
            if self.restore_best:
                self._best_state = {
                    "generator_": _state_copy(estimator.generator_),
                    "generator_ema_": None
                    if getattr(estimator, "generator_ema_", None) is None
                    else _state_copy(estimator.generator_ema_),
                }
            return score
        self._misses += 1
        if self.patience is not None and self._misses >= self.patience:
            self.stopped_epoch_ = epoch
            best = (
                "none yet"
                if self.best_score_ is None
                else (f"best {self.best_score_:.4g} after epoch {self.best_epoch_}")
            )
            raise StopTraining(
                f"{self.key} has not improved for {self._misses} evaluations "
                f"({best}); training stopped after epoch {epoch}."
            )
        return score

    def on_train_end(self, estimator, outcome):
        """Load the best generator into ``estimator`` (``restore_best``).

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator that has just trained.
        outcome : str
            How training ended; nothing is restored on ``"error"``.
        """
        if outcome == "error" or not self.restore_best or self._best_state is None:
            return
        if self.best_epoch_ == len(estimator.history_):
            return  # the last epoch is the best: nothing to restore
        state = self._best_state
        estimator.generator_.load_state_dict(state["generator_"])
        ema = getattr(estimator, "generator_ema_", None)
        if ema is not None:
            ema.load_state_dict(state["generator_ema_"] or state["generator_"])
        if getattr(estimator, "verbose", 0):
            print(
                f"Generator restored to epoch {self.best_epoch_}, the best by "
                f"{self.key} ({self.best_score_:.4g})."
            )


def _is_transformer(extractor):
    return (
        hasattr(extractor, "transform")
        and hasattr(extractor, "fit")
        and not isinstance(extractor, torch.nn.Module)
    )
