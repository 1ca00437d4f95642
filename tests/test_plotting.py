"""Tests of skgan.plotting: grids (Pillow and matplotlib) and training curves."""

import importlib
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn.exceptions import NotFittedError

import skgan
from skgan import plotting
from skgan.plotting import (
    make_image_grid,
    plot_history,
    plot_image_grid,
    save_image_grid,
)

try:
    import matplotlib

    matplotlib.use("Agg")
except ImportError:  # only the matplotlib tests are skipped
    matplotlib = None

needs_mpl = pytest.mark.skipif(matplotlib is None, reason="matplotlib not installed")


@pytest.fixture
def close_figures():
    yield
    if matplotlib is not None:
        import matplotlib.pyplot as plt

        plt.close("all")


def _constant_images(values, h=4, w=3):
    """Images filled with one value each, to find them again in a grid."""
    return np.stack([np.full((h, w), v, dtype=np.uint8) for v in values])


def _cell(grid, row, col, h, w, padding=2, left=0):
    top, start = padding + row * (h + padding), left + padding + col * (w + padding)
    return grid[top : top + h, start : start + w]


# --------------------------------------------------------------------------- #
# make_image_grid / save_image_grid
# --------------------------------------------------------------------------- #


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 11),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    channels=st.sampled_from([1, 3, 4]),
    layout=st.sampled_from(["flat", "3d", "4d"]),
    n_cols=st.one_of(st.none(), st.integers(1, 5)),
    padding=st.integers(0, 3),
    scale=st.integers(1, 3),
    dtype=st.sampled_from(["uint8", "float32"]),
)
def test_grid_geometry_over_layouts(
    n, h, w, channels, layout, n_cols, padding, scale, dtype
):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, h, w, channels)).astype(dtype)
    image_shape = None
    if layout == "flat":
        images = images.reshape(n, -1)
        image_shape = (h, w, channels)
    elif layout == "3d":
        images = images[..., 0]
        channels = 1
    grid = make_image_grid(
        images, image_shape=image_shape, n_cols=n_cols, padding=padding, scale=scale
    )
    cols = n_cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    assert grid.size == (
        scale * (cols * (w + padding) + padding),
        scale * (rows * (h + padding) + padding),
    )
    assert grid.mode == {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    if dtype == "uint8" and scale == 1:  # uint8 is shown as is: first image intact
        first = np.asarray(grid)[padding : padding + h, padding : padding + w]
        expected = images.reshape(n, h, w, channels)[0]
        np.testing.assert_array_equal(first.reshape(h, w, -1)[..., :channels], expected)


def test_images_are_placed_row_major_with_padding():
    values = [10, 20, 30, 40, 50]
    grid = np.asarray(
        make_image_grid(_constant_images(values), n_cols=2, pad_value=1.0)
    )
    assert grid.shape == (3 * 6 + 2, 2 * 5 + 2)
    for i, v in enumerate(values):
        assert (_cell(grid, i // 2, i % 2, 4, 3) == v).all()
    assert (grid[:2] == 255).all() and (grid[:, :2] == 255).all()  # white padding
    assert (_cell(grid, 2, 1, 4, 3) == 255).all()  # empty slot shows padding


def test_value_ranges():
    floats = np.array([[[-1.0, 0.0], [0.5, 1.0]]])
    auto = np.asarray(make_image_grid(floats, padding=0))
    np.testing.assert_array_equal(auto, [[0, 128], [191, 255]])  # min..max
    fixed = np.asarray(make_image_grid(floats, padding=0, data_range=(0, 0.5)))
    np.testing.assert_array_equal(fixed, [[0, 0], [255, 255]])  # clipped
    dark = np.array([[[0, 10], [20, 30]]], dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(make_image_grid(dark, padding=0)), dark[0])
    stretched = np.asarray(make_image_grid(dark.astype(np.int64), padding=0))
    np.testing.assert_array_equal(stretched, [[0, 85], [170, 255]])
    constant = np.asarray(make_image_grid(np.full((2, 3, 3), 0.7), padding=0))
    assert (constant == 0).all()


def test_labels_group_rows_by_class_and_write_names():
    values = [11, 22, 33, 44, 55]
    labels = [1, 0, 1, 0, 1]
    plain = make_image_grid(_constant_images(values), n_cols=2)
    grid = make_image_grid(
        _constant_images(values), labels=labels, n_cols=2, label_names=["neg", "pos"]
    )
    pixels = np.asarray(grid)
    left = grid.width - (2 * 5 + 2)
    assert left > 0 and grid.height == 3 * 6 + 2  # class 0: 1 row, class 1: 2 rows
    assert plain.height == grid.height
    # class 0 (images 1, 3) first, then class 1 (images 0, 2, 4), order kept
    for (row, col), v in zip(
        [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)], [22, 44, 11, 33, 55]
    ):
        assert (_cell(pixels, row, col, 4, 3, left=left) == v).all()
    column = pixels[:, :left]
    assert column.max() > 100  # white text on the black label column
    text_rows = np.flatnonzero(column.max(axis=1) > 100)
    assert text_rows.min() < 6 and text_rows.max() >= 6  # "neg" by row 0, "pos" after


def test_label_names_mapping_and_errors():
    images = _constant_images([1, 2])
    grid = make_image_grid(images, labels=["b", "a"], label_names={"a": "A", "b": "B"})
    assert grid.width > make_image_grid(images).width
    with pytest.raises(ValueError, match="no entry for label 'c'"):
        make_image_grid(images, labels=["a", "c"], label_names={"a": "A"})
    with pytest.raises(ValueError, match="not an index into label_names"):
        make_image_grid(images, labels=[0, 5], label_names=["zero"])
    with pytest.raises(ValueError, match="one label per image"):
        make_image_grid(images, labels=[0, 1, 1])
    with pytest.raises(TypeError, match="label_names must be"):
        make_image_grid(images, labels=[0, 1], label_names="ab")


def test_white_padding_gives_black_label_text():
    grid = np.asarray(
        make_image_grid(_constant_images([128, 128]), labels=[0, 1], pad_value=1.0)
    )
    column = grid[:, : grid.shape[1] - (1 * 5 + 2) - 3]
    assert column.max() == 255 and column.min() < 100


@pytest.mark.parametrize(
    "images, kwargs, error, match",
    [
        (np.zeros((2, 4, 4, 2)), {}, ValueError, "2 channels"),
        (np.zeros((2, 12)), {}, ValueError, "image_shape"),
        (np.full((2, 4, 4), np.nan), {}, ValueError, "NaN"),
        (np.zeros((2, 4, 4)), {"data_range": (1, 0)}, ValueError, "low < high"),
        (np.zeros((2, 4, 4)), {"data_range": 5}, ValueError, "data_range"),
        (np.zeros((2, 4, 4)), {"data_range": (0, np.inf)}, ValueError, "finite"),
        (np.zeros((2, 4, 4)), {"padding": -1}, ValueError, "padding must be >= 0"),
        (np.zeros((2, 4, 4)), {"n_cols": 0}, ValueError, "n_cols must be >= 1"),
        (np.zeros((2, 4, 4)), {"n_cols": 2.0}, TypeError, "n_cols must be an int"),
        (np.zeros((2, 4, 4)), {"scale": 0}, ValueError, "scale must be >= 1"),
        (np.zeros((2, 4, 4)), {"pad_value": 2}, ValueError, "pad_value"),
        (np.zeros(16), {}, ValueError, "Reshape a single image"),
        (np.array([["a", "b"]]), {}, TypeError, "non-numeric"),
        ("images", {}, TypeError, "array-like of images"),
    ],
)
def test_bad_grid_inputs(images, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_image_grid(images, **kwargs)


def test_save_image_grid_writes_png(tmp_path):
    images = np.random.default_rng(0).random((6, 5, 5, 3))
    path = save_image_grid(images, tmp_path / "grid.png", n_cols=3, scale=2)
    assert path == tmp_path / "grid.png"
    with Image.open(path) as saved:
        assert saved.format == "PNG"
        pixels = np.asarray(saved)
    expected = np.asarray(make_image_grid(images, n_cols=3, scale=2))
    np.testing.assert_array_equal(pixels, expected)
    with pytest.raises(ValueError, match=r"\.png extension"):
        save_image_grid(images, tmp_path / "grid.unknownext")
    with pytest.raises(TypeError, match="path must be"):
        save_image_grid(images, 3)


def test_plotting_imports_and_saves_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for name in [m for m in sys.modules if m.startswith("skgan.plotting")]:
        monkeypatch.delitem(sys.modules, name)  # the package and its modules
    monkeypatch.setattr(skgan, "plotting", plotting)  # restored afterwards
    fresh = importlib.import_module("skgan.plotting")
    assert fresh is not plotting
    fresh.save_image_grid(np.zeros((4, 3, 3)), tmp_path / "g.png")
    assert (tmp_path / "g.png").exists()
    with pytest.raises(ImportError, match=r"pip install skgan\[plots\]"):
        fresh.plot_image_grid(np.zeros((4, 3, 3)))
    with pytest.raises(ImportError, match=r"plot_history needs matplotlib"):
        fresh.plot_history([{"epoch": 1, "d_loss": 1.0}])


# --------------------------------------------------------------------------- #
# plot_image_grid
# --------------------------------------------------------------------------- #


@needs_mpl
def test_plot_image_grid_figure(close_figures):
    from matplotlib.figure import Figure

    images = np.random.default_rng(1).random((5, 6, 6))
    fig = plot_image_grid(
        images, labels=[0, 1, 0, 1, 1], label_names=["a", "b"], n_cols=2, title="s"
    )
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    (shown,) = ax.get_images()
    data = np.asarray(shown.get_array())
    assert data.shape == (3 * 8 + 2, 2 * 8 + 2)  # rows: class "a" 1, class "b" 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_title() == "s"
    assert shown.get_clim() == (0.0, 1.0)


@needs_mpl
def test_plot_image_grid_rgb_into_given_axes(close_figures):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    images = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    images[1, ..., 0] = 255
    assert plot_image_grid(images, ax=right, padding=0) is fig
    data = np.asarray(right.get_images()[0].get_array())
    assert data.shape == (2 * 4, 2 * 4, 3)
    assert (data[0:4, 4:8] == [1.0, 0.0, 0.0]).all()  # second image: red
    assert (data[0:4, 0:4] == 0.0).all()
    assert left.get_images() == []


# --------------------------------------------------------------------------- #
# plot_history
# --------------------------------------------------------------------------- #

HISTORY = [
    {
        "epoch": e,
        "d_loss": 1.0 / e,
        "g_loss": 2.0 - 0.1 * e,
        "d_real_accuracy": 0.5 + 0.05 * e,
        "d_fake_accuracy": 0.4,
        "seconds": 0.1,
        "n_steps": 3,
        "completed": True,
        "future_key": "ignored",
    }
    for e in range(1, 6)
]


@needs_mpl
def test_plot_history_from_list_and_estimator(close_figures):
    fig = plot_history(HISTORY)
    loss_ax, acc_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["discriminator"].get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(
        lines["generator"].get_ydata(), [1.9, 1.8, 1.7, 1.6, 1.5]
    )
    acc = {line.get_label(): line for line in acc_ax.get_lines()}
    np.testing.assert_allclose(
        acc["D on real"].get_ydata(), [0.55, 0.6, 0.65, 0.7, 0.75]
    )
    assert "D on fake" in acc and acc_ax.get_ylim() == (-0.02, 1.02)

    class Fitted:
        history_ = HISTORY[:2]

    assert len(plot_history(Fitted()).axes) == 2


@needs_mpl
def test_plot_history_partial_records(close_figures):
    records = [{"d_loss": 1.0, "g_loss": 2.0}, {"d_loss": None, "g_loss": 1.5}]
    fig = plot_history(records)
    (ax,) = fig.axes  # no accuracy keys: one panel
    line = {ln.get_label(): ln for ln in ax.get_lines()}["discriminator"]
    np.testing.assert_allclose(line.get_xdata(), [1, 2])  # position as epoch
    assert np.isnan(line.get_ydata()[1])


def test_plot_history_errors():
    class Unfitted:
        def fit(self, X):
            return self

    with pytest.raises(NotFittedError, match="call fit"):
        plot_history(Unfitted())
    with pytest.raises(ValueError, match="empty"):
        plot_history([])
    with pytest.raises(TypeError, match="list of dicts"):
        plot_history({"d_loss": [1.0]})
    with pytest.raises(TypeError, match="entry 1 is a float"):
        plot_history([{"d_loss": 1.0}, 2.0])
    with pytest.raises(TypeError, match="'g_loss' must be a number"):
        plot_history([{"d_loss": 1.0, "g_loss": "high"}])
    with pytest.raises(ValueError, match="none of the keys"):
        plot_history([{"epoch": 1, "seconds": 3.0}])
