"""Jet-imaging throughput: hepclf's JetImager against a per-jet loop and a memory floor.

Compares, on the same jets and in one run:

* the memory-traffic floor: the fastest pass that reads the padded constituent
  array once and writes the float32 image array once, with the same number of
  threads as the row it is compared with (NumPy and numba reductions over the
  input, ``out.fill(0)`` and a numba loop writing zeros into an output that
  already exists, and a numba pass doing both per jet; the fastest combination
  is the floor);
* ``JetImager`` with the same recipe as energyflow's ``pixelate`` (centre on the
  pT centroid, normalise), with the full recipe (centre, rotate, flip), and from
  (E, px, py, pz) input; with the numba engine (all threads and one thread) and
  the NumPy engine;
* energyflow's ``pixelate`` called jet by jet (the usual notebook loop), on
  (pt, eta, phi) and, for the (E, px, py, pz) rows, with each jet converted
  by NumPy before ``pixelate`` (the same loop as a notebook starting from the
  public data set's four-vectors);
* for reference, the NumPy engine's scatter step alone (``np.bincount`` into
  the same images with the pixel indices given).

Every row and floor pass runs on the same ``--n-jets`` jets, once untimed
(compilation, caches, first touch of memory), then in ``--repeat`` rounds that
run each of them once in turn (so a drift of the machine's speed hits every
row alike); the table gives the median.

energyflow pins numpy below 2, so it is not installed: its standalone
``energyflow/utils/image_utils.py`` is loaded from a wheel that this script
downloads with pip (or from ``--energyflow PATH``).

Run: ``python benchmarks/bench_imaging.py [--n-jets 20000] [--repeat 5]``
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Floor, capped, interleaved

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=20000)
    parser.add_argument("--npix", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of every row")
    parser.add_argument(
        "--energyflow",
        type=Path,
        default=None,
        help="path to energyflow/utils/image_utils.py",
    )
    args = parser.parse_args(argv)
    n_jets, npix, repeat = args.n_jets, args.npix, args.repeat

    try:
        import numba
    except ImportError:
        numba = None
        print("(numba is not installed: only the NumPy engine is timed)\n")
    all_threads = numba.get_num_threads() if numba is not None else 1

    X, _ = load_top_tagging()
    X = np.concatenate([X] * (-(-n_jets // len(X))))[:n_jets]
    X32 = np.ascontiguousarray(X, dtype=np.float32)  # (E, px, py, pz)
    jets = to_ptetaphi(X).astype(np.float32)  # (pt, eta, phi)
    n_const = int((jets[..., 0] > 0).sum())
    out = np.zeros((n_jets, 1, npix, npix), dtype=np.float32)
    inputs = {"ptetaphi": jets, "epxpypz": X32}
    print(
        f"{n_jets} jets padded to {X.shape[1]} constituents, {n_const} constituents "
        f"({n_const / n_jets:.1f} per jet), {npix}x{npix} float32 images; every row "
        f"and floor pass: one untimed run, then {repeat} rounds of one timed run "
        "of each (interleaved); median\n"
    )
    width = 1.6  # energyflow's img_width: full window edge
    half = width / 2
    window = {"npix": npix, "eta_range": (-half, half), "phi_range": (-half, half)}

    # ---- the floor: read the input once, write the output once ------------------
    # Candidate passes for each thread count; the floor of (input, threads) is the
    # fastest read + write, or fused per-jet pass, using at most that many
    # threads (_timing.Floor).
    thread_counts = sorted({1, all_threads})
    floor = Floor(inputs, out, thread_counts, item="jet", numpy_max=True)

    # ---- the imagers and the per-jet loops --------------------------------------
    pixelate = load_pixelate(args.energyflow)

    def ef_loop():
        for jet in jets:
            pixelate(jet, npix=npix, img_width=width)

    def ef_loop_p4():
        # the same loop from (E, px, py, pz): each jet converted, then pixelated
        for jet in X32:
            pixelate(to_ptetaphi(jet[np.newaxis])[0], npix=npix, img_width=width)

    # the NumPy engine's scatter step alone, for reference: scatter-add the same
    # constituents into the same float32 images in the same chunks of jets, with
    # every pixel index given
    rng = np.random.default_rng(0)
    n_pix = npix**2
    jet_of = np.nonzero(jets[..., 0] > 0)[0]
    flat_idx = jet_of * n_pix + rng.integers(0, n_pix, n_const)
    weights = rng.random(n_const)
    chunk = JetImager().chunk_size
    bounds = np.searchsorted(jet_of, np.arange(0, n_jets + chunk, chunk))

    def scatter():
        for c, start in enumerate(range(0, n_jets, chunk)):
            stop = min(start + chunk, n_jets)
            lo, hi = bounds[c], bounds[c + 1]
            counts = np.bincount(
                flat_idx[lo:hi] - start * n_pix,
                weights[lo:hi],
                minlength=(stop - start) * n_pix,
            )
            out[start:stop] = counts.reshape(stop - start, 1, npix, npix)

    rows = {}  # label -> (input name, threads, function)

    def imager_row(label, name, engine, threads, **params):
        imager = JetImager(engine=engine, **window, **params)
        fn = capped(lambda: imager.transform(inputs[name]), threads)
        rows[label] = (name, threads, fn)

    recipe = {"input_format": "ptetaphi"}
    like_ef = {**recipe, "rotate": False, "flip": False}
    engines = [("numpy", 1, "NumPy engine")]
    if numba is not None:
        engines = [
            ("numba", all_threads, f"numba, {all_threads} threads"),
            ("numba", 1, "numba, 1 thread"),
            *engines,
        ]
    for engine, threads, label in engines:
        cap = threads if engine == "numba" else None
        imager_row(f"{label}: centre+norm", "ptetaphi", engine, cap, **like_ef)
        imager_row(f"{label}: full recipe", "ptetaphi", engine, cap, **recipe)
        imager_row(f"{label}: full, (E,px,py,pz)", "epxpypz", engine, cap)
    rows["energyflow pixelate, per-jet loop"] = ("ptetaphi", None, ef_loop)
    rows["energyflow loop, (E,px,py,pz)"] = ("epxpypz", None, ef_loop_p4)
    rows["NumPy engine's scatter step (bincount)"] = ("ptetaphi", None, scatter)

    # warm up for two seconds before anything is timed: on the machine of the
    # README's numbers the first second of multi-threaded work runs 5x slower
    warm = JetImager(**window, input_format="ptetaphi")
    start = time.perf_counter()
    while time.perf_counter() - start < 2:
        warm.transform(jets)

    fns = floor.timed()
    fns.update({("row", label): fn for label, (_, _, fn) in rows.items()})
    times, _ = interleaved(fns, repeat)
    median = {key: float(np.median(t)) for key, t in times.items()}
    floor_s = floor.report(median, widths=(16, 34))

    rates = {label: n_jets / median["row", label] for label in rows}
    loops = {
        "ptetaphi": rates["energyflow pixelate, per-jet loop"],
        "epxpypz": rates["energyflow loop, (E,px,py,pz)"],
    }
    print(
        f"\n{'method':<40}{'threads':>8}{'jets/s':>11}{'spread':>8}"
        f"{'x loop':>8}{'x floor':>9}"
    )
    for label, (name, threads, _) in rows.items():
        threads = threads or 1
        t = times["row", label]
        spread = (max(t) - min(t)) / median["row", label]
        print(
            f"{label:<40}{threads:>8}{rates[label]:>11,.0f}{spread:>8.0%}"
            f"{rates[label] / loops[name]:>8.1f}"
            f"{median['row', label] / floor_s[name, threads]:>9.2f}"
        )
    print(
        "\nx loop: jets/s over the per-jet loop's on the same input format; x floor: "
        "time over the floor's for the same input and thread count; spread: "
        "(slowest - fastest) / median of the timed runs"
    )

    # memory: what transform allocates beyond its float32 output (tracemalloc sees
    # NumPy's allocations; the numba kernel only holds per-jet scratch arrays)
    import tracemalloc

    out_mb = out.nbytes / 2**20
    for engine in ("numpy", "numba"):
        if engine == "numba" and numba is None:
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
