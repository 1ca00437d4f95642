"""DCGANEstimator's parameters: the constraint table and the checks it cannot express.

``PARAMETER_CONSTRAINTS`` is scikit-learn's declarative validation
(``_parameter_constraints``); :func:`check_compound_parameters` covers pairs,
ranges and combinations. Both run at the start of ``fit``, before any work.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..metrics._features import check_fitted_transformer
from ..nn import LOSSES, parse_policy
from ..utils._device import resolve_device
from ._build import check_network_factories

__all__ = ["PARAMETER_CONSTRAINTS", "check_compound_parameters", "check_precision"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)  # Adam keeps lr as float32
_INTEGER_PARAMETERS = (
    "noise_dim",
    "epochs",
    "steps",
    "batch_size",
    "generator_width",
    "discriminator_width",
    "depth",
)

PARAMETER_CONSTRAINTS = {
    "noise_dim": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "steps": [Interval(Integral, 1, None, closed="left"), None],
    "batch_size": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
    "generator_lr": [
        Interval(Real, 0, _FLOAT32_MAX, closed="right"),
        StrOptions({"auto"}),
    ],
    "discriminator_lr": [
        Interval(Real, 0, _FLOAT32_MAX, closed="right"),
        StrOptions({"auto"}),
    ],
    "betas": [tuple, list],
    "loss": [StrOptions(set(LOSSES))],
    "real_label": [Interval(Real, 0, 1, closed="both"), tuple, list],
    "fake_label": [Interval(Real, 0, 1, closed="both")],
    "generator_width": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "discriminator_width": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "depth": [Interval(Integral, 0, None, closed="left"), None],
    "generator_first_stage": [StrOptions({"dense", "transposed"})],
    "generator_upsampling": [StrOptions({"nearest", "transposed"})],
    "generator_architecture": [StrOptions({"dcgan", "skip"})],
    "generator_batch_norm": ["boolean"],
    "spectral_norm": ["boolean"],
    "discriminator_dropout": [Interval(Real, 0, 1, closed="left")],
    "discriminator_batch_norm": ["boolean"],
    "augment": [str, None],
    "ema_decay": [Interval(Real, 0, 1, closed="neither"), None],
    "diversity_weight": [
        Interval(Real, 0, _FLOAT32_MAX, closed="left"),
        StrOptions({"auto"}),
    ],
    "batch_norm_statistics": [StrOptions({"auto", "recomputed", "running"})],
    "max_time": [Interval(Real, 0, None, closed="neither"), None],
    "channels_last": ["boolean"],
    "precision": [StrOptions({"float32", "bfloat16", "float16"})],
    "cudnn_benchmark": ["boolean"],
    "torch_compile": ["boolean"],
    "distributed": [StrOptions({"auto"}), "boolean"],
    "conditional": ["boolean"],
    "discriminator_projection": [StrOptions({"auto", "last_stage", "every_stage"})],
    "on_divergence": [StrOptions({"raise", "restore"})],
    "image_shape": [tuple, list, None],
    "feature_extractor": [
        StrOptions({"inception"}),
        callable,
        HasMethods(["transform"]),
        None,
    ],
    "generator": [callable, None],
    "discriminator": [callable, None],
    "callbacks": [list, tuple, None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
}


def check_compound_parameters(est):
    """Validate parameters the constraint language cannot express.

    Returns ``(betas, real_label_range, augmentation_policy)``.
    """
    for name in _INTEGER_PARAMETERS:
        if isinstance(getattr(est, name), (bool, np.bool_)):
            raise TypeError(f"{name} must be an int, got {getattr(est, name)!r}.")
    for index, callback in enumerate(est.callbacks or ()):
        if not callable(callback):
            raise TypeError(
                "callbacks must be callables called as callback(estimator, "
                f"record); callbacks[{index}] is {callback!r}."
            )
    check_network_factories(est)
    extractor = est.feature_extractor
    if (
        hasattr(extractor, "transform")
        and hasattr(extractor, "fit")
        and not isinstance(extractor, torch.nn.Module)
    ):  # refused now, not by score after training (NaN in GridSearchCV)
        check_fitted_transformer(extractor)
    betas = tuple(est.betas)
    if len(betas) != 2 or not all(isinstance(b, Real) and 0 <= b < 1 for b in betas):
        raise ValueError(
            f"betas must be a pair of floats in [0, 1), got {est.betas!r}."
        )
    real = est.real_label
    real = (real, real) if isinstance(real, Real) else tuple(real)
    if len(real) != 2 or not all(isinstance(r, Real) and 0 <= r <= 1 for r in real):
        raise ValueError(
            "real_label must be a float in [0, 1] or a (low, high) pair of "
            f"such floats, got {est.real_label!r}."
        )
    if real[0] > real[1]:
        raise ValueError(f"real_label=(low, high) needs low <= high, got {real}.")
    betas = tuple(float(b) for b in betas)
    return betas, (float(real[0]), float(real[1])), parse_policy(est.augment)


def check_precision(est, *, fitted):
    """Check that ``est.precision`` can train on the device training will use.

    That is ``est.device_`` when ``fitted`` (training continues there), else
    ``est.device``. Run by ``fit`` and ``partial_fit`` only: a model trained
    with a precision its device supports loads, and samples, on any device.
    """
    device = est.device_ if fitted else resolve_device(est.device)
    if est.precision == "float16" and device.type != "cuda":
        raise ValueError(
            "precision='float16' needs a CUDA GPU (float16 training scales the "
            "losses with torch.amp.GradScaler, which skgan runs on CUDA only); "
            f"training runs on {device.type!r} here: use precision='bfloat16' "
            "or precision='float32'."
        )
    if est.precision == "bfloat16" and device.type == "cuda":
        if not torch.cuda.is_bf16_supported():
            raise ValueError(
                "precision='bfloat16' needs a GPU with bfloat16 support "
                "(compute capability 8.0 or later); use precision='float16' or "
                "precision='float32'."
            )
