"""Parameter and state values as JSON, for skgan's model files.

Tuples, ``torch.device`` and ``numpy.random.RandomState`` get tagged JSON
objects, so that they come back as what they were; anything else that is not
a plain number, string, list or None raises :class:`Unsupported`.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = [
    "Unsupported",
    "decode",
    "decode_array_1d",
    "encode",
    "encode_array_1d",
    "decode_state_values",
    "encode_records",
    "encode_state_values",
]

_TUPLE = "__tuple__"
_DEVICE = "__torch_device__"
_RANDOM_STATE = "__numpy_random_state__"
_CLASS_DTYPE_KINDS = "biufUO"


class Unsupported(TypeError):
    """A value that the JSON encoding of parameters cannot hold."""


def encode(value):
    """JSON-ready form of a parameter value; raise Unsupported otherwise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {_TUPLE: [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, torch.device):
        return {_DEVICE: str(value)}
    if type(value) is np.random.RandomState:
        name, keys, pos, has_gauss, cached = value.get_state(legacy=True)
        return {
            _RANDOM_STATE: [
                str(name),
                keys.tolist(),
                int(pos),
                int(has_gauss),
                float(cached),
            ]
        }
    raise Unsupported(type(value).__name__)


def decode(value):
    """Inverse of :func:`_encode`; raise ValueError on anything unexpected."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_TUPLE} and isinstance(value[_TUPLE], list):
            return tuple(decode(v) for v in value[_TUPLE])
        if set(value) == {_DEVICE} and isinstance(value[_DEVICE], str):
            try:
                return torch.device(value[_DEVICE])
            except (RuntimeError, TypeError) as exc:
                raise ValueError(f"invalid torch device {value[_DEVICE]!r}") from exc
        if set(value) == {_RANDOM_STATE} and isinstance(value[_RANDOM_STATE], list):
            try:
                name, keys, pos, has_gauss, cached = value[_RANDOM_STATE]
                state = np.random.RandomState()  # noqa: NPY002 (restored below)
                state.set_state(
                    (
                        str(name),
                        np.asarray(keys, dtype=np.uint32),
                        int(pos),
                        int(has_gauss),
                        float(cached),
                    )
                )
            except (TypeError, ValueError, OverflowError) as exc:
                raise ValueError("invalid RandomState state") from exc
            return state
        raise ValueError(f"unexpected JSON object with keys {sorted(value)}")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"unexpected JSON value of type {type(value).__name__}")


def encode_array_1d(values, what):
    """``{"dtype": ..., "values": [...]}`` for a small 1-D label array."""
    values = np.asarray(values)
    if values.dtype.kind not in _CLASS_DTYPE_KINDS:
        raise TypeError(
            f"{what} has dtype {values.dtype}, which the safe model format cannot "
            "store; use labels that are numbers or strings, or pickle/joblib."
        )
    try:
        items = [encode(v) for v in values.tolist()]
    except Unsupported as exc:
        raise TypeError(
            f"{what} holds a {exc} label, which the safe model format cannot "
            "store; use labels that are numbers or strings, or pickle/joblib."
        ) from None
    return {"dtype": values.dtype.str, "values": items}


def decode_array_1d(blob):
    dtype = np.dtype(blob["dtype"])
    if dtype.kind not in _CLASS_DTYPE_KINDS or dtype.names is not None:
        raise ValueError(f"unsupported label dtype {dtype}")
    values = decode(blob["values"])
    if not isinstance(values, list):
        raise ValueError("labels must be a list")
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = v
        return out
    return np.asarray(values, dtype=dtype)


def encode_records(history):
    out = []
    for record in history:
        try:
            out.append({str(k): encode(v) for k, v in record.items()})
        except Unsupported as exc:
            raise TypeError(
                f"history_ holds a value of type {exc} (epoch "
                f"{record.get('epoch')}), which the safe model format cannot "
                "store; use pickle/joblib."
            ) from None
    return out


def encode_state_values(values):
    """The estimator's exported values as JSON (labels and history encoded)."""
    values = dict(values)
    values["history_"] = encode_records(values["history_"])
    if values.get("classes_") is not None:
        values["classes_"] = encode_array_1d(values["classes_"], "classes_")
    return values


def decode_state_values(values):
    """Inverse of :func:`_encode_values`; the estimator validates the rest."""
    if not isinstance(values, dict):
        raise ValueError("fitted is not a JSON object")
    values = dict(values)
    history = values.get("history_")
    if isinstance(history, list) and all(isinstance(r, dict) for r in history):
        values["history_"] = [
            {str(k): decode(v) for k, v in r.items()} for r in history
        ]
    if values.get("classes_") is not None:
        values["classes_"] = decode_array_1d(values["classes_"])
    return values
