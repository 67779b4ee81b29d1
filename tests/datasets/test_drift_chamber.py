"""Tests of the drift-chamber simulator: geometry, kinematics, tracks, hits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from hepclf.datasets import (
    BESIII_MDC,
    MDCGeometry,
    load_hits_text,
    make_drift_chamber_events,
)
from hepclf.datasets import _drift_chamber as dc

from ._helpers import kinematics

B_FIELD = 1.0


def track(px, py, pz, *, charge=1, mass=dc.M_MU, vertex=(0.0, 0.0, 0.0)):
    """One hand-made track in the form ``_track_hits`` takes (t0 = 0)."""
    return {
        "event": np.array([0]),
        "trk": np.array([1]),
        "charge": np.array([charge]),
        "mass": np.array([mass]),
        "px": np.array([px], dtype=float),
        "py": np.array([py], dtype=float),
        "pz": np.array([pz], dtype=float),
        "x0": np.array([vertex[0]]),
        "y0": np.array([vertex[1]]),
        "z0": np.array([vertex[2]]),
        "t0": np.array([0.0]),
        "efficiency": 1.0,
    }


def circle(truth_row, field=B_FIELD):
    """Centre (x, y) and radius of a truth particle's helix, in mm.

    A positive particle in a field along +z turns clockwise: the centre is
    on the right of its direction of motion.
    """
    q = 1 if truth_row.particle.endswith("+") else -1
    pt = math.hypot(truth_row.px, truth_row.py)
    radius = pt / (0.299792458 * field) * 1000.0  # mm
    phi = math.atan2(truth_row.py, truth_row.px)
    xc = truth_row.xi * 10 + q * radius * math.sin(phi)
    yc = truth_row.yi * 10 - q * radius * math.cos(phi)
    return xc, yc, radius


def helix_crossings(truth_row, r_mm):
    """Points ``(x, y, z, s)`` (mm) where the helix first reaches the radii ``r_mm``.

    Walks along the helix in fine steps (independent of the simulator's
    circle intersection) up to its farthest point from the axis; NaN for
    radii it never reaches.
    """
    q = 1 if truth_row.particle.endswith("+") else -1
    pt = math.hypot(truth_row.px, truth_row.py)
    radius = pt / (0.299792458 * B_FIELD) * 1000.0
    phi0 = math.atan2(truth_row.py, truth_row.px)
    s = np.linspace(0, min(math.pi * radius, 3000.0), 20_001)
    phi = phi0 - q * s / radius
    x = truth_row.xi * 10 - radius / q * (np.sin(phi) - math.sin(phi0))
    y = truth_row.yi * 10 + radius / q * (np.cos(phi) - math.cos(phi0))
    z = truth_row.zi * 10 + s * truth_row.pz / pt
    rr = np.hypot(x, y)
    k = int(np.argmax(rr)) + 1
    at = np.interp(r_mm, rr[:k], s[:k], right=np.nan)
    return (
        np.interp(at, s, x),
        np.interp(at, s, y),
        np.interp(at, s, z),
        at,
    )


@pytest.fixture(scope="module")
def mumu():
    return make_drift_chamber_events("jpsi_mumu", 60, random_state=1, progress=False)


@pytest.fixture(scope="module")
def leptons():
    """Lepton hits of J/psi -> ee and -> mumu events: (p, charge) per hit."""
    out = {}
    for process in ("jpsi_ee", "jpsi_mumu"):
        ev = make_drift_chamber_events(process, 400, random_state=2, progress=False)
        truth = ev.truth
        p = np.sqrt(truth.px**2 + truth.py**2 + truth.pz**2).to_numpy()
        p = p.reshape(-1, 4)
        trk = ev.track_ids
        is_lepton = trk >= 3
        e, h = np.nonzero(is_lepton)
        out[process] = (p[e, trk[e, h] - 1], ev.hits[e, h, 2])
    return out


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------


def test_besiii_geometry_layout():
    g = BESIII_MDC
    assert g.n_layers == 43
    assert g.n_wires_total == 6796
    stereo = set(np.flatnonzero(g.stereo).tolist())
    assert stereo == set(range(8)) | set(range(20, 36))
    assert g.n_wires[0] == 40
    assert g.n_wires[40:] == (288, 288, 288)
    assert_allclose(g.midpoint_radius[[0, 42]], [7.589, 76.345], atol=1e-3)
    assert_allclose(np.asarray(g.half_length)[[0, 42]], [39.0, 115.3])
    # the twist changes sign from one stereo superlayer to the next
    signs = [np.sign(g.twist[4 * s]) for s in (0, 1, 5, 6, 7, 8)]
    assert signs == [1, -1, 1, -1, 1, -1]
    assert_array_equal(g.superlayer[[0, 3, 4, 39, 40, 42]], [0, 0, 1, 9, 10, 10])
    assert_array_equal(g.first_wire[:3], [0, 40, 84])


def test_wire_ends_match_the_seed_dump():
    """The seed's first hits (XE, YE, XW, YW in mm) are BESIII wire end points."""
    seed_hits = {
        (0, 21): (-76.671368, -18.407167, -74.990806, 24.365990),
        (2, 24): (-102.679683, -6.729982, -95.067204, 39.378125),
        (3, 28): (-115.250000, 0.000000, -106.477116, 44.104266),
        (7, 38): (-159.610436, 25.279810, -158.494901, -31.526596),
    }
    for (layer, wire), expected in seed_hits.items():
        ends = BESIII_MDC.wire_ends(layer, wire)[[0, 1, 3, 4]] * 10
        assert_allclose(ends, expected, atol=2e-3)


def test_geometry_matches_pybes3():
    pytest.importorskip("pybes3")
    from pybes3 import mdc

    table = mdc.get_mdc_geom_table("np")
    ends = BESIII_MDC.wire_ends(table["layer"], table["wire"])
    for k, name in enumerate(("east_x", "east_y", "east_z", "west_x", "west_y")):
        assert_allclose(ends[:, k], table[name], atol=2e-4, err_msg=name)
    assert_allclose(ends[:, 5], table["west_z"], atol=1e-9)
    assert_array_equal(BESIII_MDC.stereo[table["layer"]], table["is_stereo"])
    read = MDCGeometry.from_pybes3()
    assert read.n_wires == BESIII_MDC.n_wires
    assert_allclose(read.radius, BESIII_MDC.radius, atol=1e-4)
    assert_allclose(read.twist, BESIII_MDC.twist, atol=1e-3)


def test_wire_position_runs_from_west_to_east():
    layer, wire = np.array([0, 8, 25]), np.array([3, 10, 100])
    ends = BESIII_MDC.wire_ends(layer, wire)
    half = np.asarray(BESIII_MDC.half_length)[layer]
    assert_allclose(
        np.column_stack(BESIII_MDC.wire_position(layer, wire, half)), ends[:, :2]
    )
    assert_allclose(
        np.column_stack(BESIII_MDC.wire_position(layer, wire, -half)), ends[:, 3:5]
    )
    mid = np.column_stack(BESIII_MDC.wire_position(layer, wire, 0.0))
    assert_allclose(mid, (ends[:, :2] + ends[:, 3:5]) / 2)
    # axial wire: the same point at every z; stereo: the midpoint is closest
    assert_allclose(np.hypot(*mid.T)[1], BESIII_MDC.radius[8])
    assert_allclose(np.hypot(*mid.T)[[0, 2]], BESIII_MDC.midpoint_radius[[0, 25]])


def test_geometry_rejects_inconsistent_tables():
    with pytest.raises(ValueError, match="MDCGeometry: radius has 1 layers"):
        MDCGeometry((4, 8), (1.0,), (1.0, 1.0), (0.0, 0.0), (0.0, 0.0))
    with pytest.raises(ValueError, match="increasing"):
        MDCGeometry((4, 8), (2.0, 1.0), (1.0, 1.0), (0.0, 0.0), (0.0, 0.0))
    with pytest.raises(ValueError, match="MDCGeometry: wire number"):
        BESIII_MDC.wire_ends(0, 40)


# --------------------------------------------------------------------------
# Kinematics
# --------------------------------------------------------------------------


def test_boost_of_a_particle_at_rest():
    p4 = np.array([[1.0, 0.0, 0.0, 0.0]])
    out = dc._boost(p4, np.array([[0.6, 0.0, 0.0]]))
    assert_allclose(out, [[1.25, 0.75, 0.0, 0.0]])


@pytest.mark.parametrize("lepton", [dc.M_E, dc.M_MU])
def test_jpsi_decays_conserve_four_momentum(lepton):
    rng = np.random.default_rng(0)
    p4 = dc._jpsi_decays(2000, lepton, rng, dc.RESPONSE)
    system = dc._psi_system(1, rng, dc.RESPONSE)[0]
    assert_allclose(p4.sum(axis=1), np.broadcast_to(system, (2000, 4)), atol=1e-9)
    _, _, _, m = kinematics(p4)
    assert_allclose(m[:, :2], dc.M_PI, rtol=1e-6)
    assert_allclose(m[:, 2:], lepton, rtol=1e-3, atol=1e-6)
    _, _, _, m_ll = kinematics(p4[:, 2] + p4[:, 3])
    assert_allclose(m_ll, dc.M_JPSI, rtol=1e-9)
    assert_allclose(system[1], 0.011 * dc.SQRT_S, rtol=1e-3)  # crossing angle


def test_pipi_mass_follows_its_density():
    rng = np.random.default_rng(3)
    p4 = dc._jpsi_decays(20_000, dc.M_MU, rng, dc.RESPONSE)
    _, _, _, m = kinematics(p4[:, 0] + p4[:, 1])
    # phase space (J/psi momentum x pion momentum in the pi pi frame) times
    # (m^2 - 4.35 m_pi^2)^2, integrated here on its own
    grid = np.linspace(2 * dc.M_PI, dc.M_PSI2S - dc.M_JPSI, 20_001)

    def momentum(big, m1, m2):
        kallen = (big**2 - (m1 + m2) ** 2) * (big**2 - (m1 - m2) ** 2)
        return np.sqrt(np.clip(kallen, 0, None)) / (2 * big)

    density = (
        momentum(dc.M_PSI2S, dc.M_JPSI, grid)
        * momentum(grid, dc.M_PI, dc.M_PI)
        * (grid**2 - 4.35 * dc.M_PI**2) ** 2
    )
    expected_mean = np.trapezoid(grid * density, grid) / np.trapezoid(density, grid)
    assert abs(m.mean() - expected_mean) < 5 * m.std() / math.sqrt(len(m))
    # the matrix element pushes the spectrum up: few events below 0.35 GeV
    assert np.mean(m < 0.35) < 0.05
    assert np.median(m) > 0.47


def test_lepton_angle_is_one_plus_cos2():
    c = dc._one_plus_cos2(np.random.default_rng(4), 100_000)
    # <cos^2> = (2/3 + 2/5) / (2 + 2/3) = 0.4 (flat: 1/3)
    assert abs(np.mean(c**2) - 0.4) < 0.005
    assert np.all(np.abs(c) <= 1)


def test_phase_space_is_flat_in_the_dalitz_plot():
    """Three massless bodies: s12 / M^2 has density 2 (1 - x)."""
    rng = np.random.default_rng(5)
    p4 = dc._phase_space(40_000, 1.0, (1e-6, 1e-6, 1e-6), rng)
    _, _, _, m12 = kinematics(p4[:, 0] + p4[:, 1])
    x = m12**2
    assert abs(x.mean() - 1 / 3) < 0.006
    assert abs(np.mean(x**2) - 1 / 6) < 0.006


def test_continuum_conserves_four_momentum():
    rng = np.random.default_rng(6)
    p4 = dc._continuum(500, rng, dc.RESPONSE)
    system = dc._psi_system(1, rng, dc.RESPONSE)[0]
    assert_allclose(p4.sum(axis=1), np.broadcast_to(system, (500, 4)), atol=1e-9)
    _, _, _, m = kinematics(p4)
    assert_allclose(m, np.broadcast_to([dc.M_PI, dc.M_PI, dc.M_MU, dc.M_MU], m.shape))


# --------------------------------------------------------------------------
# Energy loss
# --------------------------------------------------------------------------


def landau_density(lam):
    """The standard Landau density phi(lambda), from its integral definition."""
    from scipy.integrate import quad

    def integrand(t):
        return np.exp(-t * np.log(t) - lam * t) * np.sin(np.pi * t)

    return quad(integrand, 0, np.inf, limit=200)[0] / np.pi


def test_landau_draws_follow_the_standard_landau_density():
    x = dc._landau(np.random.default_rng(7), 200_000)
    edges = np.linspace(-3, 8, 23)
    counts, _ = np.histogram(x, bins=edges)
    density = counts / (len(x) * np.diff(edges))
    centres = (edges[1:] + edges[:-1]) / 2
    expected = [
        np.mean([landau_density(v) for v in np.linspace(lo, hi, 5)])
        for lo, hi in itertools.pairwise(edges)
    ]
    assert_allclose(density, expected, atol=0.004)
    # the most probable value of the PDG convention
    assert landau_density(dc.LANDAU_MODE) > landau_density(dc.LANDAU_MODE + 0.02)
    assert landau_density(dc.LANDAU_MODE) > landau_density(dc.LANDAU_MODE - 0.02)
    assert centres[np.argmax(density)] < 0.5


def test_energy_loss_has_the_relativistic_rise():
    bg = np.logspace(-0.5, 5, 400)
    mpv, xi = dc._landau_mpv_xi(bg, 1.2, dc.RESPONSE)
    # minimum ionising near beta gamma ~ 3 - 4, then a rise to a plateau
    assert 2.0 < bg[np.argmin(mpv)] < 5.0
    assert_allclose(mpv[-1] / mpv[np.searchsorted(bg, 1e4)], 1.0, atol=0.01)
    plateau = mpv[-1] / mpv.min()
    assert 1.3 < plateau < 1.6
    electron, muon = dc._landau_mpv_xi(
        np.array([1.5 / dc.M_E, 1.5 / dc.M_MU]), 1.2, dc.RESPONSE
    )[0]
    assert 1.2 < electron / muon < 1.4
    assert_allclose(
        dc._landau_mpv_xi(np.array([3.0]), 2.4, dc.RESPONSE)[1],
        2 * xi[0] * (1 + 3.0**-2) / (1 + bg[0] ** -2),
        rtol=1e-12,
    )


def test_electron_hits_carry_more_charge_than_muon_hits(leptons):
    p_e, q_e = leptons["jpsi_ee"]
    p_mu, q_mu = leptons["jpsi_mumu"]
    sel_e, sel_mu = (p_e > 1.3) & (p_e < 1.7), (p_mu > 1.3) & (p_mu < 1.7)
    mean_e, mean_mu = q_e[sel_e].mean(), q_mu[sel_mu].mean()
    sigma = math.hypot(
        q_e[sel_e].std() / math.sqrt(sel_e.sum()),
        q_mu[sel_mu].std() / math.sqrt(sel_mu.sum()),
    )
    assert mean_e - mean_mu > 10 * sigma
    assert 1.1 < np.median(q_e[sel_e]) / np.median(q_mu[sel_mu]) < 1.45
    assert 400 < np.median(q_mu[sel_mu]) < 1500


# --------------------------------------------------------------------------
# Tracks
# --------------------------------------------------------------------------


def test_positive_track_turns_clockwise():
    rng = np.random.default_rng(8)
    hits, final = dc._track_hits(
        track(0.3, 0.0, 0.0), BESIII_MDC, B_FIELD, rng, dc.RESPONSE
    )
    ends = BESIII_MDC.wire_ends(hits["layer"], hits["wire"])
    y = (ends[:, 1] + ends[:, 4]) / 2
    outer = hits["layer"] >= 36
    assert np.all(y[outer] < 0)  # bent towards -y
    assert final[0, 1] < 0
    hits_neg, _ = dc._track_hits(
        track(0.3, 0.0, 0.0, charge=-1), BESIII_MDC, B_FIELD, rng, dc.RESPONSE
    )
    ends = BESIII_MDC.wire_ends(hits_neg["layer"], hits_neg["wire"])
    assert np.all((ends[:, 1] + ends[:, 4])[hits_neg["layer"] >= 36] > 0)


def test_every_layer_gives_a_hit_and_curling_tracks_stop():
    rng = np.random.default_rng(9)
    hits, _ = dc._track_hits(
        track(2.0, 0.5, 0.1), BESIII_MDC, B_FIELD, rng, dc.RESPONSE
    )
    assert set(hits["layer"].tolist()) == set(range(43))
    pt = 0.06  # 2R = 40 cm
    hits, final = dc._track_hits(
        track(pt, 0.0, 0.0), BESIII_MDC, B_FIELD, rng, dc.RESPONSE
    )
    two_r = 2 * pt / 0.299792458 * 100
    reached = np.flatnonzero(BESIII_MDC.midpoint_radius < two_r - 1.0)
    assert set(hits["layer"].tolist()) >= set(reached.tolist())
    assert np.all(BESIII_MDC.midpoint_radius[hits["layer"]] < two_r)
    assert np.hypot(final[0, 0], final[0, 1]) < two_r


def test_steep_track_leaves_through_the_end_plate():
    rng = np.random.default_rng(10)
    hits, final = dc._track_hits(
        track(1.0, 0.0, 3.0), BESIII_MDC, B_FIELD, rng, dc.RESPONSE
    )
    # z = 3 r: 40.8 cm in layer 5 (r 13.6 cm, |z| < 42), 44.3 cm in layer 6
    # (r 14.8 cm, |z| < 42.6)
    assert set(hits["layer"].tolist()) == set(range(6))
    assert 40 < final[0, 2] < 42.0


def test_hits_lie_on_the_helix(mumu):
    """Axial hits: wire distance from the true circle = drift distance."""
    resp = dc.RESPONSE
    residuals, distances = [], []
    for event in range(len(mumu.hits)):
        truth = mumu.truth[mumu.truth.event == event]
        t0 = mumu.events.t0[event]
        for k, row in enumerate(truth.itertuples(), start=1):
            mine = (mumu.track_ids[event] == k) & (mumu.hits[event, :, 5] == 0)
            if not mine.any():
                continue
            xc, yc, radius = circle(row)
            x, y = mumu.hits[event, mine, 0], mumu.hits[event, mine, 1]
            dist = np.abs(np.hypot(x - xc, y - yc) - radius)  # mm
            # time of flight to the layer
            m = dc.M_PI if k <= 2 else dc.M_MU
            p = math.sqrt(row.px**2 + row.py**2 + row.pz**2)
            r_hit = np.hypot(x, y)
            s = helix_crossings(row, r_hit)[3]
            s3 = s * p / math.hypot(row.px, row.py) / 10  # cm
            tof = s3 * math.sqrt(p**2 + m**2) / p / dc.C_CM_PER_NS
            drift = (mumu.hits[event, mine, 6] - t0 - tof) * resp.drift_velocity
            residuals.append(dist - drift * 10)
            distances.append(dist)
    res, dist = np.concatenate(residuals), np.concatenate(distances)
    assert len(res) > 2000
    # every wire within about one cell of the track
    assert np.max(dist) < 17.0
    # drift distances agree with the geometry within the 130 um resolution
    ok = dist > 0.5  # away from the wire, where negative drifts are clipped
    assert abs(np.median(res[ok])) < 0.02
    assert 0.11 < np.std(res[ok]) < 0.15
    assert np.mean(np.abs(res[ok]) < 0.65) > 0.99


def circle_fit(x, y):
    """Least-squares circle through points (x, y): centre and radius.

    Minimises the geometric distances, starting from the algebraic (Kasa)
    fit, which alone underestimates the radius of short arcs.
    """
    from scipy.optimize import least_squares

    a = np.column_stack([x, y, np.ones_like(x)])
    (cx2, cy2, c), *_ = np.linalg.lstsq(a, x**2 + y**2, rcond=None)
    start = (cx2 / 2, cy2 / 2, math.sqrt(c + cx2**2 / 4 + cy2**2 / 4))

    def residuals(v):
        return np.hypot(x - v[0], y - v[1]) - v[2]

    xc, yc, r = least_squares(residuals, start).x
    return xc, yc, abs(r)


def test_curvature_radius_grows_with_momentum(mumu):
    """Circles fitted to the axial hit positions have R = pT / (0.3 B)."""
    fitted, expected = [], []
    for event in range(len(mumu.hits)):
        truth = mumu.truth[mumu.truth.event == event]
        for k, row in enumerate(truth.itertuples(), start=1):
            mine = (mumu.track_ids[event] == k) & (mumu.hits[event, :, 5] == 0)
            if mine.sum() < 15:
                continue
            x, y = mumu.hits[event, mine, 0], mumu.hits[event, mine, 1]
            # the vertex (near the origin) constrains the fit
            x, y = np.append(x, row.xi * 10), np.append(y, row.yi * 10)
            fitted.append(circle_fit(x, y)[2])
            expected.append(circle(row)[2])
    fitted, expected = np.array(fitted), np.array(expected)
    assert len(fitted) > 60
    # curvature 1/R as expected (its error does not grow with R, unlike R's)
    assert np.corrcoef(1 / fitted, 1 / expected)[0, 1] > 0.99
    # larger momentum, larger radius: the mean fitted radius by momentum tercile
    edges = np.quantile(expected, [0, 1 / 3, 2 / 3, 1])
    tercile = np.clip(np.searchsorted(edges, expected, side="right") - 1, 0, 2)
    means = [np.median(fitted[tercile == t]) for t in range(3)]
    assert means[0] < means[1] < means[2]
    low = expected < 2000  # radius < 2 m: the sagitta exceeds a few cells
    assert_allclose(np.median(fitted[low] / expected[low]), 1.0, atol=0.02)


def test_stereo_midpoints_move_away_from_the_track_with_z(mumu):
    """X = (XE + XW) / 2 of a stereo hit is off the track by |E - W| |z| / 2L."""
    offsets, predicted, axial = [], [], []
    for event in range(len(mumu.hits)):
        truth = mumu.truth[mumu.truth.event == event]
        for k, row in enumerate(truth.itertuples(), start=1):
            if math.hypot(row.px, row.py) < 0.13:
                # 2R < 87 cm: the track turns inside the chamber and runs along
                # a layer near its turning point, through cells far from where
                # it first crossed the layer's radius
                continue
            mine = mumu.track_ids[event] == k
            x, y, _, layer, wire, stereo, _ = mumu.hits[event, mine].T
            li = layer.astype(int)
            # where the track crosses the layer: the hyperboloid of its wires
            mid = BESIII_MDC.midpoint_radius[li] * 10
            r_end = np.asarray(BESIII_MDC.radius)[li] * 10
            half = np.asarray(BESIII_MDC.half_length)[li] * 10
            r = mid
            for _ in range(3):
                cx, cy, cz, _ = helix_crossings(row, r)
                r = np.sqrt(mid**2 + (r_end**2 - mid**2) * (cz / half) ** 2)
            off = np.hypot(x - cx, y - cy)
            stereo = stereo == 1
            e = BESIII_MDC.wire_ends(
                layer[stereo].astype(int), wire[stereo].astype(int)
            )
            span = np.hypot(e[:, 0] - e[:, 3], e[:, 1] - e[:, 4]) * 10
            offsets.append(off[stereo])
            predicted.append(span * np.abs(cz[stereo]) / (2 * e[:, 2] * 10))
            axial.append(off[~stereo])
    offsets, predicted = np.concatenate(offsets), np.concatenate(predicted)
    axial = np.concatenate(axial)
    cell = 16.5  # mm, the widest cell
    # within a cell and a half of the wire's displacement between z = 0 and z
    assert np.all(np.abs(offsets - predicted) < 1.5 * cell)
    assert np.corrcoef(offsets, predicted)[0, 1] > 0.9
    far = predicted > 3 * cell
    assert far.sum() > 50
    assert np.all(offsets[far] > 1.5 * cell)  # stereo hits far from the track
    assert np.max(axial) < 1.5 * cell  # axial hits are not


# --------------------------------------------------------------------------
# The whole simulation
# --------------------------------------------------------------------------


def test_output_layout(mumu):
    ev = mumu
    assert ev.hits.dtype == np.float32
    assert ev.hits.shape[2] == 7
    assert list(ev.truth.particle[:4]) == ["pi+", "pi-", "mu+", "mu-"]
    assert_array_equal(ev.events.event_number, np.arange(60))
    assert np.all((ev.events.t0 >= 400) & (ev.events.t0 <= 800))
    n_hits = (ev.track_ids >= 0).sum(axis=1)
    assert_array_equal(ev.events.n_hits, n_hits)
    assert set(np.unique(ev.track_ids).tolist()) <= {-1, 1, 2, 3, 4}
    # one hit per wire and event, ordered by layer and wire
    real = ev.track_ids >= 0
    for e in range(len(ev.hits)):
        lw = ev.hits[e, real[e], 3:5].astype(int)
        key = lw[:, 0] * 1000 + lw[:, 1]
        assert np.all(np.diff(key) > 0)
    charge = ev.hits[..., 2][real]
    assert charge.min() >= dc.RESPONSE.adc_threshold
    assert charge.max() <= dc.RESPONSE.adc_max
    rt = ev.hits[..., 6][real]
    assert_allclose(rt * 32, np.rint(rt * 32))  # TDC bins of 1/32 ns
    # final points: on the last layer crossed, inside the chamber
    rf = np.hypot(ev.truth.xf, ev.truth.yf)
    assert np.all(rf < 77.0)
    assert np.all(np.abs(ev.truth.zf) <= 115.3)


@pytest.mark.parametrize("occupancy", [0.1, 0.3])
def test_noise_occupancy_as_configured(occupancy):
    ev = make_drift_chamber_events(
        "pipimumu", 300, random_state=11, noise_occupancy=occupancy, progress=False
    )
    real = ev.track_ids >= 0
    noise = ev.track_ids == 0
    n_total, n_noise = real.sum(), noise.sum()
    # Poisson noise counts: the fraction's spread is about sqrt(n_noise) / n
    assert abs(n_noise / n_total - occupancy) < 4 * math.sqrt(n_noise) / n_total
    # noise charge is lower than the tracks'
    q = ev.hits[..., 2]
    assert np.median(q[noise]) < 0.5 * np.median(q[ev.track_ids > 0])
    # noise hits sit among the others, ordered by layer and wire
    for e in range(len(ev.hits)):
        lw = ev.hits[e, real[e], 3:5].astype(int)
        assert np.all(np.diff(lw[:, 0] * 1000 + lw[:, 1]) > 0)
    clean = make_drift_chamber_events("pipimumu", 300, random_state=11, progress=False)
    assert not np.any(clean.track_ids == 0)


def test_reproducible_with_random_state():
    a = make_drift_chamber_events(
        "jpsi_ee", 20, random_state=5, progress=False, noise_occupancy=0.1
    )
    b = make_drift_chamber_events(
        "jpsi_ee", 20, random_state=5, progress=False, noise_occupancy=0.1
    )
    c = make_drift_chamber_events(
        "jpsi_ee", 20, random_state=6, progress=False, noise_occupancy=0.1
    )
    assert_array_equal(a.hits, b.hits)
    assert_array_equal(a.track_ids, b.track_ids)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not np.array_equal(a.truth.px, c.truth.px)


def test_writes_the_text_dump_and_the_csvs(tmp_path):
    ev = make_drift_chamber_events(
        "jpsi_mumu",
        4,
        random_state=3,
        path=tmp_path,
        progress=False,
        noise_occupancy=0.2,
    )
    assert (tmp_path / "jpsi_mumu.dat").is_file()
    assert len(list((tmp_path / "jpsi_mumu_csv").glob("*.csv"))) >= 4
    back = load_hits_text(tmp_path / "jpsi_mumu.dat")
    assert_array_equal(back.hits, ev.hits)
    assert_array_equal(back.track_ids, ev.track_ids)


def test_a_custom_geometry_and_field():
    """Five axial layers of 100 wires at 10 - 50 cm; 0.5 T bends half as much."""
    toy = MDCGeometry(
        (100,) * 5, (10.0, 20.0, 30.0, 40.0, 50.0), (200.0,) * 5, (0.0,) * 5, (0.0,) * 5
    )
    ev = make_drift_chamber_events(
        "jpsi_mumu", 30, random_state=0, geometry=toy, field=0.5, progress=False
    )
    real = ev.track_ids >= 0
    assert set(np.unique(ev.hits[..., 3][real]).tolist()) == {0, 1, 2, 3, 4}
    assert not ev.hits[..., 5][real].any()
    assert_allclose(
        np.hypot(ev.hits[..., 0], ev.hits[..., 1])[real] % 100, 0, atol=1e-4
    )
    # axial hits on the circle of radius pT / (0.3 B), B = 0.5 T
    for event in range(30):
        for k, row in enumerate(ev.truth[ev.truth.event == event].itertuples(), 1):
            mine = ev.track_ids[event] == k
            xc, yc, radius = circle(row, field=0.5)
            assert_allclose(radius, 2 * circle(row)[2])
            x, y = ev.hits[event, mine, 0], ev.hits[event, mine, 1]
            dist = np.abs(np.hypot(x - xc, y - yc) - radius)
            assert np.all(dist < 2 * np.pi * 500 / 100), (event, k)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown process 'jpsi_tautau'"):
        make_drift_chamber_events("jpsi_tautau", 5)
    with pytest.raises(InvalidParameterError, match="noise_occupancy"):
        make_drift_chamber_events("jpsi_ee", 5, noise_occupancy=1.0)
    with pytest.raises(InvalidParameterError, match="n_events"):
        make_drift_chamber_events("jpsi_ee", 0)


@pytest.mark.slow
def test_identical_for_any_n_jobs(monkeypatch):
    monkeypatch.setattr(dc, "CHUNK_EVENTS", 25)  # four tasks
    kwargs = {"random_state": 4, "noise_occupancy": 0.1, "progress": False}
    one = make_drift_chamber_events("pipimumu", 100, n_jobs=1, **kwargs)
    two = make_drift_chamber_events("pipimumu", 100, n_jobs=2, **kwargs)
    assert_array_equal(one.hits, two.hits)
    assert_array_equal(one.track_ids, two.track_ids)
    pd.testing.assert_frame_equal(one.truth, two.truth)
    pd.testing.assert_frame_equal(one.events, two.events)


def test_bundled_sample_is_the_simulators_output():
    from hepclf.datasets import load_hits_sample
    from hepclf.datasets._drift_chamber import (
        HITS_SAMPLE_EVENTS,
        HITS_SAMPLE_NOISE,
        HITS_SAMPLE_SEED,
    )

    hits, y = load_hits_sample()
    assert hits.dtype == np.float32
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [HITS_SAMPLE_EVENTS] * 3
    order = np.random.default_rng(HITS_SAMPLE_SEED).permutation(len(y))
    for k, process in enumerate(("jpsi_ee", "jpsi_mumu", "pipimumu")):
        expected = make_drift_chamber_events(
            process,
            HITS_SAMPLE_EVENTS,
            random_state=HITS_SAMPLE_SEED + k,
            noise_occupancy=HITS_SAMPLE_NOISE,
            progress=False,
        ).hits
        mine = hits[np.argsort(order)][y[np.argsort(order)] == k]
        assert_array_equal(mine[:, : expected.shape[1]], expected)
        assert not mine[:, expected.shape[1] :].any()
