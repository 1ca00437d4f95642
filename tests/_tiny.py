"""A DCGANEstimator small enough for unit tests."""

from skgan import DCGANEstimator

TINY = dict(
    noise_dim=8,
    epochs=1,
    batch_size=16,
    generator_width=4,
    discriminator_width=4,
    feature_extractor=None,
    device="cpu",
    random_state=0,
)


def tiny_gan(**params):
    return DCGANEstimator(**(TINY | params))
