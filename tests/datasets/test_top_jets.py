from __future__ import annotations

import math
import sys
import types

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from hepclf.datasets import load_top_tagging, make_top_tagging
from hepclf.datasets._top_jets import (
    QCD_PROCESS,
    TOP_PROCESS,
    _assign_ttv,
    _process_settings,
    _split_counts,
)
from hepclf.datasets._top_truth import _match_tops, _top_decays
from hepclf.kinematics import delta_r
from hepclf.utils import _optional
from hepclf.utils._optional import import_fastjet

from ._helpers import kinematics


def _param(name):
    """The start of scikit-learn's message for an invalid parameter."""
    return f"The '{name}' parameter of make_top_tagging must be"


# --------------------------------------------------------------------------
# Delta R and truth matching (pure numpy)
# --------------------------------------------------------------------------


def test_delta_r_wraps_phi():
    assert_allclose(delta_r(0.0, math.pi - 0.1, 0.0, -math.pi + 0.1), 0.2)
    assert_allclose(delta_r(1.0, 0.0, -2.0, 4 * math.pi), 3.0)
    assert_allclose(delta_r(0.0, 0.0, 0.3, 0.4), 0.5)


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


def test_process_settings():
    top = _process_settings(1, (500.0, 700.0))
    assert top[:2] == ["PhaseSpace:pTHatMin = 500", "PhaseSpace:pTHatMax = 700"]
    assert top[2:] == list(TOP_PROCESS)
    qcd = _process_settings(0, (512.5, 1e4))
    assert qcd == [
        "PhaseSpace:pTHatMin = 512.5",
        "PhaseSpace:pTHatMax = 10000",
        *QCD_PROCESS,
    ]


def test_import_fastjet_silences_the_banner_once(monkeypatch):
    calls = []
    sequence = types.SimpleNamespace(set_fastjet_banner_stream=calls.append)
    fake = types.ModuleType("fastjet")
    fake._swig = types.SimpleNamespace(ClusterSequence=sequence)
    monkeypatch.setitem(sys.modules, "fastjet", fake)
    monkeypatch.setattr(_optional, "_fastjet_banner_silenced", False)
    assert import_fastjet() is fake
    assert import_fastjet() is fake
    assert calls == [None]


def test_import_fastjet_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastjet", None)
    with pytest.raises(ImportError, match=r"hepclf\[generate\]"):
        import_fastjet()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_jets": 0}, InvalidParameterError, _param("n_jets")),
        ({"n_jets": 2.5}, InvalidParameterError, _param("n_jets")),
        ({"signal_fraction": 1.5}, InvalidParameterError, _param("signal_fraction")),
        ({"detector": "delphes"}, InvalidParameterError, _param("detector")),
        (
            {"detector": {"cell_size": -0.1}},
            ValueError,
            "'cell_size' parameter of SimpleDetector must be",
        ),
        ({"pt_range": (650, 550)}, InvalidParameterError, _param("pt_range")),
        ({"pt_range": 600}, InvalidParameterError, _param("pt_range")),
        ({"pt_range": (0, 600)}, InvalidParameterError, _param("pt_range")),
        ({"eta_max": 0}, InvalidParameterError, _param("eta_max")),
        ({"eta_max": np.inf}, InvalidParameterError, _param("eta_max")),
        ({"jet_radius": "0.8"}, TypeError, _param("jet_radius")),
        ({"n_constituents": 0}, InvalidParameterError, _param("n_constituents")),
        ({"n_jobs": 0}, InvalidParameterError, _param("n_jobs")),
        ({"n_jobs": 1.5}, InvalidParameterError, _param("n_jobs")),
        ({"random_state": -1}, InvalidParameterError, _param("random_state")),
        ({"random_state": "seed"}, InvalidParameterError, _param("random_state")),
        ({"progress": "yes"}, InvalidParameterError, _param("progress")),
        ({"sqrt_s": 900.0}, ValueError, "sqrt_s=900 GeV is too low"),
        ({"pthat_range": (700, 500)}, InvalidParameterError, _param("pthat_range")),
        ({"pthat_range": (-1, 500)}, InvalidParameterError, _param("pthat_range")),
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
    pt, eta, _, m = kinematics(X.astype(np.float64).sum(axis=1))
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
    pt, eta, _, m = kinematics(c)
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
    pt, _, _, m = kinematics(truth[top])
    assert_allclose(m, 172.5, atol=10)
    assert (pt > 450).all()
    assert (truth[~top] == 0).all()
    # the truth top lies inside its jet
    _jet_pt, jet_eta, jet_phi, _ = kinematics(X.astype(np.float64).sum(axis=1))
    _, t_eta, t_phi, _ = kinematics(truth)
    assert (delta_r(jet_eta[top], jet_phi[top], t_eta[top], t_phi[top]) < 0.8).all()


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
