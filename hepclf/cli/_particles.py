"""``hepclf VERB particles``: liquid-argon particle images, demo to evaluation.

The data are single-particle images in the challenge HDF5 layout (``image``,
``pdg``), read with :func:`hepclf.datasets.load_particle_images`; the model is
a ``CNNClassifier`` on the images themselves (no imager). See
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
)
from ._common import (
    evaluate_saved,
    fit_demo,
    save_demo,
    small_cnn,
    train_and_save,
)

#: Class names of the four-class sample, by label (sorted PDG codes 11, 13, 22, 2212).
SAMPLE_CLASSES = ("electron", "muon", "photon", "proton")


def _classifier(args):
    """Build the demo network: the small CNN of the other kinds, with augmentation.

    :func:`hepclf.cli._common.small_cnn` with random flips and quarter turns
    while training (``--no-augment`` turns them off): the detector view has
    no preferred direction.
    """
    return small_cnn(args, augment_flip=args.augment, augment_rot90=args.augment)


def _explain(clf, X, y, out):
    """Write the most confident mistakes and a saliency map next to the model."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    import numpy as np

    from hepclf.inspection import (
        most_confused,
        plot_misclassified_gallery,
        plot_saliency,
        saliency,
    )

    written = []
    confused = most_confused(clf, X, y, n=4)
    if confused:
        (true, predicted), _ = next(iter(confused.items()))
        axes = plot_misclassified_gallery(
            clf, X, y, true=true, predicted=predicted, n=4
        )
        path = out / "mistakes.png"
        np.ravel(axes)[0].figure.savefig(path, dpi=100)
        plt.close(np.ravel(axes)[0].figure)
        written.append(path)
    try:
        attribution = saliency(clf, X[:1], method="integrated_gradients")
    except ImportError:  # captum, the explain extra
        return written
    ax = plot_saliency(X[0], attribution[0], title=f"true {y[0]}")
    path = out / "saliency.png"
    ax.figure.savefig(path, dpi=100)
    plt.close(ax.figure)
    written.append(path)
    return written


def demo(args):
    """Train the demo classifier on the bundled sample and evaluate it."""
    from hepclf.datasets import load_particle_sample

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    clf, X_test, y_test, proba = fit_demo(
        _classifier(args),
        load_particle_sample(),
        SAMPLE_CLASSES,
        header="hepclf demo particles: {classes} (bundled sample of simulated "
        "liquid-argon images, 64 x 64 pixels of 1.5 cm); "
        "{n_train} training images, {n_test} test images",
        title="test-set performance of CNNClassifier",
        samples="images",
    )
    save_demo(clf, out, y_test, proba)
    for path in _explain(clf, X_test, y_test, out):
        print(f"plot: {path}")
    return 0


def _load(paths):
    """Images and labels of challenge-layout files, concatenated."""
    import numpy as np

    from hepclf.datasets import load_particle_images

    parts = [load_particle_images(p, return_info=True) for p in paths]
    names = [np.asarray(p.class_names)[p.labels] for p in parts]
    for path, p in zip(paths, parts, strict=True):
        print(f"  {len(p.labels)} images from {path}")
    return np.concatenate([p.images for p in parts]), np.concatenate(names)


def train(args):
    """Train a particle classifier on challenge-layout HDF5 files; save it."""
    return train_and_save(args, _load, _classifier, noun="images")


def evaluate(args):
    """Evaluate a saved particle classifier on challenge-layout HDF5 files."""
    return evaluate_saved(args, _load, noun="images", samples="images")


def generate(args):
    """Simulate particle images and write them in the challenge HDF5 layout."""
    from hepclf.datasets import make_particle_images, write_particle_images

    images, _, info = make_particle_images(
        args.n_per_class,
        classes=tuple(args.classes),
        npix=args.npix,
        pixel_size=args.pixel_size,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        return_info=True,
    )
    path = write_particle_images(args.output, images, info["pdg"].to_numpy())
    print(f"wrote {len(images)} images of {args.npix} x {args.npix} pixels to {path}")
    return 0


def _add_demo_train_options(p):
    p.add_argument(
        "--no-augment",
        dest="augment",
        action="store_false",
        help="no random flips and quarter turns while training",
    )
    add_training_options(p, npix=64, lr=3e-3)


def add_demo_arguments(p):
    add_output_dir(p, "hepclf-demo-particles")
    _add_demo_train_options(p)


def add_train_arguments(p):
    p.add_argument("data", nargs="+", help="HDF5 files in the challenge layout")
    add_model_output(p)
    _add_demo_train_options(p)


def add_evaluate_arguments(p):
    p.add_argument("model", help="model saved by 'hepclf train/demo particles'")
    p.add_argument("data", nargs="+", help="HDF5 files in the challenge layout")
    add_confusion_plot(p)


def add_generate_arguments(p):
    p.add_argument("output", help="HDF5 file to write")
    p.add_argument(
        "--classes",
        nargs="+",
        default=list(SAMPLE_CLASSES),
        choices=["electron", "muon", "photon", "pion", "proton"],
    )
    p.add_argument("--n-per-class", type=int, default=1000)
    p.add_argument("--npix", type=int, default=192, help="image size (default 192)")
    p.add_argument(
        "--pixel-size", type=float, default=0.5, help="cm per pixel (default 0.5)"
    )
    add_seed_and_jobs(p)


COMMANDS = {
    "demo": Command(
        "classify electron / muon / photon / proton images of the bundled sample",
        add_demo_arguments,
        demo,
    ),
    "train": Command(
        "train a particle classifier on HDF5 image files", add_train_arguments, train
    ),
    "evaluate": Command(
        "evaluate a saved particle classifier on HDF5 image files",
        add_evaluate_arguments,
        evaluate,
    ),
    "generate": Command(
        "simulate liquid-argon particle images (particle gun)",
        add_generate_arguments,
        generate,
    ),
}
