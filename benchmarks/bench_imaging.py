"""Jet-imaging throughput: hepclf's JetImager against a per-jet Python loop.

Compares, on the same jets and in one run:

* ``np.bincount`` over the same constituents into the same float32 images, in
  the same chunks, with the pixel indices given (the memory-bound floor: only the
  scatter-add, no kinematics or preprocessing);
* ``JetImager`` with the same recipe as energyflow's ``pixelate`` (centre on the
  pT centroid, normalise), with the full recipe (centre, rotate, flip), and from
  (E, px, py, pz) input; with the numba engine (all threads and one thread) and
  the NumPy engine;
* energyflow's ``pixelate`` called jet by jet (the usual notebook loop), on
  (pt, eta, phi) and, for the (E, px, py, pz) rows, with each jet converted
  by NumPy before ``pixelate`` (the same loop as a notebook starting from the
  public data set's four-vectors).

energyflow pins numpy below 2, so it is not installed: its standalone
``energyflow/utils/image_utils.py`` is loaded from a wheel that this script
downloads with pip (or from ``--energyflow PATH``).

Run: ``python benchmarks/bench_imaging.py [--n-jets 20000]``
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from hepclf import JetImager
from hepclf.datasets import load_top_tagging

CACHE = Path(tempfile.gettempdir()) / "hepclf-bench-energyflow"


def load_pixelate(path=None):
    """Return energyflow's ``pixelate`` without importing the energyflow package."""
    if path is None:
        path = CACHE / "energyflow" / "utils" / "image_utils.py"
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "-d",
                    str(CACHE),
                    "energyflow==1.4.0",
                ],
                check=True,
            )
            wheel = next(CACHE.glob("energyflow-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                zf.extract("energyflow/utils/image_utils.py", CACHE)
    spec = importlib.util.spec_from_file_location("ef_image_utils", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pixelate


def to_ptetaphi(X):
    """(pt, eta, phi) with phi measured from the leading constituent.

    energyflow's ``pixelate`` averages phi without wrap-around, so jets are
    moved away from phi = +-pi first (JetImager does not need this).
    """
    px, py, pz = (X[..., k].astype(np.float64) for k in range(1, 4))
    pt = np.hypot(px, py)
    eta = np.arcsinh(np.divide(pz, pt, out=np.zeros_like(pt), where=pt > 0))
    phi = np.arctan2(py, px)
    lead = phi[np.arange(len(phi)), pt.argmax(axis=1)][:, np.newaxis]
    phi = np.where(pt > 0, np.mod(phi - lead + np.pi, 2 * np.pi) - np.pi, 0.0)
    return np.stack([pt, eta, phi], axis=-1)


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=20000)
    parser.add_argument("--npix", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--energyflow",
        type=Path,
        default=None,
        help="path to energyflow/utils/image_utils.py",
    )
    args = parser.parse_args(argv)

    X, _ = load_top_tagging()
    X = np.concatenate([X] * (-(-args.n_jets // len(X))))[: args.n_jets]
    jets = to_ptetaphi(X).astype(np.float32)
    n_const = int((jets[..., 0] > 0).sum())
    print(
        f"{args.n_jets} jets, {n_const} constituents ({n_const / args.n_jets:.1f} per jet), "
        f"{args.npix}x{args.npix} pixels\n"
    )

    # the floor: scatter-add the same constituents into the same float32 images, in the
    # same chunks of jets as JetImager, with every index precomputed
    rng = np.random.default_rng(0)
    n_pix = args.npix**2
    jet_of = np.nonzero(jets[..., 0] > 0)[0]
    flat_idx = jet_of * n_pix + rng.integers(0, n_pix, n_const)
    weights = rng.random(n_const)
    chunk = JetImager().chunk_size
    bounds = np.searchsorted(jet_of, np.arange(0, args.n_jets + chunk, chunk))

    def floor():
        out = np.empty((args.n_jets, 1, args.npix, args.npix), dtype=np.float32)
        for c, start in enumerate(range(0, args.n_jets, chunk)):
            stop = min(start + chunk, args.n_jets)
            lo, hi = bounds[c], bounds[c + 1]
            counts = np.bincount(
                flat_idx[lo:hi] - start * n_pix,
                weights[lo:hi],
                minlength=(stop - start) * n_pix,
            )
            out[start:stop] = counts.reshape(stop - start, 1, args.npix, args.npix)

    width = 1.6  # energyflow's img_width: full window edge
    half = width / 2
    window = {"npix": args.npix, "eta_range": (-half, half), "phi_range": (-half, half)}
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    pixelate = load_pixelate(args.energyflow)
    n_loop = min(args.n_jets, 5000)

    def ef_loop():
        for jet in jets[:n_loop]:
            pixelate(jet, npix=args.npix, img_width=width)

    def ef_loop_p4():
        # the same loop from (E, px, py, pz): each jet converted, then pixelated
        for jet in X32[:n_loop]:
            pixelate(to_ptetaphi(jet[np.newaxis])[0], npix=args.npix, img_width=width)

    def imager_row(label, data, engine, threads=None, **params):
        if threads is not None:  # the same row with numba capped at `threads`
            import numba

            before = numba.get_num_threads()
            numba.set_num_threads(threads)
            try:
                return imager_row(label, data, engine, **params)
            finally:
                numba.set_num_threads(before)
        imager = JetImager(engine=engine, **window, **params)
        # compile or load the kernel for this input and touch the output memory
        # outside the timing
        imager.transform(data)
        return label, best_of(lambda: imager.transform(data), args.repeat), args.n_jets

    # warm up for two seconds before anything is timed: on the machine of the
    # README's numbers the first second of multi-threaded work runs 5x slower
    warm = JetImager(**window, input_format="ptetaphi")
    start = time.perf_counter()
    while time.perf_counter() - start < 2:
        warm.transform(jets)

    recipe = {"input_format": "ptetaphi"}
    like_ef = {**recipe, "rotate": False, "flip": False}
    rows = [
        ("np.bincount floor (scatter only)", best_of(floor, args.repeat), args.n_jets)
    ]
    engines = [("numpy", None, "numpy")]
    try:
        import numba

        engines = [
            ("numba", None, f"numba, {numba.get_num_threads()} threads"),
            ("numba", 1, "numba, 1 thread"),
            *engines,
        ]
    except ImportError:
        print("(numba is not installed: only the NumPy engine is timed)\n")
    for engine, threads, label in engines:
        rows += [
            imager_row(f"{label}: centre+norm", jets, engine, threads, **like_ef),
            imager_row(f"{label}: full recipe", jets, engine, threads, **recipe),
            imager_row(f"{label}: full, (E,px,py,pz)", X32, engine, threads),
        ]
    rows.append(("energyflow pixelate, per-jet loop", best_of(ef_loop, 1), n_loop))
    rows.append(("energyflow loop, (E,px,py,pz)", best_of(ef_loop_p4, 1), n_loop))
    rates = {name: n / t for name, t, n in rows}
    floor_rate = rates["np.bincount floor (scatter only)"]
    # each imager row against the per-jet loop on the same input format
    loops = {
        False: rates["energyflow pixelate, per-jet loop"],
        True: rates["energyflow loop, (E,px,py,pz)"],
    }
    print(
        f"{'method':<44}{'jets/s':>12}{'x loop (same input)':>21}{'floor / this':>15}"
    )
    for name, _, _ in rows:
        loop_rate = loops["(E,px,py,pz)" in name]
        print(
            f"{name:<44}{rates[name]:>12,.0f}{rates[name] / loop_rate:>21.1f}"
            f"{floor_rate / rates[name]:>15.2f}"
        )

    # memory: what transform allocates beyond its float32 output (tracemalloc sees
    # NumPy's allocations; the numba kernel only holds per-jet scratch arrays)
    import tracemalloc

    out_mb = args.n_jets * args.npix**2 * 4 / 2**20
    timed = {engine for engine, _, _ in engines}
    for engine in ("numpy", "numba"):
        if engine not in timed:  # numba is not installed
            continue
        imager = JetImager(engine=engine, **window)
        tracemalloc.start()
        imager.transform(X32)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(
            f"{engine} engine: peak allocation {peak:.0f} MiB for {out_mb:.0f} MiB of images "
            f"(input {X32.nbytes / 2**20:.0f} MiB float32)"
        )

    # sanity: both recipes keep the same pT inside the window
    raw = JetImager(**window, **like_ef, normalize=False)
    a = raw.transform(jets[:200]).sum(axis=(1, 2, 3))
    b = jets[:200, :, 0].sum(axis=1)
    print(
        f"\nmean fraction of jet pT inside the {width}x{width} window: {np.mean(a / b):.4f}"
    )


if __name__ == "__main__":
    main()
