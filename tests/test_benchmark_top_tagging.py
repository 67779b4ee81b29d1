"""The top-tagging benchmark script (benchmarks/top_tagging.py), end to end."""

from __future__ import annotations

import csv
import importlib.util
import json
import shlex
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "top_tagging.py"


def _load_script(path, name):
    """Import a benchmark script (not a package module) from its file."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load_script(SCRIPT, "bench_top_tagging")


@pytest.fixture(scope="module")
def sample_path():
    ref = resources.files("hepclf.datasets").joinpath("data", "top_tagging_sample.h5")
    with resources.as_file(ref) as path:
        yield path


def _check_outputs(bench, out, level, results, *, min_mass_auc):
    rows = results[level]
    assert [r["tagger"] for r in rows] == list(bench.TAGGERS)
    for r in rows:
        assert 0 <= r["auc"] <= 1, r
        assert 0 <= r["auc_std"] < 0.2, r
        assert r["rejection_30"] >= 1, r
        assert r["rejection_50"] >= 1, r
        assert r["train_s"] > 0, r
        assert r["inference_jets_per_s"] > 0, r
    by_name = {r["tagger"]: r for r in rows}
    assert by_name["mass_cut"]["auc"] > min_mass_auc
    assert by_name["bdt_m_tau21_tau32"]["auc"] > min_mass_auc
    # the same numbers on disk: markdown (one line per tagger), CSV, JSON, scores
    table = (out / f"{level}.md").read_text()
    for description in bench.TAGGERS.values():
        assert f"| {description} |" in table
    with open(out / f"{level}.csv") as f:
        csv_rows = list(csv.DictReader(f))
    assert [r["tagger"] for r in csv_rows] == list(bench.TAGGERS)
    assert_allclose([float(r["auc"]) for r in csv_rows], [r["auc"] for r in rows])
    saved = json.loads((out / f"{level}.json").read_text())
    assert saved["level"] == level
    assert "machine" in saved
    assert saved["command"].startswith("python benchmarks/top_tagging.py")
    assert [r["tagger"] for r in saved["rows"]] == list(bench.TAGGERS)
    scores = np.load(out / f"{level}_scores.npz")
    assert len(scores["y_test"]) == rows[0]["n_test"]
    for name in bench.TAGGERS:
        assert scores[name].shape == scores["y_test"].shape
        assert np.all((scores[name] >= 0) & (scores[name] <= 1))
    assert (out / f"{level}_roc.png").stat().st_size > 1000
    assert f"## {level}" in (out / "results.md").read_text()


@pytest.mark.slow
def test_generated_jets_end_to_end_and_cached(bench, tmp_path):
    out = tmp_path / "out"
    argv = [
        *shlex.split(
            "--n-train 200 --n-test 200 --epochs 1 --shard-jets 100 --n-jobs 1"
        ),
        *shlex.split("--n-boot 20 --dpi 40 --output-dir"),
        str(out),
    ]
    results = bench.main(argv)
    assert set(results) == {"particle", "simple"}
    for level in ("particle", "simple"):
        _check_outputs(bench, out, level, results, min_mass_auc=0.6)
        assert results[level][0]["n_train"] == 200
        assert results[level][0]["n_test"] == 200
    cached = {p: p.stat().st_mtime_ns for p in (out / "cache").glob("*.h5")}
    assert len(cached) == 2 * 2 * 2  # levels x splits x shards

    # a rerun reads the cache: the same jets, nothing generated again
    again = bench.main([*argv, "--taggers", "mass_cut", "--levels", "particle"])
    assert again["particle"][0]["auc"] == results["particle"][0]["auc"]
    assert {p: p.stat().st_mtime_ns for p in (out / "cache").glob("*.h5")} == cached


@pytest.mark.slow
def test_user_file_end_to_end(bench, sample_path, tmp_path):
    out = tmp_path / "out"
    argv = shlex.split("--n-train 1000 --n-test -1 --epochs 1 --n-boot 20 --dpi 40")
    results = bench.main([*argv, "--data", str(sample_path), "--output-dir", str(out)])
    _check_outputs(bench, out, "data", results, min_mass_auc=0.85)
    row = results["data"][0]
    assert (row["n_train"], row["n_test"]) == (1000, 1000)


def test_file_jets_are_balanced_and_from_the_split(bench, sample_path):
    from hepclf.datasets import load_top_tagging

    X, y = bench.file_jets([sample_path], "train", 301)
    assert (int((y == 0).sum()), int((y == 1).sum())) == (150, 151)
    X_all, y_all = load_top_tagging(sample_path, split="train")
    # the first jets of each class, in file order
    for c in (0, 1):
        n = int((y == c).sum())
        assert_allclose(X[y == c], X_all[y_all == c][:n])
    X, y = bench.file_jets([sample_path], "test", -1)
    assert len(y) == 1000


def test_cut_tagger_orders_jets_by_the_cut_variable(bench):
    tagger = bench.CutTagger(center=172.5).fit([[100.0], [170.0], [300.0]], [0, 1, 0])
    proba = tagger.predict_proba([[172.5], [160.0], [190.0], [400.0]])
    assert_allclose(proba.sum(axis=1), 1)
    assert np.all(np.diff(proba[:, 1]) < 0)  # further from 172.5 GeV, less top-like
    one_sided = bench.CutTagger(sign=-1).fit([[0.3], [0.8]], ["top", "qcd"])
    assert list(one_sided.predict([[0.1], [0.9]])) == ["top", "qcd"]
    with pytest.raises(ValueError, match="one observable"):
        tagger.predict_proba(np.ones((2, 2)))


def test_bad_arguments(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--n-train", "-1"])  # -1 only with --data
    args = bench.parse_args(["--full"])
    assert (args.n_train, args.n_test) == (bench.FULL["n_train"], bench.FULL["n_test"])


def test_rejection_uncertainty_is_finite_when_few_background_jets_pass(bench):
    from hepclf.metrics import background_rejection

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 1000)
    # two background jets score above most of the signal: some bootstrap
    # resamples hold none of them, the uncertainty must still be finite
    score = np.where(y == 1, rng.uniform(0.5, 1.0, 2000), rng.uniform(0, 0.4, 2000))
    score[:2] = 0.99
    value, std = bench._rejection_and_std(y, score, 0.3, n_boot=200, seed=0)
    assert value == background_rejection(y, score, signal_efficiency=0.3) == 500
    # two passing jets: a Poisson-like relative uncertainty of about 1/sqrt(2)
    assert 0.4 * value < std < 1.0 * value
    # no background passes at all: infinite rejection, reported as such
    score[:2] = 0.0
    assert bench._rejection_and_std(y, score, 0.3, n_boot=50, seed=0) == (
        float("inf"),
        float("inf"),
    )


def test_npz_jets_are_balanced_and_checked(bench, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    X = rng.random((50, 3, 4))
    path = tmp_path / "jets.npz"
    np.savez(path, X_train=X, y_train=y, X_test=X[:10], y_test=y[:10])
    X_sel, y_sel = bench.npz_jets(path, "train", 21)
    assert (int((y_sel == 0).sum()), int((y_sel == 1).sum())) == (10, 11)
    for c in (0, 1):
        assert_allclose(X_sel[y_sel == c], X[y == c][: int((y_sel == c).sum())])
    assert len(bench.npz_jets(path, "test", -1)[1]) == 10
    np.savez(path, X_train=X, y_train=y)
    with pytest.raises(SystemExit, match=r"has no \['X_test', 'y_test'\]"):
        bench.npz_jets(path, "test", 10)


def test_pack_jets_round_trip(sample_path, tmp_path):
    pack_jets = _load_script(SCRIPT.parent / "pack_jets.py", "pack_jets")
    from hepclf import ConstituentSequencer
    from hepclf.datasets import load_top_tagging

    X, _ = load_top_tagging(sample_path, split="test")
    X = X[:200]
    back = pack_jets.unpack(*pack_jets.pack(X, 16))
    hardest = ConstituentSequencer(max_particles=16).fit_transform(X)
    # the same constituents in the same order, massless and float16-rounded
    assert_allclose(back[..., 1:], hardest[..., 1:], rtol=2e-3, atol=0.05)
    p = np.linalg.norm(hardest[..., 1:], axis=-1)
    assert_allclose(back[..., 0], p, rtol=2e-3, atol=0.05)
    X[3] = 0.0
    with pytest.raises(ValueError, match="jet 3 has no constituents"):
        pack_jets.pack(X, 16)
