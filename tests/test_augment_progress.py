"""SyntheticAugmenter(verbose=...): one line per phase, nothing when silent."""

import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skgan import SyntheticAugmenter
from tests._tiny import tiny_gan


@pytest.fixture(scope="module")
def three_classes():
    X, y = load_digits(return_X_y=True)
    keep = np.concatenate(
        [
            np.flatnonzero(y == 0),
            np.flatnonzero(y == 1)[:20],
            np.flatnonzero(y == 2)[:12],
        ]
    )
    return X[np.sort(keep)], y[np.sort(keep)]


def gan_augmenter(**params):
    """An augmenter that trains tiny GANs and adds half generated images."""
    params = {
        "synthetic_share": 0.5,
        "near_copy_quantile": None,
        "class_check": None,  # tiny GANs draw no recognisable digit
    } | params
    return SyntheticAugmenter(estimator=tiny_gan(), random_state=0, **params)


LINE = re.compile(
    r"^\[SyntheticAugmenter\] (\d+)/(\d+) phases, elapsed [\dhms.]+, "
    r"(about [\dhms.]+ left|done) - (.+)$"
)


def phases(text):
    lines = text.strip().splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [(int(m[1]), int(m[2]), m[4]) for m in matches]


@pytest.mark.parametrize(
    "mode, expected",
    [
        (
            "finetune",
            [
                "pre-trained a GAN on all 210 images",
                "fine-tuned a copy on class 1 (20 images)",
                "fine-tuned a copy on class 2 (12 images)",
                "generated and selected 79 images of class 1",
                "generated and selected 83 images of class 2",
                "added 324 images (about half of them transformed)",
            ],
        ),
        (
            "conditional",
            [
                "trained a conditional GAN on 210 images",
                "generated and selected 79 images of class 1",
                "generated and selected 83 images of class 2",
                "added 324 images (about half of them transformed)",
            ],
        ),
    ],
)
def test_verbose_prints_each_phase(three_classes, capsys, mode, expected):
    X, y = three_classes
    gan_augmenter(mode=mode, verbose=1).fit_resample(X, y)
    reported = phases(capsys.readouterr().out)
    assert [detail for _, _, detail in reported] == expected
    assert [done for done, _, _ in reported] == list(range(1, len(expected) + 1))
    assert {total for _, total, _ in reported} == {len(expected)}


def test_verbose_two_adds_the_gans_own_progress(three_classes, capsys):
    X, y = three_classes
    gan_augmenter(verbose=2).fit_resample(X, y)
    out = capsys.readouterr().out
    assert out.count("[fit]") >= 3  # pre-training and two fine-tuned copies
    assert out.count("[SyntheticAugmenter]") == 6


def test_copies_only_and_fit_generate(three_classes, capsys):
    X, y = three_classes
    SyntheticAugmenter(synthetic_share=0, random_state=0, verbose=1).fit_resample(X, y)
    assert phases(capsys.readouterr().out) == [
        (1, 1, "added 324 images (about half of them transformed)")
    ]
    gan_augmenter(verbose=1).fit_generate(X, y, n_per_class=5)
    details = [detail for _, _, detail in phases(capsys.readouterr().out)]
    assert details[0] == "pre-trained a GAN on all 210 images"
    assert len(details) == 7  # pre-training, three copies, three selections


def test_silent_by_default_and_results_do_not_depend_on_verbose(three_classes, capsys):
    X, y = three_classes
    quiet = gan_augmenter().fit_resample(X, y)
    assert capsys.readouterr().out == ""
    loud = gan_augmenter(verbose=2).fit_resample(X, y)
    np.testing.assert_array_equal(quiet[0], loud[0])


def test_bad_verbose_is_refused(three_classes):
    X, y = three_classes
    with pytest.raises(ValueError, match="verbose"):
        SyntheticAugmenter(verbose=-1).fit_resample(X, y)
