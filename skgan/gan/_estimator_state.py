"""A fitted DCGANEstimator as (plain values, tensors), and back.

The one place that knows which fitted attributes a model has. Pickling, model
files and checkpoints all go through :func:`export_state` and
:func:`import_state`:

* the values are plain Python (numbers, strings, lists, dicts; ``classes_``
  stays a NumPy array), ready for JSON once the label array is encoded;
* the tensors are the state dicts of the networks and optimizers and the
  private random state (stored as safetensors in model files, see
  :mod:`skgan.persistence._safetensors_io`).

:func:`import_state` validates everything it is given, since model files may
come from anywhere, and raises ``ValueError`` (or ``KeyError``/``TypeError``
for missing or mistyped entries) naming what is wrong.
"""

from __future__ import annotations

import inspect
import io
import math

import numpy as np
import torch

from .. import persistence
from ..nn.fitting import GANModules
from ..utils._device import cpu_fallback
from ..utils._validation import ImageLayout
from ._build import build_modules
from ._parameters import check_compound_parameters

__all__ = ["STATE_ATTRIBUTES", "FittedStateMixin", "export_state", "import_state"]

# Attribute of the estimator -> name of its entry in GANModules.
_MODULES = {
    "generator_": "generator",
    "discriminator_": "discriminator",
    "generator_ema_": "generator_ema",
    "_generator_optimizer": "generator_optimizer",
    "_discriminator_optimizer": "discriminator_optimizer",
}
_RNG = "_rng_state"
_VALUES = (
    "device_",
    "n_features_in_",
    "feature_names_in_",
    "image_layout_",
    "image_shape_",
    "history_",
    "classes_",
    "class_prior_",
)
#: Every attribute that :func:`import_state` sets.
STATE_ATTRIBUTES = (*_VALUES, *_MODULES, _RNG)
_MEMORY_FORMATS = {
    "contiguous": torch.contiguous_format,
    "channels_last": torch.channels_last,
}


def modules_of(est):
    """The estimator's torch objects as :class:`~skgan.nn.fitting.GANModules`."""
    return GANModules(**{field: getattr(est, name) for name, field in _MODULES.items()})


def set_modules(est, modules):
    """Store ``modules`` as the estimator's fitted torch attributes."""
    for name, field in _MODULES.items():
        setattr(est, name, getattr(modules, field))


def _memory_format_of(network):
    """The memory format, "channels_last" when convolution weights are NHWC.

    A weight with one input channel has the same strides in both orders, so
    the weights that tell the orders apart decide.
    """
    weights = [p for p in network.parameters() if p.dim() == 4]
    if any(
        w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
        for w in weights
    ):
        return "channels_last"
    return "contiguous"


def export_state(est):
    """``(values, tensors)`` of a fitted estimator; see the module docstring."""
    layout = est.image_layout_
    values = {
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
        "history_": [dict(record) for record in est.history_],
        "classes_": getattr(est, "classes_", None),
        "class_prior_": (
            [float(p) for p in est.class_prior_]
            if hasattr(est, "class_prior_")
            else None
        ),
        # Convolutions give slightly different numbers in NCHW and NHWC order:
        # the weights come back in the order they were trained and sampled in.
        "memory_format": _memory_format_of(est.generator_),
    }
    tensors = _named_state_dicts(modules_of(est))
    tensors[_RNG] = est._rng_state.detach().cpu()
    return values, tensors


def _named_state_dicts(modules):
    fields = {field: name for name, field in _MODULES.items()}
    return {fields[field]: state for field, state in modules.state_dict().items()}


def _tuple_of_ints(value, length=None):
    if not isinstance(value, (list, tuple)) or not all(
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


def _layout(blob):
    dtype = np.dtype(blob["dtype"])
    if dtype.kind not in "biuf" or dtype.names is not None:
        raise ValueError(f"unsupported image dtype {dtype}")
    sample_shape = _tuple_of_ints(blob["sample_shape"])
    image_shape = _tuple_of_ints(blob["image_shape"], 3)
    if not 1 <= len(sample_shape) <= 3 or math.prod(sample_shape) != math.prod(
        image_shape
    ):
        raise ValueError(
            f"sample_shape {sample_shape} does not match image_shape {image_shape}"
        )
    data_min = _finite_float(blob["data_min"])
    data_max = _finite_float(blob["data_max"])
    if data_min > data_max:
        raise ValueError("data_min > data_max")
    return ImageLayout(
        sample_shape=sample_shape,
        image_shape=image_shape,
        dtype=dtype,
        data_min=data_min,
        data_max=data_max,
    )


def _plain_values(values, conditional):
    """Validated fitted attributes ``{name: value}`` from :func:`export_state`."""
    if not isinstance(values, dict):
        raise ValueError("the fitted state is not a mapping")
    layout = _layout(values["image_layout_"])
    n_features = values["n_features_in_"]
    if n_features != layout.sample_shape[0] or isinstance(n_features, bool):
        raise ValueError(f"n_features_in_ {n_features!r} does not match sample_shape")
    names = values.get("feature_names_in_")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
    ):
        raise ValueError("feature_names_in_ is not a list of n_features_in_ strings")
    history = values["history_"]
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise ValueError("history_ is not a list of records")
    state = {
        "n_features_in_": n_features,
        "image_layout_": layout,
        "image_shape_": _tuple_of_ints(values["image_shape_"], 3),
        "history_": [dict(r) for r in history],
    }
    if names is not None:
        state["feature_names_in_"] = np.asarray(names, dtype=object)
    classes = values.get("classes_")
    if conditional or classes is not None:
        classes = np.asarray(classes)
        prior = np.asarray(
            [_finite_float(p) for p in values["class_prior_"]], dtype=np.float64
        )
        if classes.ndim != 1 or not len(classes) or prior.shape != classes.shape:
            raise ValueError("classes_ and class_prior_ do not match")
        state["classes_"], state["class_prior_"] = classes, prior
    return state


def _check_tensors_fit(modules, tensors):
    """Raise ValueError unless the tensors have the dtypes and shapes of
    ``modules`` (``load_state_dict`` would cast dtypes silently, and never
    looks at an optimizer's moments)."""
    unknown = sorted(set(tensors) - set(_MODULES) - {_RNG})
    if unknown:
        raise ValueError(f"unknown tensor groups {unknown}")
    for name, field in _MODULES.items():
        if name not in tensors:
            continue
        target, saved = getattr(modules, field), tensors[name]
        if not isinstance(saved, dict):
            raise TypeError(f"{name} is not a state dict")
        if isinstance(target, torch.optim.Optimizer):
            _check_optimizer_state(name, target, saved)
            continue
        for key, value in target.state_dict().items():
            got = saved.get(key)
            if isinstance(got, torch.Tensor) and got.dtype != value.dtype:
                raise ValueError(f"{name} {key} is {got.dtype}, not {value.dtype}")


def _check_optimizer_state(name, optimizer, saved):
    params = [p for group in optimizer.param_groups for p in group["params"]]
    state = saved.get("state")
    if not isinstance(state, dict):
        raise TypeError(f"{name} has no state mapping")
    for index, entries in state.items():
        if not isinstance(index, int) or not 0 <= index < len(params):
            raise ValueError(f"{name} has state for unknown parameter {index!r}")
        param = params[index]
        for key, value in entries.items():
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} state {index} {key} is not a tensor")
            shape = () if key == "step" else param.shape
            if value.shape != shape or not value.is_floating_point():
                raise ValueError(
                    f"{name} state {index} {key} has shape {tuple(value.shape)} "
                    f"and dtype {value.dtype}, expected {tuple(shape)} floats"
                )
            if key != "step" and value.dtype != param.dtype:
                raise ValueError(
                    f"{name} state {index} {key} is {value.dtype}, not {param.dtype}"
                )


def _memory_format(values, est, device):
    """The saved memory order; files from before it was recorded trained in
    the order ``channels_last`` asked for."""
    name = values.get("memory_format")
    if name is None:
        trained_nhwc = est.channels_last and device.type in ("cpu", "cuda")
        name = "channels_last" if trained_nhwc else "contiguous"
    if name not in _MEMORY_FORMATS:
        raise ValueError(f"unknown memory_format {name!r}")
    return _MEMORY_FORMATS[name]


def import_state(est, values, tensors, device):
    """Make ``est`` the fitted model that :func:`export_state` described.

    Parameters
    ----------
    est : DCGANEstimator
        An estimator whose parameters are those of the exported one; they are
        validated here, before any network is built from them.
    values, tensors : dict
        :func:`export_state` output (tensors on any device).
    device : torch.device
        Where to put the networks.

    Raises
    ------
    ValueError
        Naming what is wrong: invalid parameters, values, or tensors that do
        not fit the networks the parameters describe. ``est`` then has no
        fitted state.
    """
    return load_fitted_state(
        est,
        values,
        tensors,
        device,
        check_parameters=lambda: check_compound_parameters(est),
        build=lambda with_ema: build_modules(est, with_ema=with_ema),
        conditional=bool(est.conditional),
    )


def load_fitted_state(
    est, values, tensors, device, *, check_parameters, build, conditional
):
    """The steps of :func:`import_state`, for any estimator of this family.

    ``check_parameters()`` checks what the parameter constraints cannot;
    ``build(with_ema)`` builds the networks and optimizers (a ``GANModules``)
    that the tensors are loaded into; ``conditional`` says whether the values
    hold class labels.
    """
    try:
        est._validate_params()
        check_parameters()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid parameters: {exc}") from None
    try:
        state = _plain_values(values, conditional)
        memory_format = _memory_format(values, est, device)
        rng = tensors[_RNG]
        if not isinstance(rng, torch.Tensor):
            raise TypeError("the random state is not a tensor")
        torch.Generator().set_state(rng)  # validates a CPU generator state
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ValueError(f"bad fitted state ({type(exc).__name__}: {exc}).") from None
    except RuntimeError as exc:
        raise ValueError(f"invalid random state ({exc}).") from None
    for name in STATE_ATTRIBUTES:
        if hasattr(est, name):
            delattr(est, name)
    for name, value in state.items():
        setattr(est, name, value)
    est.device_ = device
    try:
        with torch.random.fork_rng(devices=[]):
            modules = build(with_ema="generator_ema_" in tensors)
        _check_tensors_fit(modules, tensors)
        modules.load_state_dict(
            {
                field: tensors[name]
                for name, field in _MODULES.items()
                if name in tensors
            }
        )
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        for name in STATE_ATTRIBUTES:
            if hasattr(est, name):
                delattr(est, name)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(
            "its tensors do not fit the networks and optimizers that its "
            f"parameters describe ({type(exc).__name__}: {first[:300]})."
        ) from None
    modules.to_memory_format(memory_format)
    for network in modules.networks():
        network.eval()
    set_modules(est, modules)
    est._rng_state = rng.clone()


class FittedStateMixin:
    """Saving, loading and pickling for skgan's GAN estimators, through one
    state export.

    :mod:`skgan.persistence` calls ``_export_state`` and ``_import_state``;
    pickle goes through ``__getstate__`` and ``__setstate__``, which use the
    same two methods, with the tensors in one ``torch.save`` blob. A class
    whose networks are built differently overrides ``_import_state``.
    """

    #: The attributes that ``_import_state`` sets (never saved as extras).
    _state_attributes = STATE_ATTRIBUTES
    #: Parameters whose default builds other networks than the models saved
    #: before the parameter existed: a pickle or file without them gets this
    #: value instead, which rebuilds the networks it was trained with.
    _legacy_params = {}

    def save(self, path):
        """Write the model to a safe, versioned ``.skgan`` file.

        Parameters as JSON and weights as safetensors: loading never runs
        code, unlike pickle. See :func:`skgan.persistence.save_model`.

        Parameters
        ----------
        path : str or os.PathLike
            File to write (atomically).

        Returns
        -------
        path : pathlib.Path
        """
        return persistence.save_model(self, path)

    @classmethod
    def load(cls, path, *, device=None, params=None):
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.skgan`` file.
        device : str or torch.device, default=None
            Where to put the networks; None uses the saved device, or the CPU
            when that accelerator is missing here.
        params : dict, default=None
            Parameters the file could not hold (code, such as a custom
            ``generator``), set before the model is rebuilt; see
            :func:`skgan.persistence.load_model`.

        Returns
        -------
        estimator : object
            A fitted estimator of the class this is called on.
        """
        return persistence.load_model(
            path, device=device, estimator_class=cls, params=params
        )

    def _export_state(self):
        return export_state(self)

    def _import_state(self, values, tensors, device):
        import_state(self, values, tensors, device)

    def __getstate__(self):
        state = dict(super().__getstate__())  # object's is the live __dict__
        if "generator_" in state:
            values, tensors = self._export_state()
            buffer = io.BytesIO()
            torch.save(tensors, buffer)
            for name in self._state_attributes:
                state.pop(name, None)
            state["device_"] = str(self.device_)  # where it was trained
            state["_fitted_state"] = (values, buffer.getvalue())
        return state

    def __setstate__(self, state):
        fitted = state.pop("_fitted_state", None)
        trained_on = state.pop("device_", None)
        super().__setstate__(state)
        # A parameter added after the model was pickled takes its default (or
        # its legacy value), which gives the behaviour the model was trained
        # with.
        signature = inspect.signature(type(self).__init__).parameters.values()
        for parameter in signature:
            missing = parameter.name != "self" and parameter.name not in state
            if missing and parameter.default is not inspect.Parameter.empty:
                value = self._legacy_params.get(parameter.name, parameter.default)
                setattr(self, parameter.name, value)
        if fitted is not None:
            values, blob = fitted
            device = cpu_fallback(torch.device(trained_on))
            tensors = torch.load(
                io.BytesIO(blob), map_location=device, weights_only=True
            )
            self._import_state(values, tensors, device)
