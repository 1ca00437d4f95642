"""Safe model files and training checkpoints for :class:`~skgan.DCGANEstimator`.

Pickle and joblib keep working for private use, but unpickling a file can run
arbitrary code, so they are no format for sharing models. :func:`save_model`
writes a file that :func:`load_model` reads without unpickling any code:

* the file is a ZIP archive, written atomically (a crash never leaves a
  half-written file under the target name), with two members:

  - ``skgan.json``: the format name and version, the skgan and torch
    versions, the estimator class, its parameters (``get_params()``) and its
    fitted state other than tensors (``history_``, ``image_layout_``,
    ``classes_``, ...), all as JSON, readable with any text tool;
  - ``tensors.pt``: the state dicts of the networks (generator,
    discriminator, and the generator's moving average if any) and of the two
    Adam optimizers, and the private random state that continues training,
    written by :func:`torch.save` and read with
    ``torch.load(weights_only=True)``, which accepts tensors and plain
    containers only;

* the SHA-256 of ``tensors.pt`` is recorded in ``skgan.json`` and checked on
  loading (on top of the ZIP CRC-32 of every member);
* a file that is not an skgan model file, or is truncated or corrupt, raises
  ``ValueError`` naming the file and what is wrong; a file written by a newer
  skgan (a higher format version) asks for an upgrade.

Parameters that are code or other objects JSON cannot hold (``callbacks``, a
callable or transformer ``feature_extractor``) are not saved: the file holds
their default value instead, and a :class:`PersistenceWarning` names them when
saving and when loading, so that they can be set again with ``set_params``.
A ``RandomState`` instance given as ``random_state`` is saved with its exact
state, tuples stay tuples, and a ``torch.device`` stays a ``torch.device``.

:class:`Checkpoint` is a callback for the estimator's ``callbacks`` parameter
that saves such a file every ``every`` epochs, so that an interrupted run can
be resumed exactly::

    gan = DCGANEstimator(epochs=50, random_state=0,
                         callbacks=[Checkpoint("ckpt", every=5)])
    gan.fit(X)                      # ... interrupted after epoch 23
    gan = load_model(latest_checkpoint("ckpt"))      # epoch 20
    gan.set_params(warm_start=True, epochs=30,
                   callbacks=[Checkpoint("ckpt", every=5)]).fit(X)

On the CPU the resumed run is bit-identical to an uninterrupted one with the
same ``random_state``.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import numbers
import os
import re
import secrets
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from ._device import cpu_fallback, resolve_device
from ._validation import ImageLayout

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Checkpoint",
    "PersistenceWarning",
    "latest_checkpoint",
    "load_model",
    "save_model",
]

#: Value of the ``format`` field of ``skgan.json``.
FORMAT_NAME = "skgan-model"
#: Version of the file format written by :func:`save_model`; files with a
#: higher version are refused by :func:`load_model`.
FORMAT_VERSION = 1

_HEADER = "skgan.json"
_TENSORS = "tensors.pt"
_MAX_HEADER_BYTES = 64 * 2**20
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: equal models give equal files

# Tensors every fitted model has; DCGANEstimator._torch_state_dict() may add more
# (the EMA generator), which DCGANEstimator._load_torch_state() reads back.
_REQUIRED_TENSORS = (
    "generator_",
    "discriminator_",
    "_generator_optimizer",
    "_discriminator_optimizer",
)
_RNG = "_rng_state"
# Fitted attributes with their own entries in skgan.json; other attributes that
# are plain JSON values (counters, None) go to its "attributes" entry.
_FITTED = (
    _RNG,
    "device_",
    "n_features_in_",
    "feature_names_in_",
    "image_layout_",
    "image_shape_",
    "history_",
    "classes_",
    "class_prior_",
)
_ATTRIBUTE_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")
_CLASS_DTYPE_KINDS = "biufUO"

_TUPLE = "__tuple__"
_DEVICE = "__torch_device__"
_RANDOM_STATE = "__numpy_random_state__"

_CHECKPOINT_NAME = re.compile(r"^checkpoint_(\d+)\.skgan$")


class PersistenceWarning(UserWarning):
    """Part of an estimator could not be written to a safe model file.

    Issued by :func:`save_model` (and again by :func:`load_model`) for
    parameters that are code or objects JSON cannot hold, such as callbacks or a
    callable ``feature_extractor``: the file holds their default value instead.
    Set them again after loading with ``set_params``.
    """


class _Unsupported(TypeError):
    """A value that the JSON encoding of parameters cannot hold."""


# --------------------------------------------------------------------- JSON


def _encode(value):
    """JSON-ready form of a parameter value; raise _Unsupported otherwise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
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
    raise _Unsupported(type(value).__name__)


def _decode(value):
    """Inverse of :func:`_encode`; raise ValueError on anything unexpected."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_TUPLE} and isinstance(value[_TUPLE], list):
            return tuple(_decode(v) for v in value[_TUPLE])
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


def _default_params(cls):
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _only_checkpoints(callbacks):
    return all(isinstance(c, Checkpoint) for c in callbacks or ())


def _encode_params(estimator):
    """Return ``(params, replaced)``: JSON-ready parameters, names not saved."""
    defaults = _default_params(type(estimator))
    params, replaced = {}, []
    for name, value in estimator.get_params(deep=False).items():
        if name == "callbacks" and value:
            # Callbacks are code: never saved. Checkpoints are re-created by
            # whoever resumes training, so they are dropped without a warning.
            params[name] = _encode(defaults.get(name))
            if not _only_checkpoints(value):
                replaced.append(name)
            continue
        if (
            isinstance(value, np.ndarray)
            and value.ndim <= 1
            and value.dtype.kind in "biuf"
        ):
            value = value.tolist()  # e.g. image_shape=np.array([28, 28])
        try:
            params[name] = _encode(value)
        except _Unsupported:
            params[name] = _encode(defaults.get(name))
            replaced.append(name)
    return params, replaced


def _encode_array_1d(values, what):
    """``{"dtype": ..., "values": [...]}`` for a small 1-D label array."""
    values = np.asarray(values)
    if values.dtype.kind not in _CLASS_DTYPE_KINDS:
        raise TypeError(
            f"{what} has dtype {values.dtype}, which the safe model format cannot "
            "store; use labels that are numbers or strings, or pickle/joblib."
        )
    try:
        items = [_encode(v) for v in values.tolist()]
    except _Unsupported as exc:
        raise TypeError(
            f"{what} holds a {exc} label, which the safe model format cannot "
            "store; use labels that are numbers or strings, or pickle/joblib."
        ) from None
    return {"dtype": values.dtype.str, "values": items}


def _decode_array_1d(blob):
    dtype = np.dtype(blob["dtype"])
    if dtype.kind not in _CLASS_DTYPE_KINDS or dtype.names is not None:
        raise ValueError(f"unsupported label dtype {dtype}")
    values = _decode(blob["values"])
    if not isinstance(values, list):
        raise ValueError("labels must be a list")
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = v
        return out
    return np.asarray(values, dtype=dtype)


def _encode_history(history):
    out = []
    for record in history:
        try:
            out.append({str(k): _encode(v) for k, v in record.items()})
        except _Unsupported as exc:
            raise TypeError(
                f"history_ holds a value of type {exc} (epoch "
                f"{record.get('epoch')}), which the safe model format cannot "
                "store; use pickle/joblib."
            ) from None
    return out


def _encode_fitted(est):
    layout = est.image_layout_
    fitted = {
        "device_": str(est.device_),
        "n_features_in_": int(est.n_features_in_),
        "feature_names_in_": (
            [str(n) for n in est.feature_names_in_]
            if hasattr(est, "feature_names_in_")
            else None
        ),
        "image_layout_": {
            "sample_shape": [int(s) for s in layout.sample_shape],
            "image_shape": [int(s) for s in layout.image_shape],
            "dtype": np.dtype(layout.dtype).str,
            "data_min": float(layout.data_min),
            "data_max": float(layout.data_max),
        },
        "image_shape_": [int(s) for s in est.image_shape_],
        "history_": _encode_history(est.history_),
        "classes_": None,
        "class_prior_": None,
    }
    if hasattr(est, "classes_"):
        fitted["classes_"] = _encode_array_1d(est.classes_, "classes_")
    if hasattr(est, "class_prior_"):
        fitted["class_prior_"] = [float(p) for p in est.class_prior_]
    return fitted


# --------------------------------------------------------------------- paths


def _as_path(path, name="path"):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or os.PathLike, got {type(path).__name__}."
        )
    return Path(os.fspath(path)).expanduser()


def _write_atomically(path, members):
    """Write a ZIP of ``members`` ({name: (bytes, compress)}) to ``path`` atomically."""
    if path.is_dir():
        raise IsADirectoryError(f"Cannot save the model to {path}: it is a folder.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save the model to {path}: the folder {path.parent} does not "
            "exist. Create it first."
        )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:
            with zipfile.ZipFile(f, "w") as zf:
                for name, (data, compress) in members.items():
                    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                    info.compress_type = (
                        zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
                    )
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------- save/load


def save_model(estimator, path):
    """Save a :class:`~skgan.DCGANEstimator`, fitted or not, to a safe file.

    The file holds the parameters and fitted state as JSON and the weights,
    optimizer states and private random state as tensors (see
    :mod:`skgan.persistence`); :func:`load_model` reads it back without
    unpickling any code. The file is written to a temporary name beside
    ``path`` and renamed once complete, so ``path`` is never left half-written.

    Parameters
    ----------
    estimator : DCGANEstimator
        The model to save.
    path : str or os.PathLike
        Destination file, replaced if it exists; its folder must exist. The
        extension ``.skgan`` is customary.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``estimator`` is not a DCGANEstimator, or ``path`` not a path.
    FileNotFoundError
        If the folder of ``path`` does not exist.

    Warns
    -----
    PersistenceWarning
        For parameters that cannot be stored safely (callbacks other than
        :class:`Checkpoint`, a callable or transformer ``feature_extractor``):
        the file holds their default value. Also for unexpected attributes
        that the format does not know, which are not saved.

    See Also
    --------
    load_model : Read the file back.
    Checkpoint : Save a file every few epochs during training.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan import DCGANEstimator
    >>> from skgan.persistence import load_model, save_model
    >>> X = load_digits().data[:100]
    >>> gan = DCGANEstimator(epochs=1, device="cpu", random_state=0).fit(X)
    >>> path = save_model(gan, "digits.skgan")  # doctest: +SKIP
    >>> load_model(path).sample(2, random_state=0).shape  # doctest: +SKIP
    (2, 64)
    """
    from . import __version__
    from .gan import DCGANEstimator

    if not isinstance(estimator, DCGANEstimator):
        raise TypeError(
            "save_model saves a DCGANEstimator, got "
            f"{type(estimator).__name__}. Use pickle or joblib for other objects."
        )
    path = _as_path(path)
    params, replaced = _encode_params(estimator)
    fitted = hasattr(estimator, "generator_")
    torch_names = set(estimator._torch_state_names()) if fitted else set()
    attributes, unsaved = {}, []
    for name, value in vars(estimator).items():
        if name in params or name in torch_names or name in _FITTED:
            continue
        try:
            attributes[name] = _encode(value)
        except _Unsupported:
            unsaved.append(name)
    fitted_state = _encode_fitted(estimator) if fitted else None
    if replaced:
        warnings.warn(
            f"Not saved: {', '.join(replaced)} (code or objects that a safe file "
            "cannot hold); the file holds their default value. Set them again "
            "with set_params after load_model.",
            PersistenceWarning,
            stacklevel=2,
        )
    if unsaved:
        warnings.warn(
            f"Not saved: the attributes {', '.join(sorted(unsaved))}, which are "
            "neither plain values nor torch state.",
            PersistenceWarning,
            stacklevel=2,
        )
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "skgan_version": __version__,
        "torch_version": torch.__version__,
        "estimator": type(estimator).__name__,
        "params": params,
        "replaced_params": replaced,
        "attributes": attributes,
        "fitted": fitted_state,
    }
    members = {}
    if fitted:
        tensors = estimator._torch_state_dict()
        tensors[_RNG] = estimator._rng_state.detach().cpu()
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        blob = buffer.getvalue()
        header["tensors_sha256"] = hashlib.sha256(blob).hexdigest()
        members[_TENSORS] = (blob, False)
    text = json.dumps(header, indent=1, sort_keys=True) + "\n"
    members = {_HEADER: (text.encode("utf-8"), True), **members}
    _write_atomically(path, members)
    return path


def _invalid(path, what):
    return ValueError(f"{path} is not a valid skgan model file: {what}")


def _starts_like_a_model_file(path):
    """Whether ``path`` begins with the ZIP entry ``skgan.json``, as saved files do.

    Tells a damaged model file from a foreign one: a truncated model file can
    look like the torch archive stored inside it.
    """
    name = _HEADER.encode()
    with open(path, "rb") as f:
        head = f.read(30 + len(name))
    return (
        head[:4] == b"PK\x03\x04"
        and int.from_bytes(head[26:28], "little") == len(name)
        and head[30:] == name
    )


def _read_members(path):
    """Return ``(header dict, tensor bytes or None)`` of a model file."""
    ours = _starts_like_a_model_file(path)
    damaged = (
        f"{path} is a truncated or corrupt skgan model file ({{}}). Save the "
        "model again, or copy the file again if it was transferred."
    )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _HEADER not in names:
                if ours:
                    raise ValueError(damaged.format(f"it lists no {_HEADER}"))
                hint = ""
                if any(n.endswith("data.pkl") for n in names):
                    hint = " It looks like a torch.save file."
                elif any(n.endswith(".npy") for n in names):
                    hint = " It looks like a NumPy .npz file."
                raise ValueError(
                    f"{path} is not an skgan model file: the archive has no "
                    f"{_HEADER}.{hint} Model files are written by "
                    "skgan.persistence.save_model."
                )
            if zf.getinfo(_HEADER).file_size > _MAX_HEADER_BYTES:
                raise _invalid(path, f"{_HEADER} is implausibly large.")
            raw = zf.read(_HEADER)
            blob = zf.read(_TENSORS) if _TENSORS in names else None
    except (PermissionError, FileNotFoundError):
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        zlib.error,
        OSError,
    ) as exc:
        # OSError: damaged offsets make zipfile seek before the file start.
        if ours:
            raise ValueError(damaged.format(exc)) from None
        raise ValueError(
            f"{path} is not an skgan model file ({exc}). Model files are "
            "written by skgan.persistence.save_model."
        ) from None
    except NotImplementedError as exc:  # e.g. an unsupported compression method
        raise _invalid(path, str(exc)) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(path, f"{_HEADER} is not valid JSON ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{path} is not an skgan model file: {_HEADER} does not declare "
            f"format {FORMAT_NAME!r}."
        )
    return header, blob


def _check_version(header, path):
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _invalid(path, f"format_version {version!r} is not a positive integer.")
    if version > FORMAT_VERSION:
        from . import __version__

        raise ValueError(
            f"{path} was written by a newer skgan "
            f"({header.get('skgan_version', 'unknown version')}) in model format "
            f"version {version}; this skgan ({__version__}) reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade skgan to load it."
        )


def _resolve_class(header, path, estimator_class):
    from .gan import DCGANEstimator

    name = header.get("estimator")
    if estimator_class is not None:
        if not (
            isinstance(estimator_class, type)
            and issubclass(estimator_class, DCGANEstimator)
        ):
            raise TypeError(
                "estimator_class must be DCGANEstimator or a subclass of it, got "
                f"{estimator_class!r}."
            )
        return estimator_class
    if name != DCGANEstimator.__name__:
        raise ValueError(
            f"{path} holds a {name!r} estimator; load_model builds DCGANEstimator "
            "models. For a subclass, pass estimator_class=YourClass."
        )
    return DCGANEstimator


def _decode_params(header, path, cls):
    blob = header.get("params")
    if not isinstance(blob, dict):
        raise _invalid(path, "params is not a JSON object.")
    try:
        params = {str(k): _decode(v) for k, v in blob.items()}
    except ValueError as exc:
        raise _invalid(path, f"bad parameter value ({exc}).") from None
    known = set(_default_params(cls))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"{path} has parameters {unknown} that {cls.__name__} of this skgan "
            "does not know: it was probably written by a newer skgan. Upgrade "
            "skgan to load it."
        )
    return params


def _tuple_of_ints(value, length=None):
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
    ):
        raise ValueError(f"expected a list of positive integers, got {value!r}")
    if length is not None and len(value) != length:
        raise ValueError(f"expected {length} integers, got {value!r}")
    return tuple(value)


def _finite_float(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _decode_fitted(fitted, conditional):
    """Python values of the non-tensor fitted state; raise on anything odd."""
    if not isinstance(fitted, dict):
        raise ValueError("fitted is not a JSON object")
    layout = fitted["image_layout_"]
    dtype = np.dtype(layout["dtype"])
    if dtype.kind not in "biuf" or dtype.names is not None:
        raise ValueError(f"unsupported image dtype {dtype}")
    sample_shape = _tuple_of_ints(layout["sample_shape"])
    image_shape = _tuple_of_ints(layout["image_shape"], 3)
    if not 1 <= len(sample_shape) <= 3 or math.prod(sample_shape) != math.prod(
        image_shape
    ):
        raise ValueError(
            f"sample_shape {sample_shape} does not match image_shape {image_shape}"
        )
    data_min, data_max = (
        _finite_float(layout["data_min"]),
        _finite_float(layout["data_max"]),
    )
    if data_min > data_max:
        raise ValueError("data_min > data_max")
    n_features = fitted["n_features_in_"]
    if n_features != sample_shape[0] or isinstance(n_features, bool):
        raise ValueError(f"n_features_in_ {n_features!r} does not match sample_shape")
    names = fitted.get("feature_names_in_")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
    ):
        raise ValueError("feature_names_in_ is not a list of n_features_in_ strings")
    history = fitted["history_"]
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise ValueError("history_ is not a list of JSON objects")
    history = [{str(k): _decode(v) for k, v in r.items()} for r in history]
    state = {
        "device_": torch.device(fitted["device_"]),
        "n_features_in_": n_features,
        "image_layout_": ImageLayout(
            sample_shape=sample_shape,
            image_shape=image_shape,
            dtype=dtype,
            data_min=data_min,
            data_max=data_max,
        ),
        "image_shape_": _tuple_of_ints(fitted["image_shape_"], 3),
        "history_": history,
    }
    if names is not None:
        state["feature_names_in_"] = np.asarray(names, dtype=object)
    if conditional or fitted.get("classes_") is not None:
        classes = _decode_array_1d(fitted["classes_"])
        prior = np.asarray(
            [_finite_float(p) for p in fitted["class_prior_"]], dtype=np.float64
        )
        if classes.ndim != 1 or not len(classes) or prior.shape != classes.shape:
            raise ValueError("classes_ and class_prior_ do not match")
        state["classes_"], state["class_prior_"] = classes, prior
    return state


def _read_tensors(blob, header, path):
    if blob is None:
        raise _invalid(path, f"the fitted model has no {_TENSORS}.")
    expected = header.get("tensors_sha256")
    if not isinstance(expected, str) or hashlib.sha256(blob).hexdigest() != expected:
        raise _invalid(path, f"{_TENSORS} does not match its recorded SHA-256.")
    try:
        tensors = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # the weights-only unpickler raises many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _invalid(
            path,
            f"{_TENSORS} cannot be read as plain tensors "
            f"({type(exc).__name__}: {first[:300]}).",
        ) from None
    required = (*_REQUIRED_TENSORS, _RNG)
    if not isinstance(tensors, dict) or not all(k in tensors for k in required):
        raise _invalid(path, f"{_TENSORS} lacks some of {list(required)}.")
    rng = tensors[_RNG]
    try:
        if not isinstance(rng, torch.Tensor):
            raise TypeError("not a tensor")
        torch.Generator().set_state(rng)  # validates a CPU generator state
    except (RuntimeError, TypeError) as exc:
        raise _invalid(path, f"invalid random state ({exc}).") from None
    return tensors


def _decode_attributes(header, cls, params):
    """Plain-valued private attributes (``{name: value}``) to set on the model."""
    blob = header.get("attributes", {})
    if not isinstance(blob, dict):
        raise ValueError("attributes is not a JSON object")
    out = {}
    for name, value in blob.items():
        if (
            not _ATTRIBUTE_NAME.match(name)
            or name in params
            or name in _FITTED
            or hasattr(cls, name)  # never shadow a method or property
        ):
            raise ValueError(f"attribute name {name!r} is not allowed")
        out[name] = _decode(value)
    return out


def _restore_torch_state(est, tensors, path):
    """Rebuild networks and optimizers through ``_load_torch_state``."""
    try:
        est._load_torch_state(tensors)
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _invalid(
            path,
            "its tensors do not fit the networks and optimizers that its "
            f"parameters describe ({type(exc).__name__}: {first[:300]}).",
        ) from None
    est._rng_state = tensors[_RNG].clone()


def load_model(path, *, device=None, estimator_class=None):
    """Load a model written by :func:`save_model`, without unpickling any code.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    device : str or torch.device, default=None
        Device to put the networks on. None uses the device the model was
        trained on if it exists here, else the CPU (with a ``RuntimeWarning``),
        so a model trained on a GPU loads on a laptop. ``"auto"`` picks CUDA,
        then MPS, then the CPU. The estimator's ``device`` parameter is left as
        saved; it only matters when ``fit`` starts afresh.
    estimator_class : type, default=None
        Class to build, for files saved from a subclass of DCGANEstimator;
        None builds a DCGANEstimator.

    Returns
    -------
    estimator : DCGANEstimator
        Fitted if the saved model was: it samples exactly as the saved model
        did, and with ``warm_start=True`` its ``fit`` continues training as the
        saved model would have (bit-identical on the CPU).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an skgan model file, is truncated or corrupt, holds
        invalid parameters or tensors that do not fit them, or was written by
        a newer skgan (format version above :data:`FORMAT_VERSION`); or if
        ``device`` is not available.

    Warns
    -----
    PersistenceWarning
        When the file names parameters that were not saved (they hold their
        default value; set them with ``set_params``).
    RuntimeWarning
        When the model's training device is not available and the CPU is used.

    See Also
    --------
    save_model : Write a model file.
    latest_checkpoint : The newest file written by a :class:`Checkpoint`.
    """
    path = _as_path(path)
    target = None if device is None else resolve_device(device)
    if not path.exists():
        raise FileNotFoundError(f"No skgan model file at {path}.")
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder, not a model file. For checkpoints, use "
            "latest_checkpoint(folder)."
        )
    header, blob = _read_members(path)
    _check_version(header, path)
    cls = _resolve_class(header, path, estimator_class)
    params = _decode_params(header, path, cls)
    estimator = cls(**params)
    if header.get("fitted") is not None:
        # An unfitted model is validated by fit, as usual; a fitted one is
        # validated now, before its networks are built from the parameters.
        try:
            estimator._validate_params()
            estimator._check_compound_parameters()
        except (ValueError, TypeError) as exc:
            raise _invalid(path, f"invalid parameters: {exc}") from None
    try:
        attributes = _decode_attributes(header, cls, params)
    except ValueError as exc:
        raise _invalid(path, f"bad attributes ({exc}).") from None
    for name, value in attributes.items():
        setattr(estimator, name, value)
    if header.get("fitted") is not None:
        try:
            state = _decode_fitted(header["fitted"], bool(estimator.conditional))
        except (
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            OverflowError,
            RuntimeError,
        ) as exc:
            raise _invalid(
                path, f"bad fitted state ({type(exc).__name__}: {exc})."
            ) from None
        tensors = _read_tensors(blob, header, path)
        saved_device = state.pop("device_")
        for name, value in state.items():
            setattr(estimator, name, value)
        estimator.device_ = cpu_fallback(saved_device) if target is None else target
        _restore_torch_state(estimator, tensors, path)
    replaced = header.get("replaced_params")
    if replaced and isinstance(replaced, list):
        warnings.warn(
            f"{path}: {', '.join(map(str, replaced))} were not saved and hold "
            "their default value; set them again with set_params.",
            PersistenceWarning,
            stacklevel=2,
        )
    return estimator


# --------------------------------------------------------------- checkpoints


def _checkpoints(directory):
    """``[(epoch, path)]`` of the checkpoint files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _CHECKPOINT_NAME.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(directory):
    """Path of the newest checkpoint written by :class:`Checkpoint` in ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        The folder given to :class:`Checkpoint`.

    Returns
    -------
    path : pathlib.Path or None
        The ``checkpoint_NNNN.skgan`` file with the highest epoch, or None if
        there is none (or the folder does not exist yet), so that a script can
        resume when it can and start afresh otherwise.

    Examples
    --------
    >>> from skgan.persistence import latest_checkpoint, load_model
    >>> path = latest_checkpoint("checkpoints")  # doctest: +SKIP
    >>> gan = load_model(path) if path else DCGANEstimator()  # doctest: +SKIP
    """
    found = _checkpoints(_as_path(directory, "directory"))
    return found[-1][1] if found else None


def _positive_int(value, name, *, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer{' or None' if allow_none else ''}, "
            f"got {value!r}."
        )
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


class Checkpoint:
    """Callback that saves the estimator every ``every`` epochs, to resume from.

    Pass it in the estimator's ``callbacks``. After each epoch whose number is
    a multiple of ``every`` it writes ``checkpoint_{epoch:04d}.skgan`` into
    ``directory`` with :func:`save_model` (atomically: a crash while saving
    never leaves a truncated checkpoint). Epochs are numbered as in
    ``history_``, counting on across warm starts, so resumed runs continue the
    numbering. Use one folder per training run.

    To resume, load the newest file and continue with ``warm_start=True``; on
    the CPU the result is bit-identical to a run that was never interrupted
    (same ``random_state``). Checkpoint callbacks are not saved in the files:
    pass a new one when resuming.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder for the checkpoint files, created on the first save.
    every : int, default=1
        Save after every ``every``-th epoch.
    keep_last : int, default=None
        Keep only this many newest checkpoint files in ``directory`` (older
        ones are deleted after each save); None keeps them all.

    See Also
    --------
    latest_checkpoint : The newest checkpoint file of a folder.
    load_model : Load a checkpoint.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgan import DCGANEstimator
    >>> from skgan.persistence import Checkpoint, latest_checkpoint, load_model
    >>> X = load_digits().data
    >>> gan = DCGANEstimator(epochs=4, random_state=0, callbacks=[
    ...     Checkpoint("ckpt", every=2, keep_last=1)]).fit(X)  # doctest: +SKIP
    >>> latest_checkpoint("ckpt").name  # doctest: +SKIP
    'checkpoint_0004.skgan'
    >>> resumed = load_model(latest_checkpoint("ckpt")).set_params(
    ...     warm_start=True, epochs=6).fit(X)  # doctest: +SKIP
    """

    def __init__(self, directory, *, every=1, keep_last=None):
        self.directory = _as_path(directory, "directory")
        self.every = _positive_int(every, "every")
        self.keep_last = _positive_int(keep_last, "keep_last", allow_none=True)
        self._warned = False

    def __repr__(self):
        return (
            f"Checkpoint({str(self.directory)!r}, every={self.every}, "
            f"keep_last={self.keep_last})"
        )

    def path_for(self, epoch):
        """Path of the checkpoint file for ``epoch``.

        Parameters
        ----------
        epoch : int
            1-based epoch number, as in ``history_``.

        Returns
        -------
        path : pathlib.Path
            ``directory / "checkpoint_{epoch:04d}.skgan"``.
        """
        return self.directory / f"checkpoint_{int(epoch):04d}.skgan"

    def __call__(self, estimator, record):
        """Save ``estimator`` if ``record["epoch"]`` is a multiple of ``every``.

        Parameters
        ----------
        estimator : DCGANEstimator
            The estimator being trained.
        record : dict
            The epoch's entry of ``history_``.
        """
        epoch = int(record["epoch"])
        if epoch % self.every:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            if self._warned:  # say once per run what is not saved, not per epoch
                warnings.simplefilter("ignore", PersistenceWarning)
            save_model(estimator, self.path_for(epoch))
        self._warned = True
        if self.keep_last is not None:
            for _, old in _checkpoints(self.directory)[: -self.keep_last]:
                old.unlink(missing_ok=True)

    def checkpoints(self):
        """All checkpoint files in ``directory``, oldest first.

        Returns
        -------
        paths : list of pathlib.Path
            The ``checkpoint_NNNN.skgan`` files, by increasing epoch.
        """
        return [path for _, path in _checkpoints(self.directory)]

    def latest(self):
        """The newest checkpoint file in ``directory``, or None.

        Returns
        -------
        path : pathlib.Path or None
            The file with the highest epoch; None if there is none yet.
        """
        return latest_checkpoint(self.directory)
