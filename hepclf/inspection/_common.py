"""What the inspection functions share: the fitted network behind an estimator."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..models import CNNClassifier, CNNRegressor


def split_estimator(estimator, caller, regressors=False):
    """Return ``(transformers or None, net)`` of a fitted classifier or Pipeline.

    Raises a ``TypeError`` naming ``caller`` when the (last step of the)
    estimator is not a :class:`~hepclf.CNNClassifier` (or, with
    ``regressors``, a :class:`~hepclf.CNNRegressor`), and scikit-learn's
    ``NotFittedError`` (a ``ValueError``) when it is not fitted.
    """
    head, net = None, estimator
    if isinstance(estimator, Pipeline):
        head, net = estimator[:-1], estimator[-1]
    kinds = (CNNClassifier, CNNRegressor) if regressors else (CNNClassifier,)
    if not isinstance(net, kinds):
        names = ", a ".join(k.__name__ for k in kinds)
        raise TypeError(
            f"{caller} needs a {names} or a Pipeline ending in one, got "
            f"{type(net).__name__}"
        )
    check_fitted(net, caller)
    return (head if head is not None and len(head) else None), net


def check_fitted(estimator, caller):
    """Raise scikit-learn's ``NotFittedError``, naming ``caller``, if not fitted."""
    check_is_fitted(
        estimator, msg=f"{caller}: this %(name)s is not fitted yet; call fit first"
    )


def network_input(estimator, X, caller, regressors=False):
    """Return ``(net, X)``: X through the transformers, checked as the net checks it.

    The array is what the network's module takes (float32; images with a
    channel axis), so attributions can have its shape. A wrong shape raises
    the classifier's ``ValueError``, prefixed with ``caller``.
    """
    head, net = split_estimator(estimator, caller, regressors)
    if head is not None:
        X = head.transform(X)
    try:
        X = net._check_input(X, reset=False)
    except ValueError as exc:
        raise ValueError(f"{caller}: {exc}") from exc
    return net, X


def label_codes(net, labels, n_samples, caller, what="target"):
    """Map class labels (one, or one per sample) to column indices of ``classes_``."""
    classes = np.asarray(net.classes_)
    labels = np.asarray(labels)
    if labels.ndim == 0:
        labels = np.full(n_samples, labels.item(), dtype=labels.dtype)
    if labels.ndim != 1 or len(labels) != n_samples:
        raise ValueError(
            f"{caller}: {what} must be one class label or one per sample "
            f"({n_samples}), got shape {labels.shape}"
        )
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    values = labels.tolist()
    unknown = sorted({v for v in values if v not in lookup}, key=repr)
    if unknown:
        raise ValueError(
            f"{caller}: unknown {what} label(s) {unknown}; the classes are "
            f"{classes.tolist()}"
        )
    return np.array([lookup[v] for v in values], dtype=np.int64)
