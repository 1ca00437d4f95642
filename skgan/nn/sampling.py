"""Images from a trained generator, in fixed-size chunks of noise."""

from __future__ import annotations

import torch

__all__ = ["CHUNK_SIZE", "generate", "recompute_batch_norm"]

#: Images generated per forward pass; bounds activation memory.
CHUNK_SIZE = 256


def generate(network, n_samples, *, noise_dim, seed, labels=None, device="cpu"):
    """Yield ``(start, images)`` for ``n_samples`` images of ``network``.

    ``images`` are float32 NumPy arrays ``(n, C, H, W)`` in the generator's
    output range. The noise is always drawn a whole chunk of
    :data:`CHUNK_SIZE` at a time from a generator seeded with ``seed``, so the
    images do not depend on ``n_samples``: the first 5 of 500 are the 5 of 5.
    ``labels`` (NumPy class indices, one per image) condition the generator.
    The network runs in eval mode under ``torch.inference_mode`` and is put
    back in its previous mode afterwards.
    """
    noise_generator = torch.Generator().manual_seed(seed)
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            for start in range(0, n_samples, CHUNK_SIZE):
                noise = torch.randn(CHUNK_SIZE, noise_dim, generator=noise_generator)
                noise = noise[: n_samples - start].to(device)
                chunk_labels = None
                if labels is not None:
                    chunk_labels = torch.from_numpy(
                        labels[start : start + len(noise)]
                    ).to(device)
                yield start, network(noise, chunk_labels).float().cpu().numpy()
    finally:
        network.train(was_training)


@torch.no_grad()
def recompute_batch_norm(
    network,
    *,
    noise_dim,
    class_prior=None,
    n_samples=1024,
    batch_size=64,
    seed=0,
    device="cpu",
):
    """Set the batch-norm statistics of a generator to those of its own outputs.

    In eval mode, batch normalisation uses running statistics. Those of a
    moving average of the generator's weights are copied from the generator
    being trained, whose activations they describe, not the average's; and
    those of a fast-changing generator lag behind its weights. This replaces
    them by the mean and variance of the network's activations over
    ``n_samples`` fresh noise vectors, as
    :func:`torch.optim.swa_utils.update_bn` does for a loader of inputs
    (which cannot pass the labels of a conditional generator). If a forward
    pass fails or is interrupted, the network keeps the statistics it had.

    Parameters
    ----------
    network : torch.nn.Module
        Called as ``network(noise, labels)``; changed in place. A network
        without batch normalisation is left as it is.
    noise_dim : int
        Length of the noise vectors.
    class_prior : array-like of shape (n_classes,), default=None
        For a conditional generator: the labels are drawn with these
        probabilities. None passes no labels.
    n_samples : int, default=1024
        Noise vectors the statistics are averaged over.
    batch_size : int, default=64
        Noise vectors per forward pass.
    seed : int, default=0
        Seed of the noise and labels, drawn from their own
        :class:`torch.Generator`: the statistics depend only on the network's
        weights, and the global random state is left untouched.
    device : str or torch.device, default="cpu"
        Where the network is.
    """
    norms = [
        module
        for module in network.modules()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
        and module.track_running_stats
    ]
    if not norms:
        return
    momenta = [module.momentum for module in norms]
    saved = [
        (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
        for m in norms
    ]
    was_training = network.training
    draws = torch.Generator().manual_seed(seed)
    prior = None
    if class_prior is not None:
        prior = torch.as_tensor(class_prior, dtype=torch.float64)
    try:
        for module in norms:
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the batches
        network.train()
        for start in range(0, n_samples, batch_size):
            n = min(batch_size, n_samples - start)
            noise = torch.randn(n, noise_dim, generator=draws).to(device)
            labels = None
            if prior is not None:
                labels = torch.multinomial(prior, n, replacement=True, generator=draws)
                labels = labels.to(device)
            network(noise, labels)
    except BaseException:  # an interrupted or failed pass keeps the old ones
        for module, (mean, var, count) in zip(norms, saved):
            module.running_mean.copy_(mean)
            module.running_var.copy_(var)
            module.num_batches_tracked.copy_(count)
        raise
    finally:
        for module, momentum in zip(norms, momenta):
            module.momentum = momentum
        network.train(was_training)
