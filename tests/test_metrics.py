from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve
from sklearn.model_selection import cross_val_score

from hepclf.metrics import (
    background_efficiency,
    background_rejection,
    background_rejection_scorer,
    make_rejection_scorer,
    roc_auc,
    roc_curve,
)


def test_rejection_hand_computed():
    # 10 background scores 0..9 (/10), 4 signal scores above 0.85 and below
    y = np.r_[np.zeros(10), np.ones(4)]
    score = np.r_[np.arange(10) / 10, [0.95, 0.92, 0.55, 0.05]]
    # eps_S = 0.5 needs threshold 0.92: no background above it -> infinite rejection
    assert background_rejection(y, score, signal_efficiency=0.5) == np.inf
    # eps_S = 0.75 at threshold 0.55: background 0.6, 0.7, 0.8, 0.9 pass -> eps_B = 0.4
    assert_allclose(background_rejection(y, score, signal_efficiency=0.75), 2.5)
    # several working points at once; eps_S = 1 keeps the 9 background scores >= 0.05
    assert_allclose(
        background_rejection(y, score, signal_efficiency=[0.75, 1.0]), [2.5, 10 / 9]
    )


def test_background_efficiency_is_finite_where_rejection_is_not():
    y = np.r_[np.zeros(10), np.ones(4)]
    score = np.r_[np.arange(10) / 10, [0.95, 0.92, 0.55, 0.05]]
    # the working points of the rejection test above, as efficiencies
    assert background_efficiency(y, score, signal_efficiency=0.5) == 0.0
    assert_allclose(
        background_efficiency(y, score, signal_efficiency=[0.75, 1.0]), [0.4, 0.9]
    )
    # eps_S = 0.625 lies halfway between the points (0.5, 0) and (0.75, 0.4)
    assert_allclose(background_efficiency(y, score, signal_efficiency=0.625), 0.2)
    # weights: doubling the weight of the passing background doubles its share
    w = np.r_[np.ones(6), 2 * np.ones(4), np.ones(4)]
    assert_allclose(
        background_efficiency(y, score, signal_efficiency=0.75, sample_weight=w),
        8 / 14,
    )
    # string labels with the signal named
    labels = np.where(y == 1, "top", "qcd")
    assert_allclose(
        background_efficiency(labels, score, signal_efficiency=0.75, pos_label="top"),
        0.4,
    )
    with pytest.raises(ValueError, match="signal_efficiency"):
        background_efficiency(y, score, signal_efficiency=1.5)


def _weighted_roc(y, score, w):
    """Brute force: (eps_S, eps_B) with the cut ``score >= t`` at every distinct t."""
    thresholds = np.unique(score)[::-1]
    passed = score[None, :] >= thresholds[:, None]
    eps_s = (passed * (w * (y == 1))).sum(axis=1) / w[y == 1].sum()
    eps_b = (passed * (w * (y == 0))).sum(axis=1) / w[y == 0].sum()
    return np.r_[0.0, eps_s], np.r_[0.0, eps_b], thresholds


def _weighted_auc(y, score, w):
    """P(signal score > background score) + P(equal) / 2, over weighted pairs."""
    s, b = score[y == 1], score[y == 0]
    ws, wb = w[y == 1], w[y == 0]
    pairs = ws[:, None] * wb[None, :]
    wins = (s[:, None] > b[None, :]) + 0.5 * (s[:, None] == b[None, :])
    return float((pairs * wins).sum() / pairs.sum())


@pytest.mark.parametrize("weighted", [False, True])
def test_roc_curve_and_auc_agree_with_sklearn(weighted):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    # rounded scores: many ties, within and across the classes
    score = np.round(y + rng.normal(0, 1, 500), 1)
    assert len(np.unique(score)) < 100
    w = rng.uniform(0.1, 3.0, 500) if weighted else None

    eps_s, eps_b, thr = roc_curve(y, score, sample_weight=w)
    fpr, tpr, sk_thr = sk_roc_curve(y, score, sample_weight=w, drop_intermediate=False)
    assert_allclose(eps_s, tpr, rtol=1e-12, atol=0)
    assert_allclose(eps_b, fpr, rtol=1e-12, atol=0)
    assert_array_equal(thr, sk_thr)
    # and both against the definition: one point per distinct score, ties together
    hand_s, hand_b, hand_thr = _weighted_roc(y, score, np.ones(500) if w is None else w)
    assert_allclose(eps_s, hand_s, rtol=1e-12, atol=1e-15)
    assert_allclose(eps_b, hand_b, rtol=1e-12, atol=1e-15)
    assert_array_equal(thr[1:], hand_thr)
    assert eps_s[-1] == 1.0
    assert eps_b[-1] == 1.0

    auc = roc_auc(y, score, sample_weight=w)
    assert_allclose(auc, roc_auc_score(y, score, sample_weight=w), rtol=1e-12)
    assert_allclose(
        auc, _weighted_auc(y, score, np.ones(500) if w is None else w), rtol=1e-12
    )
    assert 0.7 < auc < 0.8  # a real tagger, not a constant
    if weighted:  # the weights matter
        assert abs(auc - roc_auc_score(y, score)) > 1e-3

    # predict_proba output: the second column is the signal
    proba = np.stack([1 - score, score], axis=1)
    assert roc_auc(y, proba, sample_weight=w) == auc
    assert_array_equal(roc_curve(y, proba, sample_weight=w)[0], eps_s)
    # string labels, the signal named
    labels = np.where(y == 1, "top", "qcd")
    got = roc_curve(labels, score, pos_label="top", sample_weight=w)
    assert_allclose(got[0], tpr, rtol=1e-12, atol=0)
    assert_allclose(got[1], fpr, rtol=1e-12, atol=0)
    assert_allclose(
        roc_curve(labels, -score, pos_label="qcd", sample_weight=w)[0],
        sk_roc_curve(
            labels, -score, pos_label="qcd", sample_weight=w, drop_intermediate=False
        )[1],
        rtol=1e-12,
        atol=0,
    )
    assert_allclose(roc_auc(labels, score, sample_weight=w), auc, rtol=1e-12)


def test_roc_curve_default_signal_is_the_larger_string_label():
    y = np.r_[np.zeros(10), np.ones(4)]
    score = np.r_[np.arange(10) / 10, [0.95, 0.92, 0.55, 0.05]]
    labels = np.where(y == 1, "top", "qcd")
    for got, expected in zip(
        roc_curve(labels, score), roc_curve(y, score), strict=True
    ):
        assert_array_equal(got, expected)


def test_perfect_and_random_taggers():
    y = np.r_[np.zeros(1000), np.ones(1000)]
    assert roc_auc(y, y) == 1.0
    rng = np.random.default_rng(1)
    random_score = rng.random(2000)
    assert abs(roc_auc(y, random_score) - 0.5) < 0.05
    # a random tagger rejects 1/eps_S
    assert_allclose(
        background_rejection(y, random_score, signal_efficiency=0.3), 1 / 0.3, rtol=0.2
    )


def test_scorer_in_cross_validation():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int)
    scores = cross_val_score(
        LogisticRegression(), X, y, cv=3, scoring=background_rejection_scorer
    )
    assert np.all(scores > 5)
    loose = cross_val_score(
        LogisticRegression(), X, y, cv=3, scoring=make_rejection_scorer(0.9)
    )
    assert np.all(loose < scores)


@pytest.mark.parametrize(
    ("y", "score", "match"),
    [
        ([0, 1, 1], [0.1, 0.2], "y_true has 3 entries"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "exactly two classes"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "exactly two classes"),
        ([0, 1], [0.1, np.nan], "NaN"),
        ([0, 1], np.ones((2, 3)), "1-D"),
    ],
)
def test_bad_input(y, score, match):
    with pytest.raises(ValueError, match=match):
        roc_auc(y, score)


def test_bad_working_point():
    with pytest.raises(ValueError, match="signal_efficiency"):
        background_rejection([0, 1], [0.1, 0.9], signal_efficiency=0.0)


def test_bootstrap_metric_value_and_spread():
    from hepclf.metrics import bootstrap_metric

    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 2000)
    score = y + rng.normal(size=4000)
    value, std = bootstrap_metric(roc_auc, y, score, n_boot=200, random_state=0)
    assert value == roc_auc(y, score)
    # Hanley-McNeil standard error of an AUC of ~0.76 with 2000 + 2000 samples
    auc = value
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + 1999 * (q1 - auc**2) + 1999 * (q2 - auc**2)) / 4e6)
    assert_allclose(std, se, rtol=0.25)
    # same seed, same resamples; keyword arguments reach the metric
    assert bootstrap_metric(roc_auc, y, score, n_boot=50, random_state=1) == (
        bootstrap_metric(roc_auc, y, score, n_boot=50, random_state=1)
    )
    rej, rej_std = bootstrap_metric(
        background_rejection, y, score, signal_efficiency=0.5, random_state=0
    )
    assert rej == background_rejection(y, score, signal_efficiency=0.5)
    assert 0 < rej_std < rej


def test_bootstrap_metric_stratified_keeps_classes_and_flags_infinite():
    from hepclf.metrics import bootstrap_metric

    # a perfect tagger: every resample rejects all background -> infinite spread
    y = np.r_[np.zeros(5), np.ones(5)]
    value, std = bootstrap_metric(
        background_rejection, y, y.astype(float), n_boot=20, random_state=0
    )
    assert value == np.inf
    assert std == np.inf
    # a tiny sample: unstratified resamples may lose a class, stratified never do
    value, std = bootstrap_metric(roc_auc, [0, 1], [0.2, 0.8], n_boot=20)
    assert (value, std) == (1.0, 0.0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_metric(roc_auc, y, y, n_boot=1)


def test_bootstrap_difference_is_paired():
    from hepclf.metrics import bootstrap_difference, bootstrap_metric

    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 1000)
    a = y + rng.normal(size=2000)
    b = a + 0.5 * rng.normal(size=2000)  # a, blurred: strongly correlated
    diff, std = bootstrap_difference(roc_auc, y, a, b, n_boot=200, random_state=0)
    assert diff == pytest.approx(roc_auc(y, a) - roc_auc(y, b))
    _, std_a = bootstrap_metric(roc_auc, y, a, n_boot=200, random_state=0)
    _, std_b = bootstrap_metric(roc_auc, y, b, n_boot=200, random_state=0)
    # the shared fluctuations cancel: far below the unpaired combination
    assert 0 < std < 0.5 * np.hypot(std_a, std_b)
    assert diff > 3 * std  # the blurred tagger is measurably worse
    same, zero = bootstrap_difference(roc_auc, y, a, a, random_state=0)
    assert same == 0.0
    assert zero == 0.0


def test_bootstrap_difference_checks_its_input():
    from hepclf.metrics import bootstrap_difference

    y = np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match="y_score has 19"):
        bootstrap_difference(roc_auc, y, np.ones(20), np.ones(19))
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_difference(roc_auc, y, np.arange(20), np.arange(20), n_boot=1)
