"""Safe model files for :class:`~skgan.DCGANEstimator`.

Pickle and joblib keep working for private use, but unpickling a file can run
arbitrary code, so they are no format for sharing models. :func:`save_model`
writes a file that :func:`load_model` reads without unpickling any code:

* the file is a ZIP archive, written atomically (a crash never leaves a
  half-written file under the target name), with two members:

  - ``skgan.json``: the format name and version, the skgan and torch
    versions, the estimator class, its parameters (``get_params()``) and its
    fitted state other than tensors (``history_``, ``image_layout_``,
    ``classes_``, ...), the optimizers' settings and the layout of the
    tensors, all as JSON, readable with any text tool;
  - ``weights.safetensors``: the state dicts of the networks (generator,
    discriminator, and the generator's moving average if any), the Adam
    moments of the two optimizers, and the private random state that
    continues training, in the `safetensors <https://huggingface.co/docs/
    safetensors>`_ format, which holds tensors and nothing else;

* the SHA-256 of ``weights.safetensors`` is recorded in ``skgan.json`` and
  checked on loading (on top of the ZIP CRC-32 of every member), and its
  header, tensor names, dtypes and shapes are validated before any tensor
  reaches a network;
* a file that is not an skgan model file, or is truncated or corrupt, raises
  ``ValueError`` naming the file and what is wrong; a file written by a newer
  skgan (a higher format version) asks for an upgrade. Files of format 1
  (skgan before safetensors) hold ``tensors.pt`` instead, read with
  ``torch.load(weights_only=True)``, which accepts tensors and plain
  containers only; they load and sample exactly as before.

The weights open with the ``safetensors`` package alone, without skgan or
torch. Tensor names are ``generator.<key>``, ``discriminator.<key>`` and
``generator_ema.<key>`` (the networks' state dict keys),
``generator_optimizer.state.<i>.<name>`` and
``discriminator_optimizer.state.<i>.<name>`` (Adam's ``step``, ``exp_avg``,
``exp_avg_sq`` of parameter ``i``) and ``rng_state``::

    import zipfile
    from safetensors.numpy import load

    with zipfile.ZipFile("digits.skgan") as archive:
        weights = load(archive.read("weights.safetensors"))
    weights["generator.to_image.0.bias"]  # a NumPy array

``safetensors.torch.load`` gives torch tensors instead; those of one network,
with the prefix removed, load into it with ``load_state_dict``. The file
stores every tensor in contiguous order: weights trained channels-last are
recorded as such in ``skgan.json`` and put back in that order by
:func:`load_model`.

Parameters that are code or other objects JSON cannot hold (``callbacks``, a
callable ``feature_extractor``, a user's ``generator``) are not saved: the file
holds their default value, a :class:`PersistenceWarning` names them, and
``load_model(path, params={...})`` sets them again.
A ``RandomState`` instance given as ``random_state`` is saved with its exact
state, tuples stay tuples, and a ``torch.device`` stays a ``torch.device``.

:class:`skgan.callbacks.Checkpoint` saves such a file every few epochs, so that
an interrupted run can be resumed exactly.

The estimator owns its state: this module asks it for plain values and tensors
(``_export_state``) and gives them back (``_import_state``), and never imports
the estimator's module. Estimator classes that files may name register with
:func:`register_model_class`.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import torch

from .._version import __version__
from ..utils._checks import check_path
from ..utils._device import cpu_fallback, resolve_device
from ._json_values import (
    Unsupported,
    decode_state_values,
    encode,
    encode_state_values,
)
from ._model_archive import (
    FORMAT_NAME,
    HEADER,
    TENSORS,
    WEIGHTS,
    invalid,
    read_archive,
    write_archive,
)
from ._safetensors_io import pack_tensors, read_torch_blob, unpack_tensors
from ._saved_params import (
    check_given_params,
    decode_attributes,
    decode_params,
    encode_params,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PersistenceWarning",
    "load_model",
    "register_model_class",
    "save_model",
]

#: Version of the file format written by :func:`save_model`; files with a
#: higher version are refused by :func:`load_model`. Version 2 stores the
#: tensors as safetensors; version 1 stored a ``torch.save`` blob.
FORMAT_VERSION = 2


# Estimator classes by name, as files record them (see register_model_class).
_MODEL_CLASSES = {}


def register_model_class(cls):
    """Let :func:`load_model` build ``cls`` for files that name it.

    A class decorator. The class provides ``_export_state()`` returning
    ``(values, tensors)``, ``_import_state(values, tensors, device)`` and a
    ``_state_attributes`` tuple of the attributes the latter sets.
    """
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


class PersistenceWarning(UserWarning):
    """Part of an estimator could not be written to a safe model file.

    Issued by :func:`save_model` (and again by :func:`load_model`) for
    parameters that are code or objects JSON cannot hold, such as callbacks or a
    callable ``feature_extractor``: the file holds their default value instead.
    Set them again after loading with ``set_params``.
    """


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
        :class:`~skgan.callbacks.Checkpoint`, a callable or transformer
        ``feature_extractor``, a user's own ``generator`` or ``discriminator``):
        the file holds their default value. Also for unexpected attributes
        that the format does not know, which are not saved.

    See Also
    --------
    load_model : Read the file back.
    skgan.callbacks.Checkpoint : Save a file every few epochs during training.

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
    if not isinstance(estimator, tuple(_MODEL_CLASSES.values())):
        raise TypeError(
            "save_model saves a DCGANEstimator, got "
            f"{type(estimator).__name__}. Use pickle or joblib for other objects."
        )
    path = check_path(path)
    if path.is_dir():
        raise IsADirectoryError(f"Cannot save the model to {path}: it is a folder.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save the model to {path}: the folder {path.parent} does not "
            "exist. Create it first."
        )
    params, replaced = encode_params(estimator)
    fitted = hasattr(estimator, "generator_")
    owned = set(estimator._state_attributes)
    attributes, unsaved = {}, []
    for name, value in vars(estimator).items():
        if name in params or name in owned:
            continue
        try:
            attributes[name] = encode(value)
        except Unsupported:
            unsaved.append(name)
    values, tensors = estimator._export_state() if fitted else (None, None)
    if values is not None:
        values = encode_state_values(values)
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
        "fitted": values,
    }
    members = {}
    if fitted:
        # One metadata entry: safetensors writes several in a random order.
        blob, header["tensors_layout"] = pack_tensors(
            tensors, metadata={"format": "pt"}
        )
        header["tensors_sha256"] = hashlib.sha256(blob).hexdigest()
        members[WEIGHTS] = (blob, False)
    text = json.dumps(header, indent=1, sort_keys=True) + "\n"
    members = {HEADER: (text.encode("utf-8"), True), **members}
    write_archive(path, members)
    return path


def _check_version(header, path):
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise invalid(path, f"format_version {version!r} is not a positive integer.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer skgan "
            f"({header.get('skgan_version', 'unknown version')}) in model format "
            f"version {version}; this skgan ({__version__}) reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade skgan to load it."
        )


def _resolve_class(header, path, estimator_class):
    known = tuple(_MODEL_CLASSES.values())
    name = header.get("estimator")
    if estimator_class is not None:
        if not (
            isinstance(estimator_class, type) and issubclass(estimator_class, known)
        ):
            raise TypeError(
                "estimator_class must be DCGANEstimator or a subclass of it, got "
                f"{estimator_class!r}."
            )
        return estimator_class
    if name not in _MODEL_CLASSES:
        raise ValueError(
            f"{path} holds a {name!r} estimator; load_model builds DCGANEstimator "
            "models. For a subclass, pass estimator_class=YourClass."
        )
    return _MODEL_CLASSES[name]


def _read_tensors(blobs, header, path):
    """The tensors of a fitted model: safetensors, or format 1's torch blob."""
    member = TENSORS if header["format_version"] == 1 else WEIGHTS
    blob = blobs.get(member)
    if blob is None:
        raise invalid(path, f"the fitted model has no {member}.")
    expected = header.get("tensors_sha256")
    if not isinstance(expected, str) or hashlib.sha256(blob).hexdigest() != expected:
        raise invalid(path, f"{member} does not match its recorded SHA-256.")
    if member == TENSORS:
        return read_torch_blob(blob, path, member)
    return unpack_tensors(blob, header.get("tensors_layout"), path)


def load_model(path, *, device=None, estimator_class=None, params=None):
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
    params : dict, default=None
        Parameters to set before the model is rebuilt, for those the file
        could not hold (it names them in a :class:`PersistenceWarning`). A
        model trained with its own ``generator`` or ``discriminator`` needs
        them here, e.g. ``params={"generator": MyGenerator}``.

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
    skgan.callbacks.latest_checkpoint : The newest file written by a
        :class:`~skgan.callbacks.Checkpoint`.
    """
    path = check_path(path)
    target = None if device is None else resolve_device(device)
    params_to_set = params
    if params_to_set is not None and not isinstance(params_to_set, dict):
        raise TypeError(
            f"params must be a dict of parameter values, got "
            f"{type(params_to_set).__name__}."
        )
    if not path.exists():
        raise FileNotFoundError(f"No skgan model file at {path}.")
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder, not a model file. For checkpoints, use "
            "latest_checkpoint(folder)."
        )
    header, blobs = read_archive(path)
    _check_version(header, path)
    cls = _resolve_class(header, path, estimator_class)
    params = decode_params(header, path, cls)
    for name, value in getattr(cls, "_legacy_params", {}).items():
        params.setdefault(name, value)  # a file from before the parameter
    replaced = header.get("replaced_params")
    replaced = [str(n) for n in replaced] if isinstance(replaced, list) else []
    given = check_given_params(params_to_set, cls)
    replaced = [n for n in replaced if n not in given]
    params = params | given
    missing = [n for n in ("generator", "discriminator") if n in replaced]
    if missing and header.get("fitted") is not None:
        raise ValueError(
            f"{path} holds a model trained with its own {' and '.join(missing)}, "
            "which a model file cannot hold (it is code). Pass it again: "
            "load_model(path, params={"
            + ", ".join(f"{n!r}: ..." for n in missing)
            + "})."
        )
    estimator = cls(**params)
    try:
        attributes = decode_attributes(header, cls, params)
    except ValueError as exc:
        raise invalid(path, f"bad attributes ({exc}).") from None
    for name, value in attributes.items():
        setattr(estimator, name, value)
    if header.get("fitted") is not None:
        try:
            values = decode_state_values(header["fitted"])
            saved_device = torch.device(values["device_"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise invalid(
                path, f"bad fitted state ({type(exc).__name__}: {exc})."
            ) from None
        tensors = _read_tensors(blobs, header, path)
        device = cpu_fallback(saved_device) if target is None else target
        try:
            estimator._import_state(values, tensors, device)
        except (ValueError, TypeError) as exc:
            raise invalid(path, str(exc)) from None
    if replaced:
        warnings.warn(
            f"{path}: {', '.join(replaced)} were not saved and hold their "
            "default value; set them again with set_params, or pass them with "
            "load_model(path, params={...}).",
            PersistenceWarning,
            stacklevel=2,
        )
    return estimator
