"""The particle-level network and CNNClassifier on constituent sequences."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, ConstituentSequencer, load_model, save_model
from hepclf.models import ParticleTransformer, _particle
from hepclf.models._particle import pair_features, particle_features

from .._kinematics import p4
from .conftest import SMALL, prong_jets

# (tests/models/conftest.py skips the whole folder without torch)
torch = pytest.importorskip("torch")


def test_pair_features_by_hand():
    momenta = torch.from_numpy(p4([10.0, 30.0, 0.0], 0.0, [0.0, 0.5, 0.0]))[None]
    mask = torch.tensor([[True, True, False]])
    out = pair_features(momenta, mask)
    assert out.shape == (1, 4, 3, 3)
    log_kt, log_z, log_delta, log_m2 = out[0, :, 0, 1].tolist()
    assert log_delta == pytest.approx(np.log(0.5))
    assert log_kt == pytest.approx(np.log(10.0 * 0.5))
    assert log_z == pytest.approx(np.log(0.25))
    assert log_m2 == pytest.approx(np.log(2 * 10.0 * 30.0 * (1 - np.cos(0.5))))
    assert_allclose(out[0, :, 0, 1], out[0, :, 1, 0])  # symmetric
    assert_array_equal(out[0, :, 2], 0.0)  # padding
    assert_array_equal(out[0, :, :, 2], 0.0)


def test_input_gradients_are_finite():
    # attributions (saliency) differentiate the output with respect to the
    # constituents; a particle paired with itself, or padding with padding, has
    # Delta = 0, where hypot's gradient is 0/0
    X, _ = prong_jets(n=4)
    x = torch.tensor(ConstituentSequencer(max_particles=12).fit_transform(X))
    assert (x.abs().sum(-1) == 0).any()  # some padding
    x.requires_grad_(True)
    _small_net()(x)[:, 1].sum().backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad != 0).any()


def test_particle_features_by_hand():
    momenta = torch.from_numpy(p4([50.0, 50.0, 0.0], 0.0, [0.1, -0.1, 0.0]))[None]
    feats = particle_features(momenta, torch.tensor([[True, True, False]]))
    delta_eta, delta_phi, _, _, log_pt_frac, _, delta_r = feats[0, 0].tolist()
    assert delta_eta == pytest.approx(0.0, abs=1e-12)
    assert delta_phi == pytest.approx(0.1)
    # jet pT = 100 cos(0.1); fractions are shifted by 4.7 and scaled by 0.7
    assert log_pt_frac == pytest.approx((np.log(0.5 / np.cos(0.1)) + 4.7) * 0.7)
    assert delta_r == pytest.approx((0.1 - 0.2) * 4.0)
    assert feats[0, 1, 1].item() == pytest.approx(-0.1)
    assert_array_equal(feats[0, 2], 0.0)


def test_output_ignores_padding_and_order():
    X, _ = prong_jets(n=8)
    net = ParticleTransformer(
        **{k.removeprefix("module__"): v for k, v in SMALL.items()}
    )
    net.eval()
    x = torch.tensor(ConstituentSequencer(max_particles=12).fit_transform(X))
    with torch.no_grad():
        ref = net(x)
        padded = net(torch.cat([x, torch.zeros(8, 5, 4)], dim=1))
        shuffled = net(x[:, torch.randperm(12)])
    assert ref.shape == (8, 2)
    assert_allclose(padded, ref, atol=1e-5)
    assert_allclose(shuffled, ref, atol=1e-5)


def _small_net(**kwargs):
    params = {k.removeprefix("module__"): v for k, v in SMALL.items()}
    net = ParticleTransformer(**{**params, **kwargs})
    return net.eval()


@pytest.mark.parametrize("use_pairs", [True, False])
def test_pair_features_bias_the_attention(monkeypatch, use_pairs):
    # The same constituents (so the same per-particle features) with altered
    # pairwise features: the output must change when the pairwise features bias
    # the attention, and must not when pair_features=False.
    X, _ = prong_jets(n=8)
    x = torch.tensor(ConstituentSequencer(max_particles=12).fit_transform(X))
    net = _small_net(pair_features=use_pairs)
    calls = []

    def altered(p4, mask):
        calls.append(p4.shape)
        return 1.5 * pair_features(p4, mask) + 1.0 * mask[:, None, :, None]

    with torch.no_grad():
        ref = net(x)
        monkeypatch.setattr(_particle, "pair_features", altered)
        out = net(x)
    assert torch.isfinite(out).all()
    if use_pairs:
        assert net.pair_embed is not None
        assert calls == [x.shape]
        assert (out - ref).abs().max() > 1e-3
    else:
        assert net.pair_embed is None
        assert calls == []
        assert_array_equal(out, ref)


def test_pair_bias_is_added_to_every_self_attention_logit():
    # The bias each self-attention block receives is pair_embed(pair features),
    # with -inf on the padded keys.
    X, _ = prong_jets(n=4)
    x = torch.tensor(ConstituentSequencer(max_particles=12).fit_transform(X))
    net = _small_net(n_layers=2)
    seen = []
    for block in net.blocks:
        block.attention.register_forward_pre_hook(
            lambda module, args: seen.append(args[2])
        )
    with torch.no_grad():
        net(x)
        p4 = x.float()
        mask = (p4[..., 1] != 0) | (p4[..., 2] != 0)
        expected = net.pair_embed(pair_features(p4, mask))
    assert len(seen) == 2
    keys = mask[:, None, None, :].expand_as(expected)
    for bias in seen:
        assert bias.shape == expected.shape == (4, 2, 12, 12)
        assert_allclose(bias[keys], expected[keys], rtol=1e-6, atol=1e-6)
        assert torch.isneginf(bias[~keys]).all()
    assert expected[keys].abs().max() > 1e-3  # a bias that is not zero


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="n_heads=3 must divide dim=16"):
        ParticleTransformer(dim=16, n_heads=3)


@pytest.fixture(scope="module")
def fitted_pipeline():
    X, y = prong_jets()
    pipe = make_pipeline(
        ConstituentSequencer(max_particles=12),
        CNNClassifier("particle_transformer", max_epochs=6, random_state=0, **SMALL),
    )
    return pipe.fit(X, y)


def test_learns_prongs_and_round_trips(fitted_pipeline, tmp_path):
    X, y = prong_jets(n=300, seed=1)
    proba = fitted_pipeline.predict_proba(X)
    assert roc_auc_score(y, proba[:, 1]) > 0.95
    clf = fitted_pipeline[-1]
    assert isinstance(clf.module_, ParticleTransformer)
    assert (clf.n_channels_, clf.image_shape_) == (4, (12,))
    joblib.dump(fitted_pipeline, tmp_path / "tagger.joblib")
    loaded = joblib.load(tmp_path / "tagger.joblib")
    assert_array_equal(loaded.predict_proba(X), proba)
    saved = load_model(save_model(fitted_pipeline, tmp_path / "tagger.hepclf"))
    assert_array_equal(saved.predict_proba(X), proba)
    # any sequence length at prediction time: the network masks the padding
    longer = loaded.set_params(constituentsequencer__max_particles=20)
    assert_allclose(longer.predict_proba(X), proba, atol=1e-5)


def test_without_pair_features_end_to_end(tmp_path):
    X, y = prong_jets()
    pipe = make_pipeline(
        ConstituentSequencer(max_particles=12),
        CNNClassifier(
            "particle_transformer",
            max_epochs=6,
            random_state=0,
            module__pair_features=False,
            **SMALL,
        ),
    ).fit(X, y)
    module = pipe[-1].module_
    assert module.pair_embed is None
    assert not any(name.startswith("pair_embed") for name in module.state_dict())
    X_test, y_test = prong_jets(n=300, seed=1)
    proba = pipe.predict_proba(X_test)
    assert proba.dtype == np.float32
    assert roc_auc_score(y_test, proba[:, 1]) > 0.9
    loaded = load_model(save_model(pipe, tmp_path / "plain.hepclf"))
    assert loaded[-1].module_.pair_embed is None
    assert_array_equal(loaded.predict_proba(X_test), proba)


def test_in_cross_validation():
    X, y = prong_jets(n=240, seed=2)
    pipe = make_pipeline(
        ConstituentSequencer(max_particles=12),
        CNNClassifier(
            "particle_transformer", max_epochs=6, batch_size=32, random_state=0, **SMALL
        ),
    )
    scores = cross_val_score(pipe, X, y, cv=2, scoring="roc_auc")
    assert scores.min() > 0.85


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (
            np.zeros((4, 1, 8, 8)),
            r"shape \(n_samples, n_particles, 4\).*ConstituentSequencer",
        ),
        (np.zeros((4, 5, 3)), r"shape \(n_samples, n_particles, 4\)"),
        (np.zeros((4, 5, 4)), "jet 0 has no constituent"),
        (np.full((4, 5, 4), np.nan), "NaN"),
        (np.tile([[[5.0, 0.0, 0.0, 5.0]]], (4, 5, 1)), "zero transverse momentum"),
        (np.tile([[[-5.0, 3.0, 4.0, 0.0]]], (4, 5, 1)), "negative energy in jet 0"),
    ],
)
def test_bad_input(X, match):
    clf = CNNClassifier("particle_transformer", max_epochs=1, **SMALL)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, [0, 1, 0, 1])


def test_onnx_export_refuses_particle_models(fitted_pipeline):
    pytest.importorskip("onnx")
    from hepclf import export_onnx
    from hepclf.export import OnnxExportError

    with pytest.raises(
        OnnxExportError,
        match=r"\(ConstituentSequencer\) cannot be exported: particle-level networks",
    ):
        export_onnx(fitted_pipeline, "unused.onnx")
    with pytest.raises(OnnxExportError, match="ONNX export covers image models only"):
        export_onnx(fitted_pipeline[-1], "unused.onnx")
