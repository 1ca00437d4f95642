"""A small seeded CNN image classifier with scikit-learn's fit/predict API.

Two convolution blocks (3x3 conv, ReLU, 2x2 max-pool; 16 then 32 channels)
and a linear layer, trained with Adam on cross-entropy for a few epochs.
Plain torch: weights, shuffling and nothing else come from a private torch
generator seeded by ``random_state``, so equal seeds give equal models on the
CPU. Input rows are flattened square images (``channels`` channels last)
with values in [0, 1].
"""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn


class SmallCNN(ClassifierMixin, BaseEstimator):
    def __init__(self, epochs=3, batch_size=64, lr=1e-3, channels=1, random_state=0):
        self.epochs = epochs
        self.channels = channels
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state

    def _side(self, X):
        return int(round(np.sqrt(X.shape[1] / self.channels)))

    def _tensor(self, X):
        side = self._side(X)
        images = np.asarray(X, dtype=np.float32) - 0.5
        images = images.reshape(-1, side, side, self.channels).transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(images))

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.classes_, target = np.unique(y, return_inverse=True)
        side = self._side(X)
        images, target = self._tensor(X), torch.from_numpy(target)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.model_ = nn.Sequential(
                nn.Conv2d(self.channels, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(32 * (side // 4) ** 2, len(self.classes_)),
            )
            optimizer = torch.optim.Adam(self.model_.parameters(), lr=self.lr)
            loss_fn = nn.CrossEntropyLoss()
            for _ in range(self.epochs):
                order = torch.randperm(len(images))
                for start in range(0, len(images), self.batch_size):
                    rows = order[start : start + self.batch_size]
                    optimizer.zero_grad()
                    loss_fn(self.model_(images[rows]), target[rows]).backward()
                    optimizer.step()
        self.model_.eval()
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        with torch.inference_mode():
            logits = torch.cat(
                [self.model_(batch) for batch in self._tensor(X).split(1024)]
            )
        return self.classes_[logits.argmax(1).numpy()]
