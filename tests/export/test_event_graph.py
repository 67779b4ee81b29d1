"""EventImageModule (EventImager's rasteriser in torch) against EventImager, in
torch and through ONNX Runtime, and the Pipeline(EventImager, CNNClassifier)
exported as one graph."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from hepclf import EventImager
from hepclf.export import export_onnx, read_metadata
from hepclf.export._onnx import _to_onnx
from hepclf.export._registry import graph_for
from hepclf.imaging import OBJECT_TYPES, EventImageModule

from .._events import SEED_TYPES, random_events, small_cnn_pipeline

IMAGERS = {
    "default": EventImager(npix=24, engine="numpy"),
    "outline-eta0-count": EventImager(
        npix=(30, 20),
        shape="outline",
        line_width=1.5,
        met="eta0",
        intensity="count",
        engine="numpy",
    ),
    "crop-no-wrap-grouped": EventImager(
        npix=20,
        periodic_phi=False,
        outside_eta="crop",
        channels=[("electron", "muon"), ("jet", "bjet"), "met"],
        radius_scale=(0.1, 0.3),
        engine="numpy",
    ),
    "seed-small": EventImager(preset="seed", npix=48, engine="numpy"),
}


def assert_same_images(got, want, name):
    assert got.dtype == np.float32
    assert got.shape == want.shape, name
    moved = int(np.sum((got != 0) != (want != 0)))
    assert moved == 0, f"{name}: {moved} pixels differ in occupancy"
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)


def events_for(name, n=40, seed=0):
    types = SEED_TYPES if name.startswith("seed") else None
    return random_events(n, k=9, seed=seed, eta_sigma=2.0, types=types).astype(
        np.float32
    )


def test_event_imager_declares_its_graph():
    assert graph_for(EventImager()) == (EventImageModule, None)


@pytest.mark.parametrize("name", list(IMAGERS))
def test_torch_module_equals_event_imager(name):
    imager = IMAGERS[name]
    X = events_for(name)
    module = EventImageModule(imager)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "EventImager: .* outside the canvas")
        want = imager.fit_transform(X)
    got = module(torch.from_numpy(X)).numpy()
    assert_same_images(got, want, name)
    assert module.output_shape == want.shape[1:]


@pytest.fixture(scope="module")
def session():
    """Every imager of IMAGERS in one ONNX graph (one export)."""

    class All(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.graphs = torch.nn.ModuleList(
                EventImageModule(im) for im in IMAGERS.values()
            )

        def forward(self, X):
            return tuple(g(X) for g in self.graphs)

    example = EventImageModule(IMAGERS["default"]).example_input()[:3]
    model = _to_onnx(
        All(),
        [example],
        ["objects"],
        list(IMAGERS),
        [{0: torch.export.Dim("batch"), 1: torch.export.Dim("n_objects")}],
        18,
        "EventImageModule",
    )
    return ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def test_onnx_images_equal_event_imager(session):
    import warnings

    for name, imager in IMAGERS.items():
        X = events_for(name, n=30, seed=1)
        (got,) = session.run([name], {"objects": X})
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "EventImager: .* outside the canvas")
            want = imager.fit_transform(X)
        assert_same_images(got, want, name)


def test_onnx_dynamic_axes_and_padding(session):
    X = events_for("default", n=10, seed=2)
    # more padding columns, one event, one object
    wider = np.concatenate([X, np.zeros((10, 4, 4), np.float32)], axis=1)
    a = session.run(["default"], {"objects": X})[0]
    b = session.run(["default"], {"objects": wider})[0]
    np.testing.assert_array_equal(a, b)
    single = np.ascontiguousarray(X[3:4, :1])
    (got,) = session.run(["default"], {"objects": single})
    assert_same_images(got, IMAGERS["default"].transform(single), "single")
    (empty,) = session.run(["default"], {"objects": np.zeros((2, 3, 4), np.float32)})
    assert not empty.any()


def test_wrong_n_features_is_rejected():
    with pytest.raises(ValueError, match="n_features=3; expected 4 or 5"):
        EventImageModule(EventImager(), n_features=3)


def test_example_input_has_what_the_check_needs():
    module = EventImageModule(EventImager())
    X = module.example_input(n_objects=10, seed=0)
    assert X.shape[1:] == (10, 4)
    assert not (X[0, :, 0] != 0).any()  # an empty event
    assert np.any(np.abs(X[..., 3]) > np.pi - 0.1)  # near phi = +-pi
    assert np.any(np.abs(X[..., 2]) > 3)  # beyond the canvas
    assert set(np.unique(X[..., 0])) <= {0, *OBJECT_TYPES.values()}
    seed = EventImageModule(EventImager(preset="seed")).example_input()
    assert set(np.unique(seed[..., 0])) <= {0, *SEED_TYPES}


@pytest.mark.parametrize("preset", ["hepclf", "seed"])
def test_pipeline_exports_as_one_graph(preset, tmp_path):
    rng = np.random.default_rng(3)
    types = SEED_TYPES if preset == "seed" else None
    X = random_events(60, k=8, seed=3, types=types).astype(np.float32)
    X[..., 2] = np.clip(X[..., 2], -2.5, 2.5)  # the seed crops (and warns) beyond
    y = rng.integers(0, 3, 60)
    pipe = small_cnn_pipeline(EventImager(preset=preset, npix=20)).fit(X, y)
    path = tmp_path / "events.onnx"
    export_onnx(pipe, path)  # checks predict_proba on EventImageModule's examples
    meta = read_metadata(path)
    assert meta["input_name"] == "objects"
    assert meta["input_format"] == "type, pt, eta, phi"
    assert meta["imager"]["preset"] == preset
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(["probabilities"], {"objects": X})[0]
    np.testing.assert_allclose(got, pipe.predict_proba(X), rtol=0, atol=1e-5)
