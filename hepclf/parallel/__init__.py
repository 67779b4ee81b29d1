"""Scaling beyond one machine: Dask clusters, out-of-core imaging, multi-GPU training.

- :func:`transform_dask` applies an imager block by block to a Dask array or a
  dask-awkward array (e.g. from ``uproot.dask``), lazily, so data larger than
  memory streams through (the ``dask`` extra).
- :class:`TorchThreads` (a Dask worker plugin) and :func:`limit_torch_threads`
  cap torch's threads so that workers do not oversubscribe the cores; grid
  searches then run on a cluster through joblib's Dask backend.
- :class:`AcceleratedCNNClassifier` trains a :class:`hepclf.CNNClassifier` with
  Hugging Face Accelerate: several GPUs (``accelerate launch``), mixed
  precision (the ``accelerate`` extra).

Read more in the :ref:`User Guide <scaling>`.
"""

from __future__ import annotations

from ._accelerate import AcceleratedCNNClassifier
from ._dask import transform_dask

__all__ = [
    "AcceleratedCNNClassifier",
    "TorchThreads",
    "limit_torch_threads",
    "transform_dask",
]


def __getattr__(name):
    # importing distributed takes a second: only when these are asked for
    if name in ("TorchThreads", "limit_torch_threads"):
        from . import _threads

        return getattr(_threads, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "TorchThreads", "limit_torch_threads"])
