"""Measure the fixed cost per training step of Lightning's loop against a plain PyTorch loop.

    python benchmarks/loop_overhead.py                 # what `make bench-loop` runs
    OMP_NUM_THREADS=1 python benchmarks/loop_overhead.py --rounds 5

Two networks train on random uint8 images held in memory, batch 100, Adam:

- ``linear``: one linear layer, so a step is almost nothing but Python and dispatch. The
  difference between its two loops is what Lightning adds per step, whatever the network.
- ``ClassicCNN``: this project's default network with channels-last, as in ``make bench``.

Each pair runs as a plain loop and as ``Trainer.fit`` with no logger, checkpoints, progress
bar or model summary, so the figure is the floor under any ``train.py`` config. A step is
timed from one ``training_step`` call to the next, which covers data loading, the hooks, the
backward pass and the optimizer. Variants alternate within each round, so a change in the
machine's load affects each alike. Figures are medians over rounds.
"""

import argparse
import logging
import statistics
import time
import warnings

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from fmnist.datamodule import EpochSeededSampler, TensorBatchDataset, keep_batch
from fmnist.network import ClassicCNN

IMAGES = 30_000
# Steps at the start of a run left out of the timing: allocator and oneDNN warm-up.
WARMUP_STEPS = 30


def linear_network() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))


NETWORKS = {"linear": linear_network, "ClassicCNN": ClassicCNN}


def to_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255).contiguous(memory_format=torch.channels_last)


def plain_loop(make_network, images, labels, batch_size: int, steps: int) -> float:
    """Return the seconds per step of a hand-written loop."""
    network = make_network().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    order = torch.randperm(len(labels))
    started = []
    for step in range(steps):
        started.append(time.perf_counter())
        index = order[step * batch_size : (step + 1) * batch_size]
        optimizer.zero_grad()
        logits = network(to_float(images.index_select(0, index)))
        F.cross_entropy(logits, labels.index_select(0, index)).backward()
        optimizer.step()
    return seconds_per_step(started)


class TimedModule(pl.LightningModule):
    """The same step as ``plain_loop``, noting when Lightning calls each ``training_step``."""

    def __init__(self, make_network) -> None:
        super().__init__()
        self.net = make_network().to(memory_format=torch.channels_last)
        self.started: list[float] = []

    def training_step(self, batch, batch_idx):
        self.started.append(time.perf_counter())
        images, labels = batch
        return F.cross_entropy(self.net(to_float(images)), labels)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.01)


def lightning_loop(make_network, images, labels, batch_size: int, steps: int) -> float:
    """Return the seconds per step of ``Trainer.fit`` with everything optional turned off."""
    module = TimedModule(make_network)
    dataset = TensorBatchDataset(images, labels)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=EpochSeededSampler(dataset, seed=0),
        collate_fn=keep_batch,
    )
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        limit_train_batches=steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, loader)
    return seconds_per_step(module.started)


def seconds_per_step(started: list[float]) -> float:
    timed = started[WARMUP_STEPS:]
    return (timed[-1] - timed[0]) / (len(timed) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=300,
        help=f"training steps per run: at least {WARMUP_STEPS + 2}, and steps x batch size at "
        f"most {IMAGES:,}",
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant")
    parser.add_argument("--batch-size", type=int, default=100, help="images per step")
    args = parser.parse_args()
    for option, value in (("--rounds", args.rounds), ("--batch-size", args.batch_size)):
        if value < 1:
            parser.error(f"{option} {value}: use 1 or more.")
    if args.steps < WARMUP_STEPS + 2 or args.steps * args.batch_size > IMAGES:
        parser.error(
            f"--steps {args.steps} with --batch-size {args.batch_size}: steps must be at least "
            f"{WARMUP_STEPS + 2}, and steps x batch size at most {IMAGES:,}."
        )

    # Lightning's notes about the absent validation loop and logger would fill the output.
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (IMAGES, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (IMAGES,))

    loops = {"plain loop": plain_loop, "Trainer.fit": lightning_loop}
    timings = {(net, loop): [] for net in NETWORKS for loop in loops}
    for _ in range(args.rounds):
        for net, make_network in NETWORKS.items():
            for loop, run in loops.items():
                seconds = run(make_network, images, labels, args.batch_size, args.steps)
                timings[net, loop].append(seconds * 1000)

    print("| network | plain loop ms/step | Trainer.fit ms/step | added ms/step | speed ratio |")
    print("|---|---:|---:|---:|---:|")
    noisy = False
    for net in NETWORKS:
        plain = statistics.median(timings[net, "plain loop"])
        fit = statistics.median(timings[net, "Trainer.fit"])
        noisy = noisy or fit < plain
        print(f"| {net} | {plain:.3f} | {fit:.3f} | {fit - plain:.3f} | {plain / fit:.2f} |")
    print(
        f"Batch size: {args.batch_size}. Steps per run: {args.steps} ({WARMUP_STEPS} untimed). "
        f"Rounds: {args.rounds} (medians). Torch threads: {torch.get_num_threads()}."
    )
    print("Speed ratio: plain loop ms/step divided by Trainer.fit ms/step.")
    if noisy:
        print(
            "Warning: a negative added time means the machine's load changed between the "
            "loops; run again, or with more --rounds."
        )


if __name__ == "__main__":
    main()
