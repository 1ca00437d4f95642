"""load_image_folder(cache=...): pixels written to a .npy file and memory-mapped,
reused while the folder is unchanged."""

import os
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import Image

from skgan.datasets import _folders, load_image_folder


def write_image(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def rgb(seed, h=6, w=5):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    """Two classes, a duplicate across them and an unreadable file."""
    root = tmp_path / "images"
    for i, name in enumerate(["a/1.png", "a/2.png", "b/3.png", "b/4.png"]):
        write_image(root / name, rgb(i))
    (root / "b" / "5.png").write_bytes((root / "a" / "1.png").read_bytes())
    (root / "b" / "6.png").write_bytes(b"not a png")
    return root


def load(root, cache=None, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bunch = load_image_folder(
            root, color_mode="rgb", deduplicate=True, cache=cache, **options
        )
    return bunch, sorted(str(w.message)[:30] for w in caught)


def assert_same_bunch(cached, in_memory):
    for name in ("images", "data", "target", "target_names", "filenames"):
        np.testing.assert_array_equal(cached[name], in_memory[name])
    for name in ("image_shape", "duplicates", "DESCR"):
        assert cached[name] == in_memory[name], name
    # (Pillow's message names a BytesIO by its address: compare the files.)
    assert [f for f, _ in cached.unreadable] == [f for f, _ in in_memory.unreadable]


def test_a_cache_holds_what_memory_would(folder, tmp_path):
    in_memory, warned = load(folder)
    cache = tmp_path / "pixels.npy"
    cached, warned_cached = load(folder, cache)
    assert_same_bunch(cached, in_memory)
    # unreadable, cross-class, and the count of duplicates dropped
    assert warned_cached == warned and len(warned) == 3
    assert len(cached.images) == 4  # of 6 files: a duplicate and a broken one
    for array in (cached.images, cached.data):
        assert isinstance(array, np.memmap) and not array.flags.writeable
        assert np.shares_memory(array, cached.images)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "images",
        "pixels.npy",
        "pixels.npy.json",
    ]  # no temporary file left


def test_an_unchanged_folder_is_not_decoded_again(folder, tmp_path, monkeypatch):
    cache = tmp_path / "pixels.npy"
    first, _ = load(folder, cache)
    written = cache.stat().st_mtime_ns

    def refuse(raw):
        raise AssertionError("decoded again")

    monkeypatch.setattr(_folders, "_decode", refuse)
    again, warned = load(folder, cache)
    assert_same_bunch(again, first)
    assert len(warned) == 3  # the same warnings as when the cache was made
    assert cache.stat().st_mtime_ns == written


@pytest.mark.parametrize("change", ["mtime", "content", "new file", "option"])
def test_a_changed_folder_or_option_rewrites_the_cache(
    folder, tmp_path, change, monkeypatch
):
    cache = tmp_path / "pixels.npy"
    load(folder, cache)
    decoded = []
    decode = _folders._decode
    monkeypatch.setattr(
        _folders, "_decode", lambda raw: decoded.append(1) or decode(raw)
    )
    options = {}
    target = folder / "a" / "2.png"
    if change == "mtime":
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif change == "content":
        write_image(target, rgb(99, 6, 5))
    elif change == "new file":
        write_image(folder / "a" / "0.png", rgb(42))
    else:
        options = {"size": (3, 4)}
    cached, _ = load(folder, cache, **options)
    assert decoded  # read again, even when only the modification time changed
    expected, _ = load(folder, **options)
    assert_same_bunch(cached, expected)


def test_a_cache_replaced_behind_its_record_is_rewritten(folder, tmp_path):
    cache = tmp_path / "pixels.npy"
    load(folder, cache)
    np.save(cache, np.zeros((4, 6, 5, 3), np.uint8))  # same shape, other pixels
    cached, _ = load(folder, cache)
    expected, _ = load(folder)
    assert_same_bunch(cached, expected)


def test_nothing_is_left_when_reading_fails(tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "x.png").write_bytes(b"no image")
    cache = tmp_path / "pixels.npy"
    with pytest.raises(ValueError, match="could be read"), pytest.warns(UserWarning):
        load_image_folder(root, cache=cache)
    write_image(root / "y.png", rgb(0)[..., 0])
    write_image(root / "z.png", rgb(1, 4, 4)[..., 0])
    with pytest.raises(ValueError, match="different sizes"):
        load_image_folder(root, cache=cache, on_error="warn")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken"]


def test_bad_cache_paths_are_refused_before_reading(folder, tmp_path):
    with pytest.raises(ValueError, match=r"cache must be the path of a \.npy file"):
        load_image_folder(folder, cache=tmp_path / "pixels.npz")
    with pytest.raises(FileNotFoundError, match="create it first"):
        load_image_folder(folder, cache=tmp_path / "absent" / "pixels.npy")
    with pytest.raises(TypeError, match="cache must be a str"):
        load_image_folder(folder, cache=3)


def test_a_gan_trains_from_the_cache_as_from_memory(folder, tmp_path, tiny_gan):
    cached, _ = load(folder, tmp_path / "pixels.npy")
    in_memory, _ = load(folder)
    from_disk = tiny_gan(steps=2, batch_size=2).fit(cached.images)
    from_memory = tiny_gan(steps=2, batch_size=2).fit(in_memory.images)
    np.testing.assert_array_equal(
        from_disk.sample(3, random_state=0), from_memory.sample(3, random_state=0)
    )


def test_writing_the_cache_holds_one_image_at_a_time(tmp_path):
    root = tmp_path / "many"
    for i in range(100):
        write_image(root / f"{i:03d}.png", rgb(i, 64, 64))
    cache = tmp_path / "pixels.npy"
    load_image_folder(root, color_mode="rgb", cache=tmp_path / "first.npy")  # warm up
    tracemalloc.start()
    try:
        bunch = load_image_folder(root, color_mode="rgb", cache=cache)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert bunch.images.shape == (100, 64, 64, 3)
    # 1.2 MB of pixels; file names and the cache's record take the rest.
    assert peak < bunch.images.nbytes / 4
