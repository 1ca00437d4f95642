"""skgan: scikit-learn-style generative adversarial networks for small image sets."""

__version__ = "0.1.0.dev0"
