"""The CUDA path: training and inference on a GPU, mixed precision, and models
saved on a GPU machine loading on a CPU-only one. Marked ``gpu``
and skipped without CUDA (run them on a GPU machine:
``pytest tests/models/test_cuda.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, ConstituentSequencer, JetImager, save_model

from .conftest import SMALL, TINY, make_blob_images, prong_jets

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no cuda device"),
]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_trains_and_predicts_on_cuda(precision):
    X, y = make_blob_images(n=600)
    clf = CNNClassifier(
        max_epochs=5, batch_size=32, random_state=0, precision=precision, **TINY
    )
    clf.fit(X, y)
    assert clf.device == "auto"
    assert clf.device_.type == "cuda"
    X_new, y_new = make_blob_images(n=300, seed=1)
    proba = clf.predict_proba(X_new)
    assert proba.dtype == np.float32
    assert roc_auc_score(y_new, proba[:, 1]) > 0.95
    # the same network on the CPU gives the same probabilities (float32 there)
    on_cpu = clf.module_.to("cpu").eval()
    with torch.no_grad():
        cpu_proba = torch.softmax(on_cpu(torch.as_tensor(X_new)), dim=1).numpy()
    tolerance = 1e-4 if precision == "fp32" else 2e-2
    assert_allclose(proba, cpu_proba, atol=tolerance)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_particle_transformer_on_cuda(precision):
    X, y = prong_jets()
    pipe = make_pipeline(
        ConstituentSequencer(max_particles=12),
        CNNClassifier(
            "particle_transformer",
            max_epochs=6,
            random_state=0,
            precision=precision,
            **SMALL,
        ),
    ).fit(X, y)
    assert pipe[-1].device_.type == "cuda"
    X_new, y_new = prong_jets(n=300, seed=1)
    proba = pipe.predict_proba(X_new)
    assert np.isfinite(proba).all()
    assert roc_auc_score(y_new, proba[:, 1]) > 0.95


LOAD_ON_CPU = """
import sys, joblib, numpy as np, torch
from hepclf import load_model
assert not torch.cuda.is_available()
X = np.load(sys.argv[1])
for path in sys.argv[2:4]:
    model = joblib.load(path) if path.endswith(".joblib") else load_model(path)
    assert model[-1].device_.type == "cpu", model[-1].device_
    np.save(path + ".proba.npy", model.predict_proba(X))
"""


def test_saved_on_gpu_loads_on_a_cpu_only_machine(tmp_path):
    X, y = prong_jets()
    pipe = make_pipeline(
        JetImager(), CNNClassifier(max_epochs=2, random_state=0, **TINY)
    )
    pipe.fit(X, y)
    assert pipe[-1].device_.type == "cuda"
    expected = pipe.predict_proba(X[:200])
    np.save(tmp_path / "X.npy", X[:200])
    joblib.dump(pipe, tmp_path / "tagger.joblib")
    save_model(pipe, tmp_path / "tagger.hepclf")
    script = tmp_path / "load.py"
    script.write_text(textwrap.dedent(LOAD_ON_CPU))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    paths = [str(tmp_path / "tagger.joblib"), str(tmp_path / "tagger.hepclf")]
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "X.npy"), *paths],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    for path in paths:
        assert_allclose(np.load(path + ".proba.npy"), expected, atol=1e-4)
