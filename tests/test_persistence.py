from __future__ import annotations

import functools
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


# -- crafted archives -----------------------------------------------------------------
# Each case edits the manifest (or a member) of a saved fitted pipeline; load_model
# must refuse the file with a ValueError naming the problem, before any network is
# initialised and without creating anything on disk.


def clf_node(manifest):
    return manifest["estimator"]["steps"][1][1]


def set_param(key, value):
    def edit(manifest, files, tmp_path):
        clf_node(manifest)["params"][key] = (
            value(tmp_path) if callable(value) else value
        )

    return edit


def edit_node(change):
    def edit(manifest, files, tmp_path):
        change(clf_node(manifest))

    return edit


def replace_member(name, blob):
    def edit(manifest, files, tmp_path):
        files[clf_node(manifest)[name]] = blob

    return edit


HOSTILE = [
    (
        "pipeline-memory",
        lambda m, f, t: m["estimator"]["params"].update(memory=str(t / "cache")),
        r"model\.memory: .*memory=None",
    ),
    ("callbacks", set_param("callbacks", "disable"), r"callbacks: is 'disable'"),
    (
        "callback-parameter",
        set_param("callbacks__print_log__sink", "print"),
        "'callbacks__print_log__sink' is not a parameter a saved CNNClassifier may set",
    ),
    (
        "train-split",
        set_param("train_split", 0.2),
        r"train_split: is 0\.2, but a saved model always has train_split=None",
    ),
    (
        "unknown-estimator",
        edit_node(lambda node: node.update({"class": "sklearn.svm.SVC"})),
        (
            r"model\.cnnclassifier: names an estimator not on the allow-list: "
            r"sklearn\.svm\.SVC"
        ),
    ),
    (
        "unknown-class",
        set_param("optimizer", {"__class__": "subprocess.Popen"}),
        r"optimizer: names a class not on the allow-list: subprocess\.Popen",
    ),
    (
        "class-as-criterion",
        set_param("criterion", {"__class__": "torch.optim.SGD"}),
        r"criterion: the class torch\.optim\.SGD is not allowed here",
    ),
    (
        "class-in-data",
        set_param("module__dense", {"__class__": "torch.nn.NLLLoss"}),
        r"module__dense: the class torch\.nn\.NLLLoss is not allowed here",
    ),
    (
        "unknown-parameter",
        set_param("shell", "rm -rf ~"),
        "'shell' is not a parameter of CNNClassifier",
    ),
    (
        "unknown-module-argument",
        set_param("module__evil", 1),
        (
            "'module__evil' is not a parameter of CNNClassifier: JetCNN takes no "
            "argument 'evil'"
        ),
    ),
    (
        "bad-precision",
        set_param("precision", "fp8"),
        "The 'precision' parameter of CNNClassifier must be a str among",
    ),
    (
        "negative-lr",
        set_param("lr", -1.0),
        "The 'lr' parameter of CNNClassifier must be a float in the range",
    ),
    (
        "bad-imager-parameter",
        lambda m, f, t: m["estimator"]["steps"][0][1]["params"].update(npix=0),
        "The 'npix' parameter of JetImager must be",
    ),
    ("bad-device", set_param("device", "evil:0"), "'evil:0' is not a torch device"),
    (
        "params-not-object",
        edit_node(lambda node: node.update(params=[])),
        r"model\.cnnclassifier\.params: must be an object, got a list",
    ),
    (
        "fitted-property",
        edit_node(lambda node: node["fitted"].update(device_="cpu")),
        "'device_' is not a fitted attribute",
    ),
    (
        "fitted-internal",
        edit_node(lambda node: node["fitted"].update(initialized_=True)),
        "'initialized_' is not a fitted attribute",
    ),
    (
        "huge-dtype",
        edit_node(
            lambda node: node["fitted"]["classes_inferred_"].update(dtype="<U100000")
        ),
        "dtype '<U100000' is not allowed",
    ),
    (
        "tag-with-extra-keys",
        edit_node(lambda node: node["fitted"]["classes_inferred_"].update(x=1)),
        r"classes_inferred_: a __array__ entry has exactly the keys",
    ),
    (
        "missing-estimator",
        lambda m, f, t: m.pop("estimator"),
        r"manifest\.json: missing key\(s\) \['estimator'\]",
    ),
    (
        "missing-steps",
        lambda m, f, t: m["estimator"].pop("steps"),
        r"model: missing key\(s\) \['steps'\]",
    ),
    (
        "unknown-key",
        edit_node(lambda node: node.update(hook="import os")),
        r"model\.cnnclassifier: unknown key\(s\) \['hook'\]",
    ),
    (
        "manifest-not-object",
        lambda m, f, t: b'["hepclf-model"]',
        "not a hepclf model archive",
    ),
    (
        "version-not-int",
        lambda m, f, t: m.update(format_version="1"),
        "format_version must be a positive integer, got '1'",
    ),
    (
        "malformed-json",
        lambda m, f, t: b'{"format": "hepclf-model", ',
        "manifest.json is not JSON",
    ),
    ("deep-nesting", lambda m, f, t: b"[" * 100_000, "manifest.json is not JSON"),
    (
        "missing-weights",
        edit_node(lambda node: node.update(weights="nope.safetensors")),
        r"weights: names 'nope\.safetensors', which is not a file in the archive",
    ),
    (
        "weights-not-safetensors",
        replace_member("weights", b"\x00" * 64),
        "is not a safetensors file",
    ),
    (
        "weights-wrong-shape",
        set_param("module__dense", {"__tuple__": [16]}),
        (
            r"the weights do not fit the network the manifest describes \(of another "
            r"shape or dtype: classifier\.1\.bias"
        ),
    ),
    (
        "history-not-list",
        replace_member("history", b'{"epoch": 1}'),
        "is not a list of epochs",
    ),
]


def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("case", "edit", "message"), HOSTILE, ids=[case for case, *_ in HOSTILE]
)
def test_crafted_archive_fails_before_anything_is_built(
    case, edit, message, fitted_pipeline, tmp_path, monkeypatch
):
    from skorch.callbacks import Checkpoint

    with zipfile.ZipFile(save_model(fitted_pipeline, tmp_path / "good.hepclf")) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    raw = edit(manifest, files, tmp_path)  # bytes: the new manifest.json as is
    files["manifest.json"] = raw if isinstance(raw, bytes) else json.dumps(manifest)
    hostile = tmp_path / "hostile.hepclf"
    with zipfile.ZipFile(hostile, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # where a relative path would land
    before = listing(tmp_path)

    built = []
    init = CNNClassifier.__init__

    @functools.wraps(init)
    def counting_init(self, *args, **kwargs):
        built.append(kwargs)
        init(self, *args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("initialised from a crafted archive")

    monkeypatch.setattr(CNNClassifier, "__init__", counting_init)
    monkeypatch.setattr(CNNClassifier, "initialize", forbidden)
    monkeypatch.setattr(Checkpoint, "initialize", forbidden)
    with pytest.raises(ValueError, match=message) as info:
        load_model(hostile)
    assert str(info.value).startswith(f"{hostile}: ")
    assert listing(tmp_path) == before  # nothing created, nothing removed
    # only the weights check builds a throwaway module, on the meta device
    assert built == [] or case == "weights-wrong-shape"


def test_paths_and_objects_are_not_saved(tmp_path):
    from skorch.dataset import ValidSplit

    clf = CNNClassifier(
        checkpoint_dir=tmp_path / "run1",
        torch_load_kwargs={"weights_only": True},
        train_split=ValidSplit(5),
    )
    path = save_model(clf, tmp_path / "f.hepclf")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("manifest.json"))["estimator"]
    assert node["params"]["checkpoint_dir"] is None
    assert node["params"]["torch_load_kwargs"] is None
    assert [d.split("=")[0] for d in node["dropped_training_only_params"]] == [
        "train_split",
        "torch_load_kwargs",
        "checkpoint_dir",
    ]
    loaded = load_model(path)
    assert loaded.checkpoint_dir is None
    assert not (tmp_path / "run1").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("checkpoint_dir", "evil"),
        ("checkpoint_dir", "{tmp}/evil"),
        ("torch_load_kwargs", {"weights_only": False}),
    ],
)
def test_paths_in_older_archives_are_ignored(
    key, value, fitted_pipeline, top_sample, tmp_path, monkeypatch
):
    # archives written before save_model dropped these still load; the value is
    # ignored (never used: no directory is created), with a warning naming it
    from skorch.callbacks import Checkpoint

    X, _ = top_sample
    value = value.format(tmp=tmp_path) if isinstance(value, str) else value
    path = save_model(fitted_pipeline, tmp_path / "good.hepclf")
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    clf_node(manifest)["params"][key] = value
    files["manifest.json"] = json.dumps(manifest).encode()
    older = tmp_path / "older.hepclf"
    with zipfile.ZipFile(older, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    before = listing(tmp_path)

    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint was set up from a file")

    monkeypatch.setattr(Checkpoint, "initialize", forbidden)
    with pytest.warns(UserWarning, match=rf"cnnclassifier\.{key}=.* is ignored"):
        loaded = load_model(older)
    assert getattr(loaded[-1], key) is None
    assert listing(tmp_path) == before
    assert_array_equal(
        loaded.predict_proba(X[:50]), fitted_pipeline.predict_proba(X[:50])
    )
