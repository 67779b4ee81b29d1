from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from hepclf import CNNRegressor, EventImager, load_model, save_model
from hepclf.models import ResNet

from .._events import random_events
from .conftest import TINY

torch = pytest.importorskip("torch")


def tiny(**kwargs):
    params = {
        "max_epochs": 20,
        "lr": 3e-3,
        "batch_size": 32,
        "random_state": 0,
        **TINY,
        **kwargs,
    }
    return CNNRegressor(**params)


def brightness_images(n=400, size=8, seed=0):
    """Noise images of random overall brightness; target: linear in their sum."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, size, size)) * rng.uniform(0.2, 2.0, (n, 1, 1, 1))
    X = X.astype(np.float32)
    total = X.sum(axis=(1, 2, 3), dtype=np.float64)
    return X, 3.0 * total + 5.0


@pytest.fixture(scope="module")
def toy():
    return brightness_images()


@pytest.fixture(scope="module")
def fitted(toy):
    X, y = toy
    return tiny().fit(X[:300], y[:300])


def test_learns_a_linear_function_of_intensity(fitted, toy):
    X, y = toy
    pred = fitted.predict(X[300:])
    assert pred.shape == (100,)
    assert pred.dtype == np.float64
    assert r2_score(y[300:], pred) > 0.9
    assert fitted.score(X[300:], y[300:]) == pytest.approx(r2_score(y[300:], pred))
    assert fitted.n_outputs_ == 1
    assert fitted.module_.classifier[-1].out_features == 1
    assert not hasattr(fitted, "predict_proba")


def test_standardised_targets_give_predictions_in_the_units_of_y(fitted, toy):
    # the network sees the same standardised targets whatever the units, so
    # the model is the same and only the de-standardisation differs
    X, y = toy
    in_mev = tiny().fit(X[:300], 1000.0 * y[:300] - 7.0)
    assert_allclose(in_mev.target_mean_, 1000.0 * fitted.target_mean_ - 7.0)
    assert_allclose(in_mev.target_scale_, 1000.0 * fitted.target_scale_)
    assert_allclose(
        in_mev.predict(X[300:]), 1000.0 * fitted.predict(X[300:]) - 7.0, rtol=1e-4
    )
    raw = tiny(standardize_target=False, max_epochs=1).fit(X[:300], y[:300])
    assert_array_equal(raw.target_mean_, [0.0])
    assert_array_equal(raw.target_scale_, [1.0])


def test_multi_output_targets(toy):
    X, y = toy
    Y = np.stack([y, -2.0 * y + 1.0], axis=1)
    reg = tiny().fit(X[:300], Y[:300])
    pred = reg.predict(X[300:])
    assert pred.shape == (100, 2)
    assert reg.n_outputs_ == 2
    assert reg.module_.classifier[-1].out_features == 2
    assert r2_score(Y[300:], pred, multioutput="raw_values").min() > 0.9
    # y of shape (n, 1) gives predictions of shape (n, 1)
    column = tiny(max_epochs=1).fit(X[:100], y[:100, None])
    assert column.predict(X[:5]).shape == (5, 1)


def test_module_by_class_gets_the_output_count(toy):
    X, y = toy
    reg = CNNRegressor(
        ResNet, max_epochs=1, module__blocks=(1,), module__base_filters=4
    ).fit(X[:64], np.stack([y, y, y], axis=1)[:64])
    assert reg.module_.fc.out_features == 3
    assert reg.predict(X[:4]).shape == (4, 3)


def test_reproducible_with_random_state(toy):
    X, y = toy
    a = tiny(max_epochs=2).fit(X[:200], y[:200]).predict(X[200:])
    b = tiny(max_epochs=2).fit(X[:200], y[:200]).predict(X[200:])
    assert_array_equal(a, b)


def test_sample_weight_zero_ignores_samples(toy):
    X, y = toy
    corrupted = y[:300].copy()
    corrupted[::3] += 50.0  # wrong targets, weighted out
    weight = np.ones(300)
    weight[::3] = 0.0
    reg = tiny().fit(X[:300], corrupted, sample_weight=weight)
    assert r2_score(y[300:], reg.predict(X[300:])) > 0.9
    assert abs(np.mean(reg.predict(X[300:]) - y[300:])) < 3.0
    # unweighted, a third of the targets pull the predictions up by 50 / 3
    unweighted = tiny().fit(X[:300], corrupted)
    assert np.mean(unweighted.predict(X[300:]) - y[300:]) > 10.0


def test_multi_output_sample_weight_broadcasts(toy):
    X, y = toy
    Y = np.stack([y, y], axis=1)[:64]
    plain = tiny(max_epochs=2).fit(X[:64], Y)
    ones = tiny(max_epochs=2).fit(X[:64], Y, sample_weight=np.full(64, 2.0))
    assert_allclose(ones.predict(X[:64]), plain.predict(X[:64]), rtol=1e-5)


def test_joblib_and_save_model_round_trips(fitted, toy, tmp_path):
    X, _ = toy
    expected = fitted.predict(X)
    joblib.dump(fitted, tmp_path / "reg.joblib")
    assert_array_equal(joblib.load(tmp_path / "reg.joblib").predict(X), expected)
    save_model(fitted, tmp_path / "reg.hepclf")
    loaded = load_model(tmp_path / "reg.hepclf")
    assert isinstance(loaded, CNNRegressor)
    assert_array_equal(loaded.predict(X), expected)
    assert loaded.get_params()["lr"] == fitted.get_params()["lr"]


def test_multi_output_save_model_round_trip(toy, tmp_path):
    X, y = toy
    reg = tiny(max_epochs=1).fit(X[:64], np.stack([y, -y], axis=1)[:64])
    save_model(reg, tmp_path / "reg.hepclf")
    assert_array_equal(load_model(tmp_path / "reg.hepclf").predict(X), reg.predict(X))


@pytest.fixture(scope="module")
def events():
    X = random_events(240, k=8, seed=1, eta_sigma=1.0)
    return X, X[..., 1].sum(axis=1)  # target: the scalar sum of the objects' pT


def test_pipeline_cross_val_score_r2(events):
    X, y = events
    pipe = make_pipeline(EventImager(npix=8, engine="numpy"), tiny())
    scores = cross_val_score(
        pipe, X, y, cv=KFold(3, shuffle=True, random_state=0), scoring="r2"
    )
    assert scores.shape == (3,)
    assert scores.min() > 0.5


def test_pipeline_grid_search(events):
    X, y = events
    pipe = make_pipeline(EventImager(npix=8, engine="numpy"), tiny(max_epochs=3))
    search = GridSearchCV(
        pipe,
        {"cnnregressor__lr": [1e-6, 3e-3]},
        cv=KFold(2, shuffle=True, random_state=0),
        scoring="r2",
    ).fit(X, y)
    # a learning rate of 1e-6 leaves the network where it started
    assert search.best_params_ == {"cnnregressor__lr": 3e-3}
    assert search.predict(X).shape == (len(X),)


def test_clone_and_params(fitted):
    params = fitted.get_params()
    assert params["standardize_target"] is True
    assert params["module__pool_size"] == 2
    copy = clone(fitted)
    assert not hasattr(copy, "n_outputs_")
    assert copy.get_params()["module__dense"] == (16,)
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 1, 8, 8), np.float32))
    copy.set_params(standardize_target=False, augment_noise=0.1)
    assert copy.standardize_target is False
    assert copy.augment_noise == 0.1


def test_validation_split(toy):
    from skorch.dataset import ValidSplit

    X, y = toy
    reg = tiny(max_epochs=2, train_split=ValidSplit(4)).fit(X[:100], y[:100])
    assert np.isfinite(reg.history[:, "valid_loss"]).all()


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.r_[np.ones(10), np.nan, np.ones(9)], r"NaN or inf \(sample 10"),
        (np.ones((20, 2, 2)), "1-D .* or 2-D"),
        (np.ones(19), "20 samples but y has 19"),
        (np.array(["a"] * 20), "numeric"),
        (None, "required"),
    ],
)
def test_bad_targets(y, match):
    X = np.zeros((20, 1, 8, 8), np.float32)
    with pytest.raises(ValueError, match=match):
        tiny().fit(X, y)


def test_bad_parameters_and_input(fitted, toy):
    X, y = toy
    with pytest.raises(InvalidParameterError, match="standardize_target"):
        tiny(standardize_target="yes").fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="fitted on 1 channel"):
        fitted.predict(np.zeros((2, 1, 9, 9), np.float32))
    with pytest.raises(ValueError, match="2 output"):
        fitted.partial_fit(X[:20], np.stack([y, y], axis=1)[:20])


def test_export_onnx_computes_predict(fitted, toy, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from hepclf.export import export_onnx, read_metadata

    X, _ = toy
    path = tmp_path / "regressor.onnx"
    export_onnx(fitted, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["predictions"]
    got = session.run(None, {"images": X[300:]})[0]
    assert got.shape == (100, 1)
    # in the target's units (about 3 * 32 + 5 here), not standardised
    assert_allclose(got[:, 0], fitted.predict(X[300:]), rtol=1e-5, atol=1e-3)
    assert got.mean() > 50
    meta = read_metadata(path)
    assert meta["estimator"] == "CNNRegressor"
    assert meta["n_outputs"] == 1
    assert "classes" not in meta


def test_export_onnx_multi_output_pipeline(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from hepclf import JetImager
    from hepclf.datasets import load_top_tagging
    from hepclf.export import export_onnx

    X, _ = load_top_tagging(split="val")
    X = X[:120]
    pt = np.hypot(X[..., 1], X[..., 2]).sum(axis=1)
    y = np.stack([pt, 0.01 * pt**2], axis=1)  # two outputs on different scales
    pipe = make_pipeline(JetImager(npix=12), tiny(max_epochs=2)).fit(X, y)
    model = export_onnx(pipe, tmp_path / "pipe.onnx")
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, {session.get_inputs()[0].name: X[:40]})[0]
    expected = pipe.predict(X[:40])
    assert got.shape == expected.shape == (40, 2)
    scale = pipe[-1].target_scale_
    assert np.abs((got - expected) / scale).max() < 1e-4
