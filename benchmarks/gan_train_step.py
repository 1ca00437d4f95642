"""Images/s of a full adversarial step: skgan's trainer vs a hand-written loop.

Both sides train the same networks (skgan's Generator/Discriminator) on the
same data; the hand-written loop is the PyTorch DCGAN tutorial's: separate
discriminator calls on real and fake, BCE, Adam, default (NCHW) memory order.
The skgan side runs as ``DCGANEstimator`` does: channels-last tensors, one
discriminator call on real and fake together; with
``--discriminator-batch-norm`` both discriminators normalise their batches
(the estimator's default) and skgan, like the hand-written loop, judges real
and fake in separate calls. Runs are
interleaved in one process and the median ratio is printed, with the achieved
FLOP rate as a share of this machine's single-precision matmul rate.

Run:  python benchmarks/gan_train_step.py [--repeats 7] [--threads 2]
      python benchmarks/gan_train_step.py --discriminator-batch-norm
"""

import argparse
import platform
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from skgan.nn import AdversarialTrainer, Discriminator, Generator, auto_depth

LAYOUTS = {
    # name: (channels, height, width, batch, width of G and D)
    "textbook 64x64 RGB": (3, 64, 64, 64, 64),
    "28x28 gray": (1, 28, 28, 64, 64),
}


def networks(channels, height, width, net_width, batch_norm, seed=0):
    torch.manual_seed(seed)
    depth = auto_depth(height, width)
    generator = Generator(
        100,
        (channels, height, width),
        width=net_width,
        depth=depth,
        first_stage="transposed",
        upsampling="transposed",
    )
    discriminator = Discriminator(
        (channels, height, width),
        width=net_width,
        depth=depth,
        spectral_norm=False,
        batch_norm=batch_norm,
    )
    return generator, discriminator


def adam(module):
    return torch.optim.Adam(module.parameters(), lr=2e-4, betas=(0.5, 0.999))


def skgan_step_fn(channels, height, width, net_width, batch_norm, data):
    generator, discriminator = networks(channels, height, width, net_width, batch_norm)
    generator.to(memory_format=torch.channels_last)
    discriminator.to(memory_format=torch.channels_last)
    data = data.contiguous(memory_format=torch.channels_last)
    trainer = AdversarialTrainer(
        generator, discriminator, adam(generator), adam(discriminator), noise_dim=100
    )
    return lambda: trainer.run_epoch(data, data.shape[0])


def handwritten_step_fn(channels, height, width, net_width, batch_norm, data):
    generator, discriminator = networks(channels, height, width, net_width, batch_norm)
    opt_g, opt_d = adam(generator), adam(discriminator)
    criterion = nn.BCEWithLogitsLoss()

    def step():
        n = data.shape[0]
        real = data[torch.randperm(n)]
        discriminator.zero_grad()
        loss_real = criterion(discriminator(real), torch.ones(n))
        fake = generator(torch.randn(n, 100))
        loss_fake = criterion(discriminator(fake.detach()), torch.zeros(n))
        (loss_real + loss_fake).backward()
        opt_d.step()
        generator.zero_grad()
        criterion(discriminator(fake), torch.ones(n)).backward()
        opt_g.step()

    return step


def step_flops(channels, height, width, net_width, batch_norm, data):
    step = handwritten_step_fn(channels, height, width, net_width, batch_norm, data)
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def matmul_rate(sizes=(1024, 2048, 4096), repeats=5):
    """Best fp32 matmul FLOP rate over a few square sizes: the peak to compare to."""
    best = 0.0
    for size in sizes:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def timed(step, n_steps):
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    return (time.perf_counter() - start) / n_steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--discriminator-batch-norm",
        action="store_true",
        help="batch norm in both discriminators (separate real/fake calls)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peak = matmul_rate()
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {args.threads} threads; "
        f"fp32 matmul {peak / 1e9:.1f} GFLOP/s; "
        f"discriminator batch norm: {args.discriminator_batch_norm}"
    )
    print(
        f"{'layout':20s} {'skgan img/s':>12s} {'hand img/s':>11s} {'ratio':>6s} "
        f"{'GFLOP/s':>8s} {'% matmul':>9s}"
    )
    for name, (c, h, w, batch, net_width) in LAYOUTS.items():
        data = torch.rand(batch, c, h, w) * 2 - 1
        setup = (c, h, w, net_width, args.discriminator_batch_norm, data)
        ours, theirs = skgan_step_fn(*setup), handwritten_step_fn(*setup)
        ours(), theirs()  # warm-up
        ratios, our_times = [], []
        for _ in range(args.repeats):
            t_ours = timed(ours, args.steps)
            t_theirs = timed(theirs, args.steps)
            ratios.append(t_theirs / t_ours)
            our_times.append(t_ours)
        t = statistics.median(our_times)
        flops = step_flops(*setup)
        rate = flops / t
        hand = batch / (t * statistics.median(ratios))
        print(
            f"{name:20s} {batch / t:12.1f} {hand:11.1f} "
            f"{statistics.median(ratios):6.3f} "
            f"{rate / 1e9:8.1f} {100 * rate / peak:8.1f}%"
        )


if __name__ == "__main__":
    main()
