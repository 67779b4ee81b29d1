"""What the studies share (benchmarks/_study.py): tables, seeds, training, files."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def study():
    # _study imports _stats and _timing from its own folder, as the scripts do
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_study", BENCHMARKS / "_study.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_table_aligns_names_left_and_numbers_right(study):
    lines = study.table(["model", "class", "acc"], [["a\\*b", "e", "0.5"]], left=2)
    assert lines == ["| model | class | acc |", "|---|---|---:|", "| a\\*b | e | 0.5 |"]
    assert study.md("0.3*hgb+0.7*cnn") == "0.3\\*hgb+0.7\\*cnn"
    assert [study.cell(None), study.cell(0.25), study.cell(1234.5, ",.0f")] == [
        "-",
        "0.250",
        "1,234",
    ]


def test_differences_table(study):
    assert study.differences_table([], {"accuracy": "accuracy"}) == []
    diff = {"a": "x*y", "b": "hgb", "noise": 0.1, "seeds": 1}
    diff.update(accuracy=0.01234, accuracy_seed_std=None, accuracy_std=0.002)
    lines = study.differences_table(
        [diff], {"accuracy": "acc."}, by=("noise", lambda d: f"{d['noise']:.0%}")
    )
    assert lines[:2] == ["", "Paired differences (A - B; ± seeds ± paired bootstrap):"]
    assert lines[3:] == [
        "| A | B | noise | acc. |",
        "|---|---|---:|---:|",
        "| x\\*y | hgb | 10% | 0.0123 ± 0.0020 |",
    ]


def test_derived_seeds_and_small_settings(study):
    assert study.derived_seed(0, 1, 2) == study.derived_seed(0, 1, 2)
    assert len({study.derived_seed(0, s, p) for s in range(3) for p in range(3)}) == 9
    p = study.study_parser("A study.\n\nHow to run it.", output_dir="out")
    assert p.description == "A study."
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=20)
    small = {"n_train": 40, "epochs": 2}
    args = study.parse_study_args(p, ["--small", "--n-boot", "50"], small)
    assert (args.n_train, args.epochs, args.seeds, args.split) == (40, 2, [0], "val")
    assert (args.n_boot, args.timing_repeats) == (20, 1)
    assert args.cache_dir == str(Path("out") / "cache")
    args = study.parse_study_args(p, ["--seeds", "3", "4", "--cache-dir", "c"], small)
    assert (args.n_train, args.seeds, args.n_boot, args.cache_dir) == (
        1000,
        [3, 4],
        200,
        "c",
    )


def test_fit_and_predict_times_the_first_seed_only(study):
    X, y = np.zeros((6, 2)), np.array([0, 0, 0, 1, 1, 2])
    est = DummyClassifier(strategy="prior")
    proba, train_s, rate = study.fit_and_predict(est, X, y, X[:4], 2)
    np.testing.assert_allclose(proba, [[0.5, 2 / 6, 1 / 6]] * 4)
    assert train_s >= 0
    assert rate > 0
    assert study.fit_and_predict(est, X, y, X, 0)[2] is None
    assert study.median_or_none([None, 3.0, 1.0]) == 2.0
    assert study.median_or_none([None]) is None
    assert study.accuracy(y, proba[[0, 1, 2, 3, 3, 3]]) == 0.5
    assert study.seed_line("m", 1, {"acc": lambda y, p: 0.5}, y, proba, 2.4) == (
        "  m, seed 1: acc 0.5000, 2 s"
    )


def test_mean_confusion_averages_the_seeds(study):
    y = np.array([0, 0, 1, 1])
    right, wrong = np.eye(2)[y], np.eye(2)[[0, 1, 1, 1]]
    assert study.mean_confusion(y, [right, wrong]) == [[0.75, 0.25], [0.0, 1.0]]


def test_tune_hgb_keeps_every_score_and_the_best(study):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] > 0).astype(int)
    best, scores = study.tune_hgb(X[:80], y[:80], X[80:], y[80:], seed=0)
    assert [p for _, p in scores] == study.HGB_GRID
    assert best == max(scores, key=lambda s: s[0])[1]


def test_write_outputs(study, tmp_path):
    stem = tmp_path / "study_val"
    probas = {"m@1": [np.full((3, 2), 0.5)] * 2}
    study.write_outputs(stem, "# table\n", {"rows": []}, np.arange(3), probas)
    assert (tmp_path / "study_val.md").read_text() == "# table\n"
    assert json.loads((tmp_path / "study_val.json").read_text()) == {"rows": []}
    with np.load(tmp_path / "study_val_probas.npz") as saved:
        assert saved["m@1"].shape == (2, 3, 2)
        np.testing.assert_array_equal(saved["y"], [0, 1, 2])


def test_seed_store_gives_back_only_what_the_same_options_scored(study, tmp_path):
    import argparse

    def args(**changed):
        options = {"epochs": 3, "n_train": 40, "seeds": [0], "resume": True}
        return argparse.Namespace(**{**options, **changed})

    y = np.array([0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    folder = tmp_path / "seeds"
    writer = study.SeedStore(folder, args(resume=False), y, version="v1")
    assert writer.load("cnn@aug", 0) is None  # not resuming
    writer.save("cnn@aug", 0, proba, 12.5, None)
    writer.save("hgb", 0, proba[:, ::-1], 2.0, 300.0)
    assert sorted(p.name for p in folder.iterdir()) == [
        "cnn@aug-seed0.npz",
        "hgb-seed0.npz",
    ]  # no partial file left behind
    assert writer.load("cnn@aug", 0) is None  # stored, but this run does not resume
    # more seeds and other models may follow; the stored ones come back whole
    reader = study.SeedStore(
        folder, args(seeds=[0, 1, 2], models=["x"]), y, version="v1"
    )
    stored, seconds, rate = reader.load("cnn@aug", 0)
    np.testing.assert_array_equal(stored, proba)
    assert (seconds, rate) == (12.5, None)
    assert reader.load("hgb", 0)[1:] == (2.0, 300.0)
    assert reader.load("cnn@aug", 1) is None  # not scored yet
    # what changes a fit is refused, by name
    with pytest.raises(SystemExit, match="epochs 3, now 5"):
        study.SeedStore(folder, args(epochs=5), y, version="v1").load("hgb", 0)
    with pytest.raises(SystemExit, match="version 'v1', now 'v2'"):
        study.SeedStore(folder, args(), y, version="v2").load("hgb", 0)
    with pytest.raises(SystemExit, match="other evaluation images"):
        study.SeedStore(folder, args(), y[::-1], version="v1").load("hgb", 0)
    with pytest.raises(ValueError, match="cannot name a file"):
        reader.path("tag/cnn", 0)


def test_seed_store_checkpoints_continue_only_under_the_same_options(study, tmp_path):
    import argparse
    import json

    def store(**changed):
        options = {"epochs": 3, "n_train": 40, "resume": True, **changed}
        return study.SeedStore(
            tmp_path, argparse.Namespace(**options), np.array([0, 1]), version="v1"
        )

    folder = store(resume=False).checkpoint("cnn@aug", 0)
    assert folder == tmp_path / "checkpoints" / "cnn@aug-seed0"
    assert study.SeedStore.checkpoint_seconds(folder) == 0.0
    epochs = [{"epoch": 1, "dur": 1.5}, {"epoch": 2, "dur": 2.25}]
    (folder / "history.json").write_text(json.dumps(epochs))
    # resumed: the epochs stay, and so does their time
    assert store(seeds=[0, 1]).checkpoint("cnn@aug", 0) == folder
    assert study.SeedStore.checkpoint_seconds(folder) == 3.75
    with pytest.raises(SystemExit, match="epochs 3, now 5"):
        store(epochs=5).checkpoint("cnn@aug", 0)
    assert (folder / "history.json").is_file()  # a refusal deletes nothing
    # a run that does not resume starts the fit afresh
    assert store(resume=False).checkpoint("cnn@aug", 0) == folder
    assert not (folder / "history.json").exists()


def test_seed_store_keeps_the_tuning_for_a_resumed_run(study, tmp_path):
    import argparse

    def store(**changed):
        options = {"epochs": 3, "n_train": 40, "resume": True, **changed}
        return study.SeedStore(
            tmp_path, argparse.Namespace(**options), np.array([0, 1]), version="v1"
        )

    calls = []

    def tune(scale, *, offset):
        calls.append((scale, offset))
        params = {"learning_rate": 0.1 * scale, "max_iter": 100}
        return params, [(0.75 + offset, params), (0.5, {"max_iter": 300})]

    first = store(resume=False).tuned("hgb", tune, 2, offset=0.125)
    assert calls == [(2, 0.125)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # resumed (more seeds may follow): the grid is not searched again
    assert store(seeds=[0, 1]).tuned("hgb", tune, 2, offset=0.125) == first
    assert first == (
        {"learning_rate": 0.2, "max_iter": 100},
        [(0.875, {"learning_rate": 0.2, "max_iter": 100}), (0.5, {"max_iter": 300})],
    )
    assert len(calls) == 1
    with pytest.raises(SystemExit, match="n_train 40, now 80"):
        store(n_train=80).tuned("hgb", tune, 2, offset=0.125)
    # another model has its own tuning; a run that does not resume tunes again
    store().tuned("hgb@binary", tune, 1, offset=0.0)
    store(resume=False).tuned("hgb", tune, 3, offset=0.0)
    assert calls[1:] == [(1, 0.0), (3, 0.0)]
    assert store().tuned("hgb", tune, 3, offset=0.0)[0]["learning_rate"] == 0.1 * 3
