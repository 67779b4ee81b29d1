"""Drift-chamber study: the seed's four energy encodings, noise, the HGB baseline, momenta.

The seed (the INFIERI drift-chamber tutorial, seed 001) drew e+e- ->
psi(3686) -> pi+ pi- J/psi events, J/psi -> e+e- or mu+mu-, and the
non-resonant e+e- -> pi+ pi- mu+ mu-, as (x, y) images of their drift-chamber
hits with four energy encodings, and reported the AUCs of J/psi -> ee vs
J/psi -> mumu (binary 0.5, total about 0.8, average about 0.85, per_hit the
best) and of J/psi vs non-resonant (binary 0.98, total 0.99). This script
trains every contender on the same simulated events
(``make_drift_chamber_events``: a BESIII-like chamber, helices in 1 T,
Bethe-Bloch charge with Landau fluctuations, noise hits) and scores them on
the same held-out events:

* ``cnn:<encoding>``: ``EnergyEncoder(encoding=..., geometry="xy")`` into a
  small ``JetCNN`` (``binary``, ``total``, ``average``, ``per_hit``, and
  ``all``: the four stacked as channels);
* ``unrolled:<encoding>``: the layer x azimuth image (one row per layer);
* options after ``@``: ``@64`` pixels (azimuth columns when unrolled),
  ``@20ep`` epochs, ``@lr1e-3`` Adam's learning rate, ``@roll`` random
  turns of the training events about the beam axis (``augment_roll``: a
  cyclic shift of the unrolled image's azimuth columns), ``@flip`` random
  mirror images (``augment_flip="horizontal"``, azimuth to minus azimuth);
* ``hgb``: ``HistGradientBoostingClassifier`` on per-event physics features
  of the same hits (``hit_features``: hit and layer counts, charge sums,
  truncated-mean charge per hit overall and in the outer layers, charge
  quantiles, radial spread), its hyperparameters tuned on the validation
  events: the baseline to beat.

Every classifier is trained once on the three classes; the two binary AUCs
come from its probabilities (ee vs mumu: ``p_ee / (p_ee + p_mumu)`` on the
J/psi events; J/psi vs non-resonant: ``p_ee + p_mumu`` on all events), so one
model gives the three numbers of the seed's table.

The regression (``--regression``): the transverse momenta of the two
leading charged tracks of the non-resonant events (two outputs, GeV/c; their
spectrum is wide, where the J/psi leptons all carry about 1.5 GeV/c; pions
and muons look alike in the chamber, so the target does not ask which track
is which) from the per_hit images at ``--regression-npix`` (or the images
of ``--regression-model``, named like the classifiers) with
``CNNRegressor``, against ``HistGradientBoostingRegressor`` on the hit
features (no helix fit on either side); the resolution is the standard
deviation and the 68 % half-width of ``(predicted - true) / true``.

Protocol: independent generator seeds per split (``train``, ``val``,
``test``) and process; each noise occupancy (``--noise``) re-simulates the
same events with noise hits added. Choices (the image size, epochs, the HGB's
hyperparameters) are made on ``--split val``; ``--split test`` scores the
final table once. Networks are trained with ``--seeds``; the table gives the
mean over seeds ± the spread between seeds ± the bootstrap over the
evaluation events; a network trained with several seeds also gets a row
``<name>_vote``, the soft vote (mean probability) of its seeds, which costs
no training; ``--compare`` adds paired differences.

Writes ``hits_<split>.md``, ``.json``, ``_probas.npz`` and
``hits_<split>_roc.png`` to ``--output-dir``; each classifier seed as soon as
it is scored to ``hits_<split>_seeds/``, which ``--resume`` reads back
instead of training again (``_study.SeedStore``; the regression is trained
again).

Small run (about a minute on 2 CPU cores): ``python benchmarks/hits.py --small``.
The published run: see ``docs/user_guide/hits_benchmark.rst``.
"""

from __future__ import annotations

import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from skorch.callbacks import LRScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import paired_differences, pm, pm_metric, summarise_metrics
from _study import (
    SPLITS,
    SeedStore,
    accuracy,
    cell,
    derived_seed,
    differences_table,
    fit_timed,
    md,
    median_or_none,
    parse_study_args,
    seed_line,
    study_parser,
    table,
    tune_hgb,
    write_outputs,
)
from _timing import machine, run_metadata

import hepclf
from hepclf import CNNClassifier, EnergyEncoder
from hepclf.cli import concatenate_padded

#: Class labels (0, 1, 2).
PROCESSES = ("jpsi_ee", "jpsi_mumu", "pipimumu")
ENCODINGS = ("binary", "total", "average", "per_hit")

#: Bump when the simulated events change (invalidates the cache).
DATA_VERSION = 1

#: The seed's table (AUCs read off its slides; "best" where it gives no number).
SEED_TABLE = {
    "binary": {"auc_ee_mumu": 0.5, "auc_jpsi_cont": 0.98},
    "total": {"auc_ee_mumu": 0.8, "auc_jpsi_cont": 0.99},
    "average": {"auc_ee_mumu": 0.85, "auc_jpsi_cont": None},
    "per_hit": {"auc_ee_mumu": "best", "auc_jpsi_cont": None},
}

#: The network kinds a model name starts with (``kind:encoding``), and their geometry.
GEOMETRIES = {"cnn": "xy", "unrolled": "unrolled", "resnet": "unrolled"}
NETWORK_PREFIXES = tuple(f"{kind}:" for kind in GEOMETRIES)

#: Network settings; ``CHOICES`` are compared on the validation events.
DEFAULTS = {
    "npix": 32,
    "epochs": 10,
    "lr": 3e-3,
    "batch_size": 128,
    "roll": False,
    "flip": False,
    "filters": 8,
}
CHOICES = {
    "cnn:per_hit": {},
    "cnn:per_hit@48": {"npix": 48},
    "cnn:per_hit@20ep": {"epochs": 20},
}
#: ``--small``: these arguments and one seed (``_study.parse_study_args``).
SMALL = {"n_train": 200, "n_val": 150, "n_test": 150, "epochs": 2}

#: Layers counted as "outer" by the hit features (the last axial superlayers,
#: reached only by tracks above ~0.3 GeV/c in 1 T).
OUTER_LAYER = 36


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------


def _seed(data_seed, split, process):
    return derived_seed(
        data_seed, SPLITS.index(split), PROCESSES.index(process), DATA_VERSION
    )


def simulate(process, split, n, noise, args):
    """``n`` events of one process, split and noise occupancy (cached)."""
    from hepclf.datasets import make_drift_chamber_events

    cache = Path(args.cache_dir) / (
        f"v{DATA_VERSION}-{hepclf.__version__}-{process}-{split}-s{args.data_seed}"
        f"-n{n}-noise{noise:g}.npz"
    )
    if cache.exists():
        with np.load(cache) as f:
            if "track_pt" in f:
                return f["hits"], f["track_pt"]
    events = make_drift_chamber_events(
        process,
        n,
        random_state=_seed(args.data_seed, split, process),
        noise_occupancy=noise,
        n_jobs=args.n_jobs,
        progress=False,
    )
    track_pt = leading_track_pt(events.truth, n)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, hits=events.hits, track_pt=track_pt)
    return events.hits, track_pt


def leading_track_pt(truth, n):
    """``(n, 2)`` transverse momenta (GeV/c) of the two leading charged tracks."""
    out = np.full((n, 2), np.nan)
    rows = truth[truth["particle"].isin(("pi+", "pi-", "e+", "e-", "mu+", "mu-"))]
    p = np.hypot(rows["px"], rows["py"]).to_numpy()
    event = rows["event"].to_numpy()
    order = np.lexsort((-p, event))
    event, p = event[order], p[order]
    rank = np.arange(len(event)) - np.searchsorted(event, event)
    top = rank < 2
    out[event[top], rank[top]] = p[top]
    return out


def dataset(split, n_per_class, noise, args):
    """Balanced hits, labels (0, 1, 2) and leading-track pT of one split."""
    parts = [simulate(p, split, n_per_class, noise, args) for p in PROCESSES]
    X = concatenate_padded([h for h, _ in parts])
    momenta = np.concatenate([m for _, m in parts])
    y = np.repeat(np.arange(len(PROCESSES)), n_per_class)
    return X, y, momenta


# --------------------------------------------------------------------------
# Features of the baseline
# --------------------------------------------------------------------------

HIT_FEATURES = (
    "n_hits",
    "n_layers_hit",
    "n_outer_hits",
    "charge_sum",
    "charge_mean",
    "charge_median",
    "charge_std",
    "truncated_mean_70",
    "truncated_mean_50",
    "outer_truncated_mean_70",
    "outer_charge_mean",
    "charge_q10",
    "charge_q90",
    "radius_mean",
    "radius_std",
    "radius_max",
    "charge_weighted_radius",
)


def _truncated_mean(charge, valid, keep):
    """Mean of the lowest ``keep`` fraction of each event's valid charges."""
    c = np.where(valid, charge, np.inf)
    c = np.sort(c, axis=1)
    n = valid.sum(1)
    k = np.maximum(np.ceil(keep * n).astype(int), 1)
    cols = np.arange(c.shape[1])
    take = cols[None, :] < k[:, None]
    s = np.where(take & np.isfinite(c), c, 0.0).sum(1)
    return np.where(n > 0, s / k, np.nan)


def _quantile(charge, valid, q):
    c = np.where(valid, charge, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # events without hits
        return np.nanquantile(c, q, axis=1)


def hit_features(hits):
    """Per-event physics features of padded hits ``(x, y, charge, layer, ...)``.

    Computed from the hits alone (no truth, no track finding): counts, charge
    sums and the truncated-mean charge per hit (the classic dE/dx estimator),
    overall and on the outer layers (``OUTER_LAYER`` and up, which the soft
    pions rarely reach, so they mostly measure the leptons), charge quantiles
    and the radial spread of the hits. NaN where an event has no such hits.
    """
    hits = np.asarray(hits, dtype=np.float64)
    if hits.ndim != 3 or hits.shape[-1] < 4:
        raise ValueError(
            f"hit_features: expected (n, n_hits, >= 4) hits, got {hits.shape}"
        )
    x, y, charge, layer = hits[..., 0], hits[..., 1], hits[..., 2], hits[..., 3]
    valid = (x != 0) | (y != 0) | (charge != 0)
    outer = valid & (layer >= OUTER_LAYER)
    r = np.hypot(x, y)
    n = valid.sum(1)
    n_outer = outer.sum(1)
    layers_hit = np.zeros((len(hits), int(layer.max(initial=0)) + 1), bool)
    ev, col = np.nonzero(valid)
    layers_hit[ev, layer[ev, col].astype(int)] = True
    with np.errstate(all="ignore"):
        q_sum = np.where(valid, charge, 0).sum(1)
        mean = q_sum / n
        std = np.sqrt(np.where(valid, (charge - mean[:, None]) ** 2, 0).sum(1) / n)
        r_mean = np.where(valid, r, 0).sum(1) / n
        r_std = np.sqrt(np.where(valid, (r - r_mean[:, None]) ** 2, 0).sum(1) / n)
        outer_mean = np.where(outer, charge, 0).sum(1) / n_outer
        weighted_r = np.where(valid, charge * r, 0).sum(1) / q_sum
    columns = {
        "n_hits": n,
        "n_layers_hit": layers_hit.sum(1),
        "n_outer_hits": n_outer,
        "charge_sum": q_sum,
        "charge_mean": mean,
        "charge_median": _quantile(charge, valid, 0.5),
        "charge_std": std,
        "truncated_mean_70": _truncated_mean(charge, valid, 0.7),
        "truncated_mean_50": _truncated_mean(charge, valid, 0.5),
        "outer_truncated_mean_70": _truncated_mean(charge, outer, 0.7),
        "outer_charge_mean": outer_mean,
        "charge_q10": _quantile(charge, valid, 0.1),
        "charge_q90": _quantile(charge, valid, 0.9),
        "radius_mean": r_mean,
        "radius_std": r_std,
        "radius_max": np.where(valid, r, 0).max(1),
        "charge_weighted_radius": weighted_r,
    }
    F = np.stack([np.asarray(columns[k], float) for k in HIT_FEATURES], axis=1)
    return np.where(np.isfinite(F), F, np.nan)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def tune_hit_hgb(X_train, y_train, X_val, y_val):
    """``tune_hgb`` on the ``hit_features`` of the events."""
    return tune_hgb(hit_features(X_train), y_train, hit_features(X_val), y_val, seed=0)


def _parse(name):
    """``cnn:per_hit@48@20ep@lr1e-3`` -> (geometry, encoding, options)."""
    head, *mods = name.split("@")
    kind, _, encoding = head.partition(":")
    options = dict(DEFAULTS)
    options.update(CHOICES.get(name, {}))
    for m in mods:
        if m.endswith("ep"):
            options["epochs"] = int(m[:-2])
        elif m.isdigit():
            options["npix"] = int(m)
        elif m.startswith("lr"):
            options["lr"] = float(m[2:])
        elif m in ("roll", "flip"):
            options[m] = True
        elif m.startswith("f") and m[1:].isdigit():
            options["filters"] = int(m[1:])
        else:
            raise ValueError(f"unknown option {m!r} in model {name!r}")
    geometry = GEOMETRIES[kind]
    options["module"] = "resnet" if kind == "resnet" else "jetcnn"
    if options["roll"] and geometry != "unrolled":
        # the (x, y) image's axes are not periodic: a turn there is augment_rot90
        raise ValueError(f"@roll needs the unrolled geometry, in model {name!r}")
    enc = list(ENCODINGS) if encoding == "all" else encoding
    if encoding != "all" and encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding in model {name!r}")
    return geometry, enc, options


def _net(cls, *, options, seed, **params):
    if options["module"] == "resnet":
        # the seed-000 ResNet, one basic block per stage: five stages halve the
        # 43 x 128 image to 3 x 8 and a global max pool ends it, so a feature
        # found anywhere in azimuth counts the same (what @roll teaches)
        params.update(
            module="resnet",
            module__base_filters=options["filters"],
            module__blocks=(1, 1, 1, 1, 1),
        )
    else:
        params.update(
            module__conv_blocks=((16, 16), (32, 32)),
            module__pool_size=2,
            module__dense=(64,),
            module__dropout=0.1,
            module__batch_norm=True,
        )
    return cls(
        max_epochs=options["epochs"],
        batch_size=options["batch_size"],
        lr=options["lr"],
        random_state=seed,
        callbacks=[
            ("lr", LRScheduler(policy="CosineAnnealingLR", T_max=options["epochs"]))
        ],
        augment_roll="horizontal" if options["roll"] else False,
        augment_flip="horizontal" if options["flip"] else False,
        **params,
    )


def build(name, *, seed, hgb_params=None, epochs=None):
    """The classifier called ``name``: a pipeline from the padded hits."""
    if name == "hgb":
        from sklearn.preprocessing import FunctionTransformer

        return make_pipeline(
            FunctionTransformer(hit_features),
            HistGradientBoostingClassifier(random_state=seed, **(hgb_params or {})),
        )
    if not name.startswith(NETWORK_PREFIXES):
        raise ValueError(f"unknown model {name!r}")
    geometry, encoding, options = _parse(name)
    if epochs is not None and "@" not in name and name not in CHOICES:
        options["epochs"] = epochs
    return make_pipeline(
        EnergyEncoder(encoding=encoding, geometry=geometry, npix=options["npix"]),
        _net(CNNClassifier, options=options, seed=seed),
    )


def build_regressor(name, *, seed, hgb_params=None, epochs=None, npix=64):
    """Momentum regressors: ``hgb`` (hit features), ``cnn`` (per_hit images at
    ``npix``) or a network named like the classifiers (``unrolled:per_hit@128``)."""
    if name == "hgb":
        from sklearn.multioutput import MultiOutputRegressor
        from sklearn.preprocessing import FunctionTransformer

        return make_pipeline(
            FunctionTransformer(hit_features),
            MultiOutputRegressor(
                HistGradientBoostingRegressor(random_state=seed, **(hgb_params or {}))
            ),
        )
    from hepclf import CNNRegressor

    if name == "cnn":
        name = f"cnn:per_hit@{npix}"
    if not name.startswith(NETWORK_PREFIXES):
        raise ValueError(f"unknown regression model {name!r}")
    geometry, encoding, options = _parse(name)
    if epochs is not None and not any(m.endswith("ep") for m in name.split("@")[1:]):
        options["epochs"] = epochs
    return make_pipeline(
        EnergyEncoder(encoding=encoding, geometry=geometry, npix=options["npix"]),
        _net(CNNRegressor, options=options, seed=seed),
    )


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------


def auc_ee_mumu(y, proba):
    """J/psi -> ee (positive) vs J/psi -> mumu, on the J/psi events."""
    jpsi = y < 2
    score = proba[jpsi, 0] / np.maximum(proba[jpsi, 0] + proba[jpsi, 1], 1e-12)
    return float(roc_auc_score(y[jpsi] == 0, score))


def auc_jpsi_cont(y, proba):
    """J/psi (positive) vs non-resonant pi pi mu mu, on all events."""
    return float(roc_auc_score(y < 2, proba[:, 0] + proba[:, 1]))


METRICS = {
    "accuracy": accuracy,
    "auc_ee_mumu": auc_ee_mumu,
    "auc_jpsi_cont": auc_jpsi_cont,
}


def resolution(true, pred):
    """Std and 68 % half-width of ``(pred - true) / true``, pooled over outputs."""
    rel = ((pred - true) / true).ravel()
    lo, hi = np.quantile(rel, [0.16, 0.84])
    return float(np.std(rel)), float((hi - lo) / 2), float(np.mean(rel))


def _bootstrap_resolution(true, pred, *, n_boot, seed):
    rng = np.random.default_rng(seed)
    reps = [
        resolution(true[idx], pred[idx])
        for idx in (rng.integers(0, len(true), len(true)) for _ in range(n_boot))
    ]
    return np.std(np.asarray(reps), axis=0, ddof=1)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def _seed_column(model, key):
    geometry, _, encoding = model.partition(":")
    value = SEED_TABLE.get(encoding.split("@")[0], {}).get(key)
    if geometry != "cnn" or value is None:
        return "-"
    return value if isinstance(value, str) else f"{value:.2f}"


def markdown(rows, diffs, regression, tuning, header):
    titles = ["model", "noise", "accuracy (3 classes)", "AUC ee vs mumu", "seed"]
    titles += ["AUC J/psi vs non-res.", "seed", "train (s)", "events/s"]
    cells = [
        [
            md(r["model"]),
            f"{r['noise']:.0%}",
            pm_metric(r, "accuracy"),
            pm_metric(r, "auc_ee_mumu"),
            _seed_column(r["model"], "auc_ee_mumu"),
            pm_metric(r, "auc_jpsi_cont", 4),
            _seed_column(r["model"], "auc_jpsi_cont"),
            f"{r['train_s']:.0f}",
            cell(r["inference_events_per_s"], ",.0f"),
        ]
        for r in rows
    ]
    lines = [header, "", *table(titles, cells)]
    lines += differences_table(
        diffs,
        {
            "accuracy": "accuracy",
            "auc_ee_mumu": "AUC ee vs mumu",
            "auc_jpsi_cont": "AUC J/psi vs non-res.",
        },
        by=("noise", lambda d: f"{d['noise']:.0%}"),
    )
    if regression:
        cells = [
            [
                md(r["model"]),
                f"{r['noise']:.0%}",
                pm(r["std"], r["std_seed_std"], r["std_boot"], 4),
                pm(r["half68"], r["half68_seed_std"], r["half68_boot"], 4),
                f"{r['bias']:+.4f}",
                f"{r['train_s']:.0f}",
            ]
            for r in regression
        ]
        titles = ["model", "noise", "std", "68 % half-width", "bias", "train (s)"]
        lines += [
            "",
            (
                "Track pT regression (non-resonant events; (pred - true) / true, "
                "pooled over the two leading tracks; ± seeds ± bootstrap):"
            ),
            "",
            *table(titles, cells),
        ]
    if tuning:
        lines += ["", "HGB tuning (validation score per grid point):", ""]
        for key, scores in tuning.items():
            best = max(scores, key=lambda s: s[0])
            lines.append(f"- {key}: best {best[0]:.4f} {best[1]} ({len(scores)} tried)")
    return "\n".join(lines) + "\n"


def plot_roc(y, results, path, noise):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
    for (name, nz), probas in results.items():
        if nz != noise:
            continue
        proba = np.mean(probas, axis=0)
        jpsi = y < 2
        s = proba[jpsi, 0] / np.maximum(proba[jpsi, 0] + proba[jpsi, 1], 1e-12)
        fpr, tpr, _ = roc_curve(y[jpsi] == 0, s)
        axes[0].plot(fpr, tpr, label=f"{name} ({auc_ee_mumu(y, proba):.3f})")
        fpr, tpr, _ = roc_curve(y < 2, proba[:, 0] + proba[:, 1])
        axes[1].plot(fpr, tpr, label=f"{name} ({auc_jpsi_cont(y, proba):.4f})")
    for ax, title in zip(
        axes, ("J/psi -> ee vs J/psi -> mumu", "J/psi vs non-resonant"), strict=True
    ):
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{title} (noise {noise:.0%})", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    axes[1].set_xscale("log")
    axes[1].set_xlim(1e-3, 1)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = study_parser(__doc__, output_dir="hits-study")
    p.add_argument(
        "--models",
        nargs="+",
        default=[
            "hgb",
            *(f"cnn:{e}" for e in ENCODINGS),
            "cnn:all",
            "unrolled:per_hit",
        ],
    )
    p.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    p.add_argument("--n-train", type=int, default=3_000, help="events per class")
    p.add_argument("--n-val", type=int, default=1_000)
    p.add_argument("--n-test", type=int, default=3_000)
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument(
        "--regression", action="store_true", help="add the momentum regression"
    )
    p.add_argument("--compare", nargs="*", default=["cnn:per_hit:hgb", "cnn:all:hgb"])
    p.add_argument("--regression-npix", type=int, default=64)
    p.add_argument(
        "--regression-model",
        default="cnn",
        help="the network of the regression: 'cnn' (per_hit at --regression-npix) "
        "or a model name such as unrolled:per_hit@128@lr1e-3",
    )
    p.add_argument(
        "--regression-noise",
        type=float,
        nargs="+",
        default=[0.1],
        help="noise occupancies of the regression (default 0.1)",
    )
    args = parse_study_args(p, argv, SMALL)
    if args.small:
        args.regression_noise = args.noise
    return args


def score_row(name, noise, y, probas, *, train_s, rate, n_boot):
    """A table row: the metrics of ``probas`` (one array per seed) on ``y``."""
    row = {"model": name, "noise": noise, "seeds": len(probas)}
    row.update(summarise_metrics(METRICS, y, probas, n_boot=n_boot, seed=0))
    row["train_s"] = train_s
    row["inference_events_per_s"] = rate
    row["n_eval"] = len(y)
    return row


def vote_row(name, noise, y, probas, train_s, *, n_boot):
    """The soft vote of a network's seeds: its row and its (one) probabilities.

    The vote averages the seeds' probabilities event by event; it is one
    model, so its row has the bootstrap over the events and no spread between
    seeds, and its training time is that of all the seeds.
    """
    vote = [np.mean(probas, axis=0)]
    row = score_row(
        f"{name}_vote",
        noise,
        y,
        vote,
        train_s=float(np.sum(train_s)),
        rate=None,
        n_boot=n_boot,
    )
    return row, vote


def _split_pair(pair):
    """``"A,B"`` (or ``"A:B"`` when B has no colon) -> (A, B)."""
    if "," in pair:
        a, _, b = pair.partition(",")
    else:
        a, _, b = pair.rpartition(":")
    return a, b


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_eval = args.n_val if args.split == "val" else args.n_test

    results, rows, diffs, regression, tuning = {}, [], [], [], {}
    y_eval = None
    for noise in args.noise:
        train = dataset("train", args.n_train, noise, args)
        val = dataset("val", args.n_val, noise, args)
        evaluation = (
            val if args.split == "val" else dataset("test", n_eval, noise, args)
        )
        (X_train, y_train, _), (X_val, y_val, _) = train, val
        X_eval, y_eval, _ = evaluation
        store = SeedStore(  # one per noise level: its own evaluation events
            out / f"hits_{args.split}_seeds",
            args,
            y_eval,
            version=f"v{DATA_VERSION}-{hepclf.__version__}",
        )
        print(
            f"noise {noise:.0%}: train {len(y_train):,}, val {len(y_val):,}, "
            f"{args.split} {len(y_eval):,} events",
            flush=True,
        )
        hgb_params = None
        if "hgb" in args.models:
            hgb_params, tuning[f"classifier, noise {noise:.0%}"] = store.tuned(
                f"hgb@{noise:g}",  # --resume reads it back
                tune_hit_hgb,
                X_train,
                y_train,
                X_val,
                y_val,
            )
        for name in args.models:
            seeds = args.seeds[:1] if name == "hgb" else args.seeds
            probas, train_s, rates = [], [], []
            for seed in seeds:
                # the inference rate of the first seed only
                timing = args.timing_repeats if seed == seeds[0] else 0
                make = partial(
                    build, name, seed=seed, hgb_params=hgb_params, epochs=args.epochs
                )
                proba, seconds, rate, resumed = store.fit_or_resume(
                    f"{name}@{noise:g}", seed, make, X_train, y_train, X_eval, timing
                )
                probas.append(proba)
                train_s.append(seconds)
                rates.append(rate)
                line = seed_line(name, seed, METRICS, y_eval, proba, seconds)
                print(line + (" (resumed)" if resumed else ""), flush=True)
            results[name, noise] = probas
            rows.append(
                score_row(
                    name,
                    noise,
                    y_eval,
                    probas,
                    train_s=float(np.mean(train_s)),
                    rate=median_or_none(rates),
                    n_boot=args.n_boot,
                )
            )
            if len(probas) > 1:  # the soft vote of the seeds, free to score
                row, results[row["model"], noise] = vote_row(
                    name, noise, y_eval, probas, train_s, n_boot=args.n_boot
                )
                rows.append(row)
        for pair in args.compare:
            a, b = _split_pair(pair)
            if (a, noise) in results and (b, noise) in results:
                d = {"a": a, "b": b, "noise": noise}
                d.update(
                    paired_differences(
                        METRICS,
                        y_eval,
                        results[a, noise],
                        results[b, noise],
                        n_boot=args.n_boot,
                        seed=0,
                    )
                )
                diffs.append(d)
        if args.regression and noise in args.regression_noise:
            regression += run_regression(noise, train, val, evaluation, args, tuning)

    header = (
        f"## Drift-chamber events, {args.split} split\n\n"
        f"{args.n_train:,} training events per class; {len(y_eval):,} {args.split} "
        f"events (balanced); epochs {args.epochs}; seeds {args.seeds}; ± seeds: std "
        f"between seeds; ± eval.: bootstrap std over the {args.split} events "
        f"({args.n_boot} resamples); {machine()}."
    )
    stem = out / f"hits_{args.split}"
    text = markdown(rows, diffs, regression, tuning, header)
    result = {
        "rows": rows,
        "differences": diffs,
        "regression": regression,
        "hgb_tuning": tuning,
        "meta": run_metadata(DATA_VERSION, args),
    }
    probas = {f"{n}@{nz:g}": p for (n, nz), p in results.items()}
    write_outputs(stem, text, result, y_eval, probas)
    plot_roc(y_eval, results, f"{stem}_roc.png", args.noise[0])
    print(text)
    return 0


def _non_resonant(X, y, momenta):
    """The hits and leading-track pT of a split's non-resonant events."""
    keep = y == PROCESSES.index("pipimumu")
    return X[keep], momenta[keep]


def run_regression(noise, train, val, evaluation, args, tuning):
    """Leading-track pT of the non-resonant events: CNNRegressor vs HGB.

    ``train``, ``val`` and ``evaluation`` are the splits' ``dataset``:
    ``(hits, labels, momenta)``.
    """
    (Xt, pt), (Xv, pv) = _non_resonant(*train), _non_resonant(*val)
    Xe, pe = _non_resonant(*evaluation)
    params, scores = tune_hgb(
        hit_features(Xt),
        pt[:, 0],
        hit_features(Xv),
        pv[:, 0],
        seed=0,
        estimator=HistGradientBoostingRegressor,
    )
    tuning[f"regressor, noise {noise:.0%}"] = scores
    out = []
    for name in ("hgb", args.regression_model):
        seeds = args.seeds[:1] if name == "hgb" else args.seeds
        values, boots, train_s = [], [], []
        for seed in seeds:
            est = build_regressor(
                name,
                seed=seed,
                hgb_params=params,
                epochs=args.epochs,
                npix=args.regression_npix,
            )
            train_s.append(fit_timed(est, Xt, pt.astype(np.float32)))
            pred = est.predict(Xe)
            values.append(resolution(pe, pred))
            boots.append(_bootstrap_resolution(pe, pred, n_boot=args.n_boot, seed=0))
            print(
                f"  regression {name}, seed {seed}: std {values[-1][0]:.4f}, "
                f"68% {values[-1][1]:.4f}",
                flush=True,
            )
        v, b = np.asarray(values), np.mean(boots, axis=0)
        spread = np.std(v, axis=0, ddof=1) if len(v) > 1 else [None] * 3
        out.append(
            {
                "model": f"{name} (track pT)",
                "noise": noise,
                "std": float(v[:, 0].mean()),
                "std_seed_std": None if spread[0] is None else float(spread[0]),
                "std_boot": float(b[0]),
                "half68": float(v[:, 1].mean()),
                "half68_seed_std": None if spread[1] is None else float(spread[1]),
                "half68_boot": float(b[1]),
                "bias": float(v[:, 2].mean()),
                "train_s": float(np.mean(train_s)),
            }
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
