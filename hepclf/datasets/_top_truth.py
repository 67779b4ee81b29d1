"""Truth of top-quark jets: hadronic top decays and jet-top matching.

:func:`_top_decays` finds the hadronically decaying tops (and their b and W
decay quarks) in a Pythia event record; :func:`_match_tops` matches jets to
the tops whose decay products all lie inside them. Used by the top-jet
generator (``_top_jets``) to label top jets.
"""

from __future__ import annotations

import numpy as np

from ..kinematics import delta_r
from ._pythia import _daughters, _last_copy


def _match_tops(jet_eta, jet_phi, parton_eta, parton_phi, radius: float) -> np.ndarray:
    """Match jets to truth tops whose decay products are all inside the jet.

    Parameters
    ----------
    jet_eta, jet_phi : array-like of shape (n_jets,)
        Jet axes.
    parton_eta, parton_phi : array-like of shape (n_tops, n_partons)
        For each top, the top itself and its decay quarks (b, q, q'), in any
        order.
    radius : float
        A jet matches a top when every parton of that top lies within
        ``Delta R < radius`` of the jet axis.

    Returns
    -------
    match : ndarray of shape (n_jets,), dtype int64
        Index of the matched top, or -1. If several tops qualify, the one
        whose first parton (the top) is closest to the jet wins.
    """
    jet_eta = np.asarray(jet_eta, dtype=np.float64).reshape(-1)
    jet_phi = np.asarray(jet_phi, dtype=np.float64).reshape(-1)
    parton_eta = np.asarray(parton_eta, dtype=np.float64)
    parton_phi = np.asarray(parton_phi, dtype=np.float64)
    if parton_eta.ndim != 2 or parton_eta.shape != parton_phi.shape:
        raise ValueError(
            "parton_eta and parton_phi must be 2-D arrays of the same shape "
            f"(n_tops, n_partons), got {parton_eta.shape} and {parton_phi.shape}"
        )
    match = np.full(len(jet_eta), -1, dtype=np.int64)
    if len(jet_eta) == 0 or parton_eta.shape[0] == 0:
        return match
    # (n_jets, n_tops, n_partons)
    dr = delta_r(
        jet_eta[:, None, None],
        jet_phi[:, None, None],
        parton_eta[None],
        parton_phi[None],
    )
    contained = (dr < radius).all(axis=2)
    dr_top = np.where(contained, dr[:, :, 0], np.inf)
    best = np.argmin(dr_top, axis=1)
    has = contained.any(axis=1)
    match[has] = best[has]
    return match


def _top_decays(ids, d1, d2) -> np.ndarray:
    """Find hadronically decaying tops in a Pythia event record.

    Parameters
    ----------
    ids, d1, d2 : array-like of shape (n_entries,)
        PDG ids and ``daughter1``/``daughter2`` of the event record entries.

    Returns
    -------
    decays : ndarray of shape (n_tops, 4), dtype int64
        Record indices of each top's last copy (the one that decays), its
        quark (b) and the two quarks of its W's last copy. Tops whose W does
        not decay to two quarks are left out.
    """
    ids = np.asarray(ids)
    d1 = np.asarray(d1)
    d2 = np.asarray(d2)
    out = []
    for i in np.flatnonzero(np.abs(ids) == 6):
        dau = _daughters(int(i), d1, d2)
        if any(abs(ids[d]) == 6 for d in dau):
            continue  # not the last copy
        ws = [d for d in dau if abs(ids[d]) == 24]
        bs = [d for d in dau if 1 <= abs(ids[d]) <= 5]
        if len(ws) != 1 or len(bs) != 1:
            continue
        w = _last_copy(ws[0], ids, d1, d2)
        qs = [d for d in _daughters(w, d1, d2) if 1 <= abs(ids[d]) <= 5]
        if len(qs) != 2:
            continue
        out.append((int(i), bs[0], qs[0], qs[1]))
    return np.array(out, dtype=np.int64).reshape(-1, 4)
