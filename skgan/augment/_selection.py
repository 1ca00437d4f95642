"""Choosing which generated images to add: class check, near-copy guard,
discriminator scores.

Also the fine-tuning helper that freezes the discriminator's first stages.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..metrics import nearest_neighbors

#: Principal components of the class check's feature space.
CHECK_COMPONENTS = 10
#: A candidate farther from its class's centre than this quantile of the
#: class's own real images is "far from the class".
FAR_QUANTILE = 0.95
#: Classes with fewer real images skip the distance test (a single image
#: has no extent).
FAR_MIN_IMAGES = 2
#: Images per class the class check is fitted on, at most (a fixed random
#: subset of larger classes): ``max(CHECK_MIN_PER_CLASS, CHECK_TOTAL // k)``.
CHECK_TOTAL, CHECK_MIN_PER_CLASS = 5000, 500
#: Share of a class's candidates rejected by the class check above which the
#: augmenter warns.
HIGH_REJECTION = 0.5


def nearest_distances(reference, query):
    """Distance from each row of ``query`` to its nearest ``reference`` row."""
    return nearest_neighbors(reference, query)[0]


def near_copy_threshold(images, quantile):
    """The ``quantile`` of a class's distances from each image to its nearest
    other image of the class."""
    flat = images.reshape(images.shape[0], -1)
    return float(np.quantile(nearest_neighbors(flat)[0], quantile))


def discriminator_scores(model, images, label=None):
    """The fitted discriminator's realness logit of each image (higher: more real).

    ``images`` are in the layout the model was trained on; ``label`` is the
    class to judge them as, for a conditional model.
    """
    network = model.discriminator_
    was_training = network.training
    network.eval()
    scores = np.empty(images.shape[0])
    try:
        with torch.inference_mode():
            for start in range(0, images.shape[0], 256):
                batch = torch.from_numpy(
                    model.image_layout_.to_model(images[start : start + 256])
                ).to(model.device_)
                labels = None
                if label is not None:
                    index = int(np.flatnonzero(model.classes_ == label)[0])
                    labels = torch.full(
                        (batch.shape[0],), index, dtype=torch.long, device=model.device_
                    )
                scores[start : start + batch.shape[0]] = (
                    network(batch, labels).float().cpu().numpy()
                )
    finally:
        network.train(was_training)
    return scores


def freeze_discriminator_stages(model, n_stages):
    """Stop training the first ``n_stages`` stages of a fitted discriminator.

    A stage is a convolution with what follows it up to the next convolution
    (normalisation, activation, dropout). Values above the number of stages
    freeze them all: only the final linear layer (and a conditional model's
    label projection) keeps learning. The optimiser skips parameters that
    never receive a gradient.
    """
    if n_stages <= 0:
        return
    stage = -1
    for layer in model.discriminator_.features:
        if isinstance(layer, torch.nn.Conv2d):
            stage += 1
        if stage < n_stages:
            layer.requires_grad_(False)


def default_class_classifier():
    """The classifier of ``class_check="auto"``: standardized principal
    components of the flattened images, then a class-balanced logistic
    regression."""
    return make_pipeline(
        PCA(CHECK_COMPONENTS, random_state=0),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=1000),
    )


def _check_rows(y):
    """Rows the class check is fitted on: every image of the smaller classes,
    a fixed random subset of the larger ones."""
    labels = np.unique(y)
    cap = max(CHECK_MIN_PER_CLASS, CHECK_TOTAL // len(labels))
    draws = np.random.RandomState(0)  # fixed: the sampling streams stay as they are
    rows = []
    for label in labels:
        own = np.flatnonzero(y == label)
        if len(own) > cap:
            own = np.sort(draws.choice(own, cap, replace=False))
        rows.append(own)
    return np.sort(np.concatenate(rows))


class ClassCheck:
    """Does a generated image carry its class? Fitted on the real images of a call.

    Two tests, after Xue et al. (2019): a classifier of the real images must
    give the image's class a probability of at least ``threshold``, and the
    image must lie no farther from its class's real images than most of
    them do. Distances are taken in the standardized principal components
    of the real images (plus the part of the image the components leave
    out, divided by its median over the real images), from the class's
    mean; "far" is beyond the ``FAR_QUANTILE`` of the distances of the
    class's own images, each from the mean of the others.

    Parameters
    ----------
    classifier : "auto" or classifier
        ``"auto"`` uses :func:`default_class_classifier`; any other is cloned
        and fitted on the flattened images (it needs ``predict_proba``).
    threshold : float
        Smallest probability of its class an image may get.
    """

    def __init__(self, classifier, threshold):
        self.classifier = classifier
        self.threshold = threshold

    def fit(self, X, y):
        rows = _check_rows(y)
        images = X[rows]
        # Values as a share of the largest: float32 rows with no overflow.
        largest = max(abs(float(images.max())), abs(float(images.min())))
        self.unit_ = largest if largest > 0 else 1.0
        flat = _float_rows(images, self.unit_)
        y = y[rows]
        components = min(CHECK_COMPONENTS, len(flat) - 1, flat.shape[1])
        if isinstance(self.classifier, str):
            model = default_class_classifier()
            model.set_params(pca__n_components=components)
            self.classifier_ = model.fit(flat, y)
            self.pca_ = model[0]
        else:
            self.classifier_ = clone(self.classifier).fit(flat, y)
            self.pca_ = PCA(components, random_state=0).fit(flat)
        self.classes_ = list(getattr(self.classifier_, "classes_", np.unique(y)))
        scores, residual = self._project(flat, standardize=False)
        spread = scores.std(axis=0)
        # A component the images do not vary along (constant images) is left
        # unscaled, like StandardScaler does.
        self.scale_ = np.where(
            spread > 1e-9 * max(float(spread.max()), 0.0), spread, 1.0
        )
        scores = scores / self.scale_
        # The components may hold the whole image (few pixels): no residual
        # then, beyond rounding.
        median = float(np.median(residual))
        size = float(np.median(np.linalg.norm(flat - flat.mean(axis=0), axis=1)))
        self.residual_scale_ = median if median > 1e-4 * size else None
        self.extent_ = {}
        for label in np.unique(y):
            own = scores[y == label]
            n = len(own)
            if n < FAR_MIN_IMAGES:
                self.extent_[label] = None
                continue
            centre = own.mean(axis=0)
            # Each image's distance from the mean of the others: (x - m) scaled
            # by n / (n - 1); the left-out part stays.
            distances = self._distances(
                centre + (own - centre) * n / (n - 1), residual[y == label], centre
            )
            self.extent_[label] = (centre, float(np.quantile(distances, FAR_QUANTILE)))
        return self

    def _project(self, flat, standardize=True):
        scores = self.pca_.transform(flat)
        back = self.pca_.inverse_transform(scores)
        residual = np.linalg.norm(flat - back, axis=1)
        if standardize:
            scores = scores / self.scale_
        return scores, residual

    def _distances(self, scores, residual, centre):
        squared = ((scores - centre) ** 2).sum(axis=1)
        if self.residual_scale_ is not None:
            squared += (residual / self.residual_scale_) ** 2
        return np.sqrt(squared)

    def test(self, images, label):
        """``(confident, near)``: boolean masks of the images that the
        classifier gives ``label`` a probability of at least ``threshold``,
        and of those no farther from the class than ``FAR_QUANTILE`` of its
        real images (all True for a class of a single image)."""
        flat = _float_rows(images, self.unit_)
        column = self.classes_.index(label)
        confident = self.classifier_.predict_proba(flat)[:, column] >= self.threshold
        extent = self.extent_.get(label)
        if extent is None:
            return confident, np.ones(len(flat), dtype=bool)
        centre, radius = extent
        scores, residual = self._project(flat)
        return confident, self._distances(scores, residual, centre) <= radius


def _float_rows(images, unit):
    """Images as flattened float32 rows, divided by ``unit``."""
    flat = np.asarray(images.reshape(len(images), -1), dtype=np.float32)
    return flat / np.float32(unit)


def select_candidates(candidates, n, *, scores=None, distances=None, threshold=None):
    """Indices of at most ``n`` candidates to keep, best first.

    Candidates nearer than ``threshold`` to a training image (``distances``)
    are dropped; of the rest, the ``n`` with the highest ``scores`` are kept
    (all in order when ``scores`` is None).
    """
    keep = np.arange(len(candidates))
    if threshold is not None:
        keep = keep[distances[keep] >= threshold]
    if scores is not None:
        keep = keep[np.argsort(-scores[keep], kind="stable")]
    return keep[:n]


#: Keys of a class's selection report, in the order the tests run.
REPORT_KEYS = (
    "candidates",
    "rejected_class",
    "rejected_far",
    "rejected_near_copy",
    "not_selected",
    "kept",
    "copies",
)


def draw_selected(
    model,
    n,
    rng,
    *,
    label,
    reference,
    threshold,
    candidate_factor,
    max_rounds,
    check=None,
):
    """Up to ``n`` generated images of one class, chosen from rounds of candidates.

    Each round samples ``candidate_factor * n`` candidates from ``model``
    (of class ``label`` for a conditional model), drops those ``check``
    rejects (a callable returning the masks of :meth:`ClassCheck.test` for
    the candidates; None checks nothing), then those nearer than
    ``threshold`` to a ``reference`` row (flattened training images of the
    class; no guard when ``threshold`` is None), and keeps the ones the
    discriminator scores as most real (all in order when ``candidate_factor``
    is 1), until ``n`` are kept or ``max_rounds`` rounds have run. Each round
    draws its seed from ``rng``.

    Returns the kept images and a report: ``{key: count}`` for the
    ``REPORT_KEYS`` (each candidate counted once, at the first test it
    fails; ``not_selected`` passed every test but was not needed or ranked
    lower; ``copies`` is ``n`` minus ``kept``).
    """
    n_candidates = max(n, math.ceil(candidate_factor * n))

    def draw():
        seed = rng.randint(np.iinfo(np.int32).max)
        if label is not None:
            candidates, _ = model.sample(n_candidates, random_state=seed, y=label)
        else:
            candidates = model.sample(n_candidates, random_state=seed)
        return candidates, lambda pool: discriminator_scores(
            model, candidates[pool], label
        )

    return select_in_rounds(
        draw,
        n,
        reference=reference,
        threshold=threshold,
        candidate_factor=candidate_factor,
        max_rounds=max_rounds,
        check=check,
    )


def select_in_rounds(
    draw, n, *, reference, threshold, candidate_factor, max_rounds, check=None
):
    """The rounds of :func:`draw_selected`, for any way of drawing candidates.

    ``draw()`` returns one round's candidates and a function that scores the
    candidates at given indices (higher is more real). Returns the kept
    images and the report of :func:`draw_selected`.
    """
    report = dict.fromkeys(REPORT_KEYS, 0)
    kept, n_kept = [], 0
    for _ in range(max_rounds):
        candidates, score = draw()
        pool = np.arange(len(candidates))
        if check is not None:
            confident, near = check(candidates)
            report["rejected_class"] += int(np.sum(~confident))
            report["rejected_far"] += int(np.sum(confident & ~near))
            pool = np.flatnonzero(confident & near)
        distances = None
        if threshold is not None:
            distances = np.empty(0)
            if len(pool):
                distances = nearest_distances(
                    reference, candidates[pool].reshape(len(pool), -1)
                )
            report["rejected_near_copy"] += int(np.sum(distances < threshold))
        scores = None
        if candidate_factor > 1 and len(pool):
            scores = score(pool)
        index = pool[
            select_candidates(
                pool,
                n - n_kept,
                scores=scores,
                distances=distances,
                threshold=threshold,
            )
        ]
        report["candidates"] += len(candidates)
        kept.append(candidates[index])
        n_kept += len(index)
        if n_kept >= n:
            break
    report["kept"] = n_kept
    report["copies"] = n - n_kept
    report["not_selected"] = report["candidates"] - sum(
        report[key]
        for key in ("rejected_class", "rejected_far", "rejected_near_copy", "kept")
    )
    return np.concatenate(kept), report
