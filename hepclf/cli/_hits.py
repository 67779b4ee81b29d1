"""``hepclf VERB hits``: demo, train, evaluate and generate drift-chamber classifiers.

The data are drift-chamber events, one set of files per class: the seed's
text dumps (``.dat``, read with :func:`hepclf.datasets.load_hits_text`) or
directories of per-event CSV files (:func:`hepclf.datasets.load_hits_csv`);
the model is ``EnergyEncoder -> CNNClassifier``. See :mod:`hepclf.cli` for
the interface.
"""

from __future__ import annotations

from pathlib import Path

from . import (
    Command,
    add_confusion_plot,
    add_model_output,
    add_output_dir,
    add_seed_and_jobs,
    add_training_options,
    class_files,
    concatenate_padded,
)
from ._common import (
    evaluate_saved,
    fit_demo,
    read_classes,
    save_demo,
    small_cnn,
    train_and_save,
)

#: Class names of the bundled sample, by label.
SAMPLE_CLASSES = ("jpsi_ee", "jpsi_mumu", "pipimumu")

ENCODINGS = ("binary", "total", "average", "per_hit")


def _pipeline(args):
    """``EnergyEncoder`` at ``--npix`` into the small CNN of the study.

    The CNN is :func:`hepclf.cli._common.small_cnn`; docs: Drift-chamber study.
    """
    from sklearn.pipeline import make_pipeline

    from hepclf import EnergyEncoder

    return make_pipeline(
        EnergyEncoder(encoding=args.encoding, geometry=args.geometry, npix=args.npix),
        small_cnn(args),
    )


def demo(args):
    """Train the default hit classifier on the bundled sample and evaluate it."""
    from hepclf.datasets import load_hits_sample

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipe, _, y_test, proba = fit_demo(
        _pipeline(args),
        load_hits_sample(),
        SAMPLE_CLASSES,
        header="hepclf demo hits: {classes} (bundled sample of simulated "
        "drift-chamber events); {n_train} training events, {n_test} test events",
        title=f"test-set performance of EnergyEncoder(encoding={args.encoding!r}, "
        f"npix={args.npix}) -> CNNClassifier",
    )
    _binary_aucs(y_test, proba, pipe.classes_)
    save_demo(pipe, out, y_test, proba)
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
    return read_classes(specs, _read, noun="events")


def train(args):
    """Train a hit classifier on drift-chamber files (one set per class); save it."""
    return train_and_save(args, _load, _pipeline, noun="hits")


def evaluate(args):
    """Evaluate a saved hit classifier on drift-chamber files (one set per class)."""
    return evaluate_saved(args, _load, noun="hits", extra=_binary_aucs)


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


#: One per-class data argument, and the ``type`` that parses them.
_EXAMPLE = "jpsi_ee=jpsi_ee.dat"
_CLASS_FILES = class_files(_EXAMPLE)
_DATA_HELP = (
    "one LABEL=FILES per class: a text dump (.dat), a glob of them in quotes, or "
    "a directory of per-event CSV files, e.g. " + _EXAMPLE
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
    add_output_dir(p, "hepclf-demo-hits")
    _add_model_options(p)


def add_train_arguments(p):
    p.add_argument("data", nargs="+", type=_CLASS_FILES, help=_DATA_HELP)
    add_model_output(p)
    _add_model_options(p)


def add_evaluate_arguments(p):
    p.add_argument(
        "model", help="model saved by 'hepclf train hits' or 'hepclf demo hits'"
    )
    p.add_argument("data", nargs="+", type=_CLASS_FILES, help=_DATA_HELP)
    add_confusion_plot(p)


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
    add_seed_and_jobs(p)


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
