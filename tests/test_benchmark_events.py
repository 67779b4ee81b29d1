"""The event-classification study (benchmarks/events.py): its pieces, and end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "events.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("bench_events", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shard_seeds_are_distinct_per_split_process_and_shard(study):
    seeds = {
        study._shard_seed(0, split, process, k)
        for split in study.SPLITS
        for process in study.PROCESSES
        for k in range(5)
    }
    assert len(seeds) == len(study.SPLITS) * len(study.PROCESSES) * 5
    assert study._shard_seed(1, "train", "dy", 0) != study._shard_seed(
        0, "train", "dy", 0
    )


def test_concatenate_and_take_keep_events_and_classes(study):
    a = np.ones((2, 3, 4), np.float32)
    b = 2 * np.ones((1, 5, 4), np.float32)
    padded = study.concatenate_padded([a, b])
    assert padded.shape == (3, 5, 4)
    assert_array_equal(padded[:2, :3], a)
    assert not padded[:2, 3:].any()
    assert_array_equal(padded[2], b[0])
    X = np.arange(12, dtype=np.float32).reshape(6, 1, 2)
    y = np.array([0, 1, 2, 0, 1, 2])
    Xs, ys = study.take(X, y, 1)
    assert_array_equal(ys, [0, 1, 2])
    assert_array_equal(Xs[:, 0, 0], [0, 2, 4])


def test_every_model_name_builds(study):
    args = study.parse_args([])
    names = [
        "hgb",
        "best",
        "best_objects",
        "resnet18",
        *study.VARIANTS,
        *study.OBJECT_VARIANTS,
        *study.seed_grid_names(),
        *study.seed_grid_names(backbones=("resnet50", "vgg16")),
    ]
    for name in names:
        assert hasattr(study.build(name, epochs=1, seed=0, args=args), "fit"), name
    with pytest.raises(ValueError, match="unknown model"):
        study.build("nope", epochs=1, seed=0, args=args)


def test_vote_row_scores_the_mean_probability(study):
    # two seeds that each call one event wrong: their mean is right
    y = np.array([0, 0, 1, 1, 2, 2])
    a = np.eye(3)[y] * 0.7 + 0.1  # rows sum to one
    a[0] = [0.3, 0.5, 0.2]  # seed a calls a Drell-Yan event ttbar
    b = np.eye(3)[y] * 0.7 + 0.1
    b[5] = [0.2, 0.45, 0.35]  # seed b calls a W+jets event ttbar
    row, vote = study.vote_row("objects", 10_000, y, [a, b], [10.0, 12.0], n_boot=20)
    assert_allclose(vote[0], (a + b) / 2)
    assert study.accuracy(y, a) == study.accuracy(y, b) == pytest.approx(5 / 6)
    assert row["accuracy"] == 1.0
    assert row["accuracy_seed_std"] is None  # one model: no spread between seeds
    assert (row["model"], row["seeds"], row["train_s"]) == ("objects_vote", 1, 22.0)
    assert row["n_train_per_class"] == 10_000
    assert row["auc"] == study.macro_auc(y, (a + b) / 2)
    assert "soft vote of 2 seeds" in row["description"]


@pytest.mark.slow
def test_small_run_end_to_end(study, tmp_path, monkeypatch):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("uproot")
    out = tmp_path / "out"
    argv = ["--small", "--output-dir", str(out), "--models", "hgb", "best_objects"]
    assert study.main([*argv, "--timing-repeats", "1", "--n-boot", "20"]) == 0
    result = json.loads((out / "events_val.json").read_text())
    rows = {r["model"]: r for r in result["rows"]}
    assert set(rows) == {"hgb", "best_objects"}
    for row in rows.values():
        assert row["n_eval"] == 3 * study.SMALL["n_val"]
        assert np.allclose(np.sum(row["confusion"], axis=1), 1.0, atol=1e-3)
    assert rows["hgb"]["accuracy"] > 0.6  # three classes: chance is 1/3
    assert (out / "events_val_curve.png").stat().st_size > 5_000
    assert "the seed" in (out / "events_val.md").read_text()
    with np.load(out / "events_val_probas.npz") as probas:
        assert probas["hgb@300"].shape == (1, 900, 3)
        first = probas["best_objects@300"]
    assert sorted(p.name for p in (out / "events_val_seeds").iterdir()) == [
        "best_objects@300-seed0.npz",
        "hgb@300-seed0.npz",
        "hgb@300-tuning.json",
    ]

    def no_training(*args, **kwargs):
        raise AssertionError("a stored seed was trained again")

    monkeypatch.setattr(study, "build", no_training)
    monkeypatch.setattr(study, "tune_event_hgb", no_training)
    assert (
        study.main([*argv, "--timing-repeats", "1", "--n-boot", "20", "--resume"]) == 0
    )
    with np.load(out / "events_val_probas.npz") as probas:
        np.testing.assert_array_equal(probas["best_objects@300"], first)
