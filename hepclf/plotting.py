"""Plots physicists draw of a tagger: ROC curves, rejection, mean images, training.

Needs matplotlib (``pip install "hepclf[plot]"``); ``style="mplhep"`` uses
mplhep's CMS-like style if it is installed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from .metrics import roc_auc, roc_curve
from .utils import import_optional
from .utils._docstrings import fill_doc

__all__ = [
    "plot_confusion_matrix",
    "plot_mean_images",
    "plot_roc",
    "plot_training_history",
]


#: Fills ``%(ax_style_returns)s``: the last parameters and the return value.
_fill_doc = fill_doc(
    ax_style_returns="""ax : matplotlib Axes, optional
    Where to draw; a new figure by default.
style : {None, "mplhep"}, default=None
    Plot style.

Returns
-------
ax : matplotlib Axes
    The axes drawn on."""
)


def _styled(function):
    """Draw inside the requested matplotlib style, leaving the global style alone."""

    @functools.wraps(function)
    def wrapper(*args, style=None, **kwargs):
        plt = import_optional("matplotlib.pyplot")
        if style is None:
            return function(*args, **kwargs)
        if style != "mplhep":
            raise ValueError(f"style must be None or 'mplhep', got {style!r}")
        hep = import_optional("mplhep")
        with plt.style.context(hep.style.CMS):
            return function(*args, **kwargs)

    return wrapper


def _axes(ax):
    if ax is None:
        plt = import_optional("matplotlib.pyplot")
        _, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    return ax


@_styled
@_fill_doc
def plot_roc(y_true, scores, *, kind="rejection", ax=None, style=None):
    """Draw ROC curves of one or several taggers.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes; the larger label is the signal).
    scores : array-like of shape (n_samples,) or (n_samples, 2), or dict
        The signal score of one tagger, or ``{name: score}`` for several.
    kind : {"rejection", "roc"}, default="rejection"
        ``"rejection"``: background rejection ``1/eps_B`` (log scale) against
        signal efficiency ``eps_S``, as in the top-tagging literature;
        ``"roc"``: ``eps_S`` against ``eps_B``.
    %(ax_style_returns)s
    """
    if kind not in ("rejection", "roc"):
        raise ValueError(f"kind must be 'rejection' or 'roc', got {kind!r}")
    ax = _axes(ax)
    if not isinstance(scores, Mapping):
        scores = {"tagger": scores}
    for name, score in scores.items():
        eps_s, eps_b, _ = roc_curve(y_true, score)
        label = f"{name} (AUC = {roc_auc(y_true, score):.4f})"
        if kind == "roc":
            ax.plot(eps_b, eps_s, label=label)
        else:
            keep = eps_b > 0
            ax.plot(eps_s[keep], 1.0 / eps_b[keep], label=label)
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls=":", color="grey", label="random")
        ax.set(
            xlabel=r"background efficiency $\varepsilon_B$",
            ylabel=r"signal efficiency $\varepsilon_S$",
            xlim=(0, 1),
            ylim=(0, 1),
        )
    else:
        ax.set_yscale("log")
        ax.set(
            xlabel=r"signal efficiency $\varepsilon_S$",
            ylabel=r"background rejection $1/\varepsilon_B$",
            xlim=(0, 1),
        )
        ax.axvline(0.3, ls=":", color="grey")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


@_styled
def plot_mean_images(
    images, y, *, extent=None, channel=0, log=True, axes=None, style=None
):
    """Draw the mean image of each class side by side.

    Parameters
    ----------
    images : array-like of shape (n_samples, n_channels, height, width)
        Images, e.g. from ``JetImager``.
    y : array-like of shape (n_samples,)
        Class labels.
    extent : (float, float, float, float), optional
        ``(eta_min, eta_max, phi_min, phi_max)`` of the image, for the axes.
    channel : int, default=0
        The channel to draw.
    log : bool, default=True
        Logarithmic colour scale.
    axes : sequence of matplotlib Axes, optional
        One per class; a new figure by default.
    style : {None, "mplhep"}, default=None
        Plot style.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One per class, in the order of ``np.unique(y)``.
    """
    plt = import_optional("matplotlib.pyplot")
    colors = import_optional("matplotlib.colors")
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, np.newaxis]
    y = np.asarray(y)
    if len(images) != len(y):
        raise ValueError(f"images has {len(images)} samples but y has {len(y)}")
    classes = np.unique(y)
    if axes is None:
        _, axes = plt.subplots(
            1,
            len(classes),
            figsize=(4.5 * len(classes), 4),
            layout="constrained",
            squeeze=False,
        )
        axes = axes[0]
    means = [images[y == c, channel].mean(axis=0) for c in classes]
    positive = [m[m > 0] for m in means]
    vmin = min((p.min() for p in positive if p.size), default=1e-6)
    vmax = max((m.max() for m in means), default=1.0)
    norm = colors.LogNorm(vmin=max(vmin, vmax * 1e-6), vmax=vmax) if log else None
    for ax, c, mean in zip(axes, classes, means, strict=False):
        shown = np.where(mean > 0, mean, np.nan) if log else mean
        im = ax.imshow(shown, origin="lower", extent=extent, norm=norm, aspect="auto")
        ax.set_title(f"mean image: class {c} ({int((y == c).sum())} samples)")
        if extent is not None:
            ax.set(xlabel=r"$\eta'$", ylabel=r"$\phi'$")
    plt.colorbar(im, ax=list(axes))
    return np.asarray(axes)


@_styled
@_fill_doc
def plot_training_history(
    net, *, keys=("train_loss", "valid_loss"), ax=None, style=None
):
    """Draw losses per epoch from a fitted skorch net (or a Pipeline ending in one).

    Parameters
    ----------
    net : CNNClassifier or Pipeline
        A fitted classifier.
    keys : sequence of str, default=("train_loss", "valid_loss")
        History entries to draw; missing ones are skipped.
    %(ax_style_returns)s
    """
    if hasattr(net, "steps"):
        net = net.steps[-1][1]
    history = net.history_
    ax = _axes(ax)
    epochs = history[:, "epoch"]
    for key in keys:
        if all(key in row for row in history):
            ax.plot(epochs, history[:, key], marker="o", label=key)
    ax.set(xlabel="epoch", ylabel="loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


@_styled
def plot_confusion_matrix(
    y_true, y_pred, *, labels=None, normalize="true", ax=None, style=None
):
    """Draw the confusion matrix (rows: true class; by default each row sums to one).

    A thin wrapper of :class:`sklearn.metrics.ConfusionMatrixDisplay`, e.g. for
    the e/gamma confusion of particle-identification taggers.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels (``estimator.predict(X)``).
    labels : array-like, optional
        Label order; all labels present by default.
    normalize : {"true", "pred", "all"} or None, default="true"
        Normalise over true classes (efficiencies), predictions (purities),
        everything, or show counts.
    ax : matplotlib Axes, optional
        Where to draw.
    style : {None, "mplhep"}, default=None
        Plot style.

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
        ``display.confusion_matrix`` holds the numbers, ``display.ax_`` the axes.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    ax = _axes(ax)
    return ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        normalize=normalize,
        ax=ax,
        values_format=".2f" if normalize else "d",
        colorbar=False,
    )
