"""Relativistic kinematics shared by every data kind and every engine.

One place for the formulas that jets, events and their engines all need: phi
wrap-around, angular distances and the conversions between ``(E, px, py, pz)``
and ``(pt, eta, phi, mass)``. The NumPy functions here are compiled unchanged
by numba for the kernels (:mod:`hepclf.kinematics._numba`), and
:mod:`hepclf.kinematics._torch` has the same formulas for tensors, so the
engines agree bitwise.

Conventions: momenta and masses in GeV, angles in rad, phi in ``[-pi, pi)``.
"""

from __future__ import annotations

from ._formulas import delta_phi, delta_r, energy, epxpypz, pt_eta_phi, wrap_phi
from ._four_vectors import FIELDS, INPUT_FORMATS

__all__ = [
    "FIELDS",
    "INPUT_FORMATS",
    "delta_phi",
    "delta_r",
    "energy",
    "epxpypz",
    "pt_eta_phi",
    "wrap_phi",
]
