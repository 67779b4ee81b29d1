"""Four-momenta of hand-built test particles, written out apart from hepclf's own."""

from __future__ import annotations

import numpy as np


def p4(pt, eta, phi, mass=0.0):
    """``(E, px, py, pz)`` of particles given by pt, eta, phi and mass.

    The arguments broadcast; the result has their shape plus a last axis of 4,
    float64 (``(4,)`` for scalars). A particle with ``pt = mass = 0`` is a
    zero row, i.e. padding.
    """
    pt, eta, phi, mass = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (pt, eta, phi, mass))
    )
    return np.stack(
        [
            np.hypot(pt * np.cosh(eta), mass),
            pt * np.cos(phi),
            pt * np.sin(phi),
            pt * np.sinh(eta),
        ],
        axis=-1,
    )
