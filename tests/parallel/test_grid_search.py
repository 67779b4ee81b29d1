"""Grid search on a Dask cluster through joblib's Dask backend."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, JetImager

from .conftest import TINY

pytest.importorskip("distributed")
torch = pytest.importorskip("torch")


def _search():
    pipe = make_pipeline(
        JetImager(npix=16),
        CNNClassifier(max_epochs=1, batch_size=64, random_state=0, **TINY),
    )
    grid = {"cnnclassifier__lr": [1e-3, 3e-3]}
    return GridSearchCV(pipe, grid, scoring="roc_auc", cv=2, n_jobs=-1)


def test_grid_search_on_dask_matches_local_run(client, top_sample):
    X, y = top_sample
    X, y = X[:400], y[:400]
    with joblib.parallel_config(backend="dask"):
        remote = _search().fit(X, y)
    # the same search here, with the workers' torch thread count
    from hepclf.parallel import limit_torch_threads

    before = limit_torch_threads(1)
    try:
        local = _search().set_params(n_jobs=1).fit(X, y)
    finally:
        limit_torch_threads(before)
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        assert_allclose(remote.cv_results_[key], local.cv_results_[key], atol=1e-6)
    assert remote.best_score_ > 0.6  # learns something in one epoch
    # the refitted best model came back to this process and predicts here
    proba = remote.predict_proba(X[:10])
    assert proba.shape == (10, 2)
    assert_allclose(proba, local.predict_proba(X[:10]), atol=1e-5)
    assert np.isfinite(proba).all()
