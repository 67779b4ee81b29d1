"""``hepclf export``: joblib file -> ONNX -> ONNX Runtime in a process without hepclf.

This is the executable proof of docs/user_guide/cpp.rst: the exported file
alone (with onnxruntime and numpy) reproduces ``predict_proba``.
"""

from __future__ import annotations

import subprocess
import sys

import joblib
import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

from hepclf.cli import main

from .conftest import rotate_to_seam

#: run in a fresh interpreter: no hepclf, no torch, no sklearn
FRESH = """
import sys
import numpy as np
import onnxruntime as ort

model, inputs, output = sys.argv[1:4]
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
meta = session.get_modelmeta().custom_metadata_map
assert meta["input_name"] == "constituents", meta
X = np.load(inputs)
(proba,) = session.run(["probabilities"], {"constituents": X})
np.save(output, proba)
for name in ("hepclf", "torch", "sklearn", "skorch"):
    assert name not in sys.modules, name + " was imported"
print("classes", meta["classes"])
"""


def test_export_round_trip_in_a_fresh_process(tagger, top_data, tmp_path, capfd):
    model = tmp_path / "tagger.joblib"
    joblib.dump(tagger, model)
    onnx_path = tmp_path / "tagger.onnx"
    assert main(["export", str(model), "-o", str(onnx_path)]) == 0
    text, err = capfd.readouterr()
    assert "constituents" in text
    assert "probabilities" in text
    # torch's exporter logs "torchvision is not installed. Skipping ..." per op
    assert "torchvision" not in text + err

    X = top_data[2]
    X = np.concatenate([X[:500], rotate_to_seam(X[500:]), np.zeros_like(X[:3])])
    np.save(tmp_path / "X.npy", X)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH,
            str(onnx_path),
            str(tmp_path / "X.npy"),
            str(tmp_path / "proba.npy"),
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "classes [0, 1]" in done.stdout
    proba = np.load(tmp_path / "proba.npy")
    np.testing.assert_allclose(proba, tagger.predict_proba(X), rtol=0, atol=1e-5)


def test_export_command_reports_unsupported_models(tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    model = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), model)
    assert main(["export", str(model), "-o", str(tmp_path / "lr.onnx")]) == 1
    err = capsys.readouterr().err
    assert "LogisticRegression" in err
    assert not (tmp_path / "lr.onnx").exists()


def test_export_command_writes_a_regressor(tmp_path, capsys):
    from hepclf import CNNRegressor

    rng = np.random.default_rng(0)
    X = rng.random((64, 1, 6, 6)).astype(np.float32)
    y = 10.0 * X.sum(axis=(1, 2, 3))
    reg = CNNRegressor(
        max_epochs=2,
        module__conv_blocks=((4,),),
        module__pool_size=2,
        module__dense=(8,),
        module__dropout=0.0,
        random_state=0,
    ).fit(X, y)
    model = tmp_path / "reg.joblib"
    joblib.dump(reg, model)
    assert main(["export", str(model), "-o", str(tmp_path / "reg.onnx")]) == 0
    out = capsys.readouterr().out
    assert "output predictions: float32 ['batch', 1]" in out
    assert "checked against predict with ONNX Runtime" in out
    assert "classes" not in out
