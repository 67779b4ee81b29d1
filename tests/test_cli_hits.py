"""``hepclf VERB hits``: the demo on the bundled sample, generate, train and evaluate."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from hepclf.cli import build_parser, main
from hepclf.datasets import load_hits_csv, load_hits_text

NAMES = ("jpsi_ee", "jpsi_mumu", "pipimumu")
FAST = ["--max-epochs", "2", "--npix", "16", "--quiet"]


def test_demo_hits_writes_model_and_reports_the_seeds_aucs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    argv = ["demo", "hits", "--max-epochs", "4", "--npix", "16", "--quiet"]
    assert main([*argv, "--encoding", "per_hit", "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bundled sample" in text
    # 4 epochs on 630 events at 16 x 16 pixels: above chance, far from the study
    assert float(text.split("macro one-vs-rest AUC")[1].split()[0]) > 0.6
    assert float(text.split("AUC J/psi vs non-res.")[1].split()[0]) > 0.65
    assert float(text.split("AUC J/psi->ee vs mumu")[1].split()[0]) > 0.55
    assert (out / "confusion.png").stat().st_size > 5_000
    model = joblib.load(out / "model.joblib")
    assert model[0].encoding == "per_hit"
    assert model[0].npix == 16
    assert_array_equal(model.classes_, NAMES)


def test_generate_writes_both_formats_that_read_back_equal(tmp_path, capsys):
    out = tmp_path / "gen"
    argv = ["generate", "hits", str(out), "--process", "pipimumu"]
    assert main([*argv, "--n-events", "20", "--noise", "0.1"]) == 0
    assert "wrote 20 pipimumu events" in capsys.readouterr().out
    text = load_hits_text(out / "pipimumu.dat")
    csv = load_hits_csv(out / "pipimumu_csv")
    assert len(text.hits) == 20
    assert_array_equal(text.hits, csv.hits)
    assert (text.track_ids == 0).any()  # noise hits


def test_train_and_evaluate_on_text_and_csv_files(tmp_path, capsys):
    for k, process in enumerate(NAMES):
        main(["generate", "hits", str(tmp_path), "--process", process,
              "--n-events", "40", "--seed", str(k)])  # fmt: skip
    data = [
        f"jpsi_ee={tmp_path / 'jpsi_ee.dat'}",
        f"jpsi_mumu={tmp_path / 'jpsi_mumu_csv'}",
        f"pipimumu={tmp_path / 'pipi*.dat'}",
    ]
    model = tmp_path / "model.joblib"
    assert main(["train", "hits", *data, "-o", str(model), *FAST]) == 0
    capsys.readouterr()
    pipe = joblib.load(model)
    assert_array_equal(pipe.classes_, NAMES)
    assert main(["evaluate", "hits", str(model), *data]) == 0
    text = capsys.readouterr().out
    assert "120 (40 jpsi_ee, 40 jpsi_mumu, 40 pipimumu)" in text
    assert "AUC J/psi vs non-res." in text
    # evaluate scores what train would read: the same events, the same order
    hits = load_hits_text(tmp_path / "jpsi_ee.dat").hits
    proba = pipe.predict_proba(hits)
    assert proba.shape == (40, 3)
    assert np.allclose(proba.sum(1), 1)


def test_bad_class_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "hits", "jpsi_ee"])
    err = capsys.readouterr().err
    assert "expected LABEL=FILES (e.g. jpsi_ee=jpsi_ee.dat), got 'jpsi_ee'" in err
    assert "ttbar" not in err  # the example is the hits kind's, not the events'
