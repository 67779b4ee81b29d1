from __future__ import annotations

import os
import sys

import pytest

from .conftest import THREADS_PER_WORKER

torch = pytest.importorskip("torch")


def test_limit_torch_threads_sets_and_returns_previous():
    from hepclf.parallel import limit_torch_threads

    before = torch.get_num_threads()
    try:
        assert limit_torch_threads(1) == before
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-2, ValueError), (1.5, TypeError)]
)
def test_limit_torch_threads_rejects_bad_counts(value, error):
    from hepclf.parallel import limit_torch_threads

    before = torch.get_num_threads()
    with pytest.raises(error, match="n_threads"):
        limit_torch_threads(value)
    assert torch.get_num_threads() == before


def _torch_threads():
    return os.getpid(), torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def test_torch_threads_plugin_caps_every_worker(client):
    workers = list(client.scheduler_info()["workers"])
    assert len(workers) == 2
    # run in the task threads, where the grid-search fits run
    futures = [
        client.submit(
            _torch_threads, pure=False, workers=[w], allow_other_workers=False
        )
        for w in workers
    ]
    results = client.gather(futures)
    assert len({pid for pid, _, _ in results}) == 2
    for _, n_threads, omp in results:
        assert omp == "2"  # torch's own default there would be 2
        assert n_threads == THREADS_PER_WORKER


def test_torch_threads_plugin_is_named_and_picklable():
    pytest.importorskip("distributed")
    import pickle

    from hepclf.parallel import TorchThreads

    plugin = pickle.loads(pickle.dumps(TorchThreads(3)))
    assert plugin.n_threads == 3
    assert plugin.name == "hepclf-torch-threads"
    assert repr(plugin) == "TorchThreads(n_threads=3)"


def test_missing_distributed_names_the_extra(monkeypatch):
    pytest.importorskip("distributed")
    from hepclf.parallel import TorchThreads

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "hepclf\[dask\]"'):
        TorchThreads()
