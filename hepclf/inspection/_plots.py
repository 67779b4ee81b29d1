"""Pictures of what a classifier gets wrong and of what it looks at."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from ..plotting import _axes, _styled
from ..utils import import_optional
from ._common import check_fitted
from ._errors import _check_n, _confused_pairs


@_styled
def plot_misclassified_gallery(
    estimator,
    X,
    y,
    *,
    true=None,
    predicted=None,
    n=6,
    images=None,
    channel=0,
    cmap="viridis",
    display_labels=None,
    style=None,
):
    """Draw the most confidently misclassified images, one row per class pair.

    Row ``k`` shows the samples of the ``k``-th pair that
    :func:`most_confused` returns (the pair with most errors first), most
    confident first; each panel's title gives the sample's index, its true and
    predicted class and the probability of the prediction. Unused panels are
    blank.

    Parameters
    ----------
    estimator : classifier or Pipeline
        A fitted classifier with ``predict_proba`` and ``classes_``, e.g. a
        :class:`~hepclf.CNNClassifier` or a Pipeline ending in one.
    X : array-like
        Samples as the estimator takes them.
    y : array-like of shape (n_samples,)
        Their true labels.
    true : class label, optional
        Only samples of this true class; all classes by default.
    predicted : class label, optional
        Only samples predicted as this class; all classes by default.
    n : int, default=6
        Panels per row: at most this many samples per pair.
    images : array-like of shape (n_samples, n_channels, height, width), optional
        What to draw for each sample; by default the images the network is
        given (``X`` through the Pipeline's transformers). 3-D arrays are
        taken as single-channel images.
    channel : int, default=0
        The channel to draw.
    cmap : str, default="viridis"
        Colour map of the images.
    display_labels : sequence of str, optional
        Names for the titles, one per class in the order of
        ``estimator.classes_`` (as in scikit-learn's
        ``ConfusionMatrixDisplay``); by default the class labels themselves.
        ``true`` and ``predicted`` still take the labels.
    style : {None, "mplhep"}, default=None
        Plot style.

    Returns
    -------
    axes : ndarray of matplotlib Axes of shape (n_pairs, n)
        ``axes[k, j]`` shows the ``j``-th sample of pair ``k``. With no
        misclassified sample, a single panel that says so, shape ``(1, 1)``.

    See Also
    --------
    hepclf.inspection.most_confused : the indices drawn here.
    hepclf.inspection.plot_saliency : what the network looked at in one image.
    """
    caller = "plot_misclassified_gallery"
    plt = import_optional("matplotlib.pyplot")
    _check_n(n, caller)
    if n is None:
        raise ValueError(f"{caller}: n must be a positive integer, got None")
    check_fitted(estimator, caller)
    if images is None:
        is_pipeline = isinstance(estimator, Pipeline) and len(estimator) > 1
        images = estimator[:-1].transform(X) if is_pipeline else X
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, np.newaxis]
    proba = estimator.predict_proba(X)
    if images.ndim != 4 or len(images) != len(proba):
        raise ValueError(
            f"{caller}: images must have shape (n_samples, n_channels, height, "
            f"width) with one image per sample ({len(proba)}), got shape "
            f"{images.shape}; pass images= for input that is not images"
        )
    if not 0 <= channel < images.shape[1]:
        raise ValueError(
            f"{caller}: channel {channel} out of range for {images.shape[1]} channel(s)"
        )
    classes = np.asarray(estimator.classes_)
    names = _display_names(classes, display_labels, caller)
    pairs, confidence = _confused_pairs(proba, classes, y, true, predicted, n, caller)
    if not pairs:
        _, ax = plt.subplots(figsize=(4, 2), layout="constrained")
        ax.text(0.5, 0.5, "no misclassified samples", ha="center", va="center")
        ax.set_axis_off()
        return np.array([[ax]])
    fig, axes = plt.subplots(
        len(pairs),
        n,
        figsize=(2.2 * n, 2.4 * len(pairs)),
        layout="constrained",
        squeeze=False,
    )
    for row, ((true_label, predicted_label), indices) in zip(
        axes, pairs.items(), strict=True
    ):
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row[len(indices) :]:
            ax.set_axis_off()
        for ax, i in zip(row, indices.tolist(), strict=False):
            ax.imshow(images[i, channel], origin="lower", cmap=cmap)
            ax.set_title(
                f"#{i}: true {names.get(true_label, true_label)}\npredicted "
                f"{names[predicted_label]} "
                f"(p = {confidence[i]:.2f})",
                fontsize="small",
            )
    fig.suptitle("most confidently misclassified samples")
    return axes


def _display_names(classes, display_labels, caller):
    """``{label: name}`` for the titles; the labels themselves by default."""
    if display_labels is None:
        return {c: c for c in classes.tolist()}
    if isinstance(display_labels, str) or len(display_labels) != len(classes):
        raise ValueError(
            f"{caller}: display_labels must give one name per class "
            f"({len(classes)}: {classes.tolist()}), got {display_labels!r}"
        )
    return dict(zip(classes.tolist(), map(str, display_labels), strict=True))


@_styled
def plot_saliency(
    image,
    attribution,
    *,
    channel=0,
    signed=False,
    alpha=0.6,
    title=None,
    ax=None,
    style=None,
):
    """Draw an attribution map over its image.

    The image is drawn in grey; the attribution (from :func:`saliency`) on
    top of it in colour, transparent where it is exactly zero, with a colour
    bar.

    Parameters
    ----------
    image : array-like of shape (n_channels, height, width) or (height, width)
        One sample, e.g. ``X[i]``.
    attribution : array-like of the same shape as image
        Its attributions, e.g. ``saliency(clf, X)[i]``.
    channel : int, default=0
        The channel to draw.
    signed : bool, default=False
        Draw the signed attribution on a diverging colour map centred on zero
        (red: evidence for the class, blue: against it); by default its
        absolute value.
    alpha : float, default=0.6
        Opacity of the attribution layer.
    title : str, optional
        Title of the axes.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    style : {None, "mplhep"}, default=None
        Plot style.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on: ``ax.get_images()`` holds the image, then the
        attribution layer.

    See Also
    --------
    hepclf.inspection.saliency : computes the attributions.
    """
    caller = "plot_saliency"
    plt = import_optional("matplotlib.pyplot")
    image = np.asarray(image, dtype=float)
    attribution = np.asarray(attribution, dtype=float)
    if image.shape != attribution.shape or image.ndim not in (2, 3):
        raise ValueError(
            f"{caller}: image and attribution must have the same shape, "
            f"(n_channels, height, width) or (height, width); got {image.shape} "
            f"and {attribution.shape}"
        )
    if image.ndim == 2:
        image, attribution = image[np.newaxis], attribution[np.newaxis]
    if not 0 <= channel < image.shape[0]:
        raise ValueError(
            f"{caller}: channel {channel} out of range for {image.shape[0]} channel(s)"
        )
    values = attribution[channel] if signed else np.abs(attribution[channel])
    ax = _axes(ax)
    ax.imshow(image[channel], origin="lower", cmap="Greys")
    overlay = np.ma.masked_equal(values, 0.0)
    if signed:
        limit = float(np.abs(values).max()) or 1.0
        layer = ax.imshow(
            overlay, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=alpha
        )
    else:
        layer = ax.imshow(overlay, origin="lower", cmap="inferno", alpha=alpha)
    plt.colorbar(layer, ax=ax, label="attribution" if signed else "|attribution|")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax
