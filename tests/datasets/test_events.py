from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from hepclf.datasets import load_event_sample, load_nanoaod, make_events
from hepclf.datasets._events import (
    BRANCHES,
    CHUNK_EVENTS,
    DETECTOR,
    PROCESS_LABELS,
    _btag,
    _check_processes,
    _hadron_flavour_of,
    _jet_id,
    _leptons,
    _prompt_leptons,
    _split_counts,
)
from hepclf.datasets._nanoaod import DEEPJET_MEDIUM_UL2018
from hepclf.imaging import OBJECT_TYPES

E, MU, JET, BJET, MET = (
    OBJECT_TYPES[k] for k in ("electron", "muon", "jet", "bjet", "met")
)


# --------------------------------------------------------------------------
# The bundled sample
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_event_sample(return_weights=True)


def test_sample_shapes_and_balance(sample):
    objects, y, w = sample
    assert objects.dtype == np.float32
    assert objects.ndim == 3
    assert objects.shape[2] == 4
    assert y.dtype == np.int64
    assert objects.shape[0] == len(y) == len(w) == 1200
    assert_array_equal(np.bincount(y), [400, 400, 400])
    assert_array_equal(w, 1.0)
    two = load_event_sample()
    assert len(two) == 2
    assert_array_equal(two[0], objects)


def test_sample_type_codes_and_padding(sample):
    objects = sample[0]
    types = objects[..., 0]
    assert set(np.unique(types).tolist()) <= {0, E, MU, JET, BJET, MET}
    # padding rows are all zero and only at the end
    pad = types == 0
    assert (objects[pad] == 0).all()
    assert (np.diff(pad.astype(int), axis=1) >= 0).all()
    real = ~pad
    assert (objects[real][:, 1] > 0).all()
    assert (np.abs(objects[real][:, 3]) <= np.pi).all()


def test_sample_one_lepton_one_met(sample):
    types = sample[0][..., 0]
    n_lep = ((types == E) | (types == MU)).sum(axis=1)
    assert_array_equal(n_lep, 1)
    assert_array_equal((types == MET).sum(axis=1), 1)
    leptons = sample[0][(types == E) | (types == MU)]
    assert (leptons[:, 1] >= 20).all()
    jets = sample[0][(types == JET) | (types == BJET)]
    assert (jets[:, 1] >= 30).all()
    assert (np.abs(jets[:, 2]) <= 2.4).all()


def test_sample_physics(sample):
    objects, y, _ = sample
    types = objects[..., 0]
    n_jets = ((types == JET) | (types == BJET)).sum(axis=1)
    n_b = (types == BJET).sum(axis=1)
    met = objects[..., 1][types == MET]
    dy, tt, w = (y == PROCESS_LABELS[k] for k in ("dy", "ttbar", "wjets"))
    # top pairs: four quarks, two of them b
    assert n_jets[tt].mean() > 3
    assert n_jets[tt].mean() > n_jets[w].mean() + 2
    assert n_b[tt].mean() > 0.9
    assert n_b[w].mean() < 0.15
    assert (n_b[tt] >= 1).mean() > 5 * (n_b[w] >= 1).mean()
    # W: a neutrino of ~40 GeV; DY: no neutrino, MET is resolution only
    assert np.median(met[w]) > np.median(met[dy]) + 15
    assert np.median(met[dy]) < 20
    assert np.quantile(met[w], 0.25) > np.quantile(met[dy], 0.5)


def test_sample_metadata():
    ref = resources.files("hepclf.datasets").joinpath("data", "events_sample.npz")
    assert len(ref.read_bytes()) < 1_000_000
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as data:
        meta = json.loads(str(data["metadata"]))
        assert_array_equal(data["processes"], list(PROCESS_LABELS))
    assert meta["labels"] == PROCESS_LABELS
    assert meta["versions"]["pythia8mc"]
    assert meta["pythia_settings"]["dy"][0] == "WeakSingleBoson:ffbar2gmZ = on"


def test_sample_bad_argument():
    with pytest.raises(TypeError, match="return_weights"):
        load_event_sample(return_weights="yes")


# --------------------------------------------------------------------------
# The toy detector, piece by piece (no Pythia)
# --------------------------------------------------------------------------


def test_hadron_flavour_by_pdg_id():
    ids = np.array([511, -521, 531, 5122, -5232, 541, 421, -411, 4122, 443])
    assert_array_equal(_hadron_flavour_of(ids), [5, 5, 5, 5, 5, 5, 4, 4, 4, 4])
    # light hadrons, leptons, quarks, diquarks and Pythia's internal codes
    others = np.array([211, 111, 2212, 3122, 11, 13, 5, 4, 5101, 4301, 22, 9940003])
    assert_array_equal(_hadron_flavour_of(others), 0)


def test_jet_id_hand_cases():
    # fractions: charged had, neutral had, photons, electrons, muons
    eta = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 3.5])
    n_const = np.array([10, 1, 10, 10, 10, 5])
    fractions = np.array(
        [
            [0.6, 0.1, 0.3, 0.0, 0.0],  # hadronic jet: tight + lepton veto
            [1.0, 0.0, 0.0, 0.0, 0.0],  # one constituent: not tight
            [0.05, 0.0, 0.0, 0.95, 0.0],  # an electron jet: tight, fails veto
            [0.1, 0.0, 0.0, 0.0, 0.9],  # a muon jet: tight, fails veto
            [0.0, 0.05, 0.95, 0.0, 0.0],  # photons only: not tight
            [0.0, 0.5, 0.5, 0.0, 0.0],  # forward: no charged hadron needed
        ]
    )
    n_charged = np.array([5, 1, 2, 2, 0, 0])
    assert_array_equal(_jet_id(eta, n_const, fractions, n_charged), [6, 0, 2, 2, 0, 6])


def test_btag_efficiencies_as_designed():
    rng = np.random.default_rng(0)
    n = 20_000
    flavour = np.repeat([5, 4, 0], n)
    eta = np.zeros(3 * n)
    score = _btag(flavour, eta, rng, DETECTOR)
    assert ((score >= 0) & (score <= 1)).all()
    wp = DEEPJET_MEDIUM_UL2018
    assert DETECTOR.btag_wp == wp
    eff = [(score[flavour == f] > wp).mean() for f in (5, 4, 0)]
    assert_allclose(eff, [0.75, 0.15, 0.01], atol=0.012)
    # beyond the tracker every jet is drawn as light
    far = _btag(np.full(n, 5), np.full(n, 3.0), rng, DETECTOR)
    assert (far > wp).mean() < 0.02


def test_lepton_isolation_and_selection():
    # two muons and a pion in the cone of the first (Delta R = 0.2)
    pid = np.array([13, -13, 211, 11])
    pt = np.array([40.0, 30.0, 4.0, 3.0])  # the electron is below 5 GeV
    eta = np.array([0.0, 1.5, 0.2, -1.0])
    phi = np.array([0.0, 2.0, 0.0, 1.0])
    vis_index = np.array([10, 11, 12, 13])
    det = DETECTOR.__class__(muon_efficiency=1.0, muon_resolution=(0.0, 0.0, 0.0))
    visible = (pt, eta, phi)
    rng = np.random.default_rng(0)
    values = _leptons(13, pid, pt, eta, phi, {10}, vis_index, visible, rng, det)
    assert_allclose(values["Muon_pt"], [40.0, 30.0])
    assert_allclose(values["Muon_pfRelIso04_all"], [4.0 / 40.0, 0.0])
    assert_array_equal(values["Muon_charge"], [-1, 1])
    electrons = _leptons(11, pid, pt, eta, phi, set(), vis_index, visible, rng, det)
    assert len(electrons["Electron_pt"]) == 0


def test_prompt_leptons_follow_copies():
    # 0 system, 1 W+, 2 mu+ (radiates), 3 nu, 4 mu+ copy, 5 photon, 6 pi+
    ids = np.array([90, 24, -13, 14, -13, 22, 211])
    status = np.array([-11, -22, -23, 1, 1, 1, 1])
    d1 = np.array([0, 2, 4, 0, 0, 0, 0])
    d2 = np.array([0, 3, 5, 0, 0, 0, 0])
    assert _prompt_leptons(ids, status, d1, d2) == {4}


def test_split_counts():
    assert _split_counts(1200) == [400, 400, 400]
    assert _split_counts(CHUNK_EVENTS) == [CHUNK_EVENTS]
    # ttbar: an even number of tasks, so both charge variants are equally used
    for n in (1, 2, 7, 501, 1500):
        parts = _split_counts(n, 2)
        assert sum(parts) == n
        assert max(parts) <= CHUNK_EVENTS
        if n > 1:
            assert len(parts) % 2 == 0
            assert max(parts) - min(parts) <= 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown process 'qcd'"):
        make_events("qcd", 10)
    with pytest.raises(ValueError, match="unknown process 'zz'"):
        make_events(["dy", "zz"], 10)
    with pytest.raises(ValueError, match="'dy' is given twice"):
        make_events(["dy", "dy"], 10)
    with pytest.raises(ValueError, match="at least one process"):
        _check_processes([])
    with pytest.raises(InvalidParameterError, match="'n_events' parameter"):
        make_events("dy", 0)
    with pytest.raises(InvalidParameterError, match="'random_state' parameter"):
        make_events("dy", 10, random_state=-1)


# --------------------------------------------------------------------------
# Generation with Pythia 8 + FastJet (slow)
# --------------------------------------------------------------------------


def _generate(tmp_path, process, n, **kwargs):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    pytest.importorskip("uproot")
    kwargs.setdefault("random_state", 0)
    return make_events(process, n, path=tmp_path, progress=False, **kwargs)


def _arrays(path):
    import uproot

    with uproot.open(path) as f:
        return f["Events"].arrays(library="np")


@pytest.mark.slow
def test_round_trip_through_load_nanoaod(tmp_path):
    paths = _generate(tmp_path, ["wjets", "ttbar"], 60)
    assert [p.name for p in paths] == ["wjets.root", "ttbar.root"]
    a = _arrays(paths[0])
    assert set(BRANCHES) <= set(a)
    assert len(a["event"]) == 60
    b = _arrays(paths[1])
    events = np.concatenate([a["event"], b["event"]])
    assert len(np.unique(events)) == 120
    for path in paths:
        ev = load_nanoaod(path)
        assert 0 < len(ev.objects) < 60
        types = ev.objects[..., 0]
        assert_array_equal(((types == E) | (types == MU)).sum(axis=1), 1)
        assert set(ev.ids.columns) >= {"run", "luminosityBlock", "event"}
        # the selected events' MET equals the file's
        arrays = _arrays(path)
        met = ev.objects[..., 1][types == MET]
        assert_allclose(met, arrays["MET_pt"][ev.ids["entry"].to_numpy()])


def _flatten(values):
    """A branch read by uproot as one array (jagged ones concatenated)."""
    return np.concatenate(list(values)) if values.dtype == object else values


@pytest.mark.slow
def test_reproducible_whatever_n_jobs(tmp_path):
    one = _generate(tmp_path / "a", "ttbar", 40, random_state=7)
    two = _generate(tmp_path / "b", "ttbar", 40, random_state=7, n_jobs=2)
    other = _generate(tmp_path / "c", "ttbar", 40, random_state=8)
    a, b, c = (_arrays(p[0]) for p in (one, two, other))
    for name in BRANCHES:
        assert_array_equal(_flatten(a[name]), _flatten(b[name]), err_msg=name)
    assert not np.array_equal(a["MET_pt"], c["MET_pt"])


@pytest.mark.slow
def test_ttbar_btag_and_charges(tmp_path):
    (path,) = _generate(tmp_path, "ttbar", 120, random_state=3)
    a = _arrays(path)
    pt = np.concatenate(a["Jet_pt"])
    eta = np.concatenate(a["Jet_eta"])
    flav = np.concatenate(a["Jet_hadronFlavour"])
    score = np.concatenate(a["Jet_btagDeepFlavB"])
    central = (np.abs(eta) < 2.4) & (pt > 30)
    tagged = score > DEEPJET_MEDIUM_UL2018
    assert (central & (flav == 5)).sum() > 150  # about two b jets per event
    assert abs(tagged[central & (flav == 5)].mean() - 0.75) < 0.1
    assert tagged[central & (flav == 0)].mean() < 0.05
    # jetId 6 for nearly all jets away from the leptons
    jet_id = np.concatenate(a["Jet_jetId"])
    assert (jet_id[central] == 6).mean() > 0.8
    # the lepton comes from the W+ and from the W- equally often
    charges = np.concatenate(
        [np.concatenate(a["Electron_charge"]), np.concatenate(a["Muon_charge"])]
    )
    pts = np.concatenate(
        [np.concatenate(a["Electron_pt"]), np.concatenate(a["Muon_pt"])]
    )
    hard = charges[pts > 25]
    assert abs((hard > 0).mean() - 0.5) < 0.15


@pytest.mark.slow
def test_met_follows_the_neutrino_in_w_events(tmp_path):
    (path,) = _generate(tmp_path, "wjets", 150, random_state=5)
    a = _arrays(path)
    gen, met = a["GenMET_pt"], a["MET_pt"]
    assert (gen > 0).all()
    assert np.median(gen) > 20
    assert np.corrcoef(gen, met)[0, 1] > 0.8
    assert np.median(np.abs(met - gen)) < 15
    dphi = np.angle(np.exp(1j * (a["MET_phi"] - a["GenMET_phi"])))
    assert np.median(np.abs(dphi[gen > 30])) < 0.4
