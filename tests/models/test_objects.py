"""The object transformer and CNNClassifier on event objects (no image)."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import accuracy_score

from hepclf import CNNClassifier, EventImager, load_model, save_model
from hepclf.models import ObjectTransformer
from hepclf.models._objects import object_features, object_pair_features

from ..substructure.test_event_features import BJET, JET, MET, MU, E, toy_events

# (tests/models/conftest.py skips the whole folder without torch)
torch = pytest.importorskip("torch")

#: a small, fast object transformer for tests
SMALL = {
    "module__dim": 16,
    "module__n_heads": 2,
    "module__n_layers": 1,
    "module__n_class_layers": 1,
    "module__pair_dim": 8,
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # so small a network gains nothing from threads, which only contend for
    # the cores of a busy machine (a 20x slowdown seen on 2 shared cores)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_net(**kwargs):
    params = {k.removeprefix("module__"): v for k, v in SMALL.items()}
    return ObjectTransformer(n_classes=3, **{**params, **kwargs}).eval()


def t(X):
    return torch.tensor(np.asarray(X), dtype=torch.float32)


# -- features by hand ---------------------------------------------------------------
def test_object_features_by_hand():
    x = t([[[MU, 40.0, 0.5, 1.0], [MET, 60.0, 7.0, -2.0], [0, 0, 0, 0]]])
    feats = object_features(x)
    assert feats.shape == (1, 3, 5)
    log_pt, eta, sin_phi, cos_phi, log_frac = feats[0, 0].tolist()
    assert log_pt == pytest.approx(np.log(40.0) - 4.0, abs=1e-6)
    assert eta == pytest.approx(0.25)  # scaled by 0.5
    assert (sin_phi, cos_phi) == pytest.approx((np.sin(1.0), np.cos(1.0)))
    assert log_frac == pytest.approx(np.log(0.4) + 1.5, abs=1e-6)
    assert feats[0, 1, 1].item() == 0.0  # MET has no eta
    assert_array_equal(feats[0, 2], 0.0)  # padding


def test_pair_features_by_hand_across_the_wrap():
    x = t(
        [
            [
                [E, 30.0, 0.4, 3.0],
                [JET, 50.0, 0.0, -3.0],  # dphi = 2 pi - 6 across +-pi
                [MET, 20.0, 5.0, 1.0],
                [0, 0, 0, 0],
            ]
        ]
    )
    out = object_pair_features(x)
    assert out.shape == (1, 3, 4, 4)
    dphi = 2 * np.pi - 6.0
    log_dr, log_m2, log_z = out[0, :, 0, 1].tolist()
    assert log_dr == pytest.approx(np.log(np.hypot(0.4, dphi)), rel=1e-5)
    m2 = 2 * 30 * 50 * (np.cosh(0.4) - np.cos(dphi))
    assert log_m2 == pytest.approx(np.log(m2), rel=1e-5)
    assert log_z == pytest.approx(np.log(30 / 80), rel=1e-5)
    # with MET: Delta eta = 0, so Delta R = |Delta phi| and m^2 = mT^2
    log_dr, log_m2, _ = out[0, :, 0, 2].tolist()
    assert log_dr == pytest.approx(np.log(2.0), rel=1e-5)
    assert log_m2 == pytest.approx(np.log(2 * 30 * 20 * (1 - np.cos(2.0))), rel=1e-5)
    assert_allclose(out[0, :, 0, 1], out[0, :, 1, 0])  # symmetric
    assert_array_equal(out[0, :, 3], 0.0)  # padding
    assert_array_equal(out[0, :, :, 3], 0.0)


# -- invariances ----------------------------------------------------------------------
def test_output_ignores_object_order_and_padding():
    X, _ = toy_events(n=16, seed=3)
    x = t(X)
    net = small_net()
    with torch.no_grad():
        ref = net(x)
        shuffled = net(x[:, torch.randperm(x.shape[1])])
        padded = net(torch.cat([torch.zeros(16, 4, 4), x, torch.zeros(16, 3, 4)], 1))
        one_by_one = torch.cat([net(x[i : i + 1]) for i in range(16)])
    assert ref.shape == (16, 3)
    assert_allclose(shuffled, ref, atol=1e-5)
    assert_allclose(padded, ref, atol=1e-5)
    assert_allclose(one_by_one, ref, atol=1e-5)
    # a different event does change the output
    assert (ref[0] - ref[1]).abs().max().item() > 1e-3


def test_the_type_embedding_matters():
    x = t([[[JET, 50.0, 0.0, 0.0], [MET, 30.0, 0.0, 2.0]]])
    tagged = x.clone()
    tagged[0, 0, 0] = BJET
    net = small_net()
    with torch.no_grad():
        assert (net(x) - net(tagged)).abs().max().item() > 1e-4


def test_pair_features_bias_the_attention(monkeypatch):
    from hepclf.models import _objects

    X, _ = toy_events(n=8, seed=4)
    x = t(X)
    for use_pairs in (True, False):
        net = small_net(pair_features=use_pairs)
        with torch.no_grad():
            ref = net(x)
            monkeypatch.setattr(
                _objects,
                "object_pair_features",
                lambda x: torch.ones(x.shape[0], 3, x.shape[1], x.shape[1]),
            )
            changed = net(x)
            monkeypatch.undo()
        if use_pairs:
            assert (changed - ref).abs().max().item() > 1e-4
        else:
            assert_array_equal(changed, ref)


def test_empty_events_give_finite_outputs_and_gradients():
    X, y = toy_events(n=8, seed=5)
    X[:3] = 0.0  # three events without any object
    x = t(X)
    net = small_net()
    net.train()
    out = net(x)
    assert torch.isfinite(out).all()
    assert_allclose(out[0].detach(), out[1].detach())  # nothing to tell them apart
    torch.nn.functional.cross_entropy(out, torch.tensor(y)).backward()
    for name, param in net.named_parameters():
        assert param.grad is None or torch.isfinite(param.grad).all(), name
    with torch.no_grad():
        assert torch.isfinite(net.eval()(torch.zeros(2, 1, 4))).all()


def test_no_attention_row_is_fully_masked(monkeypatch):
    # torch's fused attention returns zeros for a row whose logits are all
    # -inf, but a plain softmax gives NaN: every row must keep a finite logit
    from types import SimpleNamespace

    from hepclf.models import _particle

    def plain_attention(q, k, v, attn_mask, dropout_p):
        logits = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5 + attn_mask
        return torch.softmax(logits, dim=-1) @ v

    monkeypatch.setattr(
        _particle, "F", SimpleNamespace(scaled_dot_product_attention=plain_attention)
    )
    X, _ = toy_events(n=6, seed=7)
    X[:2] = 0.0
    with torch.no_grad():
        assert torch.isfinite(small_net()(t(X))).all()


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="n_heads=3 must divide dim=16"):
        ObjectTransformer(dim=16, n_heads=3)


# -- through CNNClassifier ----------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    X, y = toy_events(n=240, seed=0)
    clf = CNNClassifier(
        "object_transformer", max_epochs=4, batch_size=16, random_state=0, **SMALL
    )
    return clf.fit(X, np.array(["ttbar", "wjets", "dy"])[y])


def test_learns_toy_processes_and_round_trips(fitted, tmp_path):
    X, y = toy_events(n=300, seed=1)
    labels = np.array(["ttbar", "wjets", "dy"])[y]
    assert isinstance(fitted.module_, ObjectTransformer)
    assert (fitted.n_channels_, fitted.image_shape_) == (4, (10,))
    assert accuracy_score(labels, fitted.predict(X)) > 0.8  # chance: 1/3
    proba = fitted.predict_proba(X)
    joblib.dump(fitted, tmp_path / "objects.joblib")
    assert_array_equal(joblib.load(tmp_path / "objects.joblib").predict_proba(X), proba)
    loaded = load_model(save_model(fitted, tmp_path / "objects.hepclf"))
    assert isinstance(loaded.module_, ObjectTransformer)
    assert_array_equal(loaded.predict_proba(X), proba)
    # any number of object slots at prediction time: padding is masked
    wider = np.concatenate([X, np.zeros((len(X), 5, 4))], axis=1)
    assert_allclose(fitted.predict_proba(wider), proba, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ((4, 0, 0, 9.0), r"unknown object type code 9 in event 4"),
        ((4, 0, 1, -5.0), r"negative transverse momentum in event 4"),
        ((4, 9, 1, 3.0), r"a padding row \(type 0\) has non-zero pT in event 4"),
    ],
)
def test_bad_objects_are_named_like_event_imager(change, match):
    X, y = toy_events(n=8, seed=6)
    X[4, 0], X[4, 9] = (MU, 30.0, 0.0, 0.0), 0.0
    i, j, k, value = change
    X[i, j, k] = value
    clf = CNNClassifier("object_transformer", max_epochs=1, **SMALL)
    with pytest.raises(ValueError, match=f"^CNNClassifier: {match}"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=f"^EventImager: {match}"):
        EventImager().transform(X)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((8, 10, 3), r"expected 4 or 5 features per object \(type, pt, eta, phi"),
        ((8, 10, 6), r"expected 4 or 5 features per object .* got 6"),
        ((8, 1, 16, 16), r"takes event objects of shape \(n_samples, n_objects, 4"),
    ],
)
def test_wrong_shapes(shape, match):
    X = np.zeros(shape)
    clf = CNNClassifier("object_transformer", max_epochs=1, **SMALL)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, np.arange(8) % 3)


def test_prediction_checks_the_fitted_feature_count(fitted):
    X, _ = toy_events(n=5)
    extra = np.concatenate([X, np.zeros((5, 10, 1))], axis=-1)
    with pytest.raises(ValueError, match=r"5 features per object but .* fitted on 4"):
        fitted.predict(extra)
    X[2, 0, 0] = 11.0
    with pytest.raises(ValueError, match="unknown object type code 11 in event 2"):
        fitted.predict(X)


def test_onnx_export_refuses_object_models(fitted):
    pytest.importorskip("onnx")
    from hepclf import export_onnx
    from hepclf.export import OnnxExportError

    with pytest.raises(OnnxExportError, match="object-level networks take lists"):
        export_onnx(fitted, "unused.onnx")
