"""Class labels of a conditional DCGANEstimator: checks, encoding, drawing."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import column_or_1d

__all__ = ["check_fit_labels", "encode_labels", "labels_to_sample", "unique_labels"]


def unique_labels(y, name):
    """Sorted unique labels of ``y``, refusing NaN and mixed label types."""
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    try:
        return np.unique(y)
    except TypeError as exc:
        raise TypeError(
            f"{name} mixes labels of different types ({exc}); use one type, e.g. "
            f"{name}.astype(str)."
        ) from exc


def check_fit_labels(est, n_images, y, *, fitted, classes=None):
    """Validate ``y`` for fitting a conditional model; return the class labels.

    None for an unconditional model, whatever ``y`` is.
    """
    if not est.conditional:
        return None
    if y is None:
        raise ValueError(
            "y is required when conditional=True: pass the class label of "
            "every image, fit(X, y)."
        )
    y = column_or_1d(y, warn=True)
    if len(y) != n_images:
        raise ValueError(
            f"X has {n_images} images but y has {len(y)} labels; they must match."
        )
    if fitted:
        encode_labels(est.classes_, y)  # raises on labels the model does not know
        return est.classes_
    seen = unique_labels(y, "y")
    if classes is None:
        return seen
    classes = unique_labels(column_or_1d(classes), "classes")
    unknown = np.setdiff1d(seen, classes)
    if unknown.size:
        raise ValueError(f"y has labels {unknown.tolist()} that are not in classes.")
    return classes


def encode_labels(classes, y):
    """Indices into ``classes`` of the labels ``y``; ValueError for unknown ones."""
    try:
        y = column_or_1d(y)
    except ValueError as exc:
        raise ValueError(
            f"y must be one label or a 1d array of labels ({exc})."
        ) from exc
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    index, unknown = np.empty(len(y), dtype=np.intp), []
    for position, label in enumerate(y.tolist()):
        try:
            index[position] = lookup[label]
        except (KeyError, TypeError):  # TypeError: unhashable label
            unknown.append(label)
    if unknown:
        shown = list(dict.fromkeys(map(repr, unknown)))[:10]
        raise ValueError(
            f"Labels [{', '.join(shown)}] were not seen at fit time; "
            f"this model knows the classes {classes.tolist()}."
        )
    return index


def labels_to_sample(est, n_samples, y, rng):
    """Class indices for ``sample(n_samples, y=y)``; None for unconditional models."""
    if not est.conditional:
        if y is not None:
            raise ValueError(
                "y can only be given to a model fitted with conditional=True."
            )
        return None
    if y is None:
        return rng.choice(len(est.classes_), size=n_samples, p=est.class_prior_)
    try:
        scalar = np.ndim(y) == 0
    except ValueError as exc:
        raise ValueError(
            f"y must be one label or a 1d array of labels ({exc})."
        ) from exc
    if scalar:
        labels = encode_labels(est.classes_, np.asarray([y], dtype=object))
        return np.repeat(labels, n_samples)
    labels = encode_labels(est.classes_, y)
    if len(labels) == 0:
        raise ValueError("y is empty; pass at least one label.")
    if n_samples not in (1, len(labels)):
        raise ValueError(
            f"n_samples={n_samples} but y holds {len(labels)} labels: give one "
            "label per image, or a single label with n_samples."
        )
    return labels
