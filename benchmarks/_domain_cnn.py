"""A small seeded CNN whose pooled features make a domain feature space.

For Fréchet distances and precision/recall of generated medical images in a
space learned from the data itself (rather than from ImageNet): four blocks of
3x3 convolution, batch normalisation, ReLU and 2x2 max-pooling (16, 32, 64, 64
channels), a global average pool giving 64 features, and a linear classifier
trained with Adam on cross-entropy. Small random shifts (up to 1/16 of the
side) augment the training images. Any square size works; the input is uint8
``(n, side, side)``.

Plain torch, seeded by ``random_state`` through a forked global generator, so
equal seeds give equal models on the CPU.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def _tensor(images):
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    return (x / 127.5 - 1.0).unsqueeze(1)


class DomainCNN:
    """Classifier of uint8 images whose penultimate layer is a feature space.

    Parameters
    ----------
    epochs : int, default=12
    batch_size : int, default=64
    lr : float, default=2e-3
    random_state : int, default=0
    """

    def __init__(self, epochs=12, batch_size=64, lr=2e-3, random_state=0):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state

    def _build(self, n_classes):
        blocks = []
        c_in = 1
        for c_out in (16, 32, 64, 64):
            blocks += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.features_ = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head_ = nn.Linear(c_in, n_classes)

    def fit(self, X, y):
        """Train on uint8 images ``X`` ``(n, side, side)`` and labels ``y``."""
        self.classes_, target = np.unique(y, return_inverse=True)
        images, target = _tensor(X), torch.from_numpy(target)
        side = images.shape[-1]
        shift = max(1, side // 16)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self._build(len(self.classes_))
            params = [*self.features_.parameters(), *self.head_.parameters()]
            optimizer = torch.optim.Adam(params, lr=self.lr)
            steps = self.epochs * -(-len(images) // self.batch_size)
            schedule = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, self.lr, total_steps=steps
            )
            self.features_.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(images))
                for start in range(0, len(images), self.batch_size):
                    rows = order[start : start + self.batch_size]
                    batch = images[rows]
                    dy, dx = torch.randint(-shift, shift + 1, (2,)).tolist()
                    batch = torch.roll(batch, (dy, dx), dims=(2, 3))
                    loss = F.cross_entropy(
                        self.head_(self.features_(batch)), target[rows]
                    )
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    schedule.step()
        self.features_.eval()
        return self

    def transform(self, X):
        """The 64 pooled features of uint8 images, float64 ``(n, 64)``."""
        with torch.inference_mode():
            out = [self.features_(b) for b in _tensor(X).split(256)]
        return torch.cat(out).double().numpy()

    def predict(self, X):
        """Class labels of uint8 images."""
        with torch.inference_mode():
            logits = self.head_(torch.from_numpy(self.transform(X)).float())
        return self.classes_[logits.argmax(1).numpy()]
