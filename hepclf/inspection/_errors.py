"""Which samples a fitted classifier gets wrong, and how sure it was."""

from __future__ import annotations

import numbers

import numpy as np

from ._common import check_fitted


def most_confused(estimator, X, y, *, true=None, predicted=None, n=8):
    """Find the most confidently misclassified samples of each pair of classes.

    For every (true class, predicted class) pair with at least one error, the
    indices of the misclassified samples sorted by the probability the
    classifier gave its (wrong) prediction, most confident first: the images
    to look at when asking why a tagger confuses electrons with photons.

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
    n : int or None, default=8
        At most this many samples per pair; ``None`` for all of them.

    Returns
    -------
    confused : dict
        ``{(true label, predicted label): indices}``, ``indices`` an int
        ndarray of positions in ``X``, sorted by decreasing probability of the
        predicted class. Pairs come in decreasing order of their number of
        errors (all of them, not only the ``n`` kept), then in class order;
        a pair without errors is left out, so the dict is empty when nothing
        is misclassified.

    See Also
    --------
    hepclf.inspection.plot_misclassified_gallery : draws these samples.
    hepclf.plotting.plot_confusion_matrix : how often each pair happens.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from hepclf.inspection import most_confused
    >>> X = np.zeros((4, 1))
    >>> y = np.array(["e", "gamma", "gamma", "e"])
    >>> clf = DummyClassifier(strategy="constant", constant="e").fit(X, y)
    >>> most_confused(clf, X, y)
    {('gamma', 'e'): array([1, 2])}
    """
    caller = "most_confused"
    _check_n(n, caller)
    check_fitted(estimator, caller)
    proba = estimator.predict_proba(X)
    classes = np.asarray(estimator.classes_)
    return _confused_pairs(proba, classes, y, true, predicted, n, caller)[0]


def _check_n(n, caller):
    if n is not None and not (
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
    ):
        raise ValueError(f"{caller}: n must be a positive integer or None, got {n!r}")


def _confused_pairs(proba, classes, y, true, predicted, n, caller):
    """Group the errors by class pair: ``({(true, predicted): indices}, confidence)``."""
    proba = np.asarray(proba)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or len(y) != len(proba):
        raise ValueError(
            f"{caller}: y must have one label per sample ({len(proba)}), "
            f"got shape {y.shape}"
        )
    known = classes.tolist()
    for name, label in (("true", true), ("predicted", predicted)):
        if label is not None and label not in known:
            raise ValueError(
                f"{caller}: unknown {name} class {label!r}; the classes are {known}"
            )
    codes = proba.argmax(axis=1)
    confidence = proba[np.arange(len(proba)), codes]
    labels = classes[codes]
    wrong = labels != y
    if true is not None:
        wrong &= y == true
    if predicted is not None:
        wrong &= labels == predicted
    order = {c: i for i, c in enumerate(known)}
    true_labels, predicted_labels = y.tolist(), labels.tolist()
    pairs: dict[tuple, list[int]] = {}
    for i in np.flatnonzero(wrong).tolist():
        pairs.setdefault((true_labels[i], predicted_labels[i]), []).append(i)
    keys = sorted(
        pairs,
        key=lambda k: (
            -len(pairs[k]),
            order.get(k[0], len(order)),
            order[k[1]],
            repr(k[0]),
        ),
    )
    result = {}
    for key in keys:
        index = np.asarray(pairs[key], dtype=np.intp)
        index = index[np.argsort(-confidence[index], kind="stable")]
        result[key] = index[:n] if n is not None else index
    return result, confidence
