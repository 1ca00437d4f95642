"""Parameters and plain attributes of an estimator as model files hold them.

:func:`encode_params` turns ``get_params()`` into JSON, replacing what JSON
cannot hold (code) by defaults; the decoders check what a file gives back
against the estimator class before anything is set.
"""

from __future__ import annotations

import inspect
import re

import numpy as np

from ._json_values import Unsupported, decode, encode
from ._model_archive import invalid

__all__ = [
    "check_given_params",
    "decode_attributes",
    "decode_params",
    "default_params",
    "encode_params",
    "only_checkpoints",
]

_ATTRIBUTE_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")


def default_params(cls):
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def only_checkpoints(callbacks):
    """Whether every callback is one that a resumed run re-creates itself."""
    return all(
        getattr(type(c), "drop_when_saved", False) is True for c in callbacks or ()
    )


def encode_params(estimator):
    """Return ``(params, replaced)``: JSON-ready parameters, names not saved."""
    defaults = default_params(type(estimator))
    params, replaced = {}, []
    for name, value in estimator.get_params(deep=False).items():
        if name == "callbacks" and value:
            # Callbacks are code: never saved. Checkpoints are re-created by
            # whoever resumes training, so they are dropped without a warning.
            params[name] = encode(defaults.get(name))
            if not only_checkpoints(value):
                replaced.append(name)
            continue
        if (
            isinstance(value, np.ndarray)
            and value.ndim <= 1
            and value.dtype.kind in "biuf"
        ):
            value = value.tolist()  # e.g. image_shape=np.array([28, 28])
        try:
            params[name] = encode(value)
        except Unsupported:
            params[name] = encode(defaults.get(name))
            replaced.append(name)
    return params, replaced


def check_given_params(given, cls):
    """``load_model``'s ``params`` argument as a dict of the class's parameters."""
    if given is None:
        return {}
    unknown = sorted(set(given) - set(default_params(cls)))
    if unknown:
        raise ValueError(
            f"params names {unknown}, which are not parameters of the estimator."
        )
    return dict(given)


def decode_params(header, path, cls):
    blob = header.get("params")
    if not isinstance(blob, dict):
        raise invalid(path, "params is not a JSON object.")
    try:
        params = {str(k): decode(v) for k, v in blob.items()}
    except ValueError as exc:
        raise invalid(path, f"bad parameter value ({exc}).") from None
    known = set(default_params(cls))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"{path} has parameters {unknown} that {cls.__name__} of this skgan "
            "does not know: it was probably written by a newer skgan. Upgrade "
            "skgan to load it."
        )
    return params


def decode_attributes(header, cls, params):
    """Plain-valued private attributes (``{name: value}``) to set on the model."""
    blob = header.get("attributes", {})
    if not isinstance(blob, dict):
        raise ValueError("attributes is not a JSON object")
    out = {}
    for name, value in blob.items():
        if name in cls._state_attributes and value is None:
            continue  # format 1 kept an absent moving average here
        if (
            not _ATTRIBUTE_NAME.match(name)
            or name in params
            or name in cls._state_attributes
            or hasattr(cls, name)  # never shadow a method or property
        ):
            raise ValueError(f"attribute name {name!r} is not allowed")
        out[name] = decode(value)
    return out
