"""The generators' task runner on its own, with trivial picklable tasks."""

from __future__ import annotations

import time
import weakref
from typing import ClassVar

import numpy as np
import pytest
import tqdm
from numpy.testing import assert_array_equal

from hepclf.datasets._runner import (
    Task,
    TaskError,
    _resolve_n_jobs,
    _seed_sequence,
    run_tasks,
)

# --------------------------------------------------------------------------
# Task functions: module level, so that worker processes can unpickle them
# --------------------------------------------------------------------------


def _draw(settings, report):
    """``n`` uniform numbers from ``seed``, reporting each, after ``delay`` s."""
    n, seed, delay = settings
    time.sleep(delay)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append(rng.random())
        report(i + 1)
    return np.array(out)


def _fail(settings, report):
    report(1)
    raise ValueError(f"bad settings {settings!r}")


def _draw_tasks(random_state, sizes=(3, 5, 2, 4), delays=None):
    seeds = _seed_sequence(random_state).spawn(len(sizes))
    delays = delays or (0.0,) * len(sizes)
    return [
        Task(_draw, (n, seed, delay), f"draw {n}")
        for n, seed, delay in zip(sizes, seeds, delays, strict=True)
    ]


class _Bar:
    """Stands in for tqdm.tqdm and records what run_tasks shows."""

    made: ClassVar[list[_Bar]] = []

    def __init__(self, *, total=None, unit="it", desc=None, disable=False):
        self.total, self.unit, self.desc, self.disable = total, unit, desc, disable
        self.n = 0
        self.updates = []
        self.closed = False
        _Bar.made.append(self)

    def update(self, k):
        self.updates.append(k)
        self.n += k

    def close(self):
        self.closed = True


@pytest.fixture
def bar(monkeypatch):
    _Bar.made = []
    monkeypatch.setattr(tqdm, "tqdm", _Bar)
    return _Bar


# --------------------------------------------------------------------------
# Seeding and n_jobs
# --------------------------------------------------------------------------


def test_seed_sequence():
    assert _seed_sequence(3).entropy == 3
    gen = np.random.default_rng(0)
    assert isinstance(_seed_sequence(gen), np.random.SeedSequence)
    assert isinstance(_seed_sequence(None), np.random.SeedSequence)
    with pytest.raises(TypeError, match="random_state"):
        _seed_sequence(True)
    with pytest.raises(TypeError, match="random_state"):
        _seed_sequence("seed")
    with pytest.raises(ValueError, match="random_state must be >= 0"):
        _seed_sequence(-1)


def test_seed_sequence_of_generators_and_sequences():
    seq = np.random.SeedSequence(5)
    assert _seed_sequence(seq) is seq
    a = _seed_sequence(np.random.default_rng(1)).entropy
    assert a == _seed_sequence(np.random.default_rng(1)).entropy
    gen = np.random.default_rng(1)
    _seed_sequence(gen)
    assert _seed_sequence(gen).entropy != a  # the generator was advanced
    b = _seed_sequence(np.random.RandomState(1)).entropy
    assert b == _seed_sequence(np.random.RandomState(1)).entropy


def test_resolve_n_jobs(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert _resolve_n_jobs(None) == 1
    assert _resolve_n_jobs(3) == 3
    assert _resolve_n_jobs(np.int64(2)) == 2
    assert _resolve_n_jobs(-1) == 8
    assert _resolve_n_jobs(-2) == 7
    assert _resolve_n_jobs(-20) == 1
    with pytest.raises(ValueError, match="n_jobs=0 is not valid"):
        _resolve_n_jobs(0)
    with pytest.raises(TypeError, match="n_jobs must be an integer"):
        _resolve_n_jobs(2.0)
    with pytest.raises(TypeError, match="n_jobs must be an integer"):
        _resolve_n_jobs(True)


# --------------------------------------------------------------------------
# run_tasks
# --------------------------------------------------------------------------


def test_results_in_task_order_in_this_process():
    tasks = _draw_tasks(0)
    results = run_tasks(tasks, progress=False)
    assert [len(r) for r in results] == [3, 5, 2, 4]
    for task, result in zip(tasks, results, strict=True):
        assert_array_equal(result, _draw(task.settings, lambda n: None))


def test_results_in_task_order_in_workers():
    # the first tasks finish last
    tasks = _draw_tasks(0, delays=(0.6, 0.4, 0.2, 0.0))
    results = run_tasks(tasks, n_jobs=2, progress=False)
    assert [len(r) for r in results] == [3, 5, 2, 4]


def test_same_output_whatever_n_jobs():
    one = run_tasks(_draw_tasks(7), n_jobs=1, progress=False)
    two = run_tasks(_draw_tasks(7), n_jobs=2, progress=False)
    assert len(one) == len(two) == 4
    for a, b in zip(one, two, strict=True):
        assert_array_equal(a, b)
    other = run_tasks(_draw_tasks(8), n_jobs=1, progress=False)
    assert not np.array_equal(np.concatenate(one), np.concatenate(other))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_on_result_files_each_result_and_lets_it_go(n_jobs):
    # the first tasks finish last in workers: results arrive out of order
    tasks = _draw_tasks(3, delays=(0.6, 0.4, 0.2, 0.0))
    expected = run_tasks(tasks, progress=False)
    seen, alive = [], []

    def on_result(k, result):
        # by now the runner holds no earlier result: only our weak references
        assert all(ref() is None for ref in alive)
        seen.append(k)
        alive.append(weakref.ref(result))
        return float(result.sum())

    sums = run_tasks(tasks, n_jobs=n_jobs, progress=False, on_result=on_result)
    assert sorted(seen) == [0, 1, 2, 3]
    if n_jobs == 1:
        assert seen == [0, 1, 2, 3]
    assert sums == [pytest.approx(r.sum()) for r in expected]  # in task order


def test_no_tasks():
    assert run_tasks([], n_jobs=2, progress=False) == []


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_progress_counts_reach_the_total(bar, n_jobs):
    results = run_tasks(
        _draw_tasks(0), n_jobs=n_jobs, total=14, desc="numbers", unit="number"
    )
    (shown,) = bar.made
    assert (shown.total, shown.desc, shown.unit, shown.disable) == (
        14,
        "numbers",
        "number",
        False,
    )
    assert shown.n == sum(len(r) for r in results) == 14
    assert all(k >= 0 for k in shown.updates)
    assert shown.closed


def test_progress_can_be_off(bar):
    run_tasks(_draw_tasks(0), progress=False)
    assert bar.made[0].disable


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_failing_task_is_named(bar, n_jobs):
    tasks = _draw_tasks(0, sizes=(2, 2, 2))
    tasks[1] = Task(_fail, "x", "failing, seed 42")
    with pytest.raises(TaskError) as info:
        run_tasks(tasks, n_jobs=n_jobs)
    message = str(info.value)
    assert message.startswith("task 2 of 3 (failing, seed 42) failed: ")
    assert "ValueError: bad settings 'x'" in message
    cause = info.value.__cause__
    assert isinstance(cause, ValueError)
    assert str(cause) == "bad settings 'x'"
    assert isinstance(info.value, RuntimeError)
    assert bar.made[0].closed


def test_failing_task_without_description():
    with pytest.raises(TaskError, match=r"^task 1 of 1 failed: ValueError: bad"):
        run_tasks([Task(_fail, 0)], progress=False)


def test_tasks_are_picklable():
    import pickle

    task = _draw_tasks(0)[0]
    again = pickle.loads(pickle.dumps(task))
    assert again.function is _draw
    assert again.description == task.description
