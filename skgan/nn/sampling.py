"""Images from a trained generator, in fixed-size chunks of noise."""

from __future__ import annotations

import torch

__all__ = ["CHUNK_SIZE", "generate"]

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
