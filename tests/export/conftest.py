from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def top_data():
    """The bundled sample: training and test jets (float32, padded to 200)."""
    from hepclf.datasets import load_top_tagging

    X, y = load_top_tagging(split="train")
    X_test, y_test = load_top_tagging(split="test")
    return X, y, X_test, y_test


@pytest.fixture(scope="session")
def tagger(top_data):
    """JetImager -> CNNClassifier (the default JetCNN), one epoch on the sample."""
    from sklearn.pipeline import make_pipeline

    from hepclf import CNNClassifier, JetImager

    X, y, _, _ = top_data
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return make_pipeline(
            JetImager(npix=32), CNNClassifier(max_epochs=1, random_state=0)
        ).fit(X, y)


@pytest.fixture(scope="session")
def tagger_onnx(tagger, tmp_path_factory):
    """The tagger exported to ONNX: (path, onnx.ModelProto)."""
    from hepclf.export import export_onnx

    path = tmp_path_factory.mktemp("onnx") / "tagger.onnx"
    return path, export_onnx(tagger, path)


def rotate_to_seam(X, seed=0, spread=0.2):
    """Rotate each jet (E, px, py, pz) in phi so that its centroid lies within
    ``spread`` of phi = +-pi: the jet straddles the seam."""
    rng = np.random.default_rng(seed)
    X64 = X.astype(np.float64)
    px, py = X64[..., 1], X64[..., 2]
    pt = np.hypot(px, py)
    centre = np.angle(np.sum(pt * np.exp(1j * np.arctan2(py, px)), axis=1))
    delta = (np.pi - centre + rng.uniform(-spread, spread, len(X)))[:, None]
    out = X64.copy()
    out[..., 1] = px * np.cos(delta) - py * np.sin(delta)
    out[..., 2] = px * np.sin(delta) + py * np.cos(delta)
    return out.astype(X.dtype)


def straddling_fraction(X):
    phi = np.arctan2(X[..., 2], X[..., 1])
    present = (X[..., 1] != 0) | (X[..., 2] != 0)
    up = np.any(present & (phi > np.pi / 2), axis=1)
    down = np.any(present & (phi < -np.pi / 2), axis=1)
    return float(np.mean(up & down))
