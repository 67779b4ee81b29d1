"""The studies' uncertainties (benchmarks/_stats.py): bootstraps and paired differences."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "_stats.py"


@pytest.fixture(scope="module")
def stats():
    spec = importlib.util.spec_from_file_location("bench_stats", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accuracy(y, proba):
    return accuracy_score(y, proba.argmax(1))


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 200)
    good = np.eye(3)[y] + rng.normal(0, 0.6, (600, 3))
    noisy = good + rng.normal(0, 1.0, (600, 3))
    return y, good, noisy


def test_resamples_keep_the_class_counts(stats):
    y = np.array([0] * 5 + [1] * 3)
    for idx in stats.stratified_resamples(y, 20, 0):
        assert np.bincount(y[idx]).tolist() == [5, 3]


def test_bootstrap_and_paired_difference(stats, scores):
    y, good, noisy = scores
    acc, std = stats.bootstrap(accuracy, y, good, n_boot=50, seed=0)
    assert acc == accuracy(y, good)
    assert 0.005 < std < 0.05
    diff, dstd = stats.bootstrap(accuracy, y, good, n_boot=50, seed=0, other=noisy)
    assert diff == pytest.approx(accuracy(y, good) - accuracy(y, noisy))
    # pairing cancels the shared event-to-event noise: the difference's spread
    # is below the unpaired sum of the two spreads
    _, noisy_std = stats.bootstrap(accuracy, y, noisy, n_boot=50, seed=0)
    assert diff > 3 * dstd > 0
    assert dstd < np.hypot(std, noisy_std)


def test_summaries_over_seeds(stats, scores):
    y, good, noisy = scores
    metrics = {"accuracy": accuracy}
    row = stats.summarise_metrics(metrics, y, [good, noisy], n_boot=20, seed=0)
    assert row["accuracy_per_seed"] == [accuracy(y, good), accuracy(y, noisy)]
    assert row["accuracy"] == pytest.approx(np.mean(row["accuracy_per_seed"]))
    assert row["accuracy_seed_std"] == pytest.approx(
        np.std(row["accuracy_per_seed"], ddof=1)
    )
    one = stats.summarise_metrics(metrics, y, [good], n_boot=20, seed=0)
    assert one["accuracy_seed_std"] is None
    diff = stats.paired_differences(
        metrics, y, [good, good], [noisy], n_boot=20, seed=0
    )
    assert diff["seeds"] == 2
    assert diff["accuracy"] == pytest.approx(accuracy(y, good) - accuracy(y, noisy))
    assert diff["accuracy_seed_std"] == 0.0
    assert stats.pm(0.91234, None, 0.0031) == "0.912 ± 0.003"
    assert stats.pm(0.91234, 0.002, 0.0031, 2) == "0.91 ± 0.00 ± 0.00"
