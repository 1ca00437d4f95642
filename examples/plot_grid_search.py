"""
Choosing GAN hyperparameters with GridSearchCV
==============================================

:meth:`skgan.DCGANEstimator.score` returns minus the Fréchet distance between
held-out real images and as many generated ones, so higher is better and
:class:`~sklearn.model_selection.GridSearchCV` can pick hyperparameters by
cross-validation like for any other estimator.

The Fréchet distance is computed in the space of ``feature_extractor``. The
default, Inception features, needs the FID Inception weights (see
:ref:`metrics`); here a PCA fitted on the training images serves instead, so
the example needs no download. ``feature_extractor=None`` (raw pixels) works
too. Budgets are tiny (``max_time=`` bounds each fit) so that the search runs
in a minute or two on two CPU cores: the ranking is indicative only.
"""

# %%
# A fitted feature extractor that survives ``clone``
# --------------------------------------------------
# ``GridSearchCV`` clones the estimator for every fit, and
# :func:`sklearn.base.clone` also clones estimator-valued parameters, which
# *unfits* them. Wrapping the fitted PCA in
# :class:`sklearn.frozen.FrozenEstimator` makes ``clone`` keep it as it is.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, KFold, train_test_split

from skgan import DCGANEstimator
from skgan.plotting import plot_image_grid

X = load_digits().data
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
pca = FrozenEstimator(PCA(n_components=16, random_state=0).fit(X_train))

gan = DCGANEstimator(
    noise_dim=64,
    epochs=12,
    generator_width=32,
    discriminator_width=32,
    max_time=12,  # seconds per fit, a safety bound on slow machines
    feature_extractor=pca,
    random_state=0,
)

# %%
# The search
# ----------
# Two losses times two generator learning rates (TTUR: the discriminator's
# stays at 2e-4), two folds: eight fits, then one refit of the best candidate
# on all of ``X_train``. ``n_jobs=1``: torch already uses every core.
param_grid = {"loss": ["bce", "hinge"], "generator_lr": [2e-4, 1e-3]}
search = GridSearchCV(
    gan, param_grid, cv=KFold(2, shuffle=True, random_state=0), n_jobs=1
)
search.fit(X_train)

results = search.cv_results_
print(f"{'loss':6} {'generator_lr':>12} {'-FID (PCA)':>12} {'std':>6} {'fit s':>6}")
for params, mean, std, seconds in zip(
    results["params"],
    results["mean_test_score"],
    results["std_test_score"],
    results["mean_fit_time"],
):
    print(
        f"{params['loss']:6} {params['generator_lr']:12.0e} {mean:12.3f} "
        f"{std:6.3f} {seconds:6.1f}"
    )
print("best:", search.best_params_)

# %%
# Held-out score and samples of the refitted best model
# ------------------------------------------------------
# ``search.score`` calls the best estimator's ``score`` on images it never
# saw. The same FID in raw pixel space is computed by setting
# ``feature_extractor=None`` on the fitted model (it only affects ``score``).
best = search.best_estimator_
print(f"test -FID in PCA space:   {search.score(X_test):.3f}")
pixel_score = best.set_params(feature_extractor=None).score(X_test)
print(f"test -FID in pixel space: {pixel_score:.3f}")

labels = [f"{p['loss']}, lr {p['generator_lr']:.0e}" for p in results["params"]]
order = np.argsort(results["rank_test_score"])
fig, (ax_bar, ax_img) = plt.subplots(
    1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.2, 1]}
)
ax_bar.barh(
    [labels[i] for i in order][::-1],
    -results["mean_test_score"][order][::-1],
    xerr=results["std_test_score"][order][::-1],
    color="tab:blue",
)
ax_bar.set_xlabel("cross-validated FID in PCA space (lower is better)")
plot_image_grid(best.sample(36, random_state=0), n_cols=6, ax=ax_img)
ax_img.set_title(f"best: {labels[order[0]]}")
fig.tight_layout()
plt.show()
