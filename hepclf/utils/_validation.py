"""Validation of padded per-sample arrays of objects (jet constituents, event objects, hits).

Generic to every data kind: shape, numbers, ragged and awkward input. The
physics checks of four-vectors live in :mod:`hepclf.kinematics._four_vectors`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _is_awkward(X) -> bool:
    return type(X).__module__.startswith("awkward")


def _awkward_to_padded(X, fields: Sequence[Sequence[str]], name: str) -> np.ndarray:
    import awkward as ak

    if X.fields:
        chosen = next((f for f in fields if set(f) <= set(X.fields)), None)
        if chosen is None:
            wanted = " or ".join(str(list(f)) for f in fields) or "none"
            raise ValueError(
                f"{name}: the awkward record array has fields {X.fields}; "
                f"expected fields {wanted}"
            )
        X = ak.concatenate(
            [ak.values_astype(X[f], np.float64)[..., np.newaxis] for f in chosen],
            axis=-1,
        )
    if X.ndim != 3:
        raise ValueError(
            f"{name}: expected an awkward array of type n * var * n_features "
            f"(or records with fields {[list(f) for f in fields]}), got {X.type}"
        )
    counts = ak.num(X, axis=1)
    n_max = int(ak.max(counts)) if len(X) else 0
    flat = ak.to_numpy(ak.flatten(X, axis=1))
    if flat.ndim != 2:
        raise ValueError(
            f"{name}: every object must have the same number of features, got {X.type}"
        )
    return _scatter_ragged(flat, np.asarray(counts), n_max, name)


def _scatter_ragged(flat: np.ndarray, counts: np.ndarray, n_max: int, name: str):
    n = len(counts)
    out = np.zeros(
        (n, max(n_max, 1), flat.shape[1]), dtype=np.result_type(flat, np.float32)
    )
    row = np.repeat(np.arange(n), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    col = np.arange(len(flat)) - start
    out[row, col] = flat
    return out


def _list_to_padded(X: Sequence, name: str) -> np.ndarray:
    arrays = []
    for i, item in enumerate(X):
        a = np.asarray(item)
        if a.ndim == 1 and a.size == 0:
            a = a.reshape(0, 0)
        if a.ndim != 2:
            raise ValueError(
                f"{name}: element {i} of the ragged input has shape {a.shape}; "
                "each element must be a 2-D array (n_objects, n_features)"
            )
        arrays.append(a)
    widths = {a.shape[1] for a in arrays if a.shape[0] > 0}
    if len(widths) > 1:
        raise ValueError(
            f"{name}: the ragged input mixes feature counts {sorted(widths)}; "
            "every object needs the same number of features"
        )
    width = widths.pop() if widths else 0
    counts = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    flat = (
        np.concatenate([a.reshape(-1, width) for a in arrays if a.shape[0] > 0])
        if counts.sum()
        else np.zeros((0, width))
    )
    if not np.issubdtype(flat.dtype, np.number):
        raise ValueError(
            f"{name}: ragged input must be numeric, got dtype {flat.dtype}"
        )
    return _scatter_ragged(flat, counts, int(counts.max(initial=0)), name)


def check_padded(
    X,
    *,
    n_features: int | Sequence[int],
    name: str = "X",
    fields: Sequence[Sequence[str]] = (),
    dtype=None,
) -> np.ndarray:
    """Convert samples of objects (jets, events, hits) to a padded ``(n_samples, n_items, n_features)`` array.

    Accepts a padded array-like of rank 3, a list of per-sample 2-D arrays
    (ragged), or an awkward array (``n * var * n_features`` numbers, or
    records carrying ``fields``). Rows beyond a sample's length are zero.

    Parameters
    ----------
    X : array-like, list of arrays or awkward.Array
        The input.
    n_features : int or sequence of int
        Accepted number(s) of features per object.
    name : str, default="X"
        How to call the input in error messages (e.g. ``"JetImager"``).
    fields : sequence of sequence of str, optional
        Alternative lists of field names to take, in order, from an awkward
        record array; the first list whose fields are all present is used.
    dtype : numpy dtype, optional
        Output dtype. By default floating input keeps its dtype (no copy of a
        float32 array) and anything else becomes float64.

    Returns
    -------
    X : ndarray of shape (n_samples, n_items, n_features)
        Finite values.

    Raises
    ------
    ValueError
        Empty input, wrong rank or feature count, non-numeric values, NaN or inf.
    """
    if _is_awkward(X):
        X = _awkward_to_padded(X, fields, name)
    elif isinstance(X, (list, tuple)) and X and not np.isscalar(X[0]):
        first = np.asarray(X[0])
        shapes = {np.shape(x) for x in X}
        if first.ndim == 2 and len(shapes) > 1:
            X = _list_to_padded(X, name)
    try:
        X = np.asarray(X)
    except ValueError as exc:  # inhomogeneous nested lists
        raise ValueError(
            f"{name}: could not convert the input to an array ({exc})"
        ) from exc
    if X.dtype == object:
        raise ValueError(
            f"{name}: could not interpret the input as numbers (object array); "
            "pass a padded array, a list of 2-D arrays or an awkward array"
        )
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{name}: input must be numeric, got dtype {X.dtype}")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"{name}: complex input is not supported")
    if X.ndim != 3:
        raise ValueError(
            f"{name}: expected a 3-D array of shape (n_samples, n_items, n_features) "
            f"or ragged per-sample arrays, got an array of shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name}: the input is empty (0 samples)")
    allowed = (n_features,) if isinstance(n_features, int) else tuple(n_features)
    if X.shape[2] not in allowed:
        want = " or ".join(str(n) for n in allowed)
        raise ValueError(
            f"{name}: expected {want} features per object, got {X.shape[2]} "
            f"(input shape {X.shape})"
        )
    if dtype is None:
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    X = np.asarray(X, dtype=dtype)
    # in blocks of samples: no mask of the whole input is ever held in memory
    block = max(1, (1 << 24) // max(1, X[0].size))
    for start in range(0, len(X), block):
        finite = np.isfinite(X[start : start + block])
        if not finite.all():
            bad = ~finite
            sample = start + int(np.argwhere(bad)[0, 0])
            kind = "NaN" if np.isnan(X[start : start + block][bad]).any() else "inf"
            raise ValueError(
                f"{name}: the input contains {kind} values ({int(bad.sum())} entries in "
                f"samples {start}-{start + len(bad) - 1}, first in sample {sample})"
            )
    return X
