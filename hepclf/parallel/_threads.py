"""Torch thread limits for the processes of a Dask cluster."""

from __future__ import annotations

import operator

from ..utils import import_optional

try:  # the ``dask`` extra; without it this module still imports (for the docs)
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised only without distributed
    _WorkerPlugin = object


def limit_torch_threads(n_threads: int) -> int:
    """Set the number of threads torch uses for intra-op parallelism here.

    A thin wrapper of ``torch.set_num_threads`` that checks its argument and
    returns the previous value, so it can be sent to running Dask workers with
    ``client.run(limit_torch_threads, n)``. Prefer :class:`TorchThreads`, a
    worker plugin that also covers workers that join (or restart) later.

    Parameters
    ----------
    n_threads : int
        Threads per torch operation, at least 1.

    Returns
    -------
    previous : int
        The number of threads before the call.

    Notes
    -----
    Torch keeps one thread team per calling thread: a process that runs ``k``
    tasks at once, each using torch with ``n`` threads, keeps ``k * n``
    threads busy. Threads that already ran a torch operation keep the count
    they started with, so set the limit before work is submitted.

    Examples
    --------
    >>> import torch
    >>> from hepclf.parallel import limit_torch_threads
    >>> previous = limit_torch_threads(1)
    >>> torch.get_num_threads()
    1
    >>> _ = limit_torch_threads(previous)
    """
    import torch

    try:
        n = operator.index(n_threads)
    except TypeError:
        raise TypeError(
            f"n_threads must be an integer, got {type(n_threads).__name__}"
        ) from None
    if n < 1:
        raise ValueError(f"n_threads must be at least 1, got {n}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    return previous


class TorchThreads(_WorkerPlugin):
    """Dask worker plugin: cap torch's threads on every worker of a cluster.

    Register it once on a ``distributed.Client``; the scheduler runs it on
    every worker, now and when workers join or restart later::

        client.register_plugin(TorchThreads())

    Parameters
    ----------
    n_threads : int or None, default=None
        Threads per torch operation on each worker. ``None`` uses the worker's
        own thread count (``threads_per_worker`` of a ``LocalCluster``,
        ``--nthreads`` of ``dask worker``).

    See Also
    --------
    limit_torch_threads : the same for the current process.

    Notes
    -----
    A worker with ``t`` threads runs up to ``t`` tasks at once and torch keeps
    one thread team per task thread, so ``t`` concurrent fits with ``n`` torch
    threads each keep ``t * n`` threads busy. For training, start workers with
    one thread each (``threads_per_worker=1``) and, to give a fit several
    cores, pass ``n_threads`` explicitly; with ``t > 1`` keep ``n_threads=1``.
    Nanny-started workers begin with ``OMP_NUM_THREADS=1`` (Dask's
    ``distributed.nanny.pre-spawn-environ`` default), i.e. one torch thread,
    whatever the machine.
    """

    name = "hepclf-torch-threads"

    def __init__(self, n_threads: int | None = None):
        import_optional("distributed", extra="dask")
        self.n_threads = n_threads

    def setup(self, worker) -> None:
        """Apply the limit on ``worker`` (called by the scheduler).

        Parameters
        ----------
        worker : distributed.Worker
            The worker being set up.
        """
        n = self.n_threads if self.n_threads is not None else worker.state.nthreads
        limit_torch_threads(n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_threads={self.n_threads!r})"
