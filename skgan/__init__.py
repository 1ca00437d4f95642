"""skgan: scikit-learn-style generative adversarial networks for small image sets."""

from ._validation import ImageLayout
from .gan import DCGANEstimator
from .nn import DivergenceError

__version__ = "0.1.0.dev0"

__all__ = ["DCGANEstimator", "DivergenceError", "ImageLayout", "__version__"]
