"""synthetic_data_report equals its parts; plot_nearest_training_images."""

import inspect
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.neighbors import KNeighborsClassifier

import skgan.metrics as m

NONE = {"feature_extractor": None}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.uint8)  # 0..16 held in uint8 images
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    return X, y, idx[:600], idx[600:1000], idx[1000:1400]


class Counting:
    """A callable extractor that counts the images it sees."""

    def __init__(self):
        self.seen = 0

    def __call__(self, batch):
        self.seen += len(batch)
        return batch.reshape(len(batch), -1)[:, ::4]


def test_report_equals_the_individual_metrics(digits):
    X, y, tr, sy, te = digits
    f = [X[i].astype(np.float64)[:, ::3] for i in (tr, sy, te)]
    clf = KNeighborsClassifier()
    r = m.synthetic_data_report(
        f[0],
        f[1],
        test=f[2],
        y_train=y[tr],
        y_synthetic=y[sy],
        y_test=y[te],
        classifier=clf,
        random_state=0,
        **NONE,
    )
    assert r.fid == m.frechet_distance(f[0], f[1])
    assert (r.precision, r.recall) == m.precision_recall(f[0], f[1], **NONE)
    assert (r.density, r.coverage) == m.density_coverage(f[0], f[1], **NONE)
    mem = m.memorization(f[0], f[1], test=f[2], random_state=0, **NONE)
    for key, value in mem.items():
        np.testing.assert_array_equal(r.memorization[key], value)
    for tag, i in (("tstr", sy), ("trtr", tr)):
        pred = clone(clf).fit(f[0 if tag == "trtr" else 1], y[i]).predict(f[2])
        assert r.utility[f"{tag}_accuracy"] == accuracy_score(y[te], pred)
        assert r.utility[f"{tag}_balanced_accuracy"] == balanced_accuracy_score(
            y[te], pred
        )
    assert (r.n_train, r.n_synthetic, r.n_test, r.n_features) == (600, 400, 400, 22)
    assert f"{r.precision:.3f}" in r.summary and "KNeighborsClassifier" in r.summary
    assert f"{r.memorization.data_copying_z:.2f}" in r.summary


def test_features_are_computed_once_and_copies_are_flagged(digits):
    X, _, tr, _, te = digits
    counting = Counting()
    copies = X[tr][::-1]
    r = m.synthetic_data_report(
        X[tr], copies, test=X[te], feature_extractor=counting, random_state=0
    )
    assert counting.seen == 600 + 600 + 400
    assert r.memorization.copy_fraction == 1.0
    assert r.memorization.data_copying_z < -3
    assert r.precision == r.recall == r.coverage == 1.0
    assert r.utility is None and "utility" not in r.summary


def test_end_to_end_with_a_frozen_pca_and_images_in_other_layouts(digits):
    X, y, tr, sy, te = digits
    pca = FrozenEstimator(PCA(10, random_state=0).fit(X[tr]))
    images = X.reshape(-1, 8, 8)
    r = m.synthetic_data_report(
        images[tr],
        X[sy],
        test=images[te, :, :, None],
        y_train=y[tr],
        y_synthetic=y[sy],
        y_test=y[te],
        classifier=KNeighborsClassifier(),
        feature_extractor=pca,
        random_state=0,
    )
    assert r.n_features == 10
    assert 0 <= r.memorization.copy_fraction < 0.05  # fresh digits, not copies
    assert abs(r.memorization.data_copying_z) < 3
    assert r.utility.tstr_accuracy > 0.8 and r.utility.trtr_accuracy > 0.8


def _never_called(batch):
    raise AssertionError("the extractor ran before the inputs were validated")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"classifier": LogisticRegression()},
            ValueError,
            "missing: y_train, y_synthetic, y_test, test",
        ),
        ({"y_train": np.zeros(30)}, ValueError, "missing: classifier"),
        (
            {
                "classifier": "svm",
                "y_train": np.zeros(30),
                "y_synthetic": np.zeros(30),
                "y_test": np.zeros(30),
                "test": np.zeros((30, 16)),
            },
            TypeError,
            "classifier must be a scikit-learn classifier",
        ),
        (
            {
                "classifier": LogisticRegression(),
                "y_train": np.zeros(29),
                "y_synthetic": np.zeros(30),
                "y_test": np.zeros(30),
                "test": np.zeros((30, 16)),
            },
            ValueError,
            "y_train has 29 labels but train has 30",
        ),
        (
            {
                "classifier": LogisticRegression(),
                "y_train": np.linspace(0, 1, 30),
                "y_synthetic": np.zeros(30),
                "y_test": np.zeros(30),
                "test": np.zeros((30, 16)),
            },
            ValueError,
            "Unknown label type",
        ),
        (
            {
                "classifier": LogisticRegression(),
                "y_train": np.zeros(30),
                "y_synthetic": np.zeros(30),
                "y_test": np.zeros(30),
                "test": np.zeros((30, 25)),
            },
            ValueError,
            "one width",
        ),
        ({"percentile": -1}, ValueError, "percentile"),
        ({"n_cells": 40, "test": np.zeros((30, 16))}, ValueError, "n_cells=40"),
    ],
)
def test_bad_input_is_refused_before_any_work(kwargs, error, match):
    images = np.zeros((30, 16), dtype=np.uint8)
    with pytest.raises(error, match=match):
        m.synthetic_data_report(
            images, images, feature_extractor=_never_called, **kwargs
        )


def test_too_few_samples_for_the_neighbour_metrics():
    with pytest.raises(ValueError, match="minimum of 6"):
        m.synthetic_data_report(np.zeros((5, 3)), np.zeros((10, 3)), **NONE)


def test_plot_shows_the_closest_pairs(digits):
    pytest.importorskip("matplotlib")
    X, _, tr, sy, te = digits
    synthetic = np.concatenate([X[tr][:3], X[sy]])
    report = m.synthetic_data_report(X[tr], synthetic, test=X[te], **NONE)
    fig = m.plot_nearest_training_images(X[tr], synthetic, report, n_images=5)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    closest = np.sort(report.memorization.distances)[:5]
    assert labels == [f"{d:.3g}" for d in closest] and closest[:3].tolist() == [0] * 3
    mem = m.memorization(X[tr], synthetic, **NONE)
    fig = m.plot_nearest_training_images(
        X[tr], synthetic, mem, n_images=4, order="random", random_state=0
    )
    assert len(fig.axes[0].get_xticks()) == 4


def test_plot_refuses_bad_input(digits, monkeypatch):
    X, _, tr, sy, _ = digits
    mem = m.memorization(X[tr], X[sy], **NONE)
    with pytest.raises(TypeError, match="result must be what memorization"):
        m.plot_nearest_training_images(X[tr], X[sy], {"distances": 1})
    with pytest.raises(ValueError, match="pass the images the result"):
        m.plot_nearest_training_images(X[tr], X[sy][:10], mem)
    with pytest.raises(ValueError, match="order must be"):
        m.plot_nearest_training_images(X[tr], X[sy], mem, order="far")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install skgan\\[plots\\]"):
        m.plot_nearest_training_images(X[tr], X[sy], mem)


EXTRACTOR_PARAMS = {
    "feature_extractor": "inception",
    "image_shape": None,
    "data_range": None,
    "batch_size": 64,
    "device": "auto",
    "weights_path": None,
    "verbose": 0,
}
EXTRACTOR_FUNCTIONS = [
    m.extract_features,
    m.frechet_inception_distance,
    m.compute_reference_statistics,
    m.kernel_inception_distance,
    m.inception_score,
    m.precision_recall,
    m.density_coverage,
    m.memorization,
    m.synthetic_data_report,
]


@pytest.mark.parametrize("func", EXTRACTOR_FUNCTIONS, ids=lambda f: f.__name__)
def test_extractor_keywords_are_in_every_public_signature(func):
    params = inspect.signature(func).parameters
    got = {n: p.default for n, p in params.items() if n in EXTRACTOR_PARAMS}
    assert got == EXTRACTOR_PARAMS
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in got)
    assert "ex" not in params and "{common}" not in func.__doc__
    n_args = sum(p.default is inspect.Parameter.empty for p in params.values())
    args = [np.zeros((4, 2))] * n_args
    name = func.__name__
    with pytest.raises(TypeError, match=rf"{name}\(\) got an unexpected .* 'ex'"):
        func(*args, ex=None)
    with pytest.raises(TypeError, match=rf"{name}\(\) too many positional"):
        func(*args, np.zeros((4, 2)))
    with pytest.raises(TypeError, match=rf"{name}\(\) missing a required"):
        func(*args[1:])


def test_report_prints_one_line_per_phase_when_verbose(capsys):
    rng = np.random.default_rng(0)
    train, test, fake = (rng.normal(size=(120, 4)) for _ in range(3))
    y = np.arange(120) % 2
    kwargs = dict(test=test, feature_extractor=None, random_state=0)
    m.synthetic_data_report(train, fake, **kwargs)
    assert capsys.readouterr() == ("", "")
    m.synthetic_data_report(
        train,
        fake,
        y_train=y,
        y_synthetic=y,
        y_test=y,
        classifier=LogisticRegression(),
        verbose=1,
        **kwargs,
    )
    lines = capsys.readouterr().out.splitlines()
    report = [line for line in lines if line.startswith("[synthetic_data_report]")]
    assert [line.split(" - ")[1] for line in report] == [
        "features",
        "Frechet distance",
        "precision and recall",
        "density and coverage",
        "memorization",
        "utility (train on synthetic, test on real)",
    ]
    assert report[0].startswith("[synthetic_data_report] 1/6 phases, elapsed ")
    assert report[-1].split(" - ")[0].endswith(", done")
    assert any(line.startswith("[memorization] 3/3 phases") for line in lines)
