"""``ArrayLoader``: mini-batches sliced straight out of in-memory arrays."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Subset


def _as_tensor(array):
    """Share memory with a NumPy array (read-only arrays are never written to)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The given NumPy array is not writable"
        )
        return torch.as_tensor(array)


def _map(X, fn):
    """Apply ``fn`` to a tensor or to every tensor of a dict of tensors."""
    return {k: fn(v) for k, v in X.items()} if isinstance(X, dict) else fn(X)


class ArrayLoader:
    """Mini-batches sliced straight out of in-memory arrays.

    A drop-in replacement for ``torch.utils.data.DataLoader`` for skorch's
    ``Dataset`` holding NumPy arrays (and ``Subset`` of it, as made by
    ``ValidSplit``): each batch is one fancy-indexing of the whole array, not
    ``batch_size`` calls to ``__getitem__`` plus a collate. Any other dataset is
    handed to a ``DataLoader`` with the same arguments.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch Dataset
        The data.
    batch_size : int, default=128
        Samples per batch.
    shuffle : bool, default=False
        Draw a new random order (from torch's global generator) every epoch.
    drop_last : bool, default=False
        Skip the last, smaller batch.
    pin_memory : bool, default=False
        Return batches in page-locked memory (faster host-to-GPU copies).
    **kwargs
        Passed to ``DataLoader`` when the dataset is not array-backed.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        drop_last=False,
        pin_memory=False,
        **kwargs,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.pin_memory = pin_memory
        self.kwargs = kwargs
        indices = None
        base = dataset
        if isinstance(dataset, Subset):
            base, indices = dataset.dataset, np.asarray(dataset.indices)
        self._arrays = None
        X = base.X if type(base) is Dataset else None
        arrays = X.values() if isinstance(X, dict) else [X]
        if all(isinstance(a, np.ndarray) for a in arrays) and (
            base.y is None or isinstance(base.y, np.ndarray)
        ):
            X = (
                {k: _as_tensor(v) for k, v in X.items()}
                if isinstance(X, dict)
                else _as_tensor(X)
            )
            y = None if base.y is None else _as_tensor(base.y)
            self._arrays = (X, y, None if indices is None else torch.as_tensor(indices))

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        if self._arrays is None:
            yield from DataLoader(
                self.dataset,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                drop_last=self.drop_last,
                pin_memory=self.pin_memory,
                **self.kwargs,
            )
            return
        X, y, indices = self._arrays
        n = len(self.dataset)
        order = torch.randperm(n) if self.shuffle else None
        if indices is not None:
            order = indices if order is None else indices[order]
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size]
            if isinstance(X, dict):
                Xb = {k: v[idx] for k, v in X.items()}
                n_batch = len(next(iter(Xb.values())))
            else:
                Xb = X[idx]
                n_batch = len(Xb)
            yb = torch.zeros(n_batch) if y is None else y[idx]
            if self.pin_memory:
                Xb = _map(Xb, torch.Tensor.pin_memory)
                yb = yb.pin_memory()
            yield Xb, yb
