from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from hepclf import ConstituentSequencer

from .._kinematics import p4


def test_orders_by_pt_truncates_and_pads():
    jets = np.zeros((2, 4, 4))
    jets[0, :3] = [p4(10.0, 0.1, 0.0), p4(50.0, -0.2, 0.3), p4(30.0, 0.0, -0.1)]
    jets[1, :1] = [p4(80.0, 1.0, 2.0)]
    seq = ConstituentSequencer(max_particles=2)
    out = seq.fit_transform(jets)
    assert out.shape == (2, 2, 4)
    assert out.dtype == np.float32
    assert_allclose(out[0], jets[0, [1, 2]], rtol=1e-6)
    assert_allclose(out[1, 0], jets[1, 0], rtol=1e-6)
    assert_array_equal(out[1, 1], 0.0)
    assert seq.n_dropped_ == 1  # the 10 GeV constituent of jet 0
    seq.transform(jets[1:])  # nothing to cut there, and transform changes no state
    assert seq.n_dropped_ == 1
    # longer sequences: everything kept, then zero rows
    out = ConstituentSequencer(max_particles=5).fit_transform(jets)
    assert out.shape == (2, 5, 4)
    assert_allclose(out[0, :3], jets[0, [1, 2, 0]], rtol=1e-6)
    assert_array_equal(out[0, 3:], 0.0)


def test_pt_eta_phi_input_with_and_without_mass():
    jets = np.array([[[20.0, 0.5, 1.0, 0.0], [40.0, -0.3, -2.0, 0.0]]])
    out = ConstituentSequencer(input_format="ptetaphi").fit_transform(jets[..., :3])
    assert_allclose(out[0, 0], p4(40.0, -0.3, -2.0), rtol=1e-6)
    assert_allclose(out[0, 1], p4(20.0, 0.5, 1.0), rtol=1e-6)
    jets[0, 0, 3] = 5.0
    out = ConstituentSequencer(input_format="ptetaphi").fit_transform(jets)
    E, px, py, pz = out[0, 1].astype(np.float64)
    assert_allclose(E**2 - px**2 - py**2 - pz**2, 25.0, rtol=1e-3)


def test_momentum_is_conserved_on_real_jets(top_sample):
    X, _ = top_sample
    out = ConstituentSequencer(max_particles=X.shape[1]).fit_transform(X)
    assert_allclose(out.sum(axis=1), X.sum(axis=1), rtol=1e-5, atol=1e-3)
    pt = np.hypot(out[..., 1], out[..., 2])
    assert (np.diff(np.where(pt > 0, pt, -1.0), axis=1) <= 0).all()


def test_ragged_input_gives_the_same_sequences():
    rng = np.random.default_rng(0)
    jets = [
        np.array([p4(pt, 0.1 * k, 0.2) for k, pt in enumerate(rng.uniform(1, 50, n))])
        for n in (3, 1, 5)
    ]
    padded = np.zeros((3, 5, 4))
    for i, j in enumerate(jets):
        padded[i, : len(j)] = j
    seq = ConstituentSequencer(max_particles=4)
    assert_array_equal(seq.fit_transform(jets), seq.transform(padded))


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.full((2, 3, 4), np.nan), "NaN"),
        (np.zeros((2, 3, 3)), "expected 4 features"),
        (np.zeros((0, 3, 4)), "empty"),
        (np.zeros((2, 3, 4)), "jet 0 has no constituents"),
    ],
)
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        ConstituentSequencer().fit(X)


def test_negative_energy_and_bad_parameters():
    X = np.array([[p4(10.0, 0.0, 0.0)]])
    X[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match="negative energy in jet 0"):
        ConstituentSequencer().fit(X)
    with pytest.raises(ValueError, match="max_particles"):
        ConstituentSequencer(max_particles=0).fit(np.array([[p4(10.0, 0.0, 0.0)]]))
    assert (
        clone(ConstituentSequencer(max_particles=7)).get_params()["max_particles"] == 7
    )
