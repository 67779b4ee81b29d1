"""Training and inference speed of CNNClassifier by precision and memory layout.

The same network, images, batch size and optimiser in four settings, side by
side in one run: float32 (the default), float32 with channels-last tensors,
bfloat16 autocast, and bfloat16 autocast with channels-last tensors
(``precision="bf16", channels_last=True``). On a CPU with AMX (Intel Sapphire
Rapids and later) oneDNN runs bfloat16 convolutions on the tile units, and
channels-last is the layout its kernels want; without such units bfloat16 is
usually slower than float32.

The images are the liquid-argon particle gun's (``make_particle_images``, four
classes, ``--npix`` pixels a side), the network ``--module`` (the folded
Inception network of the particle study by default). Training: every setting
starts with one untimed epoch (initialisation, the first touch of memory,
oneDNN's kernel choice), then ``--repeat`` rounds that train each setting one
more epoch in turn (``partial_fit``, flips and turns on), so a drift of the
machine's speed hits every row alike; the median epoch. Inference: the same
for ``predict_proba``. Ratios are a row's time over float32's.

The floors: the network's arithmetic (``torch.utils.flop_counter``: the
FLOPs of a training step's forward and backward passes, and of a forward
pass, per image) at the machine's matrix-multiply rate in float32 and in
bfloat16 (``torch.mm`` of two ``--matmul-size`` square matrices, timed in
the same rounds as the rows), and the memory traffic of one read of the
images (``X.sum()``, one NumPy thread: an upper bound on that floor, far
below the arithmetic one).

Run: ``python benchmarks/bench_precision.py [--n-images 1024] [--npix 192]``
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved, machine

from hepclf import CNNClassifier
from hepclf.datasets import make_particle_images

SETTINGS = {
    "float32": {"precision": "fp32", "channels_last": False},
    "float32, channels-last": {"precision": "fp32", "channels_last": True},
    "bfloat16": {"precision": "bf16", "channels_last": False},
    "bfloat16, channels-last": {"precision": "bf16", "channels_last": True},
}


def flops_per_image(module, X, train):
    """FLOPs per image of a forward pass, with the backward pass if ``train``."""
    module = copy.deepcopy(module).float().train(train)
    x = torch.from_numpy(np.ascontiguousarray(X))
    with FlopCounterMode(display=False) as counter:
        out = module(x)
        if train:
            out.float().sum().backward()
    return counter.get_total_flops() / len(x)


def matmul(size, dtype):
    """A function multiplying two ``size x size`` matrices of ``dtype``."""
    a = torch.rand(size, size).to(dtype)
    b = torch.rand(size, size).to(dtype)
    return lambda: torch.mm(a, b)


def print_table(title, times, n, unit, faults=None):
    base = np.median(times["float32"])
    head = f"{title:<28}{unit:>10}{'images/s':>10}{'ratio':>8}{'spread':>8}"
    print(head + (f"{'faults/image':>14}" if faults else ""))
    for name in SETTINGS:
        ts = times[name]
        t = np.median(ts)
        row = (
            f"{name:<28}{t:>10.3f}{n / t:>10,.0f}{t / base:>8.2f}"
            f"{(max(ts) - min(ts)) / t:>8.0%}"
        )
        print(row + (f"{faults[name] / n:>14.1f}" if faults else ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1024)
    parser.add_argument("--npix", type=int, default=192)
    parser.add_argument("--module", default="inception")
    parser.add_argument(
        "--pixel-unshuffle",
        type=int,
        default=2,
        help="0 for modules without pixel_unshuffle",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X, y = make_particle_images(
        -(-args.n_images // 4), npix=args.npix, random_state=0, progress=False
    )
    X, y = X[: args.n_images], y[: args.n_images]
    n = len(X)
    print(
        f"{n} particle images of {X.shape[1:]}, module {args.module!r}"
        f" (pixel_unshuffle {args.pixel_unshuffle}), batch {args.batch_size};"
        f" {machine()}\n"
    )
    unshuffle = (
        {"module__pixel_unshuffle": args.pixel_unshuffle}
        if args.pixel_unshuffle
        else {}
    )
    nets = {
        name: CNNClassifier(
            args.module,
            max_epochs=1,
            batch_size=args.batch_size,
            lr=1e-3,
            random_state=0,
            augment_flip=True,
            augment_rot90=True,
            **unshuffle,
            **setting,
        )
        for name, setting in SETTINGS.items()
    }
    rates = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    train, _ = interleaved(
        {name: (lambda net=net: net.partial_fit(X, y)) for name, net in nets.items()}
        | {("mm", k): matmul(args.matmul_size, d) for k, d in rates.items()},
        args.repeat,
    )
    infer, faults = interleaved(
        {name: (lambda net=net: net.predict_proba(X)) for name, net in nets.items()}
        | {"read": lambda: X.sum()},
        args.repeat,
    )

    print_table("training (median epoch)", train, n, "s/epoch")
    print()
    print_table("inference (predict_proba)", infer, n, "s", faults)

    module = nets["float32"].module_
    batch = X[: args.batch_size]
    per_image = {
        "training": flops_per_image(module, batch, train=True),
        "inference": flops_per_image(module, batch, train=False),
    }
    mm_flops = 2 * args.matmul_size**3
    rate = {k: mm_flops / np.median(train[("mm", k)]) for k in rates}
    print(
        f"\narithmetic: {per_image['training'] / 1e9:.3f} GFLOP per image per"
        f" training step, {per_image['inference'] / 1e9:.3f} per prediction;"
        f" torch.mm of {args.matmul_size} x {args.matmul_size}:"
        + ",".join(f" {k} {r / 1e9:,.0f} GFLOP/s" for k, r in rate.items())
    )
    for what, times in (("training", train), ("inference", infer)):
        floors = ", ".join(
            f"{k} {per_image[what] * n / r:.3f} s" for k, r in rate.items()
        )
        best = min(np.median(times[name]) for name in SETTINGS)
        print(
            f"floor, {what}: the arithmetic at the matmul rate {floors};"
            f" the fastest row {best:.3f} s"
        )
    read = np.median(infer["read"])
    print(
        f"floor, memory: one read of the images (X.sum(), {X.nbytes / 1e6:,.0f} MB)"
        f" {read:.4f} s = {X.nbytes / read / 1e9:.1f} GB/s"
    )
    print(
        f"\none untimed epoch / call each, then {args.repeat} interleaved rounds;"
        " median; ratio: the row's time over float32's;"
        " spread: (slowest - fastest) / median"
    )


if __name__ == "__main__":
    main()
