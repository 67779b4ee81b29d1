from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf.datasets import (
    SimpleDetector,
    load_top_tagging,
    make_top_tagging,
)
from hepclf.datasets._generate import (
    _assign_ttv,
    _delta_r,
    _match_tops,
    _resolve_detector,
    _seed_sequence,
    _split_counts,
    _top_decays,
)

from .._kinematics import p4

IDEAL = {
    "track_resolution": (0, 0),
    "ecal_resolution": (0, 0),
    "hcal_resolution": (0, 0),
    "ecal_energy_min": 0,
    "hcal_energy_min": 0,
}


def _kinematics(momenta):
    momenta = np.asarray(momenta, dtype=np.float64)
    pt = np.hypot(momenta[..., 1], momenta[..., 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(momenta[..., 3] / pt)
    phi = np.arctan2(momenta[..., 2], momenta[..., 1])
    m = np.sqrt(
        np.maximum(momenta[..., 0] ** 2 - np.sum(momenta[..., 1:] ** 2, axis=-1), 0)
    )
    return pt, eta, phi, m


# --------------------------------------------------------------------------
# Delta R and truth matching (pure numpy)
# --------------------------------------------------------------------------


def test_delta_r_wraps_phi():
    assert_allclose(_delta_r(0.0, math.pi - 0.1, 0.0, -math.pi + 0.1), 0.2)
    assert_allclose(_delta_r(1.0, 0.0, -2.0, 4 * math.pi), 3.0)
    assert_allclose(_delta_r(0.0, 0.0, 0.3, 0.4), 0.5)


def test_match_requires_all_partons_inside():
    jet_eta, jet_phi = [0.0, 1.5], [0.0, 0.0]
    # one top: the top, b, q, q' all within 0.8 of jet 0
    eta = [[0.1, 0.3, -0.4, 0.2]]
    phi = [[0.1, -0.2, 0.5, 0.0]]
    assert_array_equal(_match_tops(jet_eta, jet_phi, eta, phi, 0.8), [0, -1])
    # move one quark to Delta R = 0.85 of jet 0
    eta_out = [[0.1, 0.3, -0.4, 0.85]]
    assert_array_equal(_match_tops(jet_eta, jet_phi, eta_out, phi, 0.8), [-1, -1])
    # a larger radius accepts it
    assert_array_equal(_match_tops(jet_eta, jet_phi, eta_out, phi, 0.9), [0, -1])


def test_match_across_phi_boundary():
    jet_phi = [math.pi - 0.05]
    phi = [[-math.pi + 0.05, math.pi - 0.3, -math.pi + 0.4, math.pi - 0.1]]
    eta = [[0.0, 0.1, -0.1, 0.2]]
    assert_array_equal(_match_tops([0.0], jet_phi, eta, phi, 0.8), [0])


def test_match_picks_closest_top_and_handles_two_jets():
    jet_eta, jet_phi = [0.0, 0.0], [0.0, math.pi]
    eta = [[0.3, 0.2, 0.1, 0.0], [0.1, 0.2, 0.0, 0.1], [0.0, 0.1, 0.2, -0.2]]
    phi = [[0.0, 0.1, 0.0, 0.0], [0.0, 0.0, 0.1, 0.0], [math.pi, 3.0, -3.0, 3.1]]
    assert_array_equal(_match_tops(jet_eta, jet_phi, eta, phi, 0.8), [1, 2])


def test_match_empty_inputs():
    assert_array_equal(
        _match_tops([0.0], [0.0], np.zeros((0, 4)), np.zeros((0, 4)), 0.8), [-1]
    )
    assert _match_tops([], [], [[0.0]], [[0.0]], 0.8).shape == (0,)
    with pytest.raises(ValueError, match="same shape"):
        _match_tops([0.0], [0.0], [0.0, 1.0], [0.0, 1.0], 0.8)


def _record():
    """A hand-made Pythia-style record: t -> W+ b (W+ -> u dbar), tbar -> W- bbar (W- -> e nu)."""
    rows = [
        # index: (id, daughter1, daughter2)
        (90, 0, 0),  # 0 system
        (2212, 0, 0),  # 1
        (2212, 0, 0),  # 2
        (21, 5, 6),  # 3 incoming gluon, daughters 5..6
        (21, 5, 6),  # 4
        (6, 7, 7),  # 5 top, one daughter: its recoil copy 7
        (-6, 8, 0),  # 6 antitop, one daughter: copy 8
        (6, 9, 10),  # 7 last top copy -> W+ (9) b (10)
        (-6, 12, 11),  # 8 last antitop copy -> bbar (12), W- (11): d2 < d1
        (24, 13, 13),  # 9 W+, recoil copy 13
        (5, 0, 0),  # 10 b
        (-24, 15, 16),  # 11 W- -> e- nu_e~ (leptonic: no match)
        (-5, 0, 0),  # 12 bbar
        (24, 17, 18),  # 13 last W+ copy -> u dbar
        (21, 0, 0),  # 14
        (11, 0, 0),  # 15
        (-12, 0, 0),  # 16
        (2, 0, 0),  # 17
        (-1, 0, 0),  # 18
    ]
    return (np.array(c) for c in zip(*rows, strict=True))


def test_top_decays_follow_copies_and_skip_leptonic_w():
    ids, d1, d2 = _record()
    assert_array_equal(_top_decays(ids, d1, d2), [[7, 10, 17, 18]])


def test_top_decays_two_hadronic_tops():
    ids, d1, d2 = _record()
    ids[15], ids[16] = 3, -4  # W- -> s cbar
    assert_array_equal(_top_decays(ids, d1, d2), [[7, 10, 17, 18], [8, 12, 15, 16]])


def test_top_decays_without_tops():
    ids = np.array([90, 2212, 2212, 21, 21])
    zeros = np.zeros(5, dtype=int)
    assert _top_decays(ids, zeros, zeros).shape == (0, 4)


# --------------------------------------------------------------------------
# SimpleDetector (numpy only)
# --------------------------------------------------------------------------


def test_photon_lands_at_cell_centre():
    det = SimpleDetector(**IDEAL)
    out = det.simulate(p4(20.0, 0.23, 1.0)[None], pid=[22], charge=[0], random_state=0)
    assert out.shape == (1, 4)
    _pt, eta, phi, m = _kinematics(out)
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
    assert (_delta_r(0, c_phi, 0, phi) <= math.pi / 63 + 1e-12).all()
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
    assert_allclose(_kinematics(out)[3], 0.0, atol=1e-5)


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
    _, eta, _, m = _kinematics(towers)
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
        [_kinematics(det.simulate(pion, [211], [1], gen))[0][0] for _ in range(3000)]
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
        ({"cell_size": -0.1}, "cell_size must be a number > 0"),
        ({"track_resolution": (0.1,)}, "track_resolution must be a pair"),
        ({"hcal_resolution": (0.5, -0.1)}, "hcal_resolution must hold two finite"),
        ({"ecal_energy_min": -1}, "ecal_energy_min must be a number >= 0"),
        ({"cell_size": 7.0}, "larger than the calorimeter"),
    ],
)
def test_detector_parameters_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimpleDetector(**kwargs)


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


# --------------------------------------------------------------------------
# make_top_tagging: helpers and argument checks (no generation)
# --------------------------------------------------------------------------


def test_split_counts():
    assert _split_counts(0) == []
    assert _split_counts(10) == [10]
    assert _split_counts(2500) == [250] * 10
    assert sum(_split_counts(601)) == 601
    assert max(_split_counts(601)) <= 250


def test_assign_ttv_is_stratified():
    y = (
        np.random.default_rng(0)
        .permutation(np.r_[np.zeros(100), np.ones(50)])
        .astype(int)
    )
    ttv = _assign_ttv(y)
    for label, n in ((0, 100), (1, 50)):
        counts = np.bincount(ttv[y == label], minlength=3)
        assert_array_equal(counts, [0.6 * n, 0.2 * n, 0.2 * n])


def test_seed_sequence():
    assert _seed_sequence(3).entropy == 3
    gen = np.random.default_rng(0)
    assert isinstance(_seed_sequence(gen), np.random.SeedSequence)
    assert isinstance(_seed_sequence(None), np.random.SeedSequence)
    with pytest.raises(TypeError, match="random_state"):
        _seed_sequence(True)
    with pytest.raises(TypeError, match="random_state"):
        _seed_sequence("seed")
    with pytest.raises(ValueError, match="random_state must be >= 0"):
        _seed_sequence(-1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_jets": 0}, ValueError, "n_jets must be a positive integer"),
        ({"signal_fraction": 1.5}, ValueError, r"signal_fraction must be in \[0, 1\]"),
        ({"detector": "delphes"}, ValueError, "detector must be"),
        ({"pt_range": (650, 550)}, ValueError, "pt_range must satisfy"),
        ({"pt_range": 600}, ValueError, "pt_range must be a pair"),
        ({"eta_max": 0}, ValueError, "eta_max must be a finite number > 0"),
        ({"jet_radius": "0.8"}, TypeError, "jet_radius must be a number"),
        ({"n_constituents": 0}, ValueError, "n_constituents must be a positive"),
        ({"n_jobs": 0}, ValueError, "n_jobs=0 is not valid"),
        ({"sqrt_s": 900.0}, ValueError, "sqrt_s=900 GeV is too low"),
        ({"pthat_range": (700, 500)}, ValueError, "pthat_range must satisfy"),
    ],
)
def test_make_top_tagging_validates_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_top_tagging(**{"n_jets": 10, "progress": False, **kwargs})


def test_missing_generator_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    with pytest.raises(ImportError, match=r"hepclf\[generate\]"):
        make_top_tagging(10, progress=False)


# --------------------------------------------------------------------------
# Generation with Pythia 8 + FastJet (slow: run with -m slow)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def particle_jets():
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    return make_top_tagging(20, detector="particle", random_state=1, progress=False)


@pytest.fixture(scope="module")
def detector_jets():
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    return make_top_tagging(20, detector="simple", random_state=1, progress=False)


def _check_jets(X, y, *, pt_tol):
    assert X.shape == (20, 200, 4)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    assert y.sum() == 10
    n = (X[..., 0] > 0).sum(axis=1)
    assert n.max() < 200  # every constituent is kept, so they add up to the jet
    assert (X[:, :, 0][np.arange(200) >= n[:, None]] == 0).all()
    pt_c = np.hypot(X[..., 1], X[..., 2])
    assert (np.diff(pt_c, axis=1) <= 1e-4).all()  # sorted by decreasing pT
    pt, eta, _, m = _kinematics(X.astype(np.float64).sum(axis=1))
    assert (pt > 550 - pt_tol).all()
    assert (pt < 650 + pt_tol).all()
    assert (np.abs(eta) < 2.0 + 1e-4).all()
    assert 150 < m[y == 1].mean() < 200
    assert m[y == 0].mean() < m[y == 1].mean() - 30
    return n


@pytest.mark.slow
def test_particle_level_jets(particle_jets):
    X, y = particle_jets
    n = _check_jets(X, y, pt_tol=0.05)  # float32 rounding only
    assert n.min() >= 10


@pytest.mark.slow
def test_detector_level_jets(detector_jets, particle_jets):
    X, y = detector_jets
    n = _check_jets(X, y, pt_tol=0.05)
    # fewer objects than particles
    assert n.mean() < (particle_jets[0][..., 0] > 0).sum(axis=1).mean()
    c = X[X[..., 0] > 0].astype(np.float64)
    pt, eta, _, m = _kinematics(c)
    # massive objects are tracks (true pT > 1 GeV, smeared by ~1 %);
    # soft objects are towers at cell centres
    assert (pt[m > 0.05 + 1e-4 * c[:, 0]] > 0.95).all()
    cell = (eta[pt < 0.95] + 3.0) / 0.1 - 0.5
    assert_allclose(cell, np.round(cell), atol=1e-2)


@pytest.mark.slow
def test_same_seed_same_jets(particle_jets):
    X, y = make_top_tagging(20, detector="particle", random_state=1, progress=False)
    assert_array_equal(X, particle_jets[0])
    assert_array_equal(y, particle_jets[1])
    X2, _ = make_top_tagging(20, detector="particle", random_state=2, progress=False)
    assert not np.array_equal(X2, X)


@pytest.mark.slow
def test_n_jobs_does_not_change_the_jets(detector_jets):
    X, y = make_top_tagging(
        20, detector="simple", random_state=1, n_jobs=2, progress=False
    )
    assert_array_equal(X, detector_jets[0])
    assert_array_equal(y, detector_jets[1])


@pytest.mark.slow
def test_write_to_path(tmp_path):
    pytest.importorskip("pythia8mc")
    path = tmp_path / "gen.h5"
    X, y = make_top_tagging(
        12,
        detector={"track_pt_min": 2.0},
        random_state=4,
        path=path,
        n_constituents=60,
        progress=True,
    )
    X2, y2 = load_top_tagging(path, n_constituents=60)
    assert_array_equal(X2, X)
    assert_array_equal(y2, y)
    df = pd.read_hdf(path, "table")
    assert_array_equal(
        df.groupby("is_signal_new")["ttv"].apply(sorted).tolist(),
        [[0, 0, 0, 0, 1, 2]] * 2,
    )
    truth = df[["truthE", "truthPX", "truthPY", "truthPZ"]].to_numpy(np.float64)
    top = df["is_signal_new"].to_numpy() == 1
    pt, _, _, m = _kinematics(truth[top])
    assert_allclose(m, 172.5, atol=10)
    assert (pt > 450).all()
    assert (truth[~top] == 0).all()
    # the truth top lies inside its jet
    _jet_pt, jet_eta, jet_phi, _ = _kinematics(X.astype(np.float64).sum(axis=1))
    _, t_eta, t_phi, _ = _kinematics(truth)
    assert (_delta_r(jet_eta[top], jet_phi[top], t_eta[top], t_phi[top]) < 0.8).all()


@pytest.mark.slow
def test_signal_fraction_and_truncation():
    pytest.importorskip("pythia8mc")
    X, y = make_top_tagging(
        4, signal_fraction=1.0, random_state=5, n_constituents=10, progress=False
    )
    assert_array_equal(y, 1)
    assert X.shape == (4, 10, 4)
    assert (X[..., 0] > 0).all()  # boosted tops have more than 10 constituents
    _, y0 = make_top_tagging(3, signal_fraction=0.0, random_state=5, progress=False)
    assert_array_equal(y0, 0)
