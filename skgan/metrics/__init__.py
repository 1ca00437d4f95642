"""Sample-quality metrics for generative models: FID, KID, IS, precision/recall,
density/coverage, memorization tests and a one-call synthetic-data report.

Every image-level function takes images in any layout skgan accepts
(``(n, H*W*C)`` flattened rows, ``(n, H, W)`` or ``(n, H, W, C)``; ``uint8`` or
float with a ``data_range``) or, with ``feature_extractor=None``, 2-D feature
matrices. ``feature_extractor`` may be

* ``"inception"`` (default): the FID InceptionV3 with the published weights
  (:func:`find_inception_weights` says where they are looked for). Images are
  mapped to ``[0, 255]`` and rounded to integers (as when saved to PNG), grayscale
  is replicated to RGB, and the TF-exact preprocessing of the reference
  implementation applies (TF1 bilinear resize to 299, ``(x - 128) / 128``);
* a ``torch.nn.Module``: called in eval mode under ``torch.inference_mode`` on
  float32 tensors ``(batch, C, H, W)`` with values in ``[0, 1]``, on the device
  of its parameters;
* any other callable: called on float32 arrays ``(batch, H, W, C)`` in ``[0, 1]``;
* a fitted scikit-learn transformer: ``transform`` gets the flattened rows
  ``(batch, H*W*C)`` in the images' original values;

and must return ``(batch, n_features)`` features (logits for
:func:`inception_score`). To compute features once and reuse them across
metrics, call :func:`extract_features` and pass ``feature_extractor=None``.

Every function validates all of its inputs before doing any work and raises a
``ValueError`` or ``TypeError`` that names the problem.
"""

from ._common import SmallSampleWarning
from ._features import extract_features
from ._frechet import (
    compute_reference_statistics,
    frechet_distance,
    frechet_inception_distance,
)
from ._inception import FIDInceptionV3
from ._inception_score import inception_score
from ._kid import kernel_inception_distance
from ._memorization import memorization, nearest_neighbors
from ._neighbors import density_coverage, precision_recall
from ._report import plot_nearest_training_images, synthetic_data_report
from ._statistics import FeatureStatistics, feature_statistics
from ._weights import find_inception_weights, load_fid_inception

__all__ = [
    "FIDInceptionV3",
    "FeatureStatistics",
    "SmallSampleWarning",
    "compute_reference_statistics",
    "density_coverage",
    "extract_features",
    "feature_statistics",
    "find_inception_weights",
    "frechet_distance",
    "frechet_inception_distance",
    "inception_score",
    "kernel_inception_distance",
    "load_fid_inception",
    "memorization",
    "nearest_neighbors",
    "plot_nearest_training_images",
    "precision_recall",
    "synthetic_data_report",
]
