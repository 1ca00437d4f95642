"""The estimator's own state: files of the first format still load exactly, and
the memory order of the weights survives every round trip."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skgan import DCGANEstimator
from skgan.callbacks import Checkpoint, latest_checkpoint
from skgan.persistence import load_model, save_model
from tests._recorded import RELATIVE_TOLERANCE, assert_recorded

OLD_FILES = Path(__file__).parent / "data" / "format_v1"


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:200]


def conv_weights(network):
    return [p for p in network.parameters() if p.dim() == 4]


def is_channels_last(network):
    """NHWC weights; a weight with one input channel is both, so others decide."""
    weights = conv_weights(network)
    nhwc = all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    return nhwc and any(not w.is_contiguous() for w in weights)


@pytest.mark.recorded
def test_files_written_before_the_state_export_load_and_sample_exactly():
    """Same weights and noise as when written; the samples match within float
    rounding across CPU kinds, since they were recorded on another machine."""
    expected = np.load(OLD_FILES / "expected_samples.npz")
    plain = load_model(OLD_FILES / "unconditional.skgan")
    assert_recorded(plain.sample(6, random_state=0), expected["unconditional"])
    assert plain.generator_ema_ is not None and plain._ema_updates > 0
    conditional = DCGANEstimator.load(OLD_FILES / "conditional.skgan")
    images, labels = conditional.sample(6, random_state=0)
    assert_recorded(images, expected["conditional"])
    np.testing.assert_array_equal(labels, expected["conditional_labels"])


@pytest.mark.recorded
@pytest.mark.parametrize("name", ["unconditional", "conditional"])
def test_pickles_written_before_the_package_layout_changed_still_load(name, digits):
    folder = Path(__file__).parent / "data" / "pickles_v0_1"
    expected = np.load(folder / "expected_samples.npz")
    model = pickle.loads((folder / f"{name}.pkl").read_bytes())
    assert isinstance(model, DCGANEstimator)
    out = model.sample(6, random_state=0)
    if model.conditional:
        out, labels = out
        np.testing.assert_array_equal(labels, expected[f"{name}_labels"])
    assert_recorded(out, expected[name])
    y = load_digits().target[:200] if model.conditional else None
    model.set_params(warm_start=True, epochs=1).fit(digits, y)  # and trains on
    assert len(model.history_) == 3


@pytest.mark.recorded
def test_an_old_file_continues_training(digits):
    gan = load_model(OLD_FILES / "unconditional.skgan")
    gan.set_params(warm_start=True, epochs=1).fit(digits)
    assert [r["epoch"] for r in gan.history_] == [1, 2, 3]
    # The loss that the writing session measured for this third epoch.
    assert gan.history_[-1]["d_loss"] == pytest.approx(
        2.080636183420817, rel=RELATIVE_TOLERANCE
    )


@pytest.mark.parametrize("channels_last", [True, False])
def test_weights_keep_their_memory_order_through_every_round_trip(
    digits, tmp_path, channels_last, tiny_gan
):
    gan = tiny_gan(epochs=2, channels_last=channels_last).fit(digits)
    assert is_channels_last(gan.generator_) == channels_last
    expected = gan.sample(20, random_state=0)
    copies = {
        "pickle": pickle.loads(pickle.dumps(gan)),
        "file": load_model(save_model(gan, tmp_path / "m.skgan")),
    }
    for how, copy in copies.items():
        for network in (copy.generator_, copy.discriminator_, copy.generator_ema_):
            assert is_channels_last(network) == channels_last, how
        np.testing.assert_array_equal(copy.sample(20, random_state=0), expected)


def test_checkpoint_resume_samples_identically_with_channels_last(
    digits, tmp_path, tiny_gan
):
    callbacks = [Checkpoint(tmp_path, every=1)]
    whole = tiny_gan(epochs=3, callbacks=callbacks).fit(digits)
    resumed = load_model(latest_checkpoint(tmp_path))
    np.testing.assert_array_equal(
        resumed.sample(20, random_state=0), whole.sample(20, random_state=0)
    )
    first = tiny_gan(epochs=2, callbacks=[Checkpoint(tmp_path / "b")]).fit(digits)
    again = load_model(latest_checkpoint(tmp_path / "b"))
    first.set_params(warm_start=True, epochs=1, callbacks=None).fit(digits)
    again.set_params(warm_start=True, epochs=1).fit(digits)
    np.testing.assert_array_equal(
        again.sample(20, random_state=0), first.sample(20, random_state=0)
    )


def test_a_failed_load_leaves_no_half_fitted_model(digits, tiny_gan):
    gan = tiny_gan().fit(digits)
    values, tensors = gan._export_state()
    fresh = tiny_gan(noise_dim=9)  # networks that the tensors do not fit
    with pytest.raises(ValueError, match="do not fit the networks"):
        fresh._import_state(values, tensors, torch.device("cpu"))
    assert not hasattr(fresh, "generator_") and not hasattr(fresh, "history_")
