"""One-call audit of synthetic data: fidelity, diversity, memorization, utility."""

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ..utils._progress import ProgressReporter
from ..utils._validation import check_image_array, infer_image_shape, to_nhwc
from ._common import check_int
from ._features import with_extractor
from ._frechet import frechet_distance
from ._memorization import (
    check_memorization_params,
    check_memorization_sizes,
    features_of,
    memorization_from_features,
    prepare_sets,
)
from ._neighbors import density_coverage, precision_recall

__all__ = ["plot_nearest_training_images", "synthetic_data_report"]

_PR_K, _DC_K = 3, 5
_PADDING = 2


def _check_utility_inputs(classifier, labels, sizes):
    """Validate the classifier and the labels, or refuse a partial set."""
    given = [name for name, y in labels.items() if y is not None]
    if classifier is None and not given:
        return None
    needed = {"classifier": classifier, **labels, "test": sizes["test"]}
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        raise ValueError(
            "The utility test (train on synthetic, test on real) needs "
            "classifier, test, y_train, y_synthetic and y_test; missing: "
            f"{', '.join(missing)}. Pass them all, or none for a report "
            "without utility."
        )
    if not (hasattr(classifier, "fit") and hasattr(classifier, "predict")):
        raise TypeError(
            "classifier must be a scikit-learn classifier (with fit and predict), "
            f"got {type(classifier).__name__}."
        )
    out = {}
    for name, y in labels.items():
        y = column_or_1d(y, warn=False)
        set_name = name[2:]
        if len(y) != sizes[set_name]:
            raise ValueError(
                f"{name} has {len(y)} labels but {set_name} has "
                f"{sizes[set_name]} samples."
            )
        check_classification_targets(y)
        out[name] = y
    return out


def _check_same_rows(prepared):
    """The classifier sees every set as rows: they must have one width."""
    widths = {name: _rows(v).shape[1] for name, v in prepared.items()}
    if len(set(widths.values())) > 1:
        raise ValueError(
            "The utility test fits the classifier on flattened rows, which must "
            f"have one width; got {widths}."
        )


def _rows(prepared):
    """The inputs as the user passed them, flattened to ``(n, n_values)`` rows."""
    X = getattr(prepared, "X", prepared)
    return X.reshape(len(X), -1)


def _utility(classifier, prepared, labels):
    scores = {}
    test_X = _rows(prepared["test"])
    for tag, name in (("tstr", "synthetic"), ("trtr", "train")):
        model = clone(classifier).fit(_rows(prepared[name]), labels[f"y_{name}"])
        pred = model.predict(test_X)
        scores[f"{tag}_accuracy"] = float(accuracy_score(labels["y_test"], pred))
        scores[f"{tag}_balanced_accuracy"] = float(
            balanced_accuracy_score(labels["y_test"], pred)
        )
    return Bunch(classifier=type(classifier).__name__, **scores)


def _summary(report):
    m, u = report.memorization, report.utility
    held_out = "test-to-train" if report.n_test else "leave-one-out train"
    lines = [
        f"Synthetic data report: {report.n_synthetic} synthetic, {report.n_train} "
        f"train, {report.n_test or 0} test samples; {report.n_features} features",
        f"  fidelity      FID {report.fid:.4g}   precision {report.precision:.3f}"
        f"   density {report.density:.3f}",
        f"  diversity     recall {report.recall:.3f}   coverage {report.coverage:.3f}",
        f"  memorization  copy fraction {m.copy_fraction:.3f} (expected about "
        f"{m.percentile / 100:.3f} without copying; threshold {m.threshold:.4g}, "
        f"percentile {m.percentile:g} of the {held_out} distances)",
    ]
    if m.data_copying_z is not None:
        lines.append(
            f"                data-copying Z {m.data_copying_z:.2f} (about 0 without "
            "copying, far below 0 (< -3) when copying)"
        )
    if u is not None:
        lines.append(
            f"  utility       {u.classifier} tested on real test data: accuracy "
            f"{u.tstr_accuracy:.3f} trained on synthetic vs {u.trtr_accuracy:.3f} "
            f"on real; balanced accuracy {u.tstr_balanced_accuracy:.3f} vs "
            f"{u.trtr_balanced_accuracy:.3f}"
        )
    return "\n".join(lines)


@with_extractor
def synthetic_data_report(
    train,
    synthetic,
    *,
    test=None,
    y_train=None,
    y_synthetic=None,
    y_test=None,
    classifier=None,
    percentile=1.0,
    n_cells=10,
    min_cell_samples=20,
    block_size=1024,
    random_state=None,
    ex,
):
    """Audit synthetic data in one call: fidelity, diversity, memorization, utility.

    Features of every set are computed once and shared by all the metrics. The
    real reference for fidelity and diversity is ``train``, the set the
    generator learned from.

    Parameters
    ----------
    train : array-like
        The generator's training images (``(n, H*W*C)``, ``(n, H, W)`` or
        ``(n, H, W, C)``), or their 2-D feature matrix when
        ``feature_extractor=None``; at least six.
    synthetic : array-like
        Generated samples, in the same form; at least four.
    test : array-like, default=None
        Real samples the generator was not trained on: the held-out set of
        the memorization tests and the evaluation set of the utility test.
    y_train, y_synthetic, y_test : array-like of shape (n,), default=None
        Class labels, for the utility test.
    classifier : scikit-learn classifier, default=None
        With the labels and ``test``: fitted (a clone of it) once on the
        synthetic and once on the training samples, and scored on ``test``.
        It receives the inputs as passed, flattened to rows ``(n, H*W*C)``
        (put a feature step in a :class:`~sklearn.pipeline.Pipeline` to
        classify features).
    percentile, n_cells, min_cell_samples, random_state
        The memorization tests' parameters (see :func:`memorization`).
    block_size : int, default=1024
        Rows and columns per distance tile of the nearest-neighbour metrics.
    {common}

    Returns
    -------
    report : :class:`~sklearn.utils.Bunch`
        With keys

        fid : float
            Fréchet distance between the train and synthetic features.
        precision, recall : float
            :func:`precision_recall` (k=3) against ``train``.
        density, coverage : float
            :func:`density_coverage` (k=5) against ``train``.
        memorization : Bunch
            The result of :func:`memorization`.
        utility : Bunch or None
            ``tstr_accuracy`` and ``tstr_balanced_accuracy`` (trained on
            synthetic, tested on real ``test``), ``trtr_accuracy`` and
            ``trtr_balanced_accuracy`` (trained on ``train``), and the
            ``classifier`` name; None without a classifier.
        n_train, n_synthetic, n_test, n_features : int
            Set sizes (``n_test`` None without ``test``) and feature width.
        summary : str
            The numbers as readable text: ``print(report.summary)``.

    See Also
    --------
    plot_nearest_training_images : Look at synthetic samples beside their
        nearest training samples.

    Examples
    --------
    >>> import numpy as np
    >>> from skgan.metrics import synthetic_data_report
    >>> rng = np.random.default_rng(0)
    >>> train, test, fake = (rng.normal(size=(300, 4)) for _ in range(3))
    >>> report = synthetic_data_report(train, fake, test=test,
    ...                                feature_extractor=None, random_state=0)
    >>> print(report.summary.splitlines()[0])
    Synthetic data report: 300 synthetic, 300 train, 300 test samples; 4 features
    """
    options = check_memorization_params(
        percentile, n_cells, min_cell_samples, block_size, random_state
    )
    sets = {
        "train": (train, _DC_K + 1),
        "synthetic": (synthetic, _PR_K + 1),
        "test": (test, 1),
    }
    prepared = prepare_sets(ex, sets)
    sizes = {name: None if v is None else len(v) for name, v in prepared.items()}
    labels = {"y_train": y_train, "y_synthetic": y_synthetic, "y_test": y_test}
    labels = _check_utility_inputs(classifier, labels, sizes)
    if labels is not None:
        _check_same_rows(prepared)
    check_memorization_sizes(prepared, options)
    progress = ProgressReporter(
        "synthetic_data_report",
        5 if labels is None else 6,
        verbose=ex.verbose,
        unit="phases",
    )
    feats = features_of(ex, prepared)
    progress.update(detail="features")
    real, fake = feats["train"], feats["synthetic"]
    none = {
        "feature_extractor": None,
        "block_size": options["block"],
        "verbose": ex.verbose,
    }
    fid = frechet_distance(real, fake)
    progress.update(detail="Frechet distance")
    precision, recall = precision_recall(real, fake, k=_PR_K, **none)
    progress.update(detail="precision and recall")
    density, coverage = density_coverage(real, fake, k=_DC_K, **none)
    progress.update(detail="density and coverage")
    memorized = memorization_from_features(feats, verbose=ex.verbose, **options)
    progress.update(detail="memorization")
    utility = None
    if labels is not None:
        utility = _utility(classifier, prepared, labels)
        progress.update(detail="utility (train on synthetic, test on real)")
    report = Bunch(
        fid=fid,
        precision=precision,
        recall=recall,
        density=density,
        coverage=coverage,
        memorization=memorized,
        utility=utility,
        n_train=sizes["train"],
        n_synthetic=sizes["synthetic"],
        n_test=sizes["test"],
        n_features=real.shape[1],
    )
    report.summary = _summary(report)
    return report


def plot_nearest_training_images(
    train,
    synthetic,
    result,
    *,
    n_images=8,
    order="closest",
    image_shape=None,
    data_range=None,
    random_state=None,
    figsize=None,
):
    """Show synthetic images above their nearest training images.

    Parameters
    ----------
    train, synthetic : array-like
        The images passed to :func:`memorization` or
        :func:`synthetic_data_report`, in any layout skgan accepts
        (``(n, H*W*C)``, ``(n, H, W)``, ``(n, H, W, C)``), on one value range.
    result : Bunch
        The result of :func:`memorization` or :func:`synthetic_data_report`.
    n_images : int, default=8
        Number of synthetic images shown (at most all of them).
    order : {"closest", "random"}, default="closest"
        ``"closest"``: the synthetic images nearest to the training set (the
        likeliest copies), nearest first; ``"random"``: a random choice.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` for flattened rows that are not square
        single-channel images.
    data_range : (float, float), default=None
        Values shown as black and white (see :func:`skgan.plotting.plot_image_grid`).
    random_state : int, RandomState instance or None, default=None
        Seed of the choice for ``order="random"``.
    figsize : (float, float), default=None
        Figure size in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Top row: synthetic images, with their distance to the nearest training
        sample below; bottom row: those training samples.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    result = result.get("memorization", result) if hasattr(result, "get") else None
    if result is None or "nearest" not in result:
        raise TypeError(
            "result must be what memorization() or synthetic_data_report() "
            "returned (a Bunch with 'distances' and 'nearest')."
        )
    n_images = check_int(n_images, "n_images")
    if order not in ("closest", "random"):
        raise ValueError(f"order must be 'closest' or 'random', got {order!r}.")
    train = check_image_array(train, name="train")
    synthetic = check_image_array(synthetic, name="synthetic")
    if len(synthetic) != len(result.nearest) or len(train) <= result.nearest.max():
        raise ValueError(
            f"result describes {len(result.nearest)} synthetic samples with "
            f"nearest training indices up to {result.nearest.max()}, but "
            f"{len(synthetic)} synthetic and {len(train)} training images were "
            "passed: pass the images the result was computed from."
        )
    shapes = [infer_image_shape(X.shape[1:], image_shape) for X in (train, synthetic)]
    if shapes[0] != shapes[1]:
        raise ValueError(
            f"train images are {shapes[0]} but synthetic images are {shapes[1]}."
        )
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "plot_nearest_training_images needs matplotlib, an optional "
            "dependency of skgan. Install it with: pip install skgan[plots]  "
            "(or: pip install matplotlib)."
        ) from exc
    n = min(n_images, len(synthetic))
    if order == "closest":
        chosen = np.argsort(result.distances, kind="stable")[:n]
    else:
        chosen = check_random_state(random_state).choice(len(synthetic), n, False)
    from ..plotting import plot_image_grid

    images = np.concatenate(
        [
            to_nhwc(synthetic[chosen], shapes[0]),
            to_nhwc(train[result.nearest[chosen]], shapes[0]),
        ]
    )
    fig = plot_image_grid(
        images,
        labels=np.repeat([0, 1], n),
        label_names={0: "synthetic", 1: "nearest\ntraining"},
        n_cols=n,
        data_range=data_range,
        padding=_PADDING,
        figsize=(1.0 * n + 1.6, 3.0) if figsize is None else figsize,
        title="Synthetic images and their nearest training images",
    )
    ax = fig.axes[0]
    width = shapes[0][1]
    ax.set_xticks(
        [_PADDING + i * (width + _PADDING) + (width - 1) / 2 for i in range(n)],
        [f"{d:.3g}" for d in result.distances[chosen]],
    )
    ax.set_xlabel("distance to the nearest training sample (feature space)")
    fig.tight_layout()
    return fig
