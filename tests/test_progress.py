"""The shared progress lines (skgan.utils._progress), on a fake clock."""

import io

import pytest

from skgan.utils._progress import (
    ProgressReporter,
    format_duration,
    progress_line,
    track,
)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0.0s"),
        (12.34, "12.3s"),
        (59.9, "59.9s"),
        (60, "1m00s"),
        (125.4, "2m05s"),
        (3725, "1h02m"),
        (-1, "0.0s"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_progress_line_estimates_the_time_left_from_the_pace():
    line = progress_line("fit", 3, 10, 12.3, unit="epochs", detail="d_loss 1.0")
    assert line == "[fit] 3/10 epochs, elapsed 12.3s, about 28.7s left - d_loss 1.0"
    assert progress_line("x", 4, 4, 2.0) == "[x] 4/4, elapsed 2.0s, done"
    assert progress_line("x", 0, 4, 2.0).endswith("time left unknown")
    assert progress_line("x", 1, 4, 2.0, left=1.0).endswith("about 1.0s left")


def test_reporter_prints_each_update_to_stdout_when_verbose(capsys):
    clock = Clock()
    progress = ProgressReporter("fit", 4, verbose=1, unit="epochs", clock=clock)
    for _ in range(4):
        clock.now += 2.0
        progress.update(detail="loss")
    out = capsys.readouterr().out.splitlines()
    assert out == progress.lines
    assert out == [
        "[fit] 1/4 epochs, elapsed 2.0s, about 6.0s left - loss",
        "[fit] 2/4 epochs, elapsed 4.0s, about 4.0s left - loss",
        "[fit] 3/4 epochs, elapsed 6.0s, about 2.0s left - loss",
        "[fit] 4/4 epochs, elapsed 8.0s, done - loss",
    ]


def test_reporter_is_silent_when_not_verbose(capsys):
    progress = ProgressReporter("fit", 3, verbose=0)
    calls = []
    for _ in range(3):
        assert progress.update(detail=lambda: calls.append(1)) is None
    assert capsys.readouterr().out == "" and progress.lines == [] and not calls
    assert progress.done == 3


def counts(progress):
    return [line.split()[1].rstrip(",") for line in progress.lines]


def test_every_and_min_interval_thin_the_lines_but_keep_the_last():
    clock, out = Clock(), io.StringIO()
    progress = ProgressReporter("fit", 10, verbose=1, every=4, clock=clock, file=out)
    for done in (1, 3, 5, 6, 9, 10):
        progress.update(done)
    assert counts(progress) == ["5/10", "9/10", "10/10"]
    slow = ProgressReporter("f", 5, verbose=2, min_interval=1.0, clock=clock, file=out)
    for _ in range(5):
        clock.now += 0.4
        slow.update()
    # 0.4 s per unit: lines at 1.2 s (3 units) and for the last one.
    assert counts(slow) == ["3/5", "5/5"]
    assert out.getvalue().count("\n") == 5


def test_time_limit_caps_the_estimate():
    clock = Clock()
    progress = ProgressReporter(
        "fit", 100, verbose=1, time_limit=10.0, clock=clock, file=io.StringIO()
    )
    clock.now += 4.0
    assert progress.update().endswith("about 6.0s left")


def test_track_yields_items_and_prints_one_line_each(capsys):
    items = list(
        track(
            ["a", "b"],
            "augment",
            verbose=1,
            unit="classes",
            detail=lambda c: f"class {c}",
        )
    )
    assert items == ["a", "b"]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("[augment] 1/2 classes, elapsed")
    assert lines[1].endswith("done - class b")
    assert list(track([], "x", verbose=1)) == []
    assert list(track(iter([1]), "x", total=1)) == [1]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"total": 0}, ValueError),
        ({"total": 2.5}, TypeError),
        ({"verbose": -1}, ValueError),
        ({"verbose": "1"}, TypeError),
        ({"every": 0}, ValueError),
        ({"phase": 3}, TypeError),
    ],
)
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        ProgressReporter(**({"phase": "x", "total": 2} | kwargs))


def test_force_prints_a_line_that_is_not_due():
    out = io.StringIO()
    progress = ProgressReporter("fit", 100, verbose=1, every=50, file=out)
    assert progress.update() is None
    assert progress.update(force=True).startswith("[fit] 2/100, elapsed ")
    quiet = ProgressReporter("fit", 100, verbose=0, file=out)
    assert quiet.update(force=True) is None and out.getvalue().count("\n") == 1
