"""``hepclf VERB particles``: the demo on the bundled sample, generate, train, evaluate."""

from __future__ import annotations

import sys

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from hepclf.cli import main
from hepclf.datasets import load_particle_images

NAMES = ("electron", "muon", "photon", "proton")
FAST = ["--max-epochs", "2", "--quiet"]


def test_demo_particles_writes_model_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert main(["demo", "particles", "--max-epochs", "3", "--quiet",
                 "--output-dir", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "bundled sample" in text
    assert (
        "images                  360 (90 electron, 90 muon, 90 photon, 90 proton)"
        in text
    )
    # 3 epochs on 840 images: above the chance AUC of 0.5 (10 epochs give 0.8)
    assert float(text.split("macro one-vs-rest AUC")[1].split()[0]) > 0.6
    for name in ("confusion.png", "mistakes.png"):
        assert (out / name).stat().st_size > 5_000
    clf = joblib.load(out / "model.joblib")
    assert_array_equal(clf.classes_, NAMES)
    assert clf.augment_flip is True
    assert clf.augment_rot90 is True


def test_generate_train_evaluate(tmp_path, capsys):
    data = tmp_path / "images.h5"
    argv = ["generate", "particles", str(data), "--n-per-class", "10"]
    assert main([*argv, "--npix", "32", "--pixel-size", "3"]) == 0
    assert "wrote 40 images of 32 x 32 pixels" in capsys.readouterr().out
    images, labels = load_particle_images(data)
    assert images.shape == (40, 1, 32, 32)
    assert np.bincount(labels).tolist() == [10, 10, 10, 10]
    model = tmp_path / "model.joblib"
    assert main(["train", "particles", str(data), "-o", str(model), *FAST,
                 "--no-augment"]) == 0  # fmt: skip
    clf = joblib.load(model)
    assert_array_equal(clf.classes_, NAMES)
    assert clf.augment_flip is False
    capsys.readouterr()
    assert main(["evaluate", "particles", str(model), str(data)]) == 0
    text = capsys.readouterr().out
    assert (
        "images                  40 (10 electron, 10 muon, 10 photon, 10 proton)"
        in text
    )


def test_evaluate_without_matplotlib_claims_no_plot(tmp_path, capsys, monkeypatch):
    data, model = tmp_path / "images.h5", tmp_path / "model.joblib"
    assert main(["generate", "particles", str(data), "--n-per-class", "5",
                 "--npix", "16", "--pixel-size", "6"]) == 0  # fmt: skip
    assert main(["train", "particles", str(data), "-o", str(model), *FAST]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    plot = tmp_path / "confusion.png"
    assert main(["evaluate", "particles", str(model), str(data),
                 "--plot", str(plot)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "no plot written: matplotlib is missing" in text
    assert "confusion plot:" not in text
    assert not plot.exists()
