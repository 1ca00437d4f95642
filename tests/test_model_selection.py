"""Parallel model selection: joblib workers give the sequential scores.

Training is bit-identical on the CPU for a given number of torch threads, but
not across thread counts: reductions split differently, and the differences
grow with training (on digits: the ninth significant digit after one tiny
epoch, up to 17 % of a fold's FID after eight epochs of 32-channel networks;
see docs/user_guide/scaling.rst). The equality tests therefore run the
sequential reference with the threads each loky worker gets, and pin that
number with ``inner_max_num_threads``. By default loky gives each of
``n_jobs`` workers ``cpu_count() // n_jobs`` threads, which
``test_loky_workers_limit_torch_threads`` checks.
"""

import contextlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from joblib import cpu_count, parallel_config
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_score,
    cross_validate,
)
from threadpoolctl import threadpool_limits

from tests._tiny import tiny_gan

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dask_grid_search.py"
CV = KFold(2, shuffle=True, random_state=0)
GRID = {"loss": ["bce", "hinge"], "generator_lr": [2e-4, 1e-3]}


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:160]


@contextlib.contextmanager
def threads(n):
    """Run torch and BLAS with ``n`` threads, as a loky worker limited to ``n``."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def record_threads(estimator, record):
    """Callback: note where and with how many torch threads an epoch ran."""
    record["pid"] = os.getpid()
    record["torch_threads"] = torch.get_num_threads()


def split_scores(search):
    results = search.cv_results_
    return np.array([results[f"split{i}_test_score"] for i in range(CV.n_splits)])


def test_grid_search_n_jobs_2_equals_n_jobs_1(digits):
    n_threads = torch.get_num_threads()
    with threads(n_threads):
        sequential = GridSearchCV(tiny_gan(), GRID, cv=CV, n_jobs=1, refit=False)
        sequential.fit(digits)
    with parallel_config(backend="loky", inner_max_num_threads=n_threads):
        parallel = GridSearchCV(tiny_gan(), GRID, cv=CV, n_jobs=2, refit=False)
        parallel.fit(digits)

    assert_array_equal(split_scores(parallel), split_scores(sequential))
    assert_array_equal(
        parallel.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
    )
    assert_array_equal(
        parallel.cv_results_["rank_test_score"],
        sequential.cv_results_["rank_test_score"],
    )


def test_cross_val_score_n_jobs_2_equals_n_jobs_1(digits):
    pca = FrozenEstimator(PCA(n_components=8, random_state=0).fit(digits))
    gan = tiny_gan(feature_extractor=pca, epochs=2)
    n_threads = torch.get_num_threads()
    with threads(n_threads):
        sequential = cross_val_score(gan, digits, cv=CV, n_jobs=1)
    with parallel_config(backend="loky", inner_max_num_threads=n_threads):
        parallel = cross_val_score(gan, digits, cv=CV, n_jobs=2)
    assert_array_equal(parallel, sequential)


def test_loky_workers_limit_torch_threads(digits, monkeypatch):
    # No explicit limit anywhere: loky's default, cpu_count() // n_jobs.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    result = cross_validate(
        tiny_gan(callbacks=[record_threads]),
        digits,
        cv=CV,
        n_jobs=2,
        return_estimator=True,
    )
    records = [estimator.history_[-1] for estimator in result["estimator"]]
    assert all(record["pid"] != os.getpid() for record in records)
    for record in records:
        assert 1 <= record["torch_threads"] <= max(cpu_count() // 2, 1)


def load_example():
    spec = importlib.util.spec_from_file_location("dask_grid_search", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def test_dask_example_without_dask_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    assert load_example().main() is None
    assert "dask.distributed is not installed" in capsys.readouterr().out


def test_dask_example_runs_and_matches_sequential_search(digits):
    pytest.importorskip("dask.distributed")
    example = load_example()

    search = example.main(n_workers=2, n_samples=len(digits))

    assert search.best_params_ in search.cv_results_["params"]
    # Dask's worker processes start with OMP_NUM_THREADS=1, as here.
    with threads(1):
        sequential = example.make_search(digits).set_params(n_jobs=1).fit(digits)
    assert_array_equal(split_scores(search), split_scores(sequential))
