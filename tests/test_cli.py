from __future__ import annotations

import joblib
import pytest

from hepclf.cli import main


def test_demo_writes_model_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert (
        main(
            [
                "demo",
                "--max-epochs",
                "1",
                "--npix",
                "24",
                "--quiet",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "ROC AUC" in text
    assert "rejection 1/eps_B @ eps_S=0.3" in text
    assert (out / "roc.png").stat().st_size > 10_000
    model = joblib.load(out / "model.joblib")
    assert model[0].npix == 24


def test_train_and_evaluate_commands(tmp_path, capsys):
    from hepclf.datasets import load_top_tagging, write_top_tagging

    X, y = load_top_tagging(split="val")
    data = tmp_path / "jets.h5"
    write_top_tagging(data, X[:400], y[:400])
    model = tmp_path / "m.joblib"
    assert (
        main(
            [
                "train",
                str(data),
                "-o",
                str(model),
                "--max-epochs",
                "1",
                "--npix",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["evaluate", str(model), str(data)]) == 0
    assert "ROC AUC" in capsys.readouterr().out


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        main(["frobnicate"])
