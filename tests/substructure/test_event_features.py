"""EventFeatures: hand-computed features of crafted events, a boosted-tree baseline."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from hepclf import EventFeatures, EventImager
from hepclf.imaging import OBJECT_TYPES
from hepclf.substructure import EVENT_FEATURES, _events

E, MU, TAU, PHOTON, JET, BJET, MET = (
    OBJECT_TYPES[t] for t in ("electron", "muon", "tau", "photon", "jet", "bjet", "met")
)


def event(*rows, n_slots=None):
    """One padded event (1, n_slots, 4) from (type, pt, eta, phi) rows."""
    X = np.zeros((1, n_slots or len(rows), 4))
    X[0, : len(rows)] = rows
    return X


def features(X, **params):
    ef = EventFeatures(**params)
    return dict(zip(ef.get_feature_names_out(), ef.fit_transform(X)[0], strict=True))


def toy_events(n=600, seed=0, n_slots=10):
    """Three separable classes of one-lepton events, rows in random order.

    0 "ttbar": 4-6 jets, two of them b-tagged, MET ~ 60 GeV;
    1 "W+jets": 0-2 untagged jets, a W-like lepton + MET (mT near 70 GeV);
    2 "Drell-Yan": 0-2 untagged jets, little MET, a second lepton in half of them.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = np.zeros((n, n_slots, 4))
    for i, label in enumerate(y):
        lep_phi = rng.uniform(-np.pi, np.pi)
        rows = [(rng.choice([E, MU]), rng.uniform(25, 80), rng.normal(0, 1), lep_phi)]
        n_jets = rng.integers(4, 7) if label == 0 else rng.integers(0, 3)
        for k in range(n_jets):
            code = BJET if label == 0 and k < 2 else JET
            rows.append(
                (code, rng.uniform(30, 150), rng.normal(0, 1.2), rng.uniform(-4, 4))
            )
        if label == 1:  # MET roughly opposite the lepton: a large mT
            met = (MET, rng.uniform(30, 60), 0.0, lep_phi + np.pi + rng.normal(0, 0.4))
        else:
            met = (MET, rng.exponential(60 if label == 0 else 8) + 1, 0.0, 0.0)
            met = (*met[:3], rng.uniform(-np.pi, np.pi))
        rows.append(met)
        if label == 2 and rng.random() < 0.5:
            rows.append((rows[0][0], rng.uniform(15, 40), rng.normal(0, 1), 0.0))
        slots = rng.permutation(n_slots)[: len(rows)]
        X[i, slots] = rows
    return X, y


# -- hand-computed features ---------------------------------------------------------
def test_counts_sums_and_leading_objects():
    X = event(
        (JET, 40.0, 1.0, 0.0),
        (E, 30.0, -0.5, 1.0),
        (BJET, 80.0, -2.0, 2.0),
        (MU, 50.0, 0.3, -1.0),
        (BJET, 60.0, 0.5, -2.5),
        (TAU, 25.0, 0.0, 0.5),
        (PHOTON, 15.0, 0.0, 0.1),
        (MET, 20.0, 1e4, 0.0),  # the eta of MET is ignored
        n_slots=10,
    )
    f = features(X)
    counts = [f[k] for k in ("n_electrons", "n_muons", "n_taus", "n_photons")]
    assert counts == [1, 1, 1, 1]
    assert (f["n_jets"], f["n_bjets"]) == (3, 2)  # b-jets are jets too
    assert f["ht"] == pytest.approx(180.0)
    assert f["met"] == pytest.approx(20.0)
    assert f["st"] == pytest.approx(180.0 + 30 + 50 + 25 + 15 + 20)
    # the leading lepton is the muon, a flavour given by its type code
    assert (f["lepton_pt"], f["lepton_eta"], f["lepton_flavour"]) == (50.0, 0.3, MU)
    assert (f["jet1_pt"], f["jet1_eta"]) == (80.0, -2.0)
    assert (f["jet2_pt"], f["jet2_eta"]) == (60.0, 0.5)
    assert f["bjet1_pt"] == 80.0


def test_transverse_mass_and_dphi_across_the_wrap():
    # lepton at phi = 3, MET at phi = -3: dphi = 2 pi - 6 across +-pi
    X = event((E, 40.0, 0.0, 3.0), (MET, 30.0, 0.0, -3.0))
    f = features(X)
    dphi = 2 * np.pi - 6.0
    assert f["dphi_lepton_met"] == pytest.approx(dphi)
    assert f["mt"] == pytest.approx(np.sqrt(2 * 40 * 30 * (1 - np.cos(dphi))))
    # back to back: mT = 2 sqrt(pT_l MET)
    f = features(event((MU, 40.0, 1.0, 0.5), (MET, 40.0, 0.0, 0.5 - np.pi)))
    assert f["mt"] == pytest.approx(80.0)
    assert f["dphi_lepton_met"] == pytest.approx(np.pi)


def test_met_is_the_vector_sum_of_met_rows():
    X = event((MU, 40.0, 0.0, 0.0), (MET, 30.0, 0.0, np.pi / 2), (MET, 40.0, 0, 0.0))
    f = features(X)
    assert f["met"] == pytest.approx(50.0)
    # the sum points at atan2(30, 40) from the muon
    dphi = np.arctan2(30.0, 40.0)
    assert f["dphi_lepton_met"] == pytest.approx(dphi)
    assert f["mt"] == pytest.approx(np.sqrt(2 * 40 * 50 * (1 - np.cos(dphi))))


def test_min_delta_r_across_the_phi_wrap():
    X = event(
        (MU, 40.0, 0.2, 3.1),
        (JET, 50.0, 0.5, -3.1),  # dphi = 2 pi - 6.2 = 0.083
        (JET, 60.0, 0.2, 2.7),  # dphi = 0.4
        (JET, 70.0, 0.2, 0.0),  # far (and the leading jet)
    )
    f = features(X)
    assert f["min_dr_lepton_jet"] == pytest.approx(np.hypot(0.3, 2 * np.pi - 6.2))


def test_masses_by_hand():
    def pair_m2(a, b):  # massless objects (pt, eta, phi)
        return 2 * a[0] * b[0] * (np.cosh(a[1] - b[1]) - np.cos(a[2] - b[2]))

    # two back-to-back leptons of 45 GeV at eta = 0: m = 90
    f = features(event((E, 45.0, 0.0, 0.3), (E, 45.0, 0.0, 0.3 - np.pi)))
    assert f["dilepton_mass"] == pytest.approx(90.0)
    jets = [(100.0, 0.0, 0.0), (100.0, 0.5, 0.5), (50.0, -0.3, 1.0), (30.0, 1.0, 3.0)]
    X = event(*[(JET, *j) for j in jets[::-1]])
    f = features(X)
    # all jets: m^2 is the sum over pairs
    m2_all = sum(pair_m2(a, b) for i, a in enumerate(jets) for b in jets[i + 1 :])
    assert f["jets_mass"] == pytest.approx(np.sqrt(m2_all))
    # m3: the first three jets point the same way, the triplet of largest pT
    a, b, c, _ = jets
    m2_abc = pair_m2(a, b) + pair_m2(a, c) + pair_m2(b, c)
    assert f["m3"] == pytest.approx(np.sqrt(m2_abc))
    # with two jets there is no triplet
    assert np.isnan(features(event((JET, *a), (JET, *b)))["m3"])


def test_m3_looks_beyond_the_three_leading_jets():
    # the three leading jets spread at 120 degrees (triplet pT 0); the fourth
    # jet is soft but aligned with the leading one
    X = event(
        (JET, 100.0, 0.0, 0.0),
        (JET, 100.0, 0.0, 2 * np.pi / 3),
        (JET, 100.0, 0.0, -2 * np.pi / 3),
        (JET, 40.0, 0.0, 0.1),
    )
    f = features(X)
    m2 = 2 * 100 * 100 * (1 - np.cos(2 * np.pi / 3))
    m2 += 2 * 100 * 40 * (1 - np.cos(0.1)) + 2 * 100 * 40 * (1 - np.cos(2.0944 - 0.1))
    # the best triplet: jet 4 with jet 1 and either of the others (same pT)
    assert f["m3"] == pytest.approx(np.sqrt(m2), rel=1e-4)


def test_centrality_and_sphericity():
    f = features(event((JET, 50.0, 1.0, 0.0), (JET, 50.0, 1.0, np.pi)))
    assert f["centrality"] == pytest.approx(1 / np.cosh(1.0))
    assert f["sphericity"] == pytest.approx(0.0, abs=1e-12)  # back to back
    star = [(JET, 50.0, 0.0, k * 2 * np.pi / 3) for k in range(3)]
    assert features(event(*star))["sphericity"] == pytest.approx(1.0)
    assert features(event(*star))["centrality"] == pytest.approx(1.0)
    # MET is not a visible object
    f = features(event((JET, 50.0, 0.0, 0.0), (MET, 80.0, 0.0, 1.0)))
    assert f["sphericity"] == pytest.approx(0.0, abs=1e-12)


def test_missing_objects_take_the_missing_value():
    X = event((JET, 50.0, 0.0, 0.0), n_slots=3)
    f = features(X)
    for name in ("lepton_pt", "lepton_flavour", "mt", "min_dr_lepton_jet", "jet2_pt"):
        assert np.isnan(f[name]), name
    assert f["dphi_lepton_met"] != f["dphi_lepton_met"]
    assert (f["n_jets"], f["ht"], f["met"], f["jet1_pt"]) == (1, 50, 0, 50)
    f = features(X, missing=-1.0)
    assert (f["lepton_pt"], f["bjet1_pt"], f["m3"]) == (-1.0, -1.0, -1.0)
    # a lepton without MET rows: mT = 0 (no missing momentum), dphi missing
    f = features(event((E, 30.0, 0.0, 0.0)))
    assert f["mt"] == 0.0
    assert np.isnan(f["dphi_lepton_met"])
    # an empty event: counts and sums 0, everything else missing
    empty = EventFeatures(missing=-7.0).fit_transform(np.zeros((2, 4, 4)))
    n_defined = list(EVENT_FEATURES).index("st") + 1
    assert_array_equal(empty[:, :n_defined], 0.0)
    assert_array_equal(empty[:, n_defined:], -7.0)


# -- invariances and input forms ----------------------------------------------------
def test_object_order_padding_and_blocks_do_not_matter(monkeypatch):
    X, _ = toy_events(n=50, seed=1)
    ref = EventFeatures().fit_transform(X)
    rng = np.random.default_rng(0)
    shuffled = np.stack([x[rng.permutation(len(x))] for x in X])
    assert_allclose(EventFeatures().transform(shuffled), ref, rtol=1e-12)
    padded = np.concatenate([np.zeros((50, 3, 4)), X], axis=1)
    assert_allclose(EventFeatures().transform(padded), ref, rtol=1e-12)
    monkeypatch.setattr(_events, "_BLOCK", 7)
    assert_array_equal(EventFeatures().transform(X), ref)


def test_ragged_awkward_and_fifth_column():
    X, _ = toy_events(n=20, seed=2)
    ref = EventFeatures().fit_transform(X)
    ragged = [x[x[:, 0] != 0] for x in X]
    assert_allclose(EventFeatures().transform(ragged), ref, rtol=1e-12)
    ak = pytest.importorskip("awkward")
    records = ak.zip(
        {f: ak.Array([r[:, k] for r in ragged]) for k, f in enumerate(FIELDS)}
    )
    assert_allclose(EventFeatures().transform(records), ref, rtol=1e-12)
    extra = np.concatenate([X, np.ones((*X.shape[:2], 1))], axis=-1)
    assert_array_equal(EventFeatures().transform(extra), ref)


FIELDS = ("type", "pt", "eta", "phi")


def test_feature_subset_names_and_pandas_output():
    X, _ = toy_events(n=10)
    full = EventFeatures().fit_transform(X)
    names = ["met", "n_jets", "m3"]
    ef = EventFeatures(features=names)
    sub = ef.fit_transform(X)
    assert_array_equal(sub, full[:, [EVENT_FEATURES.index(n) for n in names]])
    assert list(ef.get_feature_names_out()) == names
    assert list(EventFeatures().get_feature_names_out()) == list(EVENT_FEATURES)
    frame = (
        EventFeatures(features=names).set_output(transform="pandas").fit_transform(X)
    )
    assert list(frame.columns) == names
    with pytest.raises(InvalidParameterError, match="features"):
        EventFeatures(features=["ht", "mass"]).fit(X)
    with pytest.raises(InvalidParameterError, match="features"):
        EventFeatures(features=["ht", "ht"]).fit(X)


# -- errors: those of EventImager, in its words -------------------------------------
@pytest.mark.parametrize(
    ("change", "match"),
    [
        ((4, 0, 0, 9.0), r"unknown object type code 9 in event 4"),
        (
            (4, 0, 0, 2.5),
            r"object type codes must be whole numbers, got 2.5 in event 4",
        ),
        ((4, 0, 1, -5.0), r"negative transverse momentum in event 4"),
        ((4, 0, 1, np.nan), r"the input contains NaN values .* first in sample 4\)"),
        ((4, 0, 2, np.inf), r"the input contains inf values .* first in sample 4\)"),
    ],
)
def test_bad_input_is_named_like_event_imager(change, match):
    X, _ = toy_events(n=8)
    X[4, 0] = (MU, 30.0, 0.0, 0.0)
    i, j, k, value = change
    X[i, j, k] = value
    with pytest.raises(ValueError, match=f"^EventFeatures: {match}"):
        EventFeatures().fit(X)
    with pytest.raises(ValueError, match=f"^EventFeatures: {match}"):
        EventFeatures().transform(X)
    with pytest.raises(ValueError, match=f"^EventImager: {match}"):
        EventImager().transform(X)


def test_wrong_rank_and_feature_count():
    X, _ = toy_events(n=8)
    with pytest.raises(ValueError, match="expected a 3-D array"):
        EventFeatures().fit(X[0])
    with pytest.raises(ValueError, match="expected 4 or 5 features per object, got 3"):
        EventFeatures().fit(X[..., :3])


# -- the baseline ---------------------------------------------------------------------
def test_boosted_trees_separate_the_toy_processes():
    X, y = toy_events(n=450, seed=0)

    def hgb():
        return HistGradientBoostingClassifier(max_iter=30, random_state=0)

    with threadpool_limits(1):  # OpenMP threads only contend on a small machine
        scores = cross_val_score(make_pipeline(EventFeatures(), hgb()), X, y, cv=3)
        # the counts alone cannot tell W+jets from Drell-Yan: MET and mT do
        counts = EventFeatures(features=["n_jets", "n_bjets", "n_electrons"])
        worse = cross_val_score(make_pipeline(counts, hgb()), X, y, cv=3)
    assert scores.min() > 0.9, scores
    assert worse.mean() < scores.mean() - 0.15, (worse, scores)
