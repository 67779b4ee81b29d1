"""Event-imaging throughput: hepclf's EventImager against matplotlib, a naive NumPy test and a memory floor.

Compares, on the same events and in one run, for two recipes -- hepclf's
default (64x64 pixels, one pT-weighted channel per object type, filled discs)
and the seed's (224x224 RGB rings, ``preset="seed"``):

* the memory-traffic floor: the fastest pass that reads the padded object
  array once and writes the float32 image array once, with the same number of
  threads as the row it is compared with (NumPy and numba reductions over the
  input, ``out.fill(0)`` and a numba loop writing zeros, and a numba pass doing
  both per event; the passes of ``bench_imaging.py``, from ``_timing.py``);
* ``EventImager`` with the numba engine (all threads and one thread) and the
  NumPy engine;
* matplotlib drawing every event as the seed did: one 4 x 4 in figure per
  event, one ``Ellipse`` patch per object, saved at 56 dpi to an RGBA array
  (the seed's recipe; for the default recipe the row is the same drawing, as
  the baseline a user of the seed's code has);
* a naive full-canvas NumPy test: for each object slot, every pixel of the
  canvas of every event is tested against the object's ellipse (vectorised
  over events, no per-pixel or per-event loop, but work proportional to
  objects x canvas).

Every row and floor pass runs on the same ``--n-events`` events, once untimed
(compilation, caches, first touch of memory), then in ``--repeat`` rounds that
run each of them once in turn (so a drift of the machine's speed hits every
row alike); the table gives the median. matplotlib and the naive test are
timed on the first ``--n-slow`` events and scaled per event.

Run: ``python benchmarks/bench_event_imaging.py [--n-events 20000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Floor, capped, interleaved

from hepclf import EventImager
from hepclf.imaging import DRAW_ORDER, OBJECT_TYPES, PRESETS, SEED_COLORS

T = OBJECT_TYPES
NAMES = {code: name for name, code in T.items()}


def make_events(n_events, seed=0, n_slots=12):
    """Events like ttbar / W+jets / Drell-Yan: 1-2 leptons, 0-7 jets (some
    b-tagged), MET; |eta| < 2.5 (jets), pT from 20 GeV; zero-padded."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_events, n_slots, 4), dtype=np.float32)
    kind = rng.integers(0, 3, n_events)  # 0 ttbar, 1 W, 2 DY
    n_lep = np.where(kind == 2, 2, 1)
    n_jet = np.minimum(
        np.where(kind == 0, 4, 1) + rng.poisson(1.0, n_events), n_slots - 3
    )
    slot = np.arange(n_slots)
    lepton = slot < n_lep[:, None]
    jet = (slot >= n_lep[:, None]) & (slot < (n_lep + n_jet)[:, None])
    met = slot == (n_lep + n_jet)[:, None]
    flavour = rng.choice([T["electron"], T["muon"]], (n_events, 1))
    btag = rng.random((n_events, n_slots)) < np.where(kind == 0, 0.4, 0.05)[:, None]
    X[..., 0] = np.select(
        [lepton, jet & btag, jet, met],
        [flavour, T["bjet"], T["jet"], T["met"]],
        0,
    )
    X[..., 1] = np.where(
        X[..., 0] != 0, 20 + rng.exponential(45, (n_events, n_slots)), 0
    )
    X[..., 2] = np.where(X[..., 0] != 0, rng.uniform(-2.5, 2.5, (n_events, n_slots)), 0)
    X[..., 3] = np.where(
        X[..., 0] != 0, rng.uniform(-np.pi, np.pi, (n_events, n_slots)), 0
    )
    return X


def matplotlib_images(X):
    """The seed's drawing: a figure per event, an Ellipse per object, RGBA array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    out = np.empty((len(X), 224, 224, 4), dtype=np.uint8)
    for i, event in enumerate(X):
        fig = Figure(figsize=(4, 4), frameon=False)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.axis([-3, 3, -math.pi, math.pi])
        ax.set_axis_off()
        rows = [r for r in event if r[0] != 0]
        for code, pt, eta, phi in sorted(rows, key=lambda r: DRAW_ORDER[NAMES[r[0]]]):
            name = NAMES[int(code)]
            s = math.log(pt, 1.1)
            ax.add_artist(
                Ellipse(
                    (0.0 if name == "met" else eta, phi),
                    width=s * 6 / 224,
                    height=s * 2 * math.pi / 224,
                    facecolor="none",
                    edgecolor=np.array(SEED_COLORS[name]) / 255,
                    lw=4,
                )
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="rgba", dpi=56)
        out[i] = np.frombuffer(buf.getvalue(), np.uint8).reshape(224, 224, 4)
    return out


def naive_images(X, recipe):
    """Every pixel of the canvas tested against every object slot (NumPy)."""
    p = PRESETS[recipe]
    n = p["npix"]
    lo, hi = p["eta_range"]
    sx, sy = n / (hi - lo), n / (2 * np.pi)
    rs = p["radius_scale"]
    rs = (rs, rs) if np.isscalar(rs) else rs
    half = p["line_width"] / 2 if p["shape"] == "outline" else 0.0
    cc = np.arange(n) + 0.5
    code, pt, eta, phi = (X[..., k].astype(np.float64) for k in range(4))
    present = code != 0
    met = code == T["met"]
    if p["outside_eta"] == "clip":
        eta = np.clip(eta, lo, hi)
    eta = np.where(met, 0.0, eta)
    if p["periodic_phi"]:
        phi = (phi + np.pi) % (2 * np.pi) - np.pi
    log_pt = np.log(np.where(present, pt, 1.0))
    a = np.maximum(rs[0] * log_pt * sx, 0.75)
    b = np.maximum(rs[1] * log_pt * sy, 0.75)
    u0, v0 = (eta - lo) * sx, (phi + np.pi) * sy
    band = met & (p["met"] == "band")
    rgb = p["channels"] == "rgb"
    if rgb:
        out = np.full((len(X), 3, n, n), 255.0, dtype=np.float32)
        rank = np.full(max(T.values()) + 1, -1)
        for name, r in DRAW_ORDER.items():
            rank[T[name]] = r
        order = np.argsort(
            rank[code.astype(int)] * X.shape[1] + np.arange(X.shape[1]), axis=1
        )
        palette = np.zeros((max(T.values()) + 1, 3), dtype=np.float32)
        for name, rgb_value in SEED_COLORS.items():
            if name != "background":
                palette[T[name]] = rgb_value
    else:
        out = np.zeros((len(X), len(T), n, n), dtype=np.float32)
        order = np.broadcast_to(np.arange(X.shape[1]), code.shape)
    events = np.arange(len(X))
    for k in range(X.shape[1]):
        i = order[:, k]

        def take(v, i=i):
            return v[events, i][:, None, None]

        dx = cc[None, None, :] - take(u0)
        dy = cc[None, :, None] - take(v0)
        if p["periodic_phi"]:
            dy = (dy + n / 2) % n - n / 2
        ax, bx = take(a), take(b)
        dx = np.where(take(band), 0.0, dx)
        cover = (dx / (ax + half)) ** 2 + (dy / (bx + half)) ** 2 <= 1
        if half:
            cover &= ~((dx / (ax - half)) ** 2 + (dy / (bx - half)) ** 2 < 1)
        cover &= take(present)
        if rgb:
            colour = palette[code[events, i].astype(int)][:, :, None, None]
            out[:] = np.where(cover[:, None], colour, out)
            continue
        count = cover.sum(axis=(1, 2), keepdims=True)
        w = np.where(count > 0, take(pt) / np.maximum(count, 1), 0.0)
        channel = code[events, i].astype(int) - 1
        out[events, channel] += (cover * w).astype(np.float32)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=20000)
    parser.add_argument(
        "--n-slow",
        type=int,
        default=200,
        help="events drawn by matplotlib and the naive test (timed per event)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of every row")
    args = parser.parse_args(argv)
    n_events, repeat = args.n_events, args.repeat
    n_slow = min(args.n_slow, n_events)

    try:
        import numba
    except ImportError:
        numba = None
        print("(numba is not installed: only the NumPy engine is timed)\n")
    all_threads = numba.get_num_threads() if numba is not None else 1
    thread_counts = sorted({1, all_threads})

    X = make_events(n_events)
    n_obj = int((X[..., 0] != 0).sum())
    recipes = {"hepclf": {}, "seed": {"preset": "seed"}}
    shapes = {
        name: EventImager(**params).fit_transform(X[:1]).shape[1:]
        for name, params in recipes.items()
    }
    outputs = {
        name: np.zeros((n_events, *shape), dtype=np.float32)
        for name, shape in shapes.items()
    }
    print(
        f"{n_events} events padded to {X.shape[1]} objects, {n_obj} objects "
        f"({n_obj / n_events:.1f} per event), float32 input; matplotlib and the "
        f"naive test on the first {n_slow} events. Every row and floor pass: one "
        f"untimed run, then {repeat} rounds of one timed run of each "
        "(interleaved); median\n"
    )

    # ---- the floor: read the objects once, write the images once -------------------
    floor = Floor(X, outputs, thread_counts, item="event")

    # ---- the rows ----------------------------------------------------------------------
    rows = {}  # label -> (recipe, threads, n events, function)
    engines = [("numpy", None, 1, "NumPy engine")]
    if numba is not None:
        many = [("numba", all_threads, all_threads, f"numba, {all_threads} threads")]
        engines = [
            *(many if all_threads > 1 else []),
            ("numba", 1, 1, "numba, 1 thread"),
            *engines,
        ]
    for name, params in recipes.items():
        for engine, cap, threads, label in engines:
            imager = EventImager(engine=engine, **params)
            fn = capped(lambda imager=imager: imager.transform(X), cap)
            rows[f"{name}: EventImager {label}"] = (name, threads, n_events, fn)
        rows[f"{name}: naive full-canvas NumPy"] = (
            name,
            1,
            n_slow,
            lambda name=name: naive_images(X[:n_slow], name),
        )
        rows[f"{name}: matplotlib per event"] = (
            name,
            1,
            n_slow,
            lambda: matplotlib_images(X[:n_slow]),
        )

    fns = floor.timed()
    fns.update({("row", label): fn for label, (*_, fn) in rows.items()})
    start = time.perf_counter()
    times, _ = interleaved(fns, repeat)
    wall = time.perf_counter() - start
    median = {key: float(np.median(t)) for key, t in times.items()}
    floor_s = floor.report(median, widths=(14, 32))

    rates = {label: n / median["row", label] for label, (_, _, n, _) in rows.items()}
    print(
        f"\n{'method':<44}{'threads':>8}{'events/s':>12}{'spread':>8}"
        f"{'x mpl':>9}{'x floor':>9}"
    )
    for label, (name, threads, n, _) in rows.items():
        t = times["row", label]
        spread = (max(t) - min(t)) / median["row", label]
        per_event_floor = floor_s[name, threads] / n_events
        print(
            f"{label:<44}{threads:>8}{rates[label]:>12,.0f}{spread:>8.0%}"
            f"{rates[label] / rates[f'{name}: matplotlib per event']:>9.1f}"
            f"{(median['row', label] / n) / per_event_floor:>9.2f}"
        )
    print(
        "\nx mpl: events/s over matplotlib's per-event drawing (the seed's way) of "
        "the same events; x floor: time per event over the floor's for the same "
        "recipe and thread count; spread: (slowest - fastest) / median of the "
        f"timed runs. Whole run {wall:.1f} s."
    )

    # sanity: the seed preset against matplotlib's drawing (nearest palette colour)
    palette = np.array(list(SEED_COLORS.values()), dtype=np.float64)
    rgba = matplotlib_images(X[: min(n_slow, 50)]).astype(np.float64)
    alpha = rgba[..., 3:] / 255
    rgb = (rgba[..., :3] * alpha + 255 * (1 - alpha))[:, ::-1]
    nearest = palette[np.argmin(((rgb[..., None, :] - palette) ** 2).sum(-1), -1)]
    ours = EventImager(preset="seed").transform(X[: len(rgba)]).transpose(0, 2, 3, 1)
    same = np.all(nearest == ours, axis=-1)
    drawn = np.any(nearest != 255, axis=-1) | np.any(ours != 255, axis=-1)
    print(
        f"seed preset vs matplotlib on {len(rgba)} events: {same.mean():.2%} of all "
        f"pixels and {same[drawn].mean():.2%} of the drawn ones have the same colour"
    )
    # and the naive test draws the same default images
    a = naive_images(X[:50], "hepclf")
    b = EventImager().transform(X[:50])
    print(
        f"naive test vs EventImager (default recipe, 50 events): max |difference| "
        f"{float(np.abs(a - b).max()):.2g}, pixels differing in occupancy "
        f"{int(((a != 0) != (b != 0)).sum())}"
    )


if __name__ == "__main__":
    main()
