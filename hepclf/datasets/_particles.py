"""A particle gun in liquid argon, seen as 2D images of deposited energy.

:func:`make_particle_images` shoots single particles (electrons, muons,
photons, charged pions, protons) into liquid argon and projects their energy
deposits onto one 2D view, as in the single-particle images of the
DeepLearnPhysics challenges. It is a fast toy simulation, not Geant4: each
effect that shapes the classes in a real liquid-argon TPC is modelled on its
own, vectorised with NumPy, and switchable by a parameter. The material
constants, Bethe-Bloch and the range tables are in ``_argon``; the parallel
runner (tasks, seeds, progress bar) is ``_runner``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._param_validation import Range
from ._argon import (
    A_ARGON,
    CRITICAL_ENERGY,
    DENSITY_ARGON,
    ELECTRON_MASS,
    INTERACTION_LENGTH,
    K_BETHE,
    MIP_DEDX,
    MOLIERE_RADIUS,
    MUON_MASS,
    PION_DECAY_MUON_T,
    PION_MASS,
    PROTON_MASS,
    RADIATION_LENGTH,
    Z_ARGON,
    highland_theta0,
    kinematics,
    kinetic_energy,
    michel_energies,
    range_table,
)
from ._runner import Task, _resolve_n_jobs, _seed_sequence, run_tasks

__all__ = ["PARTICLE_CLASSES", "load_particle_sample", "make_particle_images"]

logger = logging.getLogger(__name__)

#: The particles the gun shoots: name -> (PDG code, mass in MeV/c^2).
PARTICLE_CLASSES = {
    "electron": (11, ELECTRON_MASS),
    "muon": (13, MUON_MASS),
    "photon": (22, 0.0),
    "pion": (211, PION_MASS),
    "proton": (2212, PROTON_MASS),
}
#: Momentum ranges (MeV/c) of the public five-particle DeepLearnPhysics set.
DEFAULT_MOMENTUM_RANGES = {
    "electron": (35.5, 800.0),
    "photon": (35.0, 800.0),
    "muon": (90.0, 800.0),
    "pion": (105.0, 800.0),
    "proton": (275.0, 800.0),
}
#: Images of one class made by one task. Fixed, so that the output depends
#: on ``random_state`` only, not on ``n_jobs``.
CHUNK_IMAGES = 64
#: Redraws of one image before giving up on ``min_pixels`` / ``drop_ambiguous``.
MAX_TRIES = 200
#: Smallest image side (pixels).
MIN_NPIX = 16
#: Mass of the neutral pion (MeV/c^2).
PI0_MASS = 134.9768

# Toy hadronic-interaction model (see the Notes of make_particle_images).
_ELASTIC_FRACTION = {"pion": 0.3, "proton": 0.35}
_CHARGE_EXCHANGE_FRACTION = 0.15  # pions only, after the elastic fraction
_MAX_GENERATION = 2  # secondaries of secondaries interact no further
# Shower segments: mean length (cm) of the short electron/positron tracks a
# shower is drawn with, the fraction of them in the core, and their spread.
_SEGMENT_LENGTH = 1.0
_CORE_FRACTION = 0.8
_SEGMENT_ANGLE = 0.35


@dataclass(frozen=True)
class _Physics:
    """The physics settings of one call (picklable, shared by all tasks)."""

    npix: int
    pixel_size: float
    step: float
    vertex_range: tuple[float, float]
    direction: str
    multiple_scattering: bool
    delta_ray_cut: float | None
    hadronic_interactions: bool
    interaction_length: float
    muon_decay_fraction: float
    conversion_length: float
    radiation_length: float
    moliere_radius: float
    critical_energy: float
    trunk_length: float
    diffusion: float
    noise: float
    threshold: float
    min_pixels: int
    drop_ambiguous: bool
    ambiguity_length: float


@dataclass(frozen=True)
class _ImageTask:
    particle: str
    n_images: int
    momentum_range: tuple[float, float]
    seed: np.random.SeedSequence
    physics: _Physics


@dataclass
class _Truth:
    """What happened to one particle (filled while it is simulated)."""

    # the primary's fate, where the view shows it (its end point inside)
    stopped: bool = False
    decayed: bool = False
    interacted: bool = False
    released: float = 0.0  # energy set free beyond the kinetic energy (MeV)
    conversion_gap: float = 0.0
    projected_gap: float = 0.0
    visible_length: float = 0.0


@dataclass
class _Deposits:
    """Energy deposits of one image: 3D points (cm) and energies (MeV)."""

    points: list = field(default_factory=list)
    energies: list = field(default_factory=list)

    def add(self, points: np.ndarray, energies: np.ndarray) -> None:
        self.points.append(points)
        self.energies.append(energies)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.points:
            return np.zeros((0, 3)), np.zeros(0)
        return np.concatenate(self.points), np.concatenate(self.energies)


# --------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------


def _cross(a, b):
    """Cross product of 3-vectors along the last axis (cheaper than np.cross)."""
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def _basis(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to the unit vector ``u`` and to each other."""
    ux, uy, uz = (float(v) for v in u)
    # u x (1, 0, 0), or u x (0, 1, 0) when u is close to the x axis
    e1 = np.array([0.0, uz, -uy]) if abs(ux) < 0.9 else np.array([-uz, 0.0, ux])
    e1 /= math.sqrt(e1 @ e1)
    return e1, _cross(u, e1)


def _deflect(u: np.ndarray, theta, phi) -> np.ndarray:
    """Return unit vectors at polar angles ``theta``, azimuths ``phi`` around ``u``."""
    e1, e2 = _basis(u)
    theta = np.asarray(theta, dtype=float)[..., None]
    phi = np.asarray(phi, dtype=float)[..., None]
    return np.cos(theta) * u + np.sin(theta) * (np.cos(phi) * e1 + np.sin(phi) * e2)


def _isotropic(rng: np.random.Generator) -> np.ndarray:
    cos_t = rng.uniform(-1, 1)
    phi = rng.uniform(0, 2 * np.pi)
    sin_t = math.sqrt(1 - cos_t**2)
    return np.array([sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t])


def _inside(points: np.ndarray, ph: _Physics) -> np.ndarray:
    side = ph.npix * ph.pixel_size
    x, y = points[:, 0], points[:, 1]
    return (x >= 0) & (x < side) & (y >= 0) & (y < side)


def _path(rng, ph, start, u, lengths, momenta, betas, scatter: bool):
    """Boundary points and step directions of a track that scatters as it goes.

    Multiple scattering (Highland) is applied as two independent Gaussian
    random walks of the projected angles in the planes (u, e1) and (u, e2)
    of the initial direction; the direction of step k is
    ``u + tan(A_k) e1 + tan(B_k) e2`` normalised, with the accumulated angles
    clipped at +-1.4 rad.
    """
    n = len(lengths)
    if scatter and n > 1:
        theta0 = highland_theta0(momenta, betas, lengths)
        walk = rng.standard_normal((2, n)) * theta0
        walk[:, 0] = 0.0  # the first step leaves in the initial direction
        angles = np.clip(np.cumsum(walk, axis=1), -1.4, 1.4)
        e1, e2 = _basis(u)
        dirs = u + np.tan(angles[0])[:, None] * e1 + np.tan(angles[1])[:, None] * e2
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    else:
        dirs = np.broadcast_to(u, (n, 3))
    bounds = np.empty((n + 1, 3))
    bounds[0] = start
    np.cumsum(dirs * lengths[:, None], axis=0, out=bounds[1:])
    bounds[1:] += start
    return bounds, dirs


# --------------------------------------------------------------------------
# Charged hadrons and muons: Bethe-Bloch, Highland, delta rays, interactions
# --------------------------------------------------------------------------


def _delta_rays(rng, ph, dep, bounds, kinetic, lengths, mass, budget):
    """Knock-on electrons above ``delta_ray_cut`` along the steps of a track.

    Returns the energy they carry away (MeV), at most ``budget`` (the
    track's continuous loss; deltas past it are not emitted). The number per
    step is Poisson with mean ``K/2 (Z/A) rho / beta^2 (1/T_cut - 1/W_max)
    dx`` (the 1/T^2 spectrum of free-electron scattering, spin term
    neglected), each energy drawn from 1/T^2 between the cut and ``W_max``,
    each emitted at ``cos theta = (T/p)(p_max/T_max)`` and drawn as a
    straight electron track of length ``T / (dE/dx)_MIP``.
    """
    cut = ph.delta_ray_cut
    _, beta, gamma = kinematics(kinetic, mass)
    ratio = ELECTRON_MASS / mass
    bg2 = (beta * gamma) ** 2
    w_max = 2 * ELECTRON_MASS * bg2 / (1 + 2 * gamma * ratio + ratio**2)
    rate = (
        0.5
        * K_BETHE
        * Z_ARGON
        / A_ARGON
        * DENSITY_ARGON
        / np.maximum(beta, 1e-6) ** 2
        * np.clip(1 / cut - 1 / np.maximum(w_max, cut), 0, None)
    )
    counts = rng.poisson(rate * lengths)
    if not counts.any():
        return 0.0
    step = np.repeat(np.arange(len(lengths)), counts)
    w = w_max[step]
    energy = 1 / (1 / cut - rng.random(len(step)) * (1 / cut - 1 / w))
    keep = np.cumsum(energy) <= budget
    step, w, energy = step[keep], w[keep], energy[keep]
    if not len(step):
        return 0.0
    p_e = np.sqrt(energy * (energy + 2 * ELECTRON_MASS))
    p_max = np.sqrt(w * (w + 2 * ELECTRON_MASS))
    cos_t = np.clip(energy / p_e * p_max / w, -1, 1)
    axis = bounds[step + 1] - bounds[step]
    where = bounds[step] + rng.random(len(step))[:, None] * axis
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    dirs = _deflect_each(axis, np.arccos(cos_t), rng.uniform(0, 2 * np.pi, len(step)))
    _straight_tracks(dep, ph, where, dirs, energy / MIP_DEDX, energy)
    return float(energy.sum())


def _deflect_each(axes, theta, phi):
    """Return one unit vector per row of ``axes`` at ``theta``, ``phi`` around it."""
    helper = np.where(
        (np.abs(axes[:, 0]) < 0.9)[:, None], [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]
    )
    e1 = _cross(axes, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = _cross(axes, e1)
    return (
        np.cos(theta)[:, None] * axes
        + (np.sin(theta) * np.cos(phi))[:, None] * e1
        + (np.sin(theta) * np.sin(phi))[:, None] * e2
    )


def _straight_tracks(dep, ph, starts, dirs, lengths, energies):
    """Straight tracks depositing ``energies`` uniformly along ``lengths`` cm."""
    n_pts = np.maximum(np.ceil(lengths / ph.step).astype(np.int64), 1)
    track = np.repeat(np.arange(len(lengths)), n_pts)
    first = np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    frac = (np.arange(len(track)) - first + 0.5) / n_pts[track]
    points = starts[track] + (frac * lengths[track])[:, None] * dirs[track]
    dep.add(points, (energies / n_pts)[track])


def _charged_track(rng, ph, dep, truth, kind, start, u, kinetic, generation):
    """Simulate a muon, charged pion or proton (and what it makes) from ``start``.

    Continuous loss from the range table (so the deposit of a step is the
    difference of the kinetic energies at its two ends and a stopping
    particle ends in its Bragg peak), Highland multiple scattering,
    optional delta rays, a hadronic interaction point drawn from the
    interaction length (pions and protons), decays at rest.
    """
    mass = PARTICLE_CLASSES[kind][1]
    table = range_table(mass)
    r0 = float(table.range(kinetic))
    s_end, interacts = r0, False
    if kind != "muon" and ph.hadronic_interactions and generation <= _MAX_GENERATION:
        s_int = rng.exponential(ph.interaction_length)
        if s_int < r0:
            s_end, interacts = s_int, True
    n = max(1, math.ceil(s_end / ph.step))
    s = np.linspace(0.0, s_end, n + 1)
    t_bounds = table.kinetic(r0 - s)
    if not interacts:
        t_bounds[-1] = 0.0
    lengths = np.diff(s)
    t_mid = 0.5 * (t_bounds[:-1] + t_bounds[1:])
    p_mid, beta_mid, _ = kinematics(t_mid, mass)
    bounds, dirs = _path(
        rng, ph, start, u, lengths, p_mid, beta_mid, ph.multiple_scattering
    )
    de = t_bounds[:-1] - t_bounds[1:]
    if ph.delta_ray_cut is not None and ph.delta_ray_cut > 0:
        total = float(de.sum())
        carried = _delta_rays(rng, ph, dep, bounds, t_mid, lengths, mass, total)
        if carried > 0:  # the mean loss includes the delta rays: take them out
            de = de * max(0.0, 1 - carried / total)
    mids = 0.5 * (bounds[:-1] + bounds[1:])
    dep.add(mids, de)
    if generation == 0:
        inside = _inside(mids, ph)
        truth.visible_length = float(
            np.hypot(*(bounds[1:, :2] - bounds[:-1, :2]).T)[inside].sum()
        )
    end, u_end = bounds[-1], dirs[-1]
    seen = generation == 0 and bool(_inside(end[None], ph)[0])
    if interacts:
        t_int = float(t_bounds[-1])
        truth.interacted = truth.interacted or seen
        _hadronic_interaction(rng, ph, dep, truth, kind, end, u_end, t_int, generation)
        return
    truth.stopped = truth.stopped or seen
    if kind == "muon" and (generation > 0 or rng.random() < ph.muon_decay_fraction):
        # mu -> e nu nu at rest (a mu+ from a pion decay always decays)
        energy = float(michel_energies(rng, 1)[0])
        truth.decayed = truth.decayed or seen
        truth.released += energy
        _em_shower(rng, ph, dep, end, _isotropic(rng), energy, n_mip=1, c_j=-0.5)
    elif kind == "pion":
        # pi+ -> mu+ nu at rest: a 4.1 MeV muon, then its Michel positron
        truth.decayed = truth.decayed or seen
        truth.released += PION_DECAY_MUON_T
        _charged_track(
            rng,
            ph,
            dep,
            truth,
            "muon",
            end,
            _isotropic(rng),
            PION_DECAY_MUON_T,
            generation + 1,
        )


def _hadronic_interaction(rng, ph, dep, truth, kind, where, u, kinetic, generation):
    """Simulate a toy inelastic or elastic hadron-argon interaction at ``where``.

    Elastic-like (30 % of pion, 35 % of proton interactions): the particle goes
    on with 50-100 % of its kinetic energy, deflected by a polar angle of
    width 0.6 rad (a kink). Charge exchange (15 % of pion interactions): a
    neutral pion with total energy ``m_pi0 + f T`` (f uniform in 0.5-0.9)
    decays to two photons, which convert and shower. Otherwise inelastic:
    ``1 + Poisson(0.8)`` protons (at most 4) share a visible fraction 30-70 %
    of the kinetic energy (the rest goes to neutrons and nuclear binding),
    forward-peaked (cos theta uniform in -0.2..1); from a pion, a charged
    pion survives in 40 % of them, taking 30-80 % of that visible energy.
    """
    r = rng.random()
    elastic = _ELASTIC_FRACTION[kind]
    if r < elastic:
        new_u = _deflect(u, abs(rng.normal(0, 0.6)), rng.uniform(0, 2 * np.pi))
        t_new = kinetic * rng.uniform(0.5, 1.0)
        _charged_track(rng, ph, dep, truth, kind, where, new_u, t_new, generation + 1)
        return
    if kind == "pion" and r < elastic + _CHARGE_EXCHANGE_FRACTION:
        e_pi0 = PI0_MASS + rng.uniform(0.5, 0.9) * kinetic
        truth.released += PI0_MASS
        u_pi0 = _deflect(u, abs(rng.normal(0, 0.6)), rng.uniform(0, 2 * np.pi))
        for e_gamma, u_gamma in _pi0_photons(rng, e_pi0, u_pi0):
            gap = rng.exponential(ph.conversion_length)
            _em_shower(rng, ph, dep, where + gap * u_gamma, u_gamma, e_gamma, 2, 0.5)
        return
    visible = kinetic * rng.uniform(0.3, 0.7)
    if kind == "pion" and rng.random() < 0.4:
        t_pion = visible * rng.uniform(0.3, 0.8)
        visible -= t_pion
        u_pion = _deflect(u, np.arccos(rng.uniform(-0.2, 1)), rng.uniform(0, 2 * np.pi))
        _charged_track(
            rng, ph, dep, truth, "pion", where, u_pion, t_pion, generation + 1
        )
    n_protons = min(1 + rng.poisson(0.8), 4)
    shares = rng.dirichlet(np.ones(n_protons)) * visible
    for t_p in shares:
        u_p = _deflect(u, np.arccos(rng.uniform(-0.2, 1)), rng.uniform(0, 2 * np.pi))
        _charged_track(rng, ph, dep, truth, "proton", where, u_p, t_p, generation + 1)


def _pi0_photons(rng, energy, u):
    """Return the two photons of a pi0 of total energy ``energy`` flying along ``u``.

    Isotropic in the pi0 rest frame, boosted to the lab.
    """
    p = math.sqrt(max(energy**2 - PI0_MASS**2, 0.0))
    beta, gamma = p / energy, energy / PI0_MASS
    cos_star = rng.uniform(-1, 1)
    phi = rng.uniform(0, 2 * np.pi)
    half = PI0_MASS / 2
    out = []
    for sign in (1.0, -1.0):
        c = sign * cos_star
        e_lab = gamma * half * (1 + beta * c)
        p_long = gamma * half * (c + beta)
        p_trans = half * math.sqrt(max(1 - c**2, 0.0))
        theta = math.atan2(p_trans, p_long)
        out.append((e_lab, _deflect(u, theta, phi + (0 if sign > 0 else np.pi))))
    return out


# --------------------------------------------------------------------------
# Electromagnetic showers
# --------------------------------------------------------------------------


def _em_shower(rng, ph, dep, start, axis, energy, n_mip, c_j):
    """Simulate an electromagnetic shower of ``energy`` MeV starting at ``start``.

    A trunk of ``n_mip`` minimum-ionising particles (one for an electron,
    the overlapping e+e- pair of a converted photon) with
    ``n_mip x 2.105 MeV/cm`` and multiple scattering, of exponential length
    with mean ``trunk_length``; then the rest of the energy as short straight
    segments (exponential lengths, mean 1 cm), one MIP each, whose starts are
    drawn from the longitudinal Gamma profile
    ``dE/dt ~ (b t)^(a-1) e^(-b t)`` (t in radiation lengths, b = 0.5,
    ``t_max = (a - 1)/b = ln(E/E_c) + C_j``, C_j = -0.5 for electrons and
    +0.5 for photons, at least 0.3) and a transverse profile with a core
    (80 %, half-normal radius of width 0.1 R_M (1 + t/2)) and a halo
    (exponential radius, mean 0.5 R_M); segment directions spread around the
    axis by an exponential polar angle of mean 0.35 rad. Energies are scaled
    so that the deposits add up to ``energy`` exactly.
    """
    mip = MIP_DEDX * n_mip
    trunk = min(rng.exponential(ph.trunk_length), 0.9 * energy / mip)
    end = start
    e_trunk = 0.0
    if trunk > 0:
        n = max(1, math.ceil(trunk / ph.step))
        lengths = np.full(n, trunk / n)
        p = max(energy / n_mip, 1.0)
        bounds, dirs = _path(
            rng,
            ph,
            start,
            axis,
            lengths,
            np.full(n, p),
            np.ones(n),
            ph.multiple_scattering,
        )
        e_trunk = mip * trunk
        dep.add(0.5 * (bounds[:-1] + bounds[1:]), np.full(n, e_trunk / n))
        end, axis = bounds[-1], dirs[-1]
    rest = energy - e_trunk
    if rest <= 0:
        return
    n_seg = max(1, math.ceil(rest / (MIP_DEDX * _SEGMENT_LENGTH)))
    lengths = rng.exponential(_SEGMENT_LENGTH, n_seg) + 0.5 * ph.step
    t_max = max(math.log(max(rest, 1e-3) / ph.critical_energy) + c_j, 0.3)
    b = 0.5
    depth = rng.gamma(b * t_max + 1, 1 / b, n_seg)  # radiation lengths
    core = rng.random(n_seg) < _CORE_FRACTION
    radius = np.where(
        core,
        np.abs(rng.standard_normal(n_seg)) * 0.1 * ph.moliere_radius * (1 + depth / 2),
        rng.exponential(0.5 * ph.moliere_radius, n_seg),
    )
    phi = rng.uniform(0, 2 * np.pi, n_seg)
    e1, e2 = _basis(axis)
    starts = (
        end
        + (depth * ph.radiation_length)[:, None] * axis
        + (radius * np.cos(phi))[:, None] * e1
        + (radius * np.sin(phi))[:, None] * e2
    )
    theta = np.minimum(rng.exponential(_SEGMENT_ANGLE, n_seg), np.pi / 2)
    dirs = _deflect(axis, theta, rng.uniform(0, 2 * np.pi, n_seg))
    _straight_tracks(dep, ph, starts, dirs, lengths, lengths * (rest / lengths.sum()))


# --------------------------------------------------------------------------
# One image
# --------------------------------------------------------------------------


def _shoot(rng, ph, particle, momentum, vertex, u, dep) -> _Truth:
    """Simulate one particle from ``vertex`` along ``u`` into ``dep``."""
    truth = _Truth()
    mass = PARTICLE_CLASSES[particle][1]
    kinetic = float(kinetic_energy(momentum, mass))
    if particle == "electron":
        _em_shower(rng, ph, dep, vertex, u, kinetic, n_mip=1, c_j=-0.5)
    elif particle == "photon":
        gap = rng.exponential(ph.conversion_length)
        truth.conversion_gap = gap
        truth.projected_gap = gap * math.hypot(u[0], u[1])
        _em_shower(rng, ph, dep, vertex + gap * u, u, kinetic, n_mip=2, c_j=0.5)
    else:
        _charged_track(rng, ph, dep, truth, particle, vertex, u, kinetic, 0)
    return truth


def _raster(ph, points, energies) -> np.ndarray:
    """Sum the deposits into the (npix, npix) pixels of the view (float64)."""
    ix = np.floor(points[:, 0] / ph.pixel_size).astype(np.int64)
    iy = np.floor(points[:, 1] / ph.pixel_size).astype(np.int64)
    ok = (ix >= 0) & (ix < ph.npix) & (iy >= 0) & (iy < ph.npix)
    flat = np.bincount(
        iy[ok] * ph.npix + ix[ok], weights=energies[ok], minlength=ph.npix**2
    )
    return flat.reshape(ph.npix, ph.npix)


def _detector(rng, ph, deposits: np.ndarray) -> tuple[np.ndarray, float]:
    """Diffusion, noise and threshold: the float32 image and the energy in it.

    Images are mostly empty, so the work is confined to the box around the
    deposits, widened by the blur's radius (3 sigma): the Gaussian blur
    (``mode="constant"``) of that box equals the blur of the whole image, and
    every pixel in it gets Gaussian noise. Outside the box the signal is zero,
    so when the threshold is at least 3 sigma of the noise only the pixels
    whose noise passes it are drawn: their number from the binomial law with
    the Gaussian tail probability ``Q(threshold / noise)``, their places
    uniformly among the pixels outside the box, their values from the tail
    (inverse CDF). This has the distribution of noise in every pixel followed
    by the threshold, at a cost proportional to the deposits' box.
    """
    from scipy.ndimage import gaussian_filter
    from scipy.special import ndtr, ndtri

    npix = ph.npix
    sigma = ph.diffusion / ph.pixel_size
    radius = int(3.0 * sigma + 0.5) if sigma > 0 else 0
    rows = np.flatnonzero(deposits.any(axis=1))
    cols = np.flatnonzero(deposits.any(axis=0))
    image = np.zeros((npix, npix), dtype=np.float32)
    if len(rows):
        r0, r1 = max(rows[0] - radius, 0), min(rows[-1] + radius + 1, npix)
        c0, c1 = max(cols[0] - radius, 0), min(cols[-1] + radius + 1, npix)
    else:
        r0 = r1 = c0 = c1 = 0
    box = deposits[r0:r1, c0:c1]
    if sigma > 0 and box.size:
        box = gaussian_filter(box, sigma, mode="constant", truncate=3.0)
    deposited = float(box.sum())
    image[r0:r1, c0:c1] = box
    threshold = max(ph.threshold, 0.0)
    tail = float(ndtr(-threshold / ph.noise)) if ph.noise > 0 else 0.0
    if ph.noise > 0 and tail > ndtr(-3.0):  # a low threshold: noise everywhere
        image += np.float32(ph.noise) * rng.standard_normal(
            image.shape, dtype=np.float32
        )
    elif ph.noise > 0:
        image[r0:r1, c0:c1] += np.float32(ph.noise) * rng.standard_normal(
            (r1 - r0, c1 - c0), dtype=np.float32
        )
        n_out = npix * npix - (r1 - r0) * (c1 - c0)
        k = int(rng.binomial(n_out, tail)) if n_out else 0
        if k:
            outside = np.ones((npix, npix), dtype=bool)
            outside[r0:r1, c0:c1] = False
            where = rng.choice(np.flatnonzero(outside), size=k, replace=False)
            values = -ph.noise * ndtri(rng.random(k) * tail)
            image.flat[where] = values.astype(np.float32)
    image[image < threshold] = 0.0
    return image, deposited


def _ambiguous(ph, particle, truth) -> bool:
    """Whether the label is physically ambiguous (see make_particle_images)."""
    if particle == "proton":
        return truth.interacted
    if particle == "pion":
        return not truth.interacted
    if particle == "muon":
        return truth.visible_length < ph.ambiguity_length
    if particle == "photon":
        return truth.projected_gap < 2 * ph.pixel_size
    return False


def _one_image(rng, ph, particle, momentum_range):
    """Draw one accepted image of ``particle`` and its truth record."""
    side = ph.npix * ph.pixel_size
    for _ in range(MAX_TRIES):
        momentum = rng.uniform(*momentum_range)
        vertex = np.array(
            [*(rng.uniform(*ph.vertex_range, 2) * side), 0.0], dtype=float
        )
        if ph.direction == "isotropic":
            u = _isotropic(rng)
        else:
            phi = rng.uniform(0, 2 * np.pi)
            u = np.array([math.cos(phi), math.sin(phi), 0.0])
        dep = _Deposits()
        truth = _shoot(rng, ph, particle, momentum, vertex, u, dep)
        image, deposited = _detector(rng, ph, _raster(ph, *dep.arrays()))
        if np.count_nonzero(image) < ph.min_pixels:
            continue
        ambiguous = _ambiguous(ph, particle, truth)
        if ph.drop_ambiguous and ambiguous:
            continue
        pdg, mass = PARTICLE_CLASSES[particle]
        kinetic = float(kinetic_energy(momentum, mass))
        row = {
            "particle": particle,
            "pdg": pdg,
            "momentum": momentum,
            "kinetic_energy": kinetic,
            "vertex_x": vertex[0],
            "vertex_y": vertex[1],
            "theta": math.acos(max(-1.0, min(1.0, u[2]))),
            "phi": math.atan2(u[1], u[0]),
            "conversion_gap": truth.conversion_gap,
            "projected_gap": truth.projected_gap,
            "deposited_energy": deposited,
            "available_energy": kinetic + truth.released,
            "stopped": truth.stopped,
            "decayed": truth.decayed,
            "interacted": truth.interacted,
            "ambiguous": ambiguous,
        }
        return image, row
    raise RuntimeError(
        f"make_particle_images: no acceptable {particle} image in {MAX_TRIES} "
        f"tries (min_pixels={ph.min_pixels}, drop_ambiguous={ph.drop_ambiguous}); "
        "lower min_pixels, widen the momentum range or enlarge the image"
    )


def _make_images(task: _ImageTask, report: Callable[[int], object] | None = None):
    """Make ``task.n_images`` images of one particle (a task of the runner)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(task.seed)
    ph = task.physics
    images = np.empty((task.n_images, 1, ph.npix, ph.npix), dtype=np.float32)
    rows = []
    for k in range(task.n_images):
        images[k, 0], row = _one_image(rng, ph, task.particle, task.momentum_range)
        rows.append(row)
        if report is not None and (k % 8 == 7 or k == task.n_images - 1):
            report(k + 1)
    return images, rows, time.perf_counter() - t0


def _check_classes(classes) -> list[str]:
    names = [classes] if isinstance(classes, str) else list(classes)
    if not names:
        raise ValueError("make_particle_images: classes must name at least one class")
    for name in names:
        if name not in PARTICLE_CLASSES:
            raise ValueError(
                f"make_particle_images: unknown class {name!r}; "
                f"known: {sorted(PARTICLE_CLASSES)}"
            )
    duplicate = sorted({n for n in names if names.count(n) > 1})
    if duplicate:
        raise ValueError(f"make_particle_images: class {duplicate[0]!r} is given twice")
    return names


def _check_momentum_ranges(momentum_ranges, names) -> dict:
    ranges = dict(DEFAULT_MOMENTUM_RANGES)
    for name, value in (momentum_ranges or {}).items():
        if name not in PARTICLE_CLASSES:
            raise ValueError(
                f"make_particle_images: momentum_ranges names an unknown class "
                f"{name!r}; known: {sorted(PARTICLE_CLASSES)}"
            )
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            low = high = math.nan
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
            raise ValueError(
                f"make_particle_images: bad momentum range for {name!r}: "
                f"{value!r}; need (low, high) in MeV/c with 0 < low < high"
            )
        ranges[name] = (low, high)
    return {name: ranges[name] for name in names}


_POSITIVE = Interval(Real, 0, None, closed="neither")
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")


@validate_params(
    {
        "n_per_class": [Interval(Integral, 1, None, closed="left")],
        "classes": [str, list, tuple],
        "npix": [Interval(Integral, MIN_NPIX, None, closed="left")],
        "random_state": [
            Interval(Integral, 0, None, closed="left"),
            np.random.Generator,
            np.random.RandomState,
            np.random.SeedSequence,
            None,
        ],
        "pixel_size": [_POSITIVE],
        "momentum_ranges": [Mapping, None],
        "labels": [StrOptions({"index", "name"})],
        "shuffle": ["boolean"],
        "n_jobs": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "progress": ["boolean"],
        "return_info": ["boolean"],
        "vertex_range": [Range(0)],
        "direction": [StrOptions({"isotropic", "in-plane"})],
        "multiple_scattering": ["boolean"],
        "delta_ray_cut": [_POSITIVE, None],
        "hadronic_interactions": ["boolean"],
        "interaction_length": [_POSITIVE],
        "muon_decay_fraction": [Interval(Real, 0, 1, closed="both")],
        "conversion_length": [_POSITIVE],
        "radiation_length": [_POSITIVE],
        "moliere_radius": [_POSITIVE],
        "critical_energy": [_POSITIVE],
        "trunk_length": [_POSITIVE],
        "diffusion": [_NON_NEGATIVE],
        "noise": [_NON_NEGATIVE],
        "threshold": [_NON_NEGATIVE],
        "min_pixels": [Interval(Integral, 0, None, closed="left")],
        "drop_ambiguous": ["boolean"],
        "ambiguity_length": [_NON_NEGATIVE],
    },
    prefer_skip_nested_validation=True,
)
def make_particle_images(
    n_per_class: int,
    classes: str | Sequence[str] = ("electron", "muon", "photon", "proton"),
    npix: int = 192,
    *,
    random_state=None,
    pixel_size: float = 0.5,
    momentum_ranges: Mapping[str, tuple[float, float]] | None = None,
    labels: str = "index",
    shuffle: bool = True,
    n_jobs: int | None = 1,
    progress: bool = True,
    return_info: bool = False,
    vertex_range: tuple[float, float] = (0.25, 0.75),
    direction: str = "isotropic",
    multiple_scattering: bool = True,
    delta_ray_cut: float | None = 1.0,
    hadronic_interactions: bool = True,
    interaction_length: float = INTERACTION_LENGTH,
    muon_decay_fraction: float = 0.25,
    conversion_length: float = 9 / 7 * RADIATION_LENGTH,
    radiation_length: float = RADIATION_LENGTH,
    moliere_radius: float = MOLIERE_RADIUS,
    critical_energy: float = CRITICAL_ENERGY,
    trunk_length: float = RADIATION_LENGTH / 3,
    diffusion: float = 0.15,
    noise: float = 0.05,
    threshold: float = 0.25,
    min_pixels: int = 10,
    drop_ambiguous: bool = False,
    ambiguity_length: float = 5.0,
):
    """Simulate single particles in liquid argon as 2D images of deposited energy.

    A particle gun in liquid argon seen through one 2D view, after the
    single-particle images of the DeepLearnPhysics challenges (four classes
    at 192 x 192 in the original challenge, five at 256 x 256 with 0.5 cm
    pixels in the older public set). Each particle starts at a random vertex
    with a momentum uniform in its class's range and a random direction; its
    energy deposits in 3D are projected along the drift axis ``z`` onto the
    ``(x, y)`` view, blurred by diffusion, given electronic noise and
    zero-suppressed below a threshold. Pixel values are energies in MeV.

    Parameters
    ----------
    n_per_class : int
        Number of images of each class.
    classes : str or sequence of str, default=("electron", "muon", "photon", \
"proton")
        The particles, among ``"electron"`` (e-, PDG 11), ``"muon"`` (mu-, 13),
        ``"photon"`` (22), ``"pion"`` (pi+, 211) and ``"proton"`` (2212).
        The default is the original challenge's four classes; add
        ``"pion"`` for the five classes of the public set.
    npix : int, default=192
        Image side in pixels (at least 16); 256 for the public set.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds everything. A given seed gives identical images whatever
        ``n_jobs``, and the images of a class do not depend on which other
        classes are asked for (but their order after shuffling does).
    pixel_size : float, default=0.5
        Pixel side in cm (the public set: 128 cm over 256 pixels).
    momentum_ranges : dict of str to (float, float), default=None
        Momentum range (MeV/c) per class, drawn uniformly; classes not given
        keep the public set's ranges: electron (35.5, 800), photon (35, 800),
        muon (90, 800), pion (105, 800), proton (275, 800).
    labels : {"index", "name"}, default="index"
        ``"index"``: int64 labels, the index of the class's PDG code among
        the sorted PDG codes of ``classes``, as in the challenge files
        (four classes: 0 electron, 1 muon, 2 photon, 3 proton; five: 0
        electron, 1 muon, 2 photon, 3 pion, 4 proton). ``"name"``: the class
        names as strings.
    shuffle : bool, default=True
        Shuffle the images (otherwise they come class by class in the order
        of ``classes``).
    n_jobs : int, default=1
        Number of worker processes; -1 uses all cores. Images are made in
        tasks of at most 64 images of one class, each with its own seed, and
        each task's images go straight to their places in the output, so the
        memory needed is the output's (4 bytes a pixel) and little more.
    progress : bool, default=True
        Show a tqdm progress bar counting images.
    return_info : bool, default=False
        Also return a :class:`pandas.DataFrame` with one row per image.
    vertex_range : (float, float), default=(0.25, 0.75)
        The vertex's x and y are uniform in this range, as fractions of the
        image side (z, along the drift, does not enter the view).
    direction : {"isotropic", "in-plane"}, default="isotropic"
        ``"isotropic"``: uniform on the sphere, so tracks are foreshortened by
        the projection by ``sin(theta)``; ``"in-plane"``: uniform in the
        plane of the view (no foreshortening).
    multiple_scattering : bool, default=True
        Deflect charged tracks by Highland's multiple-scattering angle.
    delta_ray_cut : float or None, default=1.0
        Knock-on electrons above this kinetic energy (MeV) are emitted as
        separate short tracks; None for none.
    hadronic_interactions : bool, default=True
        Pions and protons interact with argon nuclei (kinks, secondary
        prongs, neutral pions).
    interaction_length : float, default=85.7
        Mean free path (cm) before a hadronic interaction: argon's nuclear
        interaction length, 119.7 g/cm2.
    muon_decay_fraction : float, default=0.25
        Fraction of stopping muons that decay to a Michel electron; the
        rest are captured by an argon nucleus (invisible here). For mu- in
        argon ``1 - tau_Ar/tau_free = 1 - 0.54/2.197 = 0.25``; 1 for mu+.
    conversion_length : float, default=18.0
        Mean distance (cm) a photon flies before it converts, 9/7 X0.
    radiation_length : float, default=14.0
        Radiation length X0 of liquid argon (cm): the shower depth unit.
    moliere_radius : float, default=9.04
        Moliere radius (cm): the shower's transverse scale.
    critical_energy : float, default=32.84
        Critical energy (MeV), which sets the depth of the shower maximum.
    trunk_length : float, default=4.67
        Mean length (cm) of the shower's start before it branches out: one
        MIP (electron) or two (photon) of dE/dx, X0/3 by default.
    diffusion : float, default=0.15
        Width (cm) of the Gaussian blur of the drifted charge; 0 for none.
    noise : float, default=0.05
        Width (MeV) of the Gaussian electronic noise added to every pixel.
    threshold : float, default=0.25
        Pixels below this value (MeV) after the noise are set to zero.
    min_pixels : int, default=10
        Images with fewer non-zero pixels are redrawn (new momentum, vertex
        and direction), as the public set dropped events with fewer than 10;
        0 keeps every image.
    drop_ambiguous : bool, default=False
        Redraw the images flagged ``ambiguous`` instead of keeping them.
    ambiguity_length : float, default=5.0
        A muon whose track is shorter than this in the image (projected, cm)
        is flagged ambiguous.

    Returns
    -------
    images : ndarray of shape (n_images, 1, npix, npix), dtype float32
        Deposited energy per pixel (MeV); ``images[k, 0, i, j]`` covers
        ``y`` in ``[i, i + 1)`` and ``x`` in ``[j, j + 1)`` pixel sizes.
        ``n_images = n_per_class * len(classes)``.
    labels : ndarray of shape (n_images,)
        int64 indices or class names, see ``labels``.
    info : pandas.DataFrame
        Only with ``return_info=True``; one row per image: ``particle``,
        ``pdg``, ``momentum`` (MeV/c), ``kinetic_energy`` (MeV),
        ``vertex_x``/``vertex_y`` (cm in the view), ``theta`` (polar angle to
        the drift axis) and ``phi`` (azimuth in the view) in rad,
        ``conversion_gap`` (photons, cm in 3D; 0 for others),
        ``projected_gap`` (the same in the view), ``deposited_energy`` (MeV
        in the image after diffusion, before noise and threshold),
        ``available_energy`` (kinetic energy plus the energy set free by
        decays and neutral-pion masses: never less than
        ``deposited_energy``), ``stopped`` (the primary comes to rest inside
        the view), ``decayed`` (and decays there: a Michel electron, or the
        pi+ -> mu+ -> e+ chain), ``interacted`` (the primary's hadronic
        interaction is inside the view) and ``ambiguous``.

    Raises
    ------
    ValueError
        An unknown or repeated class, a bad momentum range or (scikit-learn's
        ``InvalidParameterError``, a ValueError and TypeError) another
        parameter with a wrong type or value, e.g. ``npix < 16``.
    hepclf.datasets.TaskError
        A task failed, e.g. no image with ``min_pixels`` pixels in 200 tries.

    See Also
    --------
    load_particle_images : Read images in the challenge's HDF5 layout.
    write_particle_images : Write images in that layout.

    Notes
    -----
    Units: MeV, cm, MeV/c. Material constants of liquid argon from the PDG
    tables (Z = 18, A = 39.948, I = 188 eV, 1.396 g/cm3, X0 = 14.0 cm,
    R_M = 9.04 cm, E_c = 32.84 MeV, lambda_I = 85.7 cm). Every charged track
    is stepped in steps of a quarter pixel.

    - **Muons, pions, protons**: continuous energy loss from the Bethe-Bloch
      formula with the density effect (PDG review "Passage of particles
      through matter"), integrated into a CSDA range table; the deposit of a
      step is the kinetic energy lost over it, read from the range-energy
      relation, so a stopping particle ends in its Bragg peak and a proton
      is much shorter than a muon of the same kinetic energy (100 MeV: 7.8 vs
      30 cm). Multiple scattering with Highland's formula; knock-on
      electrons above ``delta_ray_cut`` as separate tracks, their energy
      taken out of the continuous loss. Pions and protons interact after an
      exponential path with mean ``interaction_length`` (a toy model: kinks,
      1-4 proton prongs, a surviving pion, charge exchange to a pi0 whose
      photons shower). A stopping muon decays (``muon_decay_fraction``) to
      a Michel electron with the V-A spectrum ``x^2 (3 - 2x)`` up to
      52.8 MeV, shown as a small shower; a stopping pi+ decays to a 4.1 MeV
      muon (1.5 mm), which decays in turn.
    - **Electrons**: a shower from the vertex: one MIP of dE/dx (2.1 MeV/cm)
      along a scattering trunk of mean length ``trunk_length``, then the
      rest of the energy in short one-MIP segments drawn from the
      longitudinal Gamma profile of Longo and Sestili in radiation lengths
      (PDG parametrisation, b = 0.5, ``t_max = ln(E/E_c) - 0.5``) and a core
      plus halo transverse profile scaled by the Moliere radius.
    - **Photons**: the same shower (``t_max = ln(E/E_c) + 0.5``) after a
      conversion gap drawn from an exponential of mean 9/7 X0, starting
      with two MIPs of dE/dx (the e+e- pair): the gap and the dE/dx of the
      first centimetres are what tell a photon from an electron.
    - **Detector**: deposits are summed in the pixels of the view, blurred
      by a Gaussian of width ``diffusion``, given Gaussian ``noise`` in
      every pixel and zero-suppressed below ``threshold``; images with fewer
      than ``min_pixels`` non-zero pixels are redrawn.

    ``ambiguous`` flags labels a classifier cannot be expected to get right
    from the image, like the ~15 % the authors of the public set blamed for
    a plateau of their ResNet: a proton whose hadronic interaction is in the
    image, a pion without one in the image (a muon-like track), a muon
    whose track in the image is shorter than ``ambiguity_length``, and a
    photon whose projected gap is under two pixels (electron-like).
    Electrons are never flagged.

    Not modelled: Landau fluctuations below ``delta_ray_cut``, recombination,
    Compton scattering of photons, bremsstrahlung photons that leave the
    shower, the wire readout (the view is a projection of the deposits).

    Examples
    --------
    >>> from hepclf.datasets import make_particle_images
    >>> X, y = make_particle_images(2, npix=32, random_state=0, progress=False)
    >>> X.shape, X.dtype, sorted(y.tolist())
    ((8, 1, 32, 32), dtype('float32'), [0, 0, 1, 1, 2, 2, 3, 3])
    """
    names = _check_classes(classes)
    ranges = _check_momentum_ranges(momentum_ranges, names)
    n_jobs = _resolve_n_jobs(n_jobs)
    seed = _seed_sequence(random_state)
    physics = _Physics(
        npix=int(npix),
        pixel_size=float(pixel_size),
        step=float(pixel_size) / 4,
        vertex_range=(float(vertex_range[0]), float(vertex_range[1])),
        direction=direction,
        multiple_scattering=bool(multiple_scattering),
        delta_ray_cut=None if delta_ray_cut is None else float(delta_ray_cut),
        hadronic_interactions=bool(hadronic_interactions),
        interaction_length=float(interaction_length),
        muon_decay_fraction=float(muon_decay_fraction),
        conversion_length=float(conversion_length),
        radiation_length=float(radiation_length),
        moliere_radius=float(moliere_radius),
        critical_energy=float(critical_energy),
        trunk_length=float(trunk_length),
        diffusion=float(diffusion),
        noise=float(noise),
        threshold=float(threshold),
        min_pixels=int(min_pixels),
        drop_ambiguous=bool(drop_ambiguous),
        ambiguity_length=float(ambiguity_length),
    )
    # one seed per class, whatever classes are asked for, and one to shuffle
    class_seeds = dict(
        zip(PARTICLE_CLASSES, seed.spawn(len(PARTICLE_CLASSES)), strict=True)
    )
    (shuffle_seed,) = seed.spawn(1)
    tasks = []
    for name in names:
        counts = [
            len(c)
            for c in np.array_split(
                np.arange(n_per_class), math.ceil(n_per_class / CHUNK_IMAGES)
            )
        ]
        for n, child in zip(counts, class_seeds[name].spawn(len(counts)), strict=True):
            task = _ImageTask(name, n, ranges[name], child, physics)
            tasks.append(Task(_make_images, task, f"{n} {name} images"))

    # Each task's images go straight to their shuffled places in one array,
    # so the peak memory is the output plus one chunk per worker.
    total = n_per_class * len(names)
    order = (
        np.random.default_rng(shuffle_seed).permutation(total)
        if shuffle
        else np.arange(total)
    )
    place = np.empty(total, dtype=np.int64)
    place[order] = np.arange(total)  # the k-th image made goes to place[k]
    starts = np.cumsum([0] + [t.settings.n_images for t in tasks])
    images = np.empty((total, 1, physics.npix, physics.npix), dtype=np.float32)
    rows = [None] * total

    def file_away(k, result):
        chunk, chunk_rows, cpu = result
        where = place[starts[k] : starts[k + 1]]
        images[where] = chunk
        for i, row in zip(where.tolist(), chunk_rows, strict=True):
            rows[i] = row
        return cpu

    t0 = time.perf_counter()
    cpu = sum(
        run_tasks(
            tasks,
            n_jobs=n_jobs,
            progress=progress,
            total=total,
            desc="particle images",
            unit="image",
            on_result=file_away,
        )
    )
    elapsed = time.perf_counter() - t0
    logger.info(
        "made %d images in %.1f s with n_jobs=%d (%.1f images/s per core)",
        total,
        elapsed,
        n_jobs,
        total / max(cpu, 1e-9),
    )
    if labels == "index":
        codes = sorted(PARTICLE_CLASSES[name][0] for name in names)
        pdg = np.array([row["pdg"] for row in rows])
        y = np.searchsorted(codes, pdg).astype(np.int64)
    else:
        y = np.array([row["particle"] for row in rows])
    if not return_info:
        return images, y
    import pandas as pd

    info = pd.DataFrame(rows)
    return images, y, info


# --------------------------------------------------------------------------
# The bundled sample
# --------------------------------------------------------------------------

#: File of the bundled sample in ``hepclf/datasets/data``.
PARTICLE_SAMPLE_FILE = "particles_sample.h5"
#: Settings of the bundled sample: images per class, image size, pixel size
#: (cm, so the view is 96 cm across as in the 192 x 0.5 cm challenge images)
#: and seed.
PARTICLE_SAMPLE = {"n_per_class": 300, "npix": 64, "pixel_size": 1.5, "seed": 2020}


def _write_particle_sample(path, *, n_jobs=1):
    """Regenerate the bundled sample (``hepclf/datasets/data/particles_sample.h5``).

    ``make_particle_images`` with the four challenge classes and
    :data:`PARTICLE_SAMPLE`'s settings, written with
    :func:`hepclf.datasets.write_particle_images` (the challenge layout).
    """
    from ._larcv import write_particle_images

    s = PARTICLE_SAMPLE
    images, _, info = make_particle_images(
        s["n_per_class"],
        npix=s["npix"],
        pixel_size=s["pixel_size"],
        random_state=s["seed"],
        n_jobs=n_jobs,
        progress=False,
        return_info=True,
    )
    return write_particle_images(path, images, info["pdg"].to_numpy(), compression=9)


def load_particle_sample():
    """Load the bundled sample of simulated liquid-argon particle images.

    1,200 images made with :func:`make_particle_images`, 300 each of
    electrons (label 0), muons (1), photons (2) and protons (3) -- the labels
    of the challenge, the index of the sorted PDG codes -- shuffled, at
    64 x 64 pixels of 1.5 cm (the 96 cm view of the challenge's 192 x 192
    pixels of 0.5 cm, coarser so that a CPU trains on it in seconds). Stored
    in the challenge HDF5 layout and read with :func:`load_particle_images`.

    Returns
    -------
    images : ndarray of shape (1200, 1, 64, 64), dtype float32
        Deposited energy per pixel (MeV).
    y : ndarray of shape (1200,), dtype int64
        0 electron, 1 muon, 2 photon, 3 proton.

    See Also
    --------
    make_particle_images : Simulate more images, at any size.

    Examples
    --------
    >>> from hepclf.datasets import load_particle_sample
    >>> images, y = load_particle_sample()
    >>> images.shape, images.dtype
    ((1200, 1, 64, 64), dtype('float32'))
    >>> [int((y == k).sum()) for k in range(4)]
    [300, 300, 300, 300]
    """
    from importlib import resources

    from ._larcv import load_particle_images

    ref = resources.files("hepclf.datasets").joinpath("data", PARTICLE_SAMPLE_FILE)
    with resources.as_file(ref) as path:
        return load_particle_images(path)
