"""Event classification study: ttbar vs W+jets vs Drell-Yan, the seed's recipe and ours.

The seed (the CMS event-image poster, seed 002) drew events with exactly one
tight isolated lepton as coloured rings on a 224 x 224 (eta, phi) canvas and
fine-tuned ImageNet networks on 1,200 images per class; its best cell was
80.6 % test accuracy. This script trains every contender on the same
generated events and scores them on the same held-out events:

* ``hgb``: ``HistGradientBoostingClassifier`` on ``EventFeatures`` (object
  counts, b-tags, HT, MET, transverse mass, ...), its hyperparameters tuned on
  the validation events (``_study.HGB_GRID``): the baseline to beat;
* ``cnn``: ``EventImager()`` (one channel per object type, pT-weighted discs,
  periodic phi) and ``CNNClassifier`` trained from scratch;
* ``cnn_*``: variants of it compared on the validation events (``VARIANTS``);
* ``resnet18``: the same images into a torchvision ResNet-18 (``"transfer"``
  module, random initialisation unless ``--weights`` gives a local file);
* ``objects``: the ``"object_transformer"`` module on the object list itself,
  no image;
* ``seed:<backbone>:<optimizer>:<fraction>``: the seed's recipe, with the
  ``"seed"`` imager preset (RGB rings) at ``--seed-npix`` pixels, the seed's
  head, raw 0-255 input, Adam (lr 1e-3) or RMSprop (lr 1e-4), the first
  ``1 - fraction`` of the backbone frozen and frozen BatchNorm layers left in
  training mode, as Keras did (``--seed-grid`` runs the grid);
  ``seedfix:...`` the same with frozen BatchNorm layers kept in evaluation
  mode and a learned input BatchNorm instead of raw 0-255 values.

Protocol: three samples from independent generator seeds, ``train``, ``val``
and ``test``, each balanced (the same number of selected events per class).
Every choice (variants, epochs, the HGB's hyperparameters) is made on
``--split val`` runs; ``--split test`` scores the final table once. Networks
are trained with several seeds (``--seeds``): the table gives the mean over
seeds, the spread between seeds and the bootstrap spread over the evaluation
events; ``--compare A:B`` adds the paired bootstrap of the accuracy difference.
A network trained with more than one seed also gets the row
``<name>_vote``, the soft vote (mean probability) of its seeds, which
``--compare`` takes like any other name. ``--sizes`` gives the training events
per class of the learning curve (nested subsets of the training sample).

Events: ``make_events`` (Pythia 8 at 13 TeV and a toy detector, NanoAOD-style
ROOT files) in shards of ``--shard-events`` generated events, cached in
``--cache-dir`` (names carry ``DATA_VERSION`` and hepclf's version), read back
with ``load_nanoaod`` and its default (the seed's) selection: exactly one
tight isolated lepton with pT >= 20 GeV; jets pT >= 30 GeV, |eta| <= 2.4;
b-tags at the medium working point; MET. Shards are generated until each
class has the events asked for.

Columns: accuracy and macro one-vs-rest ROC AUC (mean over seeds ± seeds ±
evaluation events), training time (``fit`` from the object lists, imaging
included) and inference speed (``predict_proba`` from the object lists,
events/s, median of ``--timing-repeats`` passes after a warm-up pass).

Writes ``events_<split>.md``, ``.json`` and ``_probas.npz`` (labels and every
seed's probabilities), ``events_<split>_curve.png`` (accuracy against training
events) and ``events_<split>_confusion.png`` to ``--output-dir``; each seed
as soon as it is scored to ``events_<split>_seeds/``, which ``--resume``
reads back instead of training again (``_study.SeedStore``).

Small run (a few minutes on 2 CPU cores): ``python benchmarks/events.py --small``.
The published run: see ``docs/user_guide/event_benchmark.rst``.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from skorch.callbacks import LRScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import paired_differences, pm_metric, summarise_metrics
from _study import (
    SPLITS,
    SeedStore,
    accuracy,
    cell,
    derived_seed,
    differences_table,
    md,
    mean_confusion,
    median_or_none,
    parse_study_args,
    study_parser,
    table,
    tune_hgb,
    write_outputs,
)
from _timing import machine, run_metadata

import hepclf
from hepclf import CNNClassifier, EventFeatures, EventImager
from hepclf.cli import concatenate_padded
from hepclf.substructure import EVENT_FEATURES

#: Class labels, in the seed's order (its folders 0, 1, 2).
PROCESSES = ("dy", "ttbar", "wjets")

#: Bump when the generated events change (invalidates cached shards).
DATA_VERSION = 1

#: The seed's best cell (InceptionV3, Adam, 100 % unfrozen), for the tables.
SEED_ACCURACY = 0.806

#: EventFeatures given to the HGB: all but those the selection (exactly one
#: lepton, no taus or photons in the objects) leaves undefined or constant
#: (HistGradientBoostingClassifier fails on a feature that is NaN throughout).
HGB_FEATURES = tuple(
    f for f in EVENT_FEATURES if f not in ("dilepton_mass", "n_taus", "n_photons")
)

#: Event-image CNN variants compared on the validation events: JetCNN with
#: two blocks of two 3x3 convolutions (16 and 32 filters, 2x2 pooling), batch
#: norm, one dense layer of 64, dropout 0.1, Adam at 3e-3 with a cosine decay,
#: on 32 x 32 images unless stated. (JetCNN's defaults on the 64 x 64 default
#: images cost about 25 times more per event and were not run at 10,000 events
#: per class on the CPU.)
VARIANTS = {
    "cnn": {},
    "cnn_npix48": {"npix": 48},
    "cnn_20ep": {"epochs": 20},
    "cnn_count": {"intensity": "count"},
}

#: The CNN variant chosen on the validation events (docs: "What was tried").
BEST_CNN = "cnn"

#: Object-transformer variants compared on the validation events (dim, heads,
#: layers, epochs); batch 64, Adam at 1e-3 with a cosine decay, dropout 0.1.
OBJECT_VARIANTS = {
    "objects": {"dim": 32, "n_heads": 4, "n_layers": 2, "epochs": 10},
    "objects_20ep": {"dim": 32, "n_heads": 4, "n_layers": 2, "epochs": 20},
    "objects_dim64": {"dim": 64, "n_heads": 8, "n_layers": 3, "epochs": 10},
}

#: The object-transformer variant chosen on the validation events.
BEST_OBJECTS = "objects_dim64"

DESCRIPTIONS = {
    "hgb": "HGB on EventFeatures, tuned (baseline)",
    "cnn": "EventImager 32 x 32 + small CNN, 10 epochs",
    "cnn_npix48": "EventImager 48 x 48 + small CNN",
    "cnn_20ep": "EventImager 32 x 32 + small CNN, 20 epochs",
    "cnn_count": "EventImager 32 x 32 (count intensity) + small CNN",
    "best": "best CNN on event images (chosen on validation)",
    "resnet18": "EventImager 32 x 32 + ResNet-18 (random init.)",
    "objects": "object transformer (dim 32, 2 layers), 10 epochs",
    "objects_20ep": "object transformer (dim 32, 2 layers), 20 epochs",
    "objects_dim64": "object transformer (dim 64, 3 layers)",
    "best_objects": "best object transformer (chosen on validation)",
}

#: Backbones, optimizers and unfrozen fractions of ``--seed-grid`` (the
#: backbones by default; ``--seed-backbones`` takes any of TransferNet's).
SEED_BACKBONES = ("resnet18",)
SEED_OPTIMIZERS = {
    "adam": (torch.optim.Adam, 1e-3),
    "rmsprop": (torch.optim.RMSprop, 1e-4),
}
SEED_FRACTIONS = (0.0, 0.2, 0.7, 1.0)

#: Defaults of the networks.
BATCH_SIZE = 128
#: ``--small``: these arguments and one seed (``_study.parse_study_args``).
SMALL = {
    "sizes": [300],
    "n_val": 300,
    "n_test": 300,
    "epochs": 3,
    "shard_events": 1_000,
}


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------


def _shard_seed(seed, split, process, k):
    """An independent generator seed per (base seed, split, process, shard)."""
    return derived_seed(
        seed, SPLITS.index(split), PROCESSES.index(process), k, DATA_VERSION
    )


def _process_events(process, split, n, *, seed, cache_dir, shard_events, n_jobs):
    """``n`` selected events of one process and split, generating shards as needed."""
    from hepclf.datasets import load_nanoaod, make_events

    chunks, have, k = [], 0, 0
    while have < n:
        shard = (
            Path(cache_dir)
            / f"v{DATA_VERSION}-{hepclf.__version__}-{process}-{split}-s{seed}-k{k}"
        )
        done = shard / "complete"
        if not done.exists():
            shard.mkdir(parents=True, exist_ok=True)
            make_events(
                process,
                shard_events,
                random_state=_shard_seed(seed, split, process, k),
                path=shard,
                n_jobs=n_jobs,
            )
            done.touch()
        objects = load_nanoaod(sorted(shard.glob("*.root"))).objects
        chunks.append(objects)
        have += len(objects)
        k += 1
        if k > 1000:
            raise RuntimeError(f"{process}: too few selected events per shard")
    return concatenate_padded(chunks)[:n]


def split_events(split, n_per_class, args):
    """Balanced objects and labels (0 dy, 1 ttbar, 2 wjets) of one split."""
    parts = [
        _process_events(
            process,
            split,
            n_per_class,
            seed=args.data_seed,
            cache_dir=args.cache_dir,
            shard_events=args.shard_events,
            n_jobs=args.n_jobs,
        )
        for process in PROCESSES
    ]
    X = concatenate_padded(parts)
    y = np.repeat(np.arange(len(PROCESSES)), n_per_class)
    return X, y


def take(X, y, n_per_class):
    """The first ``n_per_class`` events of every class (nested training subsets)."""
    idx = np.concatenate([np.flatnonzero(y == c)[:n_per_class] for c in np.unique(y)])
    return X[idx], y[idx]


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def _callbacks(epochs, cosine):
    if not cosine:
        return None
    return [("lr", LRScheduler(policy="CosineAnnealingLR", T_max=epochs))]


def build_cnn(*, epochs, seed, npix=32, intensity=None):
    """``EventImager`` (hepclf preset at ``npix``) into a small ``JetCNN``."""
    return make_pipeline(
        EventImager(npix=npix, intensity=intensity),
        CNNClassifier(
            lr=3e-3,
            max_epochs=epochs,
            batch_size=BATCH_SIZE,
            random_state=seed,
            callbacks=_callbacks(epochs, True),
            module__conv_blocks=((16, 16), (32, 32)),
            module__pool_size=2,
            module__dense=(64,),
            module__dropout=0.1,
            module__batch_norm=True,
        ),
    )


def build_resnet18(*, epochs, seed, weights=None):
    """The hepclf images (32 x 32) into a torchvision ResNet-18 (``"transfer"``)."""
    return make_pipeline(
        EventImager(npix=32),
        CNNClassifier(
            "transfer",
            module__backbone="resnet18",
            module__weights=weights,
            max_epochs=epochs,
            batch_size=BATCH_SIZE,
            random_state=seed,
            callbacks=_callbacks(epochs, True),
        ),
    )


def build_objects(*, epochs, seed, dim, n_heads, n_layers):
    """The object transformer on the object list (no image)."""
    return CNNClassifier(
        "object_transformer",
        max_epochs=epochs,
        batch_size=64,
        random_state=seed,
        callbacks=_callbacks(epochs, True),
        module__dim=dim,
        module__n_heads=n_heads,
        module__n_layers=n_layers,
        module__dropout=0.1,
    )


def build_seed(name, *, epochs, seed, npix, weights=None):
    """The seed's recipe ``seed:<backbone>:<optimizer>:<fraction>``.

    RGB rings of the ``"seed"`` preset at ``npix`` pixels (the ring width
    scaled from the seed's 3.1 px at 224), the seed's head, raw 0-255 input,
    and frozen BatchNorm layers in training mode, as in Keras.
    """
    recipe, backbone, optimizer, fraction = name.split(":")
    opt, lr = SEED_OPTIMIZERS[optimizer]
    # "seedfix:": the same, with frozen BatchNorm layers kept in evaluation
    # mode and the input normalised by a learned BatchNorm
    fixed = recipe == "seedfix"
    return make_pipeline(
        EventImager(preset="seed", npix=npix, line_width=max(1.0, 3.11 * npix / 224)),
        CNNClassifier(
            "transfer",
            module__backbone=backbone,
            module__weights=weights,
            module__unfrozen_fraction=float(fraction),
            module__head="seed",
            module__normalize="batchnorm" if fixed else None,
            module__freeze_batchnorm=fixed,
            optimizer=opt,
            lr=lr,
            max_epochs=epochs,
            batch_size=120,
            random_state=seed,
        ),
    )


def tune_event_hgb(X_train, y_train, X_val, y_val, *, seed):
    """``tune_hgb`` on the ``EventFeatures`` of the events (``HGB_FEATURES``)."""
    features = EventFeatures(features=HGB_FEATURES)
    F_train, F_val = features.fit_transform(X_train), features.transform(X_val)
    return tune_hgb(F_train, y_train, F_val, y_val, seed=seed)


def build(name, *, epochs, seed, args, hgb_params=None):
    """The estimator called ``name`` (a pipeline from the object lists)."""
    if name == "hgb":
        return make_pipeline(
            EventFeatures(features=HGB_FEATURES),
            HistGradientBoostingClassifier(random_state=seed, **(hgb_params or {})),
        )
    if name in VARIANTS or name == "best":
        options = dict(VARIANTS[BEST_CNN if name == "best" else name])
        return build_cnn(epochs=options.pop("epochs", epochs), seed=seed, **options)
    if name == "resnet18":
        return build_resnet18(epochs=epochs, seed=seed, weights=args.weights)
    if name in OBJECT_VARIANTS or name == "best_objects":
        options = OBJECT_VARIANTS[BEST_OBJECTS if name == "best_objects" else name]
        return build_objects(seed=seed, **options)
    if name.startswith(("seed:", "seedfix:")):
        return build_seed(
            name,
            epochs=args.seed_epochs or epochs,
            seed=seed,
            npix=args.seed_npix,
            weights=args.weights,
        )
    raise ValueError(f"unknown model {name!r}")


def seed_grid_names(fractions=SEED_FRACTIONS, backbones=SEED_BACKBONES):
    return [
        f"seed:{b}:{o}:{f:g}"
        for b in backbones
        for o in SEED_OPTIMIZERS
        for f in fractions
    ]


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------


def macro_auc(y, proba):
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro"))


METRICS = {"accuracy": accuracy, "auc": macro_auc}


def summarise(name, size, y, probas, train_s, rates, *, n_boot, boot_seed):
    row = {
        "model": name,
        "description": DESCRIPTIONS.get(name, name),
        "n_train_per_class": size,
        "seeds": len(probas),
    }
    row.update(summarise_metrics(METRICS, y, probas, n_boot=n_boot, seed=boot_seed))
    row["confusion"] = mean_confusion(y, probas)
    row["train_s"] = float(np.mean(train_s))
    row["inference_events_per_s"] = median_or_none(rates)
    row["n_eval"] = len(y)
    return row


def vote_row(name, size, y, probas, train_s, *, n_boot):
    """The soft vote of a network's seeds, ``<name>_vote``: its row and probabilities.

    The vote averages the seeds' probabilities event by event. It is one
    model: its row has the bootstrap over the events and no spread between
    seeds, its training time is that of all the seeds together, and its
    inference rate is not measured (about the single model's divided by the
    number of seeds).
    """
    vote = [np.mean(probas, axis=0)]
    row = summarise(
        f"{name}_vote",
        size,
        y,
        vote,
        [float(np.sum(train_s))],
        [],
        n_boot=n_boot,
        boot_seed=0,
    )
    row["description"] = (
        f"{DESCRIPTIONS.get(name, name)}, soft vote of {len(probas)} seeds"
    )
    return row, vote


def compare(pairs, y, results, *, n_boot, boot_seed):
    """Paired bootstrap of accuracy and AUC differences, per common seed."""
    out = []
    for pair in pairs:
        a, b = pair.split(":", 1) if pair.count(":") == 1 else pair.split("::")
        for size in sorted({k[1] for k in results}):
            if (a, size) not in results or (b, size) not in results:
                continue
            row = {"a": a, "b": b, "n_train_per_class": size}
            row.update(
                paired_differences(
                    METRICS,
                    y,
                    results[a, size],
                    results[b, size],
                    n_boot=n_boot,
                    seed=boot_seed,
                )
            )
            out.append(row)
    return out


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def markdown(rows, diffs, tuning, header):
    titles = ["model", "events/class", "accuracy", "macro AUC", "train (s)", "events/s"]
    cells = [
        [
            md(r["description"]),
            f"{r['n_train_per_class']:,}",
            pm_metric(r, "accuracy"),
            pm_metric(r, "auc", 4),
            f"{r['train_s']:.0f}",
            cell(r["inference_events_per_s"], ",.0f"),
        ]
        for r in rows
    ]
    seed = ["the seed (its best cell, 360 test images)", "1,200"]
    cells.append([*seed, f"{SEED_ACCURACY:.3f} ± 0.021", "-", "-", "-"])
    lines = [header, "", *table(titles, cells)]
    lines += differences_table(
        diffs,
        {"accuracy": "accuracy", "auc": "macro AUC"},
        by=("events/class", lambda d: f"{d['n_train_per_class']:,}"),
    )
    if tuning:
        lines += ["", "HGB tuning (validation accuracy per grid point):", ""]
        for size, scores in tuning.items():
            for acc, params in scores:
                lines.append(f"- {size:,}/class: {acc:.4f} {params}")
    lines += [
        "",
        "Confusion matrices (rows: true dy, ttbar, wjets; mean over seeds):",
        "",
    ]
    for r in rows:
        cm = "; ".join(" ".join(f"{v:.3f}" for v in row) for row in r["confusion"])
        lines.append(f"- {r['model']} @ {r['n_train_per_class']:,}: {cm}")
    return "\n".join(lines) + "\n"


def plots(rows, path_curve, path_confusion, y, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    for name in dict.fromkeys(r["model"] for r in rows):
        rs = sorted(
            (r for r in rows if r["model"] == name),
            key=lambda r: r["n_train_per_class"],
        )
        ax.errorbar(
            [r["n_train_per_class"] for r in rs],
            [r["accuracy"] for r in rs],
            yerr=[
                np.hypot(r["accuracy_std"], r["accuracy_seed_std"] or 0.0) for r in rs
            ],
            marker="o",
            capsize=3,
            label=name,
        )
    ax.axhline(SEED_ACCURACY, color="k", ls="--", label="seed's best (80.6 %)")
    ax.set_xscale("log")
    ax.set_xlabel("training events per class")
    ax.set_ylabel("test accuracy" if "test" in str(path_curve) else "accuracy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(path_curve, dpi=110)
    plt.close(fig)

    from hepclf.plotting import plot_confusion_matrix

    largest = max(k[1] for k in results)
    names = [k[0] for k in results if k[1] == largest][:4]
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.6 * len(names), 3.6), layout="constrained"
    )
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        proba = np.mean(results[name, largest], axis=0)
        plot_confusion_matrix(
            np.asarray(PROCESSES)[y],
            np.asarray(PROCESSES)[proba.argmax(1)],
            labels=list(PROCESSES),
            ax=ax,
        )
        ax.set_title(f"{name} ({largest:,}/class)", fontsize=9)
    fig.savefig(path_confusion, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = study_parser(__doc__, output_dir="events-study")
    p.add_argument(
        "--models", nargs="+", default=["hgb", "best", "best_objects", "resnet18"]
    )
    p.add_argument("--seed-grid", action="store_true", help="add the seed's grid")
    p.add_argument("--seed-grid-size", type=int, default=1_200)
    p.add_argument(
        "--seed-fractions", type=float, nargs="+", default=list(SEED_FRACTIONS)
    )
    p.add_argument("--seed-backbones", nargs="+", default=list(SEED_BACKBONES))
    p.add_argument("--sizes", type=int, nargs="+", default=[1_200, 10_000])
    p.add_argument("--n-val", type=int, default=1_500)
    p.add_argument("--n-test", type=int, default=3_000)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed-epochs", type=int, default=None)
    p.add_argument("--seed-npix", type=int, default=32)
    p.add_argument("--weights", default=None, help="local backbone weights file")
    p.add_argument(
        "--compare",
        nargs="*",
        default=["best:hgb", "best_objects:hgb", "best_objects:best"],
    )
    p.add_argument("--shard-events", type=int, default=5_000)
    args = parse_study_args(p, argv, SMALL)
    if args.small:
        args.seed_grid_size = SMALL["sizes"][0]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_eval = args.n_val if args.split == "val" else args.n_test
    X_pool, y_pool = split_events("train", max(args.sizes), args)
    X_val, y_val = split_events("val", args.n_val, args)
    X_eval, y_eval = (
        (X_val, y_val) if args.split == "val" else split_events("test", n_eval, args)
    )
    print(
        f"events: train {len(y_pool):,}, val {len(y_val):,}, "
        f"{args.split} {len(y_eval):,} (balanced over {', '.join(PROCESSES)})"
    )
    store = SeedStore(
        out / f"events_{args.split}_seeds",
        args,
        y_eval,
        version=f"v{DATA_VERSION}-{hepclf.__version__}",
    )
    plan = [(name, size) for size in args.sizes for name in args.models]
    if args.seed_grid:
        plan += [
            (name, args.seed_grid_size)
            for name in seed_grid_names(args.seed_fractions, args.seed_backbones)
        ]

    results, rows, tuning = {}, [], {}
    hgb_params = {}
    for name, size in plan:
        X_train, y_train = take(X_pool, y_pool, size)
        if name == "hgb" and size not in hgb_params:
            hgb_params[size], tuning[size] = store.tuned(  # --resume reads it back
                f"hgb@{size}", tune_event_hgb, X_train, y_train, X_val, y_val, seed=0
            )
        seeds = (
            args.seeds[:1]
            if name == "hgb" and len(set(args.seeds)) == 1
            else args.seeds
        )
        probas, train_s, rates = [], [], []
        for seed in seeds:
            # the inference rate of the first seed only
            timing = args.timing_repeats if seed == seeds[0] else 0
            make = partial(
                build,
                name,
                epochs=args.epochs,
                seed=seed,
                args=args,
                hgb_params=hgb_params.get(size),
            )
            proba, seconds, rate, resumed = store.fit_or_resume(
                f"{name}@{size}", seed, make, X_train, y_train, X_eval, timing
            )
            probas.append(proba)
            train_s.append(seconds)
            rates.append(rate)
            print(
                f"{name} @ {size}/class, seed {seed}: accuracy "
                f"{accuracy(y_eval, proba):.4f}, {seconds:.0f} s"
                + (" (resumed)" if resumed else ""),
                flush=True,
            )
        results[name, size] = probas
        rows.append(
            summarise(
                name,
                size,
                y_eval,
                probas,
                train_s,
                rates,
                n_boot=args.n_boot,
                boot_seed=0,
            )
        )
        if len(probas) > 1 and name != "hgb":  # the seeds' soft vote, free to score
            row, results[f"{name}_vote", size] = vote_row(
                name, size, y_eval, probas, train_s, n_boot=args.n_boot
            )
            rows.append(row)
    diffs = compare(args.compare, y_eval, results, n_boot=args.n_boot, boot_seed=0)
    header = (
        f"## Events, {args.split} split\n\nTraining events per class {args.sizes}; "
        f"{len(y_eval):,} {args.split} events (balanced); epochs {args.epochs} "
        f"(seed recipes: {args.seed_epochs or args.epochs}; variants: as named); "
        f"seeds {args.seeds}; ± seeds: std between seeds; ± eval.: bootstrap std over "
        f"the {args.split} events ({args.n_boot} resamples); {machine()}."
    )
    stem = out / f"events_{args.split}"
    text = markdown(rows, diffs, tuning, header)
    result = {
        "rows": rows,
        "differences": diffs,
        "hgb_tuning": {str(k): v for k, v in tuning.items()},
        "meta": run_metadata(DATA_VERSION, args),
    }
    probas = {f"{n}@{s}": p for (n, s), p in results.items()}
    write_outputs(stem, text, result, y_eval, probas)
    plots(rows, f"{stem}_curve.png", f"{stem}_confusion.png", y_eval, results)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
