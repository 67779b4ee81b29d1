"""The event-classification study (benchmarks/events.py): its pieces, and end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

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
    ]
    for name in names:
        assert hasattr(study.build(name, epochs=1, seed=0, args=args), "fit"), name
    with pytest.raises(ValueError, match="unknown model"):
        study.build("nope", epochs=1, seed=0, args=args)


@pytest.mark.slow
def test_small_run_end_to_end(study, tmp_path):
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
