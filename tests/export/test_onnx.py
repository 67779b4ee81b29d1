"""export_onnx: the whole Pipeline(JetImager, CNNClassifier) as one ONNX graph."""

from __future__ import annotations

import copy
import json
import logging
import warnings

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import hepclf
from hepclf import CNNClassifier, JetImager
from hepclf.export import OnnxExportError, export_onnx, read_metadata

from .conftest import rotate_to_seam, straddling_fraction

ATOL = 1e-5

#: a small, fast network (as in tests/models/conftest.py)
TINY = {
    "module__conv_blocks": ((8,),),
    "module__pool_size": 2,
    "module__dense": (16,),
    "module__dropout": 0.0,
}


def session_of(model_or_path):
    if isinstance(model_or_path, onnx.ModelProto):
        model_or_path = model_or_path.SerializeToString()
    else:
        model_or_path = str(model_or_path)
    return ort.InferenceSession(model_or_path, providers=["CPUExecutionProvider"])


def run(session, X):
    name = session.get_inputs()[0].name
    return session.run(["probabilities"], {name: X})[0]


@pytest.fixture(scope="module")
def session(tagger_onnx):
    return session_of(tagger_onnx[0])


def blob_images(n=200, size=12, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.random((n, 1, size, size)).astype(np.float32) * 0.5
    X[y == 1, :, 2:5, 2:5] += 1.0
    X[y == 0, :, 7:10, 7:10] += 1.0
    return X, np.where(y == 1, "top", "qcd")


@pytest.fixture(scope="module")
def tiny_net():
    X, y = blob_images()
    return CNNClassifier(max_epochs=1, random_state=0, **TINY).fit(X, y), X


# -- the pipeline ---------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_pipeline_equals_predict_proba(tagger, session, top_data, batch_size):
    X_test = top_data[2][:batch_size]
    got = run(session, X_test)
    want = tagger.predict_proba(X_test)
    assert got.dtype == np.float32
    assert got.shape == (batch_size, 2)
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


def test_jets_across_the_phi_seam(tagger, session, top_data):
    X = rotate_to_seam(top_data[2])
    assert straddling_fraction(X) > 0.9
    np.testing.assert_allclose(
        run(session, X), tagger.predict_proba(X), rtol=0, atol=ATOL
    )


def test_all_padding_jets(tagger, session, top_data):
    X = top_data[2][:20].copy()
    X[::3] = 0.0  # some jets are all padding
    np.testing.assert_allclose(
        run(session, X), tagger.predict_proba(X), rtol=0, atol=ATOL
    )
    empty = np.zeros((1, 200, 4), np.float32)
    np.testing.assert_allclose(
        run(session, empty), tagger.predict_proba(empty), rtol=0, atol=ATOL
    )


def test_constituent_axis_is_dynamic(tagger, session, top_data):
    """Any padded length works: fewer rows (truncation) or more (padding)."""
    X = top_data[2][:50]
    for n in (1, 30, 250):
        Xn = np.zeros((len(X), n, 4), np.float32)
        Xn[:, : min(n, 200)] = X[:, : min(n, 200)]
        np.testing.assert_allclose(
            run(session, Xn), tagger.predict_proba(Xn), rtol=0, atol=ATOL
        )


def test_graph_signature_and_metadata(tagger_onnx, tagger):
    path, model = tagger_onnx
    assert {o.domain: o.version for o in model.opset_import}[""] == 18
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "constituents"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", "n_constituents", 4]
    assert out.name == "probabilities"
    assert out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert dims == ["batch", 2]

    meta = read_metadata(path)
    assert meta == read_metadata(model)
    assert meta["classes"] == [0, 1]
    assert meta["hepclf_version"] == hepclf.__version__
    assert meta["input_format"] == "epxpypz"
    assert meta["input_name"] == "constituents"
    assert meta["input_dtype"] == "float32"
    assert meta["input_shape"] == ["batch", "n_constituents", 4]
    assert meta["output_name"] == "probabilities"
    assert meta["image_shape"] == [1, 32, 32]
    assert meta["module"] == "JetCNN"
    assert meta["nonlinearity"] == "softmax"
    assert "px == py == 0" in meta["padding"]
    imager = tagger[0].get_params()
    assert meta["imager"] == json.loads(
        json.dumps(
            {k: list(v) if isinstance(v, tuple) else v for k, v in imager.items()}
        )
    )
    assert {"batch", "n_constituents"} <= {
        d.dim_param for d in inp.type.tensor_type.shape.dim
    }


def test_fixed_constituent_axis_and_float64_input(tagger, top_data):
    X = top_data[2][:64].astype(np.float64)
    X[..., 1:] *= 1 + 1e-9  # not float32 values
    model = export_onnx(tagger, n_constituents=200, input_dtype="float64")
    inp = model.graph.input[0]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 200, 4]
    assert read_metadata(model)["input_shape"] == ["batch", 200, 4]
    session = session_of(model)
    np.testing.assert_allclose(
        run(session, X), tagger.predict_proba(X), rtol=0, atol=ATOL
    )
    with pytest.raises(Exception, match=r"(?i)dimension|shape"):
        run(session, X[:, :100])


# -- a bare classifier -----------------------------------------------------------------
def test_bare_classifier(tiny_net):
    net, X = tiny_net
    model = export_onnx(net)
    session = session_of(model)
    assert session.get_inputs()[0].name == "images"
    assert session.get_inputs()[0].shape == ["batch", 1, 12, 12]
    for batch in (X[:1], X):
        np.testing.assert_allclose(
            run(session, batch), net.predict_proba(batch), rtol=0, atol=ATOL
        )
    meta = read_metadata(model)
    assert meta["classes"] == ["qcd", "top"]
    assert meta["input_format"] == "images"
    assert meta["imager"] is None


@pytest.mark.parametrize(
    ("module", "params"),
    [
        (
            "inception",
            {
                "module__stem_channels": (4, 8),
                "module__stages": (((2, 2, 4, 2, 2, 2),),),
            },
        ),
        ("resnet", {"module__base_filters": 4, "module__blocks": (1, 1)}),
    ],
)
def test_networks_with_unshuffled_pixels(module, params):
    # the fine pixels folded into channels inside the graph, as in predict_proba
    X, y = blob_images(n=40, size=16)
    net = CNNClassifier(
        module, max_epochs=1, random_state=0, module__pixel_unshuffle=2, **params
    ).fit(X, y)
    session = session_of(export_onnx(net))
    assert session.get_inputs()[0].shape == ["batch", 1, 16, 16]
    np.testing.assert_allclose(run(session, X), net.predict_proba(X), rtol=0, atol=ATOL)


def test_predictions_averaged_over_the_symmetries():
    # augment_predict=True: the graph averages over the eight flips and turns too
    X, y = blob_images(n=40, size=12)
    net = CNNClassifier(
        max_epochs=1, random_state=0, augment_flip=True, augment_rot90=True, **TINY
    ).fit(X, y)
    plain = net.predict_proba(X)
    net.set_params(augment_predict=True)
    averaged = net.predict_proba(X)
    assert np.abs(averaged - plain).max() > 1e-3  # so the check below can fail
    model = export_onnx(net)
    np.testing.assert_allclose(run(session_of(model), X), averaged, rtol=0, atol=ATOL)
    assert read_metadata(model)["symmetries_averaged"] == 8
    assert (
        read_metadata(export_onnx(net.set_params(augment_predict=False)))[
            "symmetries_averaged"
        ]
        == 1
    )

    # a regressor's averaged prediction too, in the target's units
    target = 10.0 + X.sum(axis=(1, 2, 3))
    reg = hepclf.CNNRegressor(
        max_epochs=1, random_state=0, augment_flip="horizontal", **TINY
    ).fit(X, target)
    reg.set_params(augment_predict=True)
    model = export_onnx(reg)
    np.testing.assert_allclose(
        session_of(model).run(["predictions"], {"images": X})[0][:, 0],
        reg.predict(X),
        rtol=1e-5,
        atol=1e-4,
    )
    assert read_metadata(model)["symmetries_averaged"] == 2


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.name}: {record.getMessage()}")


def test_export_says_nothing_about_torchvision(tiny_net, capfd):
    # torch's ONNX registry warns once per torchvision op ("torchvision is not
    # installed. Skipping torchvision::nms") at every export when torchvision is
    # absent, through the "torch" logger (which does not propagate to the root)
    net, _ = tiny_net
    records = _Records()
    loggers = [logging.getLogger(), logging.getLogger("torch")]
    for logger in loggers:
        logger.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export_onnx(net)
    finally:
        for logger in loggers:
            logger.removeHandler(records)
    out, err = capfd.readouterr()
    lines = [*records.lines, *(str(w.message) for w in caught), out, err]
    assert not [line for line in lines if "torchvision" in line.lower()]
    # only the notice is filtered, and only during the export
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    assert not registry.filters


# -- what cannot be exported -------------------------------------------------------------
class _ShiftedImager(JetImager):
    pass


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (
            JetImager(),
            "supports a fitted CNNClassifier or CNNRegressor, or a Pipeline",
        ),
        (
            make_pipeline(FunctionTransformer(), JetImager(), CNNClassifier()),
            (
                r"step 'functiontransformer' \(FunctionTransformer\) cannot be "
                r"exported: no export graph is registered for FunctionTransformer "
                r"\(steps with one: [^)]*JetImager"
            ),
        ),
        (
            make_pipeline(_ShiftedImager(), CNNClassifier()),
            "step '_shiftedimager' \\(_ShiftedImager\\) cannot be exported: a subclass",
        ),
        (
            make_pipeline(JetImager(), JetImager(), CNNClassifier()),
            "only one imaging step",
        ),
        (
            make_pipeline(JetImager(), LogisticRegression()),
            (
                r"step 'logisticregression' \(LogisticRegression\): the last step "
                r"must be a CNNClassifier or a CNNRegressor"
            ),
        ),
    ],
)
def test_unsupported_steps_are_named(estimator, match):
    with pytest.raises(OnnxExportError, match=match):
        export_onnx(estimator)


def test_unfitted_estimator():
    with pytest.raises(NotFittedError):
        export_onnx(make_pipeline(JetImager(), CNNClassifier()))


def test_bad_options_are_named(tagger):
    with pytest.raises(OnnxExportError, match=r"step 'jetimager' .*n_features=3"):
        export_onnx(tagger, n_features=3)
    with pytest.raises(OnnxExportError, match="input_dtype"):
        export_onnx(tagger, input_dtype="int32")
    with pytest.raises(OnnxExportError, match="n_constituents"):
        export_onnx(tagger, n_constituents=0)
    changed = copy.deepcopy(tagger).set_params(jetimager__npix=20)
    with pytest.raises(
        OnnxExportError, match=r"step 'jetimager' .*makes images of 1 x \(20, 20\)"
    ):
        export_onnx(changed)


def test_mixed_precision_is_refused(tiny_net):
    net = copy.deepcopy(tiny_net[0]).set_params(precision="bf16")
    with pytest.raises(OnnxExportError, match=r"step 'estimator' .*precision='bf16'"):
        export_onnx(net)


def test_docstrings():
    validate = pytest.importorskip("numpydoc.validate").validate
    checks = {"PR01", "PR02", "PR03", "PR07", "PR10", "RT03", "GL08", "SS01"}
    for name in (
        "hepclf.export.export_onnx",
        "hepclf.export.read_metadata",
        "hepclf.imaging.JetImageModule",
        "hepclf.export.OnnxExportError",
        "hepclf.export.register_graph",
    ):
        errors = [f"{c}: {m}" for c, m in validate(name)["errors"] if c in checks]
        assert not errors, f"{name}: {errors}"


class _DataDependent(torch.nn.Module):
    """Python control flow on tensor values: not traceable to a static graph."""

    def __init__(self, in_channels=1, image_size=(12, 12), n_classes=2):
        super().__init__()
        height, width = image_size
        self.linear = torch.nn.Linear(in_channels * height * width, n_classes)

    def forward(self, x):
        out = self.linear(x.flatten(1))
        if out.sum() > 0:
            return out
        return -out


def test_module_that_fails_to_trace_is_named():
    X, y = blob_images(n=64)
    net = CNNClassifier(module=_DataDependent, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(
        OnnxExportError,
        match="step 'estimator' \\(CNNClassifier with module _DataDependent\\) "
        "could not be exported to ONNX",
    ):
        export_onnx(net)


class _Tempered(CNNClassifier):
    """predict_proba that the module alone does not compute."""

    def predict_proba(self, X):
        p = super().predict_proba(X) ** 2
        return p / p.sum(axis=1, keepdims=True)


def test_a_graph_that_differs_is_refused(tmp_path):
    X, y = blob_images(n=64)
    net = _Tempered(max_epochs=1, random_state=0, **TINY).fit(X, y)
    path = tmp_path / "x.onnx"
    with pytest.raises(OnnxExportError, match="does not reproduce predict_proba"):
        export_onnx(net, path)
    assert not path.exists()
    export_onnx(net, path, check=False)  # on the user's responsibility
    assert path.exists()
