"""Data-parallel training: two gloo processes on the CPU against one process."""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import distributed as dist
from torch import multiprocessing as mp

from skgan.callbacks import Checkpoint
from skgan.nn import end_process_group
from tests._tiny import tiny_gan

ROOT = Path(__file__).resolve().parents[1]
N_STEPS = 4
# 64 digits at batch 16: four global batches, eight images per rank each.
EXACT = dict(
    batch_size=16,
    generator_batch_norm=False,
    augment=None,  # random per rank; the moving average is deterministic
    discriminator_batch_norm=False,
    real_label=(0.8, 1.0),  # label smoothing draws random targets
    steps=1,
    warm_start=True,
)
# Batch norm (in G and D), DiffAugment and dropout: ranks cannot match one
# process.
FULL = dict(
    batch_size=16,
    augment="translation,cutout",
    discriminator_dropout=0.2,
    discriminator_batch_norm=True,  # separate real and fake calls under DDP
    ema_decay=0.9,
    steps=1,
    warm_start=True,
    verbose=1,
)


def digits():
    return load_digits().data[:64]


def state_vector(gan):
    """Every parameter and buffer of the fitted networks, flattened."""
    tensors = []
    for network in (gan.generator_, gan.discriminator_, gan.generator_ema_):
        if network is not None:
            state = network.state_dict().values()
            tensors += [t.detach().double().flatten() for t in state]
    return torch.cat(tensors)


def train_steps(gan, X, check=None):
    """``N_STEPS`` warm-started one-step fits, calling ``check`` after each."""
    for _ in range(N_STEPS):
        gan.fit(X)
        if check is not None:
            check(gan)
    return gan


def _rank(rank, world_size, init_file, params, out_dir):
    """One training process: fit, check agreement after every step, save."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    agreed = []

    def check(gan):
        mine = state_vector(gan)
        everyone = [torch.empty_like(mine) for _ in range(world_size)]
        dist.all_gather(everyone, mine)
        agreed.append(all(torch.equal(mine, other) for other in everyone))

    params = dict(params)
    checkpoints = Path(out_dir) / f"checkpoints{rank}"
    params["callbacks"] = [Checkpoint(checkpoints)]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            gan = train_steps(tiny_gan(**params), digits(), check)
        torch.save(
            {
                "state": state_vector(gan),
                "samples": gan.sample(8, random_state=0),
                "history": gan.history_,
                "agreed": agreed,
                "printed": printed.getvalue(),
                "checkpoints": sorted(p.name for p in checkpoints.glob("*")),
            },
            Path(out_dir) / f"rank{rank}.pt",
        )
        del gan
    except BaseException:
        dist.destroy_process_group()  # a peer may be gone: no barrier
        raise
    end_process_group()


def run_two_ranks(params, tmp_path):
    mp.start_processes(
        _rank,
        args=(2, str(tmp_path / "init"), params, str(tmp_path)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]


def test_two_ranks_match_one_process_on_the_same_global_batch(tmp_path):
    ranks = run_two_ranks(EXACT, tmp_path)
    single = train_steps(tiny_gan(**EXACT), digits())
    for rank in ranks:
        assert rank["agreed"] == [True] * N_STEPS  # identical weights, every step
        # Gradients averaged over two halves of each batch equal those of the
        # whole batch up to float rounding.
        torch.testing.assert_close(
            rank["state"], state_vector(single), rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(
            rank["samples"], single.sample(8, random_state=0), atol=0.05
        )
    # Rank 0 keeps the history (of the global batches), rank 1 none.
    assert [r["epoch"] for r in ranks[0]["history"]] == [1, 2, 3, 4]
    assert ranks[1]["history"] == []
    np.testing.assert_allclose(
        [r["d_loss"] for r in ranks[0]["history"]],
        [r["d_loss"] for r in single.history_],
        rtol=1e-4,
    )
    assert [r["d_real_accuracy"] for r in ranks[0]["history"]] == [
        r["d_real_accuracy"] for r in single.history_
    ]


def test_two_ranks_with_batch_norm_augmentation_and_ema(tmp_path):
    ranks = run_two_ranks(FULL, tmp_path)
    for rank in ranks:
        assert rank["agreed"] == [True] * N_STEPS
    # Batch-norm statistics and the moving average too: every rank samples alike.
    assert torch.equal(ranks[0]["state"], ranks[1]["state"])
    np.testing.assert_array_equal(ranks[0]["samples"], ranks[1]["samples"])
    # Only rank 0 prints and writes checkpoints.
    assert ranks[0]["printed"].count("epoch") == N_STEPS
    assert ranks[1]["printed"] == ""
    assert len(ranks[0]["checkpoints"]) == N_STEPS
    assert ranks[1]["checkpoints"] == []


def test_distributed_true_without_a_process_group_says_how_to_launch():
    gan = tiny_gan(distributed=True)
    with pytest.raises(ValueError, match="torchrun --nproc_per_node"):
        gan.fit(digits())
    assert not hasattr(gan, "generator_")


def test_distributed_false_ignores_the_torchrun_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    gan = tiny_gan(distributed=False, steps=1).fit(digits())
    assert len(gan.history_) == 1 and not dist.is_initialized()


def test_launch_script_under_torchrun(tmp_path):
    """The example script, unchanged, trains across two processes."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(ROOT / "examples" / "train_distributed.py"),
            "--steps",
            "3",
            "--width",
            "4",
            "--output",
            str(tmp_path / "model.skgan"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 processes" in result.stdout
    from skgan import DCGANEstimator

    model = DCGANEstimator.load(tmp_path / "model.skgan")
    assert sum(r["n_steps"] for r in model.history_) == 3


def test_end_process_group_without_a_group_does_nothing():
    end_process_group()
    assert not dist.is_initialized()


def test_end_process_group_on_gloo_waits_on_the_calling_thread(tmp_path, monkeypatch):
    # dist.barrier on gloo leaves a work item, holding the earlier
    # collectives' tensors, to a gloo worker thread; freed there while the
    # interpreter exited, it aborted 12 of 139 torchrun runs of the example
    # on two loaded cores. monitored_barrier exchanges its messages on the
    # calling thread.
    calls = []
    monkeypatch.setattr(dist, "barrier", lambda *a, **k: calls.append("barrier"))
    monitored = dist.monitored_barrier
    monkeypatch.setattr(
        dist,
        "monitored_barrier",
        lambda *a, **k: calls.append("monitored_barrier") or monitored(*a, **k),
    )
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'init'}", rank=0, world_size=1
    )
    try:
        end_process_group()
        destroyed = not dist.is_initialized()
    finally:
        if dist.is_initialized():  # leave no group to the next test
            dist.destroy_process_group()
    assert calls == ["monitored_barrier"]
    assert destroyed
