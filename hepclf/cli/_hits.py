"""``hepclf VERB hits``: demo, train, evaluate and generate drift-chamber classifiers.

The data are drift-chamber events, one set of files per class: the seed's
text dumps (``.dat``, read with :func:`hepclf.datasets.load_hits_text`) or
directories of per-event CSV files (:func:`hepclf.datasets.load_hits_csv`);
the model is ``EnergyEncoder -> CNNClassifier``. See :mod:`hepclf.cli` for
the interface.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import Command, add_training_options, concatenate_padded
from ._events import _class_files, _plot, _report

#: Class names of the bundled sample, by label.
SAMPLE_CLASSES = ("jpsi_ee", "jpsi_mumu", "pipimumu")

ENCODINGS = ("binary", "total", "average", "per_hit")


def _pipeline(args):
    """``EnergyEncoder`` at ``--npix`` into the small CNN of the study.

    Two blocks of two 3x3 convolutions (16 and 32 filters, batch norm, 2x2
    pooling), a dense layer of 64, dropout 0.1, Adam with a cosine decay of
    the learning rate (docs: Drift-chamber study).
    """
    from sklearn.pipeline import make_pipeline
    from skorch.callbacks import LRScheduler, ProgressBar

    from hepclf import CNNClassifier, EnergyEncoder

    callbacks = [("lr", LRScheduler("CosineAnnealingLR", T_max=args.max_epochs))]
    if not args.quiet:
        callbacks.append(("progress", ProgressBar()))
    return make_pipeline(
        EnergyEncoder(encoding=args.encoding, geometry=args.geometry, npix=args.npix),
        CNNClassifier(
            max_epochs=args.max_epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            device=args.device,
            random_state=args.seed,
            callbacks=callbacks,
            module__conv_blocks=((16, 16), (32, 32)),
            module__pool_size=2,
            module__dense=(64,),
            module__dropout=0.1,
            module__batch_norm=True,
        ),
    )


def demo(args):
    """Train the default hit classifier on the bundled sample and evaluate it."""
    import joblib
    import numpy as np
    from sklearn.model_selection import train_test_split

    from hepclf.datasets import load_hits_sample

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_hits_sample()
    y = np.asarray(SAMPLE_CLASSES)[y]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    print(
        f"hepclf demo hits: {' vs '.join(SAMPLE_CLASSES)} (bundled sample of "
        f"simulated drift-chamber events); {len(y_train)} training events, "
        f"{len(y_test)} test events"
    )
    pipe = _pipeline(args)
    start = time.perf_counter()
    pipe.fit(X_train, y_train)
    print(f"trained in {time.perf_counter() - start:.1f} s")
    proba = pipe.predict_proba(X_test)
    _report(
        y_test,
        proba,
        pipe.classes_,
        f"test-set performance of EnergyEncoder(encoding={args.encoding!r}, "
        f"npix={args.npix}) -> CNNClassifier",
    )
    _binary_aucs(y_test, proba, pipe.classes_)
    model_path = out / "model.joblib"
    joblib.dump(pipe, model_path)
    plot_path = _plot(y_test, proba, pipe.classes_, out / "confusion.png")
    print(f"\nsaved model: {model_path}")
    if plot_path:
        print(f"confusion plot: {plot_path}")
    return 0


def _binary_aucs(y, proba, classes):
    """Print the seed's two AUCs when the three sample classes are present."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    classes = list(classes)
    if not set(SAMPLE_CLASSES) <= set(classes):
        return
    ee, mumu = classes.index("jpsi_ee"), classes.index("jpsi_mumu")
    jpsi = np.isin(y, ["jpsi_ee", "jpsi_mumu"])
    score = proba[jpsi, ee] / np.maximum(proba[jpsi, ee] + proba[jpsi, mumu], 1e-12)
    auc_ll = roc_auc_score(y[jpsi] == "jpsi_ee", score)
    auc_res = roc_auc_score(jpsi, proba[:, ee] + proba[:, mumu])
    print(f"  {'AUC J/psi->ee vs mumu':<24}{auc_ll:.4f}")
    print(f"  {'AUC J/psi vs non-res.':<24}{auc_res:.4f}")


def _read(files):
    """Read the hits of a text dump, a glob of them, or a directory of CSVs."""
    import glob

    from hepclf.datasets import load_hits_csv, load_hits_text

    if Path(files).is_dir() or files.endswith(".csv"):
        return load_hits_csv(files).hits
    paths = sorted(glob.glob(files)) or [files]
    return concatenate_padded([load_hits_text(p).hits for p in paths])


def _load(specs):
    """Hits and labels of every class's files, padded to one width."""
    import numpy as np

    labels = [label for label, _ in specs]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"hepclf: error: a class is given twice: {labels}")
    parts = []
    for label, files in specs:
        hits = _read(files)
        print(f"  {label}: {len(hits)} events from {files}")
        parts.append(hits)
    y = np.concatenate(
        [np.full(len(h), label) for (label, _), h in zip(specs, parts, strict=True)]
    )
    return concatenate_padded(parts), y


def train(args):
    """Train a hit classifier on drift-chamber files (one set per class); save it."""
    import joblib

    print("reading hits")
    X, y = _load(args.data)
    pipe = _pipeline(args)
    pipe.fit(X, y)
    joblib.dump(pipe, args.output)
    print(f"saved model: {args.output}")
    return 0


def evaluate(args):
    """Evaluate a saved hit classifier on drift-chamber files (one set per class)."""
    import joblib

    pipe = joblib.load(args.model)
    print("reading hits")
    X, y = _load(args.data)
    proba = pipe.predict_proba(X)
    _report(y, proba, pipe.classes_, f"performance of {args.model}")
    _binary_aucs(y, proba, pipe.classes_)
    if args.plot:
        _plot(y, proba, pipe.classes_, args.plot)
        print(f"confusion plot: {args.plot}")
    return 0


def generate(args):
    """Simulate drift-chamber events of one process; write the text dump and CSVs."""
    from hepclf.datasets import make_drift_chamber_events

    out = Path(args.output)
    events = make_drift_chamber_events(
        args.process,
        args.n_events,
        random_state=args.seed,
        noise_occupancy=args.noise,
        n_jobs=args.n_jobs,
        path=out,
    )
    print(
        f"wrote {len(events.hits)} {args.process} events to "
        f"{out / (args.process + '.dat')} and {out / (args.process + '_csv')}/"
    )
    return 0


_DATA_HELP = (
    "one LABEL=FILES per class: a text dump (.dat), a glob of them in quotes, or "
    "a directory of per-event CSV files, e.g. jpsi_ee=jpsi_ee.dat"
)


def _add_model_options(p):
    p.add_argument(
        "--encoding",
        default="per_hit",
        choices=ENCODINGS,
        help="energy encoding of the images (default per_hit)",
    )
    p.add_argument(
        "--geometry",
        default="xy",
        choices=("xy", "unrolled"),
        help="xy: the chamber seen along the beam; unrolled: layer x azimuth "
        "(default xy)",
    )
    add_training_options(p, npix=32, lr=3e-3)


def add_demo_arguments(p):
    p.add_argument(
        "--output-dir",
        default="hepclf-demo-hits",
        help="where to write (default hepclf-demo-hits)",
    )
    _add_model_options(p)


def add_train_arguments(p):
    p.add_argument("data", nargs="+", type=_class_files, help=_DATA_HELP)
    p.add_argument(
        "-o",
        "--output",
        default="model.joblib",
        help="model file (default model.joblib)",
    )
    _add_model_options(p)


def add_evaluate_arguments(p):
    p.add_argument(
        "model", help="model saved by 'hepclf train hits' or 'hepclf demo hits'"
    )
    p.add_argument("data", nargs="+", type=_class_files, help=_DATA_HELP)
    p.add_argument(
        "--plot", default=None, help="write the confusion matrix to this image file"
    )


def add_generate_arguments(p):
    p.add_argument("output", help="directory to write the text dump and CSVs to")
    p.add_argument(
        "--process",
        required=True,
        choices=list(SAMPLE_CLASSES),
        help="jpsi_ee, jpsi_mumu (psi(3686) -> pi pi J/psi) or pipimumu (non-resonant)",
    )
    p.add_argument("--n-events", type=int, default=1000, help="events (default 1000)")
    p.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="fraction of the hits that are noise (default 0)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1, help="processes (-1: all cores)")


COMMANDS = {
    "demo": Command(
        "classify J/psi -> ee / J/psi -> mumu / non-resonant drift-chamber events "
        "of the bundled sample",
        add_demo_arguments,
        demo,
    ),
    "train": Command(
        "train a hit classifier on drift-chamber files", add_train_arguments, train
    ),
    "evaluate": Command(
        "evaluate a saved hit classifier on drift-chamber files",
        add_evaluate_arguments,
        evaluate,
    ),
    "generate": Command(
        "simulate drift-chamber events (BESIII-like chamber)",
        add_generate_arguments,
        generate,
    ),
}
