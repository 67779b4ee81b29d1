"""The event chain, EventImager -> CNNClassifier, on three separable toy processes."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, EventImager, load_model, save_model
from hepclf.imaging import OBJECT_TYPES as T

pytest.importorskip("torch")

CLASSES = np.array(["dy", "ttbar", "wjets"])


def toy_events(n_per_class=120, seed=0):
    """Three processes a physicist tells apart by eye on the event image.

    ``dy``: one lepton and a soft MET; ``ttbar``: a lepton, two b-jets and two
    jets; ``wjets``: a lepton back to back with a hard MET. Directions are
    random, pT values smeared.
    """
    rng = np.random.default_rng(seed)
    events, labels = [], []
    for label in CLASSES:
        for _ in range(n_per_class):
            lepton = rng.choice([T["electron"], T["muon"]])
            phi = rng.uniform(-np.pi, np.pi)
            rows = [[lepton, rng.uniform(25, 60), rng.uniform(-2, 2), phi]]
            if label == "dy":
                rows.append([T["met"], rng.uniform(2, 10), 0.0, rng.uniform(-3, 3)])
            elif label == "ttbar":
                for kind in ("bjet", "bjet", "jet", "jet"):
                    rows.append(
                        [
                            T[kind],
                            rng.uniform(40, 120),
                            rng.uniform(-2, 2),
                            rng.uniform(-3, 3),
                        ]
                    )
                rows.append([T["met"], rng.uniform(20, 60), 0.0, rng.uniform(-3, 3)])
            else:
                met_phi = np.angle(np.exp(1j * (phi + np.pi)))
                rows.append([T["met"], rng.uniform(40, 80), 0.0, met_phi])
            events.append(np.array(rows))
            labels.append(label)
    X = np.zeros((len(events), 6, 4))
    for i, rows in enumerate(events):
        X[i, : len(rows)] = rows
    order = rng.permutation(len(X))
    return X[order], np.array(labels)[order]


def small_pipeline(npix=16, **clf):
    params = {
        "max_epochs": 6,
        "batch_size": 32,
        "random_state": 0,
        "lr": 1e-2,
        "module__batch_norm": True,
        "module__conv_blocks": ((8,), (8,)),
        "module__dense": (16,),
        "module__dropout": 0.0,
        **clf,
    }
    return make_pipeline(EventImager(npix=npix), CNNClassifier(**params))


@pytest.fixture(scope="module")
def events():
    return toy_events()


def test_cross_val_score_accuracy_and_roc_auc_ovr(events):
    X, y = events
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    accuracy = cross_val_score(small_pipeline(), X, y, scoring="accuracy", cv=cv)
    assert np.all(accuracy > 0.8), accuracy  # chance: 1/3
    auc = cross_val_score(small_pipeline(), X, y, scoring="roc_auc_ovr", cv=cv)
    assert np.all(auc > 0.9), auc


def test_grid_search_over_imager_and_classifier(events):
    X, y = events
    grid = {"eventimager__npix": [12, 16], "cnnclassifier__lr": [3e-3, 1e-2]}
    search = GridSearchCV(
        small_pipeline(max_epochs=3), grid, scoring="accuracy", cv=2
    ).fit(X, y)
    assert set(search.cv_results_["params"][0]) == set(grid)
    assert search.best_estimator_.predict(X[:5]).dtype == y.dtype
    assert search.best_score_ > 0.6


def test_joblib_and_save_model_round_trips(events, tmp_path):
    X, y = events
    pipe = small_pipeline(max_epochs=2).fit(X, y)
    proba = pipe.predict_proba(X)
    assert_array_equal(pipe.classes_, CLASSES)
    joblib.dump(pipe, tmp_path / "events.joblib")
    assert_array_equal(joblib.load(tmp_path / "events.joblib").predict_proba(X), proba)
    path = save_model(pipe, tmp_path / "events.hepclf")
    loaded = load_model(path)
    assert_allclose(loaded.predict_proba(X), proba, rtol=1e-6)
    assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_sample_weight_reaches_the_network_through_the_pipeline(events):
    """Events of weight 0 do not count: a class weighted away is never predicted."""
    X, y = events
    weight = np.where(y == "wjets", 0.0, 1.0)
    weighted = small_pipeline().fit(X, y, cnnclassifier__sample_weight=weight)
    unweighted = small_pipeline().fit(X, y)
    assert np.mean(unweighted.predict(X) == "wjets") > 0.25
    assert np.mean(weighted.predict(X) == "wjets") < 0.05
