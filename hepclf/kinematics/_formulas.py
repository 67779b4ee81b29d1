"""The formulas of relativistic kinematics, written once for NumPy and numba.

Every function here uses only arithmetic and NumPy ufuncs that numba compiles,
so :mod:`hepclf.kinematics._numba` compiles these very functions for the
kernels, and a NumPy engine and a numba engine that call them agree bitwise.
They take arrays (NumPy) or scalars (numba) alike.
"""

from __future__ import annotations

import math

import numpy as np

#: float64 constants (never rounded to float32 where a graph is exported)
PI = math.pi
TWO_PI = 2.0 * math.pi
HALF_PI = 0.5 * math.pi
HALF_OVER_PI = 0.5 / math.pi


def wrap_phi(phi):
    """Map angles to ``[-pi, pi)``: ``phi - 2 pi floor((phi + pi) / (2 pi))``.

    Exact (``wrap_phi(phi) == phi``) for ``phi`` already in ``[-pi, pi)``.

    Parameters
    ----------
    phi : float or ndarray
        Angles in rad.

    Returns
    -------
    float or ndarray
        The same angles in ``[-pi, pi)``.

    Examples
    --------
    >>> from hepclf.kinematics import wrap_phi
    >>> round(float(wrap_phi(3.5)), 6)
    -2.783185
    """
    return phi - TWO_PI * np.floor((phi + PI) * HALF_OVER_PI)


def delta_phi(phi1, phi2):
    """Azimuthal difference ``phi1 - phi2`` wrapped into ``[-pi, pi)``.

    Parameters
    ----------
    phi1, phi2 : float or ndarray
        Azimuths in rad (broadcast together).

    Returns
    -------
    float or ndarray
        ``wrap_phi(phi1 - phi2)``.
    """
    return wrap_phi(phi1 - phi2)


def delta_r(eta1, phi1, eta2, phi2):
    """Angular distance ``sqrt(delta_eta^2 + delta_phi^2)``, phi wrapped around.

    Parameters
    ----------
    eta1, phi1, eta2, phi2 : float or ndarray
        Pseudorapidities (or rapidities) and azimuths (broadcast together).

    Returns
    -------
    float or ndarray
        The distance in the (eta, phi) plane.
    """
    return np.hypot(eta1 - eta2, delta_phi(phi1, phi2))


def pt_eta_phi(px, py, pz):
    """Transverse momentum, pseudorapidity and azimuth of momenta.

    Parameters
    ----------
    px, py, pz : float or ndarray
        Momentum components (GeV). Rows with zero transverse momentum get
        ``eta = +-inf`` (NaN for a null momentum): mask them out first.

    Returns
    -------
    pt, eta, phi : float or ndarray
        ``hypot(px, py)``, ``arcsinh(pz / pt)`` and ``arctan2(py, px)`` (rad,
        in ``[-pi, pi]``).
    """
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt), np.arctan2(py, px)


def energy(pt, eta, mass):
    """Energy of a particle given as ``(pt, eta, mass)``: ``hypot(pt cosh eta, m)``.

    ``mass = 0`` gives ``pt cosh(eta)`` exactly.

    Parameters
    ----------
    pt, eta, mass : float or ndarray
        Transverse momentum and mass (GeV), pseudorapidity.

    Returns
    -------
    float or ndarray
        The energy in GeV.
    """
    return np.hypot(pt * np.cosh(eta), mass)


def epxpypz(pt, eta, phi, mass):
    """Four-momentum ``(E, px, py, pz)`` of ``(pt, eta, phi, mass)``.

    Parameters
    ----------
    pt, eta, phi, mass : float or ndarray
        Transverse momentum and mass (GeV), pseudorapidity, azimuth (rad).

    Returns
    -------
    E, px, py, pz : float or ndarray
        The four-momentum components in GeV.

    Examples
    --------
    >>> from hepclf.kinematics import epxpypz
    >>> [round(float(v), 6) for v in epxpypz(10.0, 0.0, 0.0, 0.0)]
    [10.0, 10.0, 0.0, 0.0]
    """
    return (
        energy(pt, eta, mass),
        pt * np.cos(phi),
        pt * np.sin(phi),
        pt * np.sinh(eta),
    )
