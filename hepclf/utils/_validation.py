"""Input validation for padded per-object arrays (jets, events, hits)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Field names accepted from awkward record arrays of jet constituents, per
#: input format (the first complete list wins).
FIELDS = {
    "epxpypz": [
        ("E", "px", "py", "pz"),
        ("energy", "px", "py", "pz"),
        ("t", "x", "y", "z"),
    ],
    "ptetaphi": [
        ("pt", "eta", "phi", "mass"),
        ("pt", "eta", "phi", "m"),
        ("pt", "eta", "phi"),
    ],
}


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
    """Convert jets/events/hits to a padded ``(n_samples, n_items, n_features)`` array.

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


def check_constituents(X: np.ndarray, input_format: str, *, name: str, offset: int = 0):
    """Check the physics of padded constituents; return the mask of real ones.

    A row is padding when its transverse momentum is zero: ``px = py = 0`` for
    ``input_format="epxpypz"`` (the whole row must then be zero, or it has no
    pseudorapidity), ``pt = 0`` for ``"ptetaphi"``. Real constituents must have
    non-negative energy, or non-negative pt and mass.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_items, n_features)
        Finite values, e.g. from :func:`check_padded`.
    input_format : {"epxpypz", "ptetaphi"}
        The meaning of the features.
    name : str
        How to call the caller in error messages.
    offset : int, default=0
        Index of ``X[0]`` in the caller's input (for chunked processing).

    Returns
    -------
    present : ndarray of bool, shape (n_samples, n_items)
        True for real constituents, False for padding.

    Raises
    ------
    ValueError
        Naming the first offending sample.
    """

    def first(mask):
        return offset + int(np.argwhere(mask)[0, 0])

    if input_format == "epxpypz":
        present = (X[..., 1] != 0) | (X[..., 2] != 0)
        stray = ~present & ((X[..., 0] != 0) | (X[..., 3] != 0))
        if stray.any():
            raise ValueError(
                f"{name}: a constituent of jet {first(stray)} has zero transverse "
                "momentum but non-zero E or pz, so it has no pseudorapidity; padding "
                "rows must be all zero"
            )
        negative = present & (X[..., 0] < 0)
        if negative.any():
            raise ValueError(f"{name}: negative energy in jet {first(negative)}")
        return present
    if (X[..., 0] < 0).any():
        raise ValueError(
            f"{name}: negative transverse momentum in jet {first(X[..., 0] < 0)}"
        )
    present = X[..., 0] != 0
    if X.shape[-1] == 4:
        negative = present & (X[..., 3] < 0)
        if negative.any():
            raise ValueError(f"{name}: negative mass in jet {first(negative)}")
    return present


def check_not_empty(present: np.ndarray, *, name: str, offset: int = 0, advice=""):
    """Constituents per jet; raise for the first jet that has none.

    ``present`` is the mask of :func:`check_constituents`; ``offset`` is the
    index of its first jet, and ``advice`` ends the error message.
    """
    counts = present.sum(axis=1)
    if (counts == 0).any():
        raise ValueError(
            f"{name}: jet {offset + int(np.argmin(counts))} has no constituents "
            f"(all rows are padding){advice}"
        )
    return counts


def check_jets(X, input_format: str, *, name: str) -> np.ndarray:
    """Padded jet constituents in ``input_format`` (see :func:`check_padded`).

    ``(E, px, py, pz)`` rows for ``"epxpypz"``; ``(pt, eta, phi)`` or
    ``(pt, eta, phi, mass)`` rows for ``"ptetaphi"``; awkward records may carry
    the field names of :data:`FIELDS`.
    """
    return check_padded(
        X,
        n_features=4 if input_format == "epxpypz" else (3, 4),
        name=name,
        fields=FIELDS[input_format],
    )


def four_momenta(X: np.ndarray, input_format: str, *, name: str, offset: int = 0):
    """Float64 ``(E, px, py, pz)`` of padded constituents, and the mask of real ones.

    Runs :func:`check_constituents`; ``(pt, eta, phi[, mass])`` rows are
    converted (massless without a mass column); padding rows are zero.

    Returns
    -------
    p4 : ndarray of shape (n_samples, n_items, 4), float64
    present : ndarray of bool, shape (n_samples, n_items)
    """
    present = check_constituents(X, input_format, name=name, offset=offset)
    X = X.astype(np.float64, copy=False)
    if input_format == "epxpypz":
        return X, present
    pt, eta, phi = X[..., 0], X[..., 1], X[..., 2]
    mass = X[..., 3] if X.shape[-1] == 4 else np.zeros_like(pt)
    p4 = np.stack(
        [
            np.hypot(pt * np.cosh(eta), mass),
            pt * np.cos(phi),
            pt * np.sin(phi),
            pt * np.sinh(eta),
        ],
        axis=-1,
    )
    p4[~present] = 0.0
    return p4, present
