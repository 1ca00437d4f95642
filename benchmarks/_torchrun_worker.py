"""One rank under ``torchrun``, for ``device_check.py``'s torchrun row.

Run as ``torchrun --standalone --nproc_per_node=N _torchrun_worker.py DEVICE
REPORT``: rank 0 writes a JSON report to ``REPORT``. It fits a
``DCGANEstimator`` in the launcher's environment (one rank: an ordinary
process), joins the process group (NCCL on CUDA, gloo on the CPU), checks an
``all_reduce``, and trains one epoch through skgan's data-parallel context:
DistributedDataParallel networks (SyncBatchNorm on CUDA), rank 0's weights
and random stream broadcast, each rank's slice of every batch.
"""

import copy
import json
import sys

import torch
from sklearn.datasets import load_digits
from torch import distributed as dist

from skgan import DCGANEstimator
from skgan.nn import AdversarialTrainer, end_process_group
from skgan.nn.distributed import DistributedContext, local_device, revert_sync_batchnorm


def main(device_type, report):
    torch.set_num_threads(1)
    X = load_digits().data[:64]
    gan = DCGANEstimator(
        noise_dim=16,
        steps=2,
        batch_size=16,
        generator_width=8,
        discriminator_width=8,
        channels_last=False,
        feature_extractor=None,
        device=device_type,
        random_state=0,
    ).fit(X)

    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend)
    try:
        device = local_device(torch.device(device_type))
        rank, world_size = dist.get_rank(), dist.get_world_size()
        total = torch.ones(1, device=device)
        dist.all_reduce(total)

        context = DistributedContext(rank, world_size)
        generator = copy.deepcopy(gan.generator_).to(device)
        discriminator = copy.deepcopy(gan.discriminator_).to(device)
        context.broadcast_state(generator, discriminator)
        rng_state = context.broadcast_object(torch.get_rng_state())
        context.seed_private_stream(rng_state, device)
        trainer = AdversarialTrainer(
            context.wrap(generator, device),
            context.wrap(discriminator, device),
            torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            noise_dim=16,
            loss="hinge",
            distributed=context,
        )
        images = torch.from_numpy(X[:32] / 8.0 - 1.0).float().view(32, 1, 8, 8)
        stats = trainer.run_epoch(images.to(device), 16)
        revert_sync_batchnorm(generator)
        if rank == 0:
            result = {
                "backend": dist.get_backend(),
                "world_size": world_size,
                "all_reduce": float(total.item()),
                "estimator_device": gan.device_.type,
                "ddp_steps": stats["n_steps"],
                "ddp_finite": bool(
                    torch.isfinite(torch.tensor([stats["d_loss"], stats["g_loss"]]))
                    .all()
                    .item()
                ),
            }
            with open(report, "w") as out:
                json.dump(result, out)
    except BaseException:
        dist.destroy_process_group()  # a peer may be gone: no barrier
        raise
    end_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
