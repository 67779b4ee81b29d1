"""Jet substructure observables: jet mass, N-subjettiness and soft-drop mass.

The classic top-tagging baselines, as vectorised functions and as the sklearn
transformer :class:`SubstructureFeatures`; and, for whole events,
:class:`EventFeatures` (object counts, HT, MET, masses, angles). N-subjettiness
and soft drop use FastJet and fastjet-contrib through the ``fastjet`` package
(``pip install "hepclf[generate]"``); the jet mass and the event features are
pure NumPy.
"""

from __future__ import annotations

from ._events import EVENT_FEATURES, EventFeatures
from ._observables import jet_mass, nsubjettiness, softdrop_mass
from ._transformer import FEATURES, SubstructureFeatures

__all__ = [
    "EVENT_FEATURES",
    "FEATURES",
    "EventFeatures",
    "SubstructureFeatures",
    "jet_mass",
    "nsubjettiness",
    "softdrop_mass",
]
