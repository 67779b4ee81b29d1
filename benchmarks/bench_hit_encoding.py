"""Hit-encoding throughput: hepclf's EnergyEncoder against a per-event histogram2d loop and a memory floor.

Compares, on the same drift-chamber-like events and in one run:

* the memory-traffic floor: the fastest pass that reads the padded hit array
  once and writes the float32 image array once, on one thread (a NumPy and a
  numba reduction over the input, ``out.fill(0)`` and a numba loop writing
  zeros, and a numba pass doing both per event; the passes of
  ``bench_imaging.py``, from ``_timing.py``);
* ``EnergyEncoder`` (numba and NumPy engines, one thread) for one channel
  (``"per_hit"``), all four encodings stacked, and the unrolled (layer x
  azimuth) geometry;
* the seed's way: a Python loop over events, each binned with
  ``np.histogram2d`` (weighted by the hits' charges for ``"per_hit"``, the
  occupancy times the event's value for ``"total"`` and ``"average"``),
  divided by the same scales.

Every row and floor pass runs on the same ``--n-events`` events, once untimed
(caches, first touch of memory), then in ``--repeat`` rounds that run each of
them once in turn (interleaved, so a drift of the machine's speed hits every
row alike); the table gives the median. The per-event loop is timed on the
first ``--n-slow`` events and scaled per event. The script checks that the
loop and ``EnergyEncoder`` give the same images before timing.

Run: ``python benchmarks/bench_hit_encoding.py [--n-events 20000] [--repeat 5]``,
or ``--small`` for a quick run (2000 events, 3 rounds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Floor, capped, interleaved

from hepclf import EnergyEncoder
from hepclf.imaging import ENCODINGS

#: Radii (mm) of the 43 layers, BESIII-like: 76 mm to 763 mm.
RADII = np.linspace(76.0, 763.0, 43)


def make_hits(n_events, seed=0, n_slots=200):
    """Zero-padded events of 2-6 curling tracks, one hit per layer crossed.

    Rows ``(x, y, charge, layer, wire, stereo, drift_time)`` in float32, like
    the readers' arrays: x, y on the layer's circle along a track of random
    curvature, Landau-like charges (ADC counts), 5 % of the hits lost. Shapes
    rather than physics (the simulator draws physical events).
    """
    rng = np.random.default_rng(seed)
    X = np.zeros((n_events, n_slots, 7), dtype=np.float32)
    n_tracks = rng.integers(2, 7, n_events)
    for t in range(6):
        has = n_tracks > t
        phi0 = rng.uniform(-np.pi, np.pi, n_events)
        curl = rng.normal(0.0, 1.2e-3, n_events)  # rad per mm of radius
        reach = rng.integers(10, 44, n_events)  # layers before it curls away
        for layer, r in enumerate(RADII):
            slot = t * 43 + layer
            if slot >= n_slots:
                break
            hit = has & (layer < reach) & (rng.random(n_events) > 0.05)
            phi = phi0 + curl * r
            q = 300.0 * rng.lognormal(0.4, 0.45, n_events)
            X[:, slot] = np.where(
                hit[:, None],
                np.stack(
                    [
                        r * np.cos(phi),
                        r * np.sin(phi),
                        q,
                        np.full(n_events, layer),
                        np.round((phi % (2 * np.pi)) * 20),
                        np.full(n_events, 1.0 * (layer < 8 or 20 <= layer < 36)),
                        rng.uniform(0, 400, n_events),
                    ],
                    axis=1,
                ),
                0.0,
            )
    return X


def histogram_loop(X, encodings, scale, npix, extent):
    """The seed's way: one ``np.histogram2d`` per event (and per channel)."""
    out = np.zeros((len(X), len(encodings), npix, npix), dtype=np.float32)
    bins, window = npix, [[-extent, extent], [-extent, extent]]
    for i, event in enumerate(X):
        hits = event[(event[:, 0] != 0) | (event[:, 1] != 0) | (event[:, 2] != 0)]
        x, y, q = (hits[:, k].astype(np.float64) for k in range(3))
        x, y = np.clip(x, -extent, extent), np.clip(y, -extent, extent)
        occupied = None
        for c, enc in enumerate(encodings):
            if enc == "per_hit":
                image, _, _ = np.histogram2d(y, x, bins=bins, range=window, weights=q)
                out[i, c] = image / scale[c]
                continue
            if occupied is None:
                counts, _, _ = np.histogram2d(y, x, bins=bins, range=window)
                occupied = counts > 0
            value = {
                "binary": 1.0,
                "total": q.sum(),
                "average": q.mean() if len(q) else 0.0,
            }[enc]
            out[i, c] = occupied * (value / scale[c])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=20000)
    parser.add_argument(
        "--n-slow",
        type=int,
        default=1000,
        help="events binned by the per-event loop (timed per event)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of every row")
    parser.add_argument("--npix", type=int, default=64)
    parser.add_argument(
        "--small", action="store_true", help="2000 events, 200 in the loop, 3 rounds"
    )
    args = parser.parse_args(argv)
    if args.small:
        args.n_events, args.n_slow, args.repeat = 2000, 200, 3
    n_events, repeat, npix = args.n_events, args.repeat, args.npix
    n_slow = min(args.n_slow, n_events)

    try:
        import numba
    except ImportError:
        numba = None
        print("(numba is not installed: the floor uses the NumPy passes only)\n")

    X = make_hits(n_events)
    n_hits = int(((X[..., 0] != 0) | (X[..., 1] != 0) | (X[..., 2] != 0)).sum())
    recipes = {
        "per_hit": {"encoding": "per_hit"},
        "all four": {"encoding": list(ENCODINGS)},
        "unrolled": {"encoding": "per_hit", "geometry": "unrolled"},
    }
    engines = ["numpy"] if numba is None else ["numba", "numpy"]
    encoders = {
        (name, engine): EnergyEncoder(npix=npix, engine=engine, **params).fit(X)
        for name, params in recipes.items()
        for engine in engines
    }
    extent = encoders["per_hit", "numpy"].extent
    outputs = {
        name: np.zeros((n_events, *enc.transform(X[:1]).shape[1:]), dtype=np.float32)
        for (name, engine), enc in encoders.items()
        if engine == "numpy"
    }
    print(
        f"{n_events} events padded to {X.shape[1]} hits x 7 features (float32), "
        f"{n_hits} hits ({n_hits / n_events:.1f} per event), {npix}x{npix} pixels "
        f"(unrolled: 43x{npix}); the per-event loop on the first {n_slow} events. "
        f"Every row and floor pass: one untimed run, then {repeat} rounds of one "
        "timed run of each (interleaved); median\n"
    )

    # the loop and the encoder agree (same pixels, same values)
    for (name, engine), enc in encoders.items():
        if name == "unrolled":
            continue
        loop = histogram_loop(X[:n_slow], enc.channel_names_, enc.scale_, npix, extent)
        ours = enc.transform(X[:n_slow])
        print(
            f"check {name}, {engine} engine: max |EnergyEncoder - histogram2d loop| "
            f"= {float(np.abs(loop - ours).max()):.2g}"
        )
    print()

    # ---- the floor: read the hits once, write the images once --------------------
    floor = Floor(X, outputs, [1], item="event")

    # ---- the rows ----------------------------------------------------------------------
    rows = {}  # label -> (recipe, n events, function)
    for (name, engine), enc in encoders.items():
        rows[f"{name}: EnergyEncoder, {engine}"] = (
            name,
            n_events,
            capped(lambda enc=enc: enc.transform(X), 1 if engine == "numba" else None),
        )
        if name != "unrolled" and engine == "numpy":
            rows[f"{name}: histogram2d per-event loop"] = (
                name,
                n_slow,
                lambda enc=enc: histogram_loop(
                    X[:n_slow], enc.channel_names_, enc.scale_, npix, extent
                ),
            )

    fns = floor.timed()
    fns.update({("row", label): fn for label, (*_, fn) in rows.items()})
    start = time.perf_counter()
    times, _ = interleaved(fns, repeat)
    wall = time.perf_counter() - start
    median = {key: float(np.median(t)) for key, t in times.items()}
    floor_s = floor.report(median, widths=(18, 32))

    rates = {label: n / median["row", label] for label, (_, n, _) in rows.items()}
    print(f"\n{'method':<44}{'events/s':>12}{'spread':>8}{'x loop':>9}{'x floor':>9}")
    for label, (name, n, _) in rows.items():
        t = times["row", label]
        spread = (max(t) - min(t)) / median["row", label]
        # the seed has no unrolled images: those rows are compared with the xy loop
        loop = (
            f"{'per_hit' if name == 'unrolled' else name}: histogram2d per-event loop"
        )
        x_loop = f"{rates[label] / rates[loop]:>9.1f}"
        per_event_floor = floor_s[name, 1] / n_events
        print(
            f"{label:<44}{rates[label]:>12,.0f}{spread:>8.0%}{x_loop}"
            f"{(median['row', label] / n) / per_event_floor:>9.2f}"
        )
    print(
        "\nx loop: events/s over the per-event histogram2d loop (the seed's way) "
        "for the same encodings (unrolled rows: the xy per_hit loop); x floor: time per event over the floor's for the "
        "same output; spread: (slowest - fastest) / median of the timed runs. "
        f"All rows on one thread. Whole run {wall:.1f} s."
    )


if __name__ == "__main__":
    main()
