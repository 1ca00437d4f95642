"""Image data sets: a folder of image files, and the MedMNIST 2-D collection.

Both loaders return a :class:`sklearn.utils.Bunch` the way
:func:`sklearn.datasets.load_digits` does (``images`` keeps the image shape,
``data`` holds the same pixels flattened to ``(n_samples, n_features)``), or
``(data, target)`` with ``return_X_y=True``. Pixels are ``uint8`` in ``0..255``.

Downloads are cached under :func:`get_data_home`, verified against published MD5
sums and written atomically, so an interrupted download never leaves a file that
looks complete. Machines without internet access can place the files by hand,
or pass the path of a local copy.
"""

from ._cache import get_data_home
from ._folders import load_image_folder
from ._medmnist import fetch_medmnist

__all__ = ["fetch_medmnist", "get_data_home", "load_image_folder"]
