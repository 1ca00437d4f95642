"""The device paths of ``benchmarks/device_check.py``, as tests.

The checks live in ``benchmarks/_device_paths.py``; here each is one test, on
the CPU always and on CUDA under ``pytest -m cuda`` (skipped without a GPU).
A path that does not exist on a device must say so (``NotApplicable``); on
the CPU exactly the paths listed in ``CPU_NOT_APPLICABLE`` do.
"""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _device_paths as paths  # noqa: E402

CPU_NOT_APPLICABLE = {
    "precision float16",
    "data on the device",
    "data via pinned memory",
    "Inception features vs CPU",
    "peak device memory",
    "images/s vs CPU",
}
# Compiling takes ~30-45 s on two CPU cores; tests/test_speed_options.py
# compiles on the CPU already, and the CI's device_check.py run covers the row.
CPU_SKIPPED = {"torch_compile": "compiled in test_speed_options.py"}

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
        ],
    ),
]


def test_every_check_has_a_unique_name():
    names = [check.name for check in paths.CHECKS]
    assert len(set(names)) == len(names)
    assert CPU_NOT_APPLICABLE | set(CPU_SKIPPED) <= set(names)


@pytest.fixture(scope="module", params=DEVICES)
def context(request, tmp_path_factory):
    # One second per images/s measurement on the CPU: the figures are not
    # compared, only that both loops run.
    seconds = 0.5 if request.param == "cpu" else 3.0
    return paths.Context(request.param, tmp_path_factory.mktemp("device"), seconds)


@pytest.mark.parametrize("check", paths.CHECKS, ids=lambda check: check.name)
def test_device_path(context, check):
    if context.type == "cpu" and check.name in CPU_SKIPPED:
        pytest.skip(CPU_SKIPPED[check.name])
    try:
        outcome = check.run(context)
    except paths.NotApplicable as exc:
        assert str(exc), "a path that does not apply must say why"
        if context.type == "cpu":
            assert check.name in CPU_NOT_APPLICABLE, str(exc)
        pytest.skip(f"n/a on {context.type}: {exc}")
    assert context.type != "cpu" or check.name not in CPU_NOT_APPLICABLE
    assert outcome.figure


def test_a_failing_check_is_a_row_not_a_crash(tmp_path):
    def broken(ctx):
        raise RuntimeError("device lost\nmore")

    def absent(ctx):
        raise paths.NotApplicable("not on this device")

    ctx = paths.Context("cpu", tmp_path)
    row = paths.run_check(paths.Check("broken", broken), ctx)
    assert (row.status, row.figure) == ("fail", "RuntimeError")
    assert row.detail == "device lost"
    row = paths.run_check(paths.Check("absent", absent), ctx)
    assert (row.status, row.detail) == ("n/a", "not on this device")


def test_script_exits_nonzero_on_a_failure_and_writes_the_table(
    tmp_path, monkeypatch, capsys
):
    import device_check

    def broken(ctx):
        raise AssertionError("wrong device")

    def fine(ctx):
        return paths.Outcome("1 thing")

    monkeypatch.setattr(
        paths, "CHECKS", [paths.Check("fine", fine), paths.Check("broken", broken)]
    )
    out = tmp_path / "table.json"
    assert device_check.main(["--device", "cpu", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "FAILED: 1 passed, 1 failed, 0 n/a" in printed
    table = json.loads(out.read_text())
    assert [r["status"] for r in table["rows"]] == ["pass", "fail"]
    assert table["header"][0].startswith("device: CPU")
    monkeypatch.setattr(paths, "CHECKS", [paths.Check("fine", fine)])
    assert device_check.main(["--device", "cpu", "--out", str(tmp_path / "t.md")]) == 0
    assert "| fine | pass | 1 thing |" in (tmp_path / "t.md").read_text()
