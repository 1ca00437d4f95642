"""Label projection on every discriminator stage (``discriminator_projection``)."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from skgan import DCGANEstimator
from skgan.nn import Discriminator
from skgan.persistence._model_archive import HEADER
from tests._tiny import tiny_gan as make_tiny_gan


def test_every_stage_adds_one_label_term_per_earlier_stage():
    """Against the sum written out from the stages' activations and the
    embedding matrices, read through forward hooks of the plain network."""
    torch.manual_seed(0)
    every = Discriminator(
        (1, 32, 32), width=4, depth=3, n_classes=3, projection="every_stage"
    ).eval()
    images = torch.randn(5, 1, 32, 32)
    labels = torch.tensor([0, 1, 2, 2, 0])
    activations = []
    stage_activations = [m for m in every.features if isinstance(m, torch.nn.LeakyReLU)]
    handles = [
        m.register_forward_hook(lambda m, i, out: activations.append(out.clone()))
        for m in stage_activations
    ]
    with torch.no_grad():
        features = every.features(images)
        for handle in handles:
            handle.remove()
        # activations: the full-resolution convolution's, then one per stage.
        stages = activations[1:]
        assert len(stages) == 3 and len(every.stage_projections) == 2
        expected = every.classify(features).squeeze(1)
        expected += (
            every.label_projection.weight[labels] * features.sum(dim=(2, 3))
        ).sum(1)
        for embedding, stage in zip(every.stage_projections, stages[:-1]):
            expected += (embedding.weight[labels] * stage.sum(dim=(2, 3))).sum(1)
        torch.testing.assert_close(every(images, labels), expected)


def test_last_stage_has_no_stage_embeddings_and_unconditional_ignores_it():
    last = Discriminator((1, 32, 32), width=4, depth=3, n_classes=3)
    assert last.stage_projections is None
    plain = Discriminator((1, 32, 32), width=4, depth=3, projection="every_stage")
    assert plain.stage_projections is None and plain.label_projection is None
    with pytest.raises(ValueError, match="projection must be"):
        Discriminator((1, 32, 32), projection="all")


@pytest.mark.parametrize(
    "side, value, n_embeddings",
    [
        (64, "auto", 3),  # depth 4 at 64 px: three stages before the last
        (32, "auto", 0),
        (64, "last_stage", 0),
        (32, "every_stage", 2),
    ],
)
def test_auto_projects_on_every_stage_from_64_pixels(
    tiny_gan, side, value, n_embeddings
):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (12, side, side), dtype=np.uint8)
    model = tiny_gan(conditional=True, steps=1, discriminator_projection=value)
    model.fit(X, np.arange(12) % 3)
    projections = model.discriminator_.stage_projections
    assert (0 if projections is None else len(projections)) == n_embeddings


@pytest.fixture(scope="module")
def last_stage_model():
    """A 64-pixel conditional model as skgan built it before the parameter."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (12, 64, 64), dtype=np.uint8)
    model = make_tiny_gan(
        steps=2,
        batch_size=6,
        conditional=True,
        discriminator_projection="last_stage",
    )
    return model.fit(X, np.arange(12) % 3)


def _assert_same_model(loaded, original):
    assert loaded.discriminator_projection == "last_stage"
    assert loaded.discriminator_.stage_projections is None
    for a, b in zip(
        loaded.sample(4, random_state=0), original.sample(4, random_state=0)
    ):
        np.testing.assert_array_equal(a, b)


def test_a_pickle_from_before_the_parameter_rebuilds_its_networks(last_stage_model):
    state = last_stage_model.__getstate__()
    del state["discriminator_projection"]
    old = DCGANEstimator.__new__(DCGANEstimator)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    _assert_same_model(old, last_stage_model)


def test_a_file_from_before_the_parameter_rebuilds_its_networks(
    last_stage_model, tmp_path
):
    path = last_stage_model.save(tmp_path / "model.skgan")
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    header = json.loads(members[HEADER])
    del header["params"]["discriminator_projection"]
    members[HEADER] = json.dumps(header).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    old_path = tmp_path / "old.skgan"
    old_path.write_bytes(buffer.getvalue())
    _assert_same_model(DCGANEstimator.load(old_path), last_stage_model)
