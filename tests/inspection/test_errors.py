from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from hepclf.inspection import most_confused


class GivenProba(ClassifierMixin, BaseEstimator):
    """A classifier whose predict_proba is its input: the answers are known."""

    def __init__(self, classes=("e", "gamma", "mu")):
        self.classes = classes

    def fit(self, X=None, y=None):
        self.classes_ = np.asarray(self.classes)
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=float)


# rows: probabilities of (e, gamma, mu); y: the truth
PROBA = np.array(
    [
        [0.9, 0.1, 0.0],  # 0  e -> e
        [0.2, 0.8, 0.0],  # 1  e -> gamma (0.8)
        [0.4, 0.6, 0.0],  # 2  e -> gamma (0.6)
        [0.05, 0.95, 0.0],  # 3  e -> gamma (0.95)
        [0.7, 0.3, 0.0],  # 4  gamma -> e (0.7)
        [0.1, 0.9, 0.0],  # 5  gamma -> gamma
        [0.0, 0.45, 0.55],  # 6  gamma -> mu (0.55)
        [0.0, 0.0, 1.0],  # 7  mu -> mu
        [0.99, 0.0, 0.01],  # 8  gamma -> e (0.99)
    ]
)
Y = np.array(["e", "e", "e", "e", "gamma", "gamma", "gamma", "mu", "gamma"])


def test_pairs_sorted_by_confidence():
    clf = GivenProba().fit()
    confused = most_confused(clf, PROBA, Y)
    assert list(confused) == [("e", "gamma"), ("gamma", "e"), ("gamma", "mu")]
    assert_array_equal(confused["e", "gamma"], [3, 1, 2])
    assert_array_equal(confused["gamma", "e"], [8, 4])
    assert_array_equal(confused["gamma", "mu"], [6])
    assert all(type(k[0]) is str for k in confused)


def test_n_and_filters():
    clf = GivenProba().fit()
    assert_array_equal(most_confused(clf, PROBA, Y, n=2)["e", "gamma"], [3, 1])
    only = most_confused(clf, PROBA, Y, true="gamma")
    assert list(only) == [("gamma", "e"), ("gamma", "mu")]
    assert list(most_confused(clf, PROBA, Y, predicted="e")) == [("gamma", "e")]
    assert most_confused(clf, PROBA, Y, true="mu") == {}
    everything = most_confused(clf, PROBA, Y, n=None)
    assert sum(len(v) for v in everything.values()) == 6


def test_nothing_wrong_gives_an_empty_dict():
    clf = GivenProba().fit()
    right = PROBA.argmax(axis=1)
    assert most_confused(clf, PROBA, clf.classes_[right]) == {}


def test_through_a_pipeline():
    pipe = make_pipeline(FunctionTransformer(lambda a: a / 2), GivenProba()).fit(
        PROBA, Y
    )
    assert_array_equal(most_confused(pipe, PROBA, Y)["e", "gamma"], [3, 1, 2])


def test_bad_input():
    clf = GivenProba().fit()
    with pytest.raises(ValueError, match="most_confused: unknown true class 'pi'"):
        most_confused(clf, PROBA, Y, true="pi")
    with pytest.raises(ValueError, match="unknown predicted class"):
        most_confused(clf, PROBA, Y, predicted="pi")
    with pytest.raises(ValueError, match=r"one label per sample \(9\)"):
        most_confused(clf, PROBA, Y[:5])
    with pytest.raises(ValueError, match="n must be a positive integer"):
        most_confused(clf, PROBA, Y, n=0)
    with pytest.raises(NotFittedError, match="most_confused: this GivenProba"):
        most_confused(GivenProba(), PROBA, Y)
