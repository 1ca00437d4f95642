"""Tests of skgan.datasets: image folders and MedMNIST (no network is used)."""

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import urllib.error
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from skgan.datasets import (
    _cache,
    _medmnist,
    fetch_medmnist,
    get_data_home,
    load_image_folder,
)

SHARED_NPZ = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"
)


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def _gray(seed, h=8, w=8):
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _write(path, array, **save_kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **save_kwargs)
    return path


@pytest.fixture
def class_folder(tmp_path):
    """a/ (2 images), b/ (1 image + 1 in a nested folder), plus distractors."""
    root = tmp_path / "xrays"
    _write(root / "b" / "z.png", _gray(3))
    _write(root / "a" / "y.png", _gray(2))
    _write(root / "a" / "x.PNG", _gray(1))
    _write(root / "b" / "nested" / "w.png", _gray(4))
    (root / "empty").mkdir()
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / "._x.png").write_bytes(b"AppleDouble junk")  # hidden: skipped
    _write(root / ".hidden" / "q.png", _gray(5))  # hidden folder: not a class
    return root


# --------------------------------------------------------------------------- #
# load_image_folder
# --------------------------------------------------------------------------- #


def test_flat_folder_reads_pixels_exactly(tmp_path):
    arrays = [_gray(i, 6, 5) for i in range(3)]
    for i, arr in enumerate(arrays):
        _write(tmp_path / f"img{i}.png", arr)
    bunch = load_image_folder(tmp_path)
    assert bunch.images.dtype == np.uint8
    assert bunch.images.shape == (3, 6, 5)
    np.testing.assert_array_equal(bunch.images, np.stack(arrays))
    np.testing.assert_array_equal(bunch.data, np.stack(arrays).reshape(3, -1))
    assert bunch.target is None and bunch.target_names is None
    assert [Path(f).name for f in bunch.filenames] == [
        "img0.png",
        "img1.png",
        "img2.png",
    ]
    assert bunch.image_shape == (6, 5, 1)
    assert "3 grayscale images of 6x5" in bunch.DESCR


def test_class_subfolders(class_folder):
    bunch = load_image_folder(class_folder)
    assert list(bunch.target_names) == ["a", "b"]
    np.testing.assert_array_equal(bunch.target, [0, 0, 1, 1])
    assert bunch.target.dtype == np.int64
    names = [Path(f).relative_to(class_folder).as_posix() for f in bunch.filenames]
    assert names == ["a/x.PNG", "a/y.png", "b/nested/w.png", "b/z.png"]
    expected = np.stack([_gray(1), _gray(2), _gray(4), _gray(3)])
    np.testing.assert_array_equal(bunch.images, expected)

    X, y = load_image_folder(class_folder, return_X_y=True)
    np.testing.assert_array_equal(X, expected.reshape(4, -1))
    np.testing.assert_array_equal(y, bunch.target)


def test_color_modes(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    _write(tmp_path / "c.png", rgb)
    as_rgb = load_image_folder(tmp_path, color_mode="rgb")
    assert as_rgb.images.shape == (1, 5, 7, 3)
    assert as_rgb.image_shape == (5, 7, 3)
    np.testing.assert_array_equal(as_rgb.images[0], rgb)
    as_gray = load_image_folder(tmp_path)
    expected = np.asarray(Image.fromarray(rgb).convert("L"))
    np.testing.assert_array_equal(as_gray.images[0], expected)
    # a grayscale file read as RGB repeats the gray level
    shutil.rmtree(tmp_path)
    _write(tmp_path / "g.png", _gray(0))
    rgb_of_gray = load_image_folder(tmp_path, color_mode="rgb").images[0]
    for c in range(3):
        np.testing.assert_array_equal(rgb_of_gray[..., c], _gray(0))


def test_rgba_and_jpeg_are_converted(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 10
    _write(tmp_path / "a.png", rgba)
    _write(tmp_path / "b.jpg", np.full((4, 4, 3), 90, np.uint8), quality=100)
    bunch = load_image_folder(tmp_path, color_mode="rgb")
    assert bunch.images.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(bunch.images[0, ..., 0], 200)  # alpha dropped
    assert np.abs(bunch.images[1].astype(int) - 90).max() <= 2  # JPEG is lossy


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    arr16 = np.array([[0, 257 * 100], [65535, 257 * 7]], dtype=np.uint16)
    _write(tmp_path / "deep.png", arr16)
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    images = load_image_folder(tmp_path).images
    np.testing.assert_array_equal(images[0], [[0, 100], [255, 7]])


def test_resize_square_and_height_width_order(tmp_path):
    _write(tmp_path / "a.png", _gray(0, 10, 20))
    _write(tmp_path / "b.png", _gray(1, 30, 12))
    assert load_image_folder(tmp_path, size=4).images.shape == (2, 4, 4)
    assert load_image_folder(tmp_path, size=(6, 9)).images.shape == (2, 6, 9)
    nearest = load_image_folder(tmp_path, size=(5, 10), interpolation="nearest")
    assert nearest.image_shape == (5, 10, 1)
    # a size equal to the file's size leaves pixels untouched
    same = load_image_folder(tmp_path, size=(10, 20))
    np.testing.assert_array_equal(same.images[0], _gray(0, 10, 20))


def test_different_sizes_need_size(tmp_path):
    _write(tmp_path / "a.png", _gray(0, 8, 8))
    _write(tmp_path / "b.png", _gray(1, 9, 8))
    with pytest.raises(ValueError, match=r"different sizes.*b\.png.*size=\(height"):
        load_image_folder(tmp_path)


def test_corrupt_files_are_named_and_skipped_or_raised(tmp_path):
    _write(tmp_path / "good.png", _gray(0))
    good_bytes = (tmp_path / "good.png").read_bytes()
    (tmp_path / "garbage.png").write_bytes(b"this is not a png")
    (tmp_path / "truncated.png").write_bytes(good_bytes[: len(good_bytes) // 2])
    with pytest.warns(UserWarning, match="2 unreadable") as record:
        bunch = load_image_folder(tmp_path)
    message = str(record[0].message)
    assert "garbage.png" in message and "truncated.png" in message
    assert [Path(f).name for f in bunch.filenames] == ["good.png"]
    assert sorted(Path(f).name for f, _ in bunch.unreadable) == [
        "garbage.png",
        "truncated.png",
    ]
    with pytest.raises(ValueError, match=r"garbage\.png.*on_error='warn'"):
        load_image_folder(tmp_path, on_error="raise")


def test_all_files_unreadable(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG broken")
    with pytest.warns(UserWarning, match="a.png"):
        with pytest.raises(ValueError, match="None of the 1 image files"):
            load_image_folder(tmp_path)


def test_deduplicate_by_file_content(tmp_path):
    _write(tmp_path / "n" / "1.png", _gray(0))
    shutil.copy(tmp_path / "n" / "1.png", tmp_path / "n" / "2.png")
    _write(tmp_path / "n" / "3.png", _gray(1))
    assert len(load_image_folder(tmp_path).images) == 3
    bunch = load_image_folder(tmp_path, deduplicate=True)
    assert [Path(f).name for f in bunch.filenames] == ["1.png", "3.png"]
    assert [(Path(a).name, Path(b).name) for a, b in bunch.duplicates] == [
        ("2.png", "1.png")
    ]
    assert "1 duplicate files dropped" in bunch.DESCR


def test_duplicates_across_classes_warn(tmp_path):
    _write(tmp_path / "normal" / "a.png", _gray(0))
    (tmp_path / "pneumonia").mkdir()
    shutil.copy(tmp_path / "normal" / "a.png", tmp_path / "pneumonia" / "b.png")
    _write(tmp_path / "pneumonia" / "c.png", _gray(1))
    with pytest.warns(UserWarning, match=r"different class.*b\.png"):
        bunch = load_image_folder(tmp_path, deduplicate=True)
    np.testing.assert_array_equal(bunch.target, [0, 1])


def test_extensions_parameter(tmp_path):
    _write(tmp_path / "a.bmp", _gray(0))
    with pytest.raises(ValueError, match="No image files"):
        load_image_folder(tmp_path)
    bunch = load_image_folder(tmp_path, extensions="bmp")
    np.testing.assert_array_equal(bunch.images[0], _gray(0))


def test_layout_errors(tmp_path):
    _write(tmp_path / "loose.png", _gray(0))
    _write(tmp_path / "cls" / "a.png", _gray(1))
    with pytest.raises(ValueError, match="both image files.*'loose.png'"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(NotADirectoryError, match="expects the folder"):
        load_image_folder(tmp_path / "loose.png")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"color_mode": "RGBA"}, ValueError, "color_mode"),
        ({"size": 0}, ValueError, "size must be"),
        ({"size": (4, 4, 3)}, ValueError, "size must be"),
        ({"size": 2.5}, ValueError, "size must be"),
        ({"interpolation": "cubic"}, ValueError, "interpolation"),
        ({"on_error": "ignore"}, ValueError, "on_error"),
        ({"extensions": []}, ValueError, "extensions"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, error, match):
    _write(tmp_path / "a.png", _gray(0))
    with pytest.raises(error, match=match):
        load_image_folder(tmp_path, **kwargs)


def test_bad_path_type():
    with pytest.raises(TypeError, match="path must be"):
        load_image_folder(42)


# --------------------------------------------------------------------------- #
# get_data_home
# --------------------------------------------------------------------------- #


def test_get_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SKGAN_DATA", raising=False)
    assert get_data_home() == str(tmp_path / "home" / "skgan_data")
    assert os.path.isdir(tmp_path / "home" / "skgan_data")
    monkeypatch.setenv("SKGAN_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")
    with pytest.raises(TypeError, match="data_home"):
        get_data_home(3)


# --------------------------------------------------------------------------- #
# fetch_medmnist: local files
# --------------------------------------------------------------------------- #


def _npz_bytes(n=6, size=28, channels=None, label_width=1, splits=("train", "val")):
    rng = np.random.default_rng(0)
    shape = (n, size, size) + ((channels,) if channels else ())
    arrays = {}
    for split in splits:
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (n, label_width), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue(), arrays


@pytest.mark.skipif(not SHARED_NPZ.exists(), reason="shared PneumoniaMNIST absent")
def test_shared_pneumoniamnist_file():
    bunch = fetch_medmnist(SHARED_NPZ)
    assert bunch.images.shape == (4708, 28, 28)
    assert bunch.data.shape == (4708, 784)
    assert bunch.target.shape == (4708,)
    assert np.bincount(bunch.target).tolist() == [1214, 3494]
    assert list(bunch.target_names) == ["normal", "pneumonia"]
    assert "PneumoniaMNIST" in bunch.DESCR
    X, y = fetch_medmnist(str(SHARED_NPZ), split="val", return_X_y=True)
    assert X.shape == (524, 784) and np.bincount(y).tolist() == [135, 389]
    with pytest.raises(ValueError, match=r"no 'test' split.*\['train', 'val'\]"):
        fetch_medmnist(SHARED_NPZ, split="test")
    with pytest.raises(ValueError, match="not 64x64"):
        fetch_medmnist(SHARED_NPZ, size=64)


def test_local_rgb_file_and_names(tmp_path):
    raw, arrays = _npz_bytes(channels=3, splits=("train", "val", "test"))
    (tmp_path / "bloodmnist.npz").write_bytes(raw)
    bunch = fetch_medmnist(tmp_path / "bloodmnist.npz", split="test")
    np.testing.assert_array_equal(bunch.images, arrays["test_images"])
    assert bunch.image_shape == (28, 28, 3)
    assert bunch.data.shape == (6, 28 * 28 * 3)
    assert bunch.target_names[0] == "basophil" and len(bunch.target_names) == 8
    # an unrecognised file name has no class names
    (tmp_path / "mine.npz").write_bytes(raw)
    assert fetch_medmnist(tmp_path / "mine.npz").target_names is None


def test_multilabel_targets_stay_2d(tmp_path):
    raw, arrays = _npz_bytes(label_width=14)
    (tmp_path / "chestmnist_64.npz").write_bytes(_npz_bytes(size=64, label_width=14)[0])
    (tmp_path / "chestmnist.npz").write_bytes(raw)
    bunch = fetch_medmnist(tmp_path / "chestmnist.npz")
    assert bunch.target.shape == (6, 14)
    np.testing.assert_array_equal(bunch.target, arrays["train_labels"])
    big = fetch_medmnist(tmp_path / "chestmnist_64.npz", size=64)
    assert big.images.shape == (6, 64, 64) and len(big.target_names) == 14


def test_unreadable_local_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="Cannot read"):
        fetch_medmnist(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    os.replace(tmp_path / "single.npy", tmp_path / "single.npz")
    with pytest.raises(ValueError, match="single array"):
        fetch_medmnist(tmp_path / "single.npz")
    with pytest.raises(FileNotFoundError, match="No MedMNIST file"):
        fetch_medmnist(tmp_path / "absent.npz")


@pytest.mark.parametrize(
    "name, kwargs, error, match",
    [
        ("mnist", {}, ValueError, "Unknown MedMNIST set 'mnist'.*pneumoniamnist"),
        ("organmnist3d", {}, ValueError, "3-D"),
        (7, {}, TypeError, "name must be"),
        ("pneumoniamnist", {"size": 32}, ValueError, "size must be one of"),
        ("pneumoniamnist", {"size": True}, ValueError, "size must be one of"),
        ("pneumoniamnist", {"split": "validation"}, ValueError, "split must be"),
        ("pneumoniamnist", {"size": 64.0}, ValueError, "size must be one of"),
        ("pneumoniamnist", {"split": ["train"]}, ValueError, "split must be"),
        ("pneumoniamnist", {"return_X_y": "no"}, TypeError, "return_X_y"),
        ("pneumoniamnist", {"data_home": 3}, TypeError, "data_home"),
    ],
)
def test_bad_fetch_arguments(tmp_path, name, kwargs, error, match):
    with pytest.raises(error, match=match):
        fetch_medmnist(name, data_home=tmp_path, download_if_missing=False, **kwargs)


def test_md5_table_covers_the_2d_sets():
    table = _medmnist._MEDMNIST_MD5
    assert len(table) == 12 and set(table) == set(_medmnist._MEDMNIST_META)
    digests = [d for row in table.values() for d in row]
    assert len(digests) == 48 and len(set(digests)) == 48
    assert all(len(d) == 32 and int(d, 16) >= 0 for d in digests)
    assert table["pneumoniamnist"][0] == "28209eda62fecd6e6a2d98b1501bb15f"


def test_tables_ship_as_package_data():
    # Read the installed package's data file on its own, as users' installs do.
    text = resources.files("skgan.datasets").joinpath("medmnist.json").read_text()
    tables = json.loads(text)
    assert tables["sizes"] == [28, 64, 128, 224]
    assert set(tables["sets"]) == set(_medmnist._MEDMNIST_MD5)
    for name, info in tables["sets"].items():
        assert list(info["md5"]) == ["28", "64", "128", "224"], name
        assert info["classes"] and info["title"].lower() == name
    organs = [tables["sets"][f"organ{v}mnist"]["classes"] for v in "acs"]
    assert organs[0] == organs[1] == organs[2] and len(organs[0]) == 11
    assert _medmnist._MEDMNIST_META["pneumoniamnist"] == (
        "PneumoniaMNIST",
        "binary-class",
        "CC BY 4.0",
        ("normal", "pneumonia"),
    )


def _save_split(path, images, labels, split="train"):
    np.savez(path, **{f"{split}_images": images, f"{split}_labels": labels})
    return path


ZEROS = np.zeros((3, 28, 28), np.uint8)
ONE_LABEL = np.zeros((3, 1), np.uint8)


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (ZEROS[:0], ONE_LABEL[:0], r"train_images is empty \(shape \(0, 28, 28\)\)"),
        (ZEROS + np.nan, ONE_LABEL, "train_images holds NaN or infinite values"),
        (ZEROS + np.inf, ONE_LABEL, "train_images holds NaN or infinite values"),
        (ZEROS + 0.5, ONE_LABEL, r"floating-point pixels.*astype\(np\.uint8\)"),
        (ZEROS.astype(np.int16) - 1, ONE_LABEL, "from -1 to -1.*0..255"),
        (ZEROS.astype(np.int32) + 256, ONE_LABEL, "from 256 to 256.*0..255"),
        (ZEROS.astype(np.complex64), ONE_LABEL, "train_images has dtype complex64"),
        (ZEROS.astype("U1"), ONE_LABEL, "train_images has dtype .U1"),
        (ZEROS, np.array([["a"], ["b"], ["c"]]), "train_labels has dtype .U1.*Label"),
        (ZEROS, ONE_LABEL[:, :, None], r"train_labels has shape \(3, 1, 1\)"),
        (ZEROS, ONE_LABEL[:, :0], r"train_labels has shape \(3, 0\)"),
        (ZEROS, np.zeros(()), r"train_labels has shape \(\)"),
        (ZEROS, ONE_LABEL[:2], "train_labels has 2 rows for 3 images"),
        (ZEROS, ONE_LABEL - 1.0, "negative value -1.0.*>= 0"),
        (ZEROS, ONE_LABEL.astype(np.int8) - 2, "negative value -2"),
        (ZEROS, ONE_LABEL + 0.5, "non-integer or non-finite"),
        (ZEROS, ONE_LABEL + np.nan, "non-integer or non-finite"),
        (ZEROS, ONE_LABEL + 1e30, "value 1e[+]30, too large for a class index"),
    ],
)
def test_bad_split_contents_are_refused(tmp_path, images, labels, match):
    path = _save_split(tmp_path / "xrays.npz", images, labels)
    with pytest.raises(ValueError, match=match) as info:
        fetch_medmnist(path)
    assert str(info.value).startswith(f"{path}: ")
    with pytest.raises(ValueError, match=match):  # return_X_y checks the same
        fetch_medmnist(path, return_X_y=True)


def test_labels_beyond_the_known_classes(tmp_path):
    labels = np.array([[0], [1], [2]], np.uint8)
    path = _save_split(tmp_path / "pneumoniamnist.npz", ZEROS, labels)
    with pytest.raises(ValueError, match="class index 2.*PneumoniaMNIST has 2"):
        fetch_medmnist(path)
    # without class names (another file name) any index is accepted
    other = _save_split(tmp_path / "other.npz", ZEROS, labels)
    np.testing.assert_array_equal(fetch_medmnist(other).target, [0, 1, 2])


DTYPES = ["bool", "uint8", "int8", "int16", "uint16", "int64", "uint64"]
DTYPES += ["float16", "float32", "float64"]


@settings(max_examples=60, deadline=None)
@given(
    image_dtype=st.sampled_from(DTYPES),
    label_dtype=st.sampled_from(DTYPES),
    n=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
    spread=st.sampled_from([1, 255, 256, 1000]),
    shift=st.sampled_from([0, -1, 0.5]),
)
# Found by hypothesis: a label of -1 stored as uint64 reads as 2**64 - 1.
@example(
    image_dtype="uint8", label_dtype="uint64", n=3, seed=2, spread=1, shift=-1
)
def test_split_contents_fuzz(image_dtype, label_dtype, n, seed, spread, shift):
    """Every split either loads exactly as stored, as uint8 and int64, or is
    refused with a ValueError naming the file."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, spread, (n, 28, 28)) + shift
    raw_labels = rng.integers(0, 3, (n, 1)) + shift
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-range casts: refused below
        images, labels = raw.astype(image_dtype), raw_labels.astype(label_dtype)
    # Reference: what the documentation promises, from the stored values.
    as_float = images.astype(np.float64)
    pixels_ok = (
        n > 0
        and images.dtype.kind != "f"
        and as_float.min() >= 0
        and as_float.max() <= 255
    )
    label_values = labels.astype(np.float64)
    labels_ok = n == 0 or (
        np.isfinite(label_values).all()
        and (label_values == np.round(label_values)).all()
        and label_values.min() >= 0
        and label_values.max() < 2**31  # e.g. -1 stored as uint64 is refused
    )
    with tempfile.TemporaryDirectory() as folder:
        path = _save_split(Path(folder) / "fuzz.npz", images, labels)
        if pixels_ok and labels_ok:
            bunch = fetch_medmnist(path)
            assert bunch.images.dtype == np.uint8 and bunch.target.dtype == np.int64
            np.testing.assert_array_equal(bunch.images, as_float)
            np.testing.assert_array_equal(bunch.target, label_values[:, 0])
        else:
            with pytest.raises(ValueError, match=re.escape(f"{path}: train_")):
                fetch_medmnist(path)


# --------------------------------------------------------------------------- #
# fetch_medmnist: downloads through a fake opener
# --------------------------------------------------------------------------- #


class FakeOpener:
    """Stands in for urllib.request.urlopen: serves bytes, or fails."""

    def __init__(self, payload=b"", error=None, fail_after=None):
        self.payload, self.error, self.fail_after = payload, error, fail_after
        self.urls = []

    def __call__(self, request, timeout=None):
        self.urls.append(request.full_url)
        if self.error is not None:
            raise self.error
        stream = io.BytesIO(self.payload)
        if self.fail_after is not None:
            limit = self.fail_after

            def read(n=-1):
                if stream.tell() >= limit:
                    raise TimeoutError("connection stalled")
                return io.BytesIO.read(stream, min(n, limit - stream.tell()))

            stream.read = read
        return stream


@pytest.fixture
def fixture_set(monkeypatch):
    """A 28 px and 64 px 'pneumoniamnist' whose expected MD5s are the fixture's."""
    raw28, arrays = _npz_bytes(n=5, splits=("train", "val", "test"))
    raw64, _ = _npz_bytes(n=3, size=64, splits=("train", "val", "test"))
    md5 = (hashlib.md5(raw28).hexdigest(), hashlib.md5(raw64).hexdigest())
    monkeypatch.setitem(
        _medmnist._MEDMNIST_MD5, "pneumoniamnist", md5 + ("0" * 32,) * 2
    )
    return {28: raw28, 64: raw64, "arrays": arrays}


def _leftovers(folder):
    return sorted(p.name for p in folder.glob("*.part")) if folder.exists() else []


def test_download_verifies_and_caches(tmp_path, monkeypatch, fixture_set):
    opener = FakeOpener(fixture_set[28])
    monkeypatch.setattr(_cache, "_urlopen", opener)
    bunch = fetch_medmnist("PneumoniaMNIST", split="test", data_home=tmp_path)
    assert opener.urls == [
        "https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1"
    ]
    cached = tmp_path / "medmnist" / "pneumoniamnist.npz"
    assert cached.read_bytes() == fixture_set[28]
    assert bunch.filename == str(cached)
    np.testing.assert_array_equal(bunch.images, fixture_set["arrays"]["test_images"])
    assert _leftovers(cached.parent) == []
    # second call: served from the cache, the network is not touched
    monkeypatch.setattr(_cache, "_urlopen", FakeOpener(error=AssertionError("net")))
    fetch_medmnist("pneumoniamnist", data_home=tmp_path, download_if_missing=False)


def test_download_url_for_larger_sizes(tmp_path, monkeypatch, fixture_set):
    opener = FakeOpener(fixture_set[64])
    monkeypatch.setattr(_cache, "_urlopen", opener)
    bunch = fetch_medmnist("pneumoniamnist", size=64, data_home=tmp_path)
    assert opener.urls[0].endswith("/files/pneumoniamnist_64.npz?download=1")
    assert bunch.images.shape == (3, 64, 64)
    assert (tmp_path / "medmnist" / "pneumoniamnist_64.npz").exists()


def test_corrupt_download_is_discarded(tmp_path, monkeypatch, fixture_set):
    bad = bytearray(fixture_set[28])
    bad[100] ^= 0xFF
    monkeypatch.setattr(_cache, "_urlopen", FakeOpener(bytes(bad)))
    with pytest.raises(OSError, match=r"MD5 .*expected.*discarded"):
        fetch_medmnist("pneumoniamnist", data_home=tmp_path)
    folder = tmp_path / "medmnist"
    assert not (folder / "pneumoniamnist.npz").exists()
    assert _leftovers(folder) == [] and list(folder.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, fixture_set):
    opener = FakeOpener(fixture_set[28], fail_after=50)
    monkeypatch.setattr(_cache, "_urlopen", opener)
    with pytest.raises(OSError, match="Could not download.*connection stalled"):
        fetch_medmnist("pneumoniamnist", data_home=tmp_path)
    assert list((tmp_path / "medmnist").iterdir()) == []


def test_offline_error_names_url_and_manual_steps(tmp_path, monkeypatch):
    error = urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(_cache, "_urlopen", FakeOpener(error=error))
    with pytest.raises(OSError) as info:
        fetch_medmnist("breastmnist", size=128, data_home=tmp_path)
    message = str(info.value)
    assert "https://zenodo.org/records/10519652/files/breastmnist_128.npz" in message
    assert str(tmp_path / "medmnist" / "breastmnist_128.npz") in message
    assert "363e4b3f8d712e9b5de15470a2aaadf1" in message
    assert "fetch_medmnist('/path/to/file.npz')" in message
    assert list((tmp_path / "medmnist").iterdir()) == []


def test_no_download_when_not_allowed(tmp_path, monkeypatch):
    opener = FakeOpener(error=AssertionError("must not be called"))
    monkeypatch.setattr(_cache, "_urlopen", opener)
    with pytest.raises(OSError, match="download_if_missing=False.*zenodo"):
        fetch_medmnist("dermamnist", data_home=tmp_path, download_if_missing=False)
    assert opener.urls == []


def test_manually_placed_files_are_verified(tmp_path, monkeypatch, fixture_set):
    monkeypatch.setattr(_cache, "_urlopen", FakeOpener(error=AssertionError("net")))
    folder = tmp_path / "medmnist"
    folder.mkdir()
    (folder / "pneumoniamnist.npz").write_bytes(fixture_set[28][:-10])
    with pytest.raises(OSError, match="has MD5.*Delete it"):
        fetch_medmnist("pneumoniamnist", data_home=tmp_path)
    (folder / "pneumoniamnist.npz").write_bytes(fixture_set[28])
    bunch = fetch_medmnist("pneumoniamnist", split="val", data_home=tmp_path)
    np.testing.assert_array_equal(bunch.images, fixture_set["arrays"]["val_images"])


def test_verified_cache_is_not_rehashed_until_it_changes(
    tmp_path, monkeypatch, fixture_set
):
    monkeypatch.setattr(_cache, "_urlopen", FakeOpener(fixture_set[28]))
    fetch_medmnist("pneumoniamnist", data_home=tmp_path)
    calls = []
    real_md5 = _cache._md5
    monkeypatch.setattr(_cache, "_md5", lambda p: calls.append(p) or real_md5(p))
    fetch_medmnist("pneumoniamnist", data_home=tmp_path)
    assert calls == []
    cached = tmp_path / "medmnist" / "pneumoniamnist.npz"
    cached.write_bytes(fixture_set[28] + b"tampered")
    with pytest.raises(OSError, match="has MD5"):
        fetch_medmnist("pneumoniamnist", data_home=tmp_path)
    assert calls == [cached]
