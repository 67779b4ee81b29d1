"""Simulate drift-chamber events of psi(3686) decays in a BESIII-like chamber.

Three processes of the drift-chamber tutorial of the seed, e+e- collisions at
sqrt(s) = 3.686 GeV: psi(3686) -> pi+ pi- J/psi with J/psi -> e+ e-
(``"jpsi_ee"``) or mu+ mu- (``"jpsi_mumu"``), and the non-resonant
e+ e- -> pi+ pi- mu+ mu- (``"pipimumu"``). The charged tracks are followed as
helices through :data:`BESIII_MDC`, a parametric copy of the wire table of
the BESIII Main Drift Chamber, and each cell they cross gives a hit with the
wire's east and west end points, a drift time and a charge.

This module holds the geometry (:class:`MDCGeometry`, :data:`BESIII_MDC`),
the decay kinematics, the chamber response (:func:`_track_hits`, noise), the
task function :func:`_make_dc_chunk` and :func:`make_drift_chamber_events`.
The output goes through ``_hits_io`` (:func:`hits_from_table`, the text dump
and the CSV files), the parallel runner is the shared ``_runner``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ._hits_io import hits_from_table, write_hits_csv, write_hits_text
from ._runner import Task, _resolve_n_jobs, _seed_sequence, run_tasks

__all__ = [
    "BESIII_MDC",
    "DC_PROCESSES",
    "MDCGeometry",
    "load_hits_sample",
    "make_drift_chamber_events",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MDCGeometry:
    """Sense wires of a cylindrical drift chamber, layer by layer.

    Layer ``l`` has ``n_wires[l]`` straight wires, numbered ``0 .. n - 1``
    counter-clockwise, stretched between an east end plate at
    ``z = +half_length[l]`` and a west end plate at ``z = -half_length[l]``,
    both ends at the radius ``radius[l]``. The east end of wire ``w`` lies at
    the azimuth ``(w + phi_offset[l]) * 2 pi / n`` and its west end
    ``twist[l]`` cells (of ``2 pi / n``) less. An axial wire (``twist`` 0) is
    parallel to the z axis; a stereo wire (``twist`` not 0) is skewed, so its
    distance from the axis is smallest at ``z = 0``
    (:attr:`midpoint_radius`, ``radius * cos(pi twist / n)``) and a stereo
    layer is a hyperboloid. Lengths in cm, as in the BESIII software.

    Parameters
    ----------
    n_wires : tuple of int
        Wires per layer.
    radius : tuple of float
        Radius of the wire ends (cm).
    half_length : tuple of float
        Half the wire length along z (cm): the end plates.
    phi_offset : tuple of float
        Azimuth of the east end of wire 0, in cells.
    twist : tuple of float
        East minus west azimuth of each wire, in cells (0 for axial layers).

    Attributes
    ----------
    n_layers : int
    stereo : ndarray of bool, shape (n_layers,)
    superlayer : ndarray of int, shape (n_layers,)
        Groups of four layers (the last group of BESIII has three).
    cell_angle : ndarray of shape (n_layers,)
        ``2 pi / n_wires`` (rad).
    midpoint_radius : ndarray of shape (n_layers,)
        Distance of the wire midpoints (z = 0) from the axis (cm).
    first_wire : ndarray of int, shape (n_layers,)
        Global number of wire 0 of each layer (wires counted layer by layer).

    See Also
    --------
    BESIII_MDC : The BESIII Main Drift Chamber.
    make_drift_chamber_events : Simulates events in such a chamber.

    Examples
    --------
    >>> from hepclf.datasets import BESIII_MDC
    >>> BESIII_MDC.n_layers, int(BESIII_MDC.n_wires_total)
    (43, 6796)
    >>> ends = BESIII_MDC.wire_ends(0, 21)  # cm: xe, ye, ze, xw, yw, zw
    >>> [round(float(v) * 10, 2) for v in ends[[0, 1, 3, 4]]]  # mm
    [-76.67, -18.41, -74.99, 24.37]
    """

    n_wires: tuple[int, ...]
    radius: tuple[float, ...]
    half_length: tuple[float, ...]
    phi_offset: tuple[float, ...]
    twist: tuple[float, ...]

    def __post_init__(self):
        n = len(self.n_wires)
        for name in ("radius", "half_length", "phi_offset", "twist"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"MDCGeometry: {name} has {len(getattr(self, name))} layers, "
                    f"n_wires has {n}"
                )
        if n == 0 or min(self.n_wires) < 1:
            raise ValueError("MDCGeometry: needs at least one layer of >= 1 wire")
        if np.any(np.diff(self.radius) <= 0) or min(self.radius) <= 0:
            raise ValueError("MDCGeometry: radius must be positive and increasing")
        if min(self.half_length) <= 0:
            raise ValueError("MDCGeometry: half_length must be positive")

    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.n_wires)

    @cached_property
    def n_wires_total(self) -> int:
        """Number of wires in the chamber."""
        return int(sum(self.n_wires))

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        n = np.asarray(self.n_wires, dtype=np.int64)
        cell = 2 * np.pi / n
        radius = np.asarray(self.radius, dtype=float)
        twist = np.asarray(self.twist, dtype=float) * cell
        out = {
            "n": n,
            "cell": cell,
            "radius": radius,
            "half_length": np.asarray(self.half_length, dtype=float),
            "phi0": np.asarray(self.phi_offset, dtype=float) * cell,
            "twist": twist,
            "mid": radius * np.cos(twist / 2),
            "first": np.concatenate([[0], np.cumsum(n)[:-1]]),
        }
        for v in out.values():
            v.setflags(write=False)
        return out

    @property
    def stereo(self) -> np.ndarray:
        """True for the stereo layers."""
        return self._arrays["twist"] != 0

    @property
    def superlayer(self) -> np.ndarray:
        """Superlayer of each layer (groups of four, at most 10 for BESIII)."""
        return np.minimum(np.arange(self.n_layers) // 4, (self.n_layers - 1) // 4)

    @property
    def cell_angle(self) -> np.ndarray:
        """Azimuthal size of a cell, ``2 pi / n_wires`` (rad)."""
        return self._arrays["cell"]

    @property
    def midpoint_radius(self) -> np.ndarray:
        """Distance of the wire midpoints (z = 0) from the axis (cm)."""
        return self._arrays["mid"]

    @property
    def first_wire(self) -> np.ndarray:
        """Global number of wire 0 of each layer."""
        return self._arrays["first"]

    def wire_ends(self, layer, wire) -> np.ndarray:
        """East and west end points of wires (cm).

        Parameters
        ----------
        layer, wire : int or array-like of int
            Layer and wire numbers (broadcast together).

        Returns
        -------
        ends : ndarray of shape (..., 6)
            ``xe, ye, ze, xw, yw, zw``; the east end is at ``z = +half_length``.
        """
        a = self._arrays
        layer = np.asarray(layer, dtype=np.int64)
        wire = np.asarray(wire, dtype=np.int64)
        if np.any((layer < 0) | (layer >= self.n_layers)):
            raise ValueError(f"MDCGeometry: layer must be in [0, {self.n_layers})")
        if np.any((wire < 0) | (wire >= a["n"][layer])):
            raise ValueError("MDCGeometry: wire number beyond its layer's wires")
        phi_e = a["phi0"][layer] + wire * a["cell"][layer]
        phi_w = phi_e - a["twist"][layer]
        r, half = a["radius"][layer], a["half_length"][layer]
        return np.stack(
            np.broadcast_arrays(
                r * np.cos(phi_e),
                r * np.sin(phi_e),
                half,
                r * np.cos(phi_w),
                r * np.sin(phi_w),
                -half,
            ),
            axis=-1,
        )

    def wire_position(self, layer, wire, z) -> tuple[np.ndarray, np.ndarray]:
        """Transverse position ``(x, y)`` of wires at height ``z`` (cm).

        ``z = 0`` gives the midpoint, ``((xe + xw) / 2, (ye + yw) / 2)``.
        """
        e = self.wire_ends(layer, wire)
        t = (np.asarray(z, dtype=float) - e[..., 5]) / (e[..., 2] - e[..., 5])
        return e[..., 3] + t * (e[..., 0] - e[..., 3]), e[..., 4] + t * (
            e[..., 1] - e[..., 4]
        )

    @classmethod
    def from_pybes3(cls) -> MDCGeometry:
        """Read the geometry from the wire table of ``pybes3`` (if installed).

        ``pybes3`` (``pip install pybes3``) ships the BESIII MDC wire table;
        this reads it and checks that each layer is regular (equal radii,
        equal twist, equally spaced wires), which is what this class can
        describe.
        """
        try:
            from pybes3 import mdc
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "MDCGeometry.from_pybes3 needs pybes3: pip install pybes3"
            ) from exc
        table = mdc.get_mdc_geom_table("np")
        rows = []
        for layer in range(int(table["layer"].max()) + 1):
            m = table["layer"] == layer
            wire = table["wire"][m]
            ex, ey, ez = table["east_x"][m], table["east_y"][m], table["east_z"][m]
            wx, wy = table["west_x"][m], table["west_y"][m]
            n = int(m.sum())
            cell = 2 * np.pi / n
            phi_e = np.arctan2(ey, ex)
            twist = np.angle(np.exp(1j * (phi_e - np.arctan2(wy, wx)))) / cell
            offset = np.angle(np.exp(1j * (phi_e - wire * cell))) / cell
            if np.ptp(twist) > 1e-3 or np.ptp(np.angle(np.exp(1j * offset))) > 1e-3:
                raise ValueError(f"MDCGeometry: pybes3 layer {layer} is not regular")
            mean_offset = np.angle(np.mean(np.exp(1j * offset * cell))) / cell
            rows.append(
                (
                    n,
                    round(float(np.hypot(ex, ey).mean()), 4),
                    round(float(np.abs(ez).mean()), 2),
                    round(float(mean_offset), 5) + 0.0,
                    round(float(twist.mean()), 3) + 0.0,
                )
            )
        return cls(*map(tuple, zip(*rows, strict=True)))


#: The BESIII Main Drift Chamber, one row per layer: wires, end radius (cm),
#: half length (cm), azimuth of wire 0's east end and twist (both in cells).
#: The numbers are those of the wire table shipped by ``pybes3``
#: (``data/mdc_geom.npz``; 6796 wires), which every layer reproduces to
#: better than 1e-3 mm.
_BESIII_LAYERS = (
    (40, 7.8850, 39.00, 0.5, 3.5),
    (44, 9.0700, 39.60, 0.0, 3.5),
    (48, 10.2900, 40.20, 0.5, 3.5),
    (56, 11.5250, 40.80, 0.0, 3.5),
    (64, 12.7200, 41.40, 0.5, -4.5),
    (72, 13.8750, 42.00, 0.0, -4.5),
    (80, 15.0100, 42.60, 0.5, -4.5),
    (80, 16.1600, 43.20, 0.0, -4.5),
    (76, 19.7000, 54.60, 0.74911, 0.0),
    (76, 21.3000, 54.60, 0.24911, 0.0),
    (88, 22.9550, 63.60, 0.78844, 0.0),
    (88, 24.5550, 63.60, 0.28844, 0.0),
    (100, 26.2150, 72.10, 0.82778, 0.0),
    (100, 27.8200, 72.10, 0.32778, 0.0),
    (112, 29.4650, 80.60, 0.86711, 0.0),
    (112, 31.0600, 80.60, 0.36711, 0.0),
    (128, 32.6900, 89.10, 0.5, 0.0),
    (128, 34.2650, 89.10, 0.0, 0.0),
    (140, 35.8750, 97.60, 0.5, 0.0),
    (140, 37.4550, 97.60, 0.0, 0.0),
    (160, 39.9750, 108.70, 0.5, 6.0),
    (160, 41.5200, 109.00, 0.0, 6.0),
    (160, 43.1200, 109.30, 0.5, 6.0),
    (160, 44.7600, 109.60, 0.0, 6.0),
    (176, 46.4150, 109.90, 0.5, -6.5),
    (176, 48.0200, 110.20, 0.0, -6.5),
    (176, 49.6850, 110.50, 0.5, -6.5),
    (176, 51.3700, 110.80, 0.0, -6.5),
    (208, 53.0350, 111.10, 0.5, 7.5),
    (208, 54.5950, 111.40, 0.0, 7.5),
    (208, 56.2150, 111.70, 0.5, 7.5),
    (208, 57.8550, 112.00, 0.0, 7.5),
    (240, 59.4750, 112.30, 0.5, -8.5),
    (240, 60.9950, 112.60, 0.0, -8.5),
    (240, 62.5650, 112.90, 0.5, -8.5),
    (240, 64.1650, 113.20, 0.0, -8.5),
    (256, 66.6800, 113.80, 0.78667, 0.0),
    (256, 68.2850, 114.10, 0.28667, 0.0),
    (256, 69.9150, 114.40, 0.78666, 0.0),
    (256, 71.5700, 114.70, 0.28667, 0.0),
    (288, 73.2100, 115.00, 0.76, 0.0),
    (288, 74.7600, 115.30, 0.26, 0.0),
    (288, 76.3450, 115.30, 0.76, 0.0),
)

#: The BESIII Main Drift Chamber (43 layers, 6796 sense wires): stereo layers
#: 0-7 and 20-35 (the sign of the twist alternating between superlayers of
#: four), axial layers 8-19 and 36-42; 40 (layer 0) to 288 (layers 40-42)
#: wires per layer; wire midpoints at radii 7.59 to 76.35 cm; half lengths
#: 39 to 115.3 cm.
BESIII_MDC = MDCGeometry(*map(tuple, zip(*_BESIII_LAYERS, strict=True)))

# --------------------------------------------------------------------------
# Physics constants and the chamber response
# --------------------------------------------------------------------------

M_E = 0.51099895e-3  # GeV
M_MU = 0.1056583755
M_PI = 0.13957039
M_JPSI = 3.096900
M_PSI2S = 3.686097
SQRT_S = M_PSI2S  # GeV: the collisions are on the psi(3686) peak
C_CM_PER_NS = 29.9792458

#: Charged particles of each process, in the order of the truth rows (the
#: track numbers TRK are 1, 2, ... in this order): (name, charge, mass).
DC_PROCESSES = {
    "jpsi_ee": (("pi+", 1, M_PI), ("pi-", -1, M_PI), ("e+", 1, M_E), ("e-", -1, M_E)),
    "jpsi_mumu": (
        ("pi+", 1, M_PI),
        ("pi-", -1, M_PI),
        ("mu+", 1, M_MU),
        ("mu-", -1, M_MU),
    ),
    "pipimumu": (
        ("pi+", 1, M_PI),
        ("pi-", -1, M_PI),
        ("mu+", 1, M_MU),
        ("mu-", -1, M_MU),
    ),
}

#: Largest number of events made by one task. Fixed, so that the output
#: depends on ``random_state`` only, not on ``n_jobs``.
CHUNK_EVENTS = 1000


@dataclass(frozen=True)
class _Response:
    """Numbers of the chamber response (see make_drift_chamber_events' Notes)."""

    # beams (BEPCII): half crossing angle (rad), luminous region (cm)
    crossing_half_angle: float = 0.011
    vertex_sigma: tuple[float, float, float] = (0.038, 0.0006, 1.0)
    # m(pi pi) matrix element (m^2 - lam m_pi^2)^2
    pipi_lambda: float = 4.35
    # gas: He/C3H8 60:40 by volume at 1 atm, 20 C
    gas_z_over_a: float = 11.6 / 20.041
    gas_density: float = 8.34e-4  # g/cm3
    gas_i_ev: float = 46.5  # mean excitation energy (eV)
    # Sternheimer density effect (gas): X0, X1, a, m, C
    density_x0: float = 1.6
    density_x1: float = 4.0
    density_a: float = 0.1607
    density_m: float = 3.0
    density_c: float = 9.59
    # readout
    adc_per_kev: float = 300.0
    adc_max: int = 4095
    adc_threshold: int = 20
    drift_velocity: float = 0.0025  # cm/ns
    spatial_resolution: float = 0.013  # cm
    tdc_lsb: float = 1.0 / 32.0  # ns
    t0_range: tuple[int, int] = (400, 800)  # ns, uniform integer
    max_cells_per_layer: int = 3
    # noise hits: uniform in time, charge threshold + exponential
    noise_time_range: tuple[float, float] = (0.0, 1600.0)
    noise_charge_mean: float = 250.0


RESPONSE = _Response()

#: Most probable value of the standard Landau variable (PDG convention).
LANDAU_MODE = -0.22278

# --------------------------------------------------------------------------
# Kinematics
# --------------------------------------------------------------------------


def _two_body_momentum(m, m1, m2):
    """Momentum of the daughters of a two-body decay m -> m1 m2 (GeV)."""
    s = (m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2)
    return np.sqrt(np.maximum(s, 0.0)) / (2 * m)


def _boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors ``(E, px, py, pz)`` by velocities ``beta`` (..., 3)."""
    b2 = np.sum(beta**2, axis=-1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], axis=-1)
    safe = np.where(b2 > 0, b2, 1.0)
    coef = np.where(b2 > 0, (gamma - 1.0) * bp / safe, 0.0) + gamma * p4[..., 0]
    out = np.empty_like(p4)
    out[..., 0] = gamma * (p4[..., 0] + bp)
    out[..., 1:] = p4[..., 1:] + coef[..., None] * beta
    return out


def _direction(cos_theta, phi) -> np.ndarray:
    sin_theta = np.sqrt(np.maximum(1.0 - cos_theta**2, 0.0))
    return np.stack(
        [sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=-1
    )


def _two_body(m, m1, m2, unit) -> tuple[np.ndarray, np.ndarray]:
    """Four-vectors of the daughters at rest of ``m`` along ``unit`` (n, 3)."""
    p = _two_body_momentum(m, m1, m2)
    p3 = p[..., None] * unit
    e1 = np.sqrt(p**2 + m1**2)
    e2 = np.sqrt(p**2 + m2**2)
    return (
        np.concatenate([e1[..., None], p3], axis=-1),
        np.concatenate([e2[..., None], -p3], axis=-1),
    )


def _isotropic(rng, n) -> np.ndarray:
    return _direction(rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n))


def _one_plus_cos2(rng, n) -> np.ndarray:
    """Draw cos(theta) from 1 + cos^2(theta) (accept-reject)."""
    out = np.empty(0)
    while len(out) < n:
        c = rng.uniform(-1, 1, 2 * n)
        out = np.concatenate([out, c[rng.uniform(0, 2, 2 * n) < 1 + c**2]])
    return out[:n]


def _mpipi_table(lam: float, n_grid: int = 2001):
    """Grid of m(pi pi) and its cumulative distribution in psi(2S) -> pi pi J/psi.

    Density: phase space (p_Jpsi * q_pi, in m) times (m^2 - lam m_pi^2)^2.
    """
    m = np.linspace(2 * M_PI, M_PSI2S - M_JPSI, n_grid)
    density = (
        _two_body_momentum(M_PSI2S, M_JPSI, m)
        * _two_body_momentum(m, M_PI, M_PI)
        * (m**2 - lam * M_PI**2) ** 2
    )
    cdf = np.concatenate(
        [[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(m))]
    )
    return m, cdf / cdf[-1]


def _psi_system(n, rng, resp) -> np.ndarray:
    """Four-momentum of the e+e- system: the beams cross at 2 x 11 mrad (x)."""
    px = SQRT_S * math.sin(resp.crossing_half_angle)
    p4 = np.zeros((n, 4))
    p4[:, 0] = math.hypot(SQRT_S, px)
    p4[:, 1] = px
    return p4


def _jpsi_decays(n, lepton_mass, rng, resp) -> np.ndarray:
    """psi(2S) -> pi+ pi- J/psi, J/psi -> l+ l-: (n, 4, 4) four-vectors, lab.

    Order pi+, pi-, l+, l-.
    """
    grid, cdf = _mpipi_table(resp.pipi_lambda)
    mpipi = np.interp(rng.random(n), cdf, grid)
    # psi(2S) rest frame: J/psi and the pi pi system back to back, isotropic
    jpsi, pipi = _two_body(np.full(n, M_PSI2S), M_JPSI, mpipi, _isotropic(rng, n))
    # pi pi: S wave, isotropic in its rest frame
    pip, pim = _two_body(mpipi, M_PI, M_PI, _isotropic(rng, n))
    pip = _boost(pip, pipi[:, 1:] / pipi[:, :1])
    pim = _boost(pim, pipi[:, 1:] / pipi[:, :1])
    # J/psi -> l+ l-: 1 + cos^2 theta about the beam axis, in the J/psi frame
    unit = _direction(_one_plus_cos2(rng, n), rng.uniform(-np.pi, np.pi, n))
    lp, lm = _two_body(np.full(n, M_JPSI), lepton_mass, lepton_mass, unit)
    lp = _boost(lp, jpsi[:, 1:] / jpsi[:, :1])
    lm = _boost(lm, jpsi[:, 1:] / jpsi[:, :1])
    system = _psi_system(n, rng, resp)
    beta = system[:, 1:] / system[:, :1]
    return np.stack([_boost(p, beta) for p in (pip, pim, lp, lm)], axis=1)


def _phase_space(n, total_mass, masses, rng) -> np.ndarray:
    """n-body phase space at rest (sequential two-body decays, accept-reject).

    Returns ``(n, len(masses), 4)`` four-vectors; GENBOD's recipe: sorted
    uniform intermediate masses, weight the product of the two-body momenta,
    accepted with probability weight / (its upper bound).
    """
    masses = np.asarray(masses, dtype=float)
    k = len(masses)
    kinetic = total_mass - masses.sum()
    cum = np.cumsum(masses)
    # GENBOD's upper bound of the weight: each momentum at its largest
    w_max = 1.0
    for i in range(1, k):
        w_max *= float(_two_body_momentum(cum[i] + kinetic, cum[i - 1], masses[i]))
    out = []
    n_have = 0
    while n_have < n:
        m_try = max(4 * (n - n_have), 64)
        u = np.sort(rng.random((m_try, k - 2)), axis=1)
        inter = np.concatenate(
            [
                np.full((m_try, 1), masses[0]),
                cum[1:-1] + kinetic * u,
                np.full((m_try, 1), total_mass),
            ],
            axis=1,
        )
        p = _two_body_momentum(inter[:, 1:], inter[:, :-1], masses[1:])
        w = np.prod(p, axis=1)
        keep = rng.random(m_try) * w_max < w
        inter = inter[keep]
        m_ok = len(inter)
        # build the momenta: system i (particles 0..i) at rest of inter[:, i]
        p4 = np.zeros((m_ok, k, 4))
        p4[:, 0, 0] = masses[0]
        for i in range(1, k):
            unit = _isotropic(rng, m_ok)
            sub, last = _two_body(inter[:, i], inter[:, i - 1], masses[i], unit)
            beta = sub[:, 1:] / sub[:, :1]
            p4[:, :i] = _boost(p4[:, :i], beta[:, None, :])
            p4[:, i] = last
        out.append(p4)
        n_have += m_ok
    return np.concatenate(out)[:n]


def _continuum(n, rng, resp) -> np.ndarray:
    """e+e- -> pi+ pi- mu+ mu- at sqrt(s): four-body phase space, lab frame."""
    p4 = _phase_space(n, SQRT_S, (M_PI, M_PI, M_MU, M_MU), rng)
    system = _psi_system(n, rng, resp)
    beta = system[:, 1:] / system[:, :1]
    return _boost(p4, beta[:, None, :])


# --------------------------------------------------------------------------
# Tracks through the chamber
# --------------------------------------------------------------------------


def _density_effect(x, resp):
    """Sternheimer's density-effect correction delta at x = log10(beta gamma)."""
    two_ln10 = 2 * math.log(10)
    delta = np.where(
        x >= resp.density_x1,
        two_ln10 * x - resp.density_c,
        two_ln10 * x
        - resp.density_c
        + resp.density_a * np.clip(resp.density_x1 - x, 0, None) ** resp.density_m,
    )
    return np.where(x < resp.density_x0, 0.0, delta)


def _landau_mpv_xi(betagamma, path_cm, resp):
    """Most probable energy loss and Landau width xi (keV) in ``path_cm`` of gas.

    PDG (Review of Particle Physics, "Passage of particles through matter"):
    Delta_p = xi [ln(2 m c^2 beta^2 gamma^2 / I) + ln(xi / I) + 0.200
    - beta^2 - delta(beta gamma)], xi = (K/2) (Z/A) rho x / beta^2, unit charge.
    """
    b2 = betagamma**2 / (1.0 + betagamma**2)
    xi_kev = 0.5 * 0.307075 * resp.gas_z_over_a * resp.gas_density * path_cm / b2
    xi_kev = xi_kev * 1e3  # MeV -> keV
    i_kev = resp.gas_i_ev * 1e-3
    delta = _density_effect(np.log10(betagamma), resp)
    with np.errstate(divide="ignore"):
        bracket = (
            np.log(2 * 511.0 * betagamma**2 / i_kev)
            + np.log(np.maximum(xi_kev, 1e-300) / i_kev)
            + 0.200
            - b2
            - delta
        )
    return xi_kev * bracket, xi_kev


def _landau(rng, n):
    """Draw standard Landau variates (PDG convention, mode -0.22278).

    The Landau distribution is the stable law of index 1 and skewness 1;
    Chambers, Mallows and Stuck (1976) draw it from a uniform angle U and an
    exponential W: x = (2/pi) [(pi/2 + U) tan U - ln((pi/2) W cos U / (pi/2 +
    U))] (Nolan's S1 form, as ``scipy.stats.landau``), and
    lambda = (pi/2) x + ln(pi/2) is Landau's own variable.
    """
    half_pi = 0.5 * np.pi
    u = np.maximum(rng.uniform(-half_pi, half_pi, n), 1e-12 - half_pi)
    w = rng.standard_exponential(n)
    x = (
        (half_pi + u) * np.tan(u) - np.log(half_pi * w * np.cos(u) / (half_pi + u))
    ) / half_pi
    return half_pi * x + math.log(half_pi)


def _circle_crossing(r, xc, yc, radius, turn, beta0):
    """First crossing of each track circle with the circle ``r`` about the axis.

    All arguments broadcast. Returns ``(ok, beta, arc)``: whether the track
    reaches ``r``, the angle of the crossing point seen from the circle's
    centre and the transverse arc length from the vertex.
    """
    d = np.hypot(xc, yc)
    cos_a = (radius**2 + d**2 - r**2) / (2 * radius * np.maximum(d, 1e-12))
    ok = np.abs(cos_a) <= 1.0
    alpha = np.arccos(np.clip(cos_a, -1.0, 1.0))
    gamma = np.arctan2(-yc, -xc)
    two_pi = 2 * np.pi
    t1 = np.mod(turn * (gamma + alpha - beta0), two_pi)
    t2 = np.mod(turn * (gamma - alpha - beta0), two_pi)
    turned = np.minimum(t1, t2)
    return ok, beta0 + turn * turned, radius * turned


def _track_hits(tracks: dict, geometry: MDCGeometry, field: float, rng, resp):
    """Hits of helix tracks in the chamber (vectorised over tracks and layers).

    ``tracks`` holds per track ``event, trk, charge, mass, px, py, pz`` (GeV)
    and ``x0, y0, z0`` (cm). Returns the hits (a dict of flat arrays) and the
    final point of each track ``(xf, yf, zf)`` (cm).
    """
    g = geometry._arrays
    px, py, pz = tracks["px"], tracks["py"], tracks["pz"]
    x0, y0, z0 = tracks["x0"], tracks["y0"], tracks["z0"]
    pt = np.hypot(px, py)
    p = np.sqrt(pt**2 + pz**2)
    n_tracks = len(px)
    radius = pt / (0.299792458 * field) * 100.0  # cm
    turn = -np.sign(tracks["charge"]).astype(float)  # +1 counter-clockwise
    phi_v = np.arctan2(py, px)
    xc = x0 - turn * radius * np.sin(phi_v)
    yc = y0 + turn * radius * np.cos(phi_v)
    beta0 = np.arctan2(y0 - yc, x0 - xc)
    cot = pz / np.maximum(pt, 1e-12)
    col = np.s_[:, None]
    args = (xc[col], yc[col], radius[col], turn[col], beta0[col])

    # crossing with the layer surface (a hyperboloid for stereo layers)
    mid, r_end, half = g["mid"], g["radius"], g["half_length"]
    r = np.broadcast_to(mid, (n_tracks, len(mid)))
    for _ in range(2):
        ok, beta, arc = _circle_crossing(r, *args)
        z = z0[col] + arc * cot[col]
        zc = np.clip(z / half, -1.0, 1.0)
        r = np.sqrt(mid**2 + (r_end**2 - mid**2) * zc**2)
    ok, beta, arc = _circle_crossing(r, *args)
    z = z0[col] + arc * cot[col]
    alive = np.logical_and.accumulate(ok & (np.abs(z) < half), axis=1)
    x = xc[col] + radius[col] * np.cos(beta)
    y = yc[col] + radius[col] * np.sin(beta)

    # final point: the last layer crossed (the vertex if none)
    n_alive = alive.sum(axis=1)
    last = np.maximum(n_alive - 1, 0)
    rows = np.arange(n_tracks)
    any_alive = n_alive > 0
    final = np.stack(
        [
            np.where(any_alive, x[rows, last], x0),
            np.where(any_alive, y[rows, last], y0),
            np.where(any_alive, z[rows, last], z0),
        ],
        axis=1,
    )

    # the cells crossed in the layer's shell (square cells: height = width)
    width = r_end * g["cell"]
    tx, ty = -turn[col] * np.sin(beta), turn[col] * np.cos(beta)
    cos_psi = np.abs(tx * x + ty * y) / np.maximum(r, 1e-12)
    u_at = {}
    # azimuth of the wires at z, relative to their east-end azimuth
    tt = (np.clip(z, -half, half) + half) / (2 * half)
    tw = g["twist"]
    delta_z = np.arctan2(tt * np.sin(tw), 1 - tt + tt * np.cos(tw))
    ref = g["phi0"] - tw + delta_z  # azimuth of wire 0 at z
    for side, sign in (("in", -1.0), ("out", 1.0)):
        rs = r + sign * width / 2
        ok_s, beta_s, _ = _circle_crossing(rs, *args)
        # beyond the turning point: the apex, farthest from the axis
        apex = np.arctan2(yc, xc)[col] + np.zeros_like(rs)
        beta_s = np.where(ok_s, beta_s, apex)
        xs = xc[col] + radius[col] * np.cos(beta_s)
        ys = yc[col] + radius[col] * np.sin(beta_s)
        u_at[side] = (np.arctan2(ys, xs) - ref) / g["cell"]
    n = g["n"].astype(float)
    u_c = np.mod((np.arctan2(y, x) - ref) / g["cell"], n)
    # unwrap entry and exit around the crossing point
    u_in = u_c + (np.mod(u_at["in"] - u_c + n / 2, n) - n / 2)
    u_out = u_c + (np.mod(u_at["out"] - u_c + n / 2, n) - n / 2)
    lo, hi = np.minimum(u_in, u_out), np.maximum(u_in, u_out)
    span = hi - lo
    shell_path = np.minimum(width / np.maximum(cos_psi, 1e-3), 4 * width)
    shell_path = shell_path * (p / np.maximum(pt, 1e-12))[col]  # 3-D

    hits = []
    first_cell = np.floor(lo + 0.5)
    for j in range(resp.max_cells_per_layer):
        cell = first_cell + j
        overlap = np.minimum(hi, cell + 0.5) - np.maximum(lo, cell - 0.5)
        frac = np.where(span > 1e-9, overlap / np.maximum(span, 1e-9), 1.0 * (j == 0))
        use = alive & (frac > 0)
        ti, li = np.nonzero(use)
        if len(ti) == 0:
            continue
        wire = np.mod(cell[ti, li], n[li]).astype(np.int64)
        hits.append((ti, li, wire, frac[ti, li]))
    if hits:
        ti, li, wire, frac = (np.concatenate(h) for h in zip(*hits, strict=True))
    else:
        ti = li = wire = np.zeros(0, dtype=np.int64)
        frac = np.zeros(0)
    # efficiency
    keep = rng.random(len(ti)) < tracks["efficiency"]
    ti, li, wire, frac = ti[keep], li[keep], wire[keep], frac[keep]

    # distance of closest approach: from the wire, at the track's height, to
    # the track's circle (the wire is nearly parallel to z, so the distance
    # is transverse)
    zh = np.clip(z[ti, li], -half[li], half[li])
    xw, yw = geometry.wire_position(li, wire, zh)
    doca = np.abs(np.hypot(xw - xc[ti], yw - yc[ti]) - radius[ti])

    # energy loss, Landau-distributed, in ADC counts
    betagamma = p[ti] / tracks["mass"][ti]
    mpv, xi = _landau_mpv_xi(betagamma, frac * shell_path[ti, li], resp)
    de = mpv + xi * (_landau(rng, len(ti)) - LANDAU_MODE)
    charge = np.clip(np.rint(de * resp.adc_per_kev), 0, resp.adc_max)

    # time: T0 + flight + drift, with the resolution; TDC bins of 1/32 ns
    beta_v = betagamma / np.sqrt(1 + betagamma**2)
    flight = arc[ti, li] * (p / np.maximum(pt, 1e-12))[ti] / (beta_v * C_CM_PER_NS)
    drift = (
        doca + resp.spatial_resolution * rng.standard_normal(len(ti))
    ) / resp.drift_velocity
    t = tracks["t0"][ti] + flight + np.maximum(drift, 0.0)
    t = np.rint(t / resp.tdc_lsb) * resp.tdc_lsb

    above = charge >= resp.adc_threshold
    out = {
        "event": tracks["event"][ti][above],
        "layer": li[above],
        "wire": wire[above],
        "rt": t[above],
        "rc": charge[above],
        "trk": tracks["trk"][ti][above],
        "doca": doca[above],
    }
    return out, final


def _merge_same_wire(hits: dict, n_wires_total: int, geometry) -> dict:
    """One hit per wire and event: the earliest time, the charges summed."""
    gid = geometry.first_wire[hits["layer"]] + hits["wire"]
    key = hits["event"].astype(np.int64) * n_wires_total + gid
    order = np.lexsort((hits["rt"], key))
    key_sorted = key[order]
    first = np.concatenate([[True], key_sorted[1:] != key_sorted[:-1]])
    starts = np.flatnonzero(first)
    out = {k: v[order][starts] for k, v in hits.items()}
    out["rc"] = np.minimum(
        np.add.reduceat(hits["rc"][order], starts) if len(starts) else out["rc"],
        RESPONSE.adc_max,
    )
    return out


def _noise_hits(signal, n_events, occupancy, geometry, rng, resp) -> dict:
    """Noise hits: per event Poisson(occupancy / (1 - occupancy) * n_signal)."""
    n_signal = np.bincount(signal["event"], minlength=n_events)
    mean = occupancy / (1.0 - occupancy) * n_signal
    n_noise = rng.poisson(mean)
    event = np.repeat(np.arange(n_events), n_noise)
    total = geometry.n_wires_total
    taken = (
        signal["event"].astype(np.int64) * total
        + geometry.first_wire[signal["layer"]]
        + signal["wire"]
    )
    gid = rng.integers(0, total, len(event))
    # redraw wires that already have a hit in the event
    for _ in range(1000):
        key = event.astype(np.int64) * total + gid
        clash = np.isin(key, taken)
        _, first = np.unique(key, return_index=True)
        clash[np.setdiff1d(np.arange(len(key)), first)] = True
        if not clash.any():
            break
        gid[clash] = rng.integers(0, total, int(clash.sum()))
    layer = np.searchsorted(geometry.first_wire, gid, side="right") - 1
    wire = gid - geometry.first_wire[layer]
    lo, hi = resp.noise_time_range
    t = np.rint(rng.uniform(lo, hi, len(event)) / resp.tdc_lsb) * resp.tdc_lsb
    q = resp.adc_threshold + rng.exponential(resp.noise_charge_mean, len(event))
    return {
        "event": event,
        "layer": layer,
        "wire": wire,
        "rt": t,
        "rc": np.minimum(np.rint(q), resp.adc_max),
        "trk": np.zeros(len(event), dtype=np.int64),
        "doca": np.full(len(event), np.nan),
    }


# --------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _DCTask:
    """Settings of one task: ``n_events`` events of one process."""

    process: str
    n_events: int
    seed: np.random.SeedSequence
    noise_occupancy: float
    hit_efficiency: float
    field: float
    geometry: MDCGeometry


@dataclass
class _DCChunk:
    n_events: int
    seconds: float
    hits: dict
    truth: dict
    t0: np.ndarray


def _make_dc_chunk(task: _DCTask, report: Callable[[int], object] | None = None):
    """Simulate the events of one task (the task function of the runner)."""
    t_start = time.perf_counter()
    resp = RESPONSE
    rng = np.random.default_rng(task.seed)
    n = task.n_events
    particles = DC_PROCESSES[task.process]
    if task.process == "pipimumu":
        p4 = _continuum(n, rng, resp)
    else:
        p4 = _jpsi_decays(n, particles[2][2], rng, resp)
    n_part = len(particles)
    vertex = rng.standard_normal((n, 3)) * np.asarray(resp.vertex_sigma)
    lo, hi = resp.t0_range
    t0 = rng.integers(lo, hi + 1, n).astype(float)
    event = np.repeat(np.arange(n), n_part)
    tracks = {
        "event": event,
        "trk": np.tile(np.arange(1, n_part + 1), n),
        "charge": np.tile([q for _, q, _ in particles], n),
        "mass": np.tile([m for _, _, m in particles], n),
        "px": p4[:, :, 1].ravel(),
        "py": p4[:, :, 2].ravel(),
        "pz": p4[:, :, 3].ravel(),
        "x0": np.repeat(vertex[:, 0], n_part),
        "y0": np.repeat(vertex[:, 1], n_part),
        "z0": np.repeat(vertex[:, 2], n_part),
        "t0": np.repeat(t0, n_part),
        "efficiency": task.hit_efficiency,
    }
    geometry = task.geometry
    hits, final = _track_hits(tracks, geometry, task.field, rng, resp)
    hits = _merge_same_wire(hits, geometry.n_wires_total, geometry)
    if task.noise_occupancy > 0:
        noise = _noise_hits(hits, n, task.noise_occupancy, geometry, rng, resp)
        hits = {k: np.concatenate([hits[k], noise[k]]) for k in hits}
    order = np.lexsort((hits["wire"], hits["layer"], hits["event"]))
    hits = {k: v[order] for k, v in hits.items()}
    truth = {
        "event": event,
        "particle": np.tile([name for name, _, _ in particles], n),
        "px": tracks["px"],
        "py": tracks["py"],
        "pz": tracks["pz"],
        "xi": tracks["x0"],
        "yi": tracks["y0"],
        "zi": tracks["z0"],
        "xf": final[:, 0],
        "yf": final[:, 1],
        "zf": final[:, 2],
    }
    if report is not None:
        report(n)
    return _DCChunk(n, time.perf_counter() - t_start, hits, truth, t0)


def _tables(chunks, geometry):
    """Assemble the chunks into the hits table, truth and events DataFrames."""
    import pandas as pd

    offsets = np.concatenate([[0], np.cumsum([c.n_events for c in chunks])])
    hits = {k: np.concatenate([c.hits[k] for c in chunks]) for k in chunks[0].hits}
    hits["event"] = np.concatenate(
        [c.hits["event"] + off for c, off in zip(chunks, offsets, strict=False)]
    )
    truth = {k: np.concatenate([c.truth[k] for c in chunks]) for k in chunks[0].truth}
    truth["event"] = np.concatenate(
        [c.truth["event"] + off for c, off in zip(chunks, offsets, strict=False)]
    )
    ends = geometry.wire_ends(hits["layer"], hits["wire"]) * 10.0  # mm
    table = pd.DataFrame(
        {
            "event": hits["event"].astype(np.int64),
            "layer": hits["layer"].astype(np.int64),
            "wire": hits["wire"].astype(np.int64),
            "stereo": geometry.stereo[hits["layer"]].astype(np.int64),
            "xe": ends[:, 0],
            "ye": ends[:, 1],
            "xw": ends[:, 3],
            "yw": ends[:, 4],
            "rt": hits["rt"],
            "rc": hits["rc"].astype(np.int64),
            "trk": hits["trk"].astype(np.int64),
        }
    )
    truth = pd.DataFrame(truth)
    truth["event"] = truth["event"].astype(np.int64)
    events = pd.DataFrame(
        {
            "event_number": np.arange(offsets[-1], dtype=np.int64),
            "t0": np.concatenate([c.t0 for c in chunks]),
        }
    )
    return table, truth, events


def _check_process(process) -> str:
    if not isinstance(process, str) or process not in DC_PROCESSES:
        raise ValueError(
            f"make_drift_chamber_events: unknown process {process!r}; "
            f"known: {sorted(DC_PROCESSES)}"
        )
    return process


@validate_params(
    {
        "process": [str],
        "n_events": [Interval(Integral, 1, None, closed="left")],
        "random_state": [
            Interval(Integral, 0, None, closed="left"),
            np.random.Generator,
            np.random.RandomState,
            np.random.SeedSequence,
            None,
        ],
        "noise_occupancy": [Interval(Real, 0, 1, closed="left")],
        "hit_efficiency": [Interval(Real, 0, 1, closed="both")],
        "field": [Interval(Real, 0, None, closed="neither")],
        "geometry": [MDCGeometry, None],
        "path": [str, os.PathLike, None],
        "n_jobs": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "progress": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_drift_chamber_events(
    process: str,
    n_events: int,
    *,
    random_state=None,
    noise_occupancy: float = 0.0,
    hit_efficiency: float = 0.98,
    field: float = 1.0,
    geometry: MDCGeometry | None = None,
    path: str | os.PathLike | None = None,
    n_jobs: int | None = 1,
    progress: bool = True,
):
    """Simulate drift-chamber hits of psi(3686) events in a BESIII-like chamber.

    e+e- collisions at sqrt(s) = 3.686 GeV, the charged tracks followed as
    helices through the 43 layers of :data:`BESIII_MDC` in a solenoidal
    field; each cell a track crosses gives a hit (layer, wire, the wire's end
    points, a drift time and a charge from the energy loss in the gas).

    Parameters
    ----------
    process : {"jpsi_ee", "jpsi_mumu", "pipimumu"}
        ``"jpsi_ee"``, ``"jpsi_mumu"``: psi(3686) -> pi+ pi- J/psi with
        J/psi -> e+ e- or mu+ mu-; ``"pipimumu"``: the non-resonant
        e+ e- -> pi+ pi- mu+ mu- (four-body phase space).
    n_events : int
        Number of events.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the simulation. A given seed gives identical output whatever
        ``n_jobs``.
    noise_occupancy : float in [0, 1), default=0.0
        Expected fraction of an event's hits that are noise (real chambers
        see about 0.1, more in busy events). See Notes.
    hit_efficiency : float in [0, 1], default=0.98
        Probability that a crossed cell gives a hit.
    field : float, default=1.0
        Solenoid field along z (T).
    geometry : MDCGeometry, default=None
        The chamber; None is :data:`BESIII_MDC`.
        ``MDCGeometry.from_pybes3()`` reads the same table from ``pybes3``.
    path : str or path-like, default=None
        If given, also write ``<path>/<process>.dat`` (the seed's text dump,
        ``write_hits_text``) and ``<path>/<process>_csv/`` (one CSV per
        event, ``write_hits_csv``); the directory is created if needed.
    n_jobs : int, default=1
        Worker processes; -1 uses all cores. Events are made in tasks of at
        most 1000 events, each with its own seed.
    progress : bool, default=True
        Show a tqdm progress bar counting events.

    Returns
    -------
    events : HitEvents
        ``hits`` (float32, ``(n_events, n_hits_max, 7)``: x, y, charge,
        layer, wire, stereo, drift time, zero padded), ``track_ids``
        (1, 2, ... in the order of the truth rows, 0 noise, -1 padding),
        ``truth`` (one row per particle: pi+, pi-, then l+, l-; momenta in
        GeV/c at the vertex ``xi, yi, zi``; ``xf, yf, zf`` where the track
        crossed the last layer it reached, the vertex if none; in cm) and
        ``events``
        (``event_number`` from 0, ``t0`` in ns), made by
        ``hits_from_table``.

    Raises
    ------
    ValueError
        An unknown process, or (scikit-learn's ``InvalidParameterError``, a
        ValueError and TypeError) another parameter with a wrong type or
        value, e.g. ``noise_occupancy`` outside [0, 1).
    hepclf.datasets.TaskError
        A task failed (its error as ``__cause__``).

    See Also
    --------
    MDCGeometry : The wire geometry.

    Notes
    -----
    **Kinematics.** The beams cross at 2 x 11 mrad (BEPCII), so the
    e+e- system moves with 40.5 MeV/c along x. For the J/psi processes the
    psi(3686) decays to J/psi and a pi pi system back to back, isotropic;
    m(pi pi) follows phase space times ``(m^2 - 4.35 m_pi^2)^2`` (the
    form of the BES fits to this decay, which pushes the spectrum to high
    masses); the pi pi system decays isotropically (S wave); the J/psi decays
    to l+ l- with ``1 + cos^2 theta`` about the beam axis in its rest frame.
    ``"pipimumu"`` is flat four-body phase space (sequential two-body decays
    with GENBOD's weights, accept-reject). The vertex is Gaussian with
    sigma (0.38, 0.006, 10) mm in (x, y, z).

    **Tracks.** A track of charge q and transverse momentum pT is a helix of
    radius R [m] = pT [GeV] / (0.3 B [T]) about the z axis (positive tracks
    turn clockwise seen from +z). It crosses each layer at the layer's
    surface (the hyperboloid of the stereo layers, solved iteratively). It
    stops at the first layer it does not reach (a curling track, 2R too
    small) or that it crosses beyond the end plates (``|z|`` > half
    length). Neither multiple scattering, energy loss along the track nor
    decays in flight are simulated; curling tracks do not come back.

    **Cells and hits.** Cells are square (height = width = the wire spacing
    ``2 pi r / n``). The track's azimuth where it enters and leaves the
    layer's shell gives the cells it crosses (at most three); each gives a
    hit with probability ``hit_efficiency``. The hit's wire is the one whose
    position at the track's height z is nearest. For an axial wire that is
    also the wire's midpoint, ``X = (XE + XW) / 2``. A stereo wire is
    twisted by 3.5 to 8.5 cells between its ends (:data:`BESIII_MDC`), so it
    passes near the track only at the track's height z; its midpoint
    (z = 0), the ``X, Y`` of the hit, lies ``|E - W| * |z| / (2 L)`` away
    from the wire's point at z (E, W its ends, L its half length): about
    1.1 cm, nearly a cell, in layer 0 for z = 20 cm, and 3.8 cm, over two
    cells, in layer 35 for z = 60 cm. The midpoint moves along phi, in a
    direction set by the sign of z and the layer's twist, which alternates
    between superlayers. Images made of midpoints therefore smear the
    stereo layers along phi in proportion to the track's z, while axial
    layers show the track's (x, y) to within a cell. Two tracks in one cell
    give one hit (the earlier time, the charges summed).

    **Charge.** The energy deposited in a cell is drawn from a Landau
    distribution about the most probable loss of the PDG's formula
    ``xi [ln(2 m c^2 beta^2 gamma^2 / I) + ln(xi / I) + 0.2 - beta^2 - delta]``
    with ``xi = 0.1535 MeV cm^2/g (Z/A) rho x / beta^2``, for He/C3H8 60:40
    (Z/A = 0.579, rho = 0.834 mg/cm^3, I = 46.5 eV) over the path length x
    in the cell; the density effect delta (Sternheimer's gas parameters
    X0 = 1.6, X1 = 4, a = 0.161, m = 3, C = 9.59) limits the relativistic
    rise to the Fermi plateau. Electrons of 1.5 GeV (beta gamma 3000) are on
    the plateau, about 1.3 times the most probable loss of muons of the same
    momentum (beta gamma 14). The charge RC is the energy times 300 ADC
    counts per keV, rounded, saturating at 4095; hits below 20 counts are
    not recorded. Typical RC: 500-1500.

    **Time.** RT = T0 + time of flight + drift time, in TDC bins of 1/32 ns:
    T0 is an integer drawn per event in [400, 800] ns; the drift time is
    the distance of closest approach between track and wire plus a Gaussian
    of 130 um, over a drift velocity of 25 um/ns.

    **Noise.** Each event gets Poisson(``noise_occupancy / (1 -
    noise_occupancy) * n_signal``) noise hits, ``n_signal`` its hits from
    tracks, so that noise makes on average the fraction ``noise_occupancy``
    of the hits (events without track hits get none). Noise hits are on
    random wires without another hit, with RT uniform in [0, 1600) ns and RC
    = 20 + an exponential of mean 250 counts; their TRK is 0.

    Hits are ordered by layer and wire within each event (as a readout
    would, leaking no truth). Lengths in the hits are in mm (``XE`` ...),
    in the truth in cm.

    Examples
    --------
    >>> from hepclf.datasets import make_drift_chamber_events
    >>> ev = make_drift_chamber_events("jpsi_ee", 5, random_state=0,
    ...                                progress=False)  # doctest: +SKIP
    >>> ev.hits.shape[0], list(ev.truth["particle"][:4])  # doctest: +SKIP
    (5, ['pi+', 'pi-', 'e+', 'e-'])
    """
    process = _check_process(process)
    n_jobs = _resolve_n_jobs(n_jobs)
    seed = _seed_sequence(random_state)
    geometry = BESIII_MDC if geometry is None else geometry
    n_chunks = math.ceil(int(n_events) / CHUNK_EVENTS)
    counts = [len(c) for c in np.array_split(np.arange(int(n_events)), n_chunks)]
    tasks = [
        Task(
            _make_dc_chunk,
            _DCTask(
                process,
                k,
                child,
                float(noise_occupancy),
                float(hit_efficiency),
                float(field),
                geometry,
            ),
            f"{process} drift-chamber events, chunk {i + 1}",
        )
        for i, (k, child) in enumerate(zip(counts, seed.spawn(n_chunks), strict=True))
    ]
    t_start = time.perf_counter()
    chunks = run_tasks(
        tasks,
        n_jobs=n_jobs,
        progress=progress,
        total=int(n_events),
        desc=process,
        unit="event",
    )
    cpu = sum(c.seconds for c in chunks)
    logger.info(
        "%d %s events in %.2f s (%.2f s of task time, %.0f events/s per core)",
        n_events,
        process,
        time.perf_counter() - t_start,
        cpu,
        n_events / max(cpu, 1e-9),
    )
    table, truth, events = _tables(chunks, geometry)
    if path is not None:
        out_dir = Path(os.fspath(path))
        out_dir.mkdir(parents=True, exist_ok=True)
        write_hits_text(out_dir / f"{process}.dat", table, truth, events)
        write_hits_csv(out_dir / f"{process}_csv", table, truth, events)
    return hits_from_table(table, truth, events)


# --------------------------------------------------------------------------
# The bundled sample
# --------------------------------------------------------------------------

#: File of the bundled sample in ``hepclf/datasets/data``.
HITS_SAMPLE_FILE = "hits_sample.npz"
#: Events per process, seed and noise occupancy of the bundled sample.
HITS_SAMPLE_EVENTS = 300
HITS_SAMPLE_SEED = 2020
HITS_SAMPLE_NOISE = 0.1

#: Storage dtype of each hit feature in the sample (all exact for its values).
_SAMPLE_DTYPES = {
    "x": np.float32,
    "y": np.float32,
    "charge": np.uint16,
    "layer": np.uint8,
    "wire": np.uint16,
    "stereo": np.uint8,
    "drift_time": np.float32,
}


def _write_hits_sample(path: str | os.PathLike, *, n_jobs: int | None = 1) -> Path:
    """Regenerate the bundled sample (``hepclf/datasets/data/hits_sample.npz``).

    ``HITS_SAMPLE_EVENTS`` events of each process of :data:`DC_PROCESSES`
    with ``make_drift_chamber_events(random_state=HITS_SAMPLE_SEED + k,
    noise_occupancy=HITS_SAMPLE_NOISE)``, shuffled, stored hit by hit (the
    valid rows of each feature in its own exact dtype, and the hit counts),
    with the settings and package versions as JSON metadata.
    """
    import json

    from .._version import __version__

    processes = tuple(DC_PROCESSES)
    parts = [
        make_drift_chamber_events(
            p,
            HITS_SAMPLE_EVENTS,
            random_state=HITS_SAMPLE_SEED + k,
            noise_occupancy=HITS_SAMPLE_NOISE,
            n_jobs=n_jobs,
            progress=False,
        ).hits
        for k, p in enumerate(processes)
    ]
    width = max(h.shape[1] for h in parts)
    hits = np.concatenate(
        [np.pad(h, ((0, 0), (0, width - h.shape[1]), (0, 0))) for h in parts]
    )
    y = np.repeat(np.arange(len(processes)), HITS_SAMPLE_EVENTS)
    order = np.random.default_rng(HITS_SAMPLE_SEED).permutation(len(y))
    hits, y = hits[order], y[order]
    valid = hits[..., :3].any(-1)
    columns = {}
    for j, (name, dtype) in enumerate(_SAMPLE_DTYPES.items()):
        values = hits[..., j][valid]
        stored = values.astype(dtype)
        if not np.array_equal(stored.astype(np.float32), values):
            raise AssertionError(f"the sample's {name} values do not fit {dtype}")
        columns[f"hit_{name}"] = stored
    metadata = {
        "processes": processes,
        "events_per_process": HITS_SAMPLE_EVENTS,
        "random_state": HITS_SAMPLE_SEED,
        "noise_occupancy": HITS_SAMPLE_NOISE,
        "hepclf": __version__,
        "numpy": np.__version__,
    }
    path = Path(os.fspath(path))
    np.savez_compressed(
        path,
        counts=valid.sum(1).astype(np.uint16),
        labels=y.astype(np.int8),
        processes=np.array(processes),
        metadata=np.array(json.dumps(metadata)),
        **columns,
    )
    return path


def load_hits_sample():
    """Load the bundled sample of simulated drift-chamber events of three processes.

    900 events made with :func:`make_drift_chamber_events` at a noise
    occupancy of 10 %, 300 per class: psi(3686) -> pi+ pi- J/psi with
    J/psi -> e+ e- (label 0) or mu+ mu- (1), and the non-resonant
    e+ e- -> pi+ pi- mu+ mu- (2), shuffled. Needs no simulation.

    Returns
    -------
    hits : ndarray of shape (n_events, n_hits, 7), dtype float32
        Rows ``(x, y, charge, layer, wire, stereo, drift_time)`` of
        :data:`hepclf.datasets.HIT_FEATURES`, zero padded: the input of
        :class:`hepclf.EnergyEncoder`, as :func:`load_hits_text` returns it.
    y : ndarray of shape (n_events,), dtype int64
        0 J/psi -> ee, 1 J/psi -> mumu, 2 non-resonant pi pi mu mu.

    See Also
    --------
    make_drift_chamber_events : Simulate more events of the same kind.

    Notes
    -----
    The settings and package versions are stored with the sample (its
    ``metadata`` entry, a JSON string); ``hepclf/datasets/data/README.md``
    gives the command that remakes it.

    Examples
    --------
    >>> from hepclf.datasets import load_hits_sample
    >>> hits, y = load_hits_sample()
    >>> hits.shape[0], hits.shape[2], hits.dtype
    (900, 7, dtype('float32'))
    >>> [int((y == k).sum()) for k in range(3)]
    [300, 300, 300]
    """
    from importlib import resources

    ref = resources.files("hepclf.datasets").joinpath("data", HITS_SAMPLE_FILE)
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as data:
        counts = data["counts"].astype(np.int64)
        y = data["labels"].astype(np.int64)
        columns = [data[f"hit_{n}"].astype(np.float32) for n in _SAMPLE_DTYPES]
    hits = np.zeros((len(counts), max(int(counts.max(initial=0)), 1), 7), np.float32)
    row = np.repeat(np.arange(len(counts)), counts)
    col = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    hits[row, col] = np.stack(columns, axis=1)
    return hits, y
