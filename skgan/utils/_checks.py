"""Argument checks shared by every public function: integers, flags and paths.

Each raises a ``TypeError`` for a value of the wrong kind and a ``ValueError``
for one out of range, naming the argument, before any work starts.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

__all__ = ["check_flag", "check_int", "check_path"]


def check_int(value, name, *, minimum=1, allow_none=False):
    """Return ``value`` as an int >= ``minimum``; bools are refused.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, for the error message.
    minimum : int, default=1
        The smallest accepted value.
    allow_none : bool, default=False
        Accept (and return) None.
    """
    if allow_none and value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        what = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {what}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_flag(value, name):
    """Return ``value`` as a bool, refusing truthy non-bools such as ``"no"``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_path(value, name="path"):
    """Return ``value`` as a :class:`~pathlib.Path` with ``~`` expanded."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or os.PathLike, got {type(value).__name__}."
        )
    return Path(os.fspath(value)).expanduser()
