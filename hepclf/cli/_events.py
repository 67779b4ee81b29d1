"""``hepclf VERB events``: demo, train, evaluate and generate event classifiers.

The data are reconstructed events in CMS NanoAOD ROOT files, one set of files
per class, read with :func:`hepclf.datasets.load_nanoaod` and its default (the
seed's) selection; the model is ``EventImager -> CNNClassifier``. See
:mod:`hepclf.cli` for the interface.
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
)
from ._common import evaluate_saved, fit_demo, read_classes, save_demo, small_cnn

#: Class names of the bundled sample, by label.
SAMPLE_CLASSES = ("dy", "ttbar", "wjets")


def _pipeline(args):
    """Build the event classifier of the study (docs: Event-classification study).

    ``EventImager`` at ``--npix`` into the small CNN
    (:func:`hepclf.cli._common.small_cnn`).
    """
    from sklearn.pipeline import make_pipeline

    from hepclf import EventImager

    return make_pipeline(EventImager(npix=args.npix), small_cnn(args))


def demo(args):
    """Train the default event classifier on the bundled sample and evaluate it."""
    from hepclf.datasets import load_event_sample

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipe, _, y_test, proba = fit_demo(
        _pipeline(args),
        load_event_sample(),
        SAMPLE_CLASSES,
        header="hepclf demo events: {classes} (bundled sample, one tight lepton); "
        "{n_train} training events, {n_test} test events",
        title=f"test-set performance of EventImager(npix={args.npix}) -> CNNClassifier",
    )
    save_demo(pipe, out, y_test, proba)
    return 0


def _load(specs):
    """Objects, labels and weights of every class's files, padded to one width."""
    import numpy as np

    from hepclf.datasets import load_nanoaod

    weights = []

    def objects(files):
        events = load_nanoaod(files)
        weights.append(events.weights)
        return events.objects

    X, y = read_classes(specs, objects, noun="selected events")
    return X, y, np.concatenate(weights)


def train(args):
    """Train an event classifier on NanoAOD files (one set per class); save it."""
    import joblib

    print("reading events")
    X, y, w = _load(args.data)
    pipe = _pipeline(args)
    fit_params = {"cnnclassifier__sample_weight": w} if args.weighted else {}
    pipe.fit(X, y, **fit_params)
    joblib.dump(pipe, args.output)
    print(f"saved model: {args.output}")
    return 0


def evaluate(args):
    """Evaluate a saved event classifier on NanoAOD files (one set per class)."""
    return evaluate_saved(args, lambda specs: _load(specs)[:2], noun="events")


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


#: One per-class data argument, and the ``type`` that parses them.
_EXAMPLE = "ttbar='ttbar/*.root'"
_CLASS_FILES = class_files(_EXAMPLE)
_DATA_HELP = (
    "one LABEL=FILES per class: NanoAOD ROOT files (a path, a glob in quotes or "
    "a directory's files), e.g. " + _EXAMPLE
)


def add_demo_arguments(p):
    add_output_dir(p, "hepclf-demo-events")
    add_training_options(p, npix=32, lr=3e-3)


def add_train_arguments(p):
    p.add_argument("data", nargs="+", type=_CLASS_FILES, help=_DATA_HELP)
    add_model_output(p)
    p.add_argument(
        "--weighted", action="store_true", help="weight events by their genWeight"
    )
    add_training_options(p, npix=32, lr=3e-3)


def add_evaluate_arguments(p):
    p.add_argument(
        "model", help="model saved by 'hepclf train events' or 'hepclf demo events'"
    )
    p.add_argument("data", nargs="+", type=_CLASS_FILES, help=_DATA_HELP)
    add_confusion_plot(p)


def add_generate_arguments(p):
    p.add_argument("output", help="directory to write the ROOT files to")
    p.add_argument(
        "--process", required=True, choices=["ttbar", "wjets", "dy"], help="process"
    )
    p.add_argument(
        "--n-events", type=int, default=1000, help="generated events (default 1000)"
    )
    add_seed_and_jobs(p)


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
