"""The tensor member of skgan model files: safetensors, and the torch blob of format 1.

A fitted model's tensors (see :mod:`skgan.gan._estimator_state`) are a mapping of

* module state dicts (``{"generator_": {"project.0.weight": tensor, ...}}``),
* optimizer state dicts (``{"state": {0: {"exp_avg": tensor, ...}},
  "param_groups": [...]}``),
* bare tensors (the private random state).

:func:`pack_tensors` writes them as one flat safetensors file, whose tensor
names anyone can read with the ``safetensors`` package alone:

* ``generator.<key>``, ``discriminator.<key>``, ``generator_ema.<key>``: the
  networks' state dict entries;
* ``generator_optimizer.state.<i>.<name>`` (and the discriminator's): the
  Adam moments and step counts of parameter ``i``;
* ``rng_state``: the private CPU random state (uint8).

What is not a tensor (the optimizers' hyperparameters, the order of the keys,
the weights' memory order, the state dicts' version metadata) goes into the
JSON *layout* kept in ``skgan.json``: ``{"groups": {top-level name: {"kind",
"prefix", ...}}, "channels_last": [tensor names]}``.
:func:`unpack_tensors` validates the safetensors header itself, then the
tensor names against the layout, and rebuilds the mapping, with tensors
recorded as channels-last back in that memory order. Files of format 1 hold
a ``torch.save`` blob instead, read by :func:`read_torch_blob` with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
from collections import OrderedDict

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from ._json_values import decode, encode
from ._model_archive import WEIGHTS, invalid

__all__ = [
    "WEIGHTS",
    "pack_tensors",
    "read_torch_blob",
    "unpack_tensors",
]

# A model's header lists a few hundred tensors (~100 bytes each); anything
# near this is hostile, and is refused before JSON parsing.
_MAX_HEADER_BYTES = 16 * 2**20
_KINDS = ("module", "optimizer", "tensor")
_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def _nhwc_strides(shape):
    _, c, h, w = shape
    return (h * w * c, 1, w * c, c)


def _is_channels_last(tensor):
    """Whether ``tensor`` has exactly the strides of NHWC order (and not NCHW).

    Compared stride by stride, since ``is_contiguous`` ignores the strides of
    dimensions of size 1 (a weight with one input channel).
    """
    if tensor.dim() != 4:
        return False
    _, c, h, w = tensor.shape
    nhwc = _nhwc_strides(tensor.shape)
    return tensor.stride() == nhwc and nhwc != (c * h * w, h * w, w, 1)


def _prefix(name):
    """Tensor-name prefix of a top-level entry: ``"_generator_optimizer"`` ->
    ``"generator_optimizer"``, ``"generator_"`` -> ``"generator"``."""
    return name.strip("_")


def pack_tensors(tensors, *, metadata=None):
    """Return ``(safetensors bytes, JSON layout)`` of a fitted model's tensors.

    Parameters
    ----------
    tensors : dict
        ``{name: module state dict | optimizer state dict | tensor}``.
    metadata : dict of str to str, default=None
        Stored in the safetensors header's ``__metadata__``.
    """
    flat, groups, channels_last = {}, {}, []

    def put(name, tensor):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} is a {type(tensor).__name__}, not a tensor")
        tensor = tensor.detach().cpu()
        if _is_channels_last(tensor):
            channels_last.append(name)
        flat[name] = tensor.contiguous()

    for top, value in tensors.items():
        prefix = _prefix(top)
        if isinstance(value, torch.Tensor):
            groups[top] = {"kind": "tensor", "prefix": prefix}
            put(prefix, value)
        elif set(value) == {"state", "param_groups"}:
            state = []
            for index, entries in value["state"].items():
                state.append([int(index), list(entries)])
                for key, tensor in entries.items():
                    put(f"{prefix}.state.{int(index)}.{key}", tensor)
            groups[top] = {
                "kind": "optimizer",
                "prefix": prefix,
                "state": state,
                # [key, value] pairs: skgan.json sorts object keys, and the
                # optimizer's settings keep their order through a round trip.
                "param_groups": [
                    [[str(k), encode(v)] for k, v in group.items()]
                    for group in value["param_groups"]
                ],
            }
        else:
            version_info = getattr(value, "_metadata", None) or {}
            groups[top] = {
                "kind": "module",
                "prefix": prefix,
                "keys": list(value),
                "metadata": {
                    str(module): {str(k): encode(v) for k, v in info.items()}
                    for module, info in version_info.items()
                },
            }
            for key, tensor in value.items():
                put(f"{prefix}.{key}", tensor)
    if len({entry["prefix"] for entry in groups.values()}) != len(groups):
        raise ValueError(f"tensor groups {sorted(groups)} share a name prefix")
    layout = {"groups": groups, "channels_last": channels_last}
    return save(flat, metadata=metadata), layout


def _check_header(blob, path):
    """Refuse a safetensors blob whose header is implausible, before parsing it."""
    if len(blob) < 8:
        raise invalid(path, f"{WEIGHTS} is truncated (no safetensors header).")
    size = int.from_bytes(blob[:8], "little")
    if size > _MAX_HEADER_BYTES:
        raise invalid(
            path, f"{WEIGHTS} declares an implausibly large header ({size} bytes)."
        )
    if size > len(blob) - 8:
        raise invalid(path, f"{WEIGHTS} is truncated (its header is cut off).")
    try:
        header = json.loads(blob[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise invalid(path, f"{WEIGHTS} has a corrupt header ({exc}).") from None
    if not isinstance(header, dict):
        raise invalid(path, f"{WEIGHTS} has a corrupt header (not a JSON object).")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info.get("dtype") if isinstance(info, dict) else None
        if dtype not in _DTYPES:
            raise invalid(
                path, f"{WEIGHTS} stores {name!r} with unsupported dtype {dtype!r}."
            )


def _load(blob, path):
    _check_header(blob, path)
    try:
        return load(bytes(blob))
    except (SafetensorError, ValueError, TypeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise invalid(
            path, f"{WEIGHTS} is not a valid safetensors file ({first[:300]})."
        ) from None


def _name_list(names, limit=5):
    names = sorted(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _expected_names(groups):
    """``{flat tensor name: (top-level name, path inside it)}`` of the groups."""
    names = {}
    for top, entry in groups.items():
        if not isinstance(entry, dict) or entry.get("kind") not in _KINDS:
            raise ValueError(f"entry {top!r} is not a tensor group")
        prefix = entry.get("prefix")
        if not isinstance(prefix, str) or prefix != _prefix(top):
            raise ValueError(f"entry {top!r} has prefix {prefix!r}")
        kind = entry["kind"]
        if kind == "tensor":
            paths = [()]
        elif kind == "module":
            keys = entry.get("keys")
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ValueError(f"the keys of {top!r} are not a list of strings")
            paths = [(key,) for key in keys]
        else:
            paths = []
            for item in entry.get("state"):
                index, keys = item
                if isinstance(index, bool) or not isinstance(index, int):
                    raise ValueError(f"optimizer state index {index!r}")
                if not all(isinstance(k, str) for k in keys):
                    raise ValueError(f"optimizer state keys {keys!r}")
                paths += [(index, key) for key in keys]
        for inner in paths:
            name = ".".join([prefix, *(["state"] if kind == "optimizer" else [])])
            name = ".".join([name, *map(str, inner)]) if inner else name
            if name in names:
                raise ValueError(f"tensor {name!r} is listed twice")
            names[name] = (top, inner)
    return names


def _module_metadata(entry):
    metadata = entry.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("module metadata is not a JSON object")
    out = {}
    for module, info in metadata.items():
        if not isinstance(info, dict) or not all(
            isinstance(v, (int, str, bool)) or v is None for v in info.values()
        ):
            raise ValueError(f"module metadata of {module!r} is not plain values")
        out[module] = dict(info)
    return out


def unpack_tensors(blob, layout, path):
    """The mapping that :func:`pack_tensors` was given, from its two outputs.

    Raises
    ------
    ValueError
        Naming ``path`` and what is wrong: a truncated or corrupt safetensors
        member, an oversize header, an unsupported dtype, a malformed layout,
        or tensors missing from or not listed in the layout.
    """
    flat = _load(blob, path)
    if not isinstance(layout, dict):
        raise invalid(path, "tensors_layout is not a JSON object.")
    try:
        groups = layout["groups"]
        expected = _expected_names(groups)
        channels_last = layout["channels_last"]
        if not isinstance(channels_last, list) or not set(channels_last) <= set(
            expected
        ):
            raise ValueError("channels_last names tensors that are not listed")
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise invalid(
            path, f"bad tensors_layout ({type(exc).__name__}: {exc})."
        ) from None
    missing, extra = set(expected) - set(flat), set(flat) - set(expected)
    if missing:
        raise invalid(path, f"{WEIGHTS} lacks the tensors {_name_list(missing)}.")
    if extra:
        raise invalid(
            path,
            f"{WEIGHTS} holds tensors that its layout does not list: "
            f"{_name_list(extra)}.",
        )
    for name in channels_last:
        if flat[name].dim() != 4:
            raise invalid(path, f"{name} is recorded as channels-last but not 4-d.")
        # Not .contiguous(memory_format=...): it keeps the NCHW strides of a
        # tensor with one channel, which are NHWC-contiguous too.
        nhwc = torch.empty_strided(
            flat[name].shape, _nhwc_strides(flat[name].shape), dtype=flat[name].dtype
        )
        flat[name] = nhwc.copy_(flat[name])
    tensors = {}
    try:
        for top, entry in groups.items():
            prefix = entry["prefix"]
            if entry["kind"] == "tensor":
                tensors[top] = flat[prefix]
            elif entry["kind"] == "module":
                state = OrderedDict(
                    (key, flat[f"{prefix}.{key}"]) for key in entry["keys"]
                )
                state._metadata = _module_metadata(entry)
                tensors[top] = state
            else:
                groups = [
                    {str(key): decode(value) for key, value in group}
                    for group in entry["param_groups"]
                ]
                tensors[top] = {
                    "state": {
                        index: {k: flat[f"{prefix}.state.{index}.{k}"] for k in keys}
                        for index, keys in sorted(entry["state"])
                    },
                    "param_groups": groups,
                }
    except (ValueError, TypeError) as exc:
        raise invalid(path, f"bad tensors_layout ({exc}).") from None
    return tensors


def read_torch_blob(blob, path, what):
    """The tensors of a format-1 ``tensors.pt`` member, read with weights only."""
    try:
        tensors = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # the weights-only unpickler raises many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise invalid(
            path,
            f"{what} cannot be read as plain tensors "
            f"({type(exc).__name__}: {first[:300]}).",
        ) from None
    if not isinstance(tensors, dict):
        raise invalid(path, f"{what} does not hold a mapping of tensors.")
    return tensors
