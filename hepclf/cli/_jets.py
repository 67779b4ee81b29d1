"""``hepclf VERB jets``: demo, train, evaluate and generate top taggers.

The data are jets in the public top-tagging HDF5 layout
(:func:`hepclf.datasets.load_top_tagging`); the model is
``JetImager -> CNNClassifier``. See :mod:`hepclf.cli` for the interface.
"""

from __future__ import annotations

from pathlib import Path

from . import (
    Command,
    add_model_output,
    add_output_dir,
    add_seed_and_jobs,
    add_training_options,
)
from ._common import fit_timed, training_params

WORKING_POINTS = (0.3, 0.5)


def _pipeline(args):
    from sklearn.pipeline import make_pipeline
    from skorch.callbacks import ProgressBar

    from hepclf import CNNClassifier, JetImager

    callbacks = [ProgressBar()] if not args.quiet else None
    return make_pipeline(
        JetImager(npix=args.npix),
        CNNClassifier(**training_params(args), callbacks=callbacks),
    )


def _report(y, proba, title):
    import numpy as np

    from hepclf.metrics import background_rejection, roc_auc

    auc = roc_auc(y, proba)
    rejection = background_rejection(y, proba, signal_efficiency=list(WORKING_POINTS))
    print(f"\n{title}")
    print(
        f"  {'jets':<34}{len(y)} ({int(np.sum(y == 1))} top, {int(np.sum(y == 0))} QCD)"
    )
    print(f"  {'ROC AUC':<34}{auc:.4f}")
    for eff, rej in zip(WORKING_POINTS, rejection, strict=False):
        print(f"  {f'rejection 1/eps_B @ eps_S={eff}':<34}{rej:.1f}")
    return auc, rejection


def _plot(y, proba, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('(no plot written: matplotlib is missing; pip install "hepclf[plot]")')
        return None
    from hepclf.plotting import plot_roc

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    plot_roc(y, proba[:, 1], kind="roc", ax=left)
    plot_roc(y, proba[:, 1], kind="rejection", ax=right)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def demo(args):
    """Train the default tagger on the bundled sample and evaluate it."""
    import joblib

    from hepclf.datasets import load_top_tagging

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    X_train, y_train = load_top_tagging(split="train")
    X_test, y_test = load_top_tagging(split="test")
    print(
        f"hepclf demo: top-quark vs QCD jets (bundled sample, detector level); "
        f"{len(y_train)} training jets, {len(y_test)} test jets"
    )
    pipe = fit_timed(_pipeline(args), X_train, y_train)
    proba = pipe.predict_proba(X_test)
    _report(
        y_test,
        proba,
        f"test-set performance of JetImager(npix={args.npix}) -> CNNClassifier",
    )
    model_path = out / "model.joblib"
    joblib.dump(pipe, model_path)
    plot_path = _plot(y_test, proba, out / "roc.png")
    print(f"\nsaved model: {model_path}")
    if plot_path:
        print(f"ROC plot:    {plot_path}")
    return 0


def train(args):
    """Train a tagger on a top-tagging HDF5 file and save it with joblib."""
    import joblib

    from hepclf.datasets import load_top_tagging

    X, y = load_top_tagging(args.data, split=args.split)
    print(f"training on {len(y)} jets from {args.data}")
    pipe = _pipeline(args).fit(X, y)
    joblib.dump(pipe, args.output)
    print(f"saved model: {args.output}")
    return 0


def evaluate(args):
    """Evaluate a saved tagger on a top-tagging HDF5 file."""
    import joblib

    from hepclf.datasets import load_top_tagging

    pipe = joblib.load(args.model)
    X, y = load_top_tagging(args.data, split=args.split)
    proba = pipe.predict_proba(X)
    _report(y, proba, f"performance of {args.model} on {args.data}")
    if args.plot and _plot(y, proba, args.plot):
        print(f"ROC plot: {args.plot}")
    return 0


def generate(args):
    """Generate top and QCD jets with Pythia 8 and FastJet into an HDF5 file."""
    from hepclf.datasets import make_top_tagging

    _X, y = make_top_tagging(
        args.n_jets,
        detector=args.detector,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        path=args.output,
    )
    print(f"wrote {len(y)} jets ({int(y.sum())} top) to {args.output}")
    return 0


def add_demo_arguments(p):
    add_output_dir(p, "hepclf-demo")
    add_training_options(p, npix=40, lr=1e-3)


def add_train_arguments(p):
    p.add_argument("data", help="HDF5 file in the public top-tagging layout")
    add_model_output(p)
    p.add_argument(
        "--split",
        default=None,
        choices=["train", "val", "test"],
        help="use only rows of this ttv split",
    )
    add_training_options(p, npix=40, lr=1e-3)


def add_evaluate_arguments(p):
    p.add_argument(
        "model", help="model saved by 'hepclf train jets' or 'hepclf demo jets'"
    )
    p.add_argument("data", help="HDF5 file in the public top-tagging layout")
    p.add_argument("--split", default=None, choices=["train", "val", "test"])
    p.add_argument("--plot", default=None, help="write ROC curves to this image file")


def add_generate_arguments(p):
    p.add_argument("output", help="HDF5 file to write")
    p.add_argument(
        "--n-jets", type=int, default=1000, help="jets in total (default 1000)"
    )
    p.add_argument("--detector", default="particle", choices=["particle", "simple"])
    add_seed_and_jobs(p)


COMMANDS = {
    "demo": Command(
        "train and evaluate a top tagger on the bundled sample",
        add_demo_arguments,
        demo,
    ),
    "train": Command(
        "train a top tagger on a top-tagging HDF5 file", add_train_arguments, train
    ),
    "evaluate": Command(
        "evaluate a saved tagger on a top-tagging HDF5 file",
        add_evaluate_arguments,
        evaluate,
    ),
    "generate": Command(
        "generate top/QCD jets with Pythia 8 + FastJet",
        add_generate_arguments,
        generate,
    ),
}
