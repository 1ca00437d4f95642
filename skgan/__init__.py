"""skgan: scikit-learn-style generative adversarial networks for small image sets."""

from ._version import __version__
from .gan import DCGANEstimator, VariationGAN
from .nn import DivergenceError
from .nn.diagnosis import TrainingWarning
from .utils._validation import ImageLayout

__all__ = [
    "DCGANEstimator",
    "DivergenceError",
    "ImageLayout",
    "SyntheticAugmenter",
    "TrainingWarning",
    "VariationGAN",
    "__version__",
]


def __getattr__(name):
    # SyntheticAugmenter needs the optional imbalanced-learn: import on first use.
    if name == "SyntheticAugmenter":
        try:
            from .augment import SyntheticAugmenter
        except ImportError as exc:
            raise ImportError(
                "skgan.SyntheticAugmenter needs imbalanced-learn: "
                "pip install 'skgan[imbalanced]'"
            ) from exc
        return SyntheticAugmenter
    raise AttributeError(f"module 'skgan' has no attribute {name!r}")
