from __future__ import annotations

import importlib.util
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf import JetImager

RAW = {"center": False, "rotate": False, "flip": False, "normalize": False}


def to_epxpypz(pt, eta, phi, mass=0.0):
    """(E, px, py, pz) of (massive) particles from pt, eta, phi."""
    pt, eta, phi = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (pt, eta, phi))
    )
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    E = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return np.stack([E, px, py, pz], axis=-1)


def random_jets(n_jets=50, n_max=30, seed=0, eta0=0.0, phi0=0.0, spread=0.3):
    """Zero-padded (pt, eta, phi) jets with a random number of constituents."""
    rng = np.random.default_rng(seed)
    jets = np.zeros((n_jets, n_max, 3))
    for i in range(n_jets):
        n = rng.integers(1, n_max + 1)
        jets[i, :n, 0] = rng.exponential(20.0, n) + 0.1
        jets[i, :n, 1] = eta0 + rng.normal(0, spread, n)
        jets[i, :n, 2] = phi0 + rng.normal(0, spread, n)
    return jets


def test_single_particle_lands_in_expected_pixel():
    jets = np.array([[[42.0, 0.3, -0.25]]])
    img = JetImager(npix=10, input_format="ptetaphi", **RAW).fit_transform(jets)
    assert img.shape == (1, 1, 10, 10)
    assert img.dtype == np.float32
    expected = np.zeros((10, 10), dtype=np.float32)
    expected[3, 6] = (
        42.0  # phi row floor(0.75 / 0.2) = 3, eta column floor(1.3 / 0.2) = 6
    )
    assert_array_equal(img[0, 0], expected)


def test_centring_hand_computed():
    # two equal-pt particles at eta 0 and 0.4: centroid at eta 0.2, they sit at -0.2 and +0.2
    jets = np.array([[[100.0, 0.0, 1.0], [100.0, 0.4, 1.0]]])
    img = JetImager(
        npix=4,
        input_format="ptetaphi",
        center=True,
        rotate=False,
        flip=False,
        normalize=False,
    ).fit_transform(jets)
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[2, 1] = expected[2, 2] = 100.0
    assert_array_equal(img[0, 0], expected)


def test_epxpypz_matches_ptetaphi():
    jets = random_jets(20, seed=1)
    four = to_epxpypz(jets[..., 0], jets[..., 1], jets[..., 2], mass=0.14)
    four[jets[..., 0] == 0] = 0.0
    a = JetImager(input_format="ptetaphi").fit_transform(jets)
    b = JetImager(input_format="epxpypz").fit_transform(four)
    assert_allclose(a, b, atol=1e-6)


def test_energy_intensity_uses_mass_column():
    jet = np.array([[[10.0, 0.5, 0.0, 3.0]]])  # pt, eta, phi, mass
    img = JetImager(
        npix=8, input_format="ptetaphi", intensity="energy", **RAW
    ).fit_transform(jet)
    assert_allclose(img.sum(), np.hypot(10.0 * np.cosh(0.5), 3.0), rtol=1e-6)


def test_pt_inside_window_is_conserved():
    jets = random_jets(
        200, seed=2, spread=0.6
    )  # wide jets: many constituents fall outside
    img = JetImager(
        npix=16,
        input_format="ptetaphi",
        eta_range=(-0.5, 0.5),
        phi_range=(-0.5, 0.5),
        **RAW,
    ).fit_transform(jets)
    pt, eta, phi = jets[..., 0], jets[..., 1], jets[..., 2]
    inside = (eta >= -0.5) & (eta < 0.5) & (phi >= -0.5) & (phi < 0.5)
    expected = np.where(inside, pt, 0.0).sum(axis=1)
    assert (
        expected < pt.sum(axis=1)
    ).mean() > 0.5  # the window really drops constituents
    assert_allclose(img.sum(axis=(1, 2, 3)), expected, rtol=1e-5)


def test_all_pt_kept_by_a_large_window_after_preprocessing():
    jets = random_jets(100, seed=3)
    img = JetImager(
        npix=32,
        eta_range=(-3, 3),
        phi_range=(-3, 3),
        input_format="ptetaphi",
        normalize=False,
    ).fit_transform(jets)
    assert_allclose(img.sum(axis=(1, 2, 3)), jets[..., 0].sum(axis=1), rtol=1e-5)


def test_phi_wraparound():
    jets = random_jets(30, seed=4, phi0=0.0, spread=0.1)
    shifted = jets.copy()
    valid = jets[..., 0] > 0
    shifted[..., 2] = np.where(
        valid, np.mod(jets[..., 2] + 2 * np.pi, 2 * np.pi) - np.pi, 0.0
    )
    # the shifted jets straddle phi = +-pi
    assert ((shifted[..., 2] > 3) & valid).any()
    assert ((shifted[..., 2] < -3) & valid).any()
    imager = JetImager(npix=20, input_format="ptetaphi")
    assert_allclose(
        imager.fit_transform(shifted), imager.fit_transform(jets), atol=1e-6
    )
    raw = JetImager(
        npix=20,
        input_format="ptetaphi",
        center=True,
        rotate=False,
        flip=False,
        normalize=False,
    ).fit_transform(shifted)
    assert_allclose(raw.sum(axis=(1, 2, 3)), jets[..., 0].sum(axis=1), rtol=1e-5)


def _centroid(img, npix, half=1.0):
    centres = (np.arange(npix) + 0.5) / npix * 2 * half - half
    w = img[:, 0]
    total = w.sum(axis=(1, 2))
    return (w.sum(axis=1) @ centres) / total, (w.sum(axis=2) @ centres) / total


def test_centring_moves_centroid_to_origin():
    jets = random_jets(50, seed=5, eta0=0.4, phi0=-0.3, spread=0.1)
    img = JetImager(
        npix=40, input_format="ptetaphi", rotate=False, flip=False
    ).fit_transform(jets)
    eta_c, phi_c = _centroid(img, 40)
    # pixelation moves a constituent by at most half a pixel (0.025)
    assert np.abs(eta_c).max() < 0.026
    assert np.abs(phi_c).max() < 0.026
    uncentred = JetImager(npix=40, input_format="ptetaphi", **RAW).fit_transform(jets)
    eta_u, phi_u = _centroid(uncentred, 40)
    assert_allclose(eta_u.mean(), 0.4, atol=0.05)
    assert_allclose(phi_u.mean(), -0.3, atol=0.05)


def test_rotation_puts_principal_axis_along_phi():
    # constituents on a line along eta (tilted slightly)
    eta = np.linspace(-0.5, 0.5, 11)
    jets = np.stack([np.full(11, 10.0), eta, 0.2 * eta], axis=-1)[np.newaxis]
    # odd npix: the centroid (x = 0) is a pixel centre, not a pixel edge
    kw = {"npix": 41, "input_format": "ptetaphi", "flip": False, "normalize": False}
    rotated = JetImager(rotate=True, **kw).fit_transform(jets)[0, 0]
    unrotated = JetImager(rotate=False, **kw).fit_transform(jets)[0, 0]
    assert (unrotated.sum(axis=0) > 0).sum() > 8  # spread over columns (eta)
    assert (rotated.sum(axis=1) > 0).sum() > 8  # spread over rows (phi)
    assert (rotated.sum(axis=0) > 0).sum() == 1  # a single column: the line is vertical


def test_flip_puts_heavier_half_upper_right():
    jets = np.array([[[100.0, -0.3, -0.2], [10.0, 0.3, 0.2], [50.0, 0.0, 0.0]]])
    kw = {"npix": 20, "input_format": "ptetaphi", "rotate": False, "normalize": False}
    img = JetImager(flip=True, **kw).fit_transform(jets)[0, 0]
    assert img[:, 10:].sum() > img[:, :10].sum()  # right half (eta > 0) heavier
    assert img[10:, :].sum() > img[:10, :].sum()  # upper half (phi > 0) heavier
    unflipped = JetImager(flip=False, **kw).fit_transform(jets)[0, 0]
    assert_array_equal(img, unflipped[::-1, ::-1])


def test_normalisation_and_empty_jets():
    jets = random_jets(10, seed=6)
    jets[3] = 0.0  # a jet with no constituents
    img = JetImager(input_format="ptetaphi").fit_transform(jets)
    sums = img.sum(axis=(1, 2, 3))
    assert_allclose(np.delete(sums, 3), 1.0, rtol=1e-5)
    assert sums[3] == 0.0


def test_multichannel_intensity():
    jets = random_jets(10, seed=7)
    img = JetImager(
        input_format="ptetaphi",
        intensity=("pt", "count"),
        eta_range=(-3, 3),
        phi_range=(-3, 3),
        normalize=False,
    ).fit_transform(jets)
    assert img.shape == (10, 2, 40, 40)
    assert_allclose(img[:, 1].sum(axis=(1, 2)), (jets[..., 0] > 0).sum(axis=1))
    assert_allclose(img[:, 0].sum(axis=(1, 2)), jets[..., 0].sum(axis=1), rtol=1e-5)


def test_rectangular_images():
    jets = random_jets(5, seed=8)
    img = JetImager(npix=(30, 20), input_format="ptetaphi").fit(jets).transform(jets)
    assert img.shape == (5, 1, 20, 30)


def test_padding_permutation_ragged_and_chunking_change_nothing():
    jets = random_jets(40, seed=9)
    imager = JetImager(input_format="ptetaphi")
    ref = imager.fit_transform(jets)
    padded = np.concatenate([jets, np.zeros((40, 17, 3))], axis=1)
    assert_array_equal(imager.transform(padded), ref)
    rng = np.random.default_rng(0)
    permuted = jets[:, rng.permutation(jets.shape[1])]
    assert_allclose(imager.transform(permuted), ref, atol=1e-7)
    ragged = [jet[jet[:, 0] > 0] for jet in jets]
    assert_array_equal(imager.transform(ragged), ref)
    assert_array_equal(
        JetImager(input_format="ptetaphi", chunk_size=3).fit_transform(jets), ref
    )


ENGINES = ["numpy"] + (["numba"] if importlib.util.find_spec("numba") else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_uncentred_constituent_on_a_pixel_edge_stays_put(engine):
    # eta = 0.6 is the edge between columns 15 and 16 of 20 pixels over [-1, 1):
    # without centring, its pixel must not depend on the other constituents or
    # their order (found by hypothesis: a round trip through the centroid moved it)
    eta = -0.26113584
    jet = np.array(
        [[3.0, eta, 0.0], [1.0, 0.6, 0.0], [188.0, eta, 0.0]] + [[1.0, eta, 0.0]] * 9
    )
    raw = {"center": False, "rotate": False, "flip": False, "normalize": False}
    imager = JetImager(npix=20, input_format="ptetaphi", engine=engine, **raw)
    column = int(np.floor((0.6 + 1.0) * 10.0))
    rng = np.random.default_rng(1)
    for _ in range(1000):
        img = imager.fit_transform(jet[rng.permutation(len(jet))][None])
        assert img[0, 0, 10, column] == 1.0


def test_awkward_input():
    ak = pytest.importorskip("awkward")
    jets = random_jets(10, seed=10)
    ragged = [jet[jet[:, 0] > 0] for jet in jets]
    ref = JetImager(input_format="ptetaphi").fit_transform(jets)
    numbers = ak.Array([r.tolist() for r in ragged])
    assert_array_equal(JetImager(input_format="ptetaphi").fit_transform(numbers), ref)
    records = ak.zip(
        {"pt": numbers[..., 0], "eta": numbers[..., 1], "phi": numbers[..., 2]}
    )
    assert_array_equal(JetImager(input_format="ptetaphi").fit_transform(records), ref)


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_input_is_not_upcast_in_full(engine):
    jets = random_jets(10, seed=11).astype(np.float32)
    img = JetImager(input_format="ptetaphi", engine=engine).fit_transform(jets)
    assert img.dtype == np.float32
    assert_allclose(
        img,
        JetImager(input_format="ptetaphi", engine=engine).fit_transform(
            jets.astype(float)
        ),
        atol=1e-6,
    )
    # 20,000 jets x 200 rows x 4 in float32 (64 MB; a float64 copy is 128 MB):
    # what a transform allocates stays far below even a float32 copy
    big = np.zeros((20_000, 200, 4), dtype=np.float32)
    big[:, :40] = to_epxpypz(*np.moveaxis(random_jets(20_000, 40, seed=12), -1, 0))
    imager = JetImager(npix=8, engine=engine).fit(big[:2])
    imager.transform(big[:2])  # numba compiles outside the measurement
    tracemalloc.start()
    try:
        images = imager.transform(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert images.shape == (20_000, 1, 8, 8)
    assert images[:, 0].sum(axis=(1, 2)) == pytest.approx(1.0, rel=1e-5)
    assert peak < big.nbytes / 2, f"{peak / 1e6:.0f} MB allocated for 64 MB of jets"


def test_fit_sets_edges():
    imager = JetImager(npix=4, eta_range=(-0.4, 0.4)).fit(np.ones((1, 1, 4)))
    assert_allclose(imager.eta_edges_, [-0.4, -0.2, 0.0, 0.2, 0.4])
    assert imager.n_channels_ == 1


@pytest.mark.parametrize(
    ("jets", "fmt", "match"),
    [
        (np.array([[[np.nan, 1.0, 1.0, 1.0]]]), "epxpypz", "NaN"),
        (np.array([[[np.inf, 1.0, 1.0, 1.0]]]), "epxpypz", "inf"),
        (np.array([[[-5.0, 1.0, 1.0, 1.0]]]), "epxpypz", "negative energy in jet 0"),
        (np.array([[[10.0, 0.0, 0.0, 10.0]]]), "epxpypz", "zero transverse momentum"),
        (
            np.array([[[1.0, 0.0, 0.0]], [[-1.0, 0.0, 0.0]]]),
            "ptetaphi",
            "negative transverse momentum in jet 1",
        ),
        (np.array([[[1.0, 0.0, 0.0, -1.0]]]), "ptetaphi", "negative mass"),
        (np.ones((3, 4)), "epxpypz", "3-D array"),
        (np.ones((3, 4, 5)), "epxpypz", "expected 4 features"),
        (np.ones((3, 4, 2)), "ptetaphi", "expected 3 or 4 features"),
        (np.zeros((0, 4, 4)), "epxpypz", "empty"),
        (np.array([[["a", "b", "c", "d"]]]), "epxpypz", "numeric"),
        ([np.ones((2, 4)), np.ones((3, 5))], "epxpypz", "mixes feature counts"),
    ],
)
def test_bad_input_raises_clear_error(jets, fmt, match):
    with pytest.raises(ValueError, match=match):
        JetImager(input_format=fmt).fit_transform(jets)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"npix": 0}, "npix"),
        ({"eta_range": (1.0, -1.0)}, "eta_range"),
        ({"phi_range": (0.0,)}, "phi_range"),
        ({"intensity": "mass"}, "intensity"),
        ({"intensity": ("pt", "mass")}, "intensity"),
        ({"input_format": "pxpypze"}, "input_format"),
    ],
)
def test_bad_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        JetImager(**params).fit_transform(np.ones((1, 1, 4)))
