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


def _check_outputs(bench, out, level, split, result, taggers, *, min_mass_auc):
    rows = result["rows"]
    names = [r["tagger"] for r in rows]
    assert [n for n in names if not n.endswith("_vote")] == taggers
    for r in rows:
        assert 0 <= r["auc"] <= 1, r
        assert 0 <= r["auc_std"] < 0.2, r
        assert r["rejection_30"] >= 1, r
        assert r["rejection_50"] >= 1, r
        assert r["train_s"] > 0, r
        seeds = r["seeds"]
        assert len(r["auc_per_seed"]) == seeds
        assert (r["auc_seed_std"] is None) == (seeds == 1)
    by_name = {r["tagger"]: r for r in rows}
    assert by_name["mass_cut"]["auc"] > min_mass_auc
    stem = f"{level}_{split}"
    table = (out / f"{stem}.md").read_text()
    for r in rows:
        assert f"| {r['description']} |" in table
    with open(out / f"{stem}.csv") as f:
        csv_rows = list(csv.DictReader(f))
    assert [r["tagger"] for r in csv_rows] == names
    assert_allclose([float(r["auc"]) for r in csv_rows], [r["auc"] for r in rows])
    saved = json.loads((out / f"{stem}.json").read_text())
    assert (saved["level"], saved["split"]) == (level, split)
    assert saved["data_version"] == bench.DATA_VERSION
    assert "machine" in saved
    assert saved["command"].startswith("python benchmarks/top_tagging.py")
    assert [r["tagger"] for r in saved["rows"]] == names
    with np.load(out / f"{stem}_scores.npz") as scores:
        assert len(scores["y_eval"]) == rows[0]["n_eval"]
        for r in rows:
            if r["tagger"].endswith("_vote"):
                continue
            for k in range(r["seeds"]):
                score = scores[f"{r['tagger']}_seed{k}"]
                assert score.shape == scores["y_eval"].shape
                assert np.all((score >= 0) & (score <= 1))
    assert (out / f"{stem}_roc.png").stat().st_size > 1000
    assert f"## {level}, {split} split" in (out / f"results_{split}.md").read_text()


@pytest.mark.slow
def test_generated_jets_end_to_end_and_cached(bench, tmp_path):
    out = tmp_path / "out"
    taggers = ["mass_cut", "bdt_m_tau21_tau32", "jetcnn", "best"]
    argv = [
        *shlex.split(
            "--n-train 200 --n-val 100 --n-test 200 --epochs 1 --shard-jets 100 "
            "--n-jobs 1 --seeds 0 1 --timing-repeats 1 --n-boot 20 --dpi 40"
        ),
        "--taggers",
        *taggers,
        "--output-dir",
        str(out),
    ]
    results = bench.main([*argv, "--split", "test"])
    assert set(results) == {"particle", "simple"}
    for level in ("particle", "simple"):
        result = results[level]
        _check_outputs(bench, out, level, "test", result, taggers, min_mass_auc=0.6)
        assert result["rows"][0]["n_eval"] == 200
        # two seeds of each network, and their soft vote
        by_name = {r["tagger"]: r for r in result["rows"]}
        assert by_name["jetcnn"]["seeds"] == 2
        assert by_name["mass_cut"]["seeds"] == 1  # no randomness in training
        assert "jetcnn_vote" in by_name
        # the BDT was tuned on the validation jets: every grid point was scored
        trials = result["tuning"]["bdt_m_tau21_tau32"]
        assert len(trials) == len(list(bench.ParameterGrid(bench.BDT_GRID)))
        best = max(trials, key=lambda t: t["val_auc"])
        assert by_name["bdt_m_tau21_tau32"]["hyperparameters"] == best["params"]
        # paired differences for the pairs that ran
        pairs = {d["pair"]: d for d in result["differences"]}
        assert set(pairs) == set(bench.COMPARE)  # all three ran
        assert pairs["best:jetcnn"]["seeds"] == 2
        assert pairs["jetcnn:bdt_m_tau21_tau32"]["seeds"] == 2
        assert pairs["best:jetcnn"]["paired_bootstrap_std"] > 0
    cached = {p: p.stat().st_mtime_ns for p in (out / "cache").glob("*.h5")}
    assert len(cached) == 2 * (2 + 1 + 2)  # levels x (train + val + test shards)
    assert all(p.name.startswith(f"v{bench.DATA_VERSION}_hepclf") for p in cached)

    # train, val and test jets are different jets, at both levels
    from hepclf.datasets import load_top_tagging

    for level in ("particle", "simple"):
        rows = {}
        for split in bench.SPLITS:
            X = np.concatenate(
                [
                    load_top_tagging(p)[0]
                    for p in sorted(out.joinpath("cache").glob(f"*_{level}_{split}_*"))
                ]
            )
            rows[split] = {x.tobytes() for x in X}
            assert len(rows[split]) == len(X)
        assert not rows["train"] & rows["val"]
        assert not rows["train"] & rows["test"]
        assert not rows["val"] & rows["test"]

    # a rerun on the validation split reads the cache: nothing generated again
    again = bench.main([*argv, "--taggers", "mass_cut", "--levels", "particle"])
    assert again["particle"]["rows"][0]["n_eval"] == 100
    assert (out / "particle_val.md").exists()
    assert {p: p.stat().st_mtime_ns for p in (out / "cache").glob("*.h5")} == cached


@pytest.mark.slow
def test_user_file_end_to_end(bench, sample_path, tmp_path):
    out = tmp_path / "out"
    taggers = ["mass_cut", "bdt_m_tau32", "jetcnn"]
    argv = shlex.split(
        "--n-train 1000 --n-val -1 --n-test -1 --epochs 1 --n-boot 20 --dpi 40 "
        "--timing-repeats 1 --split test"
    )
    results = bench.main(
        [
            *argv,
            "--taggers",
            *taggers,
            "--data",
            str(sample_path),
            "--output-dir",
            str(out),
        ]
    )
    _check_outputs(
        bench, out, "data", "test", results["data"], taggers, min_mass_auc=0.85
    )
    assert results["data"]["rows"][0]["n_eval"] == 1000


def test_shard_seeds(bench):
    seeds = {
        (split, k): bench._shard_seed(0, split, k)
        for split in bench.SPLITS
        for k in range(50)
    }
    # independent for every split and shard ...
    assert len(set(seeds.values())) == len(seeds)
    # ... the same for both detector levels (one seed per shard, whatever the level),
    # and never a seed of the first data version, which seeded [seed, level, split, k]
    old = {
        int(np.random.SeedSequence([0, level, split, k]).generate_state(1)[0])
        for level in range(2)
        for split in range(2)
        for k in range(50)
    }
    assert not old & set(seeds.values())
    assert bench._shard_seed(1, "train", 0) != bench._shard_seed(0, "train", 0)


def test_cache_names_carry_the_versions(bench):
    import hepclf

    name = bench._cache_name("simple", "val", 3, 7, 100)
    assert name == (
        f"v{bench.DATA_VERSION}_hepclf{hepclf.__version__}_simple_val_seed3"
        "_shard0007_n100.h5"
    )


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
    with pytest.raises(SystemExit):
        bench.parse_args(["--compare", "best-jetcnn"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--seeds", "0", "0"])
    args = bench.parse_args(["--full"])
    assert (args.n_train, args.n_val, args.n_test) == tuple(
        bench.FULL[k] for k in ("n_train", "n_val", "n_test")
    )
    assert args.split == "val"  # scoring the test jets must be asked for


def test_rejection_uncertainty_is_finite_when_few_background_jets_pass(bench):
    from hepclf.metrics import background_rejection

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 1000)
    # two background jets score above most of the signal: some bootstrap
    # resamples hold none of them, the uncertainty must still be finite
    score = np.where(y == 1, rng.uniform(0.5, 1.0, 2000), rng.uniform(0, 0.4, 2000))
    score[:2] = 0.99

    def row(*scores):
        return bench.summarise(
            "x", y, list(scores), [1.0], [None], n_boot=200, boot_seed=0
        )

    r = row(score)
    assert r["rejection_30"] == background_rejection(y, score, signal_efficiency=0.3)
    assert r["rejection_30"] == 500
    # two passing jets: a Poisson-like relative uncertainty of about 1/sqrt(2)
    assert 0.4 * 500 < r["rejection_30_std"] < 1.0 * 500
    assert r["rejection_30_seed_std"] is None
    # no background passes at all: infinite rejection, reported as such
    clean = score.copy()
    clean[:2] = 0.0
    r = row(clean)
    assert r["rejection_30"] == r["rejection_30_std"] == float("inf")
    # two seeds: the mean eps_B (1 and 2 jets: 1.5 of 1000) and its spread
    r = row(score, np.where(np.arange(2000) == 0, 0.0, score))
    assert r["rejection_30"] == pytest.approx(1000 / 1.5)
    assert r["auc_seed_std"] is not None


def test_summary_of_seeds(bench):
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 500)
    scores = [1 / (1 + np.exp(-(y + rng.normal(0, s, 1000)))) for s in (0.5, 0.6, 0.7)]
    r = bench.summarise(
        "jetcnn", y, scores, [1.0, 2.0, 3.0], [10.0, None, 30.0], n_boot=20, boot_seed=0
    )
    aucs = [bench.roc_auc(y, s) for s in scores]
    assert r["auc_per_seed"] == pytest.approx(aucs)
    assert r["auc"] == pytest.approx(np.mean(aucs))
    assert r["auc_seed_std"] == pytest.approx(np.std(aucs, ddof=1))
    assert r["train_s"] == 2.0
    assert r["inference_jets_per_s"] == 20.0
    diffs = bench.compare(
        ["jetcnn:jetcnn", "jetcnn:bdt"], y, {"jetcnn": scores}, n_boot=20, boot_seed=0
    )
    assert [d["pair"] for d in diffs] == ["jetcnn:jetcnn"]  # bdt did not run
    assert diffs[0]["auc_difference"] == 0 == diffs[0]["paired_bootstrap_std"]


def test_npz_jets_are_balanced_and_checked(bench, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    X = rng.random((50, 3, 4))
    path = tmp_path / "jets.npz"
    np.savez(
        path,
        X_train=X,
        y_train=y,
        X_val=X[10:20],
        y_val=y[10:20],
        X_test=X[:10],
        y_test=y[:10],
    )
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
