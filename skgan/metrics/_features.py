"""Feature extractors: resolution, image conversion and batched extraction.

``feature_extractor`` may be

* ``"inception"``: the FID InceptionV3 (:class:`FIDInceptionV3` with the published
  weights; an instance of :class:`FIDInceptionV3` may also be passed). Images are
  mapped to ``[0, 255]``, rounded to integers as when saved to PNG (so float images
  and their ``uint8`` version give the same features), grayscale is replicated to
  RGB, then the network's TF-exact preprocessing applies;
* a ``torch.nn.Module``: called on float32 tensors ``(batch, C, H, W)`` with values
  in ``[0, 1]``, on the device of its parameters, in eval mode and
  ``torch.inference_mode``;
* any other callable: called on float32 NumPy arrays ``(batch, H, W, C)`` with
  values in ``[0, 1]``;
* a fitted scikit-learn transformer (anything with ``fit`` and ``transform``): its
  ``transform`` gets the images as the user passed them, flattened to rows
  ``(batch, H*W*C)``, in their original value range;
* ``None``: the inputs already are feature matrices ``(n_samples, n_features)``.

Each must return a 2-D ``(batch, n_features)`` array or tensor.
"""

import functools
import inspect
from dataclasses import dataclass

import numpy as np
import torch

from ..utils._device import resolve_device
from ..utils._progress import ProgressReporter
from ..utils._validation import (
    check_data_range,
    check_image_array,
    infer_image_shape,
    to_nhwc,
)
from ._common import check_features, check_int, fill_doc
from ._inception import FIDInceptionV3

__all__ = ["check_fitted_transformer", "extract_features"]

_RANGE_RTOL = 1e-5


@dataclass(frozen=True)
class _Images:
    """Validated images: the array, its (H, W, C) shape and value range."""

    X: np.ndarray
    shape: tuple
    low: float
    high: float
    name: str

    def __len__(self):
        return self.X.shape[0]


def check_fitted_transformer(transformer, name="feature_extractor"):
    """Refuse an unfitted scikit-learn transformer, naming ``FrozenEstimator``.

    ``clone`` (run by ``GridSearchCV``, ``cross_val_score``, ...) copies the
    parameters of an estimator unfitted, a transformer passed as its
    ``feature_extractor`` included; ``FrozenEstimator`` keeps it fitted.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(transformer)
    except NotFittedError:
        kind = type(transformer).__name__
        raise NotFittedError(
            f"{name} is a {kind} that is not fitted; it must be fitted before "
            f"use. Fit it once and wrap it in sklearn.frozen.FrozenEstimator: "
            f"{name}=FrozenEstimator({kind}(...).fit(X_features)). Without the "
            "wrapper, clone (used by GridSearchCV, cross_val_score and "
            "SyntheticAugmenter) returns it unfitted."
        ) from None


def _resolve_extractor(feature_extractor):
    """Return ``(kind, obj)``; raise before any work on a bad extractor."""
    fe = feature_extractor
    if fe is None:
        return "none", None
    if isinstance(fe, str):
        if fe.lower() == "inception":
            return "inception", None
        raise ValueError(
            f"feature_extractor={fe!r} is not known. Use 'inception', None (for "
            "feature matrices), a torch.nn.Module, a callable or a fitted "
            "scikit-learn transformer."
        )
    if isinstance(fe, FIDInceptionV3):
        return "inception", fe
    if isinstance(fe, torch.nn.Module):
        return "module", fe
    if hasattr(fe, "transform") and hasattr(fe, "fit"):
        check_fitted_transformer(fe)
        return "transformer", fe
    if callable(fe):
        return "callable", fe
    raise TypeError(
        "feature_extractor must be 'inception', None, a torch.nn.Module, a "
        f"callable or a fitted scikit-learn transformer; got {type(fe).__name__}."
    )


def _prepare(X, *, name, kind, image_shape, data_range, min_samples):
    """Validate one input (images or features) without extracting anything."""
    if kind == "none":
        return check_features(X, name=name, min_samples=min_samples)
    X = check_image_array(X, name=name, min_samples=min_samples)
    shape = infer_image_shape(X.shape[1:], image_shape)
    if kind == "inception" and shape[2] not in (1, 3):
        raise ValueError(
            f"{name} has {shape[2]} channels; the Inception network takes "
            "grayscale (1 channel, replicated to RGB) or RGB (3 channels) images."
        )
    given = check_data_range(data_range)
    if given is not None:
        low, high = given
    elif X.dtype.kind == "b":
        low, high = 0.0, 1.0
    elif X.dtype.kind in "iu":
        low, high = 0.0, 255.0
    else:
        low, high = 0.0, 1.0
    xmin, xmax = float(np.min(X)), float(np.max(X))
    tol = _RANGE_RTOL * (high - low)
    if xmin < low - tol or xmax > high + tol:
        how = "was given" if given is not None else (f"is assumed for {X.dtype} images")
        raise ValueError(
            f"{name} has values in [{xmin:g}, {xmax:g}], outside the data range "
            f"({low:g}, {high:g}) that {how}. Pass data_range=(min, max), the "
            "range your images are defined on (e.g. (0, 255) or (-1, 1))."
        )
    return _Images(X, shape, low, high, name)


def _scaled(images, start, stop):
    """Images [start:stop] as float64 NHWC in [0, 1]."""
    batch = to_nhwc(images.X[start:stop], images.shape).astype(np.float64)
    batch = (batch - images.low) / (images.high - images.low)
    return np.clip(batch, 0.0, 1.0)


def _unit_batch(images, start, stop):
    """Images [start:stop] as float32 NHWC in [0, 1]."""
    return _scaled(images, start, stop).astype(np.float32)


def _inception_batch(images, start, stop):
    """Images [start:stop] as float32 NCHW RGB holding integers in [0, 255]."""
    batch = to_nhwc(images.X[start:stop], images.shape)
    if batch.dtype == np.uint8 and (images.low, images.high) == (0.0, 255.0):
        batch = batch.astype(np.float32)
    else:
        batch = np.rint(_scaled(images, start, stop) * 255).astype(np.float32)
    if batch.shape[3] == 1:
        batch = np.repeat(batch, 3, axis=3)
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


def _module_device(module, default):
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return default


class _eval_mode:
    """Put a module in eval mode for the duration, then restore every flag."""

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        self.flags = [(m, m.training) for m in self.module.modules()]
        self.module.eval()

    def __exit__(self, *exc):
        for m, flag in self.flags:
            m.training = flag


@functools.lru_cache(maxsize=2)
def _cached_inception(path, stamp, device):
    from ._weights import load_fid_inception

    return load_fid_inception(path, download=False, device=device)


def _inception_network(weights_path, device, verbose):
    """Locate (maybe download) the weights and return the loaded network."""
    from ._weights import find_inception_weights

    path = find_inception_weights(weights_path, verbose=verbose)
    info = path.stat()
    return _cached_inception(
        str(path), (info.st_mtime_ns, info.st_size), str(resolve_device(device))
    )


def _as_2d_numpy(out, n_expected, what):
    if isinstance(out, torch.Tensor):
        out = (
            out.detach()
            .to("cpu", torch.float32 if out.is_floating_point() else torch.float64)
            .numpy()
        )
    if hasattr(out, "toarray"):
        out = out.toarray()
    out = np.asarray(out)
    while out.ndim > 2 and out.shape[-1] == 1:
        out = out[..., 0]
    if out.ndim != 2 or out.shape[0] != n_expected:
        raise ValueError(
            f"The feature extractor {what} must return a 2-D array of shape "
            f"(n_images, n_features); for {n_expected} images it returned shape "
            f"{out.shape}."
        )
    if out.dtype not in (np.float32, np.float64):
        out = out.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"The feature extractor {what} returned NaN or infinity.")
    return out


def _extract(images, kind, obj, *, output="pool", batch_size, device, verbose):
    """Run a resolved extractor over validated images, in batches."""
    n = len(images)
    what = getattr(obj, "__name__", type(obj).__name__)
    if kind in ("inception", "module"):
        run_device = _module_device(obj, resolve_device(device))
    progress = ProgressReporter(
        f"{what} features of {images.name}",
        n,
        verbose=verbose,
        unit="images",
        min_interval=2.0,
    )
    chunks = []
    with torch.inference_mode():
        ctx = _eval_mode(obj) if kind in ("inception", "module") else None
        if ctx is not None:
            ctx.__enter__()
        try:
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                if kind == "inception":
                    x = _inception_batch(images, start, stop).to(run_device)
                    out = obj.forward_all(x)[output] if output != "pool" else obj(x)
                elif kind == "module":
                    x = _unit_batch(images, start, stop).transpose(0, 3, 1, 2)
                    out = obj(torch.from_numpy(np.ascontiguousarray(x)).to(run_device))
                elif kind == "callable":
                    out = obj(_unit_batch(images, start, stop))
                else:
                    out = obj.transform(images.X[start:stop].reshape(stop - start, -1))
                out = _as_2d_numpy(out, stop - start, what)
                if chunks and out.shape[1] != chunks[0].shape[1]:
                    raise ValueError(
                        f"The feature extractor {what} returned {out.shape[1]} "
                        f"features for one batch and {chunks[0].shape[1]} for another."
                    )
                chunks.append(out)
                progress.update(advance=stop - start)
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)
    return np.concatenate(chunks, axis=0) if len(chunks) > 1 else chunks[0]


class _Extraction:
    """Validated inputs plus a resolved extractor: validate everything first."""

    def __init__(
        self,
        feature_extractor,
        *,
        image_shape,
        data_range,
        batch_size,
        device,
        weights_path,
        verbose,
    ):
        self.kind, self.obj = _resolve_extractor(feature_extractor)
        self.image_shape, self.data_range = image_shape, data_range
        self.batch_size = check_int(batch_size, "batch_size")
        self.verbose = check_int(verbose, "verbose", minimum=0)
        if self.kind in ("inception", "module"):
            resolve_device(device)  # a bad device fails before any work
        self.device, self.weights_path = device, weights_path

    def prepare(self, X, name, min_samples=1):
        return _prepare(
            X,
            name=name,
            kind=self.kind,
            image_shape=self.image_shape,
            data_range=self.data_range,
            min_samples=min_samples,
        )

    def features(self, prepared, output="pool"):
        if self.kind == "none":
            return prepared
        if self.kind == "inception" and self.obj is None:
            self.obj = _inception_network(self.weights_path, self.device, self.verbose)
        return _extract(
            prepared,
            self.kind,
            self.obj,
            output=output,
            batch_size=self.batch_size,
            device=self.device,
            verbose=self.verbose,
        )


EXTRACTOR_DEFAULTS = {
    "feature_extractor": "inception",
    "image_shape": None,
    "data_range": None,
    "batch_size": 64,
    "device": "auto",
    "weights_path": None,
    "verbose": 0,
}


def with_extractor(func):
    """Give ``func`` the extractor keyword arguments, validated as one object.

    ``func`` ends with a keyword-only parameter ``ex``. The public function
    takes, in its place, the keyword arguments of ``EXTRACTOR_DEFAULTS`` (its
    signature shows them), builds one :class:`_Extraction` from them (which
    validates them before any work) and passes it as ``ex``. ``{common}`` in
    the docstring becomes their shared description.
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    if not params or params[-1].name != "ex":
        raise TypeError(f"{func.__name__} must end with a parameter 'ex'.")
    public = signature.replace(
        parameters=params[:-1]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
            for name, value in EXTRACTOR_DEFAULTS.items()
        ]
    )

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            public.bind(*args, **kwargs)
        except TypeError as exc:  # as Python says it, naming the function
            raise TypeError(f"{func.__name__}() {exc}") from None
        options = {
            name: kwargs.pop(name, value) for name, value in EXTRACTOR_DEFAULTS.items()
        }
        return func(*args, **kwargs, ex=_Extraction(**options))

    wrapper.__signature__ = public
    return fill_doc(wrapper)


@with_extractor
def extract_features(images, *, ex):
    """Compute features of images, in batches, for reuse across metrics.

    Parameters
    ----------
    images : array-like
        Images of shape ``(n, H*W*C)``, ``(n, H, W)`` or ``(n, H, W, C)``,
        ``uint8`` or float.
    feature_extractor : "inception", torch.nn.Module, callable or transformer, \
default="inception"
        See :mod:`skgan.metrics` for what each kind receives.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)``; needed for flattened rows that are not
        square single-channel images.
    data_range : (float, float), default=None
        ``(min, max)`` value range of the images. Default: ``(0, 255)`` for
        integer images, ``(0, 1)`` for float images. Values outside it raise.
    batch_size : int, default=64
        Images per forward pass.
    device : str or torch.device, default="auto"
        Device for the Inception network; ``"auto"`` picks CUDA, then MPS, then
        the CPU. A ``torch.nn.Module`` runs where its parameters are.
    weights_path : str or path-like, default=None
        FID Inception weights; see :func:`find_inception_weights`.
    verbose : int, default=0
        Print progress to stderr when > 0.

    Returns
    -------
    features : ndarray of shape (n, n_features)
        float32 from networks, float64 otherwise.
    """
    if ex.kind == "none":
        raise ValueError("extract_features needs a feature_extractor, got None.")
    return ex.features(ex.prepare(images, "images"))
