"""What the verbs of several kinds run: the small CNN, reading, reports, plots.

The events, hits and particles kinds train the same small CNN and score it
as multi-class classifiers (accuracy, macro AUC, confusion matrix); jets, a
binary tagger, shares only the training parameters and the timed fit, and
has its own network, report and ROC plot in ``_jets.py``. Heavy libraries
are imported inside the functions, as in the kind modules.
"""

from __future__ import annotations

import time

from . import concatenate_padded


def training_params(args):
    """Return the ``CNNClassifier`` parameters set by the training options.

    The options are those of :func:`hepclf.cli.add_training_options`.
    """
    return {
        "max_epochs": args.max_epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "device": args.device,
        "random_state": args.seed,
    }


def small_cnn(args, **params):
    """Return the small CNN of the events, hits and particles verbs.

    Two blocks of two 3x3 convolutions (16 and 32 filters, batch norm, 2x2
    pooling), a dense layer of 64, dropout 0.1, Adam with a cosine decay of
    the learning rate; a progress bar unless ``--quiet``. The training
    options come from ``args`` (:func:`training_params`); ``params`` are
    further ``CNNClassifier`` parameters.
    """
    from skorch.callbacks import LRScheduler, ProgressBar

    from hepclf import CNNClassifier

    callbacks = [("lr", LRScheduler("CosineAnnealingLR", T_max=args.max_epochs))]
    if not args.quiet:
        callbacks.append(("progress", ProgressBar()))
    return CNNClassifier(
        **training_params(args),
        callbacks=callbacks,
        module__conv_blocks=((16, 16), (32, 32)),
        module__pool_size=2,
        module__dense=(64,),
        module__dropout=0.1,
        module__batch_norm=True,
        **params,
    )


def read_classes(specs, read, *, noun):
    """Read one set of files per class into padded samples and their labels.

    Parameters
    ----------
    specs : list of (str, str)
        ``(label, files)`` pairs, as :func:`hepclf.cli.class_files` parses them.
        A label given twice is a usage error.
    read : callable
        ``read(files)`` returns the class's samples, ``(n, n_items, n_features)``.
    noun : str
        What the samples are called in the line printed per class.

    Returns
    -------
    X : ndarray of shape (n_samples, n_items, n_features)
        The classes' samples in order, padded to the widest.
    y : ndarray of shape (n_samples,)
        Their labels.
    """
    import numpy as np

    labels = [label for label, _ in specs]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"hepclf: error: a class is given twice: {labels}")
    parts = []
    for label, files in specs:
        parts.append(read(files))
        print(f"  {label}: {len(parts[-1])} {noun} from {files}")
    y = np.concatenate(
        [np.full(len(p), label) for label, p in zip(labels, parts, strict=True)]
    )
    return concatenate_padded(parts), y


def fit_demo(model, sample, classes, *, header, title, samples="events"):
    """Fit ``model`` on 70% of a bundled sample and report on the other 30%.

    The split is stratified, with ``random_state=0``.

    Parameters
    ----------
    model : classifier or Pipeline
        The kind's model, not fitted.
    sample : tuple of (X, y)
        The bundled sample, with integer labels ``y``.
    classes : sequence of str
        The class names by label; the model is fitted on the names.
    header : str
        The line printed before training, with the fields ``{classes}`` (the
        names joined by " vs "), ``{n_train}`` and ``{n_test}``.
    title : str
        The title of the :func:`report` on the test set.
    samples : str, default="events"
        What the samples are called in the report.

    Returns
    -------
    model, X_test, y_test, proba
        The fitted model, the test set (class names as labels) and the
        model's probabilities on it.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    X, y = sample
    y = np.asarray(classes)[y]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    print(
        header.format(
            classes=" vs ".join(classes), n_train=len(y_train), n_test=len(y_test)
        )
    )
    fit_timed(model, X_train, y_train)
    proba = model.predict_proba(X_test)
    report(y_test, proba, model.classes_, title, samples=samples)
    return model, X_test, y_test, proba


def fit_timed(model, X, y):
    """Fit ``model``, print how long it took and return it."""
    start = time.perf_counter()
    model.fit(X, y)
    print(f"trained in {time.perf_counter() - start:.1f} s")
    return model


def report(y, proba, classes, title, *, samples="events"):
    """Print the count, accuracy, macro one-vs-rest AUC and confusion matrix.

    ``samples`` is what the counted samples are called.
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

    pred = np.asarray(classes)[proba.argmax(1)]
    accuracy = accuracy_score(y, pred)
    auc = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    counts = ", ".join(f"{int(np.sum(y == c))} {c}" for c in classes)
    print(f"\n{title}")
    print(f"  {samples:<24}{len(y)} ({counts})")
    print(f"  {'accuracy':<24}{accuracy:.4f}")
    print(f"  {'macro one-vs-rest AUC':<24}{auc:.4f}")
    cm = confusion_matrix(y, pred, labels=classes, normalize="true")
    width = max(len(str(c)) for c in classes) + 2
    print("  confusion matrix (rows: true class, each sums to 1)")
    print("  " + " " * width + "".join(f"{c!s:>{width}}" for c in classes))
    for c, row in zip(classes, cm, strict=True):
        print("  " + f"{c!s:<{width}}" + "".join(f"{v:>{width}.3f}" for v in row))
    return accuracy, auc


def plot_confusion(y, proba, classes, path):
    """Write the confusion matrix to ``path``; return it, or None without matplotlib."""
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


def save_demo(model, out, y_test, proba):
    """Save the demo's model and confusion plot in the directory ``out``.

    Prints each path once written; the plot is left out without matplotlib.
    """
    import joblib

    model_path = out / "model.joblib"
    joblib.dump(model, model_path)
    print(f"\nsaved model: {model_path}")
    plot_path = plot_confusion(y_test, proba, model.classes_, out / "confusion.png")
    if plot_path:
        print(f"confusion plot: {plot_path}")


def train_and_save(args, read, build, *, noun):
    """Run ``hepclf train KIND`` for a kind without sample weights.

    Reads ``args.data`` with ``read`` (it returns ``X, y``), fits
    ``build(args)``, saves it to ``args.output`` with joblib and returns the
    exit status.
    """
    import joblib

    print(f"reading {noun}")
    X, y = read(args.data)
    model = build(args)
    model.fit(X, y)
    joblib.dump(model, args.output)
    print(f"saved model: {args.output}")
    return 0


def evaluate_saved(args, read, *, noun, samples="events", extra=None):
    """Run ``hepclf evaluate KIND`` for a multi-class kind.

    Loads ``args.model``, reads ``args.data`` with ``read`` (it returns
    ``X, y``), prints :func:`report` (counting ``samples``), then
    ``extra(y, proba, classes)`` if given, writes the confusion matrix to
    ``args.plot`` if given and returns the exit status.
    """
    import joblib

    model = joblib.load(args.model)
    print(f"reading {noun}")
    X, y = read(args.data)
    proba = model.predict_proba(X)
    report(y, proba, model.classes_, f"performance of {args.model}", samples=samples)
    if extra is not None:
        extra(y, proba, model.classes_)
    if args.plot and plot_confusion(y, proba, model.classes_, args.plot):
        print(f"confusion plot: {args.plot}")
    return 0
