"""``hepclf VERB events``: demo, train, evaluate and generate event classifiers.

The data are reconstructed events in CMS NanoAOD ROOT files, one set of files
per class, read with :func:`hepclf.datasets.load_nanoaod` and its default (the
seed's) selection; the model is ``EventImager -> CNNClassifier``. See
:mod:`hepclf.cli` for the interface.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import Command, add_training_options, concatenate_padded

#: Class names of the bundled sample, by label.
SAMPLE_CLASSES = ("dy", "ttbar", "wjets")


def _pipeline(args):
    """Build the event classifier of the study (docs: Event-classification study).

    ``EventImager`` at ``--npix`` into a small JetCNN: two blocks of two 3x3
    convolutions (16 and 32 filters, batch norm, 2x2 pooling), a dense layer
    of 64, dropout 0.1, Adam with a cosine decay of the learning rate.
    """
    from sklearn.pipeline import make_pipeline
    from skorch.callbacks import LRScheduler, ProgressBar

    from hepclf import CNNClassifier, EventImager

    callbacks = [("lr", LRScheduler("CosineAnnealingLR", T_max=args.max_epochs))]
    if not args.quiet:
        callbacks.append(("progress", ProgressBar()))
    return make_pipeline(
        EventImager(npix=args.npix),
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


def _report(y, proba, classes, title):
    """Print accuracy, macro one-vs-rest AUC and the confusion matrix."""
    import numpy as np
    from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

    pred = np.asarray(classes)[proba.argmax(1)]
    accuracy = accuracy_score(y, pred)
    auc = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    counts = ", ".join(f"{int(np.sum(y == c))} {c}" for c in classes)
    print(f"\n{title}")
    print(f"  {'events':<24}{len(y)} ({counts})")
    print(f"  {'accuracy':<24}{accuracy:.4f}")
    print(f"  {'macro one-vs-rest AUC':<24}{auc:.4f}")
    cm = confusion_matrix(y, pred, labels=classes, normalize="true")
    width = max(len(str(c)) for c in classes) + 2
    print("  confusion matrix (rows: true class, each sums to 1)")
    print("  " + " " * width + "".join(f"{c!s:>{width}}" for c in classes))
    for c, row in zip(classes, cm, strict=True):
        print("  " + f"{c!s:<{width}}" + "".join(f"{v:>{width}.3f}" for v in row))
    return accuracy, auc


def _plot(y, proba, classes, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('(no plot written: matplotlib is missing; pip install "hepclf[plot]")')
        return None
    import numpy as np

    from hepclf.plotting import plot_confusion_matrix

    fig, ax = plt.subplots(figsize=(4.8, 4.2), layout="constrained")
    pred = np.asarray(classes)[proba.argmax(1)]
    plot_confusion_matrix(y, pred, labels=list(classes), ax=ax)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def demo(args):
    """Train the default event classifier on the bundled sample and evaluate it."""
    import joblib
    import numpy as np
    from sklearn.model_selection import train_test_split

    from hepclf.datasets import load_event_sample

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_event_sample()
    y = np.asarray(SAMPLE_CLASSES)[y]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    print(
        f"hepclf demo events: {' vs '.join(SAMPLE_CLASSES)} (bundled sample, one "
        f"tight lepton); {len(y_train)} training events, {len(y_test)} test events"
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
        f"test-set performance of EventImager(npix={args.npix}) -> CNNClassifier",
    )
    model_path = out / "model.joblib"
    joblib.dump(pipe, model_path)
    plot_path = _plot(y_test, proba, pipe.classes_, out / "confusion.png")
    print(f"\nsaved model: {model_path}")
    if plot_path:
        print(f"confusion plot: {plot_path}")
    return 0


def _class_files(spec):
    """Split a ``LABEL=FILES`` argument into (label, files)."""
    label, sep, files = spec.partition("=")
    if not sep or not label or not files:
        raise argparse.ArgumentTypeError(
            f"expected LABEL=FILES (e.g. ttbar='ttbar/*.root'), got {spec!r}"
        )
    return label, files


def _load(specs, args):
    """Objects, labels and weights of every class's files, padded to one width."""
    import numpy as np

    from hepclf.datasets import load_nanoaod

    labels = [label for label, _ in specs]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"hepclf: error: a class is given twice: {labels}")
    parts = []
    for label, files in specs:
        events = load_nanoaod(files)
        print(f"  {label}: {len(events.objects)} selected events from {files}")
        parts.append((label, events))
    X = concatenate_padded([e.objects for _, e in parts])
    y = np.concatenate([np.full(len(e.objects), label) for label, e in parts])
    w = np.concatenate([e.weights for _, e in parts])
    return X, y, w


def train(args):
    """Train an event classifier on NanoAOD files (one set per class); save it."""
    import joblib

    print("reading events")
    X, y, w = _load(args.data, args)
    pipe = _pipeline(args)
    fit_params = {"cnnclassifier__sample_weight": w} if args.weighted else {}
    pipe.fit(X, y, **fit_params)
    joblib.dump(pipe, args.output)
    print(f"saved model: {args.output}")
    return 0


def evaluate(args):
    """Evaluate a saved event classifier on NanoAOD files (one set per class)."""
    import joblib

    pipe = joblib.load(args.model)
    print("reading events")
    X, y, _ = _load(args.data, args)
    proba = pipe.predict_proba(X)
    _report(y, proba, pipe.classes_, f"performance of {args.model}")
    if args.plot:
        _plot(y, proba, pipe.classes_, args.plot)
        print(f"confusion plot: {args.plot}")
    return 0


def generate(args):
    """Generate events of one process with Pythia 8 into NanoAOD-style ROOT files."""
    from hepclf.datasets import make_events

    paths = make_events(
        args.process,
        args.n_events,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        path=args.output,
    )
    print(f"wrote {args.n_events} {args.process} events to {len(paths)} file(s):")
    for path in paths:
        print(f"  {path}")
    return 0


_DATA_HELP = (
    "one LABEL=FILES per class: NanoAOD ROOT files (a path, a glob in quotes or "
    "a directory's files), e.g. ttbar='ttbar/*.root'"
)


def add_demo_arguments(p):
    p.add_argument(
        "--output-dir",
        default="hepclf-demo-events",
        help="where to write (default hepclf-demo-events)",
    )
    add_training_options(p, npix=32, lr=3e-3)


def add_train_arguments(p):
    p.add_argument("data", nargs="+", type=_class_files, help=_DATA_HELP)
    p.add_argument(
        "-o",
        "--output",
        default="model.joblib",
        help="model file (default model.joblib)",
    )
    p.add_argument(
        "--weighted", action="store_true", help="weight events by their genWeight"
    )
    add_training_options(p, npix=32, lr=3e-3)


def add_evaluate_arguments(p):
    p.add_argument(
        "model", help="model saved by 'hepclf train events' or 'hepclf demo events'"
    )
    p.add_argument("data", nargs="+", type=_class_files, help=_DATA_HELP)
    p.add_argument(
        "--plot", default=None, help="write the confusion matrix to this image file"
    )


def add_generate_arguments(p):
    p.add_argument("output", help="directory to write the ROOT files to")
    p.add_argument(
        "--process", required=True, choices=["ttbar", "wjets", "dy"], help="process"
    )
    p.add_argument(
        "--n-events", type=int, default=1000, help="generated events (default 1000)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1, help="processes (-1: all cores)")


COMMANDS = {
    "demo": Command(
        "classify ttbar / W+jets / Drell-Yan events of the bundled sample",
        add_demo_arguments,
        demo,
    ),
    "train": Command(
        "train an event classifier on NanoAOD files", add_train_arguments, train
    ),
    "evaluate": Command(
        "evaluate a saved event classifier on NanoAOD files",
        add_evaluate_arguments,
        evaluate,
    ),
    "generate": Command(
        "generate ttbar / W+jets / Drell-Yan events with Pythia 8",
        add_generate_arguments,
        generate,
    ),
}
