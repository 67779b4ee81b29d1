"""The drift-chamber study (benchmarks/hits.py): its pieces, and end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "hits.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("bench_hits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hits_of(rows):
    """One event's padded hits from (x, y, charge, layer) rows."""
    out = np.zeros((1, 6, 7), np.float32)
    out[0, : len(rows), :4] = rows
    return out


def test_hit_features_by_hand(study):
    # four hits at radius 100, 100, 500 and 700 mm; two in the outer layers
    X = hits_of(
        [
            [100, 0, 100, 0],
            [0, 100, 300, 1],
            [300, 400, 200, 37],
            [0, -700, 1000, 40],
        ]
    )
    F = dict(zip(study.HIT_FEATURES, study.hit_features(X)[0], strict=True))
    assert F["n_hits"] == 4
    assert F["n_layers_hit"] == 4
    assert F["n_outer_hits"] == 2
    assert F["charge_sum"] == 1600
    assert F["charge_mean"] == 400
    assert F["charge_median"] == 250
    # the lowest 70 % of 4 hits are ceil(2.8) = 3: (100 + 200 + 300) / 3
    assert F["truncated_mean_70"] == 200
    assert F["truncated_mean_50"] == 150
    assert F["outer_truncated_mean_70"] == 600  # (200 + 1000) / 2
    assert F["outer_charge_mean"] == 600
    assert F["radius_max"] == 700
    assert F["radius_mean"] == pytest.approx(350)
    assert F["charge_weighted_radius"] == pytest.approx(
        (100 * 100 + 300 * 100 + 200 * 500 + 1000 * 700) / 1600
    )


def test_hit_features_of_an_empty_event_are_nan_not_errors(study):
    X = np.concatenate([hits_of([[100, 0, 100, 0]]), np.zeros((1, 6, 7))])
    F = study.hit_features(X)
    assert F[1, study.HIT_FEATURES.index("n_hits")] == 0
    assert np.isnan(F[1, study.HIT_FEATURES.index("charge_mean")])
    assert not np.isnan(F[0]).any() or np.isnan(
        F[0, study.HIT_FEATURES.index("outer_charge_mean")]
    )


def test_leading_track_pt_is_sorted_per_event(study):
    truth = pd.DataFrame(
        {
            "event": [0, 0, 0, 0, 1, 1, 1, 1],
            "particle": ["pi+", "pi-", "mu+", "mu-", "pi+", "pi-", "e+", "e-"],
            "px": [0.1, 0.2, 0.3, 1.2, 0.0, 0.1, 2.0, 0.0],
            "py": [0.0, 0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.5],
            "pz": [9.0] * 8,  # longitudinal momentum does not count
        }
    )
    assert_allclose(study.leading_track_pt(truth, 3)[:2], [[1.2, 0.5], [2.0, 0.5]])
    assert np.isnan(study.leading_track_pt(truth, 3)[2]).all()  # no tracks


def test_binary_aucs_from_three_class_probabilities(study):
    y = np.array([0, 0, 1, 1, 2, 2])
    perfect = np.eye(3)[y]
    assert study.auc_ee_mumu(y, perfect) == 1.0
    assert study.auc_jpsi_cont(y, perfect) == 1.0
    # ee vs mumu only looks at the J/psi events and the ee : mumu ratio
    swapped = perfect[:, [1, 0, 2]]
    assert study.auc_ee_mumu(y, swapped) == 0.0
    assert study.auc_jpsi_cont(y, swapped) == 1.0


def test_model_names(study):
    assert study._parse("cnn:per_hit@64")[:2] == ("xy", "per_hit")
    assert study._parse("cnn:per_hit@64")[2]["npix"] == 64
    assert study._parse("unrolled:all@20ep")[1] == list(study.ENCODINGS)
    assert study._parse("unrolled:all@20ep")[2]["epochs"] == 20
    options = study._parse("unrolled:per_hit@128@lr1e-3")[2]
    assert (options["npix"], options["lr"]) == (128, 1e-3)
    with pytest.raises(ValueError, match="unknown option 'x'"):
        study._parse("cnn:per_hit@x")
    # @roll turns the training events about the beam: unrolled images only
    net = study.build("unrolled:per_hit@128@roll", seed=0)[1]
    assert (net.augment_roll, net.augment_flip) == ("horizontal", False)
    assert study.build("cnn:per_hit@flip", seed=0)[1].augment_flip == "horizontal"
    assert study.build("unrolled:per_hit", seed=0)[1].augment_roll is False
    with pytest.raises(ValueError, match="@roll needs the unrolled geometry"):
        study._parse("cnn:per_hit@roll")
    # resnet: the seed ResNet on unrolled images, @f<n> base filters
    encoder, net = study.build("resnet:per_hit@128@f16@roll", seed=0)
    assert (encoder.geometry, encoder.npix) == ("unrolled", 128)
    assert (net.module, net.module__base_filters) == ("resnet", 16)
    assert net.module__blocks == (1, 1, 1, 1, 1)
    assert study.build("resnet:per_hit", seed=0)[1].module__base_filters == 8
    # regressors: "cnn" is per_hit at npix; other names as for the classifiers
    encoder, net = study.build_regressor("cnn", seed=0, npix=48)
    assert (encoder.geometry, encoder.encoding, encoder.npix) == ("xy", "per_hit", 48)
    encoder, net = study.build_regressor(
        "unrolled:per_hit@128@lr1e-3", seed=0, epochs=4
    )
    assert (encoder.geometry, encoder.npix, net.lr, net.max_epochs) == (
        "unrolled",
        128,
        1e-3,
        4,
    )
    assert (
        study.build_regressor("unrolled:per_hit@7ep", seed=0, epochs=4)[1].max_epochs
        == 7
    )
    for name in ("hgb", "cnn:binary", "unrolled:per_hit@64", "cnn:all"):
        assert hasattr(study.build(name, seed=0), "fit"), name
    with pytest.raises(ValueError, match="unknown"):
        study.build("cnn:nope", seed=0)
    with pytest.raises(ValueError, match="unknown model"):
        study.build("mlp", seed=0)
    assert study._split_pair("cnn:per_hit,cnn:binary") == ("cnn:per_hit", "cnn:binary")
    assert study._split_pair("cnn:per_hit:hgb") == ("cnn:per_hit", "hgb")


def test_vote_row_scores_the_mean_probability(study):
    # two seeds that each get one class of events wrong: their mean is right
    y = np.array([0, 0, 1, 1, 2, 2])
    eye = np.eye(3)
    a = eye[[0, 0, 1, 1, 2, 2]] * 0.6 + 0.1
    a[0] = [0.3, 0.5, 0.2]  # seed a calls an ee event mumu
    b = eye[[0, 0, 1, 1, 2, 2]] * 0.6 + 0.1
    b[2] = [0.45, 0.35, 0.2]  # seed b calls a mumu event ee
    row, vote = study.vote_row("net", 0.1, y, [a, b], [10.0, 12.0], n_boot=20)
    assert_allclose(vote[0], (a + b) / 2)
    assert study.accuracy(y, a) == study.accuracy(y, b) == pytest.approx(5 / 6)
    assert row["accuracy"] == 1.0
    assert (row["model"], row["seeds"], row["train_s"]) == ("net_vote", 1, 22.0)
    assert row["auc_ee_mumu"] == study.auc_ee_mumu(y, (a + b) / 2)


@pytest.mark.slow
def test_small_run_end_to_end(study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    argv = ["--small", "--output-dir", str(out), "--noise", "0", "0.3"]
    models = ("hgb", "cnn:per_hit", "resnet:per_hit@roll")
    argv += ["--models", *models, "--regression"]
    assert study.main(argv) == 0
    result = json.loads((out / "hits_val.json").read_text())
    rows = {(r["model"], r["noise"]): r for r in result["rows"]}
    assert set(rows) == {(m, n) for m in models for n in (0, 0.3)}
    for row in rows.values():
        assert row["n_eval"] == 3 * study.SMALL["n_val"]
    # J/psi against the non-resonant continuum is easy even for small samples
    assert rows["hgb", 0]["auc_jpsi_cont"] > 0.75
    assert [r["model"] for r in result["regression"]] == [
        "hgb (track pT)",
        "cnn (track pT)",
    ] * 2
    assert all(0 < r["std"] < 1 for r in result["regression"])
    text = (out / "hits_val.md").read_text()
    assert "| cnn:per_hit | 0% |" in text
    assert "Paired differences" in text
    assert (out / "hits_val_roc.png").stat().st_size > 5_000
    with np.load(out / "hits_val_probas.npz") as probas:
        assert probas["cnn:per_hit@0"].shape == (1, 3 * study.SMALL["n_val"], 3)
        assert_array_equal(np.bincount(probas["y"]), [study.SMALL["n_val"]] * 3)
        first = probas["resnet:per_hit@roll@0.3"]
    stored = sorted(p.name for p in (out / "hits_val_seeds").iterdir())
    assert stored == sorted(
        [f"{m}@{n}-seed0.npz" for m in models for n in (0, 0.3)]
        + ["hgb@0-tuning.json", "hgb@0.3-tuning.json"]
    )

    def no_training(*args, **kwargs):
        raise AssertionError("a stored seed was trained again")

    monkeypatch.setattr(study, "build", no_training)
    monkeypatch.setattr(study, "tune_hit_hgb", no_training)
    assert study.main([*argv, "--resume"]) == 0  # the regression trains again
    with np.load(out / "hits_val_probas.npz") as probas:
        assert_array_equal(probas["resnet:per_hit@roll@0.3"], first)


@pytest.fixture(scope="module")
def ceiling():
    path = SCRIPT.with_name("hits_ceiling.py")
    spec = importlib.util.spec_from_file_location("bench_hits_ceiling", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ceiling_features_by_hand(ceiling):
    # leading track along x; the second at 90 degrees with the opposite charge
    tracks = np.array(
        [[[3.0, 0.0, 4.0, 1.0], [0.0, 1.0, 0.0, -1.0], [0, -0.5, 0, 1], [0, 0, 1, -1]]]
    )
    tracks[0, 3, :2] = [-0.1, 0.0]
    assert_allclose(ceiling.features(tracks, "pt"), [[3.0, 1.0, 0.5, 0.1]])
    assert_allclose(
        ceiling.features(tracks, "momenta"), [[0.5, 1.0, np.hypot(0.1, 1), 5.0]]
    )
    transverse = ceiling.features(tracks, "transverse")
    assert_allclose(transverse[0, 4:7], [np.pi / 2, -np.pi / 2, np.pi])
    assert_allclose(transverse[0, 7:], [-1.0, 1.0, -1.0])
    assert_allclose(ceiling.features(tracks, "full")[0, 10:], [4.0, 0.0, 0.0, 1.0])


def test_ceiling_tracks_are_the_truth_sorted_by_pt(ceiling):
    tracks = ceiling.truth_momenta("jpsi_mumu", 20, seed=3)
    assert tracks.shape == (20, 4, 4)
    pt = np.hypot(tracks[..., 0], tracks[..., 1])
    assert (np.diff(pt, axis=1) <= 0).all()
    assert_array_equal(np.sort(tracks[..., 3], axis=1), [[-1, -1, 1, 1]] * 20)
    # the J/psi's leptons carry ~1.5 GeV/c: the two leading tracks are stiff
    p = np.linalg.norm(tracks[..., :3], axis=-1)
    assert np.median(p[:, :2]) > 1.2


@pytest.mark.slow
def test_ceiling_runs_and_longitudinal_momenta_help(ceiling, capsys):
    results = ceiling.main(["--n-events", "600", "--n-boot", "20"])
    assert set(results) == set(ceiling.FEATURE_SETS)
    assert results["transverse"] > 0.9
    assert results["full"] > results["pt"] + 0.01
    assert "± test" in capsys.readouterr().out
