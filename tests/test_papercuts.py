"""Papercuts of a first real trial: duplicates, aspect ratio, snapshots by
steps, KID on features of the wrong scale."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.decomposition import PCA

from skgan.callbacks import SampleSnapshots
from skgan.datasets import load_image_folder
from skgan.metrics import kernel_inception_distance


def _scan(seed, size=(40, 40)):
    """A smooth random grayscale picture (so JPEG keeps it close)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (5, 5), dtype=np.uint8)
    return Image.fromarray(small).resize(size[::-1], Image.Resampling.BICUBIC)


def _jpeg(img, quality):
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_exact_duplicates_are_dropped_with_a_warning_naming_them(tmp_path):
    for i in range(3):
        _scan(i).save(tmp_path / f"scan{i}.png")
    (tmp_path / "scan9.png").write_bytes((tmp_path / "scan0.png").read_bytes())
    with pytest.warns(UserWarning, match=r"dropped 1 byte-identical.*scan9\.png"):
        data = load_image_folder(tmp_path, deduplicate=True)
    assert len(data.images) == 3
    assert data.duplicates == [
        (str(tmp_path / "scan9.png"), str(tmp_path / "scan0.png"))
    ]
    assert data.near_duplicates == []


def test_near_duplicates_re_encoded_copies_are_caught_only_when_asked(tmp_path):
    for i in range(4):
        _scan(i).save(tmp_path / f"a{i}.png")
    (tmp_path / "b0.jpg").write_bytes(_jpeg(_scan(0), 75))  # re-encoded
    (tmp_path / "b1.jpg").write_bytes(_jpeg(_scan(1), 50))  # re-encoded, worse
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = load_image_folder(tmp_path, deduplicate=True, size=40)
    assert len(exact.images) == 6  # byte-identical only: none here
    with pytest.warns(UserWarning, match="2 nearly identical"):
        near = load_image_folder(tmp_path, deduplicate="near", size=40)
    assert len(near.images) == 4
    assert sorted(d for d, _ in near.near_duplicates) == [
        str(tmp_path / "b0.jpg"),
        str(tmp_path / "b1.jpg"),
    ]
    assert dict(near.near_duplicates)[str(tmp_path / "b0.jpg")] == str(
        tmp_path / "a0.png"
    )


def test_near_deduplication_keeps_similar_but_different_images(tmp_path):
    # Neighbouring slices: the same picture, a little brighter in one corner.
    base = np.asarray(_scan(0), dtype=np.int16)
    for i in range(4):
        img = base.copy()
        img[: 10 + 5 * i, :20] += 40
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            tmp_path / f"slice{i}.png"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_image_folder(tmp_path, deduplicate="near")
    assert len(data.images) == 4


def test_stretching_warns_and_aspect_keeps_proportions(tmp_path):
    _scan(0, size=(40, 40)).save(tmp_path / "square.png")
    _scan(1, size=(20, 40)).save(tmp_path / "wide.png")
    with pytest.warns(UserWarning, match=r"1 of 2 images changed proportions"):
        stretched = load_image_folder(tmp_path, size=16)
    assert stretched.stretched == [str(tmp_path / "wide.png")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = load_image_folder(tmp_path, size=16, aspect="stretch")
        padded = load_image_folder(tmp_path, size=16, aspect="pad")
        cropped = load_image_folder(tmp_path, size=16, aspect="crop")
    np.testing.assert_array_equal(quiet.images, stretched.images)
    assert padded.images.shape == cropped.images.shape == (2, 16, 16)
    wide = padded.images[1]  # 20x40 padded to 16x16: black bands above and below
    assert wide[:3].max() == 0 and wide[-3:].max() == 0 and wide[8].max() > 0
    assert cropped.images[1].min() > 0 or cropped.images[1][0].max() > 0
    assert cropped.stretched == padded.stretched == []


def test_bad_aspect_and_deduplicate_are_refused(tmp_path):
    _scan(0).save(tmp_path / "a.png")
    with pytest.raises(ValueError, match="aspect must be"):
        load_image_folder(tmp_path, size=8, aspect="squash")
    with pytest.raises(ValueError, match="deduplicate must be True, False or 'near'"):
        load_image_folder(tmp_path, deduplicate="fuzzy")


class _Model:
    """Just what SampleSnapshots reads: sample() and history_."""

    def __init__(self):
        self.history_ = []

    def sample(self, n, random_state=None):
        return np.random.default_rng(random_state).integers(0, 255, (n, 4, 4), np.uint8)


def test_snapshots_can_count_steps(tmp_path):
    model = _Model()
    snapshots = SampleSnapshots(tmp_path, every=10, unit="steps", n_images=4)
    written = []
    for epoch in range(1, 8):  # epochs of 4 steps: 4, 8, 12, ..., 28
        record = {"epoch": epoch, "n_steps": 4}
        model.history_.append(record)
        written.append(snapshots(model, record))
    names = [p.name for p in written if p is not None]
    assert names == ["step_000012.png", "step_000020.png"]  # passed 10, then 20
    assert "unit='steps'" in repr(snapshots)
    with pytest.raises(ValueError, match="unit must be"):
        SampleSnapshots(tmp_path, unit="batches")
    with pytest.raises(ValueError, match="history_"):
        snapshots(_Model(), {"epoch": 1, "n_steps": 4})


def test_snapshots_count_steps_in_a_real_fit(tmp_path, tiny_gan):
    X = np.random.default_rng(0).integers(0, 255, (40, 8, 8), dtype=np.uint8)
    snapshots = SampleSnapshots(tmp_path, every=5, unit="steps", n_images=4)
    gan = tiny_gan(steps=12, batch_size=16, callbacks=[snapshots]).fit(X)
    steps = np.cumsum([r["n_steps"] for r in gan.history_])
    expected = [
        f"step_{s:06d}.png"
        for s, before in zip(steps, steps - 2)
        if s // 5 > before // 5
    ]
    assert [p.name for p in snapshots.paths_] == expected


def test_kid_warns_on_features_too_large_for_its_kernel():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (60, 64)).astype(np.float64)
    other = rng.integers(0, 256, (60, 64)).astype(np.float64)
    with pytest.warns(UserWarning, match="PCA\\(whiten=True\\)"):
        raw, _ = kernel_inception_distance(
            pixels, other, feature_extractor=None, n_subsets=3, subset_size=50
        )
    pca = PCA(8).fit(pixels)
    with pytest.warns(UserWarning, match="mean squared value"):
        kernel_inception_distance(
            pca.transform(pixels),
            pca.transform(other),
            feature_extractor=None,
            n_subsets=3,
            subset_size=50,
        )
    white = PCA(8, whiten=True).fit(pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled, _ = kernel_inception_distance(
            white.transform(pixels),
            white.transform(other),
            feature_extractor=None,
            n_subsets=3,
            subset_size=50,
        )
    assert abs(raw) > 1e3 * abs(scaled)
