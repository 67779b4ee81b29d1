"""A simple particle-flow detector response for generated final-state particles.

:class:`SimpleDetector` turns particles (four-momenta, PDG ids, charges) into
tracks and calorimeter towers, whatever process made them;
:func:`_resolve_detector` reads a generator's ``detector`` parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    validate_parameter_constraints,
)

from ..kinematics import pt_eta_phi
from ..utils._param_validation import Pair
from ._pythia import INVISIBLE_IDS

__all__ = ["SimpleDetector"]

#: A pair of finite numbers >= 0: the two terms of a resolution.
_RESOLUTION = Pair(Interval(Real, 0, None, closed="left"), finite=True)
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")
_POSITIVE = Interval(Real, 0, None, closed="neither")


@dataclass(frozen=True)
class SimpleDetector:
    """A simple particle-flow detector response, applied before clustering.

    Each final-state particle becomes either a track or an energy deposit in
    a calorimeter cell:

    - charged particles with ``pT > track_pt_min`` and
      ``|eta| < track_eta_max`` become **tracks**: their momentum is scaled
      by ``1 + sigma * N(0, 1)`` with ``sigma = a (+) b * pT/GeV`` (added in
      quadrature, ``(a, b) = track_resolution``), direction and mass kept;
    - photons and electrons that are not tracks deposit their energy in the
      **ECAL**, all other hadrons that are not tracks (neutral hadrons,
      charged hadrons below threshold or outside the tracker) in the **HCAL**;
      muons that are not tracks and neutrinos leave nothing;
    - deposits are summed per layer in cells of ``cell_size`` in eta
      (``|eta| < calo_eta_max``) by ``2 pi / round(2 pi / cell_size)`` in
      phi; each cell energy is smeared with ``sigma / E = a / sqrt(E/GeV)
      (+) b`` (``(a, b) = ecal_resolution`` or ``hcal_resolution``) and
      dropped below ``ecal_energy_min`` / ``hcal_energy_min``;
    - the surviving ECAL and HCAL energies of a cell are added and the cell
      becomes a massless pseudo-particle (a **tower**) at the cell centre.

    Charged particles that make a track leave no calorimeter energy (ideal
    particle flow). There is no pile-up, noise or inefficiency.

    The parameters are checked on construction (scikit-learn's
    ``InvalidParameterError``, a ValueError, naming the parameter); the
    resolutions are stored as tuples of two floats.

    Parameters
    ----------
    track_pt_min : float, default=1.0
        Track pT threshold in GeV.
    track_eta_max : float, default=2.5
        Tracker acceptance in ``|eta|``.
    track_resolution : tuple of float, default=(0.01, 0.0005)
        ``(a, b)`` of the relative pT resolution ``a (+) b * pT/GeV``
        (1 % at low pT, 5 % at 100 GeV, as for the ATLAS inner detector).
    calo_eta_max : float, default=3.0
        Calorimeter acceptance in ``|eta|`` (jets with ``|eta|`` < 2 and R = 0.8 stay
        inside).
    cell_size : float, default=0.1
        Cell size in eta; in phi, 2 pi is divided into
        ``round(2 pi / cell_size)`` equal cells (``2 pi / 63 = 0.0997`` for
        0.1).
    ecal_resolution : tuple of float, default=(0.10, 0.01)
        Stochastic and constant terms of the ECAL resolution:
        10 %/sqrt(E) (+) 1 %.
    hcal_resolution : tuple of float, default=(0.50, 0.05)
        Stochastic and constant terms of the HCAL resolution:
        50 %/sqrt(E) (+) 5 %.
    ecal_energy_min : float, default=0.5
        ECAL cell threshold in GeV, applied after smearing.
    hcal_energy_min : float, default=1.0
        HCAL cell threshold in GeV, applied after smearing.

    See Also
    --------
    make_top_tagging : Uses it with ``detector="simple"``.

    Notes
    -----
    The numbers are round values close to the ATLAS-like Delphes card used for
    the Top Quark Tagging Reference Dataset (ECAL/HCAL thresholds 0.5/1 GeV,
    0.1 x 0.1 towers), not a tune.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.datasets import SimpleDetector
    >>> det = SimpleDetector(ecal_resolution=(0, 0), ecal_energy_min=0)
    >>> photon = np.array([[10.0, 10.0, 0.0, 0.0]])  # E, px, py, pz in GeV
    >>> out = det.simulate(photon, pid=[22], charge=[0], random_state=0)
    >>> out.shape, float(out[0, 0])
    ((1, 4), 10.0)
    """

    track_pt_min: float = 1.0
    track_eta_max: float = 2.5
    track_resolution: tuple[float, float] = (0.01, 0.0005)
    calo_eta_max: float = 3.0
    cell_size: float = 0.1
    ecal_resolution: tuple[float, float] = (0.10, 0.01)
    hcal_resolution: tuple[float, float] = (0.50, 0.05)
    ecal_energy_min: float = 0.5
    hcal_energy_min: float = 1.0

    _parameter_constraints: ClassVar[dict] = {
        "track_pt_min": [_NON_NEGATIVE],
        "track_eta_max": [_POSITIVE],
        "track_resolution": [_RESOLUTION],
        "calo_eta_max": [_POSITIVE],
        "cell_size": [_POSITIVE],
        "ecal_resolution": [_RESOLUTION],
        "hcal_resolution": [_RESOLUTION],
        "ecal_energy_min": [_NON_NEGATIVE],
        "hcal_energy_min": [_NON_NEGATIVE],
    }

    def __post_init__(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            {f.name: getattr(self, f.name) for f in fields(self)},
            caller_name=type(self).__name__,
        )
        for name in ("track_resolution", "ecal_resolution", "hcal_resolution"):
            value = tuple(float(v) for v in getattr(self, name))
            object.__setattr__(self, name, value)
        if self.cell_size > 2 * self.calo_eta_max or self.cell_size > math.pi:
            raise ValueError(
                f"cell_size={self.cell_size} is larger than the calorimeter"
            )

    @property
    def n_eta_cells(self) -> int:
        """Number of cells in eta."""
        return max(1, round(2 * self.calo_eta_max / self.cell_size))

    @property
    def n_phi_cells(self) -> int:
        """Number of cells in phi."""
        return max(1, round(2 * math.pi / self.cell_size))

    def cell_index(self, eta, phi) -> np.ndarray:
        """Flat cell index ``i_eta * n_phi_cells + i_phi`` of directions.

        Parameters
        ----------
        eta, phi : array-like of shape (n,)
            Directions inside the calorimeter (``|eta| < calo_eta_max``).

        Returns
        -------
        index : ndarray of shape (n,), dtype int64
        """
        n_eta, n_phi = self.n_eta_cells, self.n_phi_cells
        d_eta = 2 * self.calo_eta_max / n_eta
        i_eta = np.floor((np.asarray(eta) + self.calo_eta_max) / d_eta)
        i_eta = np.clip(i_eta, 0, n_eta - 1).astype(np.int64)
        i_phi = np.floor((np.asarray(phi) + np.pi) / (2 * np.pi / n_phi))
        i_phi = np.mod(i_phi.astype(np.int64), n_phi)
        return i_eta * n_phi + i_phi

    def cell_center(self, index) -> tuple[np.ndarray, np.ndarray]:
        """Centre ``(eta, phi)`` of cells given by :meth:`cell_index`.

        Parameters
        ----------
        index : array-like of int
            Flat cell indices.

        Returns
        -------
        eta, phi : ndarray
            Cell centres.
        """
        n_eta, n_phi = self.n_eta_cells, self.n_phi_cells
        index = np.asarray(index, dtype=np.int64)
        eta = -self.calo_eta_max + (index // n_phi + 0.5) * (
            2 * self.calo_eta_max / n_eta
        )
        phi = -np.pi + (index % n_phi + 0.5) * (2 * np.pi / n_phi)
        return eta, phi

    def simulate(self, particles, pid, charge, random_state=None) -> np.ndarray:
        """Turn final-state particles into tracks and calorimeter towers.

        Parameters
        ----------
        particles : array-like of shape (n_particles, 4)
            Four-momenta ``(E, px, py, pz)`` in GeV.
        pid : array-like of int, shape (n_particles,)
            PDG ids (the sign is ignored).
        charge : array-like of shape (n_particles,)
            Electric charges (any non-zero value counts as charged).
        random_state : int, numpy.random.Generator or None, default=None
            Source of the smearing; a Generator is used (and advanced) as is.

        Returns
        -------
        objects : ndarray of shape (n_objects, 4), dtype float64
            ``(E, px, py, pz)`` of the tracks, then of the towers.
        """
        p = np.asarray(particles, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 4:
            raise ValueError(
                f"particles must have shape (n_particles, 4), got {p.shape}"
            )
        pid = np.abs(np.asarray(pid)).reshape(-1)
        charge = np.asarray(charge, dtype=np.float64).reshape(-1)
        if len(pid) != len(p) or len(charge) != len(p):
            raise ValueError(
                f"pid ({len(pid)}) and charge ({len(charge)}) must have one entry "
                f"per particle ({len(p)})"
            )
        if not np.isfinite(p).all():
            raise ValueError("particles contain NaN or infinite values")
        rng = np.random.default_rng(random_state)

        with np.errstate(divide="ignore", invalid="ignore"):  # zero-pT rows
            pt, eta, phi = pt_eta_phi(p[:, 1], p[:, 2], p[:, 3])
        visible = (pt > 0) & ~np.isin(pid, INVISIBLE_IDS)
        abs_eta = np.abs(eta)
        track = (
            visible
            & (charge != 0)
            & (pt > self.track_pt_min)
            & (abs_eta < self.track_eta_max)
        )
        calo = visible & ~track & (pid != 13) & (abs_eta < self.calo_eta_max)
        em = calo & ((pid == 22) | (pid == 11))
        had = calo & ~em

        tracks = self._tracks(p[track], pt[track], rng)
        e_cells, e_energy = self._deposit(
            self.cell_index(eta[em], phi[em]),
            p[em, 0],
            self.ecal_resolution,
            self.ecal_energy_min,
            rng,
        )
        h_cells, h_energy = self._deposit(
            self.cell_index(eta[had], phi[had]),
            p[had, 0],
            self.hcal_resolution,
            self.hcal_energy_min,
            rng,
        )
        towers = self._towers(
            np.concatenate([e_cells, h_cells]), np.concatenate([e_energy, h_energy])
        )
        return np.concatenate([tracks, towers])

    def _tracks(self, p: np.ndarray, pt: np.ndarray, rng) -> np.ndarray:
        a, b = self.track_resolution
        scale = 1.0 + np.hypot(a, b * pt) * rng.standard_normal(len(p))
        keep = scale > 0
        p, scale = p[keep], scale[keep]
        p3 = p[:, 1:] * scale[:, None]
        m2 = np.maximum(p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1), 0.0)
        energy = np.sqrt(np.sum(p3**2, axis=1) + m2)
        return np.column_stack([energy, p3])

    @staticmethod
    def _deposit(cells, energy, resolution, energy_min, rng):
        if len(cells) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        uniq, inverse = np.unique(cells, return_inverse=True)
        total = np.bincount(inverse.reshape(-1), weights=energy, minlength=len(uniq))
        a, b = resolution
        sigma = np.sqrt(a**2 * total + (b * total) ** 2)
        smeared = total + sigma * rng.standard_normal(len(total))
        keep = (smeared > 0) & (smeared >= energy_min)
        return uniq[keep], smeared[keep]

    def _towers(self, cells, energy) -> np.ndarray:
        if len(cells) == 0:
            return np.zeros((0, 4))
        uniq, inverse = np.unique(cells, return_inverse=True)
        total = np.bincount(inverse.reshape(-1), weights=energy, minlength=len(uniq))
        eta, phi = self.cell_center(uniq)
        pt = total / np.cosh(eta)
        return np.column_stack(
            [total, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)]
        )


def _resolve_detector(detector) -> SimpleDetector | None:
    """Resolve a generator's ``detector`` parameter (None: particle level).

    ``"particle"`` gives None, ``"simple"`` the default :class:`SimpleDetector`,
    a dict of its parameters that detector. Invalid parameters in a dict raise
    a ValueError quoting the dict, with SimpleDetector's own error as
    ``__cause__`` (a plain ValueError, so that the ``validate_params`` wrapper
    of the calling function keeps the name SimpleDetector in the message).
    """
    if isinstance(detector, SimpleDetector):
        return detector
    if isinstance(detector, Mapping):
        names = {f.name for f in fields(SimpleDetector)}
        unknown = sorted(set(detector) - names)
        if unknown:
            raise ValueError(
                f"unknown SimpleDetector parameter(s) {unknown}; known: {sorted(names)}"
            )
        try:
            return SimpleDetector(**detector)
        except InvalidParameterError as exc:
            raise ValueError(f"detector={dict(detector)!r}: {exc}") from exc
    if isinstance(detector, str):
        if detector == "particle":
            return None
        if detector == "simple":
            return SimpleDetector()
    raise ValueError(
        "detector must be 'particle', 'simple', a SimpleDetector or a dict of "
        f"SimpleDetector parameters, got {detector!r}"
    )
