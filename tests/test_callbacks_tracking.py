"""Tests of quality tracking (QualityTracker), StopTraining, the train hooks,
the TensorBoard and ProgressBar callbacks, and unfitted feature extractors."""

import io
import sys
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, KFold

from skgan.callbacks import (
    Callback,
    Checkpoint,
    ProgressBar,
    QualityTracker,
    StopTraining,
    TensorBoard,
)
from skgan.metrics import (
    density_coverage,
    frechet_inception_distance,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)
from skgan.persistence import PersistenceWarning, load_model, save_model
from tests._tiny import tiny_gan

DIGITS, LABELS = load_digits(return_X_y=True)
X = DIGITS[:96]
X_VAL = DIGITS[1500:1600]
Y = LABELS[:96] % 2
Y_VAL = LABELS[1500:1600] % 2


def tracker(**params):
    return QualityTracker(X_VAL, **({"feature_extractor": None} | params))


def generator_states(gan):
    """Copies of the generator's and the moving average's state dicts."""
    return [
        {k: v.detach().clone() for k, v in net.state_dict().items()}
        for net in (gan.generator_, gan.generator_ema_)
    ]


def assert_states_equal(a, b):
    for first, second in zip(a, b):
        assert first.keys() == second.keys()
        for key in first:
            assert torch.equal(first[key], second[key]), key


def states_differ(a, b):
    return any(
        not torch.equal(first[key], second[key])
        for first, second in zip(a, b)
        for key in first
    )


class KeepStates(Callback):
    """After each epoch: the generator states, and what the record holds."""

    def __init__(self):
        self.states, self.records = {}, {}

    def __call__(self, estimator, record):
        epoch = self.epoch_of(record)
        self.states[epoch] = generator_states(estimator)
        self.records[epoch] = dict(record)


class Sabotage(Callback):
    """Makes the generator (and its average) useless after chosen epochs.

    Every weight set to 10 saturates the output at the maximum value: every
    generated image is the same white square, far from any digit.
    """

    def __init__(self, epochs):
        self.epochs = set(epochs)

    def __call__(self, estimator, record):
        if self.epoch_of(record) in self.epochs:
            with torch.no_grad():
                for net in (estimator.generator_, estimator.generator_ema_):
                    for parameter in net.parameters():
                        parameter.fill_(10.0)


# --------------------------------------------------------------------------- #
# The best generator is kept and restored; early stopping
# --------------------------------------------------------------------------- #


def test_a_worsened_generator_is_not_the_one_restored():
    keep, track = KeepStates(), tracker()
    gan = tiny_gan(epochs=4, callbacks=[Sabotage([4]), track, keep]).fit(X)
    scores = {e: r["val_fid"] for e, r in keep.records.items()}
    assert scores == track.scores_
    # The sabotaged last epoch scores worst, and is not restored.
    assert scores[4] > max(scores[e] for e in (1, 2, 3))
    best = min(scores, key=scores.get)
    assert track.best_epoch_ == best and track.best_score_ == scores[best]
    assert keep.records[best]["val_fid_best"]
    assert not keep.records[4]["val_fid_best"]
    assert_states_equal(generator_states(gan), keep.states[best])
    assert states_differ(generator_states(gan), keep.states[4])
    # Scoring the restored model again gives the best score (same noise).
    assert track.score(gan) == track.best_score_
    # history_ still tells every epoch trained.
    assert [r["epoch"] for r in gan.history_] == [1, 2, 3, 4]


def test_restore_best_false_keeps_the_last_generator():
    keep = KeepStates()
    gan = tiny_gan(
        epochs=3, callbacks=[Sabotage([3]), tracker(restore_best=False), keep]
    ).fit(X)
    assert_states_equal(generator_states(gan), keep.states[3])


def test_early_stopping_after_patience_evaluations_without_improvement(capsys):
    keep, track = KeepStates(), tracker(every=1, patience=2)
    gan = tiny_gan(
        epochs=10, verbose=1, callbacks=[Sabotage(range(2, 11)), track, keep]
    ).fit(X)
    assert len(gan.history_) == 3 and track.stopped_epoch_ == 3
    assert sorted(keep.records) == [1, 2, 3]  # later callbacks saw epoch 3
    assert track.best_epoch_ == 1
    assert_states_equal(generator_states(gan), keep.states[1])
    out = capsys.readouterr().out
    assert "val_fid has not improved for 2 evaluations" in out
    assert out.index("training stopped after epoch 3") < out.index(
        "Generator restored to epoch 1"
    )
    # A usable fitted model: it samples, scores, saves and trains on.
    assert gan.sample(3, random_state=0).shape == (3, 64)
    assert np.isfinite(gan.score(X_VAL))
    gan.set_params(warm_start=True, epochs=1, callbacks=None).fit(X)
    assert len(gan.history_) == 4


def test_every_and_tol_count_evaluations():
    # Odd epochs are not scored, and with a huge tol no evaluation after the
    # first improves: two misses (epochs 4 and 6) stop training.
    keep, track = KeepStates(), tracker(every=2, patience=2, tol=1e12)
    gan = tiny_gan(epochs=9, callbacks=[track, keep]).fit(X)
    assert sorted(track.scores_) == [2, 4, 6]
    assert len(gan.history_) == 6 and track.stopped_epoch_ == 6
    assert "val_fid" not in keep.records[1] and not keep.records[1]["val_fid_best"]
    assert [keep.records[e]["val_fid_best"] for e in (2, 4, 6)] == [True, False, False]
    assert track.best_epoch_ == 2
    assert_states_equal(generator_states(gan), keep.states[2])


def test_tracking_does_not_change_training():
    plain = tiny_gan(epochs=3).fit(X)
    tracked = tiny_gan(epochs=3, callbacks=[tracker(restore_best=False)]).fit(X)
    for key in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"):
        assert [r[key] for r in tracked.history_] == [r[key] for r in plain.history_]
    assert_states_equal(generator_states(tracked), generator_states(plain))


def test_direction_of_a_custom_metric():
    values = iter([3.0, 1.0, 2.0] * 2)

    def made_up(real, fake):
        assert real.shape == X_VAL.shape and fake.shape == X_VAL.shape
        return next(values)

    higher = QualityTracker(X_VAL, metric=made_up, greater_is_better=True)
    tiny_gan(epochs=3, callbacks=[higher]).fit(X)
    lower = QualityTracker(X_VAL, metric=made_up, greater_is_better=False)
    gan = tiny_gan(epochs=3, callbacks=[lower]).fit(X)
    assert (higher.best_epoch_, higher.best_score_) == (1, 3.0)
    assert (lower.best_epoch_, lower.best_score_) == (2, 1.0)
    assert higher.key == "val_made_up" and gan.history_[1]["val_made_up"] == 1.0


def test_nan_scores_never_count_as_best():
    values = iter([float("nan"), 2.0, float("nan")])
    track = QualityTracker(
        X_VAL, metric=lambda r, f: next(values), greater_is_better=False, key="q"
    )
    tiny_gan(epochs=3, callbacks=[track]).fit(X)
    assert track.best_epoch_ == 2
    assert np.isnan(track.scores_[1]) and np.isnan(track.scores_[3])


@pytest.mark.parametrize(
    ("metric", "reference"),
    [
        ("fid", lambda r, f: frechet_inception_distance(r, f, feature_extractor=None)),
        (
            kernel_inception_distance,
            lambda r, f: kernel_inception_distance(
                r, f, feature_extractor=None, subset_size=100
            )[0],
        ),
        ("precision", lambda r, f: precision_recall(r, f, feature_extractor=None)[0]),
        ("recall", lambda r, f: precision_recall(r, f, feature_extractor=None)[1]),
        ("coverage", lambda r, f: density_coverage(r, f, feature_extractor=None)[1]),
    ],
)
def test_named_metrics_match_the_metric_functions(metric, reference):
    track = tracker(metric=metric)
    gan = tiny_gan(epochs=1, callbacks=[track]).fit(X)
    fake = gan.sample(len(X_VAL), random_state=0)
    assert_allclose(track.scores_[1], reference(X_VAL, fake), rtol=1e-12)


def test_estimator_extractor_matches_score():
    pca = FrozenEstimator(PCA(n_components=8, random_state=0).fit(DIGITS))
    track = QualityTracker(X_VAL)  # the estimator's extractor, as score uses it
    gan = tiny_gan(epochs=1, feature_extractor=pca, callbacks=[track]).fit(X)
    assert_allclose(track.scores_[1], -gan.score(X_VAL), rtol=1e-10)


def test_conditional_models_are_scored_class_by_class():
    keep, track = KeepStates(), QualityTracker(X_VAL, Y_VAL, feature_extractor=None)
    gan = tiny_gan(epochs=2, conditional=True, callbacks=[track, keep]).fit(X, Y)
    assert sorted(track.scores_) == [1, 2]
    fake, labels = gan.sample(y=Y_VAL, random_state=0)
    assert_array_equal(labels, Y_VAL)
    assert_states_equal(generator_states(gan), keep.states[track.best_epoch_])
    expected = frechet_inception_distance(X_VAL, fake, feature_extractor=None)
    if track.best_epoch_ == 2:
        assert_allclose(track.scores_[2], expected, rtol=1e-12)
    # Without y_val, labels are drawn from the class prior.
    unlabeled = tracker()
    tiny_gan(epochs=1, conditional=True, callbacks=[unlabeled]).fit(X, Y)
    assert np.isfinite(unlabeled.scores_[1])


def test_warm_start_and_partial_fit_carry_on_a_fresh_fit_starts_over():
    track = tracker()
    gan = tiny_gan(epochs=2, callbacks=[track]).fit(X)
    gan.set_params(warm_start=True, epochs=1).fit(X)
    gan.partial_fit(X)
    assert sorted(track.scores_) == [1, 2, 3, 4]
    gan.set_params(warm_start=False, epochs=1).fit(X)
    assert sorted(track.scores_) == [1]


def test_checkpoint_monitor_keeps_the_best_model(tmp_path):
    keep, track = KeepStates(), tracker()
    best_only = Checkpoint(tmp_path, monitor="val_fid_best", keep_last=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PersistenceWarning)  # the tracker is code
        gan = tiny_gan(epochs=4, callbacks=[Sabotage([4]), track, best_only, keep]).fit(
            X
        )
    assert [p.name for p in best_only.checkpoints()] == [
        f"checkpoint_{track.best_epoch_:04d}.skgan"
    ]
    with pytest.warns(PersistenceWarning, match="callbacks"):
        loaded = load_model(best_only.latest())
    assert_states_equal(generator_states(loaded), generator_states(gan))
    assert loaded.history_[-1]["val_fid_best"] is True
    assert loaded.history_[-1]["val_fid"] == track.best_score_


def test_checkpoint_monitor_before_the_tracker_is_refused(tmp_path):
    gan = tiny_gan(
        epochs=2, callbacks=[Checkpoint(tmp_path, monitor="val_fid_best"), tracker()]
    )
    with pytest.raises(ValueError, match="before the Checkpoint"):
        gan.fit(X)


def test_history_with_scores_is_saved_and_the_tracker_is_named(tmp_path):
    gan = tiny_gan(epochs=2, callbacks=[tracker()]).fit(X)
    with pytest.warns(PersistenceWarning, match="callbacks"):
        save_model(gan, tmp_path / "m.skgan")
    with pytest.warns(PersistenceWarning, match="callbacks"):
        loaded = load_model(tmp_path / "m.skgan")
    assert loaded.history_ == gan.history_


def test_plot_history_draws_the_score_beside_the_losses():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    track = tracker(every=2)
    gan = tiny_gan(epochs=4, callbacks=[track]).fit(X)
    from skgan.plotting import plot_history

    fig = plot_history(gan, scores="val_fid")
    try:
        assert len(fig.axes) == 3
        (line,) = fig.axes[2].get_lines()
        assert_array_equal(line.get_xdata(), [2, 4])
        assert_array_equal(line.get_ydata(), [track.scores_[2], track.scores_[4]])
        with pytest.raises(ValueError, match="no value for 'val_kid'"):
            plot_history(gan, scores=["val_kid"])
    finally:
        plt.close("all")


# --------------------------------------------------------------------------- #
# Bad input: refused when the tracker is made, or before the first epoch
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"metric": "ssim"}, ValueError, "'fid', 'kid'"),
        ({"metric": precision_recall}, ValueError, "metric='precision'"),
        ({"metric": density_coverage}, ValueError, "metric='coverage'"),
        ({"metric": inception_score}, ValueError, "does not compare"),
        ({"metric": 3}, TypeError, "callable"),
        ({"metric": np.mean}, ValueError, "greater_is_better must be given"),
        ({"greater_is_better": True}, ValueError, "contradicts"),
        ({"greater_is_better": "yes"}, TypeError, "greater_is_better"),
        ({"every": 0}, ValueError, "every"),
        ({"patience": 0}, ValueError, "patience"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"tol": float("nan")}, ValueError, "tol"),
        ({"restore_best": 1}, TypeError, "restore_best"),
        ({"metric_params": {"feature_extractor": None}}, ValueError, "sets itself"),
        ({"metric_params": [("k", 3)]}, TypeError, "metric_params"),
        ({"n_samples": 1}, ValueError, "n_samples"),
        ({"random_state": 1.5}, TypeError, "random_state"),
        ({"key": ""}, TypeError, "key"),
        ({"feature_extractor": PCA()}, NotFittedError, "FrozenEstimator"),
        (
            {"metric": np.mean, "greater_is_better": True, "feature_extractor": "x"},
            ValueError,
            "receives images",
        ),
    ],
)
def test_bad_tracker_parameters(params, error, match):
    with pytest.raises(error, match=match):
        tracker(**params)


def test_bad_held_out_images():
    with pytest.raises(ValueError, match="at least 2"):
        QualityTracker(X_VAL[:1])
    with pytest.raises(ValueError, match="NaN"):
        QualityTracker(np.where(X_VAL > 10, np.nan, X_VAL))
    with pytest.raises(ValueError, match="one label per image"):
        QualityTracker(X_VAL, Y_VAL[:-1])
    with pytest.raises(ValueError, match="n_samples must be None"):
        QualityTracker(X_VAL, Y_VAL, n_samples=10)


@pytest.mark.parametrize(
    ("make", "fit", "match"),
    [
        (
            lambda: tiny_gan(callbacks=[tracker(feature_extractor=None)]),
            lambda gan: gan.fit(X.reshape(-1, 8, 8)),
            "X_val has per-sample shape",
        ),
        (
            lambda: tiny_gan(callbacks=[QualityTracker(X_VAL, Y_VAL)]),
            lambda gan: gan.fit(X),
            "not conditional",
        ),
        (
            lambda: tiny_gan(
                conditional=True, callbacks=[QualityTracker(X_VAL, Y_VAL + 5)]
            ),
            lambda gan: gan.fit(X, Y),
            "not fitted on",
        ),
    ],
)
def test_mismatches_with_the_estimator_are_refused_before_any_epoch(make, fit, match):
    gan = make()
    with pytest.raises(ValueError, match=match):
        fit(gan)
    assert not getattr(gan, "history_", [])


# --------------------------------------------------------------------------- #
# Item 5: a transformer feature_extractor must be fitted; clone unfits it
# --------------------------------------------------------------------------- #


def test_fit_refuses_an_unfitted_transformer_before_training():
    gan = tiny_gan(feature_extractor=PCA(n_components=4))
    with pytest.raises(NotFittedError, match=r"sklearn\.frozen\.FrozenEstimator"):
        gan.fit(X)
    assert not hasattr(gan, "history_")


def test_grid_search_fails_clearly_with_a_bare_transformer_and_works_frozen():
    pca = PCA(n_components=8, random_state=0).fit(DIGITS)
    grid = {"loss": ["bce", "hinge"]}
    cv = KFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(tiny_gan(feature_extractor=pca), grid, cv=cv)
    with pytest.raises(ValueError, match="FrozenEstimator") as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(DIGITS[:128])
    assert "All the 4 fits failed" in str(info.value)
    frozen = GridSearchCV(tiny_gan(feature_extractor=FrozenEstimator(pca)), grid, cv=cv)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fit or score failure
        frozen.fit(DIGITS[:128])
    assert np.isfinite(frozen.cv_results_["mean_test_score"]).all()


def test_the_tracker_refuses_the_estimators_unfitted_transformer_in_a_search():
    # The tracker's own extractor survives clone (callbacks are deep-copied);
    # the estimator's is unfitted by clone and refused before training.
    pca = PCA(n_components=8, random_state=0).fit(DIGITS)
    own = QualityTracker(X_VAL, feature_extractor=pca, every=1)
    search = GridSearchCV(
        tiny_gan(feature_extractor=FrozenEstimator(pca), callbacks=[own]),
        {"loss": ["bce"]},
        cv=KFold(2),
        refit=False,
    )
    search.fit(DIGITS[:128])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert own.scores_ == {}  # the search trained copies of it

    gan = tiny_gan(
        feature_extractor=PCA(n_components=8), callbacks=[QualityTracker(X_VAL)]
    )
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        gan.fit(X)


# --------------------------------------------------------------------------- #
# StopTraining and the train hooks
# --------------------------------------------------------------------------- #


class Hooks(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, estimator, plan):
        self.calls.append(("begin", plan, len(estimator.history_)))

    def __call__(self, estimator, record):
        self.calls.append(("epoch", record["epoch"]))

    def on_train_end(self, estimator, outcome):
        self.calls.append(("end", outcome, len(estimator.history_)))


def test_train_hooks_frame_every_call():
    hooks = Hooks()
    gan = tiny_gan(epochs=2, callbacks=[hooks]).fit(X)
    gan.partial_fit(X)
    gan.set_params(warm_start=True, steps=3).fit(X)
    fit_plan = {"phase": "fit", "epochs": 2, "steps": None}
    partial_plan = {"phase": "partial_fit", "epochs": 1, "steps": None}
    steps_plan = {"phase": "fit", "epochs": None, "steps": 3}
    assert hooks.calls == [
        ("begin", fit_plan, 0),
        ("epoch", 1),
        ("epoch", 2),
        ("end", "done", 2),
        ("begin", partial_plan, 2),
        ("epoch", 3),
        ("end", "done", 3),
        ("begin", steps_plan, 3),
        ("epoch", 4),  # 96 images, batches of 16: one epoch is 6 steps
        ("end", "done", 4),
    ]


def test_stop_training_from_a_plain_function_ends_fit_cleanly(capsys):
    hooks = Hooks()

    def stop_at_2(estimator, record):
        if record["epoch"] == 2:
            raise StopTraining("enough for today")

    gan = tiny_gan(epochs=5, verbose=1, callbacks=[stop_at_2, hooks]).fit(X)
    assert len(gan.history_) == 2
    assert hooks.calls[-2:] == [("epoch", 2), ("end", "stopped", 2)]
    assert "enough for today" in capsys.readouterr().out
    # The stopped model continues bit-identically to an unstopped one.
    gan.set_params(warm_start=True, epochs=1, callbacks=None).fit(X)
    reference = tiny_gan(epochs=3).fit(X)
    assert_states_equal(generator_states(gan), generator_states(reference))


def test_an_error_in_a_callback_calls_the_end_hooks_with_error():
    hooks = Hooks()

    def fail(estimator, record):
        raise RuntimeError("broken callback")

    with pytest.raises(RuntimeError, match="broken callback"):
        tiny_gan(epochs=3, callbacks=[hooks, fail]).fit(X)
    assert hooks.calls[-1] == ("end", "error", 1)


# --------------------------------------------------------------------------- #
# TensorBoard and ProgressBar
# --------------------------------------------------------------------------- #


def test_tensorboard_event_files_hold_the_scalars_and_the_images(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    track = tracker(every=2)
    board = TensorBoard(tmp_path, image_every=2, n_images=16, scale=2)
    gan = tiny_gan(epochs=4, callbacks=[track, board]).fit(X)
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    expected = {
        "loss/d_loss": "d_loss",
        "loss/g_loss": "g_loss",
        "accuracy/d_real_accuracy": "d_real_accuracy",
        "accuracy/d_fake_accuracy": "d_fake_accuracy",
        "training/seconds": "seconds",
        "training/n_steps": "n_steps",
    }
    spread = "training/sample_spread"  # on the epochs whose checks measured it
    measured = [r["epoch"] for r in gan.history_ if r["sample_spread"] is not None]
    assert set(expected) | {"quality/val_fid"} | (
        {spread} if measured else set()
    ) == set(tags["scalars"])
    if measured:
        assert [e.step for e in events.Scalars(spread)] == measured
    for tag, key in expected.items():
        logged = events.Scalars(tag)
        assert [e.step for e in logged] == [1, 2, 3, 4]
        assert_allclose(
            [e.value for e in logged], [r[key] for r in gan.history_], rtol=1e-6
        )
    fid = events.Scalars("quality/val_fid")
    assert [e.step for e in fid] == [2, 4]
    assert_allclose(
        [e.value for e in fid], [track.scores_[2], track.scores_[4]], rtol=1e-6
    )
    assert tags["images"] == ["samples"]
    images = events.Images("samples")
    assert [e.step for e in images] == [2, 4]
    # 4x4 grid of 8x8 images, 2 pixels of padding, enlarged twice.
    assert (images[0].width, images[0].height) == (2 * 42, 2 * 42)
    from PIL import Image

    png = Image.open(io.BytesIO(images[0].encoded_image_string))
    assert png.size == (84, 84)


def test_tensorboard_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r'pip install "skgan\[tensorboard\]"'):
        TensorBoard(tmp_path)


def test_tensorboard_is_left_out_of_model_files_and_copied_without_its_file(
    tmp_path,
):
    pytest.importorskip("tensorboard")
    import copy

    board = TensorBoard(tmp_path / "run", image_every=None)
    gan = tiny_gan(epochs=1, callbacks=[board]).fit(X)
    assert board._writer is None  # closed at the end of fit
    board.writer  # noqa: B018 - open it, then copy
    assert copy.deepcopy(board)._writer is None
    board.on_train_end(gan, "done")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PersistenceWarning)
        save_model(gan, tmp_path / "m.skgan")


def test_progress_bar_counts_epochs_and_shows_the_score():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = ProgressBar(file=out, mininterval=0, ascii=True)
    tiny_gan(epochs=3, callbacks=[tracker(), bar]).fit(X)
    text = out.getvalue()
    assert "3/3" in text and "epoch" in text and "val_fid=" in text
    assert "d_loss=" in text
    out.truncate(0)
    tiny_gan(steps=8, callbacks=[bar]).fit(X)
    assert "8/8" in out.getvalue() and "step" in out.getvalue()


def test_progress_bar_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r'pip install "skgan\[tqdm\]"'):
        ProgressBar()
