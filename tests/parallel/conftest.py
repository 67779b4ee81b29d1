from __future__ import annotations

import numpy as np
import pytest

#: a small, fast network for tests: one conv block, one dense layer
TINY = {
    "module__conv_blocks": ((8,),),
    "module__pool_size": 2,
    "module__dense": (16,),
    "module__dropout": 0.0,
}

#: threads per Dask worker in the test cluster
THREADS_PER_WORKER = 1


def make_blob_images(n=400, size=16, seed=0):
    """Noise images; class k has a bright blob at a class-specific place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.random((n, 1, size, size)).astype(np.float32) * 0.5
    for k in range(2):
        r = 3 + 4 * k
        X[y == k, :, r : r + 3, r : r + 3] += 1.0
    return X, y


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Train with one torch thread here, as the workers do.

    On a shared two-core machine torch's spinning OpenMP threads make a tiny
    fit up to 100 times slower with two threads than with one.
    """
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def client():
    """A 2-worker, 1-thread-each loopback LocalCluster with TorchThreads registered.

    The workers start with OMP_NUM_THREADS=2 (torch's default on a 2-core
    machine), so a thread count of 1 afterwards is the plugin's doing.
    """
    pytest.importorskip("distributed")
    pytest.importorskip("torch")
    from distributed import Client, LocalCluster

    from hepclf.parallel import TorchThreads

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=THREADS_PER_WORKER,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env={"OMP_NUM_THREADS": "2"},
        ) as cluster,
        Client(cluster) as client,
    ):
        # before any task runs: torch fixes a thread's count at its first use
        client.register_plugin(TorchThreads())
        yield client
