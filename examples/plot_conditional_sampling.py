"""
Class-conditional sampling
==========================

With ``conditional=True``, :class:`skgan.DCGANEstimator` learns one generator
for all classes from ``fit(X, y)``, and ``sample`` draws images of the classes
asked for, returning ``(X, y)`` like
:meth:`sklearn.mixture.GaussianMixture.sample`.

Trained on scikit-learn's digits, then checked with a classifier trained on
real digits: does it recognise the class the generator was asked for? About a
minute on two CPU cores.
"""

# %%
# Fit on images and labels
# ------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from skgan import DCGANEstimator
from skgan.plotting import plot_image_grid

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
gan = DCGANEstimator(
    noise_dim=64,
    epochs=30,
    generator_width=32,
    discriminator_width=32,
    conditional=True,
    max_time=60,
    feature_extractor=None,
    random_state=0,
)
gan.fit(X_train, y_train)
print("classes:", gan.classes_)
print("class prior:", np.round(gan.class_prior_, 3))
print(f"{len(gan.history_)} epochs")

# %%
# Three ways to ask for labels
# ----------------------------
# One label and a count; one image per label of an array; or no label, in
# which case labels are drawn from ``class_prior_``, the class frequencies of
# the training set.
sevens, labels = gan.sample(8, y=7, random_state=0)
print(sevens.shape, labels)

wanted = np.repeat(gan.classes_, 8)  # eight of each class, grouped
images, labels = gan.sample(y=wanted, random_state=0)
print(images.shape, np.bincount(labels))

_, drawn = gan.sample(1000, random_state=0)
print("drawn from the prior:", np.round(np.bincount(drawn) / 1000, 3))

# %%
# Each class on its own row: ``labels=`` groups the images and names each
# class on the left.
plot_image_grid(images, labels=labels, n_cols=8, title="sample(y=...)")

# %%
# Does the label control the class?
# ---------------------------------
# A logistic regression trained on real digits classifies generated images
# of each requested class. Its accuracy on the generated digits, against its
# accuracy on real held-out digits, measures how well the generator obeys the
# label (and how realistic the images are to that classifier).
classifier = LogisticRegression(max_iter=2000).fit(X_train, y_train)
print(f"accuracy on real test digits:    {classifier.score(X_test, y_test):.3f}")

requested = np.repeat(gan.classes_, 50)
generated, _ = gan.sample(y=requested, random_state=1)
predicted = classifier.predict(generated)
print(f"accuracy on generated digits:    {np.mean(predicted == requested):.3f}")

fig, ax = plt.subplots(figsize=(5, 4.4))
matrix = confusion_matrix(requested, predicted, labels=gan.classes_)
ax.imshow(matrix, cmap="Blues")
ax.set_xticks(gan.classes_)
ax.set_yticks(gan.classes_)
ax.set_xlabel("class predicted by the classifier")
ax.set_ylabel("class requested from the generator")
for (i, j), count in np.ndenumerate(matrix):
    if count:
        ax.text(j, i, count, ha="center", va="center", fontsize=7)
ax.set_title("generated digits, 50 per class")
fig.tight_layout()
plt.show()
