"""``hepclf VERB events``: the demo on the bundled sample, train/evaluate on NanoAOD."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from hepclf.cli import main
from hepclf.datasets import load_event_sample
from hepclf.imaging import OBJECT_TYPES as T

NAMES = ("dy", "ttbar", "wjets")


def nanoaod_branches(X, weights=None):
    """NanoAOD branches of objects ``(type, pt, eta, phi)`` that pass the seed cuts.

    Leptons are tight and isolated, jets tight with a b-tag score far from
    the working point, so ``load_nanoaod`` gives ``X`` back.
    """

    def collection(codes):
        rows = [X[i][np.isin(X[i, :, 0], codes)] for i in range(len(X))]
        return rows

    electrons = collection([T["electron"]])
    muons = collection([T["muon"]])
    jets = collection([T["jet"], T["bjet"]])
    met = np.array([x[x[:, 0] == T["met"]][0] for x in X])
    n = len(X)
    out = {
        "run": np.ones(n, np.uint32),
        "luminosityBlock": np.ones(n, np.uint32),
        "event": np.arange(n, dtype=np.uint64),
        "genWeight": np.ones(n, np.float32) if weights is None else weights,
        "MET_pt": met[:, 1].astype(np.float32),
        "MET_phi": met[:, 3].astype(np.float32),
    }
    for prefix, rows in (("Electron", electrons), ("Muon", muons), ("Jet", jets)):
        for k, field in ((1, "pt"), (2, "eta"), (3, "phi")):
            out[f"{prefix}_{field}"] = [r[:, k].astype(np.float32) for r in rows]
        out[f"{prefix}_mass"] = [np.zeros(len(r), np.float32) for r in rows]
    out["Electron_charge"] = [np.ones(len(r), np.int32) for r in electrons]
    out["Electron_cutBased"] = [np.full(len(r), 4, np.int32) for r in electrons]
    out["Electron_pfRelIso03_all"] = [np.zeros(len(r), np.float32) for r in electrons]
    out["Muon_charge"] = [np.ones(len(r), np.int32) for r in muons]
    out["Muon_tightId"] = [np.ones(len(r), bool) for r in muons]
    out["Muon_pfRelIso04_all"] = [np.zeros(len(r), np.float32) for r in muons]
    out["Jet_jetId"] = [np.full(len(r), 6, np.int32) for r in jets]
    out["Jet_btagDeepFlavB"] = [
        np.where(r[:, 0] == T["bjet"], 0.95, 0.01).astype(np.float32) for r in jets
    ]
    out["Jet_hadronFlavour"] = [
        np.where(r[:, 0] == T["bjet"], 5, 0).astype(np.int32) for r in jets
    ]
    return out


def test_demo_events_writes_model_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    argv = ["demo", "events", "--max-epochs", "5", "--npix", "16", "--quiet"]
    assert main([*argv, "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bundled sample" in text
    accuracy = float(text.split("accuracy")[1].split()[0])
    assert accuracy > 0.6  # three classes: chance is 1/3
    assert "macro one-vs-rest AUC" in text
    assert "confusion matrix" in text
    assert (out / "confusion.png").stat().st_size > 5_000
    model = joblib.load(out / "model.joblib")
    assert model[0].npix == 16
    assert_array_equal(model.classes_, NAMES)


@pytest.fixture
def class_files(tmp_path):
    pytest.importorskip("uproot")
    from hepclf.datasets import write_nanoaod

    X, y = load_event_sample()
    files = {}
    for label, name in enumerate(NAMES):
        files[name] = tmp_path / f"{name}.root"
        write_nanoaod(files[name], nanoaod_branches(X[y == label][:150]))
    return files


def test_nanoaod_branches_round_trip(class_files):
    from hepclf.datasets import load_nanoaod

    X, y = load_event_sample()
    got = load_nanoaod(class_files["ttbar"]).objects
    want = X[y == 1][:150]
    assert_array_equal(got, want[:, : got.shape[1]])
    assert not want[:, got.shape[1] :].any()


def test_train_and_evaluate_events_commands(class_files, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    data = [f"{name}={path}" for name, path in class_files.items()]
    options = ["--max-epochs", "2", "--npix", "16", "--quiet"]
    assert main(["train", "events", *data, "-o", str(model), *options]) == 0
    text = capsys.readouterr().out
    for name in NAMES:
        assert f"{name}: 150 selected events" in text
    assert_array_equal(joblib.load(model).classes_, NAMES)
    plot = tmp_path / "cm.png"
    assert main(["evaluate", "events", str(model), *data, "--plot", str(plot)]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text
    assert plot.stat().st_size > 5_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "events", "ttbar.root"],
            "expected LABEL=FILES (e.g. ttbar='ttbar/*.root'), got 'ttbar.root'",
        ),
        (["train", "events", "a=x.root", "a=y.root"], "a class is given twice"),
    ],
)
def test_bad_class_files_are_named(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code != 0
    captured = capsys.readouterr()
    assert message in captured.err + str(exc.value.code)
