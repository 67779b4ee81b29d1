"""The whole chain, JetImager -> CNNClassifier, on the bundled top-tagging sample."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, JetImager
from hepclf.metrics import background_rejection_scorer

pytest.importorskip("torch")


def small_pipeline(npix=24, **clf):
    params = {"max_epochs": 4, "batch_size": 64, "random_state": 0, **clf}
    return make_pipeline(JetImager(npix=npix), CNNClassifier(**params))


def test_cross_val_score_roc_auc(top_sample):
    X, y = top_sample
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(small_pipeline(), X, y, scoring="roc_auc", cv=cv)
    assert scores.shape == (3,)
    assert np.all(scores > 0.8), scores
    rejection = cross_val_score(
        small_pipeline(), X, y, scoring=background_rejection_scorer, cv=cv
    )
    assert np.all(rejection > 5), rejection


def test_grid_search_over_imager_and_classifier(top_sample):
    X, y = top_sample
    grid = {"jetimager__npix": [16, 24], "cnnclassifier__lr": [1e-3, 3e-3]}
    search = GridSearchCV(
        small_pipeline(max_epochs=3), grid, scoring="roc_auc", cv=2
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.8
    best = search.best_estimator_
    assert best[-1].image_shape_ == (best[0].npix,) * 2
    assert best.predict_proba(X[:5]).shape == (5, 2)


def test_pipeline_joblib_round_trip(top_sample, tmp_path):
    X, y = top_sample
    pipe = small_pipeline(max_epochs=2).fit(X, y)
    joblib.dump(pipe, tmp_path / "tagger.joblib")
    loaded = joblib.load(tmp_path / "tagger.joblib")
    assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert_array_equal(loaded.predict(X), pipe.predict(X))
