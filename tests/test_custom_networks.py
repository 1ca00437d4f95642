"""generator= / discriminator=: networks a user brings, through fit, clone,
model selection, persistence and conditional mode."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skgan import DCGANEstimator
from skgan.persistence import PersistenceWarning, load_model, save_model
from tests._tiny import TinyDiscriminator, TinyGenerator, tiny_gan


class TwoLogits(torch.nn.Module):
    def forward(self, images, labels=None):
        return images.flatten(1)[:, :2]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:96], y[:96]


def custom(**params):
    return tiny_gan(generator=TinyGenerator, discriminator=TinyDiscriminator, **params)


def test_custom_networks_are_built_from_the_image_shape_and_trained(digits):
    gan = custom(epochs=2).fit(digits[0])
    assert isinstance(gan.generator_, TinyGenerator)
    assert isinstance(gan.discriminator_, TinyDiscriminator)
    assert gan.generator_.image_shape == (1, 8, 8)
    assert len(gan.history_) == 2 and np.isfinite(gan.history_[-1]["d_loss"])
    samples = gan.sample(5, random_state=0)
    assert samples.shape == (5, 64) and samples.min() >= 0 and samples.max() <= 16


def test_a_factory_function_and_one_custom_network_work_too(digits):
    def make_generator(noise_dim, image_shape, n_classes):
        return TinyGenerator(noise_dim, image_shape, n_classes)

    gan = tiny_gan(generator=make_generator).fit(digits[0])
    assert isinstance(gan.generator_, TinyGenerator)
    assert type(gan.discriminator_).__name__ == "Discriminator"  # the default


def test_same_seed_same_model_and_clone_keeps_the_networks(digits):
    a = custom(random_state=3).fit(digits[0])
    b = clone(a).fit(digits[0])
    np.testing.assert_array_equal(
        a.sample(8, random_state=0), b.sample(8, random_state=0)
    )
    assert clone(a).generator is TinyGenerator


@pytest.mark.filterwarnings("ignore::skgan.metrics.SmallSampleWarning")
def test_grid_search_over_custom_networks(digits):
    search = GridSearchCV(
        tiny_gan(),
        {"generator": [None, TinyGenerator], "noise_dim": [4, 8]},
        cv=2,
    ).fit(digits[0])
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_conditional_custom_networks(digits):
    X, y = digits
    gan = custom(conditional=True, epochs=2).fit(X, y)
    assert gan.generator_.embed.num_embeddings == 10
    images, labels = gan.sample(4, y=3, random_state=0)
    assert images.shape == (4, 64) and (labels == 3).all()


def test_pickle_and_model_files_round_trip_exactly(digits, tmp_path):
    gan = custom().fit(digits[0])
    expected = gan.sample(6, random_state=0)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(gan)).sample(6, random_state=0), expected
    )
    with pytest.warns(PersistenceWarning, match="discriminator, generator"):
        path = save_model(gan, tmp_path / "custom.skgan")
    with pytest.raises(ValueError, match="its own generator and discriminator"):
        load_model(path)
    networks = {"generator": TinyGenerator, "discriminator": TinyDiscriminator}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left unsaved any more
        loaded = DCGANEstimator.load(path, params=networks)
    assert loaded.generator is TinyGenerator
    np.testing.assert_array_equal(loaded.sample(6, random_state=0), expected)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(generator="resnet"), TypeError, "generator"),
        (
            dict(generator=lambda **kw: "not a module"),
            TypeError,
            "not a torch.nn.Module",
        ),
        (
            dict(
                generator=lambda noise_dim, image_shape, n_classes: torch.nn.Linear(
                    2, 2
                )
            ),
            ValueError,
            "generator failed",
        ),
        (
            dict(
                generator=lambda noise_dim, image_shape, n_classes: TinyGenerator(
                    noise_dim, (1, 4, 4)
                )
            ),
            ValueError,
            r"shape \(1, 4, 4\).*\(1, 8, 8\)",
        ),
        (
            dict(discriminator=lambda image_shape, n_classes: TwoLogits()),
            ValueError,
            "one logit per image",
        ),
    ],
    ids=["not-callable", "not-a-module", "wrong-input", "wrong-shape", "wrong-logits"],
)
def test_networks_that_cannot_work_are_refused_before_training(
    digits, params, error, match
):
    gan = tiny_gan(**params)
    with pytest.raises(error, match=match):
        gan.fit(digits[0])
    assert not hasattr(gan, "history_")


def test_load_model_params_argument_is_checked(digits, tmp_path):
    path = save_model(tiny_gan().fit(digits[0]), tmp_path / "m.skgan")
    with pytest.raises(TypeError, match="params must be a dict"):
        load_model(path, params=[("generator", None)])
    with pytest.raises(ValueError, match="not parameters"):
        load_model(path, params={"generatr": None})
