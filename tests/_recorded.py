"""Comparisons with numbers recorded on another machine.

PyTorch gives bit-identical results for a seed on one machine and software
stack, not across CPU kinds: its oneDNN and MKL kernels pick their code by the
instruction set (AVX2, AVX-512, ...), and summation orders differ in the last
bits. Tests that compare two runs made in the same process stay exact; tests
that compare with a file or a value written elsewhere use :func:`assert_recorded`.

The tolerance, ``RELATIVE_TOLERANCE`` of the recorded array's span, sits between
what was measured (``tests/data/README.md``): the same fits under
``ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=AVX2`` drift by at most 1.2e-6
of the span, while the smallest real change tried (training on images scaled to
[0, 2] instead of [-1, 1]) moves them by 6e-3, one training step more by 0.17
and another seed by 1.0 or more.
"""

import numpy as np

__all__ = ["RELATIVE_TOLERANCE", "assert_recorded", "recorded_deviation"]

RELATIVE_TOLERANCE = 1e-4


def recorded_deviation(actual, recorded):
    """Largest absolute difference, as a share of the recorded array's span."""
    actual = np.asarray(actual, dtype=np.float64)
    recorded = np.asarray(recorded, dtype=np.float64)
    if actual.shape != recorded.shape:
        raise AssertionError(f"shape {actual.shape} != recorded {recorded.shape}")
    span = np.ptp(recorded) if recorded.size else 0.0
    scale = span if span > 0 else max(np.abs(recorded).max(initial=0.0), 1.0)
    return float(np.abs(actual - recorded).max(initial=0.0) / scale)


def assert_recorded(actual, recorded, *, what="values"):
    """Assert that ``actual`` matches numbers recorded on another machine.

    Floats may differ by ``RELATIVE_TOLERANCE`` of the recorded span; integers
    (images in the user's uint8 layout, rounded from floats) by one level,
    where a float at a rounding boundary lands on the other side.
    """
    actual = np.asarray(actual)
    recorded = np.asarray(recorded)
    assert actual.dtype == recorded.dtype, (what, actual.dtype, recorded.dtype)
    if actual.dtype.kind in "biu":
        if actual.shape != recorded.shape:
            raise AssertionError(f"{what}: shape {actual.shape} != {recorded.shape}")
        diff = np.abs(actual.astype(np.int64) - recorded.astype(np.int64))
        assert diff.max(initial=0) <= 1, f"{what}: integers differ by {diff.max()}"
        return
    deviation = recorded_deviation(actual, recorded)
    assert deviation <= RELATIVE_TOLERANCE, (
        f"{what} differ from the recorded ones by {deviation:.3g} of their span "
        f"(tolerance {RELATIVE_TOLERANCE:g}): more than float rounding across "
        "CPU kinds explains"
    )
