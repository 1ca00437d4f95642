"""Exponential moving average of generator weights (Yazici et al., ICLR 2019)."""

import copy

import torch

__all__ = ["ExponentialMovingAverage"]


class ExponentialMovingAverage:
    """Keep ``average = decay * average + (1 - decay) * weights`` after every step.

    The decay is warmed up as ``min(decay, (1 + t) / (10 + t))`` after ``t``
    updates, so that short runs on small data are not dominated by the initial
    weights. Buffers (batch-norm statistics, spectral-norm vectors) are copied,
    not averaged.

    Parameters
    ----------
    model : torch.nn.Module
        The network to average; the average is a deep copy of it.
    decay : float
        Target decay, e.g. 0.999.
    average : torch.nn.Module, default=None
        An existing average to continue (a copy of ``model`` is made otherwise).
    n_updates : int, default=0
        Updates already folded into ``average``.
    """

    def __init__(self, model, decay, average=None, n_updates=0):
        self.model = model
        self.decay = decay
        if average is None:
            average = copy.deepcopy(model)
        self.average = average.eval().requires_grad_(False)
        self.n_updates = n_updates

    @torch.no_grad()
    def update(self):
        self.n_updates += 1
        t = self.n_updates
        decay = min(self.decay, (1 + t) / (10 + t))
        averaged = list(self.average.parameters())
        current = list(self.model.parameters())
        torch._foreach_lerp_(averaged, current, 1.0 - decay)
        for mine, theirs in zip(self.average.buffers(), self.model.buffers()):
            mine.copy_(theirs)
