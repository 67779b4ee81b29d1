from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hepclf import CNNClassifier, JetImager, SubstructureFeatures
from hepclf.persistence import load_model, save_model

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def fitted_pipeline(top_sample):
    X, y = top_sample
    labels = np.array(["qcd", "top"])[y]
    pipe = make_pipeline(
        JetImager(npix=16, eta_range=(-0.8, 0.8)),
        CNNClassifier(
            max_epochs=2, random_state=0, module__dense=(32,), module__dropout=0.1
        ),
    )
    return pipe.fit(X[:400], labels[:400])


def test_round_trip_identical_predictions(fitted_pipeline, top_sample, tmp_path):
    X, _ = top_sample
    path = save_model(fitted_pipeline, tmp_path / "tagger.hepclf")
    loaded = load_model(path)
    assert_array_equal(loaded.predict_proba(X), fitted_pipeline.predict_proba(X))
    assert_array_equal(loaded.predict(X[:10]), fitted_pipeline.predict(X[:10]))
    imager, clf = loaded[0], loaded[-1]
    assert imager.eta_range == (-0.8, 0.8)  # tuples stay tuples
    assert clf.get_params()["module__dense"] == (32,)
    assert clf.device == "auto"
    assert len(clf.history_) == 2
    assert_array_equal(clf.classes_, ["qcd", "top"])


def test_archive_holds_only_data(fitted_pipeline, tmp_path):
    path = save_model(fitted_pipeline, tmp_path / "tagger.hepclf")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert names == {
        "manifest.json",
        "model.cnnclassifier.safetensors",
        "model.cnnclassifier.history.json",
    }
    assert manifest["format"] == "hepclf-model"
    params = manifest["estimator"]["steps"][1][1]["params"]
    assert params["module"] == "jetcnn"
    assert params["optimizer"] == {"__class__": "torch.optim.Adam"}


def test_load_never_unpickles(fitted_pipeline, tmp_path, monkeypatch):
    path = save_model(fitted_pipeline, tmp_path / "tagger.hepclf")

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    load_model(path)


def test_unfitted_and_other_estimators(tmp_path):
    from hepclf.models import ResNet

    clf = CNNClassifier(ResNet, lr=3e-4, module__base_filters=8)
    loaded = load_model(save_model(clf, tmp_path / "a.hepclf"))
    assert loaded.module is ResNet
    assert loaded.get_params()["lr"] == 3e-4
    assert loaded.get_params()["module__base_filters"] == 8
    feats = SubstructureFeatures(features=["mass", "tau32"])
    assert load_model(save_model(feats, tmp_path / "b.hepclf")).features == [
        "mass",
        "tau32",
    ]


def test_training_only_params_are_dropped_and_listed(tmp_path, top_sample):
    from skorch.callbacks import ProgressBar

    clf = CNNClassifier(callbacks=[ProgressBar()])
    path = save_model(clf, tmp_path / "c.hepclf")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("manifest.json"))["estimator"]
    assert node["dropped_training_only_params"][0].startswith("callbacks=[<skorch")
    assert load_model(path).callbacks is None


def test_unsupported_things_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"StandardScaler.*joblib"):
        save_model(make_pipeline(StandardScaler()), tmp_path / "d.hepclf")

    class Unregistered(torch.nn.Module):
        pass

    with pytest.raises(ValueError, match="register_module"):
        save_model(CNNClassifier(Unregistered), tmp_path / "e.hepclf")


def test_bad_files(tmp_path, fitted_pipeline):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.hepclf")
    garbage = tmp_path / "garbage.hepclf"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"garbage\.hepclf: damaged"):
        load_model(garbage)
    good = save_model(fitted_pipeline, tmp_path / "good.hepclf")
    truncated = tmp_path / "truncated.hepclf"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"truncated\.hepclf"):
        load_model(truncated)
    evil = tmp_path / "evil.hepclf"
    with zipfile.ZipFile(evil, "w") as zf:
        manifest = {
            "format": "hepclf-model",
            "format_version": 1,
            "estimator": {"class": "os.system", "params": {}},
        }
        zf.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(ValueError, match=r"not on the allow-list: os\.system"):
        load_model(evil)
    newer = tmp_path / "newer.hepclf"
    with zipfile.ZipFile(newer, "w") as zf:
        zf.writestr(
            "manifest.json",
            json.dumps({"format": "hepclf-model", "format_version": 99}),
        )
    with pytest.raises(ValueError, match="upgrade hepclf"):
        load_model(newer)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks loading on a CPU-only machine"
)
def test_model_pinned_to_cuda_loads_on_cpu(fitted_pipeline, top_sample, tmp_path):
    X, _ = top_sample
    path = save_model(fitted_pipeline, tmp_path / "tagger.hepclf")
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    manifest["estimator"]["steps"][1][1]["params"]["device"] = "cuda"
    files["manifest.json"] = json.dumps(manifest).encode()
    cuda_path = tmp_path / "cuda.hepclf"
    with zipfile.ZipFile(cuda_path, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    with pytest.warns(UserWarning, match="no CUDA device"):
        loaded = load_model(cuda_path)
    assert loaded[-1].device == "cpu"
    assert_array_equal(
        loaded.predict_proba(X[:50]), fitted_pipeline.predict_proba(X[:50])
    )
