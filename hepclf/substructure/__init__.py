"""Jet substructure observables: jet mass, N-subjettiness and soft-drop mass.

The classic top-tagging baselines, as vectorised functions and as the sklearn
transformer :class:`SubstructureFeatures`. N-subjettiness and soft drop use
FastJet and fastjet-contrib through the ``fastjet`` package
(``pip install "hepclf[generate]"``); the jet mass is pure NumPy.
"""

from __future__ import annotations

from ._observables import jet_mass, nsubjettiness, softdrop_mass
from ._transformer import FEATURES, SubstructureFeatures

__all__ = [
    "FEATURES",
    "SubstructureFeatures",
    "jet_mass",
    "nsubjettiness",
    "softdrop_mass",
]
