"""
Grid search on a Dask cluster
=============================

The same :class:`~sklearn.model_selection.GridSearchCV` as on one machine, with
its fits sent to the workers of a Dask cluster through joblib's ``"dask"``
backend. Here the "cluster" is a :class:`~dask.distributed.LocalCluster` of two
single-threaded worker processes on this machine; on a real cluster, connect
the :class:`~dask.distributed.Client` to its scheduler instead, e.g.
``Client("tcp://scheduler:8786")``, with skgan installed on every worker.

Needs ``pip install "dask[distributed]"``; without it the script says so and
exits. It is not run when the documentation is built. See :ref:`scaling`.
"""

import joblib
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, KFold

from skgan import DCGANEstimator


def make_search(X):
    """A small search: two losses x two generator learning rates, two folds."""
    gan = DCGANEstimator(
        noise_dim=32,
        epochs=2,
        batch_size=32,
        generator_width=16,
        discriminator_width=16,
        # FID in the space of a PCA fitted once on the images: no download.
        feature_extractor=FrozenEstimator(PCA(n_components=16, random_state=0).fit(X)),
        device="cpu",
        random_state=0,
    )
    param_grid = {"loss": ["bce", "hinge"], "generator_lr": [2e-4, 1e-3]}
    cv = KFold(2, shuffle=True, random_state=0)
    # n_jobs=-1: as many fits at a time as the cluster has worker threads.
    return GridSearchCV(gan, param_grid, cv=cv, n_jobs=-1)


def main(n_workers=2, n_samples=600):
    """Run the search on a local Dask cluster; None if Dask is not installed."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print(
            "dask.distributed is not installed, so this example does nothing. "
            'Install it with: pip install "dask[distributed]"'
        )
        return None

    X = load_digits().data[:n_samples]
    search = make_search(X)
    # One thread per worker process: each worker runs one fit at a time.
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        print("torch threads per worker:", client.run(torch.get_num_threads))
        with joblib.parallel_config(backend="dask"):
            search.fit(X)
    print("best parameters:", search.best_params_)
    print(f"best cross-validated score (-FID in PCA space): {search.best_score_:.3f}")
    return search


if __name__ == "__main__":
    main()
