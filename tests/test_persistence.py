"""Safe model files (save_model/load_model) and exact resumption from checkpoints."""

import hashlib
import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from skgan import DCGANEstimator
from skgan.callbacks import Checkpoint, latest_checkpoint
from skgan.persistence import (
    FORMAT_VERSION,
    PersistenceWarning,
    load_model,
    save_model,
)
from tests._tiny import tiny_gan

NAMES = np.array(["zero", "one", "two", "three"])
# Conditional models exercise the rest of the fitted state: string classes, the
# class prior, the EMA generator and its update counter, DiffAugment.
CONDITIONAL = dict(conditional=True, ema_decay=0.9, augment="translation,cutout")


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    keep = y < 4
    return X[keep][:64], NAMES[y[keep][:64]]


def samples(model, n=16):
    """Images (and labels, for a conditional model) drawn with a fixed seed."""
    out = model.sample(n, random_state=0)
    return out if isinstance(out, tuple) else (out,)


def assert_same_samples(a, b):
    for x, y in zip(samples(a), samples(b)):
        np.testing.assert_array_equal(x, y)


def assert_same_state(a, b):
    """Same attributes, parameters, history and non-tensor fitted state."""
    assert set(vars(a)) == set(vars(b))
    assert a.get_params() == b.get_params()
    assert a.history_ == b.history_
    assert a.image_layout_ == b.image_layout_
    assert a.image_shape_ == b.image_shape_ and a.n_features_in_ == b.n_features_in_
    if hasattr(a, "classes_"):
        np.testing.assert_array_equal(a.classes_, b.classes_)
        assert a.classes_.dtype == b.classes_.dtype
        np.testing.assert_array_equal(a.class_prior_, b.class_prior_)
    tensors_a, tensors_b = a._export_state()[1], b._export_state()[1]
    assert set(tensors_a) == set(tensors_b)
    for name, mine in tensors_a.items():
        if name != "_rng_state":
            assert repr(mine) == repr(tensors_b[name]), name
    assert torch.equal(a._rng_state, b._rng_state)


@pytest.fixture(scope="module", params=["unconditional", "conditional"])
def fitted(request, data):
    X, y = data
    params = CONDITIONAL if request.param == "conditional" else {}
    return tiny_gan(epochs=2, **params).fit(X, y)


@pytest.fixture
def saved(fitted, tmp_path):
    return save_model(fitted, tmp_path / "model.skgan")


# ---------------------------------------------------------------- round trip


def test_round_trip_restores_everything(fitted, saved):
    loaded = load_model(saved)
    assert type(loaded) is DCGANEstimator
    assert_same_state(fitted, loaded)
    assert_same_samples(fitted, loaded)
    assert not loaded.generator_.training and not loaded.discriminator_.training


def test_loaded_model_continues_training_exactly(fitted, saved, data):
    X, y = data
    loaded = load_model(saved).set_params(warm_start=True, epochs=1).fit(X, y)
    original = pickle.loads(pickle.dumps(fitted))  # leave the fixture untouched
    original.set_params(warm_start=True, epochs=1).fit(X, y)
    assert [r["epoch"] for r in loaded.history_] == [1, 2, 3]
    assert loaded.history_[-1]["d_loss"] == original.history_[-1]["d_loss"]
    assert_same_samples(original, loaded)


def test_unfitted_model_round_trips_parameters_exactly(tmp_path):
    gan = tiny_gan(
        betas=(0.0, 0.9),
        real_label=(0.8, 1.0),
        image_shape=np.array([8, 8]),
        device=torch.device("cpu"),
        random_state=np.random.RandomState(7),
        noise_dim=0,  # invalid: checked by fit, as for any unfitted estimator
    )
    loaded = load_model(save_model(gan, tmp_path / "unfitted.skgan"))
    assert not hasattr(loaded, "generator_")
    params = loaded.get_params()
    assert params["betas"] == (0.0, 0.9) and type(params["betas"]) is tuple
    assert params["real_label"] == (0.8, 1.0)
    assert params["image_shape"] == [8, 8]  # a 1-D array comes back as a list
    assert params["device"] == torch.device("cpu") and params["noise_dim"] == 0
    # The RandomState keeps its exact state: both draw the same numbers.
    assert params["random_state"].randint(10**9) == gan.random_state.randint(10**9)
    same = set(params) - {"random_state", "image_shape"}
    assert {k: params[k] for k in same} == {k: gan.get_params()[k] for k in same}


def test_object_labels_and_subclasses(data, tmp_path):
    X, y = data

    class MyGAN(DCGANEstimator):
        pass

    labels = y.astype(object)  # e.g. a pandas column of strings
    gan = MyGAN(**(tiny_gan().get_params() | {"conditional": True})).fit(X, labels)
    path = save_model(gan, tmp_path / "mine.skgan")
    with pytest.raises(ValueError, match="estimator_class"):
        load_model(path)
    loaded = load_model(path, estimator_class=MyGAN)
    assert type(loaded) is MyGAN and loaded.classes_.dtype == object
    np.testing.assert_array_equal(loaded.classes_, gan.classes_)
    assert_same_samples(gan, loaded)
    with pytest.raises(TypeError, match="estimator_class"):
        load_model(path, estimator_class=dict)


def test_files_are_deterministic_and_plain_json(fitted, saved, tmp_path):
    again = save_model(fitted, tmp_path / "again.skgan")
    assert saved.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(saved) as zf:
        header = json.loads(zf.read("skgan.json"))
        assert header["format"] == "skgan-model"
        assert header["format_version"] == FORMAT_VERSION
        assert header["estimator"] == "DCGANEstimator"
        assert header["params"]["noise_dim"] == 8
        assert len(header["fitted"]["history_"]) == 2
        assert set(zf.namelist()) == {"skgan.json", "weights.safetensors"}


# ----------------------------------------------------- parameters not saved


def test_code_parameters_are_replaced_by_defaults_with_a_warning(data, tmp_path):
    X, _ = data

    def my_callback(estimator, record):
        pass

    gan = tiny_gan(
        feature_extractor=lambda batch: batch.reshape(len(batch), -1),
        callbacks=[my_callback],
    ).fit(X)
    with pytest.warns(PersistenceWarning, match="callbacks, feature_extractor"):
        path = save_model(gan, tmp_path / "m.skgan")
    with pytest.warns(PersistenceWarning, match="set_params"):
        loaded = load_model(path)
    assert loaded.callbacks is None and loaded.feature_extractor == "inception"
    assert_same_samples(gan, loaded)


def test_checkpoint_callbacks_are_dropped_silently(data, tmp_path):
    X, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gan = tiny_gan(callbacks=[Checkpoint(tmp_path / "ckpt")]).fit(X)
        loaded = load_model(save_model(gan, tmp_path / "m.skgan"))
    assert loaded.callbacks is None


def test_unknown_attributes_are_reported(data, tmp_path):
    gan = tiny_gan().fit(data[0])
    gan._scratch = object()
    with pytest.warns(PersistenceWarning, match="_scratch"):
        save_model(gan, tmp_path / "m.skgan")


# ----------------------------------------------------------------- devices


def test_model_trained_on_a_missing_accelerator_loads_on_cpu(fitted, tmp_path):
    trained_on = "mps" if torch.cuda.is_available() else "cuda:0"
    gan = pickle.loads(pickle.dumps(fitted))
    gan.device_ = torch.device(trained_on)  # as recorded by a GPU machine
    path = save_model(gan, tmp_path / "gpu.skgan")
    with pytest.warns(RuntimeWarning, match="loaded on the CPU"):
        loaded = load_model(path)
    assert loaded.device_ == torch.device("cpu")
    assert_same_samples(fitted, loaded)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_model(path, device="cpu").device_ == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            load_model(path, device="cuda")


# -------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("conditional", [False, True], ids=["uncond", "cond"])
def test_resume_from_checkpoint_is_bit_identical(data, tmp_path, conditional):
    """fit(4) == fit(2) with checkpoints -> load epoch 2 -> warm fit(2 more)."""
    X, y = data
    params = CONDITIONAL if conditional else {}
    uninterrupted = tiny_gan(epochs=4, **params).fit(X, y)
    first = tiny_gan(epochs=2, callbacks=[Checkpoint(tmp_path)], **params).fit(X, y)
    path = latest_checkpoint(tmp_path)
    assert path.name == "checkpoint_0002.skgan"
    resumed = load_model(path)
    assert_same_state(first.set_params(callbacks=None), resumed)
    resumed.set_params(warm_start=True, epochs=2, callbacks=[Checkpoint(tmp_path)]).fit(
        X, y
    )
    assert [r["epoch"] for r in resumed.history_] == [1, 2, 3, 4]
    for a, b in zip(uninterrupted.history_, resumed.history_):
        assert (a["d_loss"], a["g_loss"]) == (b["d_loss"], b["g_loss"])
    assert_same_samples(uninterrupted, resumed)
    # The resumed run went on numbering its checkpoints.
    assert latest_checkpoint(tmp_path).name == "checkpoint_0004.skgan"


def test_checkpoint_mid_run_resumes_like_the_run_that_went_on(data, tmp_path):
    """A crash after epoch 2 of 4 loses nothing: resuming gives the same model."""
    X, _ = data
    run = tiny_gan(epochs=4, callbacks=[Checkpoint(tmp_path, every=2)]).fit(X)
    assert [p.name for p in Checkpoint(tmp_path).checkpoints()] == [
        "checkpoint_0002.skgan",
        "checkpoint_0004.skgan",
    ]
    # Saving checkpoints does not perturb training.
    assert_same_samples(run, tiny_gan(epochs=4).fit(X))
    resumed = load_model(tmp_path / "checkpoint_0002.skgan")
    resumed.set_params(warm_start=True, epochs=2).fit(X)
    assert_same_samples(run, resumed)
    assert_same_samples(run, load_model(tmp_path / "checkpoint_0004.skgan"))


def test_checkpoint_every_and_keep_last(data, tmp_path):
    X, _ = data
    keeper = Checkpoint(tmp_path / "new" / "folder", every=2, keep_last=2)
    assert keeper.latest() is None and latest_checkpoint(tmp_path / "none") is None
    tiny_gan(epochs=7, callbacks=[keeper]).fit(X)
    assert [p.name for p in keeper.checkpoints()] == [
        "checkpoint_0004.skgan",
        "checkpoint_0006.skgan",
    ]
    assert keeper.latest() == keeper.path_for(6)
    (keeper.directory / "notes.txt").write_text("not a checkpoint")
    assert latest_checkpoint(keeper.directory) == keeper.path_for(6)
    assert repr(keeper).startswith("Checkpoint(") and "keep_last=2" in repr(keeper)


def test_checkpoint_warns_once_about_unsaved_parameters(data, tmp_path):
    X, _ = data
    gan = tiny_gan(
        epochs=3,
        feature_extractor=lambda b: b.reshape(len(b), -1),
        callbacks=[Checkpoint(tmp_path)],
    )
    with pytest.warns(PersistenceWarning) as record:
        gan.fit(X)
    record = [w for w in record if issubclass(w.category, PersistenceWarning)]
    assert len(record) == 1 and "feature_extractor" in str(record[0].message)
    assert len(Checkpoint(tmp_path).checkpoints()) == 3


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"directory": 3}, TypeError, "directory"),
        ({"every": 0}, ValueError, "every"),
        ({"every": 1.5}, TypeError, "every"),
        ({"every": True}, TypeError, "every"),
        ({"keep_last": 0}, ValueError, "keep_last"),
        ({"keep_last": "2"}, TypeError, "keep_last"),
    ],
)
def test_checkpoint_bad_arguments(tmp_path, kwargs, error, match):
    kwargs = {"directory": tmp_path} | kwargs
    with pytest.raises(error, match=match):
        Checkpoint(kwargs.pop("directory"), **kwargs)


# ------------------------------------------------------------ saving safely


def test_save_is_atomic(fitted, saved, monkeypatch):
    """A failure half-way through writing leaves the old file and no debris."""
    before = saved.read_bytes()
    writestr = zipfile.ZipFile.writestr

    def fail_on_tensors(self, info, data, *args, **kwargs):
        if getattr(info, "filename", info) == "weights.safetensors":
            raise OSError("disk full")
        return writestr(self, info, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_tensors)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted, saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_save_errors(fitted, tmp_path):
    with pytest.raises(TypeError, match="DCGANEstimator"):
        save_model(object(), tmp_path / "m.skgan")
    with pytest.raises(TypeError, match="path"):
        save_model(fitted, 3)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_model(fitted, tmp_path / "missing" / "m.skgan")
    with pytest.raises(IsADirectoryError):
        save_model(fitted, tmp_path)


# ------------------------------------------------ refusing bad or foreign files


class _Exploit:
    """Would leave a trace if its pickle were ever executed."""

    def __reduce__(self):
        return (exec, ("import builtins; builtins._skgan_pwned = True",))


def rewrite(path, header=None, tensors=None, drop=(), member="weights.safetensors"):
    """Rewrite a model file with some members changed (``tensors`` -> ``member``)."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist() if name not in drop}
    if header is not None:
        members["skgan.json"] = json.dumps(header(json.loads(members["skgan.json"])))
    if tensors is not None:
        members[member] = tensors
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def torch_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No skgan model file"):
        load_model(tmp_path / "nothing.skgan")
    with pytest.raises(TypeError, match="path"):
        load_model(None)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "not an skgan model file"),
        (b"\x00" * 1000, "not an skgan model file"),
        (pickle.dumps(_Exploit()), "not an skgan model file"),
        (torch_bytes({"weight": torch.zeros(2)}), "torch.save file"),
        (json.dumps({"format": "skgan-model"}).encode(), "not an skgan model file"),
    ],
    ids=["empty", "zeros", "pickle", "torch-save", "json"],
)
def test_foreign_files_are_refused(tmp_path, content, match):
    path = tmp_path / "foreign.skgan"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_npz_and_foreign_zip_are_refused(tmp_path):
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="NumPy .npz"):
        load_model(tmp_path / "arrays.npz")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("skgan.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="does not declare format"):
        load_model(tmp_path / "other.zip")


def test_pickled_code_in_the_tensors_is_never_run(saved):
    import builtins

    rewrite(saved, tensors=pickle.dumps(_Exploit()))
    with pytest.raises(ValueError, match="SHA-256"):
        load_model(saved)
    # With a matching checksum, the safetensors reader finds no valid header.
    blob = pickle.dumps(_Exploit())
    digest = hashlib.sha256(blob).hexdigest()
    rewrite(saved, header=lambda h: h | {"tensors_sha256": digest}, tensors=blob)
    with pytest.raises(ValueError, match="weights.safetensors"):
        load_model(saved)
    # A format-1 file's torch blob goes through the weights-only reader,
    # which refuses the code.
    blob = torch_bytes({"generator_": _Exploit()})
    digest = hashlib.sha256(blob).hexdigest()
    rewrite(
        saved,
        header=lambda h: h | {"tensors_sha256": digest, "format_version": 1},
        tensors=blob,
        member="tensors.pt",
    )
    with pytest.raises(ValueError, match="cannot be read as plain tensors"):
        load_model(saved)
    assert not hasattr(builtins, "_skgan_pwned")


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_files_are_refused(saved, cut):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(saved)


def test_corrupt_tensor_bytes_are_detected(saved):
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("weights.safetensors")
    data = bytearray(saved.read_bytes())
    # Flip a byte in the middle of the stored (uncompressed) tensor member.
    data[info.header_offset + 100 + info.compress_size // 2] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt|SHA-256"):
        load_model(saved)


def test_future_format_version_asks_for_an_upgrade(saved):
    rewrite(saved, header=lambda h: h | {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="newer skgan.*Upgrade skgan"):
        load_model(saved)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda h: h | {"format_version": "1"}, "format_version"),
        (lambda h: h | {"estimator": "SomethingElse"}, "SomethingElse"),
        (lambda h: h | {"params": h["params"] | {"noise_dim": -1}}, "noise_dim"),
        (lambda h: h | {"params": h["params"] | {"future": 1}}, "future"),
        (lambda h: h | {"params": [1, 2]}, "params"),
        (lambda h: h | {"params": h["params"] | {"betas": {"__code__": 1}}}, "bad"),
        (lambda h: h | {"attributes": {"sample": 1}}, "sample"),
        (lambda h: h | {"fitted": h["fitted"] | {"n_features_in_": 3}}, "n_features"),
        (lambda h: h | {"fitted": h["fitted"] | {"history_": 3}}, "history_"),
        (
            lambda h: h | {"params": h["params"] | {"noise_dim": 9}},
            "do not fit the networks",
        ),
    ],
    ids=[
        "version-type",
        "class",
        "invalid-param",
        "unknown-param",
        "params-type",
        "unknown-tag",
        "shadowing-attribute",
        "inconsistent-fitted",
        "history-type",
        "wrong-architecture",
    ],
)
def test_tampered_headers_are_refused(saved, edit, match):
    rewrite(saved, header=edit)
    with pytest.raises(ValueError, match=match) as info:
        load_model(saved)
    assert str(saved) in str(info.value)


def test_missing_tensors_member(saved):
    rewrite(saved, drop=("weights.safetensors",))
    with pytest.raises(ValueError, match="no weights.safetensors"):
        load_model(saved)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_damaged_files_raise_value_error_or_load(saved, data):
    """Property: any damage gives a ValueError naming the file, never another error."""
    original = saved.read_bytes()
    damaged = bytearray(original)
    kind = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if kind == "truncate":
        damaged = damaged[: data.draw(st.integers(0, len(original) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(original) - 1))
            if kind == "flip":
                damaged[at] ^= data.draw(st.integers(1, 255))
            else:
                damaged[at : at + 8] = data.draw(st.binary(min_size=1, max_size=8))
    saved.write_bytes(bytes(damaged))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load_model(saved)
    except ValueError as exc:
        assert str(saved) in str(exc)
    else:  # damage to bytes nothing reads (e.g. ZIP timestamps) is harmless
        assert isinstance(loaded, DCGANEstimator)
    finally:
        saved.write_bytes(original)


def test_estimator_save_and_load_methods(tmp_path):
    from sklearn.datasets import load_digits

    from skgan import DCGANEstimator

    X, y = load_digits(return_X_y=True)
    gan = tiny_gan(conditional=True, ema_decay=0.9).fit(X, y)
    path = gan.save(tmp_path / "digits.skgan")
    loaded = DCGANEstimator.load(path)
    assert isinstance(loaded, DCGANEstimator)
    for got, want in zip(
        loaded.sample(6, random_state=0), gan.sample(6, random_state=0)
    ):
        np.testing.assert_array_equal(got, want)
