"""Data-parallel training on ``torch.distributed``: process group, DDP, state sync.

Every rank holds the whole training set and the same shared random stream, so
all ranks draw the same shuffling and the same global batch of noise; each
rank then computes its own slice of every batch. DistributedDataParallel
averages the gradients, which equals single-process training on the global
batch up to float rounding. Random draws inside the discriminator
(DiffAugment, dropout) come from a private per-rank stream instead.
"""

from __future__ import annotations

import atexit
import hashlib
import os
from contextlib import contextmanager

import torch
from torch import distributed as dist
from torch import nn

__all__ = [
    "DistributedContext",
    "distributed_context",
    "end_process_group",
    "local_device",
    "revert_sync_batchnorm",
]


def _environment_world_size():
    """WORLD_SIZE set by ``torchrun`` (1 when absent or malformed)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _destroy_own_group():
    if dist.is_initialized():
        dist.destroy_process_group()


def end_process_group():
    """Wait for every rank, then destroy the default process group.

    Call it once on every rank at the end of a data-parallel script, after
    the last collective and file written; it does nothing when no process
    group is initialised, so the same script runs without ``torchrun``.
    Waiting first means no rank tears down its connections while a peer
    still talks to it.

    On gloo (CPU) the wait is :func:`torch.distributed.monitored_barrier`,
    which exchanges its messages on the calling thread, rather than
    :func:`torch.distributed.barrier`: a gloo barrier is a work item that
    holds on to the previous collectives' tensors, and when a gloo worker
    thread frees it while the interpreter is exiting, the process aborts
    ("terminate called without an active exception").
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if dist.get_backend() == "gloo":
        dist.monitored_barrier()
    else:
        dist.barrier()
    dist.destroy_process_group()


def distributed_context(mode, device):
    """The :class:`DistributedContext` to train in, or None for one process.

    Parameters
    ----------
    mode : {"auto", True, False}
        ``"auto"``: distributed when a process group with more than one rank is
        initialised, or when launched by ``torchrun`` (then the group is
        initialised here, NCCL on CUDA and gloo otherwise, and destroyed at
        exit unless the script destroys it first). True: the same, but a
        single process is an error. False: never.
    device : torch.device
        The device this rank trains on.
    """
    if mode is False or not dist.is_available():
        if mode is True:
            raise ValueError(
                "distributed=True but this PyTorch build has no torch.distributed."
            )
        return None
    if not dist.is_initialized() and _environment_world_size() > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        # A group still alive when the interpreter shuts down is torn down
        # with it, and its worker threads can then abort the process; destroy
        # the group this module created while Python is still whole.
        atexit.register(_destroy_own_group)
    if dist.is_initialized() and dist.get_world_size() > 1:
        return DistributedContext(dist.get_rank(), dist.get_world_size())
    if mode is True:
        raise ValueError(
            "distributed=True needs several processes: launch the script with "
            "`torchrun --nproc_per_node=N script.py`, or call "
            "torch.distributed.init_process_group first."
        )
    return None


def local_device(device):
    """This rank's CUDA device (``cuda:LOCAL_RANK``) when ``device`` is unindexed."""
    if device.type != "cuda" or device.index is not None:
        return device
    index = int(os.environ.get("LOCAL_RANK", dist.get_rank())) % max(
        1, torch.cuda.device_count()
    )
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def revert_sync_batchnorm(module):
    """Undo :meth:`torch.nn.SyncBatchNorm.convert_sync_batchnorm` in place.

    The parameters and buffers are shared, not copied, so optimisers keep
    working; the fitted network is a plain module again.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.SyncBatchNorm):
            plain = nn.BatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            )
            for attribute in (
                "weight",
                "bias",
                "running_mean",
                "running_var",
                "num_batches_tracked",
            ):
                setattr(plain, attribute, getattr(child, attribute))
            plain.train(child.training)
            setattr(module, name, plain)
        else:
            revert_sync_batchnorm(child)
    return module


class DistributedContext:
    """Rank, world size and the collective operations one training run needs.

    Parameters
    ----------
    rank, world_size : int
    """

    def __init__(self, rank, world_size):
        self.rank = rank
        self.world_size = world_size
        self._device = None
        self._private_state = None
        self._private_cuda_state = None

    @property
    def is_main(self):
        """Whether this is rank 0, the one that prints and writes files."""
        return self.rank == 0

    def rows(self, n):
        """This rank's slice of the rows of a global batch of ``n``."""
        sizes = [len(part) for part in torch.arange(n).tensor_split(self.world_size)]
        start = sum(sizes[: self.rank])
        return slice(start, start + sizes[self.rank])

    def broadcast_object(self, value):
        """Rank 0's ``value``, on every rank."""
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_state(self, *modules):
        """Copy rank 0's parameters and buffers into ``modules`` on every rank."""
        with torch.no_grad():
            for module in modules:
                if module is None:
                    continue
                # The tensors themselves, not ``.data`` views: a view would be
                # held by the gloo work item alone once this line is done,
                # and a gloo thread that frees a tensor while the interpreter
                # exits aborts the process (see end_process_group).
                for tensor in [*module.parameters(), *module.buffers()]:
                    dist.broadcast(tensor, src=0)

    def all_reduce_sum(self, tensor):
        """Sum ``tensor`` over ranks, in place; returns it."""
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def wrap(self, module, device):
        """``module`` under DistributedDataParallel (SyncBatchNorm on CUDA)."""
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":
            # PyTorch's SyncBatchNorm runs on GPUs only; on the CPU each rank
            # normalises with its own slice's statistics.
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        device_ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)

    def seed_private_stream(self, shared_state, device):
        """Derive this rank's private stream from the shared one, drawing nothing.

        Covers the CPU generator and, on CUDA, the device's generator (where
        the discriminator's augmentation and dropout draw from).
        """
        digest = hashlib.sha256(
            shared_state.numpy().tobytes() + self.rank.to_bytes(4, "little")
        ).digest()
        seed = int.from_bytes(digest[:8], "little") >> 1
        self._device = device
        self._private_state = torch.Generator().manual_seed(seed).get_state()
        self._private_cuda_state = None
        if device.type == "cuda":
            saved = torch.cuda.get_rng_state(device)
            torch.cuda.manual_seed(seed)
            self._private_cuda_state = torch.cuda.get_rng_state(device)
            torch.cuda.set_rng_state(saved, device)

    @contextmanager
    def private_stream(self):
        """Make the per-rank stream torch's global generator for a while."""
        shared = torch.get_rng_state()
        torch.set_rng_state(self._private_state)
        shared_cuda = None
        if self._private_cuda_state is not None:
            shared_cuda = torch.cuda.get_rng_state(self._device)
            torch.cuda.set_rng_state(self._private_cuda_state, self._device)
        try:
            yield
        finally:
            self._private_state = torch.get_rng_state()
            torch.set_rng_state(shared)
            if shared_cuda is not None:
                self._private_cuda_state = torch.cuda.get_rng_state(self._device)
                torch.cuda.set_rng_state(shared_cuda, self._device)
