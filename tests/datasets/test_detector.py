from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from hepclf.datasets import SimpleDetector
from hepclf.datasets._detector import _resolve_detector
from hepclf.kinematics import delta_r

from .._kinematics import p4
from ._helpers import kinematics

IDEAL = {
    "track_resolution": (0, 0),
    "ecal_resolution": (0, 0),
    "hcal_resolution": (0, 0),
    "ecal_energy_min": 0,
    "hcal_energy_min": 0,
}


def test_photon_lands_at_cell_centre():
    det = SimpleDetector(**IDEAL)
    out = det.simulate(p4(20.0, 0.23, 1.0)[None], pid=[22], charge=[0], random_state=0)
    assert out.shape == (1, 4)
    _pt, eta, phi, m = kinematics(out)
    d_phi = 2 * math.pi / 63
    assert_allclose(eta, -3.0 + 32.5 * 0.1, atol=1e-12)  # cell 32 of 60 in eta
    assert_allclose(phi, -math.pi + (math.floor((1.0 + math.pi) / d_phi) + 0.5) * d_phi)
    assert_allclose(m, 0.0, atol=1e-6)
    assert_allclose(out[0, 0], p4(20.0, 0.23, 1.0)[0])  # energy kept


def test_cell_index_and_centre_round_trip():
    det = SimpleDetector()
    rng = np.random.default_rng(0)
    eta = rng.uniform(-2.999, 2.999, 1000)
    phi = rng.uniform(-math.pi, math.pi, 1000)
    c_eta, c_phi = det.cell_center(det.cell_index(eta, phi))
    assert (np.abs(c_eta - eta) <= 0.05 + 1e-12).all()
    assert (delta_r(0, c_phi, 0, phi) <= math.pi / 63 + 1e-12).all()
    assert det.n_eta_cells == 60
    assert det.n_phi_cells == 63


def test_cells_conserve_energy_before_smearing():
    rng = np.random.default_rng(1)
    n = 300
    p = p4(rng.exponential(5.0, n), rng.uniform(-2.9, 2.9, n), rng.uniform(-3, 3, n))
    pid = rng.choice([22, 130, 2112, -2112, 11], n)  # photons, K0L, neutrons, electrons
    charge = np.where(np.abs(pid) == 11, -1.0, 0.0)
    out = SimpleDetector(**IDEAL, track_pt_min=1e9).simulate(p, pid, charge, 0)
    assert len(out) < n  # several particles share a cell
    assert_allclose(out[:, 0].sum(), p[:, 0].sum(), rtol=1e-12)
    # every output is a massless tower
    assert_allclose(kinematics(out)[3], 0.0, atol=1e-5)


def test_ecal_and_hcal_of_one_cell_make_one_tower():
    p = np.vstack([p4(10.0, 0.51, 0.01), p4(5.0, 0.52, 0.02, mass=0.94)])
    out = SimpleDetector(**IDEAL).simulate(p, [22, 2112], [0, 0], 0)
    assert out.shape == (1, 4)
    assert_allclose(out[0, 0], p[:, 0].sum())


def test_tracks_pass_threshold():
    det = SimpleDetector(**IDEAL, track_pt_min=1.0)
    p = np.vstack(
        [
            p4(2.0, 0.5, 0.3, mass=0.1396),  # pi+ above threshold: track
            p4(0.8, -0.52, 2.0, mass=0.1396),  # pi- below: HCAL
            p4(5.0, 2.73, -1.0, mass=0.1396),  # pi+ outside the tracker: HCAL
            p4(30.0, 1.0, 1.0, mass=0.1057),  # mu-: track
            p4(0.5, 1.0, -2.0, mass=0.1057),  # mu- below threshold: lost
            p4(50.0, 0.0, 0.0),  # neutrino: lost
            p4(0.7, 1.46, -2.5, mass=0.000511),  # e- below threshold: ECAL
            p4(10.0, 3.5, 0.0),  # photon beyond the calorimeter: lost
        ]
    )
    pid = [211, -211, 211, 13, 13, 12, 11, 22]
    charge = [1, -1, 1, -1, -1, 0, -1, 0]
    out = det.simulate(p, pid, charge, random_state=0)
    assert_allclose(out[:2], p[[0, 3]], rtol=1e-12)  # tracks first, unchanged
    towers = out[2:]
    _, eta, _, m = kinematics(towers)
    assert len(towers) == 3
    assert_allclose(m, 0.0, atol=1e-6)
    assert_allclose(np.sort(towers[:, 0]), np.sort(p[[1, 2, 6], 0]))
    assert_allclose(np.sort(eta), np.sort([-0.55, 2.75, 1.45]), atol=1e-9)


def test_smearing_is_reproducible_and_seeded():
    rng = np.random.default_rng(2)
    n = 200
    p = p4(rng.exponential(8.0, n), rng.uniform(-2.4, 2.4, n), rng.uniform(-3, 3, n))
    pid = rng.choice([22, 211, -211, 2112], n)
    charge = np.sign(pid) * (np.abs(pid) == 211)
    det = SimpleDetector()
    a = det.simulate(p, pid, charge, random_state=7)
    b = det.simulate(p, pid, charge, random_state=7)
    c = det.simulate(p, pid, charge, random_state=8)
    assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    # a Generator is advanced, so consecutive calls differ
    gen = np.random.default_rng(7)
    first = det.simulate(p, pid, charge, random_state=gen)
    assert_array_equal(first, a)
    second = det.simulate(p, pid, charge, random_state=gen)
    assert first.shape != second.shape or not np.array_equal(first, second)


def test_resolutions_have_the_documented_size():
    gen = np.random.default_rng(3)
    det = SimpleDetector()
    photon = p4(100.0, 0.0, 0.0)[None]
    e = np.array([det.simulate(photon, [22], [0], gen)[0, 0] for _ in range(3000)])
    # 10 %/sqrt(100) (+) 1 % = 1.414 % of 100 GeV
    assert_allclose(e.mean(), 100.0, atol=0.15)
    assert_allclose(e.std(), 100 * math.hypot(0.1 / 10, 0.01), rtol=0.06)
    pion = p4(100.0, 0.0, 0.0, mass=0.1396)[None]
    pt = np.array(
        [kinematics(det.simulate(pion, [211], [1], gen))[0][0] for _ in range(3000)]
    )
    # 1 % (+) 0.05 % x 100
    assert_allclose(pt.std(), 100 * math.hypot(0.01, 0.05), rtol=0.06)


def test_cell_thresholds():
    det = SimpleDetector(ecal_resolution=(0, 0), hcal_resolution=(0, 0))
    p = np.vstack(
        [
            p4(0.4, 0.0, 0.0),  # E = pT at eta = 0; separate phi cells
            p4(0.6, 0.0, 1.0),
            p4(0.9, 0.0, -1.0),
            p4(1.1, 0.0, 2.0),
        ]
    )
    out = det.simulate(p, [22, 22, 130, 130], [0, 0, 0, 0])
    assert_allclose(np.sort(out[:, 0]), np.sort(p[[1, 3], 0]))


def test_empty_and_invisible_input():
    det = SimpleDetector()
    assert det.simulate(np.zeros((0, 4)), [], [], 0).shape == (0, 4)
    assert det.simulate(p4(50.0, 0.0, 0.0)[None], [14], [0], 0).shape == (0, 4)
    # no transverse momentum (at rest, or along the beam): not detected
    beam = np.array([[0.135, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 100.0]])
    assert det.simulate(beam, [111, 22], [0, 0], 0).shape == (0, 4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cell_size": -0.1}, "'cell_size' parameter of SimpleDetector must be"),
        ({"track_resolution": (0.1,)}, "'track_resolution' parameter .* pair"),
        ({"hcal_resolution": (0.5, -0.1)}, "'hcal_resolution' parameter .* finite"),
        ({"ecal_energy_min": -1}, r"'ecal_energy_min' parameter .* \[0.0, inf\)"),
        ({"track_pt_min": np.nan}, "'track_pt_min' parameter"),
        ({"cell_size": "0.1"}, "'cell_size' parameter"),
        ({"cell_size": 7.0}, "larger than the calorimeter"),
    ],
)
def test_detector_parameters_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimpleDetector(**kwargs)


def test_detector_parameter_errors_are_sklearns():
    with pytest.raises(InvalidParameterError):
        SimpleDetector(track_resolution=(0.1, np.inf))
    with pytest.raises(TypeError):  # InvalidParameterError is both
        SimpleDetector(cell_size=None)


def test_resolutions_are_stored_as_float_tuples():
    det = SimpleDetector(track_resolution=[0, 1], ecal_resolution=(np.float32(0.5), 0))
    assert det.track_resolution == (0.0, 1.0)
    assert det.ecal_resolution == (0.5, 0.0)
    for name in ("track_resolution", "ecal_resolution", "hcal_resolution"):
        value = getattr(det, name)
        assert type(value) is tuple
        assert all(type(v) is float for v in value)
    assert det == SimpleDetector(track_resolution=(0.0, 1.0), ecal_resolution=(0.5, 0))
    hash(det)  # still a frozen, hashable dataclass


def test_simulate_validates_input():
    det = SimpleDetector()
    with pytest.raises(ValueError, match=r"shape \(n_particles, 4\)"):
        det.simulate(np.zeros((3, 3)), [22] * 3, [0] * 3)
    with pytest.raises(ValueError, match="one entry per particle"):
        det.simulate(np.ones((3, 4)), [22] * 2, [0] * 3)
    with pytest.raises(ValueError, match="NaN"):
        det.simulate(np.full((1, 4), np.nan), [22], [0])


def test_resolve_detector():
    assert _resolve_detector("particle") is None
    assert _resolve_detector("simple") == SimpleDetector()
    det = SimpleDetector(track_pt_min=2.0)
    assert _resolve_detector(det) is det
    assert _resolve_detector({"track_pt_min": 2.0}) == det
    with pytest.raises(
        ValueError, match=r"unknown SimpleDetector parameter\(s\) \['pt_min'\]"
    ):
        _resolve_detector({"pt_min": 2.0})
    with pytest.raises(ValueError, match="detector must be"):
        _resolve_detector("delphes")


def test_resolve_detector_names_simple_detectors_parameter():
    with pytest.raises(ValueError, match=r"detector=\{'cell_size': -0.1\}") as info:
        _resolve_detector({"cell_size": -0.1})
    assert not isinstance(info.value, InvalidParameterError)
    assert isinstance(info.value.__cause__, InvalidParameterError)
    assert "'cell_size' parameter of SimpleDetector" in str(info.value)
