"""Run the tasks of a generator, in this process or in worker processes.

A generator (top jets, events, ...) splits its work into :class:`Task` objects:
a picklable module-level function, the settings it is called with and a
description for error messages. :func:`run_tasks` runs them and returns their
results in task order; it knows nothing about what the tasks make. It provides

- process start-up: a loky process pool (joblib's), which starts fresh
  interpreters without re-running the caller's ``__main__``; one pool per
  call, shut down when the call ends (the reusable pool's idle workers time
  out after 10 s, and a call that came as they did was seen to hang);
- a tqdm progress bar, fed by each task's ``report(n)`` calls (in worker
  processes through a shared memory-mapped counter file that the caller
  polls);
- failure reporting: a task's exception is re-raised in the caller as a
  :class:`TaskError` naming the task, with the original as ``__cause__``.

:func:`_seed_sequence` turns a ``random_state`` into a ``SeedSequence`` to
spawn the tasks' seeds from, and :func:`_resolve_n_jobs` resolves ``n_jobs``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Task", "TaskError", "run_tasks"]

#: Seconds between two polls of the workers' progress counters.
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Task:
    """One unit of work of a generator: ``function(settings, report)``.

    Parameters
    ----------
    function : callable
        A module-level function (picklable by reference), called as
        ``function(settings, report)``; ``report(n)`` publishes the number of
        items made so far by this task for the progress bar. Its return value
        is the task's result.
    settings : object
        The settings of this task (picklable), including any seed.
    description : str, default=""
        What the task makes, for error messages, e.g.
        ``"top jets, Pythia seed 1234"``.
    """

    function: Callable[[Any, Callable[[int], None]], Any]
    settings: Any
    description: str = ""


class TaskError(RuntimeError):
    """A task of a generator failed; the task's own exception is ``__cause__``."""


def _task_error(k: int, tasks: Sequence[Task], exc: BaseException) -> TaskError:
    """Make the TaskError naming task ``k`` (0-based) and the exception it raised."""
    about = f" ({tasks[k].description})" if tasks[k].description else ""
    return TaskError(
        f"task {k + 1} of {len(tasks)}{about} failed: {type(exc).__name__}: {exc}"
    )


def _seed_sequence(random_state) -> np.random.SeedSequence:
    """Turn ``random_state`` (int >= 0, Generator, ... or None) into a SeedSequence.

    A Generator or RandomState is advanced by one draw.
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError(
            f"random_state must be an int, a Generator or None, got {random_state!r}"
        )
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return np.random.SeedSequence(int(random_state))
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31 - 1)))
    raise TypeError(
        f"random_state must be an int, a numpy Generator/RandomState or None, "
        f"got {random_state!r}"
    )


def _resolve_n_jobs(n_jobs) -> int:
    """Resolve ``n_jobs`` to a process count: None is 1, -1 all cores, -2 all but 1."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(
        n_jobs, (int, np.integer)
    ):
        raise TypeError(f"n_jobs must be an integer or None, got {n_jobs!r}")
    if n_jobs == 0:
        raise ValueError(
            "n_jobs=0 is not valid; use 1 for no parallelism, -1 for all cores"
        )
    cpus = os.cpu_count() or 1
    return int(n_jobs) if n_jobs > 0 else max(1, cpus + 1 + int(n_jobs))


def _worker_run(task: Task, counter_path: str, slot: int, n_slots: int):
    """Run a task in a worker process, publishing progress in the counter file."""
    counts = np.memmap(counter_path, dtype=np.int64, mode="r+", shape=(n_slots,))

    def report(n: int) -> None:
        counts[slot] = n

    return task.function(task.settings, report)


def _keep(k: int, result):
    """Keep the result itself (the default ``on_result``)."""
    return result


def _run_here(tasks: Sequence[Task], bar, on_result=None) -> list:
    """Run the tasks one after the other in this process."""
    on_result = on_result or _keep
    results = []
    for k, task in enumerate(tasks):
        shown = [0]

        def report(n: int, shown=shown) -> None:
            bar.update(n - shown[0])
            shown[0] = n

        try:
            result = task.function(task.settings, report)
        except Exception as exc:
            raise _task_error(k, tasks, exc) from exc
        results.append(on_result(k, result))
        del result
    return results


def _run_in_workers(tasks: Sequence[Task], n_jobs: int, bar, on_result=None) -> list:
    """Run the tasks in loky worker processes, polling their progress counters.

    Each result is handed to ``on_result`` as its task completes and the
    future is let go, so finished results do not pile up.
    """
    from joblib.externals.loky import ProcessPoolExecutor

    on_result = on_result or _keep
    results = [None] * len(tasks)

    with tempfile.TemporaryDirectory(prefix="hepclf-progress-") as tmp:
        counter_path = os.path.join(tmp, "counts.int64")
        counts = np.memmap(counter_path, dtype=np.int64, mode="w+", shape=(len(tasks),))
        counts.flush()
        executor = ProcessPoolExecutor(max_workers=min(n_jobs, len(tasks)))
        futures = [
            executor.submit(_worker_run, task, counter_path, k, len(tasks))
            for k, task in enumerate(tasks)
        ]
        index = {future: k for k, future in enumerate(futures)}
        shown = 0
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(
                    pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED
                )
                total = int(counts.sum())
                bar.update(total - shown)
                shown = total
                ready = sorted(done, key=index.__getitem__)
                done = None
                while ready:  # each future let go before the next result is filed
                    future = ready.pop(0)
                    k = index.pop(future)
                    exc = future.exception()
                    if exc is not None:
                        raise _task_error(k, tasks, exc) from exc
                    result = future.result()
                    futures[k] = future = None
                    results[k] = on_result(k, result)
                    result = None
        except BaseException as exc:
            for future in futures:
                if future is not None:
                    future.cancel()
            executor.shutdown(wait=False, kill_workers=True)
            raise
        finally:
            del counts
        executor.shutdown(wait=True)
        return results


def run_tasks(
    tasks: Sequence[Task],
    *,
    n_jobs: int | None = 1,
    progress: bool = True,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    on_result: Callable[[int, Any], Any] | None = None,
) -> list:
    """Run tasks in this process or in worker processes; results in task order.

    With ``n_jobs=1`` (or a single task) the tasks run one after the other in
    this process; otherwise in up to ``n_jobs`` worker processes of a loky
    process pool started for this call (each imports hepclf, about a second).

    Parameters
    ----------
    tasks : sequence of Task
        The tasks; with ``n_jobs > 1`` each is pickled to a worker.
    n_jobs : int or None, default=1
        Number of processes; None is 1, -1 uses all cores, -2 all but one.
    progress : bool, default=True
        Show a tqdm progress bar of the items the tasks ``report``.
    total : int, optional
        Number of items all tasks make together, for the bar.
    desc, unit : str, optional
        Label and unit of the bar.
    on_result : callable, optional
        Called as ``on_result(k, result)`` with each task's result as soon as
        it arrives (in task order in this process, in order of completion in
        workers); the result is then dropped and ``on_result``'s return value
        kept instead, so a caller that files each result into an output it
        allocated once holds only the results not yet filed (about one per
        worker), not all of them.

    Returns
    -------
    results : list
        ``tasks[k].function(tasks[k].settings, report)`` for each ``k``, or
        ``on_result(k, ...)`` of it when ``on_result`` is given.

    Raises
    ------
    TaskError
        When a task raises an exception (then ``__cause__``); the other tasks
        are cancelled. An exception of ``on_result`` is raised as it is, and
        cancels the other tasks too.
    """
    from tqdm import tqdm

    tasks = list(tasks)
    n_jobs = _resolve_n_jobs(n_jobs)
    bar = tqdm(total=total, unit=unit, desc=desc, disable=not progress)
    try:
        if n_jobs == 1 or len(tasks) <= 1:
            return _run_here(tasks, bar, on_result)
        return _run_in_workers(tasks, n_jobs, bar, on_result)
    finally:
        bar.close()
