"""
Data-parallel training with torchrun
====================================

Train one :class:`~skgan.DCGANEstimator` across several processes (GPUs, or
groups of CPU cores) with ``torchrun``. This page is not run when the
documentation is built; see :ref:`data_parallel`.

The script is an ordinary single-process script: under ``torchrun``,
``DCGANEstimator`` (``distributed="auto"``) finds the launcher's environment,
joins the process group (NCCL on GPUs, gloo on CPUs) and trains data-parallel.
Every process loads the same images; each computes its share of every batch.

.. code-block:: bash

    # one machine, 4 GPUs: one process per GPU
    torchrun --standalone --nproc_per_node=4 examples/train_distributed.py \\
        --npz /path/to/pneumoniamnist.npz --steps 5000 --batch-size 256

    # two CPU processes (what the test suite runs)
    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node=2 \\
        examples/train_distributed.py --steps 50

    # the same script without torchrun: one process
    python examples/train_distributed.py --steps 50

``--npz`` takes a MedMNIST-style file such as ``pneumoniamnist.npz``: the one
``skgan.datasets.fetch_medmnist("pneumoniamnist")`` downloads into the skgan
data cache (its path is the returned ``filename``), or a local copy, for
instance the file ``SKGAN_PNEUMONIAMNIST`` points at. Rank 0 prints the
progress and writes the model to ``--output``.
"""

# %%

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from torch import distributed as dist

from skgan import DCGANEstimator
from skgan.nn import end_process_group


def load_images(npz):
    """Training images: a MedMNIST-style ``.npz`` file, or sklearn's digits."""
    if npz is None:
        return load_digits().data
    with np.load(npz) as data:
        return data["train_images"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Data-parallel training with torchrun")
    parser.add_argument("--npz", help="images file (default: sklearn digits)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch")
    parser.add_argument("--width", type=int, default=32, help="network widths")
    parser.add_argument("--output", default="distributed_gan.skgan")
    args = parser.parse_args(argv)

    gan = DCGANEstimator(
        steps=args.steps,
        batch_size=args.batch_size,
        generator_width=args.width,
        discriminator_width=args.width,
        random_state=0,
        verbose=1,
    )
    start = time.perf_counter()
    gan.fit(load_images(args.npz))
    seconds = time.perf_counter() - start

    world = dist.get_world_size() if dist.is_initialized() else 1
    if not dist.is_initialized() or dist.get_rank() == 0:
        processes = f"{world} process{'es' if world > 1 else ''}"
        print(f"trained {args.steps} steps on {processes} in {seconds:.1f} s")
        gan.save(args.output)
    # Every rank waits for the others, then leaves the process group (nothing
    # to do without torchrun).
    end_process_group()


if __name__ == "__main__":
    main()
