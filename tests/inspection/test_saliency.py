from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from hepclf import CNNClassifier, CNNRegressor
from hepclf.inspection import saliency
from hepclf.models._augment import apply_symmetry, symmetries

from .conftest import PATCH, SMALL_CNN, LinearNet, linear_classifier, patch_images

pytest.importorskip("captum")

METHODS = ["gradient", "integrated_gradients", "occlusion"]


def patch_mask():
    mask = np.zeros((12, 12), dtype=bool)
    mask[PATCH] = True
    return mask


@pytest.mark.parametrize(
    ("method", "min_ratio"),
    [("gradient", 3.0), ("integrated_gradients", 20.0), ("occlusion", 20.0)],
)
def test_attribution_concentrates_on_the_signal_patch(
    patch_classifier, patch_data, method, min_ratio
):
    X, y = patch_data
    photons = X[y == "photon"][:20]
    a = np.abs(saliency(patch_classifier, photons, target="photon", method=method))
    assert a.shape == photons.shape
    a = a[:, 0]
    mask = patch_mask()
    # the most attributed pixel of every image is in the patch ...
    top = a.reshape(len(a), -1).argmax(axis=1)
    assert mask.ravel()[top].all()
    # ... and a patch pixel carries many times the attribution of another pixel
    ratio = a[:, mask].mean(axis=1) / a[:, ~mask].mean(axis=1)
    assert ratio.min() > min_ratio, ratio.min()


def test_integrated_gradients_completeness(patch_classifier, patch_data):
    X, _ = patch_data
    X = X[:12]
    attributions, delta = saliency(
        patch_classifier,
        X,
        target="photon",
        method="integrated_gradients",
        n_steps=200,
        return_convergence_delta=True,
    )
    module = patch_classifier.module_.eval()
    with torch.no_grad():
        logits = module(torch.as_tensor(X))[:, 1].numpy()
        baseline = module(torch.zeros_like(torch.as_tensor(X)))[:, 1].numpy()
    # completeness: the attributions of a sample add up to f(x) - f(baseline)
    assert_allclose(attributions.sum(axis=(1, 2, 3)), logits - baseline, atol=0.02)
    assert np.abs(delta).max() < 0.02
    assert np.ptp(logits - baseline) > 1  # not trivially zero


def test_linear_model_closed_forms():
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(2, 1, 4, 4))
    clf = linear_classifier(weight)
    X = rng.random((5, 1, 4, 4)).astype(np.float32)
    w_b = weight[1]
    # the gradient of logit b is its weight; Captum's Saliency takes |.| by default
    assert_allclose(
        saliency(clf, X, target="b"), np.abs(w_b)[None].repeat(5, 0), rtol=1e-6
    )
    assert_allclose(
        saliency(clf, X, target="b", abs=False), w_b[None].repeat(5, 0), rtol=1e-6
    )
    # integrated gradients from a zero baseline and 1x1 occlusion: x * w
    expected = X * w_b
    ig = saliency(clf, X, target="b", method="integrated_gradients")
    assert_allclose(ig, expected, rtol=1e-5, atol=1e-6)
    occ = saliency(clf, X, target="b", method="occlusion")  # 4 x 4: 1 x 1 windows
    assert_allclose(occ, expected, rtol=1e-5, atol=1e-6)


def test_occlusion_windows_share_their_drop():
    weight = np.zeros((2, 1, 4, 4))
    weight[0, 0] = np.arange(16).reshape(4, 4)
    weight[1, 0] = 1.0
    clf = linear_classifier(weight)
    X = np.ones((1, 1, 4, 4), dtype=np.float32)
    X[0, 0, 0, 0] = 3.0
    occ = saliency(
        clf,
        X,
        target="a",
        method="occlusion",
        sliding_window_shapes=(1, 2, 2),
        strides=(1, 2, 2),
    )
    # each pixel gets the drop of logit a when its 2x2 block is zeroed
    blocks = (X[0, 0] * weight[0, 0]).reshape(2, 2, 2, 2).sum(axis=(1, 3))
    assert_allclose(occ[0, 0], np.kron(blocks, np.ones((2, 2))))
    assert occ[0, 0, 0, 0] == pytest.approx(0 * 3.0 + 1 + 4 + 5)


def test_proba_output_is_the_softmax_gradient():
    rng = np.random.default_rng(4)
    weight = rng.normal(size=(2, 1, 3, 3))
    clf = linear_classifier(weight)
    X = rng.random((4, 1, 3, 3)).astype(np.float32)
    p = clf.predict_proba(X)[:, 0].astype(np.float64)
    got = saliency(clf, X, target="a", output="proba", abs=False)
    # d p_a / dx = p_a (1 - p_a) (w_a - w_b)
    expected = (p * (1 - p))[:, None, None, None] * (weight[0] - weight[1])[None]
    assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


def test_averaged_predictions_are_explained_as_averaged():
    # augment_predict=True: the logit explained is the mean over the eight flips
    # and turns, w . g(x) averaged, whose gradient is the weight averaged over them
    rng = np.random.default_rng(5)
    weight = rng.normal(size=(2, 1, 3, 3))
    clf = linear_classifier(weight)
    clf.set_params(augment_flip=True, augment_rot90=True, augment_predict=True)
    X = rng.random((4, 1, 3, 3)).astype(np.float32)
    got = saliency(clf, X, target="a", abs=False)
    w = torch.as_tensor(weight[0], dtype=torch.float32)
    expected = np.mean(
        [apply_symmetry(w, t).numpy() for t in symmetries(True, True)], 0
    )
    assert_allclose(got, np.broadcast_to(expected, got.shape), rtol=1e-5, atol=1e-6)
    assert np.abs(expected - weight[0]).max() > 0.1  # not the plain gradient
    # integrated gradients of the probability add up to predict_proba's change
    ig = saliency(clf, X, target="a", output="proba", method="integrated_gradients")
    drop = clf.predict_proba(X)[:, 0] - clf.predict_proba(np.zeros_like(X))[:, 0]
    assert_allclose(ig.sum(axis=(1, 2, 3)), drop, atol=1e-3)


def test_default_target_is_the_predicted_class(patch_classifier, patch_data):
    X, _ = patch_data
    X = X[:10]
    predicted = patch_classifier.predict(X)
    assert set(predicted) == {"electron", "photon"}
    for method in METHODS:
        assert_allclose(
            saliency(patch_classifier, X, method=method),
            saliency(patch_classifier, X, target=predicted, method=method),
        )
    # one label for all differs from the per-sample predictions
    assert not np.allclose(
        saliency(patch_classifier, X, target="photon"),
        saliency(patch_classifier, X),
    )


def test_batches_give_the_same_answer(patch_classifier, patch_data):
    X, _ = patch_data
    X = X[:11]
    targets = [None, np.where(np.arange(11) % 3, "photon", "electron")]
    for method in METHODS:
        for target in targets:
            assert_allclose(
                saliency(
                    patch_classifier, X, target=target, method=method, batch_size=4
                ),
                saliency(patch_classifier, X, target=target, method=method),
                rtol=1e-4,  # float32 sums in another order
                atol=1e-5,
            )


def test_the_fitted_model_is_left_alone(patch_classifier, patch_data):
    X, _ = patch_data
    module = patch_classifier.module_
    before_proba = patch_classifier.predict_proba(X)
    before_state = {k: v.clone() for k, v in module.state_dict().items()}
    before_grads = [
        None if p.grad is None else p.grad.clone() for p in module.parameters()
    ]
    module.train()  # whatever mode each submodule is in, it gets it back
    module.classifier.eval()  # a mix of modes
    flags = [m.training for m in module.modules()]
    assert any(flags)
    assert not all(flags)
    for method in METHODS:
        saliency(patch_classifier, X[:6], method=method)
    assert [m.training for m in module.modules()] == flags
    for p, grad in zip(module.parameters(), before_grads, strict=True):
        assert (p.grad is None) if grad is None else torch.equal(p.grad, grad)
    for key, value in module.state_dict().items():
        assert torch.equal(value, before_state[key]), key
    assert_array_equal(patch_classifier.predict_proba(X), before_proba)


def test_eval_mode_inside():
    """Dropout and batch norm act as at predict time: attributions are repeatable."""
    X, y = patch_images(n=40, seed=1)
    clf = CNNClassifier(
        max_epochs=1,
        module__conv_blocks=((4,),),
        module__pool_size=2,
        module__dense=(8,),
        module__dropout=0.5,
        module__batch_norm=True,
        random_state=0,
    ).fit(X, y)
    clf.module_.train()
    first = saliency(clf, X[:8])
    assert_array_equal(saliency(clf, X[:8]), first)


def test_pipeline_and_3d_images(patch_classifier, patch_data):
    X, _ = patch_data
    X = X[:6]
    flat = X.reshape(len(X), -1)
    pipe = make_pipeline(
        FunctionTransformer(lambda a: a.reshape(len(a), 12, 12)), patch_classifier
    )
    pipe[0].fit(flat)
    expected = saliency(patch_classifier, X, target="electron")
    got = saliency(pipe, flat, target="electron")
    assert got.shape == (6, 1, 12, 12)  # the network's input, channel axis included
    assert_allclose(got, expected)
    assert_allclose(saliency(patch_classifier, X[:, 0], target="electron"), expected)


def test_labels_not_indices():
    """Integer labels that are not 0..k-1 are labels, not column indices."""
    weight = np.zeros((2, 1, 2, 2))
    weight[0, 0, 0, 0] = 1.0  # class 11 looks at pixel (0, 0)
    weight[1, 0, 1, 1] = 1.0  # class 22 at pixel (1, 1)
    clf = linear_classifier(weight, classes=(11, 22))
    X = np.ones((2, 1, 2, 2), dtype=np.float32)
    got = saliency(clf, X, target=[22, 11])
    assert_allclose(got[0, 0], [[0, 0], [0, 1]])
    assert_allclose(got[1, 0], [[1, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"unknown target label\(s\) \[1\]"):
        saliency(clf, X, target=1)


def test_errors(patch_classifier, patch_data):
    X, _ = patch_data
    with pytest.raises(ValueError, match="saliency: unknown method 'deeplift'"):
        saliency(patch_classifier, X[:2], method="deeplift")
    with pytest.raises(ValueError, match="saliency: unknown target label"):
        saliency(patch_classifier, X[:2], target="muon")
    with pytest.raises(ValueError, match="one per sample"):
        saliency(patch_classifier, X[:2], target=["photon"] * 3)
    with pytest.raises(ValueError, match=r"saliency: CNNClassifier: X has images"):
        saliency(patch_classifier, X[:2, :, :8, :8])
    with pytest.raises(NotFittedError, match="saliency: this CNNClassifier"):
        saliency(CNNClassifier(), X[:2])
    with pytest.raises(
        TypeError, match="a CNNClassifier, a CNNRegressor or a Pipeline"
    ):
        saliency(FunctionTransformer(), X[:2])
    with pytest.raises(ValueError, match="output"):
        saliency(patch_classifier, X[:2], output="softmax")
    with pytest.raises(ValueError, match="batch_size"):
        saliency(patch_classifier, X[:2], batch_size=0)


def test_missing_captum_names_the_extra(patch_classifier, patch_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    X, _ = patch_data
    with pytest.raises(ImportError, match=r"hepclf\[explain\]"):
        saliency(patch_classifier, X[:2])


class SqrtNet(LinearNet):
    """Linear in sqrt(x): no gradient where a pixel is zero."""

    def forward(self, x):
        return self.linear(torch.sqrt(x).flatten(1))


def test_non_finite_attributions_are_refused():
    rng = np.random.default_rng(6)
    X = rng.uniform(0.5, 1, (6, 1, 4, 4)).astype(np.float32)
    y = np.arange(6) % 2
    clf = CNNClassifier(SqrtNet, max_epochs=1, random_state=0).fit(X, y)
    X[[2, 4], 0, 1, 1] = 0.0
    with pytest.raises(ValueError, match=r"for sample 2 \(2 sample\(s\) in all\)"):
        saliency(clf, X, target=1)
    occ = saliency(clf, X, target=1, method="occlusion")  # needs no gradient
    assert np.isfinite(occ).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no cuda device")
def test_on_the_gpu():
    rng = np.random.default_rng(5)
    weight = rng.normal(size=(2, 1, 4, 4))
    clf = linear_classifier(weight, device="cuda")
    X = rng.random((5, 1, 4, 4)).astype(np.float32)
    for method in METHODS:
        got = saliency(clf, X, target="b", method=method, batch_size=2)
        assert isinstance(got, np.ndarray)
        expected = np.abs(weight[1])[None] if method == "gradient" else X * weight[1]
        assert_allclose(got, np.broadcast_to(expected, X.shape), rtol=1e-4, atol=1e-5)
    assert clf.device_.type == "cuda"


def linear_regressor(weight):
    """A CNNRegressor whose module is ``LinearNet`` with the given weights."""
    weight = np.asarray(weight, dtype=np.float32)
    rng = np.random.default_rng(1)
    X = rng.random((16, *weight.shape[1:])).astype(np.float32)
    y = rng.normal(5.0, 2.0, size=(16, len(weight)))
    reg = CNNRegressor(LinearNet, max_epochs=1, random_state=0).fit(X, y)
    with torch.no_grad():
        reg.module_.linear.weight.copy_(
            torch.as_tensor(weight.reshape(len(weight), -1))
        )
    return reg


def test_regressor_closed_forms_in_target_units():
    rng = np.random.default_rng(5)
    weight = rng.normal(size=(2, 1, 3, 3))
    reg = linear_regressor(weight)
    scale = reg.target_scale_
    assert not np.allclose(scale, 1.0)  # the standardisation is undone
    X = rng.random((4, 1, 3, 3)).astype(np.float32)
    for output in (0, 1):
        # predict = scale * (w . x) + mean: its gradient is scale * w
        got = saliency(reg, X, target=output, abs=False)
        expected = scale[output] * weight[output][None].repeat(4, 0)
        assert_allclose(got, expected, rtol=1e-5)
        ig = saliency(reg, X, target=output, method="integrated_gradients")
        # completeness in predict's units: the sum is predict(x) - predict(0)
        drop = reg.predict(X)[:, output] - reg.predict(np.zeros_like(X))[:, output]
        assert_allclose(ig.sum(axis=(1, 2, 3)), drop, rtol=1e-4)
    # one output per sample
    per_sample = saliency(reg, X, target=[0, 1, 1, 0], abs=False)
    assert_allclose(per_sample[1], scale[1] * weight[1], rtol=1e-5)
    assert_allclose(per_sample[3], scale[0] * weight[0], rtol=1e-5)


def test_trained_regressor_looks_at_the_pixels_it_reads():
    rng = np.random.default_rng(6)
    X = (0.3 * rng.random((300, 1, 12, 12))).astype(np.float32)
    X[:, 0, PATCH[0], PATCH[1]] += rng.random((300, 1, 1)).astype(np.float32)
    y = 10.0 * X[:, 0, PATCH[0], PATCH[1]].sum(axis=(1, 2))  # the patch's charge
    reg = CNNRegressor(max_epochs=30, **SMALL_CNN).fit(X, y)
    assert reg.score(X, y) > 0.9
    a = saliency(reg, X[:20])
    mask = patch_mask()
    ratio = a[:, 0][:, mask].mean(axis=1) / a[:, 0][:, ~mask].mean(axis=1)
    # the plain gradient is noisy image by image: most carry 5-8 times more on
    # the patch, none less than 1.5 times
    assert np.median(ratio) > 4.0, ratio
    assert ratio.min() > 1.5, ratio


def test_regressor_errors():
    reg = linear_regressor(np.ones((2, 1, 3, 3)))
    X = np.ones((2, 1, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="2 outputs; say which"):
        saliency(reg, X)
    with pytest.raises(ValueError, match=r"output index in \[0, 2\)"):
        saliency(reg, X, target=2)
    with pytest.raises(ValueError, match="output index"):
        saliency(reg, X, target="a")
    with pytest.raises(ValueError, match="output='logit'"):
        saliency(reg, X, target=0, output="proba")
