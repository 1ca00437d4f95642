"""Training reads the user's array as given, one batch at a time, and gives the
same numbers bit for bit as the whole-array conversion it replaced."""

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import skgan.nn.data as nn_data
import skgan.utils._validation as validation
from skgan.gan._training_data import validate_images
from skgan.nn.data import ScaledImages
from skgan.utils._validation import infer_layout, value_range
from tests._recorded import RELATIVE_TOLERANCE, assert_recorded, recorded_deviation

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
import record_data_path_samples as recorded  # noqa: E402

sys.path.remove(str(DATA))
EXPECTED = np.load(DATA / "data_path_samples.npz")


@pytest.mark.recorded
@pytest.mark.parametrize("name", sorted(recorded.cases()))
def test_fits_sample_as_before_batches_were_scaled_one_at_a_time(name):
    """Samples recorded at 20a8255, when the whole array was scaled at once.

    Recorded on another machine, so compared within float rounding across CPU
    kinds (``tests/_recorded.py``); on one machine the batch-wise path is
    checked bit for bit against the whole-array conversion below.
    """
    gan, _ = recorded.fit_case(name)
    raw, user = recorded.outputs(gan)
    assert_recorded(raw, EXPECTED[f"{name}_raw"], what="generator outputs")
    assert_recorded(user, EXPECTED[f"{name}_sample"], what="samples")


@pytest.mark.recorded
def test_the_recorded_tolerance_catches_one_training_step_more(monkeypatch):
    """A real change moves the recorded outputs far beyond the tolerance."""
    array, params, how = recorded.cases()["rgb_uint8"]
    longer = {"rgb_uint8": (array, params | {"steps": params["steps"] + 1}, how)}
    monkeypatch.setattr(recorded, "cases", lambda: longer)
    raw, _ = recorded.outputs(recorded.fit_case("rgb_uint8")[0])
    assert recorded_deviation(raw, EXPECTED["rgb_uint8_raw"]) > 100 * RELATIVE_TOLERANCE


def as_memmap(X, folder):
    path = folder / "X.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize(
    "X",
    [
        np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3), dtype=np.uint8),
        np.random.default_rng(1).random((36, 64), dtype=np.float32) * 5 - 2,
    ],
    ids=["uint8", "float32"],
)
def test_a_memmap_trains_exactly_like_the_array_in_memory(X, tmp_path, tiny_gan):
    mapped = as_memmap(X, tmp_path)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    in_memory = tiny_gan(steps=3).fit(X)
    from_disk = tiny_gan(steps=3).fit(mapped)
    np.testing.assert_array_equal(
        from_disk.sample(7, random_state=0), in_memory.sample(7, random_state=0)
    )
    # Warm start and partial_fit read the memmap the same way.
    in_memory.set_params(warm_start=True).fit(X)
    from_disk.set_params(warm_start=True).fit(mapped)
    in_memory.partial_fit(X)
    from_disk.partial_fit(mapped)
    np.testing.assert_array_equal(
        from_disk.sample(7, random_state=1), in_memory.sample(7, random_state=1)
    )
    assert from_disk.image_layout_ == in_memory.image_layout_
    np.testing.assert_array_equal(mapped, X)  # left as it was


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_validation_keeps_the_users_memory(dtype, tmp_path, tiny_gan):
    X = np.arange(2 * 48, dtype=dtype).reshape(2, 4, 4, 3)
    for given_X in (X, as_memmap(X, tmp_path)):
        gan = tiny_gan()
        checked, layout, values = validate_images(gan, given_X, reset=True)
        assert np.shares_memory(checked, given_X)
        assert checked.dtype == dtype and gan.n_features_in_ == 4
        assert values == (0.0, 95.0) == (layout.data_min, layout.data_max)


def whole_array_batches(X, image_shape, index, memory_format):
    """The conversion training used before: all of X to float32, then index."""
    layout = infer_layout(X, image_shape)
    data = torch.from_numpy(layout.to_model(X)).contiguous(memory_format=memory_format)
    return data[index], layout


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(
        ["uint8", "int16", "uint16", "bool", "float16", ">f4", "float32", "float64"]
    ),
    shape=st.sampled_from([(6, 5, 1), (4, 7, 2), (5, 5, 3), (3, 3, 4)]),
    layout_kind=st.sampled_from(["flat", "hwc", "fortran"]),
    low=st.floats(-1e3, 1e3),
    span=st.floats(1e-3, 1e3),
    channels_last=st.booleans(),
    resident=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_each_batch_equals_the_whole_array_conversion(
    dtype, shape, layout_kind, low, span, channels_last, resident, seed
):
    """Values and strides, for any dtype, layout, range and memory format."""
    rng = np.random.default_rng(seed)
    n = 9
    values = low + span * rng.random((n, *shape))
    dtype = np.dtype(dtype)
    if dtype.kind in "ub":
        values = rng.integers(0, 2 if dtype.kind == "b" else 200, (n, *shape))
    elif dtype.kind == "i":
        values = np.rint(values)
    X = values.astype(dtype)
    if shape[2] == 1:
        X = X[..., 0]
    image_shape = None
    if layout_kind != "hwc":
        X = X.reshape(n, -1)
        image_shape = shape
    if layout_kind == "fortran":
        X = np.asfortranarray(X)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    index = torch.from_numpy(rng.permutation(n)[:5])
    expected, layout = whole_array_batches(X, image_shape, index, memory_format)
    images = ScaledImages(
        X,
        image_shape=layout.image_shape,
        low=layout.data_min,
        high=layout.data_max,
        device="cpu",
        memory_format=memory_format,
        resident=resident,
    )
    batch = images[index]
    assert images.shape == (n, *expected.shape[1:]) and len(images) == n
    assert batch.dtype == torch.float32 and batch.stride() == expected.stride()
    assert torch.equal(batch, expected)


def test_a_resident_copy_is_made_a_chunk_at_a_time(monkeypatch, tmp_path):
    X = as_memmap(np.arange(10 * 12, dtype=np.uint8).reshape(10, 2, 2, 3), tmp_path)
    monkeypatch.setattr(nn_data, "CHUNK_BYTES", 3 * 12)  # 3 rows per chunk
    images = ScaledImages(
        X, image_shape=(2, 2, 3), low=0.0, high=119.0, device="cpu", resident=True
    )
    assert images._stored.dtype == torch.uint8  # the user's dtype, not float
    np.testing.assert_array_equal(images._stored.numpy(), X)
    index = torch.tensor([9, 0, 4])
    plain = ScaledImages(X, image_shape=(2, 2, 3), low=0.0, high=119.0, device="cpu")
    assert plain._stored is None  # no GPU: batches come from X itself
    assert torch.equal(images[index], plain[index])


def test_constant_images_map_to_minus_one():
    X = np.full((4, 3, 3), 7, np.uint8)
    images = ScaledImages(X, image_shape=(3, 3, 1), low=7.0, high=7.0, device="cpu")
    assert torch.equal(images[torch.arange(4)], torch.full((4, 1, 3, 3), -1.0))


def test_value_range_reads_blocks_and_finds_the_extremes(monkeypatch):
    monkeypatch.setattr(validation, "SCAN_BYTES", 3 * 4 * 8)  # 3 rows per block
    X = np.random.default_rng(0).normal(size=(10, 4))
    X[7, 2], X[2, 1] = 50.0, -60.0
    assert value_range(X) == (-60.0, 50.0)
    assert value_range(np.array([[True], [False]])) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.nan, "contains NaN"),
        (np.inf, "contains infinity"),
        (-np.inf, "contains infinity"),
    ],
)
def test_nan_or_inf_late_in_a_memmap_is_refused_before_training(
    bad, match, monkeypatch, tmp_path, tiny_gan
):
    monkeypatch.setattr(validation, "SCAN_BYTES", 4 * 64 * 4)  # 4 rows per block
    X = np.random.default_rng(0).random((30, 64), dtype=np.float32)
    X[25, 3] = bad  # in the seventh block
    gan = tiny_gan(steps=1)
    with pytest.raises(ValueError, match=rf"Input X {match}.*rows 24 to 27"):
        gan.fit(as_memmap(X, tmp_path))
    assert not hasattr(gan, "generator_")
    fitted = tiny_gan(steps=1).fit(np.nan_to_num(X, posinf=1, neginf=0))
    for method in (fitted.partial_fit, fitted.score):
        with pytest.raises(ValueError, match=match):
            method(as_memmap(X, tmp_path))


def traced_peak(function):
    """Peak bytes that Python and NumPy allocate while ``function`` runs."""
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fit_allocates_less_than_half_a_copy_of_X(tiny_gan):
    """The whole-array conversion allocated about 20 times a uint8 X."""
    X = np.random.default_rng(0).integers(0, 256, (4000, 16, 16, 3), dtype=np.uint8)
    tiny_gan(steps=1).fit(X[:40])  # first-use imports and caches, not traced
    gan, peak = traced_peak(lambda: tiny_gan(steps=3).fit(X))
    assert gan.n_features_in_ == 16 and len(gan.history_) == 1
    assert peak < X.nbytes / 2


def test_sample_needs_its_output_and_one_chunk(tiny_gan):
    X = np.random.default_rng(0).integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    gan = tiny_gan(steps=1).fit(X)
    extra = {}
    for n in (5_000, 20_000):
        out, peak = traced_peak(lambda n=n: gan.sample(n, random_state=0))
        assert out.shape == (n, 16, 16, 3) and out.dtype == np.uint8
        extra[n] = peak - out.nbytes
    # A float64 copy of the 20,000 images would take 123 MB, one of a chunk of
    # 256 images 1.6 MB (the out-of-place conversion held five: 7.9 MB).
    assert extra[20_000] < extra[5_000] + 1e6 and extra[20_000] < 4e6
