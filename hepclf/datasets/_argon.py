"""Liquid argon: material constants, Bethe-Bloch energy loss and range tables.

The numbers the particle-gun simulator (:mod:`hepclf.datasets._particles`)
takes from the Particle Data Group's tables of atomic and nuclear properties
(liquid argon) and from the PDG review "Passage of particles through matter":

- Z = 18, A = 39.948 g/mol, mean excitation energy I = 188.0 eV, density
  1.396 g/cm3;
- radiation length X0 = 19.55 g/cm2 = 14.0 cm, Moliere radius 9.04 cm,
  critical energy 32.84 MeV (electrons), nuclear interaction length
  119.7 g/cm2 = 85.7 cm;
- Sternheimer's density-effect parameters for liquid argon
  (C = 5.2146, x0 = 0.2, x1 = 3.0, a = 0.19559, k = 3.0, delta0 = 0).

Energies are in MeV, lengths in cm, momenta in MeV/c.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Atomic number, atomic mass (g/mol), mean excitation energy (MeV), density
#: (g/cm3) of liquid argon.
Z_ARGON = 18.0
A_ARGON = 39.948
I_ARGON = 188.0e-6
DENSITY_ARGON = 1.396
#: Radiation length, Moliere radius, nuclear interaction length (cm) and the
#: critical energy (MeV) of liquid argon.
RADIATION_LENGTH = 14.0
MOLIERE_RADIUS = 9.04
INTERACTION_LENGTH = 85.7
CRITICAL_ENERGY = 32.84
#: dE/dx of a minimum-ionising particle in liquid argon (MeV/cm).
MIP_DEDX = 2.105

#: K = 4 pi N_A r_e^2 m_e c^2 (MeV mol^-1 cm^2), the electron mass (MeV).
K_BETHE = 0.307075
ELECTRON_MASS = 0.51099895
#: Masses (MeV/c^2).
MUON_MASS = 105.6583755
PION_MASS = 139.57039
PROTON_MASS = 938.27208816
#: The maximum energy of the Michel electron, (m_mu^2 + m_e^2) / 2 m_mu (MeV),
#: and the kinetic energy of the muon of a pi+ -> mu+ nu decay at rest (MeV).
MICHEL_MAX = (MUON_MASS**2 + ELECTRON_MASS**2) / (2 * MUON_MASS)
PION_DECAY_MUON_T = (PION_MASS**2 + MUON_MASS**2) / (2 * PION_MASS) - MUON_MASS

# Sternheimer density-effect parameters of liquid argon.
_STERNHEIMER = {"C": 5.2146, "x0": 0.2, "x1": 3.0, "a": 0.19559, "k": 3.0}

#: Kinetic-energy grid of the range tables (MeV).
_T_GRID = np.geomspace(1e-3, 1e5, 2401)


def kinematics(kinetic, mass):
    """Momentum, beta and gamma of a particle of kinetic energy ``kinetic`` (MeV)."""
    kinetic = np.asarray(kinetic, dtype=float)
    energy = kinetic + mass
    p = np.sqrt(np.maximum(kinetic * (kinetic + 2 * mass), 0.0))
    return p, p / energy, energy / mass


def kinetic_energy(momentum, mass):
    """Kinetic energy (MeV) of a particle of momentum ``momentum`` (MeV/c)."""
    momentum = np.asarray(momentum, dtype=float)
    return np.sqrt(momentum**2 + mass**2) - mass


def _density_effect(beta_gamma):
    """Sternheimer's density correction delta(beta gamma) for liquid argon."""
    s = _STERNHEIMER
    x = np.log10(np.maximum(beta_gamma, 1e-12))
    delta = np.where(
        x >= s["x1"],
        2 * math.log(10) * x - s["C"],
        2 * math.log(10) * x - s["C"] + s["a"] * (s["x1"] - x) ** s["k"],
    )
    return np.where(x < s["x0"], 0.0, delta)


def bethe_dedx(kinetic, mass):
    """Mean energy loss -dE/dx (MeV/cm) of a singly charged particle in argon.

    The Bethe-Bloch formula with the full maximum energy transfer ``W_max``
    and Sternheimer's density correction (no shell correction, so it is
    meant above about 1 MeV per nucleon; below that the range tables use it
    anyway, where the ranges are micrometres).

    Parameters
    ----------
    kinetic : array-like
        Kinetic energy (MeV).
    mass : float
        Mass of the particle (MeV/c^2).

    Returns
    -------
    ndarray
        -dE/dx in MeV/cm.
    """
    _, beta, gamma = kinematics(kinetic, mass)
    beta = np.maximum(beta, 1e-6)
    bg2 = (beta * gamma) ** 2
    ratio = ELECTRON_MASS / mass
    w_max = 2 * ELECTRON_MASS * bg2 / (1 + 2 * gamma * ratio + ratio**2)
    log_term = 0.5 * np.log(2 * ELECTRON_MASS * bg2 * w_max / I_ARGON**2)
    delta = _density_effect(beta * gamma)
    per_gram = K_BETHE * Z_ARGON / A_ARGON / beta**2 * (log_term - beta**2 - delta / 2)
    return per_gram * DENSITY_ARGON


def dedx(kinetic, mass):
    """-dE/dx (MeV/cm) for the range tables: Bethe-Bloch, and a power law below.

    Below ``T_low = 2 MeV x mass / m_p`` (beta ~ 0.065, where the Bethe
    formula without shell corrections stops being reliable and then turns
    over) the loss is continued as ``dE/dx(T_low) (T / T_low)^-0.75``, which
    makes the range grow as ``T^1.75`` there, as the measured low-energy
    ranges of protons do.
    """
    kinetic = np.asarray(kinetic, dtype=float)
    t_low = 2.0 * mass / PROTON_MASS
    at_low = bethe_dedx(t_low, mass)
    ratio = np.maximum(kinetic, 1e-12) / t_low
    return np.where(
        kinetic >= t_low,
        bethe_dedx(np.maximum(kinetic, t_low), mass),
        at_low * ratio**-0.75,
    )


def highland_theta0(momentum, beta, step):
    """Highland's width (rad) of the projected multiple-scattering angle.

    ``theta0 = 13.6 MeV / (beta c p) sqrt(x/X0) (1 + 0.038 ln(x / (X0
    beta^2)))`` for a singly charged particle crossing ``step`` cm of argon.
    The logarithm is clipped at zero for very short steps.
    """
    x = np.asarray(step, dtype=float) / RADIATION_LENGTH
    beta = np.maximum(beta, 1e-6)
    log = np.maximum(1 + 0.038 * np.log(x / beta**2), 0.0)
    return 13.6 / (beta * np.maximum(momentum, 1e-6)) * np.sqrt(x) * log


class RangeTable:
    """The continuous-slowing-down range of a particle in argon, and its inverse.

    ``range(T) = integral_0^T dT' / (dE/dx)(T')`` with :func:`dedx` on a logarithmic grid of
    kinetic energies (1 keV to 100 GeV), by the trapezoidal rule in
    ``log T``; both directions are interpolated linearly in ``log``.

    Parameters
    ----------
    mass : float
        Mass of the particle (MeV/c^2).
    """

    def __init__(self, mass: float):
        self.mass = float(mass)
        loss = dedx(_T_GRID, self.mass)
        integrand = _T_GRID / loss  # dT/(dE/dx) = T d(log T)/(dE/dx)
        log_t = np.log(_T_GRID)
        first = _T_GRID[0] / loss[0] / 1.75  # range of the first keV (T^1.75)
        cumulative = np.concatenate(
            [[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(log_t))]
        )
        self._log_t = log_t
        self._log_r = np.log(first + cumulative)

    def range(self, kinetic):
        """CSDA range (cm) at kinetic energy ``kinetic`` (MeV)."""
        log_t = np.log(np.maximum(kinetic, _T_GRID[0]))
        return np.exp(np.interp(log_t, self._log_t, self._log_r))

    def kinetic(self, residual_range):
        """Kinetic energy (MeV) of a particle with ``residual_range`` cm to go.

        Zero where the residual range is zero or negative.
        """
        residual_range = np.asarray(residual_range, dtype=float)
        log_r = np.log(np.maximum(residual_range, 1e-300))
        t = np.exp(np.interp(log_r, self._log_r, self._log_t))
        return np.where(residual_range > np.exp(self._log_r[0]), t, 0.0)


@lru_cache(maxsize=8)
def range_table(mass: float) -> RangeTable:
    """Return the (cached) :class:`RangeTable` of a particle of mass ``mass``."""
    return RangeTable(mass)


def michel_energies(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` Michel-electron energies (MeV) from the muon-decay spectrum.

    ``dN/dx = x^2 (3 - 2 x)`` with ``x = E / E_max``, E_max = 52.83 MeV (the
    tree-level V-A spectrum, unpolarised, electron mass neglected), by
    rejection from the uniform distribution (acceptance 1/2).
    """
    out = np.empty(0)
    while len(out) < n:
        x = rng.random(2 * (n - len(out)) + 4)
        u = rng.random(len(x))
        out = np.concatenate([out, x[u <= x**2 * (3 - 2 * x)]])
    return out[:n] * MICHEL_MAX
