from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from hepclf.substructure import jet_mass, nsubjettiness, softdrop_mass

from ._helpers import prong_jets, to_epxpypz

PTETAPHI = {"input_format": "ptetaphi"}


def all_observables(X, **kwargs):
    return np.column_stack(
        [jet_mass(X, **kwargs), softdrop_mass(X, **kwargs), nsubjettiness(X, **kwargs)]
    )


def rapidity(p4):
    E, pz = p4[..., 0], p4[..., 3]
    with np.errstate(divide="ignore", invalid="ignore"):  # padding rows give NaN
        return 0.5 * np.log((E + pz) / (E - pz))


def wrap(phi):
    return np.mod(phi + np.pi, 2 * np.pi) - np.pi


# -- jet mass -------------------------------------------------------------------------------
@pytest.mark.parametrize("theta", [0.1, 0.5, 1.0, np.pi / 3])
def test_mass_of_two_massless_particles(theta):
    E = 120.0
    jets = np.array(
        [[[E, E, 0.0, 0.0], [E, E * np.cos(theta), 0.0, E * np.sin(theta)]]]
    )
    assert_allclose(
        jet_mass(jets), [np.sqrt(2 * E**2 * (1 - np.cos(theta)))], rtol=1e-12
    )


def test_mass_of_massive_particles_and_ptetaphi_mass_column():
    single = np.array([[[50.0, 0.7, 2.0, 5.0]]])
    assert_allclose(jet_mass(single, **PTETAPHI), [5.0], rtol=1e-9)
    assert_allclose(softdrop_mass(single, **PTETAPHI), [5.0], rtol=1e-9)
    # same direction and same pt / m, hence the same four-velocity: m = m1 + m2
    same_direction = np.array([[[50.0, 0.3, 1.0, 3.0], [100.0, 0.3, 1.0, 6.0]]])
    assert_allclose(jet_mass(same_direction, **PTETAPHI), [9.0], rtol=1e-9)


def test_mass_needs_no_fastjet(monkeypatch):
    jets = np.array([[[100.0, 0.0, 0.0], [100.0, 0.4, 0.0]]])
    monkeypatch.setitem(sys.modules, "fastjet", None)
    assert_allclose(jet_mass(jets, **PTETAPHI), [200 * np.sinh(0.2)], rtol=1e-12)
    with pytest.raises(ImportError, match=r"hepclf\[generate\]"):
        nsubjettiness(jets, **PTETAPHI)
    with pytest.raises(ImportError, match=r"hepclf\[generate\]"):
        softdrop_mass(jets, **PTETAPHI)


# -- N-subjettiness --------------------------------------------------------------------------
def test_single_particle_has_zero_taus():
    assert_allclose(
        nsubjettiness(np.array([[[80.0, 0.5, -1.0]]]), **PTETAPHI), [[0, 0, 0]]
    )


def test_tau1_of_two_particles_hand_computed():
    # equal pt at rapidity -0.2 and +0.2: axis at 0, each Delta R = 0.2
    sym = np.array([[[100.0, -0.2, 0.0], [100.0, 0.2, 0.0]]])
    assert_allclose(nsubjettiness(sym, n=1, **PTETAPHI), [0.2 / 0.8], rtol=1e-9)
    assert_allclose(
        nsubjettiness(sym, n=1, beta=2.0, r0=1.0, **PTETAPHI), [0.2**2], rtol=1e-9
    )
    # 100 GeV at phi 0 and 50 GeV at phi 0.3 (eta 0): the kt axis is their sum
    asym = np.array([[[100.0, 0.0, 0.0], [50.0, 0.0, 0.3]]])
    phi_axis = np.arctan2(50 * np.sin(0.3), 100 + 50 * np.cos(0.3))
    expected = (100 * phi_axis + 50 * (0.3 - phi_axis)) / (150 * 0.8)
    assert_allclose(nsubjettiness(asym, n=1, **PTETAPHI), [expected], rtol=1e-9)


def test_delta_r_uses_rapidity():
    # massive constituents: rapidity differs from pseudorapidity
    p4 = to_epxpypz([100.0, 60.0], [0.5, -0.3], [0.1, -0.2], mass=[20.0, 10.0])
    axis = p4.sum(axis=0)
    pt = np.hypot(p4[:, 1], p4[:, 2])
    dr = np.hypot(
        rapidity(p4) - rapidity(axis),
        wrap(np.arctan2(p4[:, 2], p4[:, 1]) - np.arctan2(axis[2], axis[1])),
    )
    expected = (pt * dr).sum() / (pt.sum() * 0.8)
    assert_allclose(nsubjettiness(p4[None], n=1), [expected], rtol=1e-9)
    with_eta = np.hypot(
        np.arcsinh(p4[:, 3] / pt) - np.arcsinh(axis[3] / np.hypot(*axis[1:3])),
        np.arctan2(p4[:, 2], p4[:, 1]) - np.arctan2(axis[2], axis[1]),
    )
    assert not np.isclose(expected, (pt * with_eta).sum() / (pt.sum() * 0.8), rtol=1e-3)


def test_prongs_make_the_matching_tau_vanish():
    two = prong_jets(20, 2, width=1e-4, seed=1)
    three = prong_jets(20, 3, width=1e-4, seed=2)
    tau_two, tau_three = (
        nsubjettiness(two, **PTETAPHI),
        nsubjettiness(three, **PTETAPHI),
    )
    assert (tau_two[:, 0] > 0.1).all()
    assert (tau_two[:, 1] < 1e-3).all()
    assert (tau_three[:, 1] > 0.05).all()
    assert (tau_three[:, 2] < 1e-3).all()


def test_fewer_constituents_than_n_give_zero():
    jets = np.array([[[100.0, 0.0, 0.0], [50.0, 0.3, 0.1], [0.0, 0.0, 0.0]]])
    tau = nsubjettiness(jets, n=(1, 2, 3, 4), **PTETAPHI)
    assert tau[0, 0] > 0
    assert_allclose(tau[0, 1:], 0.0)


def test_n_order_and_scalar_n():
    jets = prong_jets(5, 3, seed=3)
    full = nsubjettiness(jets, n=(1, 2, 3), **PTETAPHI)
    assert full.shape == (5, 3)
    assert_allclose(nsubjettiness(jets, n=[3, 1], **PTETAPHI), full[:, [2, 0]])
    assert_allclose(nsubjettiness(jets, n=2, **PTETAPHI), full[:, 1])


@pytest.mark.filterwarnings("ignore:dcut and exclusive jets:UserWarning")
@pytest.mark.parametrize(("beta", "r0"), [(1.0, 0.8), (2.0, 1.0), (0.5, 0.4)])
def test_nsubjettiness_equals_numpy_on_exclusive_kt_axes(monkeypatch, beta, r0):
    """Cross-check fastjet-contrib's KT_Axes against FastJet's exclusive kt jets."""
    fastjet = pytest.importorskip("fastjet")
    ak = pytest.importorskip("awkward")
    # fastjet's exclusive_jets warns spuriously and resets the global warning format
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    jets = np.concatenate([prong_jets(8, k, width=0.08, seed=k) for k in (1, 2, 3)])
    p4 = to_epxpypz(jets[..., 0], jets[..., 1], jets[..., 2], mass=0.5)
    valid = jets[..., 0] > 0
    flat = p4[valid]
    events = ak.unflatten(
        ak.zip({"px": flat[:, 1], "py": flat[:, 2], "pz": flat[:, 3], "E": flat[:, 0]}),
        valid.sum(axis=1),
    )
    sequence = fastjet.ClusterSequence(
        events, fastjet.JetDefinition(fastjet.kt_algorithm, 1000.0)
    )
    got = nsubjettiness(p4, beta=beta, r0=r0)
    for k, n in enumerate((1, 2, 3)):
        axes = sequence.exclusive_jets(n)
        ax = np.stack([ak.to_numpy(axes[f]) for f in ("E", "px", "py", "pz")], axis=-1)
        dy = rapidity(p4)[:, :, None] - rapidity(ax)[:, None, :]
        dphi = wrap(
            np.arctan2(p4[..., 2], p4[..., 1])[:, :, None]
            - np.arctan2(ax[..., 2], ax[..., 1])[:, None, :]
        )
        dr = np.hypot(dy, dphi).min(axis=2)
        pt = np.hypot(p4[..., 1], p4[..., 2])
        expected = np.where(valid, pt * dr**beta, 0).sum(1) / (pt.sum(1) * r0**beta)
        assert_allclose(got[:, k], expected, rtol=1e-7, atol=1e-12)


# -- soft drop -------------------------------------------------------------------------------
def test_softdrop_removes_soft_wide_angle_particle():
    prongs = [[100.0, 0.0, -0.2], [100.0, 0.0, 0.2]]
    with_soft = np.array([[*prongs, [2.0, 0.7, 0.0]]])
    without = np.array([[*prongs, [0.0, 0.0, 0.0]]])
    two_prong_mass = 200 * np.sin(0.2)  # sqrt(2 pt^2 (1 - cos 0.4))
    assert_allclose(jet_mass(without, **PTETAPHI), [two_prong_mass], rtol=1e-12)
    assert jet_mass(with_soft, **PTETAPHI)[0] > two_prong_mass + 2
    assert_allclose(softdrop_mass(with_soft, **PTETAPHI), [two_prong_mass], rtol=1e-9)
    # a symmetric two-prong jet is kept whole
    assert_allclose(softdrop_mass(without, **PTETAPHI), [two_prong_mass], rtol=1e-9)


def test_softdrop_parameters_hand_computed():
    # z = 8.7 / 108.7 = 0.080 at Delta R = 0.5
    jets = np.array([[[100.0, 0.0, 0.0], [8.7, 0.5, 0.0]]])
    full = jet_mass(jets, **PTETAPHI)
    # beta = 0: z < z_cut = 0.1, the softer branch goes; one massless particle is left
    assert_allclose(softdrop_mass(jets, **PTETAPHI), [0.0], atol=1e-6)
    assert_allclose(softdrop_mass(jets, z_cut=0.07, **PTETAPHI), full, rtol=1e-9)
    # beta = 2: z_cut (0.5 / 0.8)^2 = 0.039 < z, kept; with r0 = 0.4 the cut is 0.156
    assert_allclose(softdrop_mass(jets, beta=2.0, **PTETAPHI), full, rtol=1e-9)
    assert_allclose(softdrop_mass(jets, beta=2.0, r0=0.4, **PTETAPHI), [0.0], atol=1e-6)


def test_softdrop_without_cut_is_the_jet_mass():
    jets = prong_jets(30, 3, width=0.1, seed=4)
    assert_allclose(
        softdrop_mass(jets, z_cut=0.0, **PTETAPHI),
        jet_mass(jets, **PTETAPHI),
        rtol=1e-9,
    )
    groomed = softdrop_mass(jets, **PTETAPHI)
    assert (groomed <= jet_mass(jets, **PTETAPHI) * (1 + 1e-9)).all()


# -- invariances and input formats --------------------------------------------------------
@pytest.fixture(scope="module")
def jets():
    return np.concatenate(
        [prong_jets(10, k, width=0.05, seed=10 + k) for k in (1, 2, 3)]
    )


def test_permutation_and_padding_change_nothing(jets):
    ref = all_observables(jets, **PTETAPHI)
    rng = np.random.default_rng(0)
    padded = np.concatenate([jets, np.zeros((len(jets), 7, 3))], axis=1)
    shuffled = np.take_along_axis(
        padded,
        rng.permuted(np.tile(np.arange(padded.shape[1]), (len(jets), 1)), axis=1)[
            ..., None
        ],
        axis=1,
    )
    assert_allclose(all_observables(shuffled, **PTETAPHI), ref, rtol=1e-9, atol=1e-12)
    ragged = [jet[jet[:, 0] > 0] for jet in jets]
    assert_allclose(all_observables(ragged, **PTETAPHI), ref, rtol=1e-9, atol=1e-12)


def test_boosts_along_the_beam_and_rotations_in_phi_change_nothing(jets):
    ref = all_observables(jets, **PTETAPHI)
    moved = jets.copy()
    valid = jets[..., 0] > 0
    moved[..., 1] += np.where(valid, 1.3, 0.0)  # massless: an eta shift is a boost
    moved[..., 2] += np.where(valid, np.pi - 0.01, 0.0)  # jets now straddle phi = +-pi
    assert_allclose(all_observables(moved, **PTETAPHI), ref, rtol=1e-7, atol=1e-9)


def test_epxpypz_matches_ptetaphi_and_awkward(jets):
    massive = np.concatenate([jets, np.where(jets[..., :1] > 0, 0.14, 0.0)], axis=-1)
    four = to_epxpypz(jets[..., 0], jets[..., 1], jets[..., 2], mass=0.14)
    ref = all_observables(four)
    assert_allclose(all_observables(massive, **PTETAPHI), ref, rtol=1e-9, atol=1e-12)
    assert_allclose(all_observables(four.astype(np.float32)), ref, rtol=1e-4, atol=1e-5)
    ak = pytest.importorskip("awkward")
    records = ak.Array(
        [{"E": j[:, 0], "px": j[:, 1], "py": j[:, 2], "pz": j[:, 3]} for j in four]
    )
    records = ak.zip({f: records[f][records["E"] > 0] for f in ("E", "px", "py", "pz")})
    assert_allclose(all_observables(records), ref, rtol=1e-9, atol=1e-12)


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("func", [jet_mass, nsubjettiness, softdrop_mass])
def test_empty_jets_raise_or_give_nan(func, jets):
    X = jets[:6].copy()
    X[4] = 0.0
    with pytest.raises(ValueError, match=r"jet 4 has no constituents.*empty='nan'"):
        func(X, **PTETAPHI)
    out = func(X, empty="nan", **PTETAPHI)
    assert np.isnan(out[4]).all()
    keep = [0, 1, 2, 3, 5]
    assert_allclose(out[keep], func(X[keep], **PTETAPHI))


@pytest.mark.parametrize(
    ("X", "kwargs", "match"),
    [
        (np.array([[[100.0, np.nan, 0.0]]]), PTETAPHI, "NaN"),
        (np.array([[[100.0, np.inf, 0.0, 0.0]]]), {}, "inf"),
        (np.zeros((2, 3)), {}, "3-D"),
        (np.zeros((0, 3, 4)), {}, "empty"),
        (np.ones((1, 2, 3)), {}, "expected 4 features"),
        (np.array([[[100.0, 0.0, 0.0, 50.0]]]), {}, "zero transverse momentum"),
        (
            np.array([[[-1.0, 0.0, 0.0]]]),
            PTETAPHI,
            "negative transverse momentum in jet 0",
        ),
        (np.array([[[1.0, 0.0, 0.0, -1.0]]]), PTETAPHI, "negative mass"),
    ],
)
def test_bad_input_raises_clear_error(X, kwargs, match):
    for func in (jet_mass, nsubjettiness, softdrop_mass):
        with pytest.raises(ValueError, match=match):
            func(X, **kwargs)


@pytest.mark.parametrize(
    ("func", "kwargs", "match"),
    [
        (nsubjettiness, {"n": 0}, "'n' parameter"),
        (nsubjettiness, {"n": (1, 0)}, "positive"),
        (nsubjettiness, {"n": ()}, "non-empty"),
        (nsubjettiness, {"beta": 0.0}, "'beta' parameter"),
        (softdrop_mass, {"z_cut": 1.0}, "'z_cut' parameter"),
        (softdrop_mass, {"beta": -1.0}, "'beta' parameter"),
        (jet_mass, {"input_format": "xyz"}, "'input_format' parameter"),
        (jet_mass, {"empty": "skip"}, "'empty' parameter"),
    ],
)
def test_bad_parameters_raise(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(np.array([[[100.0, 100.0, 0.0, 0.0]]]), **kwargs)
