"""Classifier metrics as particle physicists quote them.

Signal efficiency ``eps_S`` is the true-positive rate, background efficiency
``eps_B`` the false-positive rate; a tagger is summarised by its ROC AUC and its
background rejection ``1 / eps_B`` at a fixed signal efficiency (0.3 for top
tagging, as in arXiv:1902.09914).
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as _skm

from .utils._docstrings import fill_doc

__all__ = [
    "background_efficiency",
    "background_rejection",
    "background_rejection_scorer",
    "bootstrap_difference",
    "bootstrap_metric",
    "make_rejection_scorer",
    "roc_auc",
    "roc_curve",
]


#: Fills ``%(working_point_params)s`` in the docstrings of the working-point metrics.
_fill_doc = fill_doc(
    working_point_params="""y_true : array-like of shape (n_samples,)
    True labels, two classes.
y_score : array-like of shape (n_samples,) or (n_samples, 2)
    Signal score or ``predict_proba`` output.
signal_efficiency : float or array-like, default=0.3
    Working point(s) in (0, 1].
pos_label : int or str, optional
    The signal label; by default the larger label.
sample_weight : array-like of shape (n_samples,), optional
    Event weights."""
)


def _binary_inputs(y_true, y_score):
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_score.ndim == 2 and y_score.shape[1] == 2:
        y_score = y_score[:, 1]
    if y_score.ndim != 1:
        raise ValueError(
            f"y_score must be 1-D scores of the signal class (or (n, 2) probabilities), "
            f"got shape {y_score.shape}"
        )
    if len(y_true) != len(y_score):
        raise ValueError(
            f"y_true has {len(y_true)} entries but y_score has {len(y_score)}"
        )
    if not np.isfinite(y_score).all():
        raise ValueError("y_score contains NaN or inf")
    if len(np.unique(y_true)) != 2:
        raise ValueError(
            f"y_true must contain exactly two classes (signal and background), "
            f"got {np.unique(y_true).tolist()}"
        )
    return y_true, y_score


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None):
    """Signal and background efficiencies for every threshold on the score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, two classes.
    y_score : array-like of shape (n_samples,) or (n_samples, 2)
        Score of the signal class (higher means more signal-like), or
        ``predict_proba`` output whose second column is the signal.
    pos_label : int or str, optional
        The signal label; by default the larger of the two labels (1 for 0/1).
    sample_weight : array-like of shape (n_samples,), optional
        Event weights.

    Returns
    -------
    signal_efficiency : ndarray
        ``eps_S`` (true-positive rate), increasing.
    background_efficiency : ndarray
        ``eps_B`` (false-positive rate), increasing.
    thresholds : ndarray
        Score thresholds, decreasing.
    """
    y_true, y_score = _binary_inputs(y_true, y_score)
    if pos_label is None:  # the larger label, for strings too (sklearn refuses)
        pos_label = np.unique(y_true)[-1]
    fpr, tpr, thresholds = _skm.roc_curve(
        y_true,
        y_score,
        pos_label=pos_label,
        sample_weight=sample_weight,
        drop_intermediate=False,
    )
    return tpr, fpr, thresholds


def roc_auc(y_true, y_score, *, sample_weight=None):
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score`` for one signal score).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, two classes; the larger label is the signal.
    y_score : array-like of shape (n_samples,) or (n_samples, 2)
        Signal score or ``predict_proba`` output.
    sample_weight : array-like of shape (n_samples,), optional
        Event weights.

    Returns
    -------
    auc : float
        The area under the ROC curve (0.5 for a random tagger, 1 for a perfect one).
    """
    y_true, y_score = _binary_inputs(y_true, y_score)
    return float(_skm.roc_auc_score(y_true, y_score, sample_weight=sample_weight))


def _check_efficiency(signal_efficiency):
    eff = np.asarray(signal_efficiency, dtype=np.float64)
    if not np.all((eff > 0) & (eff <= 1)):
        raise ValueError(
            f"signal_efficiency must lie in (0, 1], got {signal_efficiency!r}"
        )
    return eff


@_fill_doc
def background_efficiency(
    y_true, y_score, *, signal_efficiency=0.3, pos_label=None, sample_weight=None
):
    """Background efficiency ``eps_B`` at a given signal efficiency.

    ``eps_B`` is interpolated linearly along the ROC curve at
    ``eps_S = signal_efficiency``; where several thresholds give the same
    ``eps_S``, the one with the lowest ``eps_B`` counts. Unlike the rejection
    ``1 / eps_B`` it stays finite when no background passes (it is then 0),
    so it is the quantity to bootstrap or average before inverting.

    Parameters
    ----------
    %(working_point_params)s

    Returns
    -------
    efficiency : float or ndarray
        ``eps_B`` in [0, 1].

    Examples
    --------
    >>> from hepclf.metrics import background_efficiency
    >>> background_efficiency([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.9, 0.8, 0.95],
    ...                       signal_efficiency=1.0)
    0.25
    """
    eff = _check_efficiency(signal_efficiency)
    eps_s, eps_b, _ = roc_curve(
        y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
    )
    # where eps_S stays flat, the lowest eps_B (the first point) is the working point
    eps_s, first = np.unique(eps_s, return_index=True)
    eps_b_at = np.interp(eff, eps_s, eps_b[first])
    return float(eps_b_at) if eps_b_at.ndim == 0 else eps_b_at


@_fill_doc
def background_rejection(
    y_true, y_score, *, signal_efficiency=0.3, pos_label=None, sample_weight=None
):
    """Background rejection ``1 / eps_B`` at a given signal efficiency.

    ``1 /`` :func:`background_efficiency` at the same working point.

    Parameters
    ----------
    %(working_point_params)s

    Returns
    -------
    rejection : float or ndarray
        ``1 / eps_B``; ``inf`` where no background passes. For its statistical
        uncertainty, bootstrap :func:`background_efficiency` (finite) and
        propagate, ``std(eps_B) / eps_B**2``: bootstrapping the rejection itself
        gives an infinite spread as soon as one resample keeps no passing
        background.

    Examples
    --------
    >>> from hepclf.metrics import background_rejection
    >>> background_rejection([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.9, 0.8, 0.95],
    ...                      signal_efficiency=0.5)
    inf
    """
    eps_b_at = np.asarray(
        background_efficiency(
            y_true,
            y_score,
            signal_efficiency=signal_efficiency,
            pos_label=pos_label,
            sample_weight=sample_weight,
        )
    )
    with np.errstate(divide="ignore"):
        rejection = np.where(eps_b_at > 0, 1.0 / np.maximum(eps_b_at, 1e-300), np.inf)
    return float(rejection) if rejection.ndim == 0 else rejection


def make_rejection_scorer(signal_efficiency=0.3):
    """Make an sklearn scorer for ``background_rejection`` at ``signal_efficiency``.

    Use it in ``cross_val_score(..., scoring=make_rejection_scorer(0.5))`` or
    ``GridSearchCV``; it scores the positive-class probability (or decision
    function) of a binary classifier.

    Parameters
    ----------
    signal_efficiency : float, default=0.3
        The working point.

    Returns
    -------
    scorer : callable
    """
    return _skm.make_scorer(
        background_rejection,
        response_method=("decision_function", "predict_proba"),
        signal_efficiency=signal_efficiency,
    )


#: Scorer for background rejection at 30 % signal efficiency.
background_rejection_scorer = make_rejection_scorer(0.3)


def bootstrap_metric(
    metric,
    y_true,
    y_score,
    *,
    n_boot=100,
    stratify=True,
    random_state=None,
    **kwargs,
):
    """Compute a metric and its bootstrap standard deviation over the evaluation sample.

    The metric is computed once on the whole sample (the value quoted) and on
    ``n_boot`` resamples drawn with replacement; the spread of the resampled
    values estimates the statistical uncertainty due to the finite test set
    (not the one due to training).

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_score, **kwargs) -> float``, e.g. :func:`roc_auc` or
        :func:`background_rejection`.
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples,) or (n_samples, 2)
        Signal score or ``predict_proba`` output.
    n_boot : int, default=100
        Number of bootstrap resamples (>= 2).
    stratify : bool, default=True
        Resample each class separately, keeping the numbers of signal and
        background samples fixed (so efficiencies are resampled at fixed
        denominators and no resample lacks a class).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling; the same seed gives the same resamples, so
        several metrics (or taggers scored on the same sample) are resampled
        alike.
    **kwargs
        Passed to ``metric`` (e.g. ``signal_efficiency=0.5``).

    Returns
    -------
    value : float
        The metric on the whole sample.
    std : float
        Standard deviation (``ddof=1``) of the metric over the resamples;
        ``inf`` if any resample gives an infinite value (e.g. a rejection
        where no background passes), as the uncertainty is then unbounded.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.metrics import bootstrap_metric, roc_auc
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 500)
    >>> score = y + rng.normal(size=1000)
    >>> auc, std = bootstrap_metric(roc_auc, y, score, random_state=0)
    >>> round(auc, 3), 0.005 < std < 0.02
    (0.756, True)
    """
    y_true, y_score = _binary_inputs(y_true, y_score)
    value = float(metric(y_true, y_score, **kwargs))
    replicas = np.array(
        [
            metric(y_true[idx], y_score[idx], **kwargs)
            for idx in _resamples(y_true, n_boot, stratify, random_state)
        ]
    )
    return value, _spread(replicas)


def _resamples(y_true, n_boot, stratify, random_state):
    """Yield ``n_boot`` bootstrap index arrays (per class when ``stratify``)."""
    if (
        isinstance(n_boot, (bool, np.bool_))
        or not isinstance(n_boot, (int, np.integer))
        or n_boot < 2
    ):
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    rng = np.random.default_rng(random_state)
    groups = (
        [np.flatnonzero(y_true == c) for c in np.unique(y_true)]
        if stratify
        else [np.arange(len(y_true))]
    )
    for _ in range(n_boot):
        yield np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])


def _spread(replicas):
    """Return the std (ddof=1) of bootstrap replicas; inf if any is infinite."""
    if not np.isfinite(replicas).all():
        return float("inf")
    return float(np.std(replicas, ddof=1))


def bootstrap_difference(
    metric,
    y_true,
    score_a,
    score_b,
    *,
    n_boot=100,
    stratify=True,
    random_state=None,
    **kwargs,
):
    """Compute the difference of a metric between two taggers, with a paired bootstrap.

    Both taggers are scored on the same sample, so their metrics fluctuate
    together; resampling the sample once per replica and scoring both taggers
    on it (a paired bootstrap) measures the uncertainty of the difference
    itself, which is usually much smaller than the two uncertainties of
    :func:`bootstrap_metric` combined. Say "A beats B" only where the
    difference is several times this uncertainty (and larger than the spread
    between training seeds).

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_score, **kwargs) -> float``, e.g. :func:`roc_auc`.
    y_true : array-like of shape (n_samples,)
        True labels.
    score_a, score_b : array-like of shape (n_samples,) or (n_samples, 2)
        Signal scores (or ``predict_proba`` outputs) of the two taggers on the
        same samples.
    n_boot : int, default=100
        Number of bootstrap resamples (>= 2).
    stratify : bool, default=True
        Resample each class separately, as :func:`bootstrap_metric`.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling.
    **kwargs
        Passed to ``metric``.

    Returns
    -------
    difference : float
        ``metric(score_a) - metric(score_b)`` on the whole sample.
    std : float
        Standard deviation (``ddof=1``) of the difference over the resamples;
        ``inf`` if a resample gives an infinite value.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.metrics import bootstrap_difference, roc_auc
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 500)
    >>> a = y + rng.normal(size=1000)
    >>> b = a + 0.3 * rng.normal(size=1000)  # a with extra noise
    >>> diff, std = bootstrap_difference(roc_auc, y, a, b, random_state=0)
    >>> bool(diff > 3 * std)
    True
    """
    _, score_a = _binary_inputs(y_true, score_a)
    y_true, score_b = _binary_inputs(y_true, score_b)
    value = float(metric(y_true, score_a, **kwargs) - metric(y_true, score_b, **kwargs))
    replicas = np.array(
        [
            metric(y_true[idx], score_a[idx], **kwargs)
            - metric(y_true[idx], score_b[idx], **kwargs)
            for idx in _resamples(y_true, n_boot, stratify, random_state)
        ]
    )
    return value, _spread(replicas)
