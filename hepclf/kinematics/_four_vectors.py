"""Padded arrays of four-vectors: the two input formats, their checks, conversion.

Jet constituents and reconstructed event objects both come as zero-padded
``(n_samples, n_items, n_features)`` arrays of four-vectors, either
``(E, px, py, pz)`` (``"epxpypz"``) or ``(pt, eta, phi[, mass])``
(``"ptetaphi"``). The error messages name the sample and the item in the
caller's words (``sample="jet", item="constituent"`` by default).
"""

from __future__ import annotations

import numpy as np

from ..utils._validation import check_padded
from ._formulas import epxpypz

#: The input formats of four-vectors.
INPUT_FORMATS = ("epxpypz", "ptetaphi")

#: Field names accepted from awkward record arrays of four-vectors, per input
#: format (the first complete list wins).
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


#: Shared parameter descriptions (for ``hepclf.utils._docstrings.fill_doc``).
DOCS = {
    "X_jets": """X : array-like of shape (n_jets, n_constituents, n_features) or ragged
    Jet constituents (see ``input_format``), zero-padded.""",
    "X_jets_long": """X : array-like of shape (n_jets, n_constituents, n_features), \
list of arrays or awkward.Array
    Jet constituents, zero-padded (see ``input_format``). A constituent is
    padding when its pt is zero; with ``"epxpypz"`` such a row must be all
    zero. Ragged input (a list of per-jet 2-D arrays, or an awkward array of
    numbers or of records with fields ``E, px, py, pz`` or
    ``pt, eta, phi[, mass]``) is padded first.""",
    "input_format": """input_format : {"epxpypz", "ptetaphi"}, default="epxpypz"
    Meaning of the features of each constituent. ``"epxpypz"``:
    ``(E, px, py, pz)`` in GeV. ``"ptetaphi"``: ``(pt, eta, phi)`` (massless)
    or ``(pt, eta, phi, mass)``, with pt and mass in GeV and phi in rad.""",
    "y_ignored": """y : None
    Ignored; present for the Pipeline API.""",
}


def check_four_vector_array(X, input_format: str, *, name: str) -> np.ndarray:
    """Check and pad four-vectors in ``input_format`` (see :func:`check_padded`).

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


def check_four_vectors(
    X: np.ndarray,
    input_format: str,
    *,
    name: str,
    offset: int = 0,
    sample: str = "jet",
    item: str = "constituent",
):
    """Check the physics of padded four-vectors; return the mask of real ones.

    A row is padding when its transverse momentum is zero: ``px = py = 0`` for
    ``input_format="epxpypz"`` (the whole row must then be zero, or it has no
    pseudorapidity), ``pt = 0`` for ``"ptetaphi"``. Real rows must have
    non-negative energy, or non-negative pt and mass.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_items, n_features)
        Finite values, e.g. from :func:`check_four_vector_array`.
    input_format : {"epxpypz", "ptetaphi"}
        The meaning of the features.
    name : str
        How to call the caller in error messages.
    offset : int, default=0
        Index of ``X[0]`` in the caller's input (for chunked processing).
    sample, item : str, default="jet", "constituent"
        What the caller calls a sample and a row, for the error messages.

    Returns
    -------
    present : ndarray of bool, shape (n_samples, n_items)
        True for real rows, False for padding.

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
                f"{name}: a {item} of {sample} {first(stray)} has zero transverse "
                "momentum but non-zero E or pz, so it has no pseudorapidity; padding "
                "rows must be all zero"
            )
        negative = present & (X[..., 0] < 0)
        if negative.any():
            raise ValueError(f"{name}: negative energy in {sample} {first(negative)}")
        return present
    if (X[..., 0] < 0).any():
        raise ValueError(
            f"{name}: negative transverse momentum in {sample} {first(X[..., 0] < 0)}"
        )
    present = X[..., 0] != 0
    if X.shape[-1] == 4:
        negative = present & (X[..., 3] < 0)
        if negative.any():
            raise ValueError(f"{name}: negative mass in {sample} {first(negative)}")
    return present


def check_not_empty(
    present: np.ndarray,
    *,
    name: str,
    offset: int = 0,
    advice: str = "",
    sample: str = "jet",
    item: str = "constituent",
):
    """Rows per sample; raise for the first sample that has none.

    ``present`` is the mask of :func:`check_four_vectors`; ``offset`` is the
    index of its first sample, and ``advice`` ends the error message.
    """
    counts = present.sum(axis=1)
    if (counts == 0).any():
        raise ValueError(
            f"{name}: {sample} {offset + int(np.argmin(counts))} has no {item}s "
            f"(all rows are padding){advice}"
        )
    return counts


def four_momenta(X: np.ndarray, input_format: str, *, name: str, offset: int = 0):
    """Float64 ``(E, px, py, pz)`` of padded four-vectors, and the mask of real ones.

    Runs :func:`check_four_vectors`; ``(pt, eta, phi[, mass])`` rows are
    converted (massless without a mass column); padding rows are zero.

    Returns
    -------
    p4 : ndarray of shape (n_samples, n_items, 4), float64
    present : ndarray of bool, shape (n_samples, n_items)
    """
    present = check_four_vectors(X, input_format, name=name, offset=offset)
    X = X.astype(np.float64, copy=False)
    if input_format == "epxpypz":
        return X, present
    mass = X[..., 3] if X.shape[-1] == 4 else np.zeros_like(X[..., 0])
    p4 = np.stack(epxpypz(X[..., 0], X[..., 1], X[..., 2], mass), axis=-1)
    p4[~present] = 0.0
    return p4, present
