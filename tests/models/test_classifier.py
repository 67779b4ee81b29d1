from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from hepclf import CNNClassifier
from hepclf.models import JetCNN, ResNet, get_module, register_module

from .conftest import TINY, assert_same_training, make_blob_images

torch = pytest.importorskip("torch")


def tiny(**kwargs):
    params = {"max_epochs": 5, "batch_size": 32, "random_state": 0, **TINY, **kwargs}
    return CNNClassifier(**params)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    return tiny().fit(X, y)


def test_learns_separable_images(fitted):
    X, y = make_blob_images(seed=1)
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert roc_auc_score(y, proba[:, 1]) > 0.95
    assert (fitted.predict(X) == y).mean() > 0.9


def test_infers_shapes_and_classes(fitted):
    assert fitted.n_channels_ == 1
    assert fitted.image_shape_ == (16, 16)
    assert_array_equal(fitted.classes_, [0, 1])
    module = fitted.module_
    assert isinstance(module, JetCNN)
    assert module.classifier[-1].out_features == 2
    assert module.features[2].in_channels == 1


def test_multichannel_multiclass_and_string_labels():
    X, y = make_blob_images(n=300, n_classes=3, channels=2, seed=2)
    labels = np.array(["electron", "muon", "photon"])[y]
    clf = tiny().fit(X, labels)
    assert_array_equal(clf.classes_, ["electron", "muon", "photon"])
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    assert roc_auc_score(labels, proba, multi_class="ovr") > 0.9
    assert set(clf.predict(X)) <= set(labels)
    assert clf.module_.features[2].in_channels == 2


def test_three_dimensional_input_is_single_channel(blobs):
    X, y = blobs
    clf = tiny(max_epochs=1).fit(X[:, 0], y)
    assert clf.n_channels_ == 1
    assert clf.predict_proba(X[:10, 0]).shape == (10, 2)


def test_reproducible_and_global_seed_untouched(blobs):
    X, y = blobs
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = tiny(max_epochs=2).fit(X, y).predict_proba(X)
    after = torch.rand(1)
    b = tiny(max_epochs=2).fit(X, y).predict_proba(X)
    assert_same_training(a, b)
    assert_array_equal(before, after)  # fit forked the global generator
    c = tiny(max_epochs=2, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_joblib_round_trip_identical(fitted, tmp_path, blobs):
    X, _ = blobs
    path = tmp_path / "clf.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.device == "auto"


def _dump_as_if_on_cuda(obj):
    """Pickle with every tensor storage tagged as living on 'cuda:0'."""
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        return pickle.dumps(obj)
    finally:
        torch.serialization.location_tag = original


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks loading on a CPU-only machine"
)
def test_model_saved_on_cuda_loads_on_cpu(fitted, blobs):
    X, _ = blobs
    expected = fitted.predict_proba(X)
    blob = _dump_as_if_on_cuda(fitted.module_.state_dict())
    with pytest.raises(RuntimeError, match="CUDA"):  # the fake really is CUDA-tagged
        pickle.loads(blob)
    # a model with device="auto" loads silently on the CPU
    loaded = pickle.loads(_dump_as_if_on_cuda(fitted))
    assert loaded.device == "auto"
    assert loaded.device_ == torch.device("cpu")
    assert_array_equal(loaded.predict_proba(X), expected)
    # a model pinned to device="cuda" loads on the CPU with skorch's warning
    pinned = clone(fitted).set_params(max_epochs=1).fit(*blobs)
    pinned.device = "cuda"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(_dump_as_if_on_cuda(pinned))
    assert any("no CUDA devices" in str(w.message) for w in caught)
    assert str(loaded.device) == "cpu"
    assert loaded.predict_proba(X).shape == (len(X), 2)


def test_clone_and_params(fitted):
    assert fitted.get_params()["device"] == "auto"
    fresh = clone(fitted)
    assert fresh.get_params()["module__dense"] == (16,)
    with pytest.raises(NotFittedError):
        fresh.predict_proba(np.zeros((1, 1, 16, 16)))


def test_module_by_class_name_and_registry(blobs):
    X, y = blobs
    clf = CNNClassifier(
        ResNet,
        module__base_filters=4,
        module__blocks=(1, 1),
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    assert isinstance(clf.module_, ResNet)
    assert clf.module_.fc.out_features == 2
    assert get_module("ResNet") is ResNet

    @register_module("mytiny")
    class MyTiny(torch.nn.Module):
        def __init__(self, in_channels=1, n_classes=2):
            super().__init__()
            self.lin = torch.nn.LazyLinear(n_classes)

        def forward(self, x):
            return self.lin(x.flatten(1))

    clf = CNNClassifier("mytiny", max_epochs=1).fit(X, y)
    assert isinstance(clf.module_, MyTiny)
    with pytest.raises(ValueError, match="unknown module name 'nope'"):
        CNNClassifier("nope").fit(X, y)


def test_image_too_small_for_the_network():
    X, y = make_blob_images(n=20, size=8)
    with pytest.raises(ValueError, match="too small"):
        CNNClassifier(max_epochs=1).fit(X, y)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros((10, 5)), np.arange(10) % 2, "imager"),
        (np.zeros((10, 1, 8, 8)), np.zeros(10), "single class"),
        (np.zeros((10, 1, 8, 8)), np.arange(9) % 2, "10 samples but y has 9"),
        (np.full((10, 1, 8, 8), np.nan), np.arange(10) % 2, "NaN"),
        (np.zeros((0, 1, 8, 8)), np.zeros(0), "empty"),
        (np.zeros((10, 1, 8, 8)), np.zeros((10, 2)), "1-D"),
    ],
)
def test_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        tiny().fit(X, y)


def test_predict_checks_shape(fitted):
    with pytest.raises(ValueError, match="fitted on 1 channel"):
        fitted.predict_proba(np.zeros((2, 1, 20, 20)))


def test_unknown_label_with_explicit_classes():
    X, y = make_blob_images(n=20)
    with pytest.raises(ValueError, match="not among the classes"):
        tiny(classes=[0, 2]).fit(X, y)


def test_warm_start_continues(blobs):
    X, y = blobs
    clf = tiny(max_epochs=1, warm_start=True).fit(X, y)
    clf.fit(X, y)
    assert len(clf.history_) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.partial_fit(X, y)
    assert len(clf.history_) == 3


def test_validation_split_with_string_labels(blobs):
    from skorch.dataset import ValidSplit

    X, y = blobs
    labels = np.array(["qcd", "top"])[y]
    clf = tiny(max_epochs=3, train_split=ValidSplit(4, stratified=True)).fit(X, labels)
    assert clf.history_[-1]["valid_acc"] > 0.9


@pytest.mark.parametrize(
    ("precision", "channels_last"),
    [("bf16", False), ("fp16", False), ("fp32", True), ("bf16", True)],
)
def test_mixed_precision_and_channels_last(blobs, precision, channels_last):
    X, y = blobs
    clf = tiny(precision=precision, channels_last=channels_last).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32
    assert roc_auc_score(y, proba[:, 1]) > 0.95
    if channels_last:
        weight = clf.module_.features[2].weight
        assert weight.is_contiguous(memory_format=torch.channels_last)
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.predict_proba(X), proba)


def test_bad_precision(blobs):
    with pytest.raises(InvalidParameterError, match="'precision' parameter"):
        tiny(precision="fp8").fit(*blobs)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("precision", "fp8"),
        ("class_weight", "heavy"),
        ("class_weight", [1.0, 2.0]),
        ("channels_last", "yes"),
        ("checkpoint_dir", 3),
        ("device", 0),
        ("random_state", "seed"),
    ],
)
def test_bad_parameters_fail_at_fit_before_training(blobs, param, value, tmp_path):
    clf = tiny(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        clf.fit(*blobs)
    assert not clf.initialized_  # nothing was built or trained
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        tiny(**{param: value}).partial_fit(*blobs)


@pytest.mark.slow
# dynamo itself reads .grad of non-leaf tensors while it traces the optimiser step
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor:UserWarning")
def test_torch_compile_option_trains_the_same_model(blobs):
    """``compile=True`` (skorch's torch.compile switch) gives the eager model's
    predictions; compiling needs a C++ compiler, hence slow."""
    X, y = blobs
    eager = tiny(device="cpu").fit(X, y)
    compiled = tiny(device="cpu", compile=True).fit(X, y)
    assert isinstance(compiled.module_, torch._dynamo.eval_frame.OptimizedModule)
    assert_allclose(compiled.predict_proba(X), eager.predict_proba(X), atol=1e-5)
