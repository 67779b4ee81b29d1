"""Jet substructure observables: jet mass, N-subjettiness and soft-drop mass.

Conventions (shared by every function here and by ``SubstructureFeatures``):

- Four-momenta are summed in the E-scheme; a mass is ``sqrt(max(m^2, 0))``.
- Angular distances are ``Delta R = sqrt(Delta y^2 + Delta phi^2)`` with the
  *rapidity* y (not the pseudorapidity), as FastJet and fastjet-contrib use.
- N-subjettiness uses fastjet-contrib's ``Nsubjettiness`` with the
  ``NormalizedMeasure`` and ``KT_Axes`` (exclusive-kt axes, no minimisation).
- Soft drop uses fastjet-contrib's ``SoftDrop`` on the Cambridge/Aachen
  reclustering of the whole jet.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..kinematics._four_vectors import (
    DOCS,
    INPUT_FORMATS,
    check_four_vector_array,
    check_not_empty,
    four_momenta,
)
from ..utils import import_optional
from ..utils._docstrings import fill_doc
from ..utils._optional import import_fastjet

#: Jets handed to FastJet at once; bounds the memory of its cluster sequences.
CHUNK_SIZE = 4096

#: Radius of the Cambridge/Aachen reclustering: large enough that every
#: constituent ends up in the one jet that soft drop declusters.
_RECLUSTER_R = 1000.0

#: Parameter descriptions shared by the observables and SubstructureFeatures.
_DOC = {
    "X": DOCS["X_jets_long"],
    "input_format": DOCS["input_format"],
    "empty": """empty : {"raise", "nan"}, default="raise"
    What to do with a jet that has no constituents (all rows padding), whose
    observables are undefined: raise a ``ValueError`` naming the jet, or
    return NaN for it (HistGradientBoosting models handle NaN natively).""",
}

#: Fills ``%(X)s``, ``%(input_format)s`` and ``%(empty)s`` in a docstring.
_fill_doc = fill_doc(**_DOC)


# -- input ----------------------------------------------------------------------------
def _empty_jets(
    valid: np.ndarray, empty: str, name: str, offset: int = 0
) -> np.ndarray:
    """Mask of jets without constituents; raise when ``empty="raise"``."""
    if empty == "raise":
        check_not_empty(
            valid,
            name=name,
            offset=offset,
            advice=", so its substructure observables are undefined; remove empty "
            "jets, or pass empty='nan' to get NaN for them",
        )
    return ~valid.any(axis=1)


def _check_jets(X, input_format: str, empty: str, name: str) -> None:
    """All the input checks of ``_substructure`` (shape, values, empty jets), no physics."""
    X = check_four_vector_array(X, input_format, name=name)
    for start in range(0, len(X), CHUNK_SIZE):
        _, valid = four_momenta(
            X[start : start + CHUNK_SIZE], input_format, name=name, offset=start
        )
        _empty_jets(valid, empty, name, start)


def _check_n(n) -> tuple[tuple[int, ...], bool]:
    """Normalise ``n`` to a tuple of positive ints; also say whether it was scalar."""
    scalar = isinstance(n, Integral)
    values = (n,) if scalar else tuple(n) if isinstance(n, Sequence) else None
    if (
        not values
        or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values)
        or min(values) < 1
    ):
        raise ValueError(
            f"n must be a positive int or a non-empty sequence of positive ints, got {n!r}"
        )
    return tuple(int(v) for v in values), scalar


# -- the arithmetic ---------------------------------------------------------------------
def _mass(p4: np.ndarray) -> np.ndarray:
    """Invariant mass of the summed four-momenta (padding rows are zero)."""
    E, px, py, pz = p4.sum(axis=1).T
    return np.sqrt(np.maximum(E * E - px * px - py * py - pz * pz, 0.0))


def _cluster(p4: np.ndarray, valid: np.ndarray):
    """One Cambridge/Aachen cluster sequence per jet, through FastJet's awkward API."""
    fastjet = import_fastjet()
    ak = import_optional("awkward", "generate")
    flat = p4[valid]
    records = ak.zip(
        {"px": flat[:, 1], "py": flat[:, 2], "pz": flat[:, 3], "E": flat[:, 0]}
    )
    jets = ak.unflatten(records, valid.sum(axis=1))
    jet_def = fastjet.JetDefinition(fastjet.cambridge_algorithm, _RECLUSTER_R)
    return fastjet.ClusterSequence(jets, jet_def)


def _fastjet_observables(p4, valid, taus, softdrop, *, beta, r0, z_cut, softdrop_beta):
    """N-subjettiness ``taus`` and (if ``softdrop``) the soft-drop mass of non-empty jets.

    Returns ``(tau, msd)``: arrays of shape ``(n_jets, len(taus))`` and ``(n_jets,)``
    (``None`` for what was not asked).
    """
    sequence = _cluster(p4, valid)
    tau = msd = None
    if taus:
        tau = sequence.njettiness(
            measure_definition="NormalizedMeasure",
            axes_definition="KT_Axes",
            njets=list(taus),
            beta=float(beta),
            R0=float(r0),
        )
        tau = np.asarray(tau.to_numpy(), dtype=np.float64).reshape(len(p4), len(taus))
    if softdrop:
        groomed = sequence.exclusive_jets_softdrop_grooming(
            njets=1,
            beta=float(softdrop_beta),
            symmetry_cut=float(z_cut),
            symmetry_measure="scalar_z",
            R0=float(r0),
            recursion_choice="larger_pt",
        )
        msd = np.maximum(np.asarray(groomed["msoftdrop"].to_numpy(), np.float64), 0.0)
    return tau, msd


def _substructure(
    X,
    *,
    mass: bool = False,
    taus: tuple[int, ...] = (),
    softdrop: bool = False,
    beta: float = 1.0,
    r0: float = 0.8,
    z_cut: float = 0.1,
    softdrop_beta: float = 0.0,
    input_format: str = "epxpypz",
    empty: str = "raise",
    name: str = "X",
    chunk_size: int = CHUNK_SIZE,
):
    """Validate ``X`` and compute the requested observables, chunk by chunk.

    Returns a dict with keys among ``"mass"`` (n_jets,), ``"tau"``
    (n_jets, len(taus)) and ``"softdrop_mass"`` (n_jets,); NaN for empty jets.
    """
    X = check_four_vector_array(X, input_format, name=name)
    n_jets = len(X)
    out = {}
    if mass:
        out["mass"] = np.empty(n_jets)
    if taus:
        out["tau"] = np.empty((n_jets, len(taus)))
    if softdrop:
        out["softdrop_mass"] = np.empty(n_jets)
    for start in range(0, n_jets, chunk_size):
        stop = min(start + chunk_size, n_jets)
        p4, valid = four_momenta(X[start:stop], input_format, name=name, offset=start)
        is_empty = _empty_jets(valid, empty, name, start)
        if mass:
            out["mass"][start:stop] = np.where(is_empty, np.nan, _mass(p4))
        if not (taus or softdrop):
            continue
        keep = ~is_empty
        tau, msd = (
            _fastjet_observables(
                p4[keep],
                valid[keep],
                taus,
                softdrop,
                beta=beta,
                r0=r0,
                z_cut=z_cut,
                softdrop_beta=softdrop_beta,
            )
            if keep.any()
            else (np.empty((0, len(taus))), np.empty(0))
        )
        if taus:
            chunk = np.full((stop - start, len(taus)), np.nan)
            chunk[keep] = tau
            out["tau"][start:stop] = chunk
        if softdrop:
            chunk = np.full(stop - start, np.nan)
            chunk[keep] = msd
            out["softdrop_mass"][start:stop] = chunk
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with ``x / 0`` defined as 0 (NaN stays NaN)."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return np.where(np.isnan(num) | np.isnan(den), np.nan, out)


# -- public functions -------------------------------------------------------------------
_COMMON = {  # X is validated by check_padded
    "input_format": [StrOptions(set(INPUT_FORMATS))],
    "empty": [StrOptions({"raise", "nan"})],
}


@validate_params(_COMMON, prefer_skip_nested_validation=True)
@_fill_doc
def jet_mass(X, *, input_format: str = "epxpypz", empty: str = "raise") -> np.ndarray:
    """Invariant mass of each jet, from its summed constituent four-momenta.

    ``m = sqrt(max(E^2 - |p|^2, 0))`` with ``(E, p)`` the sum of the constituent
    four-momenta (E-scheme). Pure NumPy: needs no FastJet.

    Parameters
    ----------
    %(X)s
    %(input_format)s
    %(empty)s

    Returns
    -------
    mass : ndarray of shape (n_jets,)
        Jet masses in GeV, float64.

    See Also
    --------
    softdrop_mass : the mass after soft-drop grooming.
    SubstructureFeatures : all observables as an sklearn transformer.

    Examples
    --------
    Two massless particles of energy 100 GeV at 60 degrees have
    ``m^2 = 2 E^2 (1 - cos 60) = 100^2``:

    >>> import numpy as np
    >>> from hepclf.substructure import jet_mass
    >>> c, s = np.cos(np.pi / 3), np.sin(np.pi / 3)
    >>> jets = np.array([[[100.0, 100.0, 0.0, 0.0], [100.0, 100 * c, 100 * s, 0.0]]])
    >>> jet_mass(jets).round(6)
    array([100.])
    """
    return _substructure(
        X, mass=True, input_format=input_format, empty=empty, name="jet_mass"
    )["mass"]


@validate_params(
    {
        **_COMMON,
        "n": [Interval(Integral, 1, None, closed="left"), list, tuple],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "r0": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
@_fill_doc
def nsubjettiness(
    X,
    n: int | Sequence[int] = (1, 2, 3),
    *,
    beta: float = 1.0,
    r0: float = 0.8,
    input_format: str = "epxpypz",
    empty: str = "raise",
) -> np.ndarray:
    """N-subjettiness ``tau_N`` of each jet, with exclusive-kt axes.

    ``tau_N = sum_i pt_i min_k (Delta R_ik)^beta / sum_i pt_i r0^beta``: the
    normalised N-subjettiness (fastjet-contrib's ``NormalizedMeasure``; ratios
    such as ``tau2 / tau1`` do not depend on the normalisation). The N axes are
    the exclusive kt axes: the constituents reclustered with the kt algorithm
    (E-scheme) down to exactly N jets, with no further minimisation
    (fastjet-contrib's ``KT_Axes``). ``Delta R`` is measured in (rapidity, phi).
    A jet with N or fewer constituents has ``tau_N = 0``.

    Computed by fastjet-contrib's ``Nsubjettiness`` through the ``fastjet``
    package, on the whole batch at once.

    Parameters
    ----------
    %(X)s
    n : int or sequence of int, default=(1, 2, 3)
        The numbers of axes N.
    beta : float, default=1.0
        Angular exponent (> 0).
    r0 : float, default=0.8
        Characteristic jet radius in the normalisation.
    %(input_format)s
    %(empty)s

    Returns
    -------
    tau : ndarray of shape (n_jets, len(n)), or (n_jets,) if ``n`` is an int
        ``tau[:, k]`` is ``tau_{n[k]}``, float64 and dimensionless.

    Raises
    ------
    ImportError
        If ``fastjet`` is missing (``pip install "hepclf[generate]"``).

    See Also
    --------
    SubstructureFeatures : with the ratios ``tau21`` and ``tau32``.

    References
    ----------
    J. Thaler and K. Van Tilburg, "Identifying boosted objects with
    N-subjettiness", JHEP 03 (2011) 015, arXiv:1011.2268.

    Examples
    --------
    Two equal-pt particles at rapidity -0.2 and +0.2: the axis is their sum
    (at rapidity 0), so ``tau_1 = 0.2 / 0.8``; with two axes, ``tau_2 = 0``.

    >>> import numpy as np
    >>> from hepclf.substructure import nsubjettiness
    >>> jets = np.array([[[100.0, -0.2, 0.0], [100.0, 0.2, 0.0]]])
    >>> nsubjettiness(jets, n=(1, 2), input_format="ptetaphi").round(6)
    array([[0.25, 0.  ]])
    """
    taus, scalar = _check_n(n)
    tau = _substructure(
        X,
        taus=taus,
        beta=beta,
        r0=r0,
        input_format=input_format,
        empty=empty,
        name="nsubjettiness",
    )["tau"]
    return tau[:, 0] if scalar else tau


@validate_params(
    {
        **_COMMON,
        "z_cut": [Interval(Real, 0, 1, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "r0": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
@_fill_doc
def softdrop_mass(
    X,
    *,
    z_cut: float = 0.1,
    beta: float = 0.0,
    r0: float = 0.8,
    input_format: str = "epxpypz",
    empty: str = "raise",
) -> np.ndarray:
    """Mass of each jet after soft-drop grooming.

    The constituents are reclustered with the Cambridge/Aachen algorithm into
    one jet, which is declustered step by step: at each step the softer branch
    is dropped unless ``min(pt_1, pt_2) / (pt_1 + pt_2) > z_cut (Delta R_12 /
    r0)^beta``; grooming stops at the first branching that passes (the result
    is a single constituent if none does). With ``beta=0`` this is the
    modified mass-drop tagger (mMDT) and ``r0`` plays no role. ``Delta R`` is
    measured in (rapidity, phi).

    Computed by fastjet-contrib's ``SoftDrop`` (``symmetry_measure="scalar_z"``,
    ``recursion_choice="larger_pt"``) through the ``fastjet`` package, on the
    whole batch at once.

    Parameters
    ----------
    %(X)s
    z_cut : float, default=0.1
        Symmetry cut, in [0, 1).
    beta : float, default=0.0
        Angular exponent (>= 0).
    r0 : float, default=0.8
        Angular normalisation of the soft-drop condition.
    %(input_format)s
    %(empty)s

    Returns
    -------
    mass : ndarray of shape (n_jets,)
        Groomed jet masses in GeV, float64 (``sqrt(max(m^2, 0))``).

    Raises
    ------
    ImportError
        If ``fastjet`` is missing (``pip install "hepclf[generate]"``).

    See Also
    --------
    jet_mass : the ungroomed mass.

    References
    ----------
    A. J. Larkoski, S. Marzani, G. Soyez and J. Thaler, "Soft drop",
    JHEP 05 (2014) 146, arXiv:1402.2657.

    Examples
    --------
    A soft (1 GeV) wide-angle particle is groomed away; the two hard prongs stay:

    >>> import numpy as np
    >>> from hepclf.substructure import jet_mass, softdrop_mass
    >>> jets = np.array([[[100.0, 0.0, -0.2], [100.0, 0.0, 0.2], [1.0, 0.7, 0.0]]])
    >>> bool(softdrop_mass(jets, input_format="ptetaphi")[0]
    ...      < jet_mass(jets, input_format="ptetaphi")[0])
    True
    >>> softdrop_mass(jets, input_format="ptetaphi").round(4)
    array([39.7339])
    """
    return _substructure(
        X,
        softdrop=True,
        z_cut=z_cut,
        softdrop_beta=beta,
        r0=r0,
        input_format=input_format,
        empty=empty,
        name="softdrop_mass",
    )["softdrop_mass"]
