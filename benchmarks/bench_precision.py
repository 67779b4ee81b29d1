"""Training and inference speed of CNNClassifier by precision and memory layout.

The same network, images, batch size and optimiser in four settings, side by
side in one run: float32 (the default), float32 with channels-last tensors,
bfloat16 autocast, and bfloat16 autocast with channels-last tensors
(``precision="bf16", channels_last=True``). On a CPU with AMX (Intel Sapphire
Rapids and later) oneDNN runs bfloat16 convolutions on the tile units, and
channels-last is the layout its kernels want.

The images are the liquid-argon particle gun's (``make_particle_images``, four
classes, ``--npix`` pixels a side), the network ``--module`` (the folded
Inception network of the particle study by default). Training: every setting
starts with one untimed epoch (initialisation, the first touch of memory,
oneDNN's kernel choice), then ``--repeat`` rounds that train each setting one
more epoch in turn (``partial_fit``, flips and turns on), so a drift of the
machine's speed hits every row alike; the median epoch. Inference: the same
for ``predict_proba``. The floor is one read of the images (``X.sum()``): the
memory traffic of the input, which the networks' arithmetic dwarfs.

Run: ``python benchmarks/bench_precision.py [--n-images 1024] [--npix 192]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved

from hepclf import CNNClassifier
from hepclf.datasets import make_particle_images

SETTINGS = {
    "float32": {"precision": "fp32", "channels_last": False},
    "float32, channels-last": {"precision": "fp32", "channels_last": True},
    "bfloat16": {"precision": "bf16", "channels_last": False},
    "bfloat16, channels-last": {"precision": "bf16", "channels_last": True},
}


def _cpu_flags():
    """The CPU's AMX and AVX-512 bfloat16 flags (Linux), or ``"?"``."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0]
    except (OSError, IndexError):
        return "?"
    wanted = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f")
    return " ".join(f for f in wanted if f in flags.split()) or "no AMX, no AVX-512"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1024)
    parser.add_argument("--npix", type=int, default=192)
    parser.add_argument("--module", default="inception")
    parser.add_argument(
        "--pixel-unshuffle", type=int, default=2, help="0: not a module parameter"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X, y = make_particle_images(
        -(-args.n_images // 4), npix=args.npix, random_state=0, progress=False
    )
    X, y = X[: args.n_images], y[: args.n_images]
    print(
        f"{len(X)} particle images of {X.shape[1:]}, module {args.module!r}"
        f" (pixel_unshuffle {args.pixel_unshuffle}), batch {args.batch_size},"
        f" device {args.device}, torch {torch.__version__},"
        f" {torch.get_num_threads()} threads, CPU {_cpu_flags()}\n"
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
            device=args.device,
            random_state=0,
            augment_flip=True,
            augment_rot90=True,
            **unshuffle,
            **setting,
        )
        for name, setting in SETTINGS.items()
    }
    train, _ = interleaved(
        {name: (lambda net=net: net.partial_fit(X, y)) for name, net in nets.items()},
        args.repeat,
    )
    infer, _ = interleaved(
        {name: (lambda net=net: net.predict_proba(X)) for name, net in nets.items()},
        args.repeat,
    )
    floor = interleaved({"read": lambda: X.sum()}, args.repeat)[0]["read"]

    base_train = np.median(train["float32"])
    base_infer = np.median(infer["float32"])
    print(
        f"{'setting':<26}{'train ms/epoch':>15}{'images/s':>10}{'speed-up':>10}"
        f"{'predict ms':>12}{'images/s':>10}{'speed-up':>10}"
    )
    for name in SETTINGS:
        t, p = np.median(train[name]), np.median(infer[name])
        print(
            f"{name:<26}{t * 1e3:>15,.1f}{len(X) / t:>10,.0f}{base_train / t:>10.2f}"
            f"{p * 1e3:>12,.1f}{len(X) / p:>10,.0f}{base_infer / p:>10.2f}"
        )
    f = np.median(floor)
    print(
        f"\nfloor: one read of the images (X.sum()) {f:.4f} s = {len(X) / f:,.0f} images/s"
        f"\none untimed epoch / call each, then {args.repeat} interleaved rounds;"
        " median; speed-up: float32's time over the row's"
    )


if __name__ == "__main__":
    main()
