"""Tests of skgan.callbacks: the protocol, Callback, Checkpoint files, snapshots."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn.datasets import load_digits

from skgan import callbacks
from skgan.callbacks import Callback, Checkpoint, SampleSnapshots, latest_checkpoint
from skgan.persistence import PersistenceWarning, load_model, save_model
from skgan.plotting import make_image_grid, plot_history
from tests._tiny import tiny_gan

try:
    import matplotlib

    matplotlib.use("Agg")
except ImportError:  # only the matplotlib check is skipped
    matplotlib = None

X = load_digits().data[:32]


@pytest.fixture
def close_figures():
    yield
    if matplotlib is not None:
        import matplotlib.pyplot as plt

        plt.close("all")


# --------------------------------------------------------------------------- #
# The protocol, as the estimator follows it
# --------------------------------------------------------------------------- #


class Recorder(Callback):
    """Keeps what each call saw, to compare with history_ afterwards."""

    def __init__(self):
        self.calls = []

    def __call__(self, estimator, record):
        self.calls.append(
            (self.epoch_of(record), record, estimator, len(estimator.history_))
        )
        return "ignored"


def test_estimator_calls_callbacks_after_each_epoch_in_order():
    order, recorder = [], Recorder()

    def plain(estimator, record):  # a plain function still works
        order.append(("plain", record["epoch"], estimator.history_[-1] is record))

    def second(estimator, record):
        order.append(("second", record["epoch"], recorder.calls[-1][1] is record))

    gan = tiny_gan(epochs=3, callbacks=[plain, recorder, second]).fit(X)
    assert [epoch for epoch, *_ in recorder.calls] == [1, 2, 3]
    for (epoch, record, estimator, n_seen), kept in zip(recorder.calls, gan.history_):
        assert record is kept and estimator is gan and n_seen == epoch
    assert order == [(name, e, True) for e in (1, 2, 3) for name in ("plain", "second")]
    # Warm starts and partial_fit count on.
    gan.set_params(warm_start=True, epochs=1).fit(X)
    gan.partial_fit(X)
    assert [epoch for epoch, *_ in recorder.calls] == [1, 2, 3, 4, 5]


def test_a_failing_callback_stops_training_and_keeps_the_epochs_done():
    def fail_at_2(estimator, record):
        if record["epoch"] == 2:
            raise RuntimeError("callback failed")

    gan = tiny_gan(epochs=5, callbacks=[fail_at_2])
    with pytest.raises(RuntimeError, match="callback failed"):
        gan.fit(X)
    assert [r["epoch"] for r in gan.history_] == [1, 2]
    assert gan.sample(2).shape == (2, X.shape[1])


def test_callback_is_an_abstract_base_class():
    with pytest.raises(TypeError, match="abstract"):
        Callback()

    class Forgetful(Callback):
        def on_epoch(self, estimator, record):  # not __call__
            pass

    with pytest.raises(TypeError, match="abstract"):
        Forgetful()
    assert isinstance(Checkpoint("ckpt"), Callback)
    assert isinstance(SampleSnapshots("snaps"), Callback)
    assert not isinstance(lambda estimator, record: None, Callback)
    assert set(callbacks.__all__) == {
        "Callback",
        "Checkpoint",
        "ProgressBar",
        "QualityTracker",
        "SampleSnapshots",
        "StopTraining",
        "TensorBoard",
        "latest_checkpoint",
    }


@given(epoch=st.integers(1, 10**12), numpy=st.booleans())
def test_epoch_of_returns_the_epoch(epoch, numpy):
    value = np.int64(epoch) if numpy else epoch
    got = Recorder().epoch_of({"epoch": value, "d_loss": 0.5})
    assert got == epoch and type(got) is int


@pytest.mark.parametrize(
    "record",
    [{}, {"epoch": 0}, {"epoch": -3}, {"epoch": 2.0}, {"epoch": True}, {"epoch": "3"}]
    + [None, 3, [("epoch", 1)]],
)
def test_epoch_of_refuses_what_is_not_an_epoch_record(record):
    with pytest.raises(ValueError, match=r"Recorder needs the epoch's history record"):
        Recorder().epoch_of(record)
    with pytest.raises(ValueError, match=r"Checkpoint needs .* integer 'epoch' key"):
        Checkpoint("never-written")(object(), record)


class Silent(Recorder):
    drop_when_saved = True


def test_drop_when_saved_decides_whether_saving_warns(tmp_path):
    assert Callback.drop_when_saved is False and Checkpoint.drop_when_saved is True
    assert SampleSnapshots.drop_when_saved is False
    gan = tiny_gan(callbacks=[Silent(), Checkpoint(tmp_path / "ckpt")]).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_model(save_model(gan, tmp_path / "silent.skgan"))
    assert loaded.callbacks is None
    gan.set_params(callbacks=[Silent(), Recorder()])
    with pytest.warns(PersistenceWarning, match="callbacks"):
        save_model(gan, tmp_path / "loud.skgan")


# --------------------------------------------------------------------------- #
# Checkpoint files
# --------------------------------------------------------------------------- #


@settings(max_examples=30, deadline=None)
@given(
    epochs=st.sets(st.integers(1, 123456), max_size=8),
    width=st.sampled_from(["{:04d}", "{}", "{:06d}"]),
)
def test_checkpoint_files_are_ordered_by_epoch_number(tmp_path_factory, epochs, width):
    folder = tmp_path_factory.mktemp("ckpt")
    for epoch in epochs:
        (folder / f"checkpoint_{width.format(epoch)}.skgan").write_bytes(b"")
    (folder / "checkpoint_9999999.skgan").mkdir()  # a folder: not a checkpoint
    for other in ("checkpoint_0001.skgan.tmp", "checkpoint_x.skgan", "notes.txt"):
        (folder / other).write_bytes(b"")
    expected = [folder / f"checkpoint_{width.format(e)}.skgan" for e in sorted(epochs)]
    assert Checkpoint(folder).checkpoints() == expected
    assert latest_checkpoint(folder) == (expected[-1] if epochs else None)
    assert Checkpoint(str(folder)).latest() == latest_checkpoint(str(folder))


def test_checkpoint_repr_path_and_arguments(tmp_path):
    keeper = Checkpoint(tmp_path, every=3, keep_last=2)
    assert repr(keeper) == f"Checkpoint({str(tmp_path)!r}, every=3, keep_last=2)"
    assert keeper.path_for(7) == tmp_path / "checkpoint_0007.skgan"
    assert keeper.path_for(12345).name == "checkpoint_12345.skgan"
    assert latest_checkpoint(tmp_path / "absent") is None
    with pytest.raises(TypeError, match="directory must be a str or os.PathLike"):
        latest_checkpoint(7)
    with pytest.raises(TypeError, match="keep_last must be an integer or None"):
        Checkpoint(tmp_path, keep_last=1.0)


def test_checkpoint_skips_epochs_between_saves(tmp_path):
    """Off-schedule epochs return before touching the estimator or the disk."""
    keeper = Checkpoint(tmp_path / "later", every=3)
    for epoch in (1, 2, 4, 5):
        assert keeper(object(), {"epoch": epoch}) is None
    assert not (tmp_path / "later").exists()


# --------------------------------------------------------------------------- #
# No import cycle
# --------------------------------------------------------------------------- #


def test_persistence_imports_neither_callbacks_nor_plotting():
    code = (
        "import sys, skgan.persistence; "
        "assert not {'skgan.callbacks', 'skgan.plotting'} & set(sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('skgan'))\n"
        "import skgan.callbacks, skgan.plotting"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    fresh = "import skgan.callbacks; from skgan.callbacks import Checkpoint"
    subprocess.run([sys.executable, "-c", fresh], check=True)


# --------------------------------------------------------------------------- #
# SampleSnapshots (fixed-noise image grids)
# --------------------------------------------------------------------------- #


class FakeGAN:
    """Exposes sample() like DCGANEstimator: same seed, same images."""

    def __init__(self, shape=(6, 6), conditional=False, dtype=np.float64):
        self.shape, self.conditional, self.dtype = shape, conditional, dtype
        self.calls = []
        self.version = 0  # changes as "training" goes on

    def sample(self, n, random_state=None):
        self.calls.append((n, random_state))
        rng = np.random.default_rng(random_state)
        X = (rng.random((n, *self.shape)) + self.version).astype(self.dtype)
        if self.conditional:
            return X, np.arange(n) % 2
        return X


def test_snapshots_every_k_epochs_with_fixed_noise(tmp_path):
    target = tmp_path / "run" / "samples"
    snapshots = SampleSnapshots(target, every=2, n_images=9, random_state=7)
    gan = FakeGAN()
    written = [snapshots(gan, {"epoch": e, "d_loss": 0.1}) for e in range(1, 6)]
    assert written[0] is None and written[2] is None and written[4] is None
    assert [p.name for p in snapshots.paths_] == ["epoch_0002.png", "epoch_0004.png"]
    assert written[1] == snapshots.paths_[0] and written[3] == snapshots.paths_[1]
    assert sorted(p.name for p in target.iterdir()) == [
        "epoch_0002.png",
        "epoch_0004.png",
    ]
    assert gan.calls == [(9, 7), (9, 7)]
    first, second = (np.asarray(Image.open(p)) for p in snapshots.paths_)
    np.testing.assert_array_equal(first, second)  # same noise, same model
    assert first.shape == (3 * 8 + 2, 3 * 8 + 2)


def test_snapshots_directory_created_lazily_and_prefix(tmp_path):
    snapshots = SampleSnapshots(str(tmp_path / "later"), prefix="dcgan", n_images=4)
    assert not (tmp_path / "later").exists()
    path = snapshots(FakeGAN(), {"epoch": 12})
    assert path == tmp_path / "later" / "dcgan_0012.png" and path.exists()


def test_snapshots_of_conditional_model_are_grouped(tmp_path):
    snapshots = SampleSnapshots(tmp_path, n_images=6, label_names=["normal", "sick"])
    path = snapshots(FakeGAN(conditional=True), {"epoch": 1})
    plain = SampleSnapshots(tmp_path, n_images=6, prefix="plain")(
        FakeGAN(), {"epoch": 1}
    )
    with Image.open(path) as grouped, Image.open(plain) as ungrouped:
        assert grouped.width > ungrouped.width  # a column of class names


def test_snapshots_use_estimator_shape_and_range(tmp_path):
    class Layout:
        data_min, data_max = 0.0, 4.0

    gan = FakeGAN(shape=(4 * 5 * 3,))  # flattened RGB rows: not inferable
    with pytest.raises(ValueError, match="image_shape=.*parameters of SampleSnapshots"):
        SampleSnapshots(tmp_path, n_images=2)(gan, {"epoch": 1})
    gan.image_shape_ = (4, 5, 3)
    gan.image_layout_ = Layout()
    path = SampleSnapshots(tmp_path, n_images=2, n_cols=2)(gan, {"epoch": 1})
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (4 + 4, 2 * 7 + 2, 3)
    assert 0 < pixels[2:6, 2:7].max() <= 64  # values 0..1 shown on a 0..4 scale


def test_snapshots_validation(tmp_path):
    with pytest.raises(ValueError, match="every must be >= 1"):
        SampleSnapshots(tmp_path, every=0)
    with pytest.raises(ValueError, match="n_images must be >= 1"):
        SampleSnapshots(tmp_path, n_images=0)
    with pytest.raises(TypeError, match="random_state must be an int"):
        SampleSnapshots(tmp_path, random_state=np.random.RandomState(0))
    with pytest.raises(ValueError, match="path separators"):
        SampleSnapshots(tmp_path, prefix="a/b")
    with pytest.raises(ValueError, match="data_range"):
        SampleSnapshots(tmp_path, data_range=(1, 1))
    with pytest.raises(TypeError, match="directory must be"):
        SampleSnapshots(None)
    snapshots = SampleSnapshots(tmp_path)
    with pytest.raises(ValueError, match="integer 'epoch' key"):
        snapshots(FakeGAN(), {"d_loss": 1.0})
    with pytest.raises(TypeError, match="sample"):
        snapshots(object(), {"epoch": 1})
    assert "every=1" in repr(snapshots)


def test_snapshots_with_real_estimator(tmp_path, close_figures):
    X = load_digits().images[:32].astype(np.float32) / 16  # float, range 0..1
    snapshots = SampleSnapshots(tmp_path, every=2, n_images=16)
    gan = tiny_gan(epochs=3, callbacks=[snapshots]).fit(X)
    assert [p.name for p in snapshots.paths_] == ["epoch_0002.png"]
    # the snapshot of epoch 2 shows sample(16, random_state=0) of that model
    gan_2 = type(gan)(**(gan.get_params() | {"epochs": 2, "callbacks": None}))
    expected = make_image_grid(
        gan_2.fit(X).sample(16, random_state=0), data_range=(0, 1)
    )
    np.testing.assert_array_equal(np.asarray(Image.open(snapshots.paths_[0])), expected)
    if matplotlib is not None:
        assert len(plot_history(gan).axes) == 2
