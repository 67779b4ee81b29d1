"""Pack benchmark jets small enough to carry to a GPU machine, and unpack them there.

A machine lent for training may have no generator and a cap on what can be
copied to it. ``pack`` writes the jets that ``top_tagging.py`` generated (or
reads them from its cache) as the ``max_particles`` hardest constituents of
each jet, in float16 ``(pt, eta - eta_jet, phi - phi_jet)`` plus the jet axis
in float32: about 380 bytes per jet for 64 constituents, against 1.2 kB for the
full particle-level jets. ``unpack`` turns that file back into the
``X_train, y_train, X_val, y_val, X_test, y_test`` arrays (``(E, px, py, pz)``, float32,
massless constituents) that ``top_tagging.py --data FILE.npz`` reads.

What is lost: constituents beyond the ``max_particles`` hardest, constituent
masses, and precision beyond float16 (a relative 5e-4 on pT, at most 5e-4 on
the angles to the jet axis).

Run::

    python benchmarks/pack_jets.py pack jets64.npz --n-train 100000 --n-val 10000 \\
        --n-test 10000 --cache-dir top-tagging-benchmark/cache
    python benchmarks/pack_jets.py unpack jets64.npz jets.npz        # on the GPU machine
    python benchmarks/top_tagging.py --data jets.npz --n-train 100000 --n-val 10000 \\
        --n-test 10000 --taggers part part_cnn best --epochs 15 --split val
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from hepclf import ConstituentSequencer

SPLITS = ("train", "val", "test")


def pack(X, max_particles):
    """The hardest constituents as float16 ``(pt, deta, dphi)`` and the jet axis.

    Parameters
    ----------
    X : ndarray of shape (n_jets, n_constituents, 4)
        ``(E, px, py, pz)``, zero rows for padding.
    max_particles : int
        Constituents kept per jet (the hardest in pT).

    Returns
    -------
    constituents : ndarray of shape (n_jets, max_particles, 3), float16
    axis : ndarray of shape (n_jets, 2), float32
        ``(eta, phi)`` of the sum of the kept constituents.
    """
    hardest = ConstituentSequencer(max_particles=max_particles).fit_transform(X)
    px, py, pz = (hardest[..., i].astype(np.float64) for i in (1, 2, 3))
    pt = np.hypot(px, py)
    present = pt > 0
    jet_px, jet_py, jet_pz = px.sum(1), py.sum(1), pz.sum(1)
    jet_eta = np.arcsinh(jet_pz / np.hypot(jet_px, jet_py))
    jet_phi = np.arctan2(jet_py, jet_px)
    safe_pt = np.where(present, pt, 1.0)
    deta = np.arcsinh(pz / safe_pt) - jet_eta[:, None]
    dphi = (
        np.remainder(np.arctan2(py, px) - jet_phi[:, None] + np.pi, 2 * np.pi) - np.pi
    )
    constituents = np.stack([pt, deta, dphi], axis=-1) * present[..., None]
    return constituents.astype(np.float16), np.stack([jet_eta, jet_phi], -1).astype(
        np.float32
    )


def unpack(constituents, axis):
    """Massless ``(E, px, py, pz)`` float32 constituents from :func:`pack`'s output.

    Converted in place of the packed order (re-sorting by the recomputed pT
    could swap constituents of equal float16 pT).
    """
    pt, deta, dphi = (constituents[..., i].astype(np.float64) for i in range(3))
    eta = deta + axis[:, :1]
    phi = dphi + axis[:, 1:]
    X = np.stack(
        [pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1
    )
    return (X * (pt > 0)[..., None]).astype(np.float32)


def main(argv=None):
    """Run ``pack`` or ``unpack``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pack", help="generated (cached) jets -> compact file")
    a.add_argument("output", type=Path)
    a.add_argument("--level", default="particle", choices=("particle", "simple"))
    a.add_argument("--n-train", type=int, default=100_000)
    a.add_argument("--n-val", type=int, default=10_000)
    a.add_argument("--n-test", type=int, default=10_000)
    a.add_argument("--max-particles", type=int, default=64)
    a.add_argument(
        "--cache-dir", type=Path, default=Path("top-tagging-benchmark/cache")
    )
    a.add_argument("--data-seed", type=int, default=0)
    a.add_argument("--shard-jets", type=int, default=2_000)
    a.add_argument("--n-jobs", type=int, default=-1)
    b = sub.add_parser(
        "unpack", help="compact file -> X_train, y_train, X_val, ..., y_test"
    )
    b.add_argument("input", type=Path)
    b.add_argument("output", type=Path)
    args = p.parse_args(argv)
    if args.command == "pack":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from top_tagging import generated_jets

        out = {}
        sizes = (args.n_train, args.n_val, args.n_test)
        for split, n in zip(SPLITS, sizes, strict=True):
            X, y = generated_jets(
                args.level,
                split,
                n,
                seed=args.data_seed,
                cache_dir=args.cache_dir,
                shard_jets=args.shard_jets,
                n_jobs=args.n_jobs,
            )
            out[f"{split}_constituents"], out[f"{split}_axis"] = pack(
                X, args.max_particles
            )
            out[f"{split}_y"] = y.astype(np.int8)
        np.savez_compressed(args.output, **out)
    else:
        with np.load(args.input) as data:
            arrays = {}
            for split in SPLITS:
                arrays[f"X_{split}"] = unpack(
                    data[f"{split}_constituents"], data[f"{split}_axis"]
                )
                arrays[f"y_{split}"] = data[f"{split}_y"].astype(np.int64)
        np.savez(args.output, **arrays)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
