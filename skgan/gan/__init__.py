"""The scikit-learn estimator: :class:`~skgan.DCGANEstimator`.

Its parameters and their checks (``_parameters``), the fit that calls the torch
training loop (``_fitting``), the training images (``_training_data``), the
networks and optimizers built from the parameters (``_build``), the fitted state
for pickles and model files (``_estimator_state``) and class labels of
conditional models (``_labels``); and :class:`~skgan.VariationGAN`
(``_variation``), a GAN that makes variants of given images.
"""

from ._estimator import DCGANEstimator
from ._variation import VariationGAN

__all__ = ["DCGANEstimator", "VariationGAN"]
