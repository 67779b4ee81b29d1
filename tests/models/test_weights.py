from __future__ import annotations

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from hepclf import CNNClassifier

from .conftest import TINY, make_blob_images

torch = pytest.importorskip("torch")
F = torch.nn.functional


def tiny(**kwargs):
    params = {"max_epochs": 5, "batch_size": 32, "random_state": 0, **TINY, **kwargs}
    return CNNClassifier(**params)


def test_unit_weights_match_unweighted(blobs):
    X, y = blobs
    a = tiny(max_epochs=2).fit(X, y).predict_proba(X)
    b = (
        tiny(max_epochs=2)
        .fit(X, y, sample_weight=np.full(len(y), 3.0))
        .predict_proba(X)
    )
    assert_allclose(a, b, atol=1e-5)


def test_zero_weight_removes_mislabelled_samples():
    X, y = make_blob_images(n=600, seed=3)
    y_noisy = y.copy()
    bad = np.arange(len(y)) % 2 == 0
    y_noisy[bad] = 1 - y_noisy[bad]  # half the labels flipped: no information left
    X_test, y_test = make_blob_images(n=300, seed=4)
    weighted = tiny().fit(X, y_noisy, sample_weight=(~bad).astype(float))
    unweighted = tiny().fit(X, y_noisy)
    p_weighted = weighted.predict_proba(X_test)[:, 1]
    p_unweighted = unweighted.predict_proba(X_test)[:, 1]
    assert roc_auc_score(y_test, p_weighted) > 0.95
    # confident where the weights removed the noise, unsure where they did not
    assert np.abs(p_weighted - 0.5).mean() > 0.3
    assert np.abs(p_unweighted - 0.5).mean() < 0.15


def test_class_weight_balanced_shifts_decisions():
    X, y = make_blob_images(n=600, seed=5)
    keep = (y == 0) | (np.arange(len(y)) % 10 == 0)  # 10:1 imbalance
    X, y = X[keep], y[keep]
    # the blobs are blurred into noise so the classes overlap
    X = X + np.random.default_rng(0).normal(0, 1.5, X.shape).astype(np.float32)
    plain = tiny(max_epochs=3).fit(X, y).predict_proba(X)[:, 1].mean()
    balanced = (
        tiny(max_epochs=3, class_weight="balanced")
        .fit(X, y)
        .predict_proba(X)[:, 1]
        .mean()
    )
    assert balanced > plain
    by_dict = tiny(max_epochs=3, class_weight={0: 1.0, 1: 10.0}).fit(X, y)
    assert by_dict.predict_proba(X)[:, 1].mean() > plain


def test_negative_weights_and_errors(blobs):
    X, y = blobs
    w = np.ones(len(y))
    w[:10] = -0.5  # NLO-style negative weights are fine
    # one batch, lr=0: the recorded loss is the weighted mean of the per-sample
    # losses of the initial network, negative weights with their sign
    clf = tiny(max_epochs=1, lr=0.0, batch_size=len(y)).fit(X, y, sample_weight=w)
    loss = clf.history[-1, "train_loss"]
    clf.module_.train()  # as in training: BatchNorm on the batch's statistics
    with torch.no_grad():
        logits = clf.module_(torch.from_numpy(X))
    per_sample = F.cross_entropy(logits, torch.from_numpy(y), reduction="none")
    per_sample = per_sample.double().numpy()
    assert loss == pytest.approx(np.mean(w / w.mean() * per_sample), rel=1e-5)
    assert loss != pytest.approx(np.mean(np.abs(w) / w.mean() * per_sample), rel=1e-3)
    with pytest.raises(ValueError, match="positive sum"):
        tiny(max_epochs=1).fit(X, y, sample_weight=-w)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        tiny(max_epochs=1).fit(X, y, sample_weight=w[:5])
    with pytest.raises(ValueError, match="NaN"):
        tiny(max_epochs=1).fit(X, y, sample_weight=np.full(len(y), np.nan))
    with pytest.raises(ValueError, match="unknown classes"):
        tiny(max_epochs=1, class_weight={7: 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="'class_weight' parameter"):
        tiny(max_epochs=1, class_weight="heavy").fit(X, y)


def test_sample_weight_with_validation_split(blobs):
    from skorch.dataset import ValidSplit

    X, y = blobs
    clf = tiny(max_epochs=2, train_split=ValidSplit(4, stratified=True))
    clf.fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
    assert "valid_loss" in clf.history_[-1]


def test_pipeline_routes_sample_weight(blobs):
    X, y = blobs
    w = np.ones(len(y))
    w[y == 1] = 0.0  # all signal ignored -> everything looks like background
    identity = FunctionTransformer()
    pipe = make_pipeline(identity, tiny(max_epochs=2))
    pipe.fit(X, y, cnnclassifier__sample_weight=w + 1e-3)
    assert pipe.predict_proba(X)[:, 1].mean() < 0.2
    with sklearn.config_context(enable_metadata_routing=True):
        clf = tiny(max_epochs=2).set_fit_request(sample_weight=True)
        routed = make_pipeline(FunctionTransformer(), clf).fit(
            X, y, sample_weight=w + 1e-3
        )
        assert routed.predict_proba(X)[:, 1].mean() < 0.2
